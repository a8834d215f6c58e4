//! Shared zone ownership for Meridian proxies, kept in PostgreSQL.
//!
//! One proxy can route by a static [`ZoneMap`](zoning::ZoneMap) from its config. Several proxies share
//! ownership through a database: the `zones` table holds each zone's area, owner and epoch
//! (the fencing token, which only grows); a move changes the owner and bumps the epoch in
//! one transaction that also sends `NOTIFY meridian_zones, '<zone>:<epoch>'`; every
//! proxy's [`ZoneWatcher`] `LISTEN`s and republishes the map within moments of the commit.
//! A [`ZoneSource`] lets the proxy treat both the same way.
//!
//! ```no_run
//! # async fn demo(specs: &[zoning::ZoneSpec]) -> Result<(), meridian_store::StoreError> {
//! use meridian_store::{PgZoneStore, ZoneWatcher};
//! use tokio_util::sync::CancellationToken;
//!
//! let url = "postgres://meridian@db.internal/meridian";
//! let mut store = PgZoneStore::connect(url).await?; // migrates the schema
//! store.seed(specs).await?; // config zones the database lacks; live rows win
//! let watcher = ZoneWatcher::start(url, CancellationToken::new()).await?;
//! let mut source = watcher.source();
//!
//! let zone = store.move_zone("west", "backend-2", Some(1)).await?;
//! assert_eq!(source.changed().await.zone("west").map(|z| z.epoch), Some(zone.epoch));
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//! - [`zones`]: [`PgZoneStore`], to connect (and migrate), seed, load and the fenced
//!   [`move_zone`](PgZoneStore::move_zone).
//! - [`watch`]: [`ZoneWatcher`], the background task that follows changes and rides out
//!   database outages on the last known map.
//! - [`source`]: [`ZoneSource`], a static or watched map behind one type.
//! - [`migrate`]: the embedded schema migrations (`store/migrations/*.sql`), applied at
//!   connect under an advisory lock.
//! - [`error`]: [`StoreError`], naming what failed.
//! - [`testing`]: helpers for tests against the server `scripts/with-postgres` starts.
//!
//! # Schema
//! `zones(id, owner, epoch, dimension, min_chunk_x, max_chunk_x, min_chunk_z, max_chunk_z,
//! updated_at)`, `NULL` sides unbounded and `max` exclusive; `zone_events` records every
//! grant for audit; `schema_migrations(version, name, applied_at)` records the migrations.

pub mod error;
pub mod migrate;
pub mod source;
pub mod testing;
pub mod watch;
pub mod zones;

pub use error::{Result, StoreError};
pub use migrate::{Migration, migrations};
pub use source::ZoneSource;
pub use watch::{WatchOptions, ZoneWatcher};
pub use zones::{NOTIFY_CHANNEL, PgZoneStore, parse_url};
