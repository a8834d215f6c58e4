//! The frame layer: length prefix, limits and zlib compression, as a `tokio_util` codec.
//!
//! A decoded [`RawFrame`] keeps a compressed packet compressed: the proxy forwards most packets
//! untouched, and re-inflating then re-deflating every chunk it relays would dominate its CPU time.
//! Only the first [`HEAD_LEN`] bytes (the packet id and the first fields) are inflated eagerly, which
//! is enough to route a packet by id and, for chunk packets, by position.

use bytes::{Buf, BufMut, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use tokio_util::codec::{Decoder, Encoder};

use crate::varint::{VarIntError, read_varint, varint_len, write_varint};

/// Largest frame a vanilla peer accepts: the length prefix is at most three VarInt bytes.
pub const MAX_FRAME_LEN: usize = 2_097_151;
/// Largest packet a compressed frame may inflate to (vanilla's limit).
pub const MAX_UNCOMPRESSED_LEN: usize = 8_388_608;
/// How many bytes of a compressed packet are inflated eagerly by the decoder.
pub const HEAD_LEN: usize = 64;

/// Why a frame could not be read or written. Every variant ends the connection.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed frame length: {0}")]
    BadLength(VarIntError),
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    Oversized { len: usize, max: usize },
    #[error("empty frame")]
    Empty,
    #[error("malformed compressed length: {0}")]
    BadDataLength(VarIntError),
    #[error(
        "compressed packet claims {claimed} bytes, below the compression threshold {threshold}"
    )]
    BelowThreshold { claimed: usize, threshold: u32 },
    #[error("compressed packet claims {claimed} bytes, above the limit of {max}")]
    InflatedTooLarge { claimed: usize, max: usize },
    #[error("compressed packet is corrupt: {0}")]
    Corrupt(String),
    #[error("compressed packet inflates to {actual} bytes, not the {claimed} it claims")]
    LengthMismatch { claimed: usize, actual: usize },
    #[error("malformed packet id: {0}")]
    BadPacketId(VarIntError),
    #[error("connection closed")]
    Closed,
}

/// One frame off the wire, with its packet possibly still compressed.
#[derive(Debug, Clone)]
pub struct RawFrame {
    id: i32,
    head: [u8; HEAD_LEN],
    head_len: u8,
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    /// The packet as it is: id then fields.
    Plain(BytesMut),
    /// zlib data that inflates to `len` bytes of packet.
    Compressed { len: usize, deflated: BytesMut },
}

impl RawFrame {
    /// Wraps an uncompressed packet (id then fields).
    pub fn plain(packet: BytesMut) -> Result<Self, FrameError> {
        let head_len = packet.len().min(HEAD_LEN);
        let mut head = [0; HEAD_LEN];
        head[..head_len].copy_from_slice(&packet[..head_len]);
        let (id, _) = read_varint(&packet).map_err(FrameError::BadPacketId)?;
        Ok(Self {
            id,
            head,
            head_len: head_len as u8,
            body: Body::Plain(packet),
        })
    }

    /// The packet id.
    pub fn id(&self) -> i32 {
        self.id
    }

    /// The first bytes of the packet, id included, up to [`HEAD_LEN`].
    pub fn head(&self) -> &[u8] {
        &self.head[..usize::from(self.head_len)]
    }

    /// The packet's fields that follow the id, within [`HEAD_LEN`].
    pub fn head_fields(&self) -> &[u8] {
        &self.head()[varint_len(self.id)..]
    }

    /// Whether the packet is still compressed.
    pub fn is_compressed(&self) -> bool {
        matches!(self.body, Body::Compressed { .. })
    }

    /// The packet's length when uncompressed, id included.
    pub fn packet_len(&self) -> usize {
        match &self.body {
            Body::Plain(p) => p.len(),
            Body::Compressed { len, .. } => *len,
        }
    }

