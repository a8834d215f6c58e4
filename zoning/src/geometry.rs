//! Chunk-column geometry: the names zones carry, chunk positions and half-open rectangles.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// Blocks along one side of a chunk column.
pub const CHUNK_SIZE: i32 = 16;

/// Identifier of the dimension zones default to.
pub const OVERWORLD: &str = "minecraft:overworld";

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Cloning shares the string instead of copying it, so names can be handed around
        /// on hot paths.
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Wraps a name.
            pub fn new(name: impl Into<Arc<str>>) -> Self {
                Self(name.into())
            }

            /// The name as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Whether both share one allocation: a sufficient, not necessary, test of
            /// equality that costs one comparison.
            pub fn same_allocation(&self, other: &Self) -> bool {
                Arc::ptr_eq(&self.0, &other.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(name: &str) -> Self {
                Self(name.into())
            }
        }

        impl From<String> for $name {
            fn from(name: String) -> Self {
                Self(name.into())
            }
        }

        impl From<Arc<str>> for $name {
            fn from(name: Arc<str>) -> Self {
                Self(name)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        // Derived `Hash` of a one-field struct hashes just the `str`, so `HashMap<Self, _>`
        // can be queried with a plain `&str`.
        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                &*self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                &*self.0 == *other
            }
        }
    };
}

name_type!(
    /// Name of a zone, unique within a [`ZoneMap`](crate::ZoneMap).
    ZoneId
);
name_type!(
    /// Name of a backend server that can own zones.
    ServerId
);
name_type!(
    /// Namespaced dimension identifier, e.g. `minecraft:the_nether`.
    Dimension
);

impl Dimension {
    /// The overworld, where zones live unless told otherwise.
    pub fn overworld() -> Self {
        Self::from(OVERWORLD)
    }
}

impl Default for Dimension {
    fn default() -> Self {
        Self::overworld()
    }
}

/// Chunk column holding the block coordinate `block`, as the game computes it.
///
/// Floors before dividing, so `-0.5` and `-16.0` are in chunk -1 and `-17.0` in chunk -2.
/// Never panics: NaN maps to chunk 0 and coordinates beyond the `i32` chunk range saturate,
/// so callers that care about garbage positions should check `is_finite` first (the
/// [`ZoneMap`](crate::ZoneMap) block lookups do).
pub fn block_to_chunk(block: f64) -> i32 {
    // `as` truncates toward zero and saturates (NaN becomes 0); stepping down for negative
    // non-integers gives the floor without `f64::floor`, a libm call on baseline x86-64.
    let truncated = block as i64;
    let floored = if (truncated as f64) > block {
        truncated.saturating_sub(1)
    } else {
        truncated
    };
    // An arithmetic shift is floor division by 16.
    clamp_i32(floored >> 4)
}

pub(crate) fn clamp_i32(v: i64) -> i32 {
    v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// Position of a chunk column in chunk coordinates (block coordinate divided by 16, floored).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkPos {
    /// Chunk x (east is positive).
    pub x: i32,
    /// Chunk z (south is positive).
    pub z: i32,
}

impl ChunkPos {
    /// A chunk position from chunk coordinates.
    pub const fn new(x: i32, z: i32) -> Self {
        Self { x, z }
    }

    /// Chunk column holding the entity position `(x, z)` in blocks; see [`block_to_chunk`].
    pub fn from_block(x: f64, z: f64) -> Self {
        Self {
            x: block_to_chunk(x),
            z: block_to_chunk(z),
        }
    }

    /// Chunk column holding the integer block position `(x, z)` (as in a `BlockPos`).
    pub const fn from_block_pos(x: i32, z: i32) -> Self {
        Self {
            x: x >> 4,
            z: z >> 4,
        }
    }
}

impl fmt::Display for ChunkPos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}]", self.x, self.z)
    }
}

/// Rectangle of chunk columns, half-open: `min` inclusive, `max` exclusive.
///
/// `None` leaves that side unbounded, so a half-plane is a rectangle with one open side and
/// [`ChunkRect::ALL`] is the whole dimension. A rectangle may be empty (e.g. `min >= max`);
/// [`ZoneMap`](crate::ZoneMap) refuses empty zones, queries with an empty rectangle find nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ChunkRect {
    /// Smallest chunk x inside, or unbounded to the west.
    pub min_x: Option<i32>,
    /// First chunk x outside to the east, or unbounded.
    pub max_x: Option<i32>,
    /// Smallest chunk z inside, or unbounded to the north.
    pub min_z: Option<i32>,
    /// First chunk z outside to the south, or unbounded.
    pub max_z: Option<i32>,
}

impl ChunkRect {
    /// Every chunk column of the dimension.
    pub const ALL: ChunkRect = ChunkRect {
        min_x: None,
        max_x: None,
        min_z: None,
        max_z: None,
    };

