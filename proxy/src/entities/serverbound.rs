//! Rewriting serverbound play packets: client ids back to a link and its backend id.

use bytes::BytesMut;
use meridian_wire::ids::game::serverbound as id;

use super::{
    EntityMap, LinkId,
    codec::{Edit, Reader, RewriteError, VarIntAt, apply_one},
};

/// Where a serverbound packet must go, as far as entity ids decide it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The packet names no entity: route it by the usual policy, bytes untouched.
    NoEntity,
    /// The packet names an entity shown from `link`, and now carries `backend_id`, that link's id
    /// for it: send it to `link` only.
    Link { link: LinkId, backend_id: i32 },
    /// The packet names the player (as `player_command` does): each link knows the player by its
    /// own id, so every copy must be rewritten with [`rewrite_for_player_link`].
    OwnPlayer,
    /// The packet names an id the client was never given (or that was already removed): no
    /// backend can make sense of it; drop it.
    Unknown { client_id: i32 },
}

/// Whether a serverbound play packet can carry an entity id.
pub fn carries_entity_ids(packet_id: i32) -> bool {
    matches!(
        packet_id,
        id::ATTACK
            | id::ENTITY_TAG_QUERY
            | id::INTERACT
            | id::PICK_ITEM_FROM_ENTITY
            | id::PLAYER_COMMAND
            | id::SET_COMMAND_MINECART
            | id::SPECTATE_ENTITY
    )
}

/// Finds the entity id in a serverbound play packet (`packet`: id then fields), maps it back and
/// rewrites it for the link it belongs to.
pub fn rewrite_serverbound(
    map: &EntityMap,
    packet_id: i32,
    packet: &mut BytesMut,
) -> Result<Target, RewriteError> {
    let Some(at) = entity_field(packet_id, packet)? else {
        return Ok(Target::NoEntity);
    };
    if Some(at.value) == map.player() {
        return Ok(Target::OwnPlayer);
    }
    let Some((link, backend_id)) = map.to_backend(at.value) else {
        return Ok(Target::Unknown {
            client_id: at.value,
        });
    };
    apply_one(packet, Edit::varint(at, backend_id));
    Ok(Target::Link { link, backend_id })
}

/// Rewrites the player's client id in a packet [`rewrite_serverbound`] called
/// [`Target::OwnPlayer`] to `link`'s backend id for the player. Returns whether the bytes changed;
/// a link without a known player id gets the packet unchanged.
pub fn rewrite_for_player_link(
    map: &EntityMap,
    link: LinkId,
    packet_id: i32,
    packet: &mut BytesMut,
) -> Result<bool, RewriteError> {
    let Some(at) = entity_field(packet_id, packet)? else {
        return Ok(false);
    };
    match map.player_backend_id(link) {
        Some(backend_id) if Some(at.value) == map.player() => {
            Ok(apply_one(packet, Edit::varint(at, backend_id)))
        }
        _ => Ok(false),
    }
}

/// The entity id field of a serverbound packet, if it has one. Every one is a VarInt.
fn entity_field(packet_id: i32, packet: &[u8]) -> Result<Option<VarIntAt>, RewriteError> {
    let mut r = Reader::new(packet, 0);
    let found = r.varint()?.value;
    if found != packet_id {
        return Err(RewriteError::PacketIdMismatch {
            expected: packet_id,
            found,
        });
    }
    match packet_id {
        id::ATTACK
        | id::INTERACT
        | id::PICK_ITEM_FROM_ENTITY
        | id::PLAYER_COMMAND
        | id::SET_COMMAND_MINECART
        | id::SPECTATE_ENTITY => Ok(Some(r.varint()?)),
        id::ENTITY_TAG_QUERY => {
            r.varint()?; // transaction id
            Ok(Some(r.varint()?))
        }
        _ => Ok(None),
    }
}
