//! Hysteresis for the swap and for dummy links, so a player walking along a border does not
//! make the proxy flap between backends.
//!
//! # Swap rule
//! A player whose primary is `P` and who stands in zone `Z` of another owner `D` swaps to `D`
//! only when every point within `margin` blocks (Chebyshev distance: the square of half-side
//! `margin` around the position, edges included) lies outside `P`'s zones. Standing exactly
//! `margin` blocks inside is not enough. Where `Z`'s only neighbour is `P` this is exactly
//! "[`depth_inside`]`(Z) > margin`"; it differs in two cases where that simpler rule would keep
//! a player on a backend it has left behind:
//! * `Z` borders another zone of `D`: walking along that inner border would never swap;
//! * `Z` borders a third owner `E`, or the player arrived by teleport: there is no `P`
//!   border to flap across, so the swap happens at once.
//!
//! Leaving all zones (unzoned area) never swaps: the player stays where it is.
//!
//! # Link rule
//! A dummy link to backend `S` opens when a zone of `S` intersects the square of chunks within
//! `view_distance` of the player's chunk (what the client is sent), and closes only when no
//! zone of `S` intersects the square within `view_distance + LINK_CLOSE_SLACK`. A player
//! pacing one chunk back and forth at the edge of view thus keeps the link.

use crate::geometry::{ChunkPos, ChunkRect, ServerId, exclusive_max, inclusive_min};
use crate::map::{Zone, ZoneMap, push_owner};

/// Default swap margin in blocks.
pub const DEFAULT_SWAP_MARGIN: f64 = 2.0;

/// Extra chunks beyond the view distance a backend's zones must leave before its dummy link
/// is closed.
pub const LINK_CLOSE_SLACK: u32 = 1;

/// Distance in blocks from `(block_x, block_z)` to the nearest bounded side of `area`.
///
/// Positive inside, zero on a side, negative outside (then it is minus the distance along
/// the axis that is furthest out). `+inf` when no side is bounded; NaN for NaN input.
pub fn depth_inside(area: &ChunkRect, block_x: f64, block_z: f64) -> f64 {
    if block_x.is_nan() || block_z.is_nan() {
        return f64::NAN;
    }
    let edge = |chunk: i32| f64::from(chunk) * 16.0;
    [
        area.min_x.map(|m| block_x - edge(m)),
        area.max_x.map(|m| edge(m) - block_x),
        area.min_z.map(|m| block_z - edge(m)),
        area.max_z.map(|m| edge(m) - block_z),
    ]
    .into_iter()
    .flatten()
    .fold(f64::INFINITY, f64::min)
}

/// The zone to swap to for a player at `(block_x, block_z)` whose primary is
/// `current_primary`, or `None` to stay; see the [module docs](self) for the rule.
///
/// `margin` is in blocks ([`DEFAULT_SWAP_MARGIN`] is a good choice); a negative or NaN margin
/// counts as zero. Non-finite positions never swap. Costs one lookup plus a range query over
/// the few chunks within the margin.
pub fn swap_target<'a>(
    map: &'a ZoneMap,
    current_primary: &ServerId,
    dimension: &str,
    block_x: f64,
    block_z: f64,
    margin: f64,
) -> Option<&'a Zone> {
    let zone = map.zone_at(dimension, block_x, block_z)?;
    if zone.owner == *current_primary {
        return None;
    }
    let margin = if margin > 0.0 { margin } else { 0.0 };
    let near = chunks_touching(block_x, block_z, margin);
    let primary_near = map
        .zones_intersecting(dimension, &near)
        .any(|z| z.owner == *current_primary);
    (!primary_near).then_some(zone)
}

/// Chunks whose closed square `[16c, 16c + 16]` meets the closed square of half-side
/// `margin` around the position: exactly those holding points at Chebyshev distance
/// `<= margin` (as an infimum, since zones are half-open).
fn chunks_touching(x: f64, z: f64, margin: f64) -> ChunkRect {
    // Dividing by 16 is exact in binary floating point, so borders are not blurred.
    // `as` saturates (an infinite margin gives i64 extremes), hence the saturating steps.
    let lo = |v: f64| inclusive_min((((v - margin) / 16.0).ceil() as i64).saturating_sub(1));
    let hi = |v: f64| exclusive_max((((v + margin) / 16.0).floor() as i64).saturating_add(1));
    ChunkRect::new(lo(x), hi(x), lo(z), hi(z))
}