    /// A rectangle from its four (optional) sides.
    pub const fn new(
        min_x: Option<i32>,
        max_x: Option<i32>,
        min_z: Option<i32>,
        max_z: Option<i32>,
    ) -> Self {
        Self {
            min_x,
            max_x,
            min_z,
            max_z,
        }
    }

    /// The bounded rectangle from `min` (inclusive) to `max` (exclusive).
    pub const fn bounded(min: ChunkPos, max: ChunkPos) -> Self {
        Self::new(Some(min.x), Some(max.x), Some(min.z), Some(max.z))
    }

    /// The chunks within Chebyshev distance `radius` of `center`: the square Minecraft's view
    /// distance covers. Sides that would leave the `i32` range are left open, which is exact.
    pub fn square(center: ChunkPos, radius: u32) -> Self {
        let r = i64::from(radius);
        let (cx, cz) = (i64::from(center.x), i64::from(center.z));
        Self::new(
            inclusive_min(cx - r),
            exclusive_max(cx + r + 1),
            inclusive_min(cz - r),
            exclusive_max(cz + r + 1),
        )
    }

    /// This rectangle with its west side at `x` (inclusive).
    pub const fn with_min_x(mut self, x: i32) -> Self {
        self.min_x = Some(x);
        self
    }

    /// This rectangle with its east side at `x` (exclusive).
    pub const fn with_max_x(mut self, x: i32) -> Self {
        self.max_x = Some(x);
        self
    }

    /// This rectangle with its north side at `z` (inclusive).
    pub const fn with_min_z(mut self, z: i32) -> Self {
        self.min_z = Some(z);
        self
    }

    /// This rectangle with its south side at `z` (exclusive).
    pub const fn with_max_z(mut self, z: i32) -> Self {
        self.max_z = Some(z);
        self
    }

    /// Whether the chunk column `chunk` lies inside.
    #[inline]
    pub fn contains(&self, chunk: ChunkPos) -> bool {
        self.min_x.is_none_or(|m| chunk.x >= m)
            && self.max_x.is_none_or(|m| chunk.x < m)
            && self.min_z.is_none_or(|m| chunk.z >= m)
            && self.max_z.is_none_or(|m| chunk.z < m)
    }

    /// Whether no chunk column lies inside.
    pub fn is_empty(&self) -> bool {
        axis_empty(self.min_x, self.max_x) || axis_empty(self.min_z, self.max_z)
    }

    /// Whether the rectangle is unbounded on every side.
    pub fn is_all(&self) -> bool {
        *self == Self::ALL
    }

    /// The chunk columns inside both rectangles (possibly empty).
    pub fn intersection(&self, other: &ChunkRect) -> ChunkRect {
        ChunkRect::new(
            tighter(self.min_x, other.min_x, i32::max),
            tighter(self.max_x, other.max_x, i32::min),
            tighter(self.min_z, other.min_z, i32::max),
            tighter(self.max_z, other.max_z, i32::min),
        )
    }

    /// Whether some chunk column lies inside both rectangles.
    #[inline]
    pub fn intersects(&self, other: &ChunkRect) -> bool {
        !self.intersection(other).is_empty()
    }
}

impl fmt::Display for ChunkRect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn side(f: &mut fmt::Formatter<'_>, v: Option<i32>, open: &str) -> fmt::Result {
            match v {
                Some(v) => write!(f, "{v}"),
                None => f.write_str(open),
            }
        }
        f.write_str("chunks x [")?;
        side(f, self.min_x, "-inf")?;
        f.write_str(", ")?;
        side(f, self.max_x, "+inf")?;
        f.write_str("), z [")?;
        side(f, self.min_z, "-inf")?;
        f.write_str(", ")?;
        side(f, self.max_z, "+inf")?;
        f.write_str(")")
    }
}

fn axis_empty(min: Option<i32>, max: Option<i32>) -> bool {
    match (min, max) {
        (Some(lo), Some(hi)) => lo >= hi,
        // Nothing in i32 is below i32::MIN.
        (None, Some(hi)) => hi == i32::MIN,
        _ => false,
    }
}

fn tighter(a: Option<i32>, b: Option<i32>, pick: fn(i32, i32) -> i32) -> Option<i32> {
    match (a, b) {
        (Some(a), Some(b)) => Some(pick(a, b)),
        (side, None) | (None, side) => side,
    }
}

/// An inclusive lower chunk bound, open when it would not exclude anything.
pub(crate) fn inclusive_min(v: i64) -> Option<i32> {
    (v > i64::from(i32::MIN)).then(|| clamp_i32(v))
}

