//! Minecraft's wire primitives, with a bound on every length.
//!
//! [`Reader`] and [`Writer`] are the only places that touch bytes. Every read names the field it is reading
//! (`context`) so an error says where a payload went wrong, and every length prefix is checked against both
//! the field's maximum and the bytes actually left before anything is allocated: a hostile length can make a
//! decode fail, never make it allocate.
//!
//! The [`Writer`] can also record which field each byte belongs to ([`crate::annotate`]); the spec's hex
//! examples are produced that way, so their comments cannot drift from the encoder.

use bytes::{BufMut, Bytes, BytesMut};
use thiserror::Error;
use uuid::Uuid;

/// Why a payload could not be decoded.
///
/// Every variant names the field (`context`) being read when decoding failed. A receiver that gets one
/// treats the link as broken (see the spec, "Failure rules"); none of them is ever a panic.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The payload ended inside a field.
    #[error("payload ends inside {context}")]
    Truncated {
        /// The field being read.
        context: &'static str,
    },
    /// A length, count or the payload itself is larger than its documented maximum.
    #[error("{context} is {len} long, more than the maximum of {max}")]
    Oversized {
        /// The field (or `"message"` for the whole payload).
        context: &'static str,
        /// The length that was announced or found.
        len: usize,
        /// The maximum the spec allows there.
        max: usize,
    },
    /// A length or count prefix was negative.
    #[error("{context} has negative length {len}")]
    NegativeLength {
        /// The field being read.
        context: &'static str,
        /// The announced length.
        len: i32,
    },
    /// A VarInt or VarLong ran past its 5 or 10 bytes.
    #[error("{context}: VarInt/VarLong longer than its maximum width")]
    VarIntTooLong {
        /// The field being read.
        context: &'static str,
    },
    /// An enum field held a number the agreed protocol version does not define.
    #[error("{context}: unknown value {value}")]
    UnknownEnumValue {
        /// The field being read.
        context: &'static str,
        /// The value found.
        value: i64,
    },
    /// A bool byte that is neither 0 nor 1.
    #[error("{context}: bool byte {value:#04x} is neither 0 nor 1")]
    InvalidBool {
        /// The field being read.
        context: &'static str,
        /// The byte found.
        value: u8,
    },
    /// A string that is not valid UTF-8.
    #[error("{context} is not valid UTF-8")]
    InvalidUtf8 {
        /// The field being read.
        context: &'static str,
    },
    /// A float that is NaN or infinite. Refused because a NaN health or position is a known way to break a
    /// Minecraft server (NaN health makes a player unkillable).
    #[error("{context} is not a finite number")]
    NotFinite {
        /// The field being read.
        context: &'static str,
    },
    /// Bytes left over after the last field of a known message type.
    #[error("{count} bytes left after message type {message_type:#04x}")]
    TrailingBytes {
        /// The message type that was decoded.
        message_type: i32,
        /// How many bytes were left.
        count: usize,
    },
}

/// Why a message could not be encoded: it would break a limit the receiver enforces, so sending it could
/// only get the link closed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// A string, list, byte array or the whole message is longer than the spec allows.
    #[error("{context} is {len} long, more than the maximum of {max}")]
    Oversized {
        /// The field (or `"message"` for the whole message).
        context: &'static str,
        /// The actual length.
        len: usize,
        /// The maximum the spec allows there.
        max: usize,
    },
    /// A float that is NaN or infinite; the receiver would refuse it.
    #[error("{context} is not a finite number")]
    NotFinite {
        /// The field being written.
        context: &'static str,
    },
}

