//! Zones for Meridian: which backend owns which chunk columns, and when a player should move.
//!
//! A zone is a rectangle of chunk columns in one dimension, owned by one backend under an
//! epoch (a fencing number that only grows). This crate is pure: no IO, no async, no
//! allocation on the lookup path, which runs on every movement packet.
//!
//! Modules:
//! - [`geometry`]: names ([`ZoneId`], [`ServerId`], [`Dimension`]), [`ChunkPos`] and the
//!   half-open, optionally unbounded [`ChunkRect`].
//! - [`map`]: [`Zone`] and the validated [`ZoneMap`] with its lookup index, range queries
//!   and fenced [`ZoneMap::set_owner`].
//! - [`hysteresis`]: when to swap the primary ([`swap_target`]) and when to open or close
//!   dummy links ([`links_wanted`]) without flapping at borders.
//! - [`spec`]: the TOML form of a zone ([`ZoneSpec`]) and [`ZoneMap::from_specs`].
//! - [`error`]: [`ZoneError`] for invalid maps and specs, [`OwnerError`] for refused
//!   ownership changes.
//!
//! ```
//! use zoning::{ChunkPos, ChunkRect, ServerId, Zone, ZoneMap, OVERWORLD};
//!
//! let map = ZoneMap::new([
//!     Zone::new("west", "west", ChunkRect::ALL.with_max_x(0)),
//!     Zone::new("east", "east", ChunkRect::ALL.with_min_x(0)),
//! ])?;
//! assert_eq!(map.zone_at(OVERWORLD, 0.0, 0.0).unwrap().owner, "east");
//! let mut owners = Vec::new();
//! map.owners_in_view(OVERWORLD, ChunkPos::from_block(-8.0, 0.0), 6, &mut owners);
//! assert_eq!(owners.len(), 2);
//! # Ok::<(), zoning::ZoneError>(())
//! ```

pub mod error;
pub mod geometry;
pub mod hysteresis;
pub mod map;
pub mod spec;

pub use error::{OwnerError, ZoneError};
pub use geometry::{
    CHUNK_SIZE, ChunkPos, ChunkRect, Dimension, OVERWORLD, ServerId, ZoneId, block_to_chunk,
};
pub use hysteresis::{
    DEFAULT_SWAP_MARGIN, LINK_CLOSE_SLACK, depth_inside, links_wanted, swap_target,
};
pub use map::{Zone, ZoneMap, ZonesIn};
pub use spec::{INITIAL_EPOCH, ZoneSpec};
