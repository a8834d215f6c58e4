//! Entity ids inside entity metadata (`set_entity_data`) and inside particles.
//!
//! A metadata entry is `index: u8, serializer: VarInt, value`, the list ends with index `0xff`, and
//! an entry's meaning depends on the entity's type. The entries that hold entity ids in 26.1
//! (found by reading every `EntityDataSerializers.INT` and `OPTIONAL_UNSIGNED_INT` definition in
//! vanilla; indices agree in azalea-entity and minecraft-data):
//!
//! | type                          | index      | serializer              | encoding            |
//! |-------------------------------|------------|-------------------------|---------------------|
//! | `fishing_bobber`              | 8          | `INT` (1)               | id + 1, 0 = none    |
//! | `guardian`, `elder_guardian`  | 17         | `INT`                   | id, 0 = none        |
//! | `wither`                      | 16, 17, 18 | `INT`                   | id, 0 = none        |
//! | `firework_rocket`             | 9          | `OPTIONAL_UNSIGNED_INT` | id + 1, 0 = none    |
//! | `frog`                        | 19         | `OPTIONAL_UNSIGNED_INT` | id + 1, 0 = none    |
//!
//! Besides those, a `vibration` particle aimed at an entity carries the entity's id; particles
//! appear in metadata as `area_effect_cloud`'s particle (index 10) and every living entity's
//! effect particles (index 10). The former is rewritten (`area_effect_cloud` is parsed); living
//! entities' effect particles come from mob effects, none of which uses `vibration`, so those
//! types are not parsed. A player's shoulder parrots (`OPTIONAL_UNSIGNED_INT`) are parrot
//! variants, not ids.
//!
//! Values are skipped by hand, except the few serializers whose encoding is open-ended (item
//! stacks with their data components, resolvable profiles, inline painting variants, and the
//! `item` particle); when one of those comes up the packet is decoded with azalea to find where
//! each entry ends (see `set_entity_data_decoded` in the clientbound rewriter).

use super::{
    EntityMap, LinkId,
    codec::{Edit, Reader, RewriteError},
    kinds,
};

/// `EntityDataSerializers` registration order in 26.1.
pub(crate) mod serializer {
    pub const BYTE: i32 = 0;
    pub const INT: i32 = 1;
    pub const LONG: i32 = 2;
    pub const FLOAT: i32 = 3;
    pub const STRING: i32 = 4;
    pub const COMPONENT: i32 = 5;
    pub const OPTIONAL_COMPONENT: i32 = 6;
    pub const ITEM_STACK: i32 = 7;
    pub const BOOLEAN: i32 = 8;
    pub const ROTATIONS: i32 = 9;
    pub const BLOCK_POS: i32 = 10;
    pub const OPTIONAL_BLOCK_POS: i32 = 11;
    pub const DIRECTION: i32 = 12;
    pub const OPTIONAL_LIVING_ENTITY_REFERENCE: i32 = 13;
    pub const BLOCK_STATE: i32 = 14;
    pub const OPTIONAL_BLOCK_STATE: i32 = 15;
    pub const PARTICLE: i32 = 16;
    pub const PARTICLES: i32 = 17;
    pub const VILLAGER_DATA: i32 = 18;
    pub const OPTIONAL_UNSIGNED_INT: i32 = 19;
    pub const POSE: i32 = 20;
    /// `cat_variant` through `zombie_nautilus_variant`: twelve registry ids, one VarInt each.
    pub const FIRST_VARIANT: i32 = 21;
    pub const LAST_VARIANT: i32 = 32;
    pub const OPTIONAL_GLOBAL_POS: i32 = 33;
    pub const PAINTING_VARIANT: i32 = 34;
    /// `sniffer_state`, `armadillo_state`, `copper_golem_state`, `weathering_copper_state`.
    pub const FIRST_STATE: i32 = 35;
    pub const LAST_STATE: i32 = 38;
    pub const VECTOR3: i32 = 39;
    pub const QUATERNION: i32 = 40;
    pub const RESOLVABLE_PROFILE: i32 = 41;
    pub const HUMANOID_ARM: i32 = 42;
}