/// Replaces `out` with the backends that should have a link (primary or dummy) for a player
/// at `chunk`, given the backends `linked` now; see the [module docs](self) for the rule.
///
/// The result holds every owner of a zone within `view_distance`, plus every backend of
/// `linked` that still owns a zone within `view_distance + LINK_CLOSE_SLACK`. The primary
/// is in it whenever it owns a zone in view; the caller never closes its primary on this
/// basis. Links to backends missing from `out` can be closed, owners in `out` missing from
/// `linked` should be opened.
pub fn links_wanted(
    map: &ZoneMap,
    dimension: &str,
    chunk: ChunkPos,
    view_distance: u32,
    linked: &[ServerId],
    out: &mut Vec<ServerId>,
) {
    out.clear();
    let view = ChunkRect::square(chunk, view_distance);
    let slack = view_distance.saturating_add(LINK_CLOSE_SLACK);
    for zone in map.zones_in_view(dimension, chunk, slack) {
        if zone.area.intersects(&view) || linked.contains(&zone.owner) {
            push_owner(out, &zone.owner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OVERWORLD;

    fn halves() -> ZoneMap {
        ZoneMap::new([
            Zone::new("west", "west", ChunkRect::ALL.with_max_x(0)),
            Zone::new("east", "east", ChunkRect::ALL.with_min_x(0)),
        ])
        .unwrap()
    }

    fn swap(map: &ZoneMap, primary: &str, x: f64, z: f64, margin: f64) -> Option<String> {
        swap_target(map, &ServerId::from(primary), OVERWORLD, x, z, margin)
            .map(|z| z.id.to_string())
    }

    #[test]
    fn depth_of_half_planes_and_boxes() {
        let east = ChunkRect::ALL.with_min_x(0);
        assert_eq!(depth_inside(&east, 0.0, 0.0), 0.0);
        assert_eq!(depth_inside(&east, 2.5, 1e6), 2.5);
        assert_eq!(depth_inside(&east, -1.0, 0.0), -1.0);
        let west = ChunkRect::ALL.with_max_x(0);
        assert_eq!(depth_inside(&west, -2.0, 0.0), 2.0);
        let b = ChunkRect::bounded(ChunkPos::new(-2, -2), ChunkPos::new(2, 2));
        assert_eq!(depth_inside(&b, 0.0, 0.0), 32.0);
        assert_eq!(depth_inside(&b, -30.0, 31.0), 1.0);
        assert_eq!(depth_inside(&b, 40.0, 0.0), -8.0);
        assert_eq!(depth_inside(&ChunkRect::ALL, 5.0, 5.0), f64::INFINITY);
        assert!(depth_inside(&east, f64::NAN, 0.0).is_nan());
    }

    #[test]
    fn swap_needs_more_than_the_margin() {
        let map = halves();
        let m = DEFAULT_SWAP_MARGIN;
        assert_eq!(swap(&map, "west", -1.0, 0.0, m), None, "still in west");
        assert_eq!(swap(&map, "west", 0.0, 0.0, m), None, "on the border");
        assert_eq!(swap(&map, "west", 1.999, 0.0, m), None);
        assert_eq!(swap(&map, "west", 2.0, 0.0, m), None, "exactly the margin");
        assert_eq!(swap(&map, "west", 2.001, 0.0, m).as_deref(), Some("east"));
        assert_eq!(swap(&map, "west", 500.0, -70.0, m).as_deref(), Some("east"));
        // And back: the same margin on the other side.
        assert_eq!(swap(&map, "east", -2.0, 0.0, m), None);
        assert_eq!(swap(&map, "east", -2.001, 0.0, m).as_deref(), Some("west"));
        assert_eq!(
            swap(&map, "east", 5.0, 0.0, m),
            None,
            "already on the owner"
        );
    }

    #[test]
    fn swap_margin_edge_cases() {
        let map = halves();
        assert_eq!(
            swap(&map, "west", 0.0, 0.0, 0.0),
            None,
            "zero depth is not inside"
        );
        assert_eq!(swap(&map, "west", 0.001, 0.0, 0.0).as_deref(), Some("east"));
        assert_eq!(
            swap(&map, "west", 0.001, 0.0, f64::NAN).as_deref(),
            Some("east")
        );
        assert_eq!(
            swap(&map, "west", 0.001, 0.0, -5.0).as_deref(),
            Some("east")
        );
        assert_eq!(swap(&map, "west", 1e9, 0.0, f64::INFINITY), None);
        assert_eq!(swap(&map, "west", f64::NAN, 0.0, 2.0), None);
        assert_eq!(
            swap(&map, "west", 20.0, 0.0, 20.0),
            None,
            "margin wider than a chunk"
        );
        assert_eq!(swap(&map, "west", 20.5, 0.0, 20.0).as_deref(), Some("east"));
        // Negative side, at a non-zero border: west owns x < -32 blocks.
        let map = ZoneMap::new([
            Zone::new("w", "w", ChunkRect::ALL.with_max_x(-2)),
            Zone::new("e", "e", ChunkRect::ALL.with_min_x(-2)),
        ])
        .unwrap();
        assert_eq!(swap(&map, "e", -34.0, 0.0, 2.0), None);
        assert_eq!(swap(&map, "e", -34.01, 0.0, 2.0).as_deref(), Some("w"));
        assert_eq!(swap(&map, "w", -30.0, 0.0, 2.0), None);
        assert_eq!(swap(&map, "w", -29.99, 0.0, 2.0).as_deref(), Some("e"));
    }

    #[test]
    fn swap_ignores_borders_that_are_not_the_primary() {
        // west | east-south / east-north (both owned by D) and a third owner far away.
        let map = ZoneMap::new([
            Zone::new("w", "P", ChunkRect::ALL.with_max_x(0)),
            Zone::new("en", "D", ChunkRect::ALL.with_min_x(0).with_max_z(0)),
            Zone::new(
                "es",
                "D",
                ChunkRect::ALL.with_min_x(0).with_min_z(0).with_max_x(100),
            ),
            Zone::new("far", "E", ChunkRect::ALL.with_min_x(100).with_min_z(0)),
        ])
        .unwrap();
        // Along the inner D/D border, well away from P: swap although depth_inside(en) < 2.
        assert_eq!(swap(&map, "P", 50.0, -1.0, 2.0).as_deref(), Some("en"));
        // Near the corner where P is still within the margin: stay.
        assert_eq!(swap(&map, "P", 1.0, -1.0, 2.0), None);
        // Diagonal neighbour: P's zone touches the square only at its corner region.
        let map = ZoneMap::new([
            Zone::new("p", "P", ChunkRect::ALL.with_max_x(0).with_max_z(0)),
            Zone::new("d", "D", ChunkRect::ALL.with_min_x(0).with_min_z(0)),
        ])
        .unwrap();
        assert_eq!(swap(&map, "P", 1.0, 1.0, 2.0), None);
        assert_eq!(swap(&map, "P", 1.0, 2.5, 2.0).as_deref(), Some("d"));
        // Teleported next to a border of a third owner, nowhere near P: swap at once.
        let map = ZoneMap::new([
            Zone::new("p", "P", ChunkRect::ALL.with_max_x(-1000)),
            Zone::new("d", "D", ChunkRect::ALL.with_min_x(-1000).with_max_x(0)),
            Zone::new("e", "E", ChunkRect::ALL.with_min_x(0)),
        ])
        .unwrap();
        assert_eq!(swap(&map, "P", 0.5, 0.0, 2.0).as_deref(), Some("e"));
        // Unzoned ground never swaps.
        let map = ZoneMap::new([Zone::new("d", "D", ChunkRect::ALL.with_min_x(0))]).unwrap();
        assert_eq!(swap(&map, "P", -50.0, 0.0, 2.0), None);
        assert_eq!(swap(&map, "P", 0.5, 0.0, 2.0).as_deref(), Some("d"));
    }

    #[test]
    fn links_close_one_chunk_late() {
        let map = halves();
        let (east, west) = (ServerId::from("east"), ServerId::from("west"));
        let only_west = std::slice::from_ref(&west);
        let mut out = Vec::new();
        // Chunk -6 with view 6 sees chunk 0: east opens.
        links_wanted(
            &map,
            OVERWORLD,
            ChunkPos::new(-6, 0),
            6,
            only_west,
            &mut out,
        );
        out.sort();
        assert_eq!(out, [east.clone(), west.clone()]);
        // Chunk -7: east is out of view but within view + 1: kept if linked, not opened.
        let linked = [west.clone(), east.clone()];
        links_wanted(&map, OVERWORLD, ChunkPos::new(-7, 0), 6, &linked, &mut out);
        out.sort();
        assert_eq!(out, [east.clone(), west.clone()]);
        links_wanted(
            &map,
            OVERWORLD,
            ChunkPos::new(-7, 0),
            6,
            only_west,
            &mut out,
        );
        assert_eq!(out, only_west);
        // Chunk -8: beyond view + 1, east closes.
        links_wanted(&map, OVERWORLD, ChunkPos::new(-8, 0), 6, &linked, &mut out);
        assert_eq!(out, [west]);
    }
}
