//! Reading packet fields by hand and patching entity ids in place.
//!
//! Rewriting works on the packet bytes: a [`Reader`] walks the fields up to the ids, each id becomes
//! an [`Edit`], and [`apply`] writes them. Nothing else in the packet is decoded or re-encoded, so
//! the bytes the backend sent reach the client unchanged apart from the ids.

use bytes::BytesMut;
use meridian_wire::varint::{MAX_VARINT_LEN, VarIntError, read_varint, varint_len, write_varint};

/// Why a packet could not be rewritten. The packet is left as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    #[error("packet ends inside a field")]
    Truncated,
    #[error("VarInt is longer than five bytes")]
    VarIntTooLong,
    #[error("the packet id in the bytes is {found:#x}, not {expected:#x}")]
    PacketIdMismatch { expected: i32, found: i32 },
    #[error("malformed packet: {0}")]
    Malformed(&'static str),
    #[error("packet could not be decoded: {0}")]
    Undecodable(String),
}

impl From<VarIntError> for RewriteError {
    fn from(e: VarIntError) -> Self {
        match e {
            VarIntError::Incomplete => RewriteError::Truncated,
            VarIntError::TooLong => RewriteError::VarIntTooLong,
        }
    }
}

/// Deepest NBT nesting accepted, as in vanilla's `NbtAccounter`.
const MAX_NBT_DEPTH: usize = 512;

