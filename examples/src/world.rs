//! The flat world and its chunk encoding.
//!
//! Every chunk column is the same, so the section data, heightmaps and light are encoded once
//! per backend and shared (`Arc`) by every chunk packet; only the coordinates differ.
//!
//! Layers: bedrock at y = -64, stone up to 59, dirt 60..=62, grass at 63; players stand at 64.

use std::sync::Arc;

use azalea_block::{BlockState, blocks};
use azalea_core::{bitset::BitSet, heightmap_kind::HeightmapKind};
use azalea_core::{
    entity_id::MinecraftEntityId,
    game_type::{GameMode, OptionalGameType},
};
use azalea_protocol::packets::{
    common::CommonPlayerSpawnInfo,
    game::{
        c_level_chunk_with_light::{
            ClientboundLevelChunkPacketData, ClientboundLevelChunkWithLight,
        },
        c_light_update::ClientboundLightUpdatePacketData,
        c_login::ClientboundLogin,
    },
};
use azalea_registry::{DataRegistry, data::DimensionKind, identifier::Identifier};
use bytes::BufMut;
use meridian_wire::varint::write_varint;

use crate::config::{MAX_Y, MIN_Y};

/// The only dimension this world has.
pub const OVERWORLD: &str = "minecraft:overworld";

/// The play `login` of a player in this world: flat overworld, no hardcore, view and
/// simulation distance `view_distance`. `dimension_type` is the overworld's index in the
/// dimension-type registry the client was sent.
pub fn play_login(
    entity_id: i32,
    dimension_type: u32,
    view_distance: u32,
    game_type: GameMode,
    max_players: i32,
) -> ClientboundLogin {
    ClientboundLogin {
        player_id: MinecraftEntityId(entity_id),
        hardcore: false,
        levels: vec![Identifier::new(OVERWORLD)],
        max_players,
        chunk_radius: view_distance,
        simulation_distance: view_distance,
        reduced_debug_info: false,
        show_death_screen: true,
        do_limited_crafting: false,
        common: CommonPlayerSpawnInfo {
            dimension_type: DimensionKind::new_raw(dimension_type),
            dimension: Identifier::new(OVERWORLD),
            seed: 0,
            game_type,
            previous_game_type: OptionalGameType(None),
            is_debug: false,
            is_flat: true,
            last_death_location: None,
            portal_cooldown: 0,
            sea_level: GROUND_Y,
        },
        enforces_secure_chat: false,
    }
}

/// The top solid block; players stand one above.
pub const GROUND_Y: i32 = 63;
/// Sections in a column (-64..320).
pub const SECTIONS: usize = ((MAX_Y - MIN_Y) / 16) as usize;
/// Light sections: one more below and above the world.
const LIGHT_SECTIONS: usize = SECTIONS + 2;
const SECTION_VOLUME: usize = 16 * 16 * 16;

/// The block at height `y` in every column.
pub fn block_at(y: i32) -> BlockState {
    match y {
        MIN_Y => blocks::Bedrock {}.into(),
        y if y < 60 => blocks::Stone {}.into(),
        y if y < GROUND_Y => blocks::Dirt {}.into(),
        GROUND_Y => blocks::GrassBlock { snowy: false }.into(),
        _ => BlockState::AIR,
    }
}

/// The chunk coordinate holding block coordinate `v`.
pub fn chunk_coord(v: f64) -> i32 {
    // `as` saturates, and positions are validated to be far inside i32.
    (v.floor() as i32) >> 4
}

/// Whether chunk `(x, z)` is within `radius` of `center` (a square, as the client's own cache
/// is; it keeps `radius + 3`, so this never sends a chunk the client would drop).
pub fn in_view(center: (i32, i32), chunk: (i32, i32), radius: i32) -> bool {
    (chunk.0 - center.0).abs() <= radius && (chunk.1 - center.1).abs() <= radius
}

