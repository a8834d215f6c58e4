//! The validated zone map and the index that answers "which zone is here" on every movement packet.
//!
//! # Index
//! Per dimension, every finite side of every zone is a boundary; sorting the distinct x (and z)
//! boundaries cuts the plane into slabs inside which no zone starts or ends, so each cell of
//! the slab grid lies in at most one zone (zones do not overlap) and unbounded sides need no
//! special case: they simply reach the first or last slab. A lookup is two binary searches
//! and one array read. When there are so many distinct boundaries that the slab grid would
//! be large, neighbouring slabs are grouped (powers of two per axis) until the grid has about
//! four cells per zone; a cell then lists the few zones that touch it. Cells are stored flat
//! (offsets plus one list) so a lookup touches three small arrays and never allocates.

use std::collections::{HashMap, HashSet};

use crate::error::{OwnerError, ZoneError};
use crate::geometry::{ChunkPos, ChunkRect, Dimension, ServerId, ZoneId};

/// Cells the index may use per zone before it groups slabs.
const CELLS_PER_ZONE: u64 = 4;
/// Small maps may use this many cells whatever their zone count: it costs nothing.
const MIN_CELLS: u64 = 256;
/// Upper bound on cells per dimension, so a pathological config cannot exhaust memory.
const MAX_CELLS: u64 = 1 << 22;
/// Zone indices are `u32` and slab counts reach twice the zone count plus one.
const MAX_ZONES: usize = (u32::MAX / 4) as usize;

/// A region of chunk columns in one dimension and who owns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    /// Unique name of the zone.
    pub id: ZoneId,
    /// Backend that simulates this zone.
    pub owner: ServerId,
    /// Fencing token of the current ownership; only ever grows.
    pub epoch: u64,
    /// Dimension the zone lies in.
    pub dimension: Dimension,
    /// The chunk columns of the zone.
    pub area: ChunkRect,
}

impl Zone {
    /// A zone in the overworld at epoch [`INITIAL_EPOCH`](crate::INITIAL_EPOCH).
    pub fn new(id: impl Into<ZoneId>, owner: impl Into<ServerId>, area: ChunkRect) -> Self {
        Self {
            id: id.into(),
            owner: owner.into(),
            epoch: crate::INITIAL_EPOCH,
            dimension: Dimension::overworld(),
            area,
        }
    }

    /// This zone moved to `dimension`.
    pub fn in_dimension(mut self, dimension: impl Into<Dimension>) -> Self {
        self.dimension = dimension.into();
        self
    }

    /// This zone with ownership epoch `epoch`.
    pub fn with_epoch(mut self, epoch: u64) -> Self {
        self.epoch = epoch;
        self
    }
}

/// A validated set of zones with a fast position → zone lookup.
///
/// Validation guarantees: ids are unique and non-empty, owners and dimensions are non-empty,
/// no zone is empty, and no two zones of one dimension share a chunk column. Chunks outside
/// every zone are allowed; lookups there return `None`.
#[derive(Clone, Debug, Default)]
pub struct ZoneMap {
    zones: Vec<Zone>,
    by_id: HashMap<ZoneId, u32>,
    /// Per zone, the first index cell listing it; range queries report a zone only from the
    /// first cell it shares with the query, so they need no "seen" set.
    first_cell: Vec<(u32, u32)>,
    dims: Vec<DimIndex>,
}

