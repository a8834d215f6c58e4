//! The player data that moves in a handoff, and the item/effect encodings other messages share.
//!
//! Numbers follow vanilla 26.1, not Bukkit, wherever the two differ (speeds, slots): a Rust backend speaks
//! vanilla natively, and the spec tells a Paper plugin where Bukkit's API scales or renumbers.

use bytes::Bytes;
use uuid::Uuid;

use crate::codec::{DecodeError, EncodeError, Reader, Writer};
use crate::limits::{
    MAX_COMPONENTS_LEN, MAX_EFFECTS, MAX_ENDER_CHEST_ENTRIES, MAX_IDENTIFIER_LEN,
    MAX_INVENTORY_ENTRIES,
};

/// An item stack: an item type, a count and its data components.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemStack {
    /// The item's identifier, e.g. `minecraft:diamond_sword`.
    pub item: String,
    /// How many, 1..=99 (an item's `max_stack_size` component can be up to 99).
    pub count: i32,
    /// The stack's data component patch (what differs from the item's defaults: enchantments, name,
    /// damage, contents, ...), as the `components` compound of a saved item stack, written as network NBT.
    /// Opaque to the proxy, which only carries it; empty means "no components".
    pub components: Bytes,
}

impl ItemStack {
    /// A stack with no data components.
    pub fn plain(item: impl Into<String>, count: i32) -> Self {
        Self {
            item: item.into(),
            count,
            components: Bytes::new(),
        }
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.string("item.id", &self.item, MAX_IDENTIFIER_LEN)?;
        w.var_int("item.count", self.count);
        w.byte_array("item.components", &self.components, MAX_COMPONENTS_LEN)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            item: r.string("item.id", MAX_IDENTIFIER_LEN)?,
            count: r.var_int("item.count")?,
            components: r.byte_array("item.components", MAX_COMPONENTS_LEN)?,
        })
    }

    /// Smallest encoding: empty id, one-byte count, empty components.
    pub(crate) const MIN_LEN: usize = 3;
}

/// One occupied slot of an inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct InventorySlot {
    /// The slot index. Player inventory: 0–8 hotbar, 9–35 main, 36 feet, 37 legs, 38 chest, 39 head,
    /// 40 offhand (vanilla's `Inventory` indices, which are also Bukkit's `PlayerInventory` indices).
    /// Ender chest: 0–26.
    pub slot: i32,
    /// What is in it.
    pub item: ItemStack,
}

impl InventorySlot {
    pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.var_int("slot", self.slot);
        self.item.write(w)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            slot: r.var_int("slot")?,
            item: ItemStack::read(r)?,
        })
    }

    const MIN_LEN: usize = 1 + ItemStack::MIN_LEN;
}

/// A status effect instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Effect {
    /// The effect's identifier, e.g. `minecraft:speed`.
    pub effect: String,
    /// Amplifier: 0 is level I.
    pub amplifier: i32,
    /// Remaining duration in ticks; -1 is infinite.
    pub duration_ticks: i32,
    /// From a beacon or conduit.
    pub ambient: bool,
    /// Whether particles show.
    pub show_particles: bool,
    /// Whether the HUD icon shows.
    pub show_icon: bool,
}

impl Effect {
    pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.string("effect.id", &self.effect, MAX_IDENTIFIER_LEN)?;
        w.var_int("effect.amplifier", self.amplifier);
        w.var_int("effect.duration_ticks", self.duration_ticks);
        w.bool("effect.ambient", self.ambient);
        w.bool("effect.show_particles", self.show_particles);
        w.bool("effect.show_icon", self.show_icon);
        Ok(())
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            effect: r.string("effect.id", MAX_IDENTIFIER_LEN)?,
            amplifier: r.var_int("effect.amplifier")?,
            duration_ticks: r.var_int("effect.duration_ticks")?,
            ambient: r.bool("effect.ambient")?,
            show_particles: r.bool("effect.show_particles")?,
            show_icon: r.bool("effect.show_icon")?,
        })
    }

    pub(crate) const MIN_LEN: usize = 6;

    pub(crate) fn write_list(w: &mut Writer<'_>, effects: &[Effect]) -> Result<(), EncodeError> {
        w.list("effects", effects, MAX_EFFECTS, |w, e| e.write(w))
    }

    pub(crate) fn read_list(r: &mut Reader<'_>) -> Result<Vec<Effect>, DecodeError> {
        r.list("effects", MAX_EFFECTS, Self::MIN_LEN, Self::read)
    }
}