/// A cursor over one payload. Reads never panic: every shortfall is a [`DecodeError`].
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The unread rest, consuming it.
    pub fn rest(&mut self) -> &'a [u8] {
        let rest = &self.buf[self.pos..];
        self.pos = self.buf.len();
        rest
    }

    fn take(&mut self, n: usize, context: &'static str) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated { context });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, context: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, context)?);
        Ok(out)
    }

    /// One unsigned byte.
    pub fn u8(&mut self, context: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(context)?[0])
    }

    /// A bool: exactly `0x00` or `0x01`.
    pub fn bool(&mut self, context: &'static str) -> Result<bool, DecodeError> {
        match self.u8(context)? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(DecodeError::InvalidBool { context, value }),
        }
    }

    /// A big-endian `i32` (Java `int`).
    pub fn i32(&mut self, context: &'static str) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array(context)?))
    }

    /// A big-endian `i64` (Java `long`).
    pub fn i64(&mut self, context: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array(context)?))
    }

    /// A big-endian IEEE 754 `f32`, which must be finite.
    pub fn f32(&mut self, context: &'static str) -> Result<f32, DecodeError> {
        let v = f32::from_be_bytes(self.array(context)?);
        if v.is_finite() {
            Ok(v)
        } else {
            Err(DecodeError::NotFinite { context })
        }
    }

    /// A big-endian IEEE 754 `f64`, which must be finite.
    pub fn f64(&mut self, context: &'static str) -> Result<f64, DecodeError> {
        let v = f64::from_be_bytes(self.array(context)?);
        if v.is_finite() {
            Ok(v)
        } else {
            Err(DecodeError::NotFinite { context })
        }
    }

    /// A VarInt: Minecraft's LEB128 of an `i32`'s two's-complement bits, at most 5 bytes.
    ///
    /// Like Minecraft, a non-minimal encoding is accepted and bits past the 32nd are dropped; both only
    /// matter to a peer that encodes oddly, and refusing them would refuse what a vanilla server accepts.
    pub fn var_int(&mut self, context: &'static str) -> Result<i32, DecodeError> {
        let mut value: u32 = 0;
        for i in 0..5 {
            let byte = self.u8(context)?;
            value |= u32::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value as i32);
            }
        }
        Err(DecodeError::VarIntTooLong { context })
    }

    /// A VarLong: as [`Reader::var_int`] for an `i64`, at most 10 bytes.
    pub fn var_long(&mut self, context: &'static str) -> Result<i64, DecodeError> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let byte = self.u8(context)?;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value as i64);
            }
        }
        Err(DecodeError::VarIntTooLong { context })
    }

    /// A VarInt length or count, checked against `max` and against the bytes left (each item takes at
    /// least `min_item_len` bytes), so a caller may allocate `len` items safely.
    pub fn length(
        &mut self,
        context: &'static str,
        max: usize,
        min_item_len: usize,
    ) -> Result<usize, DecodeError> {
        let raw = self.var_int(context)?;
        let len =
            usize::try_from(raw).map_err(|_| DecodeError::NegativeLength { context, len: raw })?;
        if len > max {
            return Err(DecodeError::Oversized { context, len, max });
        }
        if len.saturating_mul(min_item_len) > self.remaining() {
            return Err(DecodeError::Truncated { context });
        }
        Ok(len)
    }

    /// A String: VarInt byte length (at most `max_bytes`), then UTF-8.
    pub fn string(
        &mut self,
        context: &'static str,
        max_bytes: usize,
    ) -> Result<String, DecodeError> {
        let len = self.length(context, max_bytes, 1)?;
        let bytes = self.take(len, context)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| DecodeError::InvalidUtf8 { context })
    }

    /// A byte array: VarInt length (at most `max`), then the bytes.
    pub fn byte_array(&mut self, context: &'static str, max: usize) -> Result<Bytes, DecodeError> {
        let len = self.length(context, max, 1)?;
        Ok(Bytes::copy_from_slice(self.take(len, context)?))
    }

    /// A UUID: two big-endian `i64`, most significant first — which is simply its 16 bytes in order.
    pub fn uuid(&mut self, context: &'static str) -> Result<Uuid, DecodeError> {
        Ok(Uuid::from_bytes(self.array(context)?))
    }

    /// An optional value: a bool, then the value if it is `true`.
    pub fn option<T>(
        &mut self,
        context: &'static str,
        read: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        if self.bool(context)? {
            read(self).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A list: VarInt count (at most `max`), then the items. `min_item_len` is the smallest encoding of one
    /// item and bounds the count by the bytes left before anything is allocated.
    pub fn list<T>(
        &mut self,
        context: &'static str,
        max: usize,
        min_item_len: usize,
        mut read: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let count = self.length(context, max, min_item_len.max(1))?;
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(read(self)?);
        }
        Ok(items)
    }
}