impl ZoneMap {
    /// Validates `zones` and builds the index.
    pub fn new(zones: impl IntoIterator<Item = Zone>) -> Result<Self, ZoneError> {
        let mut zones: Vec<Zone> = zones.into_iter().collect();
        if zones.len() > MAX_ZONES {
            return Err(ZoneError::TooManyZones(zones.len()));
        }
        // Zones built from config carry one allocation per owner name; sharing one per name
        // lets the view queries find repeated owners by pointer (see `push_owner`).
        let mut interned: HashSet<ServerId> = HashSet::new();
        for zone in &mut zones {
            match interned.get(zone.owner.as_str()) {
                Some(owner) => zone.owner = owner.clone(),
                None => {
                    interned.insert(zone.owner.clone());
                }
            }
        }
        let mut by_id = HashMap::with_capacity(zones.len());
        let mut members: Vec<(Dimension, Vec<u32>)> = Vec::new();
        for (i, zone) in zones.iter().enumerate() {
            for (field, name) in [
                ("id", zone.id.as_str()),
                ("owner", zone.owner.as_str()),
                ("dimension", zone.dimension.as_str()),
            ] {
                if name.is_empty() {
                    return Err(ZoneError::EmptyName {
                        zone: zone.id.clone(),
                        field,
                    });
                }
            }
            if zone.area.is_empty() {
                return Err(ZoneError::EmptyArea {
                    zone: zone.id.clone(),
                    area: zone.area,
                });
            }
            let i = i as u32; // bounded by MAX_ZONES
            if by_id.insert(zone.id.clone(), i).is_some() {
                return Err(ZoneError::DuplicateId(zone.id.clone()));
            }
            match members.iter_mut().find(|(d, _)| *d == zone.dimension) {
                Some((_, list)) => list.push(i),
                None => members.push((zone.dimension.clone(), vec![i])),
            }
        }
        let mut first_cell = vec![(0, 0); zones.len()];
        let dims = members
            .into_iter()
            .map(|(dimension, list)| DimIndex::build(dimension, &list, &zones, &mut first_cell))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            zones,
            by_id,
            first_cell,
            dims,
        })
    }

    /// All zones, in the order they were given.
    pub fn zones(&self) -> &[Zone] {
        &self.zones
    }

    /// The zone named `id`.
    pub fn zone(&self, id: &str) -> Option<&Zone> {
        let &i = self.by_id.get(id)?;
        self.zones.get(i as usize)
    }

    /// The map's version: the sum of its zones' epochs.
    ///
    /// Every move bumps one zone's epoch and zones are never deleted, so the version grows
    /// with every change, and two proxies that read the same zones compute the same number.
    /// It is the epoch of the `ZoneAssignment`s the proxy sends to backends.
    pub fn version(&self) -> u64 {
        self.zones
            .iter()
            .fold(0u64, |sum, zone| sum.saturating_add(zone.epoch))
    }

    /// Number of zones.
    pub fn len(&self) -> usize {
        self.zones.len()
    }

    /// Whether the map has no zone at all.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// Dimensions that have at least one zone.
    pub fn dimensions(&self) -> impl Iterator<Item = &Dimension> {
        self.dims.iter().map(|d| &d.dimension)
    }

    /// The zone holding the entity position `(block_x, block_z)` in `dimension`.
    ///
    /// `None` outside every zone, in a dimension without zones, and for non-finite
    /// coordinates (a client can send NaN; it must not land in whatever zone holds chunk 0).
    #[inline]
    pub fn zone_at(&self, dimension: &str, block_x: f64, block_z: f64) -> Option<&Zone> {
        if !(block_x.is_finite() && block_z.is_finite()) {
            return None;
        }
        self.zone_at_chunk(dimension, ChunkPos::from_block(block_x, block_z))
    }

    /// The zone holding chunk column `chunk` in `dimension`.
    #[inline]
    pub fn zone_at_chunk(&self, dimension: &str, chunk: ChunkPos) -> Option<&Zone> {
        let index = self.index(dimension)?;
        let (col, row) = index.cell_of(chunk);
        index
            .cell(col, row)
            .iter()
            .filter_map(|&i| self.zones.get(i as usize))
            .find(|zone| zone.area.contains(chunk))
    }

    /// Every zone of `dimension` sharing a chunk column with `area`, each once, without
    /// allocating.
    pub fn zones_intersecting(&self, dimension: &str, area: &ChunkRect) -> ZonesIn<'_> {
        let found = self
            .index(dimension)
            .and_then(|index| Some((index, index.cell_range(area)?)));
        let (index, range, cell) = match found {
            Some((index, range)) => (Some(index), range, index.cell(range.c0, range.r0)),
            None => (None, CellRange::default(), &[][..]),
        };
        ZonesIn {
            zones: &self.zones,
            first_cell: &self.first_cell,
            index,
            query: *area,
            range,
            col: range.c0,
            row: range.r0,
            entries: cell.iter(),
        }
    }

    /// Every zone of `dimension` with a chunk within Chebyshev distance `view_distance` of
    /// `chunk`: the square of chunks a client with that view distance is sent.
    pub fn zones_in_view(
        &self,
        dimension: &str,
        chunk: ChunkPos,
        view_distance: u32,
    ) -> ZonesIn<'_> {
        self.zones_intersecting(dimension, &ChunkRect::square(chunk, view_distance))
    }

    /// Replaces `out` with the distinct owners of [`zones_in_view`](Self::zones_in_view).
    ///
    /// Takes the caller's buffer so the per-packet path reuses one allocation; owners are
    /// reference-counted names, so filling it only bumps counters.
    pub fn owners_in_view(
        &self,
        dimension: &str,
        chunk: ChunkPos,
        view_distance: u32,
        out: &mut Vec<ServerId>,
    ) {
        out.clear();
        for zone in self.zones_in_view(dimension, chunk, view_distance) {
            push_owner(out, &zone.owner);
        }
    }

    /// Hands zone `id` to `owner` under epoch `epoch`, which must be greater than the
    /// zone's current epoch: a stale change (one that lost a race, or a replayed message)
    /// is refused rather than undoing a newer one. Returns the updated zone.
    pub fn set_owner(
        &mut self,
        id: &str,
        owner: ServerId,
        epoch: u64,
    ) -> Result<&Zone, OwnerError> {
        let zone = self
            .by_id
            .get(id)
            .and_then(|&i| self.zones.get_mut(i as usize))
            .ok_or_else(|| OwnerError::UnknownZone(ZoneId::from(id)))?;
        if epoch <= zone.epoch {
            return Err(OwnerError::StaleEpoch {
                zone: zone.id.clone(),
                current: zone.epoch,
                offered: epoch,
            });
        }
        if owner.is_empty() {
            return Err(OwnerError::EmptyOwner(zone.id.clone()));
        }
        zone.owner = owner;
        zone.epoch = epoch;
        Ok(zone)
    }

    fn index(&self, dimension: &str) -> Option<&DimIndex> {
        // A handful of dimensions at most: a scan is cheaper than hashing the name.
        self.dims.iter().find(|d| d.dimension.as_str() == dimension)
    }
}