/// A game mode, numbered as in vanilla's `GameType` (and the `game_event` packet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GameMode {
    /// 0
    Survival,
    /// 1
    Creative,
    /// 2
    Adventure,
    /// 3
    Spectator,
}

impl GameMode {
    /// The wire number.
    pub fn id(self) -> i32 {
        match self {
            Self::Survival => 0,
            Self::Creative => 1,
            Self::Adventure => 2,
            Self::Spectator => 3,
        }
    }

    /// The mode with that wire number, if any.
    pub fn from_id(id: i32) -> Option<Self> {
        Some(match id {
            0 => Self::Survival,
            1 => Self::Creative,
            2 => Self::Adventure,
            3 => Self::Spectator,
            _ => return None,
        })
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let id = r.var_int("game_mode")?;
        Self::from_id(id).ok_or(DecodeError::UnknownEnumValue {
            context: "game_mode",
            value: id.into(),
        })
    }
}

/// Player abilities, in vanilla units (Bukkit's `getFlySpeed`/`getWalkSpeed` report twice these).
#[derive(Debug, Clone, PartialEq)]
pub struct Abilities {
    /// Currently flying.
    pub flying: bool,
    /// Allowed to fly.
    pub may_fly: bool,
    /// Takes no damage.
    pub invulnerable: bool,
    /// Breaks blocks instantly and uses no items (creative).
    pub instabuild: bool,
    /// Vanilla default 0.05.
    pub flying_speed: f32,
    /// Vanilla default 0.1.
    pub walking_speed: f32,
}

impl Abilities {
    fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.bool("abilities.flying", self.flying);
        w.bool("abilities.may_fly", self.may_fly);
        w.bool("abilities.invulnerable", self.invulnerable);
        w.bool("abilities.instabuild", self.instabuild);
        w.f32("abilities.flying_speed", self.flying_speed)?;
        w.f32("abilities.walking_speed", self.walking_speed)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            flying: r.bool("abilities.flying")?,
            may_fly: r.bool("abilities.may_fly")?,
            invulnerable: r.bool("abilities.invulnerable")?,
            instabuild: r.bool("abilities.instabuild")?,
            flying_speed: r.f32("abilities.flying_speed")?,
            walking_speed: r.f32("abilities.walking_speed")?,
        })
    }
}

/// Experience, as vanilla keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Experience {
    /// The level shown.
    pub level: i32,
    /// Progress to the next level, 0.0..1.0.
    pub progress: f32,
    /// Total points collected (the score on the death screen).
    pub total: i32,
}

/// A place in a world: dimension, position and rotation.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    /// The dimension's identifier, e.g. `minecraft:overworld`.
    pub dimension: String,
    /// Block-space X of the player's feet.
    pub x: f64,
    /// Y of the player's feet.
    pub y: f64,
    /// Z of the player's feet.
    pub z: f64,
    /// Degrees, as in Minecraft's movement packets.
    pub yaw: f32,
    /// Degrees, -90 (up) to 90 (down).
    pub pitch: f32,
}

impl Location {
    pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.string("dimension", &self.dimension, MAX_IDENTIFIER_LEN)?;
        w.f64("x", self.x)?;
        w.f64("y", self.y)?;
        w.f64("z", self.z)?;
        w.f32("yaw", self.yaw)?;
        w.f32("pitch", self.pitch)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            dimension: r.string("dimension", MAX_IDENTIFIER_LEN)?,
            x: r.f64("x")?,
            y: r.f64("y")?,
            z: r.f64("z")?,
            yaw: r.f32("yaw")?,
            pitch: r.f32("pitch")?,
        })
    }
}

