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
    /// The packet is all in the head. Most game packets are this small (movement, pings,
    /// keep-alives), and copying them costs less than sharing the read buffer's allocation,
    /// whose reference count every frame would take and give back.
    Inline,
    /// The packet as it is: id then fields.
    Plain(BytesMut),
    /// zlib data that inflates to `len` bytes of packet.
    Compressed { len: usize, deflated: BytesMut },
}

impl RawFrame {
    /// Wraps an uncompressed packet (id then fields).
    pub fn plain(packet: BytesMut) -> Result<Self, FrameError> {
        if packet.len() <= HEAD_LEN {
            return Self::inline(&packet);
        }
        let mut frame = Self::inline(&packet[..HEAD_LEN])?;
        frame.body = Body::Plain(packet);
        Ok(frame)
    }

    /// A copy of an uncompressed packet of at most [`HEAD_LEN`] bytes (or of the head of a
    /// longer one, whose body `plain` then puts in).
    fn inline(packet: &[u8]) -> Result<Self, FrameError> {
        let mut head = [0; HEAD_LEN];
        head[..packet.len()].copy_from_slice(packet);
        let id = packet_id_of(packet)?;
        Ok(Self {
            id,
            head,
            head_len: packet.len() as u8,
            body: Body::Inline,
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
            Body::Inline => self.head().len(),
            Body::Plain(p) => p.len(),
            Body::Compressed { len, .. } => *len,
        }
    }

    /// A copy of the whole packet, inflated if need be, keeping the frame to forward as it is.
    /// (Cloning the frame first would also copy its compressed body.)
    pub fn packet(&self) -> Result<BytesMut, FrameError> {
        match &self.body {
            Body::Inline => Ok(BytesMut::from(self.head())),
            Body::Plain(packet) => Ok(packet.clone()),
            Body::Compressed { len, deflated } => {
                inflate(&mut Decompress::new(true), deflated, *len)
            }
        }
    }

    /// Puts the whole packet, inflated if need be, in `dst` in place of what it held: a buffer
    /// kept for the purpose, so that a packet in hand costs no allocation.
    pub fn packet_into(&self, dst: &mut BytesMut) -> Result<(), FrameError> {
        dst.clear();
        match &self.body {
            Body::Inline => dst.extend_from_slice(self.head()),
            Body::Plain(packet) => dst.extend_from_slice(packet),
            Body::Compressed { .. } => *dst = self.packet()?,
        }
        Ok(())
    }

    /// The whole packet, inflated if need be.
    pub fn into_packet(self) -> Result<BytesMut, FrameError> {
        match self.body {
            Body::Plain(packet) => Ok(packet),
            Body::Inline | Body::Compressed { .. } => self.packet(),
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

/// Inflates at most [`HEAD_LEN`] bytes of the packet: by [`head::inflate_prefix`], without
/// zlib's tables, and by zlib (made on first use) for what that leaves to it.
fn inflate_head(
    inflater: &mut Option<Box<Decompress>>,
    deflated: &[u8],
    len: usize,
) -> Result<([u8; HEAD_LEN], usize), FrameError> {
    let mut head = [0; HEAD_LEN];
    let want = len.min(HEAD_LEN);
    if head::inflate_prefix(deflated, &mut head[..want]).is_some() {
        return Ok((head, want));
    }
    let inflater = inflater.get_or_insert_with(|| Box::new(Decompress::new(true)));
    inflater.reset(true);
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

mod head {
    //! The first bytes of a zlib stream, inflated without zlib's decoding tables.
    //!
    //! zlib builds complete two-level lookup tables for a block's Huffman codes before it writes
    //! a byte; for a head of [`HEAD_LEN`](super::HEAD_LEN) bytes, building them is most of the
    //! work (`inflate_table` was a third of the proxy's CPU time forwarding chunk frames). This
    //! decoder, after Mark Adler's `puff.c`, keeps each code as its canonical counts plus a small
    //! one-level table of its short codes, and reads longer codes against the counts: far less to
    //! build, for the few dozen symbols a head takes. Building is kept to what the header says:
    //! a dynamic header's runs of unused symbols cost nothing, the tables are built by doubling
    //! (no clearing, no strided fills) in place, in storage the thread keeps from frame to
    //! frame, the fixed codes are built once, and the bits are read from a 64-bit buffer
    //! refilled eight bytes at a time. For a chunk frame (a header listing nearly every
    //! literal), reading the header and building the codes is still most of the work:
    //! `meridian-wire`'s `frame_head` bench measures it.
    //!
    //! It stops as soon as the head is full and is strict about everything before: what it does
    //! not read as plainly valid (a preset dictionary, an over-subscribed or incomplete code, a
    //! distance before the start, a stream that ends first) makes it give up, and the caller asks
    //! zlib, whose verdict stands. So the head it returns is the head zlib returns. Like zlib,
    //! which also stops reading somewhere past the head, it does not look at the rest of the
    //! stream: corruption there is found when the packet is inflated, if ever.

    use std::cell::RefCell;

    /// Literal/length symbols 257..=285: base lengths and extra bits.
    const LEN_BASE: [u16; 29] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
        131, 163, 195, 227, 258,
    ];
    const LEN_EXTRA: [u8; 29] = [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
    ];
    /// Distance symbols 0..=29: base distances and extra bits.
    const DIST_BASE: [u16; 30] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
        2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
    ];
    const DIST_EXTRA: [u8; 30] = [
        0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12,
        13, 13,
    ];
    /// The order in which a dynamic block lists the lengths of the code-length code.
    const CL_ORDER: [usize; 19] = [
        16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
    ];
    const MAX_BITS: usize = 15;

    /// Each byte with its bits in reverse order.
    const REVERSED: [u8; 256] = {
        let mut table = [0; 256];
        let mut i = 0;
        while i < 256 {
            table[i] = (i as u8).reverse_bits();
            i += 1;
        }
        table
    };

    /// `code` with its 16 bits in reverse order: by table, a byte at a time, where
    /// `u16::reverse_bits` takes a dozen shifts and masks on x86.
    #[inline]
    fn reverse(code: u16) -> u16 {
        u16::from(REVERSED[usize::from(code & 0xff)]) << 8
            | u16::from(REVERSED[usize::from(code >> 8)])
    }

    /// Fills `out` with the first `out.len()` bytes the zlib stream `zlib` inflates to; `None`
    /// when it leaves the stream to zlib (see the module documentation).
    pub(super) fn inflate_prefix(zlib: &[u8], out: &mut [u8]) -> Option<()> {
        // Taken for the call: nothing in it calls back here.
        TABLES
            .try_with(|tables| inflate_with(zlib, out, &mut *tables.try_borrow_mut().ok()?))
            .ok()
            .flatten()
    }

    fn inflate_with(zlib: &[u8], out: &mut [u8], tables: &mut Tables) -> Option<()> {
        let (&cmf, &flg) = (zlib.first()?, zlib.get(1)?);
        // Deflate, a window of at most 32 KiB, a valid header check, no preset dictionary.
        let valid = cmf & 0x0f == 8
            && cmf >> 4 <= 7
            && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
            && flg & 0x20 == 0;
        if !valid {
            return None;
        }
        let mut bits = Bits {
            input: zlib.get(2..)?,
            pos: 0,
            buf: 0,
            count: 0,
        };
        let mut done = 0;
        while done < out.len() {
            let last = bits.take(1)? == 1;
            match bits.take(2)? {
                0 => stored(&mut bits, out, &mut done)?,
                1 => {
                    let (lit, dist) = FIXED.as_ref()?;
                    codes(&mut bits, out, &mut done, lit, dist)?;
                }
                2 => {
                    dynamic(&mut bits, tables)?;
                    codes(&mut bits, out, &mut done, &tables.lit, &tables.dist)?;
                }
                _ => return None,
            }
            if last && done < out.len() {
                // The stream ends before the head does: zlib says how.
                return None;
            }
        }
        Some(())
    }

    /// Bits of the input, least significant first, buffered up to 64 at a time.
    #[derive(Clone, Copy)]
    struct Bits<'a> {
        input: &'a [u8],
        /// The next byte not yet buffered.
        pos: usize,
        /// `count` bits of input; above them, zeros or the bits of the input that follow (which
        /// the next refill puts there again).
        buf: u64,
        count: u32,
    }

    impl Bits<'_> {
        /// Buffers at least 49 bits, or as many as the input has left.
        #[inline]
        fn refill(&mut self) {
            if let Some(word) = self
                .input
                .get(self.pos..)
                .and_then(|rest| rest.first_chunk::<8>())
            {
                // Eight bytes at once; those that do not fit whole are loaded again next time.
                self.buf |= u64::from_le_bytes(*word) << self.count;
                self.pos += ((63 - self.count) >> 3) as usize;
                self.count |= 56;
            } else {
                // Whole bytes while one fits below bit 56 (so `count` stays below 64).
                while self.count <= 48 {
                    let Some(&byte) = self.input.get(self.pos) else {
                        return;
                    };
                    self.pos += 1;
                    self.buf |= u64::from(byte) << self.count;
                    self.count += 8;
                }
            }
        }

        /// Drops the next `n` bits; `None` if the input ended before them.
        #[inline]
        fn consume(&mut self, n: u32) -> Option<()> {
            if n > self.count {
                return None;
            }
            self.buf >>= n;
            self.count -= n;
            Some(())
        }

        /// The next `n` (≤ 16) bits; `None` if the input ended before them.
        #[inline]
        fn take(&mut self, n: u32) -> Option<u32> {
            if self.count < n {
                self.refill();
            }
            let v = (self.buf & ((1u64 << n) - 1)) as u32;
            self.consume(n)?;
            Some(v)
        }
    }

    /// The code-length code of a dynamic block (at most 7 bits, always complete): one lookup
    /// per symbol, by the next 7 bits (first bit lowest), of `symbol << 3 | length`.
    struct LengthCode {
        table: [u8; 128],
    }

    impl LengthCode {
        fn new(lengths: &[u8; 19]) -> Option<Self> {
            let mut count = [0u8; 8];
            for &l in lengths {
                *count.get_mut(usize::from(l))? += 1;
            }
            count[0] = 0;
            let mut left: i32 = 1;
            let (mut first, mut offset) = ([0u8; 8], [0u8; 8]);
            for len in 1..8 {
                left = (left << 1) - i32::from(count[len]);
                if left < 0 {
                    return None;
                }
                if len < 7 {
                    first[len + 1] = (first[len] + count[len]) << 1;
                    offset[len + 1] = offset[len] + count[len];
                }
            }
            // Incomplete (or empty) code-length codes are zlib's to refuse.
            if left != 0 {
                return None;
            }
            // The symbols in code order, then the table as `Huffman` builds its own.
            let mut sorted = [0u8; 19];
            let mut next = offset;
            for (s, &l) in lengths.iter().enumerate() {
                if l != 0 {
                    let at = &mut next[usize::from(l & 7)];
                    *sorted.get_mut(usize::from(*at))? = s as u8;
                    *at += 1;
                }
            }
            let mut table = [0u8; 128];
            let mut size = 1;
            for len in 1..8 {
                for i in 0..size {
                    table[(size + i) & 127] = table[i & 127];
                }
                size <<= 1;
                let start = usize::from(offset[len]);
                let n = usize::from(count[len]);
                for (k, &s) in sorted.get(start..start + n)?.iter().enumerate() {
                    let code = first[len] + k as u8;
                    let at = usize::from(code.reverse_bits() >> (8 - len));
                    table[at & 127] = s << 3 | len as u8;
                }
            }
            Some(Self { table })
        }
    }

    /// A canonical Huffman code of at most `N` symbols: per length, how many codes, the first
    /// code, and where its symbols start in `symbol` (symbols in code order); and a table of
    /// `T` (a power of two) entries for the codes up to log2(`T`) bits, decoded by one lookup.
    struct Huffman<const N: usize, const T: usize> {
        count: [u16; MAX_BITS + 1],
        first: [u16; MAX_BITS + 1],
        offset: [u16; MAX_BITS + 1],
        symbol: [u16; N],
        /// The shortest and the longest code.
        min: usize,
        max: usize,
        /// Per pattern of the next log2(`T`) bits (first bit lowest), the code they start
        /// with if it is that short: `symbol << 4 | length`; 0 if it is longer.
        fast: [u16; T],
    }

    /// The literal/length code: codes up to 9 bits by lookup. Chunk data uses nearly every
    /// byte value, and with 8 bits a good part of a head's literals took the slower way.
    type LitCode = Huffman<288, 512>;
    /// The fixed literal/length code, built once: all of it by lookup.
    type FixedLitCode = LitCode;
    /// The distance code: a few symbols a head, codes up to 5 bits by lookup.
    type DistCode = Huffman<32, 32>;

    impl<const N: usize, const T: usize> Huffman<N, T> {
        const FAST_BITS: usize = T.trailing_zeros() as usize;
        /// No code yet.
        const EMPTY: Self = Self {
            count: [0; MAX_BITS + 1],
            first: [0; MAX_BITS + 1],
            offset: [0; MAX_BITS + 1],
            symbol: [0; N],
            min: 0,
            max: 0,
            fast: [0; T],
        };

        /// The code with `count[len]` codes of each length, for `entries`, `(base + symbol) <<
        /// 4 | length` of each symbol with a code, in symbol order. An incomplete code is
        /// refused except, where `sparse`, one code of one bit (an encoder's way of writing a
        /// block that uses a single distance), as zlib allows; its missing half is then an
        /// invalid code.
        fn build(
            &mut self,
            count: [u16; MAX_BITS + 1],
            entries: &[u16],
            base: u16,
            sparse: bool,
        ) -> Option<()> {
            let max = (1..=MAX_BITS).rev().find(|&l| count[l] > 0)?;
            let min = (1..=MAX_BITS).find(|&l| count[l] > 0)?;
            let mut left: i32 = 1;
            for &c in &count[1..] {
                left = (left << 1) - i32::from(c);
                if left < 0 {
                    return None;
                }
            }
            if left > 0 && !(sparse && max == 1) {
                return None;
            }
            let (mut first, mut offset) = ([0u16; MAX_BITS + 1], [0u16; MAX_BITS + 1]);
            for len in 1..MAX_BITS {
                first[len + 1] = (first[len] + count[len]) << 1;
                offset[len + 1] = offset[len] + count[len];
            }
            // Symbols in code order: by length, then by symbol.
            let mut next_index = offset;
            let symbol = &mut self.symbol;
            for &e in entries {
                let at = &mut next_index[usize::from(e) & MAX_BITS];
                *symbol.get_mut(usize::from(*at))? = (e >> 4).wrapping_sub(base);
                *at += 1;
            }
            // The table for codes up to 1 bit, then 2, ...: each step repeats the table so far
            // (the shorter codes, whatever the next bit) and adds the codes of the new length.
            // Every entry is written, so nothing needs clearing first.
            let fast = &mut self.fast;
            fast[0] = 0;
            let mut size = 1;
            for len in 1..=Self::FAST_BITS {
                fast.copy_within(..size, size);
                size <<= 1;
                let start = usize::from(offset[len]);
                let n = usize::from(count[len]);
                for (k, &s) in symbol.get(start..start + n)?.iter().enumerate() {
                    let code = first[len] + k as u16;
                    // Codes go first bit first; the table is indexed first bit lowest.
                    let at = usize::from(reverse(code) >> (16 - len));
                    fast[at & (T - 1)] = s << 4 | len as u16;
                }
            }
            self.count = count;
            self.first = first;
            self.offset = offset;
            self.min = min;
            self.max = max;
            Some(())
        }

        /// The next symbol: a short code by lookup; a longer one from the next 16 bits,
        /// reversed, compared length by length with the canonical ranges.
        #[inline]
        fn decode(&self, bits: &mut Bits<'_>) -> Option<u16> {
            if bits.count < MAX_BITS as u32 {
                bits.refill();
            }
            let entry = self.fast[bits.buf as usize & (T - 1)];
            if entry != 0 {
                bits.consume(u32::from(entry & 15))?;
                return Some(entry >> 4);
            }
            self.decode_long(bits)
        }

        fn decode_long(&self, bits: &mut Bits<'_>) -> Option<u16> {
            let ahead = u32::from(reverse(bits.buf as u16));
            for len in self.min.max(Self::FAST_BITS + 1)..=self.max {
                let code = (ahead >> (16 - len)) as u16;
                // Canonical codes of one length are consecutive, and above the shorter ones.
                let index = code.wrapping_sub(self.first[len]);
                if index < self.count[len] {
                    bits.consume(len as u32)?;
                    return self
                        .symbol
                        .get(usize::from(self.offset[len] + index))
                        .copied();
                }
            }
            // The missing half of a sparse code.
            None
        }
    }

    /// A stored block (type 0): its bytes as they are.
    fn stored(bits: &mut Bits<'_>, out: &mut [u8], done: &mut usize) -> Option<()> {
        // To the byte boundary (the partial byte is dropped); the whole bytes buffered go back
        // to the input.
        bits.pos = bits.pos.checked_sub((bits.count / 8) as usize)?;
        bits.buf = 0;
        bits.count = 0;
        let header = bits.input.get(bits.pos..)?.first_chunk::<4>()?;
        let len = u16::from_le_bytes([header[0], header[1]]);
        if len != !u16::from_le_bytes([header[2], header[3]]) {
            return None;
        }
        bits.pos += 4;
        let take = usize::from(len).min(out.len() - *done);
        out.get_mut(*done..*done + take)?
            .copy_from_slice(bits.input.get(bits.pos..bits.pos + take)?);
        bits.pos += take;
        *done += take;
        Some(())
    }

    /// The fixed codes of block type 1, built once.
    static FIXED: std::sync::LazyLock<Option<(FixedLitCode, DistCode)>> =
        std::sync::LazyLock::new(|| {
            let (mut lit, mut dist) = (FixedLitCode::EMPTY, DistCode::EMPTY);
            fixed(&mut lit, &mut dist)?;
            Some((lit, dist))
        });

    /// Builds the fixed codes of block type 1.
    fn fixed(lit: &mut FixedLitCode, dist: &mut DistCode) -> Option<()> {
        let entries: [u16; 288] = std::array::from_fn(|s| {
            let len = match s {
                0..=143 => 8,
                144..=255 => 9,
                256..=279 => 7,
                _ => 8,
            };
            (s as u16) << 4 | len
        });
        let mut count = [0u16; MAX_BITS + 1];
        count[7] = 24;
        count[8] = 152;
        count[9] = 112;
        lit.build(count, &entries, 0, false)?;
        let entries: [u16; 32] = std::array::from_fn(|s| (s as u16) << 4 | 5);
        let mut count = [0u16; MAX_BITS + 1];
        count[5] = 32;
        dist.build(count, &entries, 0, false)
    }

    thread_local! {
        /// The thread's tables for dynamic blocks: one set serves every connection in turn,
        /// and stays in the cache (a set per connection would be cold at every chunk frame;
        /// a fresh one on the stack would have to be cleared first).
        static TABLES: RefCell<Tables> = const {
            RefCell::new(Tables {
                lit: LitCode::EMPTY,
                dist: DistCode::EMPTY,
                entries: [0; 286 + 30],
            })
        };
    }

    /// The codes of a dynamic block, built in place from frame to frame.
    struct Tables {
        lit: LitCode,
        dist: DistCode,
        /// The codes the header lists (literal/length, then distance), as `index << 4 |
        /// length` where `index` counts both alphabets.
        entries: [u16; 286 + 30],
    }

    /// The codes of a dynamic block (type 2), from its header.
    fn dynamic(bits: &mut Bits<'_>, tables: &mut Tables) -> Option<()> {
        let nlen = bits.take(5)? as usize + 257;
        let ndist = bits.take(5)? as usize + 1;
        let ncode = bits.take(4)? as usize + 4;
        if nlen > 286 || ndist > 30 {
            return None;
        }
        let mut cl = [0u8; 19];
        for &i in &CL_ORDER[..ncode] {
            cl[i] = bits.take(3)? as u8;
        }
        let cl = LengthCode::new(&cl)?;
        // The literal/length then the distance code lengths, as one sequence (a run may cross
        // from one to the other). Only the symbols with a code are kept, with the counts per
        // length of both alphabets: the runs of zeros that are most of a sparse code cost
        // nothing.
        let total = nlen + ndist;
        let entries = &mut tables.entries;
        let mut count = [0u16; MAX_BITS + 1];
        let mut kept = 0;
        let mut prev = None;
        let mut i = 0;
        while i < total {
            // A code-length symbol and its extra bits take at most 14 bits.
            if bits.count < 14 {
                bits.refill();
            }
            let entry = cl.table[bits.buf as usize & 127];
            bits.consume(u32::from(entry & 7))?;
            let symbol = entry >> 3;
            if symbol < 16 {
                // Written whatever the length; kept (counted in) only if it is not 0.
                *entries.get_mut(kept)? = (i as u16) << 4 | u16::from(symbol);
                kept += usize::from(symbol != 0);
                count[usize::from(symbol)] += 1;
                prev = Some(symbol);
                i += 1;
                continue;
            }
            let (value, repeat) = match symbol {
                16 => (prev?, 3 + bits.take(2)? as usize),
                17 => (0, 3 + bits.take(3)? as usize),
                _ => (0, 11 + bits.take(7)? as usize),
            };
            if i + repeat > total {
                return None;
            }
            if value != 0 {
                for j in i..i + repeat {
                    *entries.get_mut(kept)? = (j as u16) << 4 | u16::from(value);
                    kept += 1;
                }
                count[usize::from(value)] += repeat as u16;
            }
            prev = Some(value);
            i += repeat;
        }
        let kept = &entries[..kept];
        let split = kept.partition_point(|&e| usize::from(e >> 4) < nlen);
        let (lit, dist) = kept.split_at(split);
        let mut dist_count = [0u16; MAX_BITS + 1];
        for &e in dist {
            dist_count[usize::from(e & 15)] += 1;
        }
        let mut lit_count = [0u16; MAX_BITS + 1];
        for len in 1..=MAX_BITS {
            lit_count[len] = count[len] - dist_count[len];
        }
        // A block must be able to end.
        if lit.binary_search_by_key(&256, |&e| e >> 4).is_err() {
            return None;
        }
        tables.lit.build(lit_count, lit, 0, false)?;
        tables.dist.build(dist_count, dist, nlen as u16, true)
    }

    /// A block's literals and back-references, until it ends or `out` is full.
    fn codes<const T: usize>(
        bits: &mut Bits<'_>,
        out: &mut [u8],
        done: &mut usize,
        lit: &Huffman<288, T>,
        dist: &DistCode,
    ) -> Option<()> {
        // Worked on in locals, which the compiler keeps in registers.
        let mut b = *bits;
        let mut at = *done;
        while at < out.len() {
            let symbol = usize::from(lit.decode(&mut b)?);
            if symbol < 256 {
                out[at] = symbol as u8;
                at += 1;
                continue;
            }
            if symbol == 256 {
                break;
            }
            // 286 and 287 exist only in the fixed code, and are invalid.
            let s = symbol - 257;
            let len = usize::from(*LEN_BASE.get(s)?) + b.take(u32::from(LEN_EXTRA[s]))? as usize;
            let d = usize::from(dist.decode(&mut b)?);
            let distance =
                usize::from(*DIST_BASE.get(d)?) + b.take(u32::from(DIST_EXTRA[d]))? as usize;
            // Before the start of the stream: zlib calls that too far back.
            let from = at.checked_sub(distance)?;
            // The copy may overlap what it writes (a run), so byte by byte.
            let n = len.min(out.len() - at);
            for k in 0..n {
                out[at + k] = out[from + k];
            }
            at += n;
        }
        *bits = b;
        *done = at;
        Some(())
    }
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

    /// The packet id of one frame, given its bytes after the length prefix, without taking the
    /// frame apart: what a forwarder that writes frames out as it read them needs to route
    /// them. A compressed packet's head is inflated as [`Decoder::decode`] does.
    pub fn packet_id(&mut self, frame: &[u8]) -> Result<i32, FrameError> {
        let Some(threshold) = self.threshold else {
            return packet_id_of(frame);
        };
        let (data_len, header) = read_varint(frame).map_err(FrameError::BadDataLength)?;
        let packet = &frame[header..];
        if data_len == 0 {
            return packet_id_of(packet);
        }
        let claimed = claimed_len(data_len, threshold)?;
        let (head, head_len) = inflate_head(&mut self.inflater, packet, claimed)?;
        packet_id_of(&head[..head_len])
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

/// The id a packet (or its head) starts with.
fn packet_id_of(packet: &[u8]) -> Result<i32, FrameError> {
    read_varint(packet)
        .map(|(id, _)| id)
        .map_err(FrameError::BadPacketId)
}

/// A compressed packet's claimed length, if within limits: at least the threshold (smaller
/// packets are sent uncompressed) and at most vanilla's limit.
fn claimed_len(data_len: i32, threshold: u32) -> Result<usize, FrameError> {
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
    Ok(claimed)
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
        let end = prefix + len;
        // With compression on, a data length of 0 marks a packet sent as it is; without, every
        // packet is.
        let (data_len, header, threshold) = match self.threshold {
            None => (0, 0, 0),
            Some(threshold) => {
                let (data_len, header) =
                    read_varint(&src[prefix..end]).map_err(FrameError::BadDataLength)?;
                (data_len, header, threshold)
            }
        };
        let start = prefix + header;
        if data_len == 0 {
            if start == end {
                return Err(FrameError::Empty);
            }
            // A small packet is copied out, so the buffer is not shared with it.
            if end - start <= HEAD_LEN {
                let frame = RawFrame::inline(&src[start..end]);
                src.advance(end);
                return frame.map(Some);
            }
            src.advance(start);
            return RawFrame::plain(src.split_to(end - start)).map(Some);
        }
        src.advance(start);
        let frame = src.split_to(end - start);
        let claimed = claimed_len(data_len, threshold)?;
        let (head, head_len) = inflate_head(&mut self.inflater, &frame, claimed)?;
        let id = packet_id_of(&head[..head_len])?;
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
            (Body::Inline, _) => {
                self.encode_packet(&frame.head[..usize::from(frame.head_len)], dst)
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

    /// `packet_id` reads every kind of frame as `decode` does, and refuses what it refuses.
    #[test]
    fn packet_id_agrees_with_decode() {
        let packets: [&[u8]; 3] = [&[0x01, 2, 3], &[0x27; 300], &[0x8a, 0x01, 9, 9]];
        for threshold in [None, Some(256)] {
            let mut codec = FrameCodec::new();
            codec.set_compression(threshold);
            for packet in packets {
                let wire = encode(&mut codec, packet);
                let (_, prefix) = read_varint(&wire).unwrap();
                let id = codec.packet_id(&wire[prefix..]).unwrap();
                let frame = codec.decode(&mut wire.clone()).unwrap().unwrap();
                assert_eq!(id, frame.id(), "threshold {threshold:?}, packet {packet:?}");
            }
        }
        let mut codec = FrameCodec::new();
        codec.set_compression(Some(256));
        // Claims 10 bytes compressed: below the threshold.
        assert!(matches!(
            codec.packet_id(&[10, 0x78, 0x9c]),
            Err(FrameError::BelowThreshold { .. })
        ));
        assert!(matches!(
            codec.packet_id(&[0x80]),
            Err(FrameError::BadDataLength(_))
        ));
        assert!(
            codec.packet_id(&[0]).is_err(),
            "no packet after the data length"
        );
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
        let frame = codec.decode(&mut wire).unwrap().unwrap();
        assert!(codec.inflater.is_none(), "the head is read without zlib");
        // A side with a higher threshold sends the packet uncompressed: that needs zlib.
        let mut other = FrameCodec::new();
        other.set_compression(Some(2048));
        let mut out = BytesMut::new();
        other.encode(frame, &mut out).unwrap();
        assert!(other.inflater.is_some());
    }

    /// zlib streams of `data` at every level (stored, fixed and dynamic blocks) from the
    /// deflater the codec uses.
    fn zlib_streams(data: &[u8]) -> Vec<Vec<u8>> {
        (0..=9)
            .map(|level| {
                let mut deflater = Compress::new(Compression::new(level), true);
                let mut out = Vec::with_capacity(data.len() + 64);
                while deflater
                    .compress_vec(
                        &data[deflater.total_in() as usize..],
                        &mut out,
                        FlushCompress::Finish,
                    )
                    .unwrap()
                    != Status::StreamEnd
                {
                    out.reserve(out.capacity() + 64);
                }
                out
            })
            .collect()
    }

    /// Shapes of packet data: terrain-like nibbles, a short run (one distance: a sparse
    /// distance code), text-like bytes, noise, and tiny packets (fixed codes).
    fn sample_packets() -> Vec<Vec<u8>> {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut packets = vec![
            (0..10_000)
                .map(|_| (next() % 5) as u8 * 17)
                .collect::<Vec<u8>>(),
            (0..3000u32).map(|i| (i % 7) as u8).collect(),
            b"minecraft:overworld minecraft:stone minecraft:air "
                .iter()
                .copied()
                .cycle()
                .take(2000)
                .collect(),
            (0..5000).map(|_| next() as u8).collect(),
            // Bit-packed palette indices: skewed, but nearly every byte value occurs.
            (0..8000)
                .map(|_| {
                    let r = next();
                    let nibble = |v: u64| if v % 8 < 5 { 0 } else { (v >> 3) as u8 & 15 };
                    nibble(r) << 4 | nibble(r >> 8)
                })
                .collect(),
            vec![0x27, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
            vec![0; 70],
        ];
        packets.push(
            (0..200)
                .map(|i| packets[2][i] ^ (next() % 2) as u8)
                .collect(),
        );
        packets
    }

    #[test]
    fn the_head_is_zlibs_for_every_kind_of_block() {
        let mut inflater = Decompress::new(true);
        // The thread's tables serve every stream in turn: nothing of one stream's codes may
        // show in the next one's head.
        for packet in sample_packets() {
            for stream in zlib_streams(&packet) {
                for want in [1, 9, 33, HEAD_LEN].map(|w| w.min(packet.len())) {
                    let mut head = [0u8; HEAD_LEN];
                    assert!(
                        head::inflate_prefix(&stream, &mut head[..want]).is_some(),
                        "a stream the codec's own deflater writes ({} bytes)",
                        packet.len()
                    );
                    assert_eq!(&head[..want], &packet[..want]);
                    inflater.reset(true);
                    let mut theirs = [0u8; HEAD_LEN];
                    inflater
                        .decompress(&stream, &mut theirs[..want], FlushDecompress::Sync)
                        .unwrap();
                    assert_eq!(head, theirs);
                }
            }
        }
    }

    #[test]
    fn corrupt_streams_never_get_a_head_zlib_would_not_give() {
        let mut inflater = Decompress::new(true);
        // The thread's tables serve every stream in turn: nothing of one stream's codes may
        // show in the next one's head.
        let streams: Vec<Vec<u8>> = sample_packets()
            .iter()
            .flat_map(|p| zlib_streams(p))
            .map(|s| s[..s.len().min(300)].to_vec())
            .collect();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as usize
        };
        let (mut ours, mut fallbacks) = (0, 0);
        for i in 0..20_000 {
            let mut stream = streams[i % streams.len()].clone();
            // Bit flips, mostly in the first bytes (headers, the code tables), and truncation.
            let span = if i % 2 == 0 { 40 } else { stream.len() };
            for _ in 0..1 + next() % 4 {
                let at = next() % span.min(stream.len());
                stream[at] ^= 1 << (next() % 8);
            }
            if i % 3 == 0 {
                stream.truncate(next() % stream.len());
            }
            let mut head = [0u8; HEAD_LEN];
            let accepted = head::inflate_prefix(&stream, &mut head).is_some();
            inflater.reset(true);
            let mut theirs = [0u8; HEAD_LEN];
            let verdict = inflater.decompress(&stream, &mut theirs, FlushDecompress::Sync);
            let filled = inflater.total_out() as usize == HEAD_LEN;
            if accepted {
                ours += 1;
                // zlib may still find fault further on, past what either needs for the head.
                assert!(
                    filled,
                    "stream {i}: accepted where zlib fills no head ({verdict:?})"
                );
                assert_eq!(head, theirs, "stream {i}");
            } else if verdict.is_ok() && filled {
                fallbacks += 1;
            }
        }
        // Both happen: the test exercises the decoder, and zlib still decides the rest.
        assert!(
            ours > 1000 && fallbacks < ours,
            "{ours} accepted, {fallbacks} left to zlib"
        );
    }

    #[test]
    fn what_the_head_decoder_leaves_to_zlib_is_zlibs_to_judge() {
        let mut codec = FrameCodec::new();
        codec.set_compression(Some(64));
        let packet: Vec<u8> = (0..300u32).map(|i| (i % 251) as u8).collect();
        let mut wire = encode(&mut codec, &packet);
        // Frame length (2 bytes), data length (2 bytes), then the zlib stream.
        let at = 4;
        assert_eq!(wire[at], 0x78);
        // The preset-dictionary flag set, the header check kept valid: the head decoder leaves
        // it to zlib, which fails without the dictionary.
        let cmf = u16::from(wire[at]);
        let mut flg = u16::from(wire[at + 1] & 0xe0 | 0x20);
        flg += (31 - (cmf << 8 | flg) % 31) % 31;
        let mut forged = wire.clone();
        forged[at + 1] = flg as u8;
        assert!(head::inflate_prefix(&forged[at..], &mut [0u8; HEAD_LEN]).is_none());
        assert!(codec.decode(&mut forged).is_err());
        // A stream cut short of the head: nothing from the decoder, an error from zlib.
        assert!(head::inflate_prefix(&wire[at..at + 4], &mut [0u8; HEAD_LEN]).is_none());
        let mut short = BytesMut::from(&[6, 0xac, 0x02][..]);
        short.extend_from_slice(&wire[at..at + 4]);
        assert!(codec.decode(&mut short).is_err());
        // And the frame itself reads as before.
        let frame = codec.decode(&mut wire).unwrap().unwrap();
        assert_eq!(frame.head(), &packet[..HEAD_LEN]);
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
        // Read without giving the frame up, then given up: the same packet.
        assert_eq!(&again.packet().unwrap()[..], &packet[..]);
        assert!(again.is_compressed());
        assert_eq!(&again.into_packet().unwrap()[..], &packet[..]);

        // Re-encoded for a side without compression.
        let mut plain = FrameCodec::new();
        let mut out = BytesMut::new();
        plain.encode(frame, &mut out).unwrap();
        let decoded = plain.decode(&mut out).unwrap().unwrap();
        assert!(!decoded.is_compressed());
        assert_eq!(&decoded.packet().unwrap()[..], &packet[..]);
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

    /// Packets up to the head's length are copied out of the read buffer, longer ones share
    /// it: both come back whole, in order, with or without compression, and re-encode to the
    /// bytes they came as.
    #[test]
    fn small_and_large_plain_packets_decode_alike() {
        for threshold in [None, Some(256)] {
            let mut codec = FrameCodec::new();
            codec.set_compression(threshold);
            let packets: Vec<Vec<u8>> = [1, 2, HEAD_LEN - 1, HEAD_LEN, HEAD_LEN + 1, 200]
                .iter()
                .map(|&len| (0..len).map(|i| (i * 7 + len) as u8 & 0x7f).collect())
                .collect();
            let mut wire = BytesMut::new();
            for p in &packets {
                wire.extend_from_slice(&encode(&mut codec, p));
            }
            let sent = wire.clone();
            let mut again = BytesMut::new();
            let mut scratch = BytesMut::from(&b"left over"[..]);
            for p in &packets {
                let frame = codec.decode(&mut wire).unwrap().unwrap();
                assert_eq!(frame.id(), i32::from(p[0]), "{threshold:?}");
                assert_eq!(frame.packet_len(), p.len());
                assert_eq!(frame.head(), &p[..p.len().min(HEAD_LEN)]);
                frame.packet_into(&mut scratch).unwrap();
                assert_eq!(&scratch[..], &p[..]);
                assert_eq!(&frame.packet().unwrap()[..], &p[..]);
                codec.encode(frame.clone(), &mut again).unwrap();
                assert_eq!(&frame.into_packet().unwrap()[..], &p[..]);
            }
            assert!(wire.is_empty());
            assert_eq!(again, sent, "{threshold:?}");
        }
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