/// Appends `owner` to `out` unless it is there already.
///
/// Owners in view are few, so a linear scan beats hashing; owners of one map share an
/// allocation per name, so repeats are found by pointer and names are compared only for
/// an owner not yet listed (or one set with its own allocation by `set_owner`).
#[inline]
pub(crate) fn push_owner(out: &mut Vec<ServerId>, owner: &ServerId) {
    if !out.iter().any(|o| o.same_allocation(owner)) && !out.contains(owner) {
        out.push(owner.clone());
    }
}

/// Iterator over the zones of a [`ZoneMap`] that intersect a rectangle; see
/// [`ZoneMap::zones_intersecting`].
#[derive(Clone, Debug)]
pub struct ZonesIn<'a> {
    zones: &'a [Zone],
    first_cell: &'a [(u32, u32)],
    /// `None` once exhausted or when nothing can match.
    index: Option<&'a DimIndex>,
    query: ChunkRect,
    range: CellRange,
    col: u32,
    row: u32,
    entries: std::slice::Iter<'a, u32>,
}

impl<'a> Iterator for ZonesIn<'a> {
    type Item = &'a Zone;

    fn next(&mut self) -> Option<&'a Zone> {
        let index = self.index?;
        loop {
            for &i in self.entries.by_ref() {
                let (Some(zone), Some(&(first_col, first_row))) =
                    (self.zones.get(i as usize), self.first_cell.get(i as usize))
                else {
                    continue;
                };
                // The first cell a zone shares with the query is where it is reported.
                let reported_here = first_col.max(self.range.c0) == self.col
                    && first_row.max(self.range.r0) == self.row;
                // Grouped cells are coarser than the query, so check the real geometry.
                if reported_here && zone.area.intersects(&self.query) {
                    return Some(zone);
                }
            }
            if self.col < self.range.c1 {
                self.col += 1;
            } else if self.row < self.range.r1 {
                self.col = self.range.c0;
                self.row += 1;
            } else {
                self.index = None;
                return None;
            }
            self.entries = index.cell(self.col, self.row).iter();
        }
    }
}