/// An exclusive upper chunk bound, open when it would not exclude anything.
pub(crate) fn exclusive_max(v: i64) -> Option<i32> {
    (v <= i64::from(i32::MAX)).then(|| clamp_i32(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_to_chunk_floors_negatives() {
        assert_eq!(block_to_chunk(0.0), 0);
        assert_eq!(block_to_chunk(15.999), 0);
        assert_eq!(block_to_chunk(16.0), 1);
        assert_eq!(block_to_chunk(-0.0), 0);
        assert_eq!(block_to_chunk(-0.5), -1);
        assert_eq!(block_to_chunk(-16.0), -1);
        assert_eq!(block_to_chunk(-16.001), -2);
        assert_eq!(block_to_chunk(-17.0), -2);
        assert_eq!(block_to_chunk(-1e-300), -1);
        assert_eq!(block_to_chunk(-32.0), -2);
        assert_eq!(block_to_chunk(-32.5), -3);
        assert_eq!(block_to_chunk(29_999_999.9), 1_874_999);
        assert_eq!(block_to_chunk(-29_999_999.9), -1_875_000);
        assert_eq!(ChunkPos::from_block(-0.5, 31.9), ChunkPos::new(-1, 1));
        assert_eq!(ChunkPos::from_block_pos(-1, -17), ChunkPos::new(-1, -2));
        assert_eq!(ChunkPos::from_block_pos(15, 16), ChunkPos::new(0, 1));
    }

    #[test]
    fn block_to_chunk_never_panics_on_garbage() {
        assert_eq!(block_to_chunk(f64::NAN), 0);
        assert_eq!(block_to_chunk(f64::INFINITY), i32::MAX);
        assert_eq!(block_to_chunk(f64::NEG_INFINITY), i32::MIN);
        assert_eq!(block_to_chunk(1e300), i32::MAX);
        assert_eq!(block_to_chunk(-1e300), i32::MIN);
    }

    #[test]
    fn contains_is_half_open_and_unbounded_sides_are_open() {
        let west = ChunkRect::ALL.with_max_x(0);
        assert!(west.contains(ChunkPos::new(-1, 0)));
        assert!(!west.contains(ChunkPos::new(0, 0)));
        assert!(west.contains(ChunkPos::new(i32::MIN, i32::MAX)));
        let r = ChunkRect::bounded(ChunkPos::new(-2, -2), ChunkPos::new(2, 2));
        assert!(r.contains(ChunkPos::new(-2, -2)));
        assert!(r.contains(ChunkPos::new(1, 1)));
        assert!(!r.contains(ChunkPos::new(2, 1)));
        assert!(!r.contains(ChunkPos::new(1, 2)));
        assert!(ChunkRect::ALL.contains(ChunkPos::new(i32::MAX, i32::MIN)));
    }

    #[test]
    fn emptiness() {
        assert!(!ChunkRect::ALL.is_empty());
        assert!(ChunkRect::ALL.with_min_x(3).with_max_x(3).is_empty());
        assert!(ChunkRect::ALL.with_min_z(4).with_max_z(-4).is_empty());
        assert!(ChunkRect::ALL.with_max_x(i32::MIN).is_empty());
        assert!(!ChunkRect::ALL.with_min_x(i32::MAX).is_empty());
        assert!(!ChunkRect::ALL.with_min_x(2).with_max_x(3).is_empty());
    }

    #[test]
    fn intersections() {
        let west = ChunkRect::ALL.with_max_x(0);
        let east = ChunkRect::ALL.with_min_x(0);
        assert!(!west.intersects(&east));
        assert!(west.intersects(&ChunkRect::ALL));
        assert!(east.intersects(&ChunkRect::ALL.with_max_x(1)));
        let a = ChunkRect::bounded(ChunkPos::new(0, 0), ChunkPos::new(4, 4));
        let b = ChunkRect::bounded(ChunkPos::new(3, 3), ChunkPos::new(8, 8));
        let c = ChunkRect::bounded(ChunkPos::new(4, 0), ChunkPos::new(8, 4));
        assert_eq!(
            a.intersection(&b),
            ChunkRect::bounded(ChunkPos::new(3, 3), ChunkPos::new(4, 4))
        );
        assert!(!a.intersects(&c));
        assert!(b.intersects(&c));
        assert!(!a.intersects(&ChunkRect::ALL.with_min_x(5).with_max_x(5)));
    }

    #[test]
    fn square_covers_view_distance_and_opens_at_the_i32_edge() {
        let s = ChunkRect::square(ChunkPos::new(-1, 5), 6);
        assert_eq!(s, ChunkRect::new(Some(-7), Some(6), Some(-1), Some(12)));
        let edge = ChunkRect::square(ChunkPos::new(i32::MAX, i32::MIN), 3);
        assert_eq!(edge.max_x, None);
        assert_eq!(edge.min_z, None);
        assert!(edge.contains(ChunkPos::new(i32::MAX, i32::MIN)));
        let huge = ChunkRect::square(ChunkPos::new(0, 0), u32::MAX);
        assert!(huge.is_all());
    }

    #[test]
    fn names_compare_with_str_and_display_plainly() {
        let id = ZoneId::from("west");
        assert_eq!(id, "west");
        assert_eq!(id.to_string(), "west");
        assert_eq!(Dimension::default().as_str(), OVERWORLD);
        assert_eq!(
            ChunkRect::ALL.with_max_x(0).to_string(),
            "chunks x [-inf, 0), z [-inf, +inf)"
        );
    }
}