/// `minecraft:particle_type` ids in 26.1 of the particles that carry options.
pub(crate) mod particle {
    pub const BLOCK: i32 = 1;
    pub const BLOCK_MARKER: i32 = 2;
    pub const DRAGON_BREATH: i32 = 8;
    pub const DUST: i32 = 14;
    pub const DUST_COLOR_TRANSITION: i32 = 15;
    pub const EFFECT: i32 = 16;
    pub const ENTITY_EFFECT: i32 = 21;
    pub const FALLING_DUST: i32 = 29;
    pub const TINTED_LEAVES: i32 = 36;
    pub const SCULK_CHARGE: i32 = 38;
    pub const FLASH: i32 = 42;
    pub const INSTANT_EFFECT: i32 = 46;
    pub const ITEM: i32 = 47;
    pub const VIBRATION: i32 = 48;
    pub const TRAIL: i32 = 49;
    pub const SHRIEK: i32 = 105;
    pub const DUST_PILLAR: i32 = 111;
    pub const BLOCK_CRUMBLE: i32 = 115;
    /// The number of particle types; ids at or above it are malformed.
    pub const COUNT: i32 = 117;
}

/// `minecraft:position_source_type` ids.
const POSITION_SOURCE_BLOCK: i32 = 0;
const POSITION_SOURCE_ENTITY: i32 = 1;

/// How an id-valued metadata entry encodes "no entity".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// The id itself; 0 means none.
    Plain,
    /// The id plus one; 0 means none.
    PlusOne,
}

/// Whether metadata of this entity type can hold an entity id, so must be parsed.
pub(crate) fn has_entity_ids(kind: i32) -> bool {
    matches!(
        kind,
        kinds::FISHING_BOBBER
            | kinds::GUARDIAN
            | kinds::ELDER_GUARDIAN
            | kinds::WITHER
            | kinds::FIREWORK_ROCKET
            | kinds::FROG
            | kinds::AREA_EFFECT_CLOUD
    )
}

fn id_entry(kind: i32, index: u8, ser: i32) -> Option<Encoding> {
    use serializer::{INT, OPTIONAL_UNSIGNED_INT};
    match (kind, index, ser) {
        (kinds::FISHING_BOBBER, 8, INT) => Some(Encoding::PlusOne),
        (kinds::GUARDIAN | kinds::ELDER_GUARDIAN, 17, INT) => Some(Encoding::Plain),
        (kinds::WITHER, 16..=18, INT) => Some(Encoding::Plain),
        (kinds::FIREWORK_ROCKET, 9, OPTIONAL_UNSIGNED_INT) => Some(Encoding::PlusOne),
        (kinds::FROG, 19, OPTIONAL_UNSIGNED_INT) => Some(Encoding::PlusOne),
        _ => None,
    }
}

/// Why metadata could not be rewritten by hand.
#[derive(Debug)]
pub(crate) enum MetaError {
    Malformed(RewriteError),
    /// An entry's encoding is open-ended (item stack and the like): the caller must find entry
    /// boundaries another way.
    Opaque,
}

impl From<RewriteError> for MetaError {
    fn from(e: RewriteError) -> Self {
        MetaError::Malformed(e)
    }
}

/// Collects edits for the entity ids in the metadata list starting at `r`, for an entity of
/// `kind`. Stops after the `0xff` terminator.
pub(crate) fn entries(
    map: &mut EntityMap,
    link: LinkId,
    kind: i32,
    r: &mut Reader<'_>,
    edits: &mut Vec<Edit>,
) -> Result<(), MetaError> {
    loop {
        let index = r.u8()?;
        if index == 0xff {
            return Ok(());
        }
        let ser = r.varint()?.value;
        if let Some(encoding) = id_entry(kind, index, ser) {
            let at = r.varint()?;
            let value = match (encoding, at.value) {
                (_, 0) => 0,
                (Encoding::Plain, id) => map.map(link, id),
                (Encoding::PlusOne, id) => map.map(link, id.wrapping_sub(1)).wrapping_add(1),
            };
            edits.extend(Edit::varint(at, value));
            continue;
        }
        value(map, link, ser, r, edits)?;
    }
}