/// Every chunk within `radius` of `center`, nearest first so the ground under the player
/// arrives before the horizon.
pub fn chunks_in_view(center: (i32, i32), radius: i32) -> Vec<(i32, i32)> {
    let mut chunks: Vec<(i32, i32)> = (-radius..=radius)
        .flat_map(|dx| (-radius..=radius).map(move |dz| (center.0 + dx, center.1 + dz)))
        .collect();
    chunks.sort_by_key(|&(x, z)| (x - center.0).pow(2) + (z - center.1).pow(2));
    chunks
}

/// The encoded flat world.
#[derive(Debug, Clone)]
pub struct FlatWorld {
    sections: Arc<Box<[u8]>>,
    heightmaps: Vec<(HeightmapKind, Box<[u64]>)>,
    light: ClientboundLightUpdatePacketData,
}

impl FlatWorld {
    /// Encodes the world once; `biome` is the registry id of the biome every column has.
    pub fn new(biome: u32) -> Self {
        let mut sections = Vec::new();
        for section in 0..SECTIONS {
            let base = MIN_Y + 16 * section as i32;
            encode_section(&mut sections, |y| u32::from(block_at(base + y)), biome);
        }
        Self {
            sections: Arc::new(sections.into_boxed_slice()),
            heightmaps: heightmaps(),
            light: light(),
        }
    }

    /// The packet for column `(x, z)`.
    pub fn chunk_packet(&self, x: i32, z: i32) -> ClientboundLevelChunkWithLight {
        ClientboundLevelChunkWithLight {
            x,
            z,
            chunk_data: ClientboundLevelChunkPacketData {
                heightmaps: self.heightmaps.clone(),
                data: self.sections.clone(),
                block_entities: Vec::new(),
            },
            light_data: self.light.clone(),
        }
    }
}

/// One section: non-air count, fluid count (new in 26.1), block states, biomes. Since 1.21.5 a
/// paletted container has no length before its longs: the client computes it.
fn encode_section(out: &mut Vec<u8>, block_at_y: impl Fn(i32) -> u32, biome: u32) {
    let layers: Vec<u32> = (0..16).map(&block_at_y).collect();
    let non_air = layers.iter().filter(|&&s| s != 0).count() * 256;
    out.put_i16(non_air as i16);
    out.put_i16(0);

    let mut palette: Vec<u32> = Vec::new();
    for &state in &layers {
        if !palette.contains(&state) {
            palette.push(state);
        }
    }
    if let [single] = palette[..] {
        out.put_u8(0);
        write_varint(out, single as i32);
    } else {
        // Blocks use an indirect palette of 4 to 8 bits.
        let bits = (usize::BITS - (palette.len() - 1).leading_zeros()).max(4) as usize;
        out.put_u8(bits as u8);
        write_varint(out, palette.len() as i32);
        for &state in &palette {
            write_varint(out, state as i32);
        }
        let per_long = 64 / bits;
        let mut longs = vec![0u64; SECTION_VOLUME.div_ceil(per_long)];
        for index in 0..SECTION_VOLUME {
            // Index is (y << 8) | (z << 4) | x: the layer is the top bits.
            let layer = layers[index >> 8];
            let entry = palette.iter().position(|&s| s == layer).unwrap_or(0) as u64;
            longs[index / per_long] |= entry << ((index % per_long) * bits);
        }
        for long in longs {
            out.put_u64(long);
        }
    }

    out.put_u8(0);
    write_varint(out, biome as i32);
}

/// The heightmaps the client keeps: the first free block above the ground, relative to the
/// world's bottom, for each of the 256 columns.
fn heightmaps() -> Vec<(HeightmapKind, Box<[u64]>)> {
    let bits = (u32::BITS - ((MAX_Y - MIN_Y) as u32).leading_zeros()) as usize;
    let per_long = 64 / bits;
    let height = (GROUND_Y + 1 - MIN_Y) as u64;
    let mut longs = vec![0u64; 256usize.div_ceil(per_long)];
    for column in 0..256 {
        longs[column / per_long] |= height << ((column % per_long) * bits);
    }
    let longs: Box<[u64]> = longs.into();
    [
        HeightmapKind::WorldSurface,
        HeightmapKind::MotionBlocking,
        HeightmapKind::MotionBlockingNoLeaves,
    ]
    .into_iter()
    .map(|kind| (kind, longs.clone()))
    .collect()
}