/// Where the player respawns (a bed, a respawn anchor, or one set by `/spawnpoint`).
#[derive(Debug, Clone, PartialEq)]
pub struct RespawnPoint {
    /// The dimension's identifier.
    pub dimension: String,
    /// Block X.
    pub x: i32,
    /// Block Y.
    pub y: i32,
    /// Block Z.
    pub z: i32,
    /// Facing on respawn, degrees.
    pub yaw: f32,
    /// Pitch on respawn, degrees.
    pub pitch: f32,
    /// Set by command: used even without a bed or anchor there.
    pub forced: bool,
}

impl RespawnPoint {
    fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.string("respawn.dimension", &self.dimension, MAX_IDENTIFIER_LEN)?;
        w.var_int("respawn.x", self.x);
        w.var_int("respawn.y", self.y);
        w.var_int("respawn.z", self.z);
        w.f32("respawn.yaw", self.yaw)?;
        w.f32("respawn.pitch", self.pitch)?;
        w.bool("respawn.forced", self.forced);
        Ok(())
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            dimension: r.string("respawn.dimension", MAX_IDENTIFIER_LEN)?,
            x: r.var_int("respawn.x")?,
            y: r.var_int("respawn.y")?,
            z: r.var_int("respawn.z")?,
            yaw: r.f32("respawn.yaw")?,
            pitch: r.f32("respawn.pitch")?,
            forced: r.bool("respawn.forced")?,
        })
    }
}

/// Everything about a player that must follow them from the old primary to the new one.
///
/// It is the whole state, not a diff: the new primary replaces its copy with it. Slots missing from
/// `inventory` and `ender_chest` are empty.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayerState {
    /// Where the player is.
    pub location: Location,
    /// Occupied player inventory slots (indices in [`InventorySlot::slot`]), each slot at most once.
    pub inventory: Vec<InventorySlot>,
    /// Occupied ender chest slots, 0–26. The ender chest is per-player data, so it travels too.
    pub ender_chest: Vec<InventorySlot>,
    /// Selected hotbar slot, 0–8.
    pub selected_slot: i32,
    /// Health, 0 < health ≤ max health.
    pub health: f32,
    /// Absorption hearts (golden apples), ≥ 0.
    pub absorption: f32,
    /// Food level, 0–20.
    pub food: i32,
    /// Food saturation.
    pub saturation: f32,
    /// Experience.
    pub experience: Experience,
    /// Active effects.
    pub effects: Vec<Effect>,
    /// Game mode.
    pub game_mode: GameMode,
    /// Abilities.
    pub abilities: Abilities,
    /// Fall distance in blocks, so a fall across a border still hurts.
    pub fall_distance: f64,
    /// Remaining fire ticks; vanilla keeps -1 or below when not burning (the value is copied, not
    /// interpreted).
    pub fire_ticks: i32,
    /// Remaining air, vanilla max 300.
    pub air: i32,
    /// The respawn point, if one is set.
    pub respawn: Option<RespawnPoint>,
}

