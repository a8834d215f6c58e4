//! Entity-id rewriting on the hot path: mob movement, with 1 000 entities shown.
//!
//! - `identity`: one link, so every id maps to itself and nothing is written (the fast path).
//! - `remapped`: a second link whose ids collide with the first's; the id gets a fresh, longer
//!   VarInt, so the packet is rebuilt.
//! - `entity_data`: metadata of a type that holds no ids: only the leading id is looked at.

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use meridian::entities::{EntityMap, LinkId, rewrite_clientbound};
use meridian_wire::{ids::game::clientbound as id, varint::write_varint};

const PRIMARY: LinkId = LinkId(0);
const DUMMY: LinkId = LinkId(1);
const ENTITIES: i32 = 1_000;
/// `zombie`: no ids in its metadata.
const ZOMBIE: i32 = 150;

fn move_entity_pos(entity: i32) -> BytesMut {
    let mut packet = BytesMut::new();
    write_varint(&mut packet, id::MOVE_ENTITY_POS);
    write_varint(&mut packet, entity);
    packet.extend_from_slice(&[0, 1, 0, 2, 0, 3, 1]);
    packet
}

fn entity_data(entity: i32) -> BytesMut {
    let mut packet = BytesMut::new();
    write_varint(&mut packet, id::SET_ENTITY_DATA);
    write_varint(&mut packet, entity);
    // Health (float) and air supply (VarInt), then the terminator.
    packet.extend_from_slice(&[9, 3, 0x41, 0xa0, 0, 0, 1, 1, 0xac, 0x02, 0xff]);
    packet
}

fn shown(links: &[LinkId]) -> EntityMap {
    let mut map = EntityMap::new();
    for &link in links {
        for entity in 1..=ENTITIES {
            map.show(link, entity, ZOMBIE);
        }
    }
    map
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("move_entity_pos");
    let mut map = shown(&[PRIMARY]);
    let mut packets: Vec<BytesMut> = (1..=ENTITIES).map(move_entity_pos).collect();
    let mut i = 0;
    // Identity leaves the bytes as they are, so the same buffers serve every iteration.
    group.bench_function("identity", |b| {
        b.iter(|| {
            i = (i + 1) % packets.len();
            black_box(rewrite_clientbound(
                &mut map,
                PRIMARY,
                id::MOVE_ENTITY_POS,
                black_box(&mut packets[i]),
            ))
        })
    });
    let mut map = shown(&[PRIMARY, DUMMY]);
    group.bench_function("remapped", |b| {
        b.iter_batched_ref(
            || {
                i = (i + 1) % packets.len();
                packets[i].clone()
            },
            |packet| {
                black_box(rewrite_clientbound(
                    &mut map,
                    DUMMY,
                    id::MOVE_ENTITY_POS,
                    black_box(packet),
                ))
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let mut map = shown(&[PRIMARY]);
    let mut packets: Vec<BytesMut> = (1..=ENTITIES).map(entity_data).collect();
    c.bench_function("set_entity_data/identity", |b| {
        b.iter(|| {
            i = (i + 1) % packets.len();
            black_box(rewrite_clientbound(
                &mut map,
                PRIMARY,
                id::SET_ENTITY_DATA,
                black_box(&mut packets[i]),
            ))
        })
    });

    let mut map = shown(&[PRIMARY, DUMMY]);
    c.bench_function("map/lookup", |b| {
        b.iter(|| {
            i = (i + 1) % ENTITIES as usize;
            black_box(map.map(DUMMY, black_box(i as i32 + 1)))
        })
    });
    c.bench_function("map/show_and_release", |b| {
        b.iter(|| {
            let client = map.show(DUMMY, black_box(5_000), ZOMBIE);
            black_box(map.release(DUMMY, 5_000) == Some(client))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
