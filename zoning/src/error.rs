//! Errors, each naming the zones at fault so an operator can fix the config.

use crate::geometry::{ChunkRect, Dimension, ZoneId};

/// Why a set of zones (or a zone spec) cannot become a [`ZoneMap`](crate::ZoneMap).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ZoneError {
    /// A zone id, owner or dimension is the empty string.
    #[error("zone `{zone}`: {field} must not be empty")]
    EmptyName {
        /// The zone (possibly the empty id itself).
        zone: ZoneId,
        /// Which name is empty: `id`, `owner` or `dimension`.
        field: &'static str,
    },
    /// The zone covers no chunk column (e.g. `min >= max` on some axis).
    #[error("zone `{zone}` covers no chunk: {area}")]
    EmptyArea {
        /// The zone at fault.
        zone: ZoneId,
        /// Its area.
        area: ChunkRect,
    },
    /// Two zones share an id.
    #[error("zone id `{0}` is used more than once")]
    DuplicateId(ZoneId),
    /// Two zones of one dimension share at least one chunk column.
    #[error("zones `{first}` and `{second}` overlap in {dimension}")]
    Overlap {
        /// The zone listed first.
        first: ZoneId,
        /// The zone listed later.
        second: ZoneId,
        /// Where they overlap.
        dimension: Dimension,
    },
    /// More zones than the index can number.
    #[error("too many zones: {0}")]
    TooManyZones(usize),
    /// A spec gives one side both in chunks and in blocks.
    #[error("zone `{zone}`: give either {chunk_field} or {block_field}, not both")]
    ConflictingBound {
        /// The zone at fault.
        zone: ZoneId,
        /// The chunk-coordinate field, e.g. `max_chunk_x`.
        chunk_field: &'static str,
        /// The block-coordinate field, e.g. `max_block_x`.
        block_field: &'static str,
    },
    /// A block-coordinate bound does not fall on a chunk border.
    #[error("zone `{zone}`: {field} = {value} is not a chunk border (a multiple of 16)")]
    UnalignedBlock {
        /// The zone at fault.
        zone: ZoneId,
        /// The block-coordinate field.
        field: &'static str,
        /// The value given.
        value: i64,
    },
    /// A block-coordinate bound lies beyond the range of chunk coordinates.
    #[error("zone `{zone}`: {field} = {value} is out of range")]
    BlockOutOfRange {
        /// The zone at fault.
        zone: ZoneId,
        /// The block-coordinate field.
        field: &'static str,
        /// The value given.
        value: i64,
    },
}

/// Why [`ZoneMap::set_owner`](crate::ZoneMap::set_owner) refused a change of owner.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OwnerError {
    /// No zone has that id.
    #[error("no zone `{0}`")]
    UnknownZone(ZoneId),
    /// The new owner's name is the empty string.
    #[error("zone `{0}`: owner must not be empty")]
    EmptyOwner(ZoneId),
    /// The offered epoch is not newer than the zone's: the change is stale (fencing).
    #[error("zone `{zone}`: epoch {offered} is not greater than the current epoch {current}")]
    StaleEpoch {
        /// The zone at fault.
        zone: ZoneId,
        /// The epoch the zone has.
        current: u64,
        /// The epoch offered with the change.
        offered: u64,
    },
}