    /// The whole packet, inflated if need be.
    pub fn into_packet(self) -> Result<BytesMut, FrameError> {
        match self.body {
            Body::Plain(packet) => Ok(packet),
            Body::Compressed { len, deflated } => {
                inflate(&mut Decompress::new(true), &deflated, len)
            }
        }
    }
}

/// Inflates `deflated` into exactly `len` bytes, or fails.
fn inflate(inflater: &mut Decompress, deflated: &[u8], len: usize) -> Result<BytesMut, FrameError> {
    inflater.reset(true);
    let mut out = BytesMut::zeroed(len);
    let status = inflater
        .decompress(deflated, &mut out, FlushDecompress::Finish)
        .map_err(|e| FrameError::Corrupt(e.to_string()))?;
    let produced = inflater.total_out() as usize;
    if status != Status::StreamEnd || produced != len {
        // Either the stream is longer than claimed (output full) or shorter (ended early).
        let actual = if status == Status::StreamEnd {
            produced
        } else {
            produced + 1
        };
        return Err(FrameError::LengthMismatch {
            claimed: len,
            actual,
        });
    }
    Ok(out)
}

/// Inflates at most [`HEAD_LEN`] bytes of the packet.
fn inflate_head(
    inflater: &mut Decompress,
    deflated: &[u8],
    len: usize,
) -> Result<([u8; HEAD_LEN], usize), FrameError> {
    inflater.reset(true);
    let mut head = [0; HEAD_LEN];
    let want = len.min(HEAD_LEN);
    inflater
        .decompress(deflated, &mut head[..want], FlushDecompress::Sync)
        .map_err(|e| FrameError::Corrupt(e.to_string()))?;
    let got = inflater.total_out() as usize;
    if got < want {
        return Err(FrameError::LengthMismatch {
            claimed: len,
            actual: got,
        });
    }
    Ok((head, want))
}

/// Frames packets with a length prefix and, once enabled, zlib compression.
///
/// One codec serves one direction pair of one connection; it owns reusable zlib state so that
/// compressing and inflating does not allocate per packet.
pub struct FrameCodec {
    threshold: Option<u32>,
    max_frame_len: usize,
    /// zlib state is large (hundreds of KiB) and most codecs never need it: a proxy passes
    /// compressed frames through, and small packets are sent uncompressed. So it is made on
    /// first use.
    inflater: Option<Box<Decompress>>,
    deflater: Option<Box<Compress>>,
    scratch: Vec<u8>,
}

impl std::fmt::Debug for FrameCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameCodec")
            .field("threshold", &self.threshold)
            .field("max_frame_len", &self.max_frame_len)
            .finish_non_exhaustive()
    }
}

impl Default for FrameCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameCodec {
    /// A codec without compression and with vanilla's frame limit.
    pub fn new() -> Self {
        Self {
            threshold: None,
            max_frame_len: MAX_FRAME_LEN,
            inflater: None,
            deflater: None,
            scratch: Vec::new(),
        }
    }

    /// Lowers the frame limit, e.g. for the handshake, where no legitimate frame is large.
    pub fn with_max_frame_len(mut self, max: usize) -> Self {
        self.max_frame_len = max.min(MAX_FRAME_LEN);
        self
    }

    /// Sets the frame limit (never above vanilla's).
    pub fn set_max_frame_len(&mut self, max: usize) {
        self.max_frame_len = max.min(MAX_FRAME_LEN);
    }

    /// Enables compression for packets of at least `threshold` bytes; `None` (or a negative
    /// threshold on the wire) disables it.
    pub fn set_compression(&mut self, threshold: Option<u32>) {
        self.threshold = threshold;
    }

    /// The compression threshold in force.
    pub fn compression(&self) -> Option<u32> {
        self.threshold
    }

