//! Reading a compressed frame: what the proxy pays per forwarded chunk frame.
//!
//! - `decode`: `FrameCodec::decode` of a 10 KB terrain-like packet compressed at the default
//!   level (dynamic Huffman blocks, ~5 KB on the wire): frame length, the packet's head (64
//!   bytes) through the table-free decoder, and the copy out of the read buffer. Its bytes take
//!   only a few values, so the block's literal code is small.
//! - `decode_packed`: the same for bit-packed palette indices, as `meridian-bench`'s source
//!   sends and as real chunk data looks: nearly every byte value occurs, and the literal code
//!   the header lists is as large as it gets.
//! - `zlib_head`: zlib inflating the same 64 bytes, the way the codec used to.

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use flate2::{Decompress, FlushDecompress};
use meridian_wire::{frame::FrameCodec, varint::read_varint};
use tokio_util::codec::{Decoder, Encoder};

/// Paletted-section-like bytes: mostly a few block states, as chunk data is.
fn terrain(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 5) as u8 * 17
        })
        .collect()
}

/// Bit-packed palette indices, as `meridian-bench`'s source sends: two 4-bit indices per byte
/// over a skewed palette, so that most of the 256 byte values occur (a literal code of nearly
/// every symbol, the costliest header to read).
fn packed(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    let nibble = |v: u64| -> u8 {
        match v & 0x1f {
            0..=17 => 0,
            18..=23 => 1,
            24..=27 => 2,
            28..=29 => 3,
            _ => (v >> 5) as u8 & 0x0f,
        }
    };
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (nibble(x) << 4) | nibble(x >> 12)
        })
        .collect()
}

fn frames(body: fn(u64, usize) -> Vec<u8>) -> Vec<BytesMut> {
    let mut codec = FrameCodec::new();
    codec.set_compression(Some(256));
    (0..16u64)
        .map(|i| {
            // `level_chunk_with_light`'s id, then chunk x and z, then the sections.
            let mut packet = vec![0x2d, 0, 0, 0, i as u8, 0, 0, 0, 1];
            packet.extend_from_slice(&body(i + 1, 10_240));
            let mut wire = BytesMut::new();
            Encoder::<&[u8]>::encode(&mut codec, &packet[..], &mut wire).expect("encode");
            wire
        })
        .collect()
}

/// Where the zlib stream starts: after the frame length and the uncompressed length.
fn zlib_at(frame: &[u8]) -> usize {
    let (_, frame_len) = read_varint(frame).expect("frame length");
    let (_, data_len) = read_varint(&frame[frame_len..]).expect("data length");
    frame_len + data_len
}

fn head(c: &mut Criterion) {
    let frames = frames(terrain);
    let mut codec = FrameCodec::new();
    codec.set_compression(Some(256));
    let mut next = 0;
    for (name, cases) in [
        ("decode_packed", &self::frames(packed)),
        ("decode", &frames),
    ] {
        c.bench_function(name, |b| {
            b.iter_batched(
                || {
                    next = (next + 1) % cases.len();
                    cases[next].clone()
                },
                |mut wire| black_box(codec.decode(&mut wire).expect("decodes")),
                BatchSize::SmallInput,
            )
        });
    }
    let mut inflater = Decompress::new(true);
    c.bench_function("zlib_head", |b| {
        b.iter(|| {
            next = (next + 1) % frames.len();
            let stream = &frames[next][zlib_at(&frames[next])..];
            let mut out = [0u8; 64];
            inflater.reset(true);
            inflater
                .decompress(stream, &mut out, FlushDecompress::Sync)
                .expect("inflates");
            black_box(out)
        })
    });
}

criterion_group!(benches, head);
criterion_main!(benches);
