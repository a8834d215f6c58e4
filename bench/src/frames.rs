//! Frames as bytes: pre-encoded traffic for the synthetic source, and a scanner that counts
//! frames on the client side without decoding or inflating them.
//!
//! The load generator shares one CPU with the backends, so it must be much cheaper per packet
//! than the proxy under test: chunk frames are compressed once at start-up and then written as
//! bytes, and clients only look at the id of frames that are not compressed.

use bytes::{BufMut, Bytes, BytesMut};
use meridian_wire::{
    FrameCodec,
    ids::game::clientbound,
    varint::{VarIntError, read_varint, write_varint},
};
use tokio_util::codec::Encoder;

/// How large a synthetic chunk packet is, uncompressed (a vanilla overworld column with light
/// is typically 8–16 KiB).
pub const CHUNK_PACKET_BYTES: usize = 10 * 1024;
/// Chunk columns sent per batch: one new row of a view distance of 6 (2 × 6 + 1).
pub const CHUNKS_PER_BATCH: usize = 13;
/// Distinct pre-encoded chunk frames (distinct coordinates and contents).
const CHUNK_VARIANTS: usize = 64;

/// Frames one packet (id then fields) for a connection with `threshold`.
pub fn frame(packet: &[u8], threshold: Option<u32>) -> Bytes {
    let mut codec = FrameCodec::new();
    codec.set_compression(threshold);
    let mut out = BytesMut::new();
    codec
        .encode(packet, &mut out)
        .expect("bench packets are well-formed");
    out.freeze()
}

/// Frames a packet known to be below the compression threshold, without a codec (hot path).
pub fn put_small_frame(out: &mut BytesMut, packet: &[u8], compressed: bool) {
    let extra = usize::from(compressed);
    write_varint(out, (packet.len() + extra) as i32);
    if compressed {
        out.put_u8(0);
    }
    out.put_slice(packet);
}

/// A deterministic xorshift generator: synthetic payloads must be identical in every run.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// A synthetic `level_chunk_with_light`: the real id and coordinates (what a proxy may read
/// from the head), then a body shaped like paletted section data: 4-bit indices over a small,
/// skewed palette, which zlib compresses about 2:1 (10 KiB to 5.4 KiB).
pub fn chunk_packet(x: i32, z: i32, seed: u64) -> Vec<u8> {
    let mut packet = Vec::with_capacity(CHUNK_PACKET_BYTES);
    write_varint(&mut packet, clientbound::LEVEL_CHUNK_WITH_LIGHT);
    packet.put_i32(x);
    packet.put_i32(z);
    let mut rng = XorShift::new(seed);
    while packet.len() < CHUNK_PACKET_BYTES {
        let r = rng.next_u64();
        for i in 0..8 {
            // Mostly stone (0), then a few ores and air: two nibbles per byte.
            let nibble = |v: u64| -> u8 {
                match v & 0x1f {
                    0..=17 => 0,
                    18..=23 => 1,
                    24..=27 => 2,
                    28..=29 => 3,
                    _ => (v >> 5) as u8 & 0x0f,
                }
            };
            let byte = (nibble(r >> (i * 8)) << 4) | nibble(r >> (i * 8 + 4));
            packet.push(byte);
        }
    }
    packet.truncate(CHUNK_PACKET_BYTES);
    packet
}

/// Everything the synthetic source sends, pre-encoded for one compression setting.
#[derive(Debug, Clone)]
pub struct SourceFrames {
    pub threshold: Option<u32>,
    pub chunks: Vec<Bytes>,
    /// `chunk_batch_start`, the chunks of one batch are taken from `chunks`.
    pub batch_start: Bytes,
    /// `chunk_batch_finished` with a batch size of [`CHUNKS_PER_BATCH`].
    pub batch_finished: Bytes,
    /// A small per-tick packet: `move_entity_pos` of another entity.
    pub small: Bytes,
    /// Many chunk frames back to back, written as one buffer while flooding.
    pub flood_block: Bytes,
}

impl SourceFrames {
    pub fn new(threshold: Option<u32>) -> Self {
        let chunks: Vec<Bytes> = (0..CHUNK_VARIANTS)
            .map(|i| {
                let (x, z) = ((i % 8) as i32 - 4, (i / 8) as i32 - 4);
                frame(&chunk_packet(x, z, i as u64 + 1), threshold)
            })
            .collect();
        let mut start = Vec::new();
        write_varint(&mut start, clientbound::CHUNK_BATCH_START);
        let mut finished = Vec::new();
        write_varint(&mut finished, clientbound::CHUNK_BATCH_FINISHED);
        write_varint(&mut finished, CHUNKS_PER_BATCH as i32);
        // move_entity_pos: entity id 7, deltas (3 × i16), on_ground.
        let mut small = Vec::new();
        write_varint(&mut small, clientbound::MOVE_ENTITY_POS);
        write_varint(&mut small, 7);
        small.put_i16(12);
        small.put_i16(0);
        small.put_i16(-5);
        small.put_u8(1);
        let mut flood = BytesMut::new();
        for chunk in chunks.iter().take(16) {
            flood.put_slice(chunk);
        }
        Self {
            threshold,
            batch_start: frame(&start, threshold),
            batch_finished: frame(&finished, threshold),
            small: frame(&small, threshold),
            flood_block: flood.freeze(),
            chunks,
        }
    }

