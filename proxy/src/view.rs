//! The client's view, as pure functions and plain state: which chunk each packet is about, and
//! which link each shown chunk came from.
//!
//! Each chunk is shown from the backend that owns it. The proxy remembers which link a shown chunk
//! came from, so an unload from another link never hides it, and a closing link takes exactly its
//! own chunks with it.

use std::collections::HashMap;

use meridian_wire::{ids::game::clientbound, varint::read_varint};
use zoning::ChunkPos;

use crate::entities::LinkId;

/// What a clientbound packet does to a chunk column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkPacket {
    /// Chunk data: the client now has this chunk.
    Load(ChunkPos),
    /// The client drops this chunk.
    Unload(ChunkPos),
    /// Something inside this chunk changed (light, a block, a block entity, an effect).
    Update(ChunkPos),
}

/// The chunk a play packet concerns, from its fields after the id; `None` when the packet is
/// not about one chunk, `Err` when its fields are too short.
pub fn chunk_packet(id: i32, fields: &[u8]) -> Result<Option<ChunkPacket>, Truncated> {
    let packet = match id {
        clientbound::LEVEL_CHUNK_WITH_LIGHT => {
            ChunkPacket::Load(ChunkPos::new(int(fields, 0)?, int(fields, 4)?))
        }
        // A packed long: z in the high half, so z comes first on the wire.
        clientbound::FORGET_LEVEL_CHUNK => {
            ChunkPacket::Unload(ChunkPos::new(int(fields, 4)?, int(fields, 0)?))
        }
        clientbound::LIGHT_UPDATE => {
            let (x, n) = read_varint(fields).map_err(|_| Truncated)?;
            let (z, _) = read_varint(&fields[n..]).map_err(|_| Truncated)?;
            ChunkPacket::Update(ChunkPos::new(x, z))
        }
        clientbound::BLOCK_UPDATE | clientbound::BLOCK_ENTITY_DATA | clientbound::BLOCK_EVENT => {
            ChunkPacket::Update(block_chunk(long(fields, 0)?))
        }
        clientbound::LEVEL_EVENT => ChunkPacket::Update(block_chunk(long(fields, 4)?)),
        clientbound::BLOCK_DESTRUCTION => {
            let (_, n) = read_varint(fields).map_err(|_| Truncated)?;
            ChunkPacket::Update(block_chunk(long(fields, n)?))
        }
        clientbound::SECTION_BLOCKS_UPDATE => {
            let packed = long(fields, 0)?;
            ChunkPacket::Update(ChunkPos::new(
                (packed >> 42) as i32,
                (packed << 22 >> 42) as i32,
            ))
        }
        _ => return Ok(None),
    };
    Ok(Some(packet))
}

/// The fields of a packet ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("packet is truncated")]
pub struct Truncated;

fn int(fields: &[u8], at: usize) -> Result<i32, Truncated> {
    let bytes = fields.get(at..at + 4).ok_or(Truncated)?;
    Ok(i32::from_be_bytes(bytes.try_into().map_err(|_| Truncated)?))
}

fn long(fields: &[u8], at: usize) -> Result<i64, Truncated> {
    let bytes = fields.get(at..at + 8).ok_or(Truncated)?;
    Ok(i64::from_be_bytes(bytes.try_into().map_err(|_| Truncated)?))
}

/// The chunk of a packed block position (x: 26 bits, z: 26 bits, y: 12 bits, all signed).
fn block_chunk(packed: i64) -> ChunkPos {
    let x = (packed >> 38) as i32;
    let z = (packed << 26 >> 38) as i32;
    ChunkPos::new(x >> 4, z >> 4)
}

/// The position in an `add_entity`: after the id (VarInt), the UUID and the type (VarInt).
pub fn add_entity_position(fields: &[u8]) -> Result<[f64; 3], Truncated> {
    let (_, id_len) = read_varint(fields).map_err(|_| Truncated)?;
    let at = id_len + 16;
    let (_, type_len) = read_varint(fields.get(at..).ok_or(Truncated)?).map_err(|_| Truncated)?;
    let at = at + type_len;
    let double = |i: usize| -> Result<f64, Truncated> {
        let bytes = fields.get(at + 8 * i..at + 8 * i + 8).ok_or(Truncated)?;
        Ok(f64::from_be_bytes(bytes.try_into().map_err(|_| Truncated)?))
    };
    Ok([double(0)?, double(1)?, double(2)?])
}

/// Which link each chunk the client has came from.
#[derive(Debug, Default)]
pub struct ChunkView {
    shown: HashMap<ChunkPos, LinkId>,
}

impl ChunkView {
    /// Records that `link` sent chunk data for `pos`.
    pub fn loaded(&mut self, pos: ChunkPos, link: LinkId) {
        self.shown.insert(pos, link);
    }

    /// Whether an unload of `pos` from `link` should reach the client: only if the client's copy
    /// came from that link.
    pub fn unload(&mut self, pos: ChunkPos, link: LinkId) -> bool {
        if self.shown.get(&pos) == Some(&link) {
            self.shown.remove(&pos);
            true
        } else {
            false
        }
    }

    /// Forgets every chunk shown from `link`, returning them so the client can be told.
    pub fn drop_link(&mut self, link: LinkId) -> Vec<ChunkPos> {
        let gone: Vec<ChunkPos> = self
            .shown
            .iter()
            .filter(|(_, l)| **l == link)
            .map(|(p, _)| *p)
            .collect();
        for pos in &gone {
            self.shown.remove(pos);
        }
        gone
    }