    fn encode_packet(&mut self, packet: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        if packet.is_empty() {
            return Err(FrameError::Empty);
        }
        match self.threshold {
            None => {
                check_len(packet.len())?;
                dst.reserve(5 + packet.len());
                write_varint(dst, packet.len() as i32);
                dst.put_slice(packet);
            }
            Some(threshold) if packet.len() < threshold as usize => {
                check_len(packet.len() + 1)?;
                dst.reserve(6 + packet.len());
                write_varint(dst, packet.len() as i32 + 1);
                dst.put_u8(0);
                dst.put_slice(packet);
            }
            Some(_) => {
                if packet.len() > MAX_UNCOMPRESSED_LEN {
                    return Err(FrameError::InflatedTooLarge {
                        claimed: packet.len(),
                        max: MAX_UNCOMPRESSED_LEN,
                    });
                }
                self.deflate(packet)?;
                let data_len = packet.len() as i32;
                let frame_len = varint_len(data_len) + self.scratch.len();
                check_len(frame_len)?;
                dst.reserve(5 + frame_len);
                write_varint(dst, frame_len as i32);
                write_varint(dst, data_len);
                dst.put_slice(&self.scratch);
            }
        }
        Ok(())
    }

    fn deflate(&mut self, packet: &[u8]) -> Result<(), FrameError> {
        let deflater = self
            .deflater
            .get_or_insert_with(|| Box::new(Compress::new(Compression::default(), true)));
        deflater.reset();
        self.scratch.clear();
        self.scratch.reserve(packet.len() / 2 + 64);
        loop {
            let consumed = deflater.total_in() as usize;
            let status = deflater
                .compress_vec(
                    &packet[consumed..],
                    &mut self.scratch,
                    FlushCompress::Finish,
                )
                .map_err(|e| FrameError::Corrupt(e.to_string()))?;
            if status == Status::StreamEnd {
                return Ok(());
            }
            self.scratch.reserve(self.scratch.capacity().max(1024));
        }
    }
}

fn check_len(len: usize) -> Result<(), FrameError> {
    if len > MAX_FRAME_LEN {
        return Err(FrameError::Oversized {
            len,
            max: MAX_FRAME_LEN,
        });
    }
    Ok(())
}

impl Decoder for FrameCodec {
    type Item = RawFrame;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<RawFrame>, FrameError> {
        let (len, prefix) = match read_varint(src) {
            Ok(v) => v,
            Err(VarIntError::Incomplete) => return Ok(None),
            Err(e) => return Err(FrameError::BadLength(e)),
        };
        if len < 0 || len as usize > self.max_frame_len {
            return Err(FrameError::Oversized {
                len: len as u32 as usize,
                max: self.max_frame_len,
            });
        }
        let len = len as usize;
        if len == 0 {
            return Err(FrameError::Empty);
        }
        if src.len() < prefix + len {
            src.reserve(prefix + len - src.len());
            return Ok(None);
        }
        src.advance(prefix);
        let mut frame = src.split_to(len);

        let Some(threshold) = self.threshold else {
            return RawFrame::plain(frame).map(Some);
        };
        let (data_len, header) = read_varint(&frame).map_err(FrameError::BadDataLength)?;
        frame.advance(header);
        if data_len == 0 {
            if frame.is_empty() {
                return Err(FrameError::Empty);
            }
            return RawFrame::plain(frame).map(Some);
        }
        let claimed = data_len as u32 as usize;
        if data_len < 0 || claimed > MAX_UNCOMPRESSED_LEN {
            return Err(FrameError::InflatedTooLarge {
                claimed,
                max: MAX_UNCOMPRESSED_LEN,
            });
        }
        if claimed < threshold as usize {
            return Err(FrameError::BelowThreshold { claimed, threshold });
        }
        let inflater = self
            .inflater
            .get_or_insert_with(|| Box::new(Decompress::new(true)));
        let (head, head_len) = inflate_head(inflater, &frame, claimed)?;
        let (id, _) = read_varint(&head[..head_len]).map_err(FrameError::BadPacketId)?;
        Ok(Some(RawFrame {
            id,
            head,
            head_len: head_len as u8,
            body: Body::Compressed {
                len: claimed,
                deflated: frame,
            },
        }))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<RawFrame>, FrameError> {
        match self.decode(buf)? {
            Some(frame) => Ok(Some(frame)),
            None if buf.is_empty() => Ok(None),
            None => Err(FrameError::Closed),
        }
    }
}

impl Encoder<&[u8]> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, packet: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        self.encode_packet(packet, dst)
    }
}