/// A cursor over packet bytes that only ever fails with an error.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// A VarInt read from the packet: its value and where it sits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VarIntAt {
    pub value: i32,
    pub start: usize,
    pub len: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], pos: usize) -> Self {
        Self { buf, pos }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub fn skip(&mut self, n: usize) -> Result<(), RewriteError> {
        if self.remaining() < n {
            return Err(RewriteError::Truncated);
        }
        self.pos += n;
        Ok(())
    }

    pub fn u8(&mut self) -> Result<u8, RewriteError> {
        let b = *self.buf.get(self.pos).ok_or(RewriteError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    pub fn bool(&mut self) -> Result<bool, RewriteError> {
        Ok(self.u8()? != 0)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RewriteError> {
        let bytes = self
            .buf
            .get(self.pos..self.pos + N)
            .ok_or(RewriteError::Truncated)?;
        self.pos += N;
        bytes.try_into().map_err(|_| RewriteError::Truncated)
    }

    pub fn u16(&mut self) -> Result<u16, RewriteError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// A big-endian `int`, with its offset.
    pub fn i32(&mut self) -> Result<(i32, usize), RewriteError> {
        let start = self.pos;
        Ok((i32::from_be_bytes(self.array()?), start))
    }

    pub fn varint(&mut self) -> Result<VarIntAt, RewriteError> {
        let start = self.pos;
        let (value, len) = read_varint(self.buf.get(start..).unwrap_or_default())?;
        self.pos += len;
        Ok(VarIntAt { value, start, len })
    }

    /// A VarInt that counts or sizes something: must not be negative.
    pub fn length(&mut self) -> Result<usize, RewriteError> {
        usize::try_from(self.varint()?.value)
            .map_err(|_| RewriteError::Malformed("negative length"))
    }

    pub fn varlong(&mut self) -> Result<(), RewriteError> {
        for _ in 0..10 {
            if self.u8()? & 0x80 == 0 {
                return Ok(());
            }
        }
        Err(RewriteError::Malformed("VarLong is longer than ten bytes"))
    }

    /// A VarInt-prefixed UTF-8 string (left unchecked: it is passed on as it came).
    pub fn string(&mut self) -> Result<(), RewriteError> {
        let len = self.length()?;
        self.skip(len)
    }

    /// Vanilla's low-precision `Vec3` (`LpVec3`): one zero byte, or six bytes and, when the scale
    /// does not fit in two bits, a VarInt more.
    pub fn lp_vec3(&mut self) -> Result<(), RewriteError> {
        let lowest = self.u8()?;
        if lowest == 0 {
            return Ok(());
        }
        self.skip(5)?;
        if lowest & 4 != 0 {
            self.varint()?;
        }
        Ok(())
    }

    /// A network NBT tag: a type byte, then (unless it is `End`) an unnamed payload.
    pub fn nbt(&mut self) -> Result<(), RewriteError> {
        let tag = self.u8()?;
        if tag != 0 {
            self.nbt_payload(tag, 0)?;
        }
        Ok(())
    }

    fn nbt_payload(&mut self, tag: u8, depth: usize) -> Result<(), RewriteError> {
        if depth > MAX_NBT_DEPTH {
            return Err(RewriteError::Malformed("NBT nested too deep"));
        }
        let array = |r: &mut Self, width: usize| -> Result<(), RewriteError> {
            let (len, _) = r.i32()?;
            let len = usize::try_from(len)
                .map_err(|_| RewriteError::Malformed("negative NBT array length"))?;
            r.skip(len.checked_mul(width).ok_or(RewriteError::Truncated)?)
        };
        match tag {
            1 => self.skip(1),
            2 => self.skip(2),
            3 | 5 => self.skip(4),
            4 | 6 => self.skip(8),
            7 => array(self, 1),
            8 => {
                let len = self.u16()?;
                self.skip(usize::from(len))
            }
            9 => {
                let element = self.u8()?;
                let (len, _) = self.i32()?;
                let len = usize::try_from(len)
                    .map_err(|_| RewriteError::Malformed("negative NBT list length"))?;
                if element == 0 {
                    // A list of `End`: only an empty one is valid, and it holds no bytes.
                    return if len == 0 {
                        Ok(())
                    } else {
                        Err(RewriteError::Malformed("NBT list of End tags"))
                    };
                }
                // Every element takes at least a byte, so a length beyond the buffer is a lie.
                if len > self.remaining() {
                    return Err(RewriteError::Truncated);
                }
                for _ in 0..len {
                    self.nbt_payload(element, depth + 1)?;
                }
                Ok(())
            }
            10 => loop {
                let field = self.u8()?;
                if field == 0 {
                    return Ok(());
                }
                let name_len = self.u16()?;
                self.skip(usize::from(name_len))?;
                self.nbt_payload(field, depth + 1)?;
            },
            11 => array(self, 4),
            12 => array(self, 8),
            _ => Err(RewriteError::Malformed("unknown NBT tag type")),
        }
    }
}

/// How an id field is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Width {
    VarInt,
    /// A big-endian four-byte `int`.
    Int,
}

/// One id to overwrite: `len` bytes at `start` become `value`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Edit {
    pub start: usize,
    pub len: usize,
    pub value: i32,
    pub width: Width,
}

impl Edit {
    /// An edit of a VarInt field, or `None` if the value does not change.
    pub fn varint(at: VarIntAt, value: i32) -> Option<Self> {
        (at.value != value).then_some(Self {
            start: at.start,
            len: at.len,
            value,
            width: Width::VarInt,
        })
    }

    /// An edit of an `int` field at `start`, or `None` if the value does not change.
    pub fn int(start: usize, old: i32, value: i32) -> Option<Self> {
        (old != value).then_some(Self {
            start,
            len: 4,
            value,
            width: Width::Int,
        })
    }

    fn new_len(&self) -> usize {
        match self.width {
            Width::VarInt => varint_len(self.value),
            Width::Int => 4,
        }
    }

    fn write(&self, out: &mut [u8]) {
        match self.width {
            Width::VarInt => {
                let mut bytes = [0u8; MAX_VARINT_LEN];
                let mut cursor = &mut bytes[..];
                write_varint(&mut cursor, self.value);
                let len = self.new_len();
                out[..len].copy_from_slice(&bytes[..len]);
            }
            Width::Int => out[..4].copy_from_slice(&self.value.to_be_bytes()),
        }
    }
}

/// Applies `edits` (in increasing, non-overlapping order of `start`, within the packet). Returns
/// whether anything changed.
pub(crate) fn apply(packet: &mut BytesMut, edits: &[Edit]) -> bool {
    if edits.is_empty() {
        return false;
    }
    if edits.iter().all(|e| e.new_len() == e.len) {
        for edit in edits {
            edit.write(&mut packet[edit.start..edit.start + edit.len]);
        }
        return true;
    }
    // A VarInt changed length: rebuild once rather than shifting the tail per edit.
    let grown: usize = edits.iter().map(Edit::new_len).sum();
    let shrunk: usize = edits.iter().map(|e| e.len).sum();
    let mut out = BytesMut::with_capacity(packet.len() + grown - shrunk.min(grown));
    let mut copied = 0;
    for edit in edits {
        out.extend_from_slice(&packet[copied..edit.start]);
        let at = out.len();
        out.resize(at + edit.new_len(), 0);
        edit.write(&mut out[at..]);
        copied = edit.start + edit.len;
    }
    out.extend_from_slice(&packet[copied..]);
    *packet = out;
    true
}

/// Applies a single edit, the common case, without a vector.
pub(crate) fn apply_one(packet: &mut BytesMut, edit: Option<Edit>) -> bool {
    match edit {
        Some(edit) => apply(packet, std::slice::from_ref(&edit)),
        None => false,
    }
}