    /// The link a chunk is shown from.
    pub fn source(&self, pos: ChunkPos) -> Option<LinkId> {
        self.shown.get(&pos).copied()
    }

    /// Every shown chunk and the link it is shown from, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (ChunkPos, LinkId)> + '_ {
        self.shown.iter().map(|(pos, link)| (*pos, *link))
    }

    pub fn len(&self) -> usize {
        self.shown.len()
    }

    pub fn is_empty(&self) -> bool {
        self.shown.is_empty()
    }
}

/// The `forget_level_chunk` packet for `pos` (id then fields).
pub fn forget_chunk_packet(pos: ChunkPos) -> Vec<u8> {
    let mut packet = Vec::with_capacity(9);
    packet.push(clientbound::FORGET_LEVEL_CHUNK as u8);
    packet.extend_from_slice(&pos.z.to_be_bytes());
    packet.extend_from_slice(&pos.x.to_be_bytes());
    packet
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed_block(x: i64, y: i64, z: i64) -> i64 {
        ((x & 0x3ff_ffff) << 38) | ((z & 0x3ff_ffff) << 12) | (y & 0xfff)
    }

    #[test]
    fn chunk_data_and_unload_positions() {
        let mut load = (-3i32).to_be_bytes().to_vec();
        load.extend_from_slice(&7i32.to_be_bytes());
        assert_eq!(
            chunk_packet(clientbound::LEVEL_CHUNK_WITH_LIGHT, &load),
            Ok(Some(ChunkPacket::Load(ChunkPos::new(-3, 7))))
        );
        let forget = forget_chunk_packet(ChunkPos::new(-3, 7));
        assert_eq!(forget[0] as i32, clientbound::FORGET_LEVEL_CHUNK);
        assert_eq!(
            chunk_packet(clientbound::FORGET_LEVEL_CHUNK, &forget[1..]),
            Ok(Some(ChunkPacket::Unload(ChunkPos::new(-3, 7))))
        );
    }

    #[test]
    fn block_positions_round_down_to_their_chunk() {
        let fields = packed_block(-1, 63, -17).to_be_bytes();
        assert_eq!(
            chunk_packet(clientbound::BLOCK_UPDATE, &fields),
            Ok(Some(ChunkPacket::Update(ChunkPos::new(-1, -2))))
        );
        let fields = packed_block(16, -64, 15).to_be_bytes();
        assert_eq!(
            chunk_packet(clientbound::BLOCK_UPDATE, &fields),
            Ok(Some(ChunkPacket::Update(ChunkPos::new(1, 0))))
        );
        // level_event: an int before the position.
        let mut fields = 2001i32.to_be_bytes().to_vec();
        fields.extend_from_slice(&packed_block(-33, 0, 40).to_be_bytes());
        assert_eq!(
            chunk_packet(clientbound::LEVEL_EVENT, &fields),
            Ok(Some(ChunkPacket::Update(ChunkPos::new(-3, 2))))
        );
    }

    #[test]
    fn section_and_light_positions() {
        let section: i64 =
            ((-2i64 & 0x3f_ffff) << 42) | ((5i64 & 0x3f_ffff) << 20) | (3 & 0xf_ffff);
        assert_eq!(
            chunk_packet(clientbound::SECTION_BLOCKS_UPDATE, &section.to_be_bytes()),
            Ok(Some(ChunkPacket::Update(ChunkPos::new(-2, 5))))
        );
        let mut light = Vec::new();
        meridian_wire::varint::write_varint(&mut light, -1);
        meridian_wire::varint::write_varint(&mut light, 4);
        assert_eq!(
            chunk_packet(clientbound::LIGHT_UPDATE, &light),
            Ok(Some(ChunkPacket::Update(ChunkPos::new(-1, 4))))
        );
    }

    #[test]
    fn truncated_fields_are_errors_and_others_are_not_chunks() {
        assert_eq!(
            chunk_packet(clientbound::LEVEL_CHUNK_WITH_LIGHT, &[0, 0, 0]),
            Err(Truncated)
        );
        assert_eq!(chunk_packet(clientbound::BLOCK_UPDATE, &[]), Err(Truncated));
        assert_eq!(chunk_packet(clientbound::SYSTEM_CHAT, &[]), Ok(None));
    }

    #[test]
    fn add_entity_position_is_read_after_uuid_and_type() {
        let mut fields = Vec::new();
        meridian_wire::varint::write_varint(&mut fields, 300);
        fields.extend_from_slice(&[0xab; 16]);
        meridian_wire::varint::write_varint(&mut fields, 150);
        for v in [-12.5f64, 64.0, 6.5] {
            fields.extend_from_slice(&v.to_be_bytes());
        }
        assert_eq!(add_entity_position(&fields), Ok([-12.5, 64.0, 6.5]));
        assert_eq!(add_entity_position(&fields[..30]), Err(Truncated));
    }

    #[test]
    fn an_unload_from_another_link_never_hides_a_chunk() {
        let (west, east) = (LinkId(0), LinkId(1));
        let mut view = ChunkView::default();
        view.loaded(ChunkPos::new(0, 0), east);
        view.loaded(ChunkPos::new(-1, 0), west);
        assert!(!view.unload(ChunkPos::new(0, 0), west));
        assert_eq!(view.source(ChunkPos::new(0, 0)), Some(east));
        assert_eq!(view.drop_link(east), vec![ChunkPos::new(0, 0)]);
        assert!(view.unload(ChunkPos::new(-1, 0), west));
        assert!(view.is_empty());
    }
}
