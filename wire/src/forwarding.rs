//! Velocity "modern" player-info forwarding (`velocity:player_info`).
//!
//! A backend behind a proxy runs in offline mode and learns the player's real UUID, name, skin
//! properties and address from the proxy during login: it sends a login plugin request on
//! [`CHANNEL`] (payload: optionally one byte, the highest version it understands), and the proxy
//! answers with `HMAC-SHA256(secret, data) ‖ data`, where `data` is
//! `VarInt version, String address, UUID, String name, properties`. This is the format Paper and
//! Velocity use, so a Paper server configured for Velocity accepts Meridian as its proxy.

use bytes::{Buf, BufMut};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::varint::{read_varint, write_varint};

/// The login plugin channel of modern forwarding.
pub const CHANNEL: &str = "velocity:player_info";
/// Version 1: address, UUID, name and properties.
pub const MODERN_DEFAULT: u8 = 1;
/// Version 4: as version 1; the chat-session key is sent later in play (for 1.19.3+ clients).
pub const MODERN_LAZY_SESSION: u8 = 4;

const SIGNATURE_LEN: usize = 32;
const MAX_STRING: usize = 32_767;
const MAX_PROPERTIES: usize = 64;

/// The identity the proxy vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedPlayer {
    pub address: String,
    pub uuid: Uuid,
    pub name: String,
    pub properties: Vec<Property>,
}

/// A game-profile property, such as `textures` (the skin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub name: String,
    pub value: String,
    pub signature: Option<String>,
}

/// Why forwarded data was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForwardingError {
    #[error(
        "no forwarding data: the connection did not come through a proxy with modern forwarding"
    )]
    Missing,
    #[error("forwarding signature does not match: the proxy's forwarding secret differs")]
    BadSignature,
    #[error("unsupported forwarding version {0}")]
    UnsupportedVersion(i32),
    #[error("malformed forwarding data: {0}")]
    Malformed(&'static str),
}

/// The version the proxy answers with, given the byte the backend sent (if any).
///
/// Versions 2 and 3 carry a chat-signing key that Meridian does not have, so a backend asking
/// for them gets version 1, exactly as Velocity does for a player without a key.
pub fn negotiate(requested: Option<u8>) -> u8 {
    match requested {
        Some(v) if v >= MODERN_LAZY_SESSION => MODERN_LAZY_SESSION,
        _ => MODERN_DEFAULT,
    }
}

/// Builds the signed answer to a forwarding request.
pub fn encode(secret: &[u8], version: u8, player: &ForwardedPlayer) -> Vec<u8> {
    let mut data = Vec::with_capacity(128);
    write_varint(&mut data, i32::from(version));
    put_string(&mut data, &player.address);
    data.put_u128(player.uuid.as_u128());
    put_string(&mut data, &player.name);
    write_varint(&mut data, player.properties.len() as i32);
    for property in &player.properties {
        put_string(&mut data, &property.name);
        put_string(&mut data, &property.value);
        match &property.signature {
            Some(signature) => {
                data.put_u8(1);
                put_string(&mut data, signature);
            }
            None => data.put_u8(0),
        }
    }
    let mut out = Vec::with_capacity(SIGNATURE_LEN + data.len());
    out.extend_from_slice(&mac(secret).chain_update(&data).finalize().into_bytes());
    out.extend_from_slice(&data);
    out
}

