//! Lookup cost on the movement-packet path: `zone_at` and `owners_in_view` with a
//! 100×100 grid of 8×8-chunk zones (10 000 zones) and with two half-planes.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use zoning::{ChunkPos, ChunkRect, OVERWORLD, ServerId, Zone, ZoneMap};

fn grid() -> ZoneMap {
    let zones = (0..100).flat_map(|gx| {
        (0..100).map(move |gz| {
            let min = ChunkPos::new(gx * 8 - 400, gz * 8 - 400);
            let max = ChunkPos::new(min.x + 8, min.z + 8);
            // 16 backends in a repeating 4x4 pattern, so views see several owners.
            let owner = format!("s{}", (gx % 4) * 4 + gz % 4);
            Zone::new(format!("{gx}/{gz}"), owner, ChunkRect::bounded(min, max))
        })
    });
    ZoneMap::new(zones).expect("valid grid")
}

fn halves() -> ZoneMap {
    ZoneMap::new([
        Zone::new("west", "west", ChunkRect::ALL.with_max_x(0)),
        Zone::new("east", "east", ChunkRect::ALL.with_min_x(0)),
    ])
    .expect("valid halves")
}

/// Positions spread over the grid (and a little beyond), walked in turn so branch
/// predictors and caches see a realistic mix instead of one hot point.
fn positions() -> Vec<(f64, f64)> {
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    (0..1024)
        .map(|_| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let x = ((seed >> 11) % 14_000) as f64 - 7_000.0 + 0.37;
            let z = ((seed >> 35) % 14_000) as f64 - 7_000.0 + 0.61;
            (x, z)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let points = positions();
    for (name, map) in [("10k", grid()), ("2", halves())] {
        // A player walking east at sprint speed (~0.28 blocks per tick), crossing zone borders
        // now and then: the common case, friendly to branch prediction.
        let mut x = -3_000.0;
        c.bench_function(&format!("zone_at/{name}/walk"), |b| {
            b.iter(|| {
                x = if x > 3_000.0 { -3_000.0 } else { x + 0.28 };
                black_box(map.zone_at(OVERWORLD, black_box(x), black_box(12.5)))
            })
        });
        let mut i = 0;
        c.bench_function(&format!("zone_at/{name}/random"), |b| {
            b.iter(|| {
                i = (i + 1) % points.len();
                let (x, z) = points[i];
                black_box(map.zone_at(OVERWORLD, black_box(x), black_box(z)))
            })
        });
        for view in [10u32, 32] {
            let mut i = 0;
            c.bench_function(&format!("zones_in_view/{name}/vd{view}"), |b| {
                b.iter(|| {
                    i = (i + 1) % points.len();
                    let (x, z) = points[i];
                    let chunk = ChunkPos::from_block(x, z);
                    black_box(map.zones_in_view(OVERWORLD, black_box(chunk), view).count())
                })
            });
            let mut out: Vec<ServerId> = Vec::with_capacity(16);
            c.bench_function(&format!("owners_in_view/{name}/vd{view}"), |b| {
                b.iter(|| {
                    i = (i + 1) % points.len();
                    let (x, z) = points[i];
                    let chunk = ChunkPos::from_block(x, z);
                    map.owners_in_view(OVERWORLD, black_box(chunk), view, &mut out);
                    black_box(out.len())
                })
            });
        }
        let primary = ServerId::from("s0");
        let mut i = 0;
        c.bench_function(&format!("swap_target/{name}"), |b| {
            b.iter(|| {
                i = (i + 1) % points.len();
                let (x, z) = points[i];
                black_box(zoning::swap_target(&map, &primary, OVERWORLD, x, z, 2.0))
            })
        });
    }
    c.bench_function("build/10k", |b| b.iter(|| black_box(grid())));
}

criterion_group!(benches, bench);
criterion_main!(benches);
