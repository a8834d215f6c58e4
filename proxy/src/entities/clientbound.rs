//! Rewriting clientbound play packets: backend ids to client ids.

use azalea_protocol::packets::game::ClientboundGamePacket;
use bytes::{BufMut, BytesMut};
use meridian_wire::{
    conn::{decode_packet, encode_packet},
    ids::game::clientbound as id,
    varint::write_varint,
};

use super::{
    EntityMap, LinkId,
    codec::{Edit, Reader, RewriteError, apply, apply_one},
    kinds,
    metadata::{self, MetaError},
};

/// What became of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewritten {
    /// The bytes are as they came (no entity id, or every id maps to itself): the original frame,
    /// still compressed, can be forwarded.
    Unchanged,
    /// Ids were rewritten in the buffer.
    Changed,
    /// Nothing is left for the client: a `remove_entities` whose every entity is still shown from
    /// another link (or was never shown). Do not forward.
    Drop,
}

impl Rewritten {
    fn from_changed(changed: bool) -> Self {
        if changed {
            Rewritten::Changed
        } else {
            Rewritten::Unchanged
        }
    }
}

/// Whether a clientbound play packet can carry an entity id, so must go through
/// [`rewrite_clientbound`]; every other packet can be forwarded without looking inside.
pub fn carries_entity_ids(packet_id: i32) -> bool {
    matches!(
        packet_id,
        id::ADD_ENTITY
            | id::ANIMATE
            | id::BLOCK_DESTRUCTION
            | id::DAMAGE_EVENT
            | id::DEBUG_ENTITY_VALUE
            | id::ENTITY_EVENT
            | id::ENTITY_POSITION_SYNC
            | id::MOUNT_SCREEN_OPEN
            | id::HURT_ANIMATION
            | id::LEVEL_PARTICLES
            | id::LOGIN
            | id::MOVE_ENTITY_POS
            | id::MOVE_ENTITY_POS_ROT
            | id::MOVE_MINECART_ALONG_TRACK
            | id::MOVE_ENTITY_ROT
            | id::PLAYER_COMBAT_KILL
            | id::PLAYER_LOOK_AT
            | id::REMOVE_ENTITIES
            | id::REMOVE_MOB_EFFECT
            | id::ROTATE_HEAD
            | id::SET_CAMERA
            | id::SET_ENTITY_DATA
            | id::SET_ENTITY_LINK
            | id::SET_ENTITY_MOTION
            | id::SET_EQUIPMENT
            | id::SET_PASSENGERS
            | id::SOUND_ENTITY
            | id::TAKE_ITEM_ENTITY
            | id::TELEPORT_ENTITY
            | id::UPDATE_ATTRIBUTES
            | id::UPDATE_MOB_EFFECT
            | id::PROJECTILE_POWER
    )
}