/// Checks the signature of a forwarding answer and reads the player it vouches for.
pub fn verify(secret: &[u8], answer: &[u8]) -> Result<ForwardedPlayer, ForwardingError> {
    if answer.len() < SIGNATURE_LEN {
        return Err(ForwardingError::Malformed("shorter than its signature"));
    }
    let (signature, data) = answer.split_at(SIGNATURE_LEN);
    // `verify_slice` compares in constant time.
    mac(secret)
        .chain_update(data)
        .verify_slice(signature)
        .map_err(|_| ForwardingError::BadSignature)?;
    let mut buf = data;
    let version = get_varint(&mut buf)?;
    if !(1..=i32::from(MODERN_LAZY_SESSION)).contains(&version) || version == 2 || version == 3 {
        return Err(ForwardingError::UnsupportedVersion(version));
    }
    let address = get_string(&mut buf)?;
    if buf.remaining() < 16 {
        return Err(ForwardingError::Malformed("truncated UUID"));
    }
    let uuid = Uuid::from_u128(buf.get_u128());
    let name = get_string(&mut buf)?;
    if name.is_empty() || name.len() > 16 {
        return Err(ForwardingError::Malformed(
            "player name must be 1 to 16 bytes",
        ));
    }
    let count = get_varint(&mut buf)?;
    if !(0..=MAX_PROPERTIES as i32).contains(&count) {
        return Err(ForwardingError::Malformed("too many properties"));
    }
    let mut properties = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let name = get_string(&mut buf)?;
        let value = get_string(&mut buf)?;
        if !buf.has_remaining() {
            return Err(ForwardingError::Malformed("truncated property"));
        }
        let signature = if buf.get_u8() != 0 {
            Some(get_string(&mut buf)?)
        } else {
            None
        };
        properties.push(Property {
            name,
            value,
            signature,
        });
    }
    Ok(ForwardedPlayer {
        address,
        uuid,
        name,
        properties,
    })
}

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length")
}

fn put_string(buf: &mut Vec<u8>, s: &str) {
    write_varint(buf, s.len() as i32);
    buf.extend_from_slice(s.as_bytes());
}

fn get_varint(buf: &mut &[u8]) -> Result<i32, ForwardingError> {
    let (value, len) = read_varint(buf).map_err(|_| ForwardingError::Malformed("bad VarInt"))?;
    buf.advance(len);
    Ok(value)
}

fn get_string(buf: &mut &[u8]) -> Result<String, ForwardingError> {
    let len = get_varint(buf)?;
    if len < 0 || len as usize > MAX_STRING || len as usize > buf.len() {
        return Err(ForwardingError::Malformed("bad string length"));
    }
    let (s, rest) = buf.split_at(len as usize);
    let s =
        std::str::from_utf8(s).map_err(|_| ForwardingError::Malformed("string is not UTF-8"))?;
    *buf = rest;
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn player() -> ForwardedPlayer {
        ForwardedPlayer {
            address: "127.0.0.1".into(),
            uuid: Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            name: "Alice".into(),
            properties: vec![Property {
                name: "textures".into(),
                value: "e30=".into(),
                signature: Some("sig".into()),
            }],
        }
    }

    #[test]
    fn round_trip() {
        let answer = encode(b"secret", MODERN_LAZY_SESSION, &player());
        assert_eq!(verify(b"secret", &answer), Ok(player()));
    }

    #[test]
    fn wrong_secret_is_refused() {
        let answer = encode(b"secret", MODERN_DEFAULT, &player());
        assert_eq!(
            verify(b"other", &answer),
            Err(ForwardingError::BadSignature)
        );
    }

    #[test]
    fn tampered_data_is_refused() {
        let mut answer = encode(b"secret", MODERN_DEFAULT, &player());
        let last = answer.len() - 1;
        answer[last] ^= 1;
        assert_eq!(
            verify(b"secret", &answer),
            Err(ForwardingError::BadSignature)
        );
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let answer = encode(b"secret", MODERN_DEFAULT, &player());
        for len in 0..answer.len() {
            assert!(verify(b"secret", &answer[..len]).is_err());
        }
    }

    #[test]
    fn version_negotiation() {
        assert_eq!(negotiate(None), MODERN_DEFAULT);
        assert_eq!(negotiate(Some(1)), MODERN_DEFAULT);
        assert_eq!(negotiate(Some(3)), MODERN_DEFAULT);
        assert_eq!(negotiate(Some(4)), MODERN_LAZY_SESSION);
        assert_eq!(negotiate(Some(9)), MODERN_LAZY_SESSION);
    }
}
