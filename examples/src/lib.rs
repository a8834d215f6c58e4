//! Meridian's reference backend: a small Minecraft 26.1 server that sits behind the proxy in
//! tests, demos and benchmarks. It trusts only Velocity modern forwarding, serves a flat world
//! with chunks streamed around each player, shows players to each other, answers a few test
//! commands and carries the `meridian:sync` plugin channel.
//!
//! # Layout
//! - [`config`]: [`BackendConfig`] (TOML) and its validation.
//! - [`server`]: [`ReferenceBackend`], its accept loop, [`BackendHandle`], status pings.
//! - `login`: offline-mode login that requires signed forwarding.
//! - `configuration`: known packs, registry data, tags, features.
//! - [`registries`]: the shipped registry data (`data/registries-26.1.bin`) and the tags it names.
//! - `play`: one player in play: join sequence, movement, chunk streaming, keep-alive.
//! - [`player`]: the roster of players, their game state, the items on the ground, and the
//!   events connections send each other.
//! - [`world`]: the flat world and its chunk encoding.
//! - [`commands`]: `/whereami`, `/give`, `/inv`.
//! - [`sync`]: the backend side of the `meridian:sync` channel: handshake, heartbeats, roles
//!   and the dummy rules, handoffs, zones, relays and mirroring.

pub mod commands;
pub mod config;
mod configuration;
mod login;
mod play;
pub mod player;
pub mod registries;
pub mod server;
pub mod sync;
pub mod world;

pub use config::{BackendConfig, ConfigError, Marker, Secret};
pub use login::{NO_FORWARDING, SECRET_MISMATCH};
pub use player::GroundItem;
pub use server::{ActionRecord, BackendError, BackendHandle, OnlinePlayer, ReferenceBackend};
pub use sync::handler::DamageOutcome;
