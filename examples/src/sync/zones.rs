//! Which zones this backend owns, which it gave away, and so which world entities it may show.
//!
//! The spec's "stop simulating": a zone this backend owned under an earlier applied assignment
//! and that the current one lacks is *released*, and the world entities in it (the marker, the
//! ground items; never players) are shown to nobody. A backend that never lost a zone shows
//! everything, so a backend standing alone, or never assigned anything, behaves as it always did.

use std::sync::Arc;

use sync_plugin_protocol::{EpochFence, Zone};

/// The zone assignment as applied here, under the zone epoch (one per backend, unlike role
/// epochs).
#[derive(Debug, Default)]
pub(crate) struct Zones {
    pub fence: EpochFence,
    /// Replaced whole on every applied assignment, so a session can keep a snapshot without
    /// holding the lock while it writes to its client.
    pub ownership: Arc<Ownership>,
}

/// The zones of the last applied assignment, and those released by earlier ones.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Ownership {
    pub owned: Vec<Zone>,
    pub released: Vec<Zone>,
}

impl Ownership {
    /// What applying an assignment of `zones` makes of this.
    pub fn apply(&self, zones: Vec<Zone>) -> Self {
        Self {
            released: released_after(&self.owned, &zones, &self.released),
            owned: zones,
        }
    }

    /// Whether world entities in chunk `(chunk_x, chunk_z)` of `dimension` are hidden: the chunk
    /// lies in a released zone and in no zone owned now. The second half matters when a zone
    /// comes back with other bounds: the old shape stays released, the new one is owned.
    pub fn hides(&self, dimension: &str, chunk_x: i32, chunk_z: i32) -> bool {
        let inside = |zones: &[Zone]| {
            zones
                .iter()
                .any(|z| z.contains_chunk(dimension, chunk_x, chunk_z))
        };
        inside(&self.released) && !inside(&self.owned)
    }

    /// Whether going from `self` to `next` can change what [`Ownership::hides`] says anywhere.
    /// Without anything released before or after, nothing is hidden either way.
    pub fn hiding_changes(&self, next: &Self) -> bool {
        self != next && !(self.released.is_empty() && next.released.is_empty())
    }
}

/// The released zones after an assignment of `new` follows one of `previous`, given those
/// `released` before: every zone owned or released before that `new` lacks. Zones are compared
/// whole (id, dimension, bounds), so a regained zone leaves the set; the result has no repeats.
pub fn released_after(previous: &[Zone], new: &[Zone], released: &[Zone]) -> Vec<Zone> {
    let mut out: Vec<Zone> = Vec::new();
    for zone in released.iter().chain(previous) {
        if !new.contains(zone) && !out.contains(zone) {
            out.push(zone.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OVERWORLD: &str = "minecraft:overworld";

    /// Chunks `min_x..max_x`, every z.
    fn strip(id: &str, min_x: i32, max_x: i32) -> Zone {
        Zone {
            zone_id: id.into(),
            dimension: OVERWORLD.into(),
            min_chunk_x: Some(min_x),
            max_chunk_x: Some(max_x),
            min_chunk_z: None,
            max_chunk_z: None,
        }
    }

    #[test]
    fn a_zone_lost_is_released_until_it_comes_back() {
        let (west, east) = (strip("west", -10, 0), strip("east", 0, 10));
        let both = [west.clone(), east.clone()];
        assert_eq!(
            released_after(&[], &both, &[]),
            vec![],
            "a first assignment releases nothing"
        );
        let released = released_after(&both, std::slice::from_ref(&east), &[]);
        assert_eq!(released, vec![west.clone()]);
        // Still released while the assignments lack it, and only once.
        let released = released_after(std::slice::from_ref(&east), &[], &released);
        assert_eq!(released, both);
        assert_eq!(
            released_after(&[], &[], &released),
            released,
            "nothing owned, nothing changes"
        );
        // Regained: no longer released.
        assert_eq!(
            released_after(&[], std::slice::from_ref(&west), &released),
            vec![east]
        );
    }

    #[test]
    fn a_zone_reshaped_releases_its_old_shape_but_not_what_it_still_owns() {
        let before = Ownership::default().apply(vec![strip("east", 0, 10)]);
        assert_eq!(before.released, vec![]);
        let after = before.apply(vec![strip("east", 0, 5)]);
        assert_eq!(after.released, vec![strip("east", 0, 10)]);
        assert!(!after.hides(OVERWORLD, 4, 100), "still owned");
        assert!(after.hides(OVERWORLD, 5, -100));
        assert!(!after.hides(OVERWORLD, 10, 0), "never owned");
        assert!(
            !after.hides("minecraft:the_nether", 5, 0),
            "another dimension"
        );
        assert!(before.hiding_changes(&after));
    }

    #[test]
    fn nothing_is_hidden_without_a_release() {
        let never = Ownership::default();
        assert!(!never.hides(OVERWORLD, 0, 0));
        let first = never.apply(vec![strip("east", 0, 10)]);
        assert!(!first.hides(OVERWORLD, -1, 0) && !first.hides(OVERWORLD, 1, 0));
        assert!(!never.hiding_changes(&first), "no session needs telling");
        let emptied = first.apply(vec![]);
        assert!(emptied.hides(OVERWORLD, 1, 0));
        assert!(first.hiding_changes(&emptied));
        assert!(!emptied.hiding_changes(&emptied.clone()), "the same again");
        let back = emptied.apply(vec![strip("east", 0, 10)]);
        assert!(!back.hides(OVERWORLD, 1, 0));
        assert!(emptied.hiding_changes(&back));
    }
}