/// Appends fields to a buffer, refusing what a receiver would refuse, and optionally noting which field
/// each byte belongs to.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut BytesMut,
    trace: Option<&'a mut Vec<Mark>>,
}

/// How a run of bytes in a traced encoding is encoded, so a dump can show its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// VarInt.
    VarInt,
    /// VarLong.
    VarLong,
    /// Bool byte.
    Bool,
    /// Unsigned byte.
    Byte,
    /// Big-endian `i32`.
    Int,
    /// Big-endian `i64`.
    Long,
    /// Big-endian `f32`.
    Float,
    /// Big-endian `f64`.
    Double,
    /// VarInt length + UTF-8.
    String,
    /// VarInt length + bytes.
    ByteArray,
    /// Two big-endian `i64`.
    Uuid,
    /// The bool in front of an optional field.
    Presence,
    /// The VarInt count in front of a list.
    Count,
    /// Bytes with no prefix (an unknown message's body).
    Raw,
}

/// Where a field starts in a traced encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// Byte offset of the field's first byte.
    pub offset: usize,
    /// The field's name.
    pub field: &'static str,
    /// How it is encoded.
    pub encoding: Encoding,
}

impl<'a> Writer<'a> {
    /// Appends to `buf`.
    pub fn new(buf: &'a mut BytesMut) -> Self {
        Self { buf, trace: None }
    }

    /// Appends to `buf` and pushes a [`Mark`] onto `trace` before each field.
    pub fn traced(buf: &'a mut BytesMut, trace: &'a mut Vec<Mark>) -> Self {
        Self {
            buf,
            trace: Some(trace),
        }
    }

    fn mark(&mut self, field: &'static str, encoding: Encoding) {
        if let Some(trace) = self.trace.as_deref_mut() {
            trace.push(Mark {
                offset: self.buf.len(),
                field,
                encoding,
            });
        }
    }

    /// One unsigned byte.
    pub fn u8(&mut self, context: &'static str, v: u8) {
        self.mark(context, Encoding::Byte);
        self.buf.put_u8(v);
    }

    /// A bool as `0x00`/`0x01`.
    pub fn bool(&mut self, context: &'static str, v: bool) {
        self.mark(context, Encoding::Bool);
        self.buf.put_u8(u8::from(v));
    }

    /// A big-endian `i32`.
    pub fn i32(&mut self, context: &'static str, v: i32) {
        self.mark(context, Encoding::Int);
        self.buf.put_i32(v);
    }

    /// A big-endian `i64`.
    pub fn i64(&mut self, context: &'static str, v: i64) {
        self.mark(context, Encoding::Long);
        self.buf.put_i64(v);
    }

    /// A big-endian `f32`; NaN and infinities are refused.
    pub fn f32(&mut self, context: &'static str, v: f32) -> Result<(), EncodeError> {
        if !v.is_finite() {
            return Err(EncodeError::NotFinite { context });
        }
        self.mark(context, Encoding::Float);
        self.buf.put_f32(v);
        Ok(())
    }

    /// A big-endian `f64`; NaN and infinities are refused.
    pub fn f64(&mut self, context: &'static str, v: f64) -> Result<(), EncodeError> {
        if !v.is_finite() {
            return Err(EncodeError::NotFinite { context });
        }
        self.mark(context, Encoding::Double);
        self.buf.put_f64(v);
        Ok(())
    }

    /// A VarInt.
    pub fn var_int(&mut self, context: &'static str, v: i32) {
        self.mark(context, Encoding::VarInt);
        put_var_int(self.buf, v);
    }

