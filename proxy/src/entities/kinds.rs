//! The entity types whose packets carry more entity ids than their own, by
//! `minecraft:entity_type` registry id in 26.1 (checked against azalea-registry and
//! minecraft-data in the tests).

pub const AREA_EFFECT_CLOUD: i32 = 3;
pub const ARROW: i32 = 6;
pub const BREEZE_WIND_CHARGE: i32 = 18;
pub const DRAGON_FIREBALL: i32 = 37;
pub const EGG: i32 = 39;
pub const ELDER_GUARDIAN: i32 = 40;
pub const ENDER_DRAGON: i32 = 43;
pub const ENDER_PEARL: i32 = 44;
pub const EXPERIENCE_BOTTLE: i32 = 48;
pub const FIREBALL: i32 = 52;
pub const FIREWORK_ROCKET: i32 = 53;
pub const FROG: i32 = 55;
pub const GUARDIAN: i32 = 63;
pub const LLAMA_SPIT: i32 = 79;
pub const SPLASH_POTION: i32 = 105;
pub const LINGERING_POTION: i32 = 106;
pub const SHULKER_BULLET: i32 = 113;
pub const SMALL_FIREBALL: i32 = 118;
pub const SNOWBALL: i32 = 120;
pub const SPECTRAL_ARROW: i32 = 123;
pub const TRIDENT: i32 = 135;
pub const WIND_CHARGE: i32 = 143;
pub const WITHER: i32 = 145;
pub const WITHER_SKULL: i32 = 147;
pub const PLAYER: i32 = 155;
pub const FISHING_BOBBER: i32 = 156;

/// How many parts an ender dragon has; the client numbers them `dragon + 1 ..= dragon + 8`.
pub const DRAGON_PARTS: i32 = 8;

/// Types whose `add_entity` `data` is an entity id: every `Projectile` subclass, whose data is its
/// owner's id (0 without one), and the fishing bobber, whose data is its owner's id or else its own.
/// Everything else puts something that is not an id there (a block state for `falling_block`, a
/// direction for `item_frame`, `glow_item_frame` and `painting`, a pose flag for `warden`) or 0.
pub fn data_is_entity_id(kind: i32) -> bool {
    matches!(
        kind,
        ARROW
            | SPECTRAL_ARROW
            | TRIDENT
            | FIREBALL
            | SMALL_FIREBALL
            | DRAGON_FIREBALL
            | WITHER_SKULL
            | WIND_CHARGE
            | BREEZE_WIND_CHARGE
            | FIREWORK_ROCKET
            | LLAMA_SPIT
            | SHULKER_BULLET
            | SNOWBALL
            | EGG
            | ENDER_PEARL
            | EXPERIENCE_BOTTLE
            | SPLASH_POTION
            | LINGERING_POTION
            | FISHING_BOBBER
    )
}