/// Rewrites the entity ids in a clientbound play packet from `link` (`packet`: id then fields,
/// uncompressed) to the client's ids, allocating ids for entities seen for the first time.
///
/// On error the packet is unchanged and the map may hold new (harmless) allocations, but no
/// entity was released.
pub fn rewrite_clientbound(
    map: &mut EntityMap,
    link: LinkId,
    packet_id: i32,
    packet: &mut BytesMut,
) -> Result<Rewritten, RewriteError> {
    let mut r = Reader::new(packet, 0);
    let found = r.varint()?.value;
    if found != packet_id {
        return Err(RewriteError::PacketIdMismatch {
            expected: packet_id,
            found,
        });
    }
    match packet_id {
        // The entity id is the first field, a VarInt; the rest does not matter.
        id::ANIMATE
        | id::BLOCK_DESTRUCTION
        | id::DEBUG_ENTITY_VALUE
        | id::ENTITY_POSITION_SYNC
        | id::HURT_ANIMATION
        | id::MOVE_ENTITY_POS
        | id::MOVE_ENTITY_POS_ROT
        | id::MOVE_MINECART_ALONG_TRACK
        | id::MOVE_ENTITY_ROT
        | id::PLAYER_COMBAT_KILL
        | id::REMOVE_MOB_EFFECT
        | id::ROTATE_HEAD
        | id::SET_CAMERA
        | id::SET_ENTITY_MOTION
        | id::SET_EQUIPMENT
        | id::TELEPORT_ENTITY
        | id::UPDATE_ATTRIBUTES
        | id::UPDATE_MOB_EFFECT
        | id::PROJECTILE_POWER => {
            let at = r.varint()?;
            let client = map.map(link, at.value);
            Ok(Rewritten::from_changed(apply_one(
                packet,
                Edit::varint(at, client),
            )))
        }
        id::ENTITY_EVENT => {
            let (backend, start) = r.i32()?;
            let client = map.map(link, backend);
            Ok(Rewritten::from_changed(apply_one(
                packet,
                Edit::int(start, backend, client),
            )))
        }
        id::LOGIN => {
            let (backend, start) = r.i32()?;
            let client = map
                .login(link, backend)
                .map_err(|_| RewriteError::Malformed("player id conflict"))?;
            Ok(Rewritten::from_changed(apply_one(
                packet,
                Edit::int(start, backend, client),
            )))
        }
        id::ADD_ENTITY => add_entity(map, link, packet, r.pos()),
        id::REMOVE_ENTITIES => remove_entities(map, link, packet, r.pos()),
        id::SET_ENTITY_DATA => set_entity_data(map, link, packet, r.pos()),
        id::SET_PASSENGERS => {
            let vehicle = r.varint()?;
            let count = r.length()?;
            if count > r.remaining() {
                return Err(RewriteError::Truncated);
            }
            let mut ids = Vec::with_capacity(count + 1);
            ids.push(vehicle);
            for _ in 0..count {
                ids.push(r.varint()?);
            }
            let edits: Vec<Edit> = ids
                .into_iter()
                .filter_map(|at| Edit::varint(at, map.map(link, at.value)))
                .collect();
            Ok(Rewritten::from_changed(apply(packet, &edits)))
        }
        id::SET_ENTITY_LINK => {
            let (source, source_at) = r.i32()?;
            let (dest, dest_at) = r.i32()?;
            let edits: Vec<Edit> = [
                Edit::int(source_at, source, map.map(link, source)),
                // 0: the leash was dropped.
                Edit::int(
                    dest_at,
                    dest,
                    if dest == 0 { 0 } else { map.map(link, dest) },
                ),
            ]
            .into_iter()
            .flatten()
            .collect();
            Ok(Rewritten::from_changed(apply(packet, &edits)))
        }
        id::TAKE_ITEM_ENTITY => {
            let item = r.varint()?;
            let collector = r.varint()?;
            let edits: Vec<Edit> = [
                Edit::varint(item, map.map(link, item.value)),
                Edit::varint(collector, map.map(link, collector.value)),
            ]
            .into_iter()
            .flatten()
            .collect();
            Ok(Rewritten::from_changed(apply(packet, &edits)))
        }
        id::DAMAGE_EVENT => {
            let entity = r.varint()?;
            r.varint()?; // damage type
            let cause = r.varint()?;
            let direct = r.varint()?;
            let mut plus_one = |at: super::codec::VarIntAt| match at.value {
                0 => None,
                v => Edit::varint(at, map.map(link, v.wrapping_sub(1)).wrapping_add(1)),
            };
            let cause_edit = plus_one(cause);
            let direct_edit = plus_one(direct);
            let edits: Vec<Edit> = [
                Edit::varint(entity, map.map(link, entity.value)),
                cause_edit,
                direct_edit,
            ]
            .into_iter()
            .flatten()
            .collect();
            Ok(Rewritten::from_changed(apply(packet, &edits)))
        }
        id::MOUNT_SCREEN_OPEN => {
            r.varint()?; // container id
            r.varint()?; // inventory columns
            let (entity, start) = r.i32()?;
            let client = map.map(link, entity);
            Ok(Rewritten::from_changed(apply_one(
                packet,
                Edit::int(start, entity, client),
            )))
        }
        id::PLAYER_LOOK_AT => {
            r.varint()?; // from anchor
            r.skip(24)?; // target position
            if !r.bool()? {
                return Ok(Rewritten::Unchanged);
            }
            let at = r.varint()?;
            r.varint()?; // to anchor
            let client = map.map(link, at.value);
            Ok(Rewritten::from_changed(apply_one(
                packet,
                Edit::varint(at, client),
            )))
        }
        id::SOUND_ENTITY => {
            // `Holder<SoundEvent>`: registry id + 1, or 0 and the event inline.
            if r.varint()?.value == 0 {
                r.string()?;
                if r.bool()? {
                    r.skip(4)?;
                }
            }
            r.varint()?; // sound source
            let at = r.varint()?;
            let client = map.map(link, at.value);
            Ok(Rewritten::from_changed(apply_one(
                packet,
                Edit::varint(at, client),
            )))
        }
        id::LEVEL_PARTICLES => {
            // Two flags, the position, the spread, the speed and the count come first.
            r.skip(2 + 24 + 12 + 4 + 4)?;
            let mut edits = Vec::new();
            match metadata::particle_options(map, link, &mut r, &mut edits) {
                Ok(()) => Ok(Rewritten::from_changed(apply(packet, &edits))),
                // Only an `item` particle is opaque, and it holds no entity id.
                Err(MetaError::Opaque) => Ok(Rewritten::Unchanged),
                Err(MetaError::Malformed(e)) => Err(e),
            }
        }
        _ => Ok(Rewritten::Unchanged),
    }
}