    fn count(&mut self, context: &'static str, len: usize, max: usize) -> Result<(), EncodeError> {
        self.len_prefix(context, len, max, Encoding::Count)
    }

    /// A VarLong.
    pub fn var_long(&mut self, context: &'static str, v: i64) {
        self.mark(context, Encoding::VarLong);
        let mut v = v as u64;
        loop {
            if v & !0x7f == 0 {
                self.buf.put_u8(v as u8);
                return;
            }
            self.buf.put_u8((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
    }

    fn len_prefix(
        &mut self,
        context: &'static str,
        len: usize,
        max: usize,
        encoding: Encoding,
    ) -> Result<(), EncodeError> {
        if len > max {
            return Err(EncodeError::Oversized { context, len, max });
        }
        self.mark(context, encoding);
        // `max` is always far below i32::MAX, so the cast cannot wrap.
        put_var_int(self.buf, len as i32);
        Ok(())
    }

    /// A String of at most `max_bytes` UTF-8 bytes.
    pub fn string(
        &mut self,
        context: &'static str,
        v: &str,
        max_bytes: usize,
    ) -> Result<(), EncodeError> {
        self.len_prefix(context, v.len(), max_bytes, Encoding::String)?;
        self.buf.put_slice(v.as_bytes());
        Ok(())
    }

    /// A byte array of at most `max` bytes.
    pub fn byte_array(
        &mut self,
        context: &'static str,
        v: &[u8],
        max: usize,
    ) -> Result<(), EncodeError> {
        self.len_prefix(context, v.len(), max, Encoding::ByteArray)?;
        self.buf.put_slice(v);
        Ok(())
    }

    /// A UUID as two big-endian `i64`, most significant first.
    pub fn uuid(&mut self, context: &'static str, v: &Uuid) {
        self.mark(context, Encoding::Uuid);
        self.buf.put_slice(v.as_bytes());
    }

    /// An optional value: a bool, then the value if present.
    pub fn option<T>(
        &mut self,
        context: &'static str,
        v: Option<&T>,
        write: impl FnOnce(&mut Self, &T) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        self.mark(context, Encoding::Presence);
        self.buf.put_u8(u8::from(v.is_some()));
        match v {
            Some(v) => write(self, v),
            None => Ok(()),
        }
    }

    /// A list of at most `max` items: VarInt count, then the items.
    pub fn list<T>(
        &mut self,
        context: &'static str,
        items: &[T],
        max: usize,
        mut write: impl FnMut(&mut Self, &T) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        self.count(context, items.len(), max)?;
        items.iter().try_for_each(|item| write(self, item))
    }

    /// Raw bytes with no prefix (an unknown message's body, passed through as it came).
    pub fn raw(&mut self, context: &'static str, v: &[u8]) {
        self.mark(context, Encoding::Raw);
        self.buf.put_slice(v);
    }
}

fn put_var_int(buf: &mut BytesMut, v: i32) {
    let mut v = v as u32;
    loop {
        if v & !0x7f == 0 {
            buf.put_u8(v as u8);
            return;
        }
        buf.put_u8((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var_int_bytes(v: i32) -> Vec<u8> {
        let mut buf = BytesMut::new();
        Writer::new(&mut buf).var_int("v", v);
        buf.to_vec()
    }

    fn var_long_bytes(v: i64) -> Vec<u8> {
        let mut buf = BytesMut::new();
        Writer::new(&mut buf).var_long("v", v);
        buf.to_vec()
    }

    // The values and encodings listed for VarInt/VarLong in the protocol documentation Minecraft tools
    // share, so a Java peer's `writeVarInt` and ours agree byte for byte.
    #[test]
    fn var_int_matches_minecraft() {
        let cases: &[(i32, &[u8])] = &[
            (0, &[0x00]),
            (1, &[0x01]),
            (2, &[0x02]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (255, &[0xff, 0x01]),
            (300, &[0xac, 0x02]),
            (25565, &[0xdd, 0xc7, 0x01]),
            (2097151, &[0xff, 0xff, 0x7f]),
            (i32::MAX, &[0xff, 0xff, 0xff, 0xff, 0x07]),
            (-1, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
            (i32::MIN, &[0x80, 0x80, 0x80, 0x80, 0x08]),
        ];
        for &(v, bytes) in cases {
            assert_eq!(var_int_bytes(v), bytes, "encoding {v}");
            assert_eq!(Reader::new(bytes).var_int("v"), Ok(v), "decoding {v}");
        }
    }

    #[test]
    fn var_long_matches_minecraft() {
        let cases: &[(i64, &[u8])] = &[
            (0, &[0x00]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (2147483647, &[0xff, 0xff, 0xff, 0xff, 0x07]),
            (
                i64::MAX,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
            ),
            (
                -1,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
            (
                i64::MIN,
                &[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
            ),
        ];
        for &(v, bytes) in cases {
            assert_eq!(var_long_bytes(v), bytes, "encoding {v}");
            assert_eq!(Reader::new(bytes).var_long("v"), Ok(v), "decoding {v}");
        }
    }

    #[test]
    fn var_int_too_long_and_truncated() {
        let too_long = [0x80, 0x80, 0x80, 0x80, 0x80, 0x01];
        assert_eq!(
            Reader::new(&too_long).var_int("v"),
            Err(DecodeError::VarIntTooLong { context: "v" })
        );
        assert_eq!(
            Reader::new(&[0x80]).var_int("v"),
            Err(DecodeError::Truncated { context: "v" })
        );
    }

    #[test]
    fn hostile_lengths_fail_before_allocating() {
        // Announces i32::MAX bytes with 2 bytes present.
        let bytes = [0xff, 0xff, 0xff, 0xff, 0x07, b'a', b'b'];
        assert!(
            matches!(Reader::new(&bytes).string("s", 16), Err(DecodeError::Oversized { len, .. }) if len == i32::MAX as usize)
        );
        // Within the maximum but past the end.
        assert_eq!(
            Reader::new(&[0x05, b'a']).string("s", 16),
            Err(DecodeError::Truncated { context: "s" })
        );
        // Negative.
        assert_eq!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x0f]).byte_array("b", 16),
            Err(DecodeError::NegativeLength {
                context: "b",
                len: -1
            })
        );
        // A count of items that cannot fit in the bytes left.
        let mut r = Reader::new(&[0x0a, 0x00]);
        assert_eq!(
            r.list("l", 100, 4, |r| r.i32("i")),
            Err(DecodeError::Truncated { context: "l" })
        );
    }

    #[test]
    fn strict_bools_utf8_and_floats() {
        assert_eq!(
            Reader::new(&[0x02]).bool("b"),
            Err(DecodeError::InvalidBool {
                context: "b",
                value: 2
            })
        );
        assert_eq!(
            Reader::new(&[0x02, 0xc3, 0x28]).string("s", 8),
            Err(DecodeError::InvalidUtf8 { context: "s" })
        );
        assert_eq!(
            Reader::new(&f32::NAN.to_be_bytes()).f32("f"),
            Err(DecodeError::NotFinite { context: "f" })
        );
        assert_eq!(
            Reader::new(&f64::INFINITY.to_be_bytes()).f64("f"),
            Err(DecodeError::NotFinite { context: "f" })
        );
        let mut buf = BytesMut::new();
        assert_eq!(
            Writer::new(&mut buf).f32("f", f32::NAN),
            Err(EncodeError::NotFinite { context: "f" })
        );
    }

    #[test]
    fn uuid_is_two_big_endian_longs() {
        let id = Uuid::from_u64_pair(0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210);
        let mut buf = BytesMut::new();
        Writer::new(&mut buf).uuid("u", &id);
        let mut expected = 0x0123_4567_89ab_cdef_i64.to_be_bytes().to_vec();
        expected.extend_from_slice(&(0xfedc_ba98_7654_3210_u64 as i64).to_be_bytes());
        assert_eq!(buf.to_vec(), expected);
        assert_eq!(Reader::new(&expected).uuid("u"), Ok(id));
    }
}