impl Encoder<RawFrame> for FrameCodec {
    type Error = FrameError;

    /// Forwards a frame, passing compressed data through untouched when this side's threshold
    /// allows it, which saves an inflate and a deflate per large packet.
    fn encode(&mut self, frame: RawFrame, dst: &mut BytesMut) -> Result<(), FrameError> {
        match (frame.body, self.threshold) {
            (Body::Compressed { len, deflated }, Some(threshold)) if len >= threshold as usize => {
                let frame_len = varint_len(len as i32) + deflated.len();
                check_len(frame_len)?;
                dst.reserve(5 + frame_len);
                write_varint(dst, frame_len as i32);
                write_varint(dst, len as i32);
                dst.put_slice(&deflated);
                Ok(())
            }
            (Body::Compressed { len, deflated }, _) => {
                let inflater = self
                    .inflater
                    .get_or_insert_with(|| Box::new(Decompress::new(true)));
                let packet = inflate(inflater, &deflated, len)?;
                self.encode_packet(&packet, dst)
            }
            (Body::Plain(packet), _) => self.encode_packet(&packet, dst),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(codec: &mut FrameCodec, packet: &[u8]) -> BytesMut {
        let mut out = BytesMut::new();
        codec.encode(packet, &mut out).unwrap();
        out
    }

    #[test]
    fn zlib_state_is_made_only_when_needed() {
        let mut codec = FrameCodec::new();
        codec.set_compression(Some(256));
        let mut wire = encode(&mut codec, &[0x01, 2, 3]);
        codec.decode(&mut wire).unwrap().unwrap();
        assert!(
            codec.inflater.is_none() && codec.deflater.is_none(),
            "small packets need no zlib"
        );
        let mut wire = encode(&mut codec, &[7u8; 1000]);
        assert!(codec.deflater.is_some());
        codec.decode(&mut wire).unwrap().unwrap();
        assert!(codec.inflater.is_some());
    }

    #[test]
    fn plain_round_trip_and_partial_input() {
        let mut codec = FrameCodec::new();
        let wire = encode(&mut codec, &[0x05, 1, 2, 3]);
        assert_eq!(&wire[..], &[4, 0x05, 1, 2, 3]);
        let mut partial = BytesMut::from(&wire[..3]);
        assert!(codec.decode(&mut partial).unwrap().is_none());
        partial.extend_from_slice(&wire[3..]);
        let frame = codec.decode(&mut partial).unwrap().unwrap();
        assert_eq!(frame.id(), 5);
        assert_eq!(&frame.into_packet().unwrap()[..], &[0x05, 1, 2, 3]);
        assert!(partial.is_empty());
    }

    #[test]
    fn compressed_round_trip_keeps_data_compressed_and_head_readable() {
        let mut codec = FrameCodec::new();
        codec.set_compression(Some(64));
        let mut packet = vec![0x27];
        packet.extend((0..5000u32).map(|i| (i % 7) as u8));
        let mut wire = encode(&mut codec, &packet);
        assert!(
            wire.len() < packet.len() / 4,
            "compressible data must shrink"
        );
        let frame = codec.decode(&mut wire).unwrap().unwrap();
        assert!(frame.is_compressed());
        assert_eq!(frame.id(), 0x27);
        assert_eq!(frame.head(), &packet[..HEAD_LEN]);
        assert_eq!(frame.packet_len(), packet.len());

        // Passed through untouched to a side with the same threshold.
        let mut forwarded = BytesMut::new();
        codec.encode(frame.clone(), &mut forwarded).unwrap();
        let again = codec.decode(&mut forwarded).unwrap().unwrap();
        assert_eq!(&again.into_packet().unwrap()[..], &packet[..]);

        // Re-encoded for a side without compression.
        let mut plain = FrameCodec::new();
        let mut out = BytesMut::new();
        plain.encode(frame, &mut out).unwrap();
        let decoded = plain.decode(&mut out).unwrap().unwrap();
        assert!(!decoded.is_compressed());
        assert_eq!(&decoded.into_packet().unwrap()[..], &packet[..]);
    }

    #[test]
    fn small_packets_below_threshold_are_sent_uncompressed() {
        let mut codec = FrameCodec::new();
        codec.set_compression(Some(256));
        let mut wire = encode(&mut codec, &[0x01, 0xaa]);
        assert_eq!(&wire[..], &[3, 0, 0x01, 0xaa]);
        let frame = codec.decode(&mut wire).unwrap().unwrap();
        assert!(!frame.is_compressed());
    }

    #[test]
    fn oversized_length_is_refused_before_buffering() {
        let mut codec = FrameCodec::new();
        // 2_097_152: one more than a three-byte VarInt holds.
        let mut wire = BytesMut::from(&[0x80, 0x80, 0x80, 0x01][..]);
        assert!(matches!(
            codec.decode(&mut wire),
            Err(FrameError::Oversized { .. })
        ));
        let mut small = FrameCodec::new().with_max_frame_len(100);
        let mut wire = BytesMut::from(&[0xe5, 0x00][..]);
        assert!(matches!(
            small.decode(&mut wire),
            Err(FrameError::Oversized { len: 101, .. })
        ));
    }

    #[test]
    fn malformed_lengths_are_errors() {
        let mut codec = FrameCodec::new();
        let mut wire = BytesMut::from(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01][..]);
        assert!(matches!(
            codec.decode(&mut wire),
            Err(FrameError::BadLength(VarIntError::TooLong))
        ));
        let mut wire = BytesMut::from(&[0x00][..]);
        assert!(matches!(codec.decode(&mut wire), Err(FrameError::Empty)));
    }

    #[test]
    fn bogus_compressed_lengths_are_errors() {
        let mut codec = FrameCodec::new();
        codec.set_compression(Some(64));
        // Claims 10 bytes: below the threshold.
        let mut wire = BytesMut::from(&[3, 10, 0x78, 0x9c][..]);
        assert!(matches!(
            codec.decode(&mut wire),
            Err(FrameError::BelowThreshold { .. })
        ));
        // Claims 100 MB.
        let mut wire = BytesMut::from(&[5, 0x80, 0xc2, 0xd7, 0x2f, 0][..]);
        assert!(matches!(
            codec.decode(&mut wire),
            Err(FrameError::InflatedTooLarge { .. })
        ));
        // Claims 100 bytes of garbage zlib.
        let mut wire = BytesMut::from(&[4, 100, 1, 2, 3][..]);
        assert!(codec.decode(&mut wire).is_err());
    }

    #[test]
    fn lying_compressed_length_is_caught_on_inflate() {
        let mut codec = FrameCodec::new();
        codec.set_compression(Some(64));
        let packet = vec![7u8; 200];
        let wire = encode(&mut codec, &packet);
        // Rewrite the claimed length from 200 to 150 (both two-byte VarInts after a one-byte
        // frame length).
        let mut forged = wire.clone();
        assert_eq!(&forged[1..3], &[0xc8, 0x01]);
        forged[1] = 0x96;
        let frame = codec.decode(&mut forged).unwrap().unwrap();
        assert!(matches!(
            frame.into_packet(),
            Err(FrameError::LengthMismatch { .. })
        ));
    }
}
