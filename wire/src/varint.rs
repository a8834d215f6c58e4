//! Minecraft's VarInt: a 32-bit integer in little-endian base-128 groups, at most five bytes.

use bytes::BufMut;

/// The most bytes a VarInt may take on the wire.
pub const MAX_VARINT_LEN: usize = 5;

/// Why a VarInt could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VarIntError {
    /// The buffer ended inside the VarInt; more bytes may complete it.
    #[error("VarInt is incomplete")]
    Incomplete,
    /// The continuation bit was still set on the fifth byte.
    #[error("VarInt is longer than {MAX_VARINT_LEN} bytes")]
    TooLong,
}

/// Reads a VarInt from the start of `buf`, returning the value and the bytes it took.
pub fn read_varint(buf: &[u8]) -> Result<(i32, usize), VarIntError> {
    let mut value: u32 = 0;
    for (i, &byte) in buf.iter().take(MAX_VARINT_LEN).enumerate() {
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value as i32, i + 1));
        }
    }
    if buf.len() >= MAX_VARINT_LEN {
        Err(VarIntError::TooLong)
    } else {
        Err(VarIntError::Incomplete)
    }
}

/// Appends `value` as a VarInt.
pub fn write_varint(buf: &mut impl BufMut, value: i32) {
    let mut value = value as u32;
    loop {
        if value & !0x7f == 0 {
            buf.put_u8(value as u8);
            return;
        }
        buf.put_u8((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
}

/// How many bytes `value` takes as a VarInt.
pub fn varint_len(value: i32) -> usize {
    match value as u32 {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        0x4000..=0x1f_ffff => 3,
        0x20_0000..=0x0fff_ffff => 4,
        _ => 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_edge_values() {
        for value in [
            0,
            1,
            127,
            128,
            255,
            2_097_151,
            2_097_152,
            i32::MAX,
            -1,
            i32::MIN,
        ] {
            let mut buf = Vec::new();
            write_varint(&mut buf, value);
            assert_eq!(buf.len(), varint_len(value), "length of {value}");
            assert_eq!(read_varint(&buf), Ok((value, buf.len())));
        }
    }

    #[test]
    fn known_encodings() {
        let mut buf = Vec::new();
        write_varint(&mut buf, 300);
        assert_eq!(buf, [0xac, 0x02]);
        buf.clear();
        write_varint(&mut buf, -1);
        assert_eq!(buf, [0xff, 0xff, 0xff, 0xff, 0x0f]);
    }

    #[test]
    fn incomplete_and_too_long() {
        assert_eq!(read_varint(&[]), Err(VarIntError::Incomplete));
        assert_eq!(read_varint(&[0x80, 0x80]), Err(VarIntError::Incomplete));
        assert_eq!(
            read_varint(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
            Err(VarIntError::TooLong)
        );
    }
}