/// Full sky light in every section that holds air, none in the ground, no block light.
/// Light section `i` is block section `i - 1`.
fn light() -> ClientboundLightUpdatePacketData {
    let mut sky = BitSet::new(LIGHT_SECTIONS);
    let mut empty_sky = BitSet::new(LIGHT_SECTIONS);
    let mut empty_block = BitSet::new(LIGHT_SECTIONS);
    let mut sky_updates = Vec::new();
    for i in 0..LIGHT_SECTIONS {
        empty_block.set(i);
        let top_of_section = MIN_Y + 16 * i as i32 - 1;
        if top_of_section > GROUND_Y {
            sky.set(i);
            sky_updates.push(vec![0xffu8; 2048].into_boxed_slice());
        } else {
            empty_sky.set(i);
        }
    }
    ClientboundLightUpdatePacketData {
        sky_y_mask: sky,
        block_y_mask: BitSet::new(LIGHT_SECTIONS),
        empty_sky_y_mask: empty_sky,
        empty_block_y_mask: empty_block,
        sky_updates: Arc::new(sky_updates.into_boxed_slice()),
        block_updates: Arc::new(Box::new([])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers() {
        assert_eq!(block_at(-64), blocks::Bedrock {}.into());
        assert_eq!(block_at(0), blocks::Stone {}.into());
        assert_eq!(block_at(62), blocks::Dirt {}.into());
        assert_eq!(block_at(63), blocks::GrassBlock { snowy: false }.into());
        assert!(block_at(64).is_air());
        assert_eq!(SECTIONS, 24);
    }

    #[test]
    fn uniform_sections_are_single_valued() {
        let mut out = Vec::new();
        encode_section(&mut out, |_| 1, 40);
        assert_eq!(out, [0x10, 0x00, 0, 0, 0, 1, 0, 40]);
        out.clear();
        encode_section(&mut out, |_| 0, 40);
        assert_eq!(out, [0, 0, 0, 0, 0, 0, 0, 40]);
    }

    #[test]
    fn mixed_section_uses_a_four_bit_palette() {
        let mut out = Vec::new();
        encode_section(&mut out, |y| if y == 15 { 9 } else { 1 }, 0);
        // counts, bits, palette [1, 9], 256 longs, biome.
        assert_eq!(&out[..8], &[0x10, 0x00, 0, 0, 4, 2, 1, 9]);
        assert_eq!(out.len(), 8 + 256 * 8 + 2);
        // Layer 15 (the last 256 entries: longs 240..256) is palette entry 1.
        let long = |i: usize| u64::from_be_bytes(out[8 + i * 8..16 + i * 8].try_into().unwrap());
        assert_eq!(long(0), 0);
        assert_eq!(long(240), 0x1111_1111_1111_1111);
    }

    #[test]
    fn view_is_a_square_nearest_first() {
        let chunks = chunks_in_view((2, -3), 2);
        assert_eq!(chunks.len(), 25);
        assert_eq!(chunks[0], (2, -3));
        assert!(chunks.iter().all(|&c| in_view((2, -3), c, 2)));
        assert!(!in_view((0, 0), (3, 0), 2));
        assert_eq!(chunk_coord(-8.5), -1);
        assert_eq!(chunk_coord(15.9), 0);
        assert_eq!(chunk_coord(16.0), 1);
    }

    #[test]
    fn light_covers_air_only() {
        let light = light();
        // Sections from y = 64 up, plus the one above the world: 16 + 1.
        assert_eq!(light.sky_updates.len(), 17);
        assert!(light.sky_y_mask.index(9) && !light.sky_y_mask.index(8));
        assert!(light.empty_sky_y_mask.index(8));
    }
}