    /// Bytes on the wire per chunk frame, on average.
    pub fn chunk_wire_bytes(&self) -> f64 {
        self.chunks.iter().map(Bytes::len).sum::<usize>() as f64 / self.chunks.len() as f64
    }
}

/// One frame found by [`scan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scanned<'a> {
    /// Bytes on the wire, length prefix included.
    pub wire_len: usize,
    /// The packet (id then fields) when it is not compressed; `None` for a compressed frame.
    pub packet: Option<&'a [u8]>,
}

/// Why the stream is not a valid sequence of frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanError(pub String);

/// Calls `each` for every complete frame at the start of `buf` and returns how many bytes they
/// took; an incomplete frame at the end is left for the next read.
pub fn scan<'a>(
    buf: &'a [u8],
    compressed: bool,
    mut each: impl FnMut(Scanned<'a>),
) -> Result<usize, ScanError> {
    let mut at = 0;
    loop {
        let rest = &buf[at..];
        let (len, prefix) = match read_varint(rest) {
            Ok(v) => v,
            Err(VarIntError::Incomplete) => return Ok(at),
            Err(e) => return Err(ScanError(format!("bad frame length: {e:?}"))),
        };
        if len <= 0 {
            return Err(ScanError(format!("frame length {len}")));
        }
        let len = len as usize;
        if rest.len() < prefix + len {
            return Ok(at);
        }
        let body = &rest[prefix..prefix + len];
        let packet = if compressed {
            match read_varint(body) {
                Ok((0, n)) => Some(&body[n..]),
                Ok(_) => None,
                Err(e) => return Err(ScanError(format!("bad data length: {e:?}"))),
            }
        } else {
            Some(body)
        };
        each(Scanned {
            wire_len: prefix + len,
            packet,
        });
        at += prefix + len;
    }
}

/// The time field of a `pong_response` (or `ping_request`): a big-endian u64 after the id.
pub fn ping_time(packet: &[u8], id: i32) -> Option<u64> {
    let (packet_id, n) = read_varint(packet).ok()?;
    if packet_id != id {
        return None;
    }
    let bytes: [u8; 8] = packet.get(n..n + 8)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use meridian_wire::{frame::RawFrame, ids::game::serverbound};
    use tokio_util::codec::Decoder;

    #[test]
    fn scan_counts_frames_and_reads_small_ones_in_both_modes() {
        for threshold in [None, Some(256)] {
            let frames = SourceFrames::new(threshold);
            let mut pong = vec![clientbound::PONG_RESPONSE as u8];
            pong.extend_from_slice(&42u64.to_be_bytes());
            let mut wire = BytesMut::new();
            wire.put_slice(&frames.chunks[0]);
            put_small_frame(&mut wire, &pong, threshold.is_some());
            wire.put_slice(&frames.small);
            let full = wire.len();
            wire.put_slice(&frames.chunks[1][..100]);

            let mut seen = Vec::new();
            let used = scan(&wire, threshold.is_some(), |f| seen.push(f)).unwrap();
            assert_eq!(used, full, "the partial frame stays in the buffer");
            assert_eq!(seen.len(), 3);
            assert_eq!(seen[0].wire_len, frames.chunks[0].len());
            assert_eq!(seen[0].packet.is_none(), threshold.is_some());
            assert_eq!(
                ping_time(seen[1].packet.unwrap(), clientbound::PONG_RESPONSE),
                Some(42)
            );
            assert_eq!(
                ping_time(seen[1].packet.unwrap(), serverbound::PING_REQUEST + 1),
                None
            );
        }
    }

    #[test]
    fn pre_encoded_frames_decode_with_the_proxy_codec() {
        let frames = SourceFrames::new(Some(256));
        let mut codec = FrameCodec::new();
        codec.set_compression(Some(256));
        let mut wire = BytesMut::from(&frames.chunks[3][..]);
        let frame: RawFrame = codec.decode(&mut wire).unwrap().unwrap();
        assert!(frame.is_compressed());
        assert_eq!(frame.id(), clientbound::LEVEL_CHUNK_WITH_LIGHT);
        assert_eq!(frame.packet_len(), CHUNK_PACKET_BYTES);
        let ratio = CHUNK_PACKET_BYTES as f64 / frames.chunk_wire_bytes();
        assert!(
            (1.5..5.0).contains(&ratio),
            "chunks should compress like terrain, got {ratio:.2}:1"
        );
        assert_eq!(
            frame.into_packet().unwrap()[..],
            chunk_packet(-1, -4, 4)[..]
        );
    }
}