impl PlayerState {
    pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        self.location.write(w)?;
        w.list(
            "inventory",
            &self.inventory,
            MAX_INVENTORY_ENTRIES,
            |w, s| s.write(w),
        )?;
        w.list(
            "ender_chest",
            &self.ender_chest,
            MAX_ENDER_CHEST_ENTRIES,
            |w, s| s.write(w),
        )?;
        w.var_int("selected_slot", self.selected_slot);
        w.f32("health", self.health)?;
        w.f32("absorption", self.absorption)?;
        w.var_int("food", self.food);
        w.f32("saturation", self.saturation)?;
        w.var_int("experience.level", self.experience.level);
        w.f32("experience.progress", self.experience.progress)?;
        w.var_int("experience.total", self.experience.total);
        Effect::write_list(w, &self.effects)?;
        w.var_int("game_mode", self.game_mode.id());
        self.abilities.write(w)?;
        w.f64("fall_distance", self.fall_distance)?;
        w.var_int("fire_ticks", self.fire_ticks);
        w.var_int("air", self.air);
        w.option("respawn", self.respawn.as_ref(), |w, p| p.write(w))
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            location: Location::read(r)?,
            inventory: r.list(
                "inventory",
                MAX_INVENTORY_ENTRIES,
                InventorySlot::MIN_LEN,
                InventorySlot::read,
            )?,
            ender_chest: r.list(
                "ender_chest",
                MAX_ENDER_CHEST_ENTRIES,
                InventorySlot::MIN_LEN,
                InventorySlot::read,
            )?,
            selected_slot: r.var_int("selected_slot")?,
            health: r.f32("health")?,
            absorption: r.f32("absorption")?,
            food: r.var_int("food")?,
            saturation: r.f32("saturation")?,
            experience: Experience {
                level: r.var_int("experience.level")?,
                progress: r.f32("experience.progress")?,
                total: r.var_int("experience.total")?,
            },
            effects: Effect::read_list(r)?,
            game_mode: GameMode::read(r)?,
            abilities: Abilities::read(r)?,
            fall_distance: r.f64("fall_distance")?,
            fire_ticks: r.var_int("fire_ticks")?,
            air: r.var_int("air")?,
            respawn: r.option("respawn", RespawnPoint::read)?,
        })
    }
}

/// The entity behind a relayed hit, as far as the primary needs it: the entity itself lives on another
/// backend, so only its identity travels (for death messages and statistics), never a reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Attacker {
    /// The entity's UUID on the dummy's backend (a player's UUID for a player).
    pub uuid: Uuid,
    /// The entity type's identifier, e.g. `minecraft:zombie`.
    pub entity_type: String,
}

impl Attacker {
    pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.uuid("attacker.uuid", &self.uuid);
        w.string(
            "attacker.entity_type",
            &self.entity_type,
            MAX_IDENTIFIER_LEN,
        )
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            uuid: r.uuid("attacker.uuid")?,
            entity_type: r.string("attacker.entity_type", MAX_IDENTIFIER_LEN)?,
        })
    }
}

/// An equipment slot, numbered as in vanilla's `set_equipment` packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EquipmentSlot {
    /// 0
    MainHand,
    /// 1
    OffHand,
    /// 2
    Feet,
    /// 3
    Legs,
    /// 4
    Chest,
    /// 5
    Head,
}

impl EquipmentSlot {
    /// The wire number.
    pub fn id(self) -> i32 {
        match self {
            Self::MainHand => 0,
            Self::OffHand => 1,
            Self::Feet => 2,
            Self::Legs => 3,
            Self::Chest => 4,
            Self::Head => 5,
        }
    }

    /// The slot with that wire number, if any.
    pub fn from_id(id: i32) -> Option<Self> {
        Some(match id {
            0 => Self::MainHand,
            1 => Self::OffHand,
            2 => Self::Feet,
            3 => Self::Legs,
            4 => Self::Chest,
            5 => Self::Head,
            _ => return None,
        })
    }
}

/// One visible equipment slot of a mirrored player.
#[derive(Debug, Clone, PartialEq)]
pub struct EquipmentEntry {
    /// Which slot.
    pub slot: EquipmentSlot,
    /// What the primary shows there.
    pub item: ItemStack,
}

impl EquipmentEntry {
    pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.var_int("equipment.slot", self.slot.id());
        self.item.write(w)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let id = r.var_int("equipment.slot")?;
        let slot = EquipmentSlot::from_id(id).ok_or(DecodeError::UnknownEnumValue {
            context: "equipment.slot",
            value: id.into(),
        })?;
        Ok(Self {
            slot,
            item: ItemStack::read(r)?,
        })
    }

    pub(crate) const MIN_LEN: usize = 1 + ItemStack::MIN_LEN;
}