/// Inclusive range of index cells.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct CellRange {
    c0: u32,
    c1: u32,
    r0: u32,
    r1: u32,
}

/// The lookup index of one dimension; see the module docs.
#[derive(Clone, Debug)]
struct DimIndex {
    dimension: Dimension,
    /// Sorted distinct finite x sides of the dimension's zones; slab `k` is
    /// `[xs[k - 1], xs[k])` with open ends at `0` and `xs.len()`.
    xs: Vec<i32>,
    /// Same for z.
    zs: Vec<i32>,
    /// A cell column groups `1 << shift_x` x slabs.
    shift_x: u32,
    shift_z: u32,
    cols: u32,
    /// `cell_start[c]..cell_start[c + 1]` is cell `c`'s slice of `entries`.
    cell_start: Vec<usize>,
    /// Zone indices, per cell in the order zones were given.
    entries: Vec<u32>,
}

impl DimIndex {
    fn build(
        dimension: Dimension,
        members: &[u32],
        zones: &[Zone],
        first_cell: &mut [(u32, u32)],
    ) -> Result<Self, ZoneError> {
        let areas = || {
            members
                .iter()
                .filter_map(|&i| zones.get(i as usize))
                .map(|z| z.area)
        };
        let mut xs: Vec<i32> = areas().flat_map(|a| [a.min_x, a.max_x]).flatten().collect();
        let mut zs: Vec<i32> = areas().flat_map(|a| [a.min_z, a.max_z]).flatten().collect();
        xs.sort_unstable();
        xs.dedup();
        zs.sort_unstable();
        zs.dedup();

        let slabs_x = xs.len() as u64 + 1;
        let slabs_z = zs.len() as u64 + 1;
        let budget = (members.len() as u64 * CELLS_PER_ZONE).clamp(MIN_CELLS, MAX_CELLS);
        let groups = |slabs: u64, shift: u32| ((slabs - 1) >> shift) + 1;
        let (mut shift_x, mut shift_z) = (0, 0);
        while groups(slabs_x, shift_x) * groups(slabs_z, shift_z) > budget {
            // Coarsen the axis with more columns so cells stay roughly square in slab terms.
            if groups(slabs_x, shift_x) >= groups(slabs_z, shift_z) {
                shift_x += 1;
            } else {
                shift_z += 1;
            }
        }
        // Both fit: their product is at most MAX_CELLS.
        let cols = groups(slabs_x, shift_x) as u32;
        let rows = groups(slabs_z, shift_z) as u32;
        let cells = cols as usize * rows as usize;

        let mut index = Self {
            dimension,
            xs,
            zs,
            shift_x,
            shift_z,
            cols,
            cell_start: Vec::new(),
            entries: Vec::new(),
        };

        // Counting pass, then fill: one flat allocation instead of a Vec per cell.
        let ranges: Vec<(u32, CellRange)> = members
            .iter()
            .filter_map(|&i| Some((i, index.cell_range(&zones.get(i as usize)?.area)?)))
            .collect();
        let mut start = vec![0usize; cells + 1];
        for (_, r) in &ranges {
            for row in r.r0..=r.r1 {
                for col in r.c0..=r.c1 {
                    start[index.cell_index(col, row) + 1] += 1;
                }
            }
        }
        for c in 0..cells {
            start[c + 1] += start[c];
        }
        let mut next = start.clone();
        let mut entries = vec![0u32; start[cells]];
        for &(i, r) in &ranges {
            first_cell[i as usize] = (r.c0, r.r0);
            for row in r.r0..=r.r1 {
                for col in r.c0..=r.c1 {
                    let slot = &mut next[index.cell_index(col, row)];
                    entries[*slot] = i;
                    *slot += 1;
                }
            }
        }
        index.cell_start = start;
        index.entries = entries;
        index.check_overlaps(zones)?;
        Ok(index)
    }