/// Skips one metadata value, collecting edits for ids inside particles.
fn value(
    map: &mut EntityMap,
    link: LinkId,
    ser: i32,
    r: &mut Reader<'_>,
    edits: &mut Vec<Edit>,
) -> Result<(), MetaError> {
    use serializer::*;
    match ser {
        BYTE | BOOLEAN => r.skip(1)?,
        INT
        | DIRECTION
        | BLOCK_STATE
        | OPTIONAL_BLOCK_STATE
        | OPTIONAL_UNSIGNED_INT
        | POSE
        | HUMANOID_ARM => {
            r.varint()?;
        }
        FIRST_VARIANT..=LAST_VARIANT | FIRST_STATE..=LAST_STATE => {
            r.varint()?;
        }
        LONG => r.varlong()?,
        FLOAT => r.skip(4)?,
        STRING => r.string()?,
        COMPONENT => r.nbt()?,
        OPTIONAL_COMPONENT => {
            if r.bool()? {
                r.nbt()?;
            }
        }
        ROTATIONS | VECTOR3 => r.skip(12)?,
        QUATERNION => r.skip(16)?,
        BLOCK_POS => r.skip(8)?,
        OPTIONAL_BLOCK_POS => {
            if r.bool()? {
                r.skip(8)?;
            }
        }
        OPTIONAL_LIVING_ENTITY_REFERENCE => {
            if r.bool()? {
                r.skip(16)?;
            }
        }
        VILLAGER_DATA => {
            for _ in 0..3 {
                r.varint()?;
            }
        }
        OPTIONAL_GLOBAL_POS => {
            if r.bool()? {
                r.string()?;
                r.skip(8)?;
            }
        }
        PARTICLE => particle_options(map, link, r, edits)?,
        PARTICLES => {
            let count = r.length()?;
            if count > r.remaining() {
                return Err(RewriteError::Truncated.into());
            }
            for _ in 0..count {
                particle_options(map, link, r, edits)?;
            }
        }
        ITEM_STACK | PAINTING_VARIANT | RESOLVABLE_PROFILE => return Err(MetaError::Opaque),
        _ => return Err(RewriteError::Malformed("unknown metadata serializer").into()),
    }
    Ok(())
}

/// Reads a particle (type and options), collecting an edit for the entity a `vibration` flies to.
pub(crate) fn particle_options(
    map: &mut EntityMap,
    link: LinkId,
    r: &mut Reader<'_>,
    edits: &mut Vec<Edit>,
) -> Result<(), MetaError> {
    use particle::*;
    let kind = r.varint()?.value;
    match kind {
        BLOCK | BLOCK_MARKER | FALLING_DUST | DUST_PILLAR | BLOCK_CRUMBLE | SHRIEK => {
            r.varint()?;
        }
        DRAGON_BREATH | ENTITY_EFFECT | TINTED_LEAVES | SCULK_CHARGE | FLASH => r.skip(4)?,
        DUST | EFFECT | INSTANT_EFFECT => r.skip(8)?,
        DUST_COLOR_TRANSITION => r.skip(12)?,
        TRAIL => {
            r.skip(24 + 4)?;
            r.varint()?;
        }
        VIBRATION => {
            match r.varint()?.value {
                POSITION_SOURCE_BLOCK => r.skip(8)?,
                POSITION_SOURCE_ENTITY => {
                    let at = r.varint()?;
                    edits.extend(Edit::varint(at, map.map(link, at.value)));
                    r.skip(4)?;
                }
                _ => return Err(RewriteError::Malformed("unknown position source type").into()),
            }
            r.varint()?;
        }
        ITEM => return Err(MetaError::Opaque),
        0..COUNT => {}
        _ => return Err(RewriteError::Malformed("unknown particle type").into()),
    }
    Ok(())
}