fn add_entity(
    map: &mut EntityMap,
    link: LinkId,
    packet: &mut BytesMut,
    body: usize,
) -> Result<Rewritten, RewriteError> {
    let mut r = Reader::new(packet, body);
    let entity = r.varint()?;
    r.skip(16)?; // uuid
    let kind = r.varint()?.value;
    r.skip(24)?; // position
    r.lp_vec3()?; // movement
    r.skip(3)?; // x rotation, y rotation, head rotation
    let data = r.varint()?;
    let client = map.show(link, entity.value, kind);
    let mut edits = Vec::with_capacity(2);
    edits.extend(Edit::varint(entity, client));
    // The owner: 0 is "none" for projectiles; a fishing bobber without an owner names itself,
    // which maps like any other id now that it is shown.
    if kinds::data_is_entity_id(kind) && data.value != 0 {
        edits.extend(Edit::varint(data, map.map(link, data.value)));
    }
    Ok(Rewritten::from_changed(apply(packet, &edits)))
}

fn remove_entities(
    map: &mut EntityMap,
    link: LinkId,
    packet: &mut BytesMut,
    body: usize,
) -> Result<Rewritten, RewriteError> {
    let mut r = Reader::new(packet, body);
    let count = r.length()?;
    if count > r.remaining() {
        return Err(RewriteError::Truncated);
    }
    let mut ids = Vec::with_capacity(count);
    for _ in 0..count {
        ids.push(r.varint()?.value);
    }
    // Only now, with the whole list read, is anything released.
    let freed: Vec<i32> = ids
        .iter()
        .filter_map(|&backend| map.release(link, backend))
        .collect();
    if freed.is_empty() {
        return Ok(Rewritten::Drop);
    }
    if freed == ids {
        return Ok(Rewritten::Unchanged);
    }
    let end = r.pos();
    let mut out = BytesMut::with_capacity(packet.len() + 5 * freed.len());
    out.extend_from_slice(&packet[..body]);
    write_varint(&mut out, freed.len() as i32);
    for client in &freed {
        write_varint(&mut out, *client);
    }
    out.put_slice(&packet[end..]);
    *packet = out;
    Ok(Rewritten::Changed)
}

fn set_entity_data(
    map: &mut EntityMap,
    link: LinkId,
    packet: &mut BytesMut,
    body: usize,
) -> Result<Rewritten, RewriteError> {
    let mut r = Reader::new(packet, body);
    let entity = r.varint()?;
    let client = map.map(link, entity.value);
    let kind = map.kind(client);
    let Some(kind) = kind.filter(|&k| metadata::has_entity_ids(k)) else {
        return Ok(Rewritten::from_changed(apply_one(
            packet,
            Edit::varint(entity, client),
        )));
    };
    let mut edits = Vec::new();
    edits.extend(Edit::varint(entity, client));
    match metadata::entries(map, link, kind, &mut r, &mut edits) {
        Ok(()) => Ok(Rewritten::from_changed(apply(packet, &edits))),
        Err(MetaError::Malformed(e)) => Err(e),
        Err(MetaError::Opaque) => set_entity_data_decoded(map, link, kind, client, packet),
    }
}

/// Rewrites metadata with an entry the hand parser cannot skip (an item stack, in practice a
/// firework rocket's): azalea decodes the packet, each entry is re-encoded on its own to learn its
/// bytes, and the id entries among them are rewritten by hand.
fn set_entity_data_decoded(
    map: &mut EntityMap,
    link: LinkId,
    kind: i32,
    client: i32,
    packet: &mut BytesMut,
) -> Result<Rewritten, RewriteError> {
    let decoded = decode_packet::<ClientboundGamePacket>(packet)
        .map_err(|e| RewriteError::Undecodable(e.to_string()))?;
    let ClientboundGamePacket::SetEntityData(mut data) = decoded else {
        return Err(RewriteError::Malformed("not a set_entity_data"));
    };
    let items = std::mem::take(&mut data.packed_items.0);
    let mut out = BytesMut::with_capacity(packet.len() + 8);
    write_varint(&mut out, id::SET_ENTITY_DATA);
    write_varint(&mut out, client);
    for item in items {
        let mut single = data.clone();
        single.packed_items.0.push(item);
        let bytes = encode_packet(&ClientboundGamePacket::SetEntityData(single))
            .map_err(|e| RewriteError::Undecodable(e.to_string()))?;
        let mut r = Reader::new(&bytes, 0);
        r.varint()?; // packet id
        r.varint()?; // entity id
        let start = r.pos();
        // `bytes[start..]` is this one entry and the terminator.
        let mut entry = BytesMut::from(&bytes[start..]);
        let mut edits = Vec::new();
        let mut er = Reader::new(&entry, 0);
        match metadata::entries(map, link, kind, &mut er, &mut edits) {
            Ok(()) => {
                apply(&mut entry, &edits);
            }
            // An item stack, or a particle list holding an `item` particle: no id to rewrite that
            // the hand parser could reach, so the entry goes as azalea wrote it.
            Err(MetaError::Opaque) => {}
            Err(MetaError::Malformed(e)) => return Err(e),
        }
        out.extend_from_slice(
            entry
                .get(..entry.len().saturating_sub(1))
                .unwrap_or_default(),
        );
    }
    out.put_u8(0xff);
    let changed = out[..] != packet[..];
    *packet = out;
    Ok(Rewritten::from_changed(changed))
}