    /// Two overlapping zones share a slab cell, hence an index cell: comparing the zones
    /// within each cell finds every overlap without an all-pairs pass.
    fn check_overlaps(&self, zones: &[Zone]) -> Result<(), ZoneError> {
        for cell in self.cell_start.windows(2) {
            let list = self.entries.get(cell[0]..cell[1]).unwrap_or(&[]);
            for (k, &a) in list.iter().enumerate() {
                for &b in list.get(k + 1..).unwrap_or(&[]) {
                    let (Some(za), Some(zb)) = (zones.get(a as usize), zones.get(b as usize))
                    else {
                        continue;
                    };
                    if za.area.intersects(&zb.area) {
                        // Entries are in input order, so `za` was listed first.
                        return Err(ZoneError::Overlap {
                            first: za.id.clone(),
                            second: zb.id.clone(),
                            dimension: self.dimension.clone(),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    #[inline]
    fn cell_index(&self, col: u32, row: u32) -> usize {
        row as usize * self.cols as usize + col as usize
    }

    #[inline]
    fn cell_of(&self, chunk: ChunkPos) -> (u32, u32) {
        (
            slab(&self.xs, chunk.x) >> self.shift_x,
            slab(&self.zs, chunk.z) >> self.shift_z,
        )
    }

    #[inline]
    fn cell(&self, col: u32, row: u32) -> &[u32] {
        let c = self.cell_index(col, row);
        match (self.cell_start.get(c), self.cell_start.get(c + 1)) {
            (Some(&start), Some(&end)) => self.entries.get(start..end).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// The cells `area` touches, or `None` if it is empty.
    fn cell_range(&self, area: &ChunkRect) -> Option<CellRange> {
        if area.is_empty() {
            return None;
        }
        let (x0, x1) = slab_range(&self.xs, area.min_x, area.max_x);
        let (z0, z1) = slab_range(&self.zs, area.min_z, area.max_z);
        Some(CellRange {
            c0: x0 >> self.shift_x,
            c1: x1 >> self.shift_x,
            r0: z0 >> self.shift_z,
            r1: z1 >> self.shift_z,
        })
    }
}

/// The slab holding coordinate `v`: how many boundaries are at or below it.
#[inline]
fn slab(bounds: &[i32], v: i32) -> u32 {
    bounds.partition_point(|&b| b <= v) as u32
}

/// First and last slab of the non-empty half-open interval `[min, max)`.
fn slab_range(bounds: &[i32], min: Option<i32>, max: Option<i32>) -> (u32, u32) {
    let lo = min.map_or(0, |m| slab(bounds, m));
    let hi = max.map_or(bounds.len() as u32, |m| slab(bounds, m.saturating_sub(1)));
    (lo, hi.max(lo))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn halves() -> ZoneMap {
        ZoneMap::new([
            Zone::new("west", "west", ChunkRect::ALL.with_max_x(0)),
            Zone::new("east", "east", ChunkRect::ALL.with_min_x(0)),
        ])
        .unwrap()
    }

    fn owner_at(map: &ZoneMap, x: f64, z: f64) -> Option<&str> {
        map.zone_at(crate::OVERWORLD, x, z)
            .map(|z| z.owner.as_str())
    }

    /// Tiny deterministic generator so the randomized tests need no dependency.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        fn one_in(&mut self, n: u64) -> bool {
            self.next().is_multiple_of(n)
        }
        fn seven_in_eight(&mut self) -> bool {
            !self.one_in(8)
        }
        fn range(&mut self, lo: i32, hi: i32) -> i32 {
            lo + (self.next() % (hi - lo) as u64) as i32
        }
    }

    #[test]
    fn exact_border_belongs_to_the_east() {
        let map = halves();
        assert_eq!(owner_at(&map, 0.0, 0.0), Some("east"));
        assert_eq!(owner_at(&map, -0.0, 0.0), Some("east"));
        assert_eq!(owner_at(&map, -0.001, 0.0), Some("west"));
        assert_eq!(owner_at(&map, -16.0, 0.0), Some("west"));
        assert_eq!(owner_at(&map, 15.99, -1e7), Some("east"));
        assert_eq!(owner_at(&map, -3e7, 3e7), Some("west"));
        assert_eq!(owner_at(&map, 3e7, -3e7), Some("east"));
    }

    #[test]
    fn negative_chunks_and_bounded_rects() {
        // Chunks -2..0 x -2..0 are blocks -32..0: block -32 is in, -33 and 0 are out.
        let map = ZoneMap::new([Zone::new(
            "pit",
            "s1",
            ChunkRect::bounded(ChunkPos::new(-2, -2), ChunkPos::new(0, 0)),
        )])
        .unwrap();
        assert_eq!(owner_at(&map, -32.0, -32.0), Some("s1"));
        assert_eq!(owner_at(&map, -0.5, -0.5), Some("s1"));
        assert_eq!(owner_at(&map, -32.01, -1.0), None);
        assert_eq!(owner_at(&map, 0.0, -1.0), None);
        assert_eq!(owner_at(&map, -1.0, 0.0), None);
        assert_eq!(
            map.zone_at_chunk(crate::OVERWORLD, ChunkPos::new(-1, -2))
                .map(|z| z.id.as_str()),
            Some("pit")
        );
    }

    #[test]
    fn garbage_positions_and_unknown_dimensions_find_nothing() {
        let map = halves();
        assert_eq!(owner_at(&map, f64::NAN, 0.0), None);
        assert_eq!(owner_at(&map, 0.0, f64::INFINITY), None);
        assert!(map.zone_at("minecraft:the_nether", 0.0, 0.0).is_none());
        assert!(
            ZoneMap::default()
                .zone_at(crate::OVERWORLD, 0.0, 0.0)
                .is_none()
        );
    }

    #[test]
    fn dimensions_are_separate() {
        let map = ZoneMap::new([
            Zone::new("ow", "a", ChunkRect::ALL),
            Zone::new("nether", "b", ChunkRect::ALL).in_dimension("minecraft:the_nether"),
        ])
        .unwrap();
        assert_eq!(owner_at(&map, 5.0, 5.0), Some("a"));
        assert_eq!(
            map.zone_at("minecraft:the_nether", 5.0, 5.0)
                .map(|z| z.owner.as_str()),
            Some("b")
        );
        assert_eq!(map.dimensions().count(), 2);
    }

    #[test]
    fn overlaps_are_named() {
        let err = ZoneMap::new([
            Zone::new(
                "a",
                "s",
                ChunkRect::bounded(ChunkPos::new(0, 0), ChunkPos::new(4, 4)),
            ),
            Zone::new(
                "b",
                "s",
                ChunkRect::bounded(ChunkPos::new(4, 0), ChunkPos::new(8, 4)),
            ),
            Zone::new(
                "c",
                "s",
                ChunkRect::bounded(ChunkPos::new(7, 3), ChunkPos::new(9, 9)),
            ),
        ])
        .unwrap_err();
        assert_eq!(
            err,
            ZoneError::Overlap {
                first: "b".into(),
                second: "c".into(),
                dimension: Dimension::overworld(),
            }
        );
        assert_eq!(
            err.to_string(),
            "zones `b` and `c` overlap in minecraft:overworld"
        );

        // Half-planes overlap too, and a zone covering everything overlaps anything.
        let err = ZoneMap::new([
            Zone::new("west", "w", ChunkRect::ALL.with_max_x(1)),
            Zone::new("east", "e", ChunkRect::ALL.with_min_x(0)),
        ])
        .unwrap_err();
        assert!(matches!(err, ZoneError::Overlap { .. }));
        let err = ZoneMap::new([
            Zone::new(
                "small",
                "w",
                ChunkRect::bounded(ChunkPos::new(90, 90), ChunkPos::new(91, 91)),
            ),
            Zone::new("all", "e", ChunkRect::ALL),
        ])
        .unwrap_err();
        assert!(matches!(err, ZoneError::Overlap { ref first, .. } if first == "small"));
    }

    #[test]
    fn invalid_zones_are_refused() {
        let dup = ZoneMap::new([
            Zone::new("a", "s", ChunkRect::ALL.with_max_x(0)),
            Zone::new("a", "s", ChunkRect::ALL.with_min_x(0)).in_dimension("minecraft:the_end"),
        ]);
        assert_eq!(dup.unwrap_err(), ZoneError::DuplicateId("a".into()));
        let empty = ZoneMap::new([Zone::new(
            "e",
            "s",
            ChunkRect::ALL.with_min_z(5).with_max_z(5),
        )]);
        assert!(matches!(empty.unwrap_err(), ZoneError::EmptyArea { zone, .. } if zone == "e"));
        let no_owner = ZoneMap::new([Zone::new("e", "", ChunkRect::ALL)]);
        assert_eq!(
            no_owner.unwrap_err(),
            ZoneError::EmptyName {
                zone: "e".into(),
                field: "owner"
            }
        );
    }

    #[test]
    fn set_owner_fences_stale_epochs() {
        let mut map = halves();
        assert_eq!(map.zone("west").unwrap().epoch, 1);
        let stale = map.set_owner("west", "east".into(), 1).unwrap_err();
        assert_eq!(
            stale,
            OwnerError::StaleEpoch {
                zone: "west".into(),
                current: 1,
                offered: 1
            }
        );
        assert!(map.set_owner("west", "east".into(), 0).is_err());
        let zone = map.set_owner("west", "east".into(), 7).unwrap();
        assert_eq!((zone.owner.as_str(), zone.epoch), ("east", 7));
        assert_eq!(owner_at(&map, -100.0, 0.0), Some("east"));
        assert!(matches!(
            map.set_owner("west", "west".into(), 6),
            Err(OwnerError::StaleEpoch { current: 7, .. })
        ));
        assert_eq!(
            map.set_owner("north", "x".into(), 9).unwrap_err(),
            OwnerError::UnknownZone("north".into())
        );
        assert_eq!(
            map.set_owner("west", "".into(), 9).unwrap_err(),
            OwnerError::EmptyOwner("west".into())
        );
    }

    #[test]
    fn owners_in_view_across_the_border() {
        let map = halves();
        let mut owners = Vec::new();
        let at = |x: f64| ChunkPos::from_block(x, 0.0);
        map.owners_in_view(crate::OVERWORLD, at(-8.0), 6, &mut owners);
        owners.sort();
        assert_eq!(owners, [ServerId::from("east"), ServerId::from("west")]);
        map.owners_in_view(crate::OVERWORLD, at(-200.0), 6, &mut owners);
        assert_eq!(owners, [ServerId::from("west")]);
        // Chunk -7 sees up to chunk -1 with view distance 6; chunk -6 sees chunk 0.
        map.owners_in_view(crate::OVERWORLD, ChunkPos::new(-7, 0), 6, &mut owners);
        assert_eq!(owners, [ServerId::from("west")]);
        map.owners_in_view(crate::OVERWORLD, ChunkPos::new(-6, 0), 6, &mut owners);
        assert_eq!(owners.len(), 2);
        map.owners_in_view("minecraft:the_end", ChunkPos::new(0, 0), 6, &mut owners);
        assert!(owners.is_empty());
    }

    #[test]
    fn owners_share_one_allocation_per_name() {
        let map = ZoneMap::new([
            Zone::new("a", String::from("s"), ChunkRect::ALL.with_max_x(0)),
            Zone::new("b", String::from("s"), ChunkRect::ALL.with_min_x(0)),
        ])
        .unwrap();
        let [a, b] = map.zones() else { panic!() };
        assert!(a.owner.same_allocation(&b.owner));
    }

    #[test]
    fn owners_are_listed_once() {
        let zones = (0..4).map(|i| {
            Zone::new(
                format!("z{i}"),
                "same",
                ChunkRect::ALL.with_min_z(i * 2).with_max_z(i * 2 + 2),
            )
        });
        let map = ZoneMap::new(zones).unwrap();
        let mut owners = Vec::new();
        map.owners_in_view(crate::OVERWORLD, ChunkPos::new(0, 3), 10, &mut owners);
        assert_eq!(owners, [ServerId::from("same")]);
        assert_eq!(
            map.zones_in_view(crate::OVERWORLD, ChunkPos::new(0, 3), 10)
                .count(),
            4
        );
    }

    /// Zones in a jittered grid with open outer sides: distinct boundaries everywhere, so the
    /// index must group slabs; compare it with brute force.
    fn jittered(n: i32, seed: u64) -> (ZoneMap, Vec<Zone>) {
        let mut rng = Lcg(seed);
        let mut zones = Vec::new();
        for gx in 0..n {
            for gz in 0..n {
                if rng.one_in(5) {
                    continue; // leave holes
                }
                let (bx, bz) = (gx * 20 - 200, gz * 20 - 200);
                let area = ChunkRect::new(
                    (gx > 0).then(|| bx + rng.range(0, 8)),
                    (gx < n - 1).then(|| bx + rng.range(9, 20)),
                    (gz > 0).then(|| bz + rng.range(0, 8)),
                    (gz < n - 1).then(|| bz + rng.range(9, 20)),
                );
                let owner = format!("s{}", rng.next() % 7);
                zones.push(Zone::new(format!("{gx}/{gz}"), owner, area));
            }
        }
        (ZoneMap::new(zones.clone()).unwrap(), zones)
    }

    #[test]
    fn index_matches_brute_force() {
        for (n, seed) in [(3, 1), (12, 2), (30, 3)] {
            let (map, zones) = jittered(n, seed);
            let index = map.index(crate::OVERWORLD).unwrap();
            if n == 30 {
                assert!(
                    index.shift_x + index.shift_z > 0,
                    "expected a grouped index"
                );
            }
            let mut rng = Lcg(seed + 100);
            for _ in 0..3000 {
                let p = ChunkPos::new(rng.range(-400, 500), rng.range(-400, 500));
                let want = zones.iter().find(|z| z.area.contains(p));
                assert_eq!(map.zone_at_chunk(crate::OVERWORLD, p), want, "at {p}");
            }
            for _ in 0..300 {
                let (x, z) = (rng.range(-400, 500), rng.range(-400, 500));
                let query = ChunkRect::new(
                    rng.seven_in_eight().then_some(x),
                    rng.seven_in_eight().then(|| x + rng.range(-2, 60)),
                    rng.seven_in_eight().then_some(z),
                    rng.seven_in_eight().then(|| z + rng.range(-2, 60)),
                );
                let mut got: Vec<&str> = map
                    .zones_intersecting(crate::OVERWORLD, &query)
                    .map(|z| z.id.as_str())
                    .collect();
                let mut want: Vec<&str> = zones
                    .iter()
                    .filter(|z| z.area.intersects(&query))
                    .map(|z| z.id.as_str())
                    .collect();
                let reported = got.len();
                got.sort_unstable();
                got.dedup();
                assert_eq!(got.len(), reported, "a zone was reported twice for {query}");
                want.sort_unstable();
                assert_eq!(got, want, "query {query}");
            }
        }
    }

    #[test]
    fn overlap_is_found_in_a_grouped_index() {
        let (_, mut zones) = jittered(30, 9);
        let victim = zones[zones.len() / 2].clone();
        let mut intruder = Zone::new("intruder", "x", victim.area);
        intruder.area.max_x = victim.area.min_x.map(|m| m + 1);
        intruder.area.min_x = None;
        intruder.area.max_z = victim.area.min_z.map(|m| m + 1);
        intruder.area.min_z = victim.area.min_z;
        zones.push(intruder);
        assert!(matches!(
            ZoneMap::new(zones).unwrap_err(),
            ZoneError::Overlap { second, .. } if second == "intruder"
        ));
    }
}
