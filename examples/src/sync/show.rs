//! The packets that show state: a player's own (health, inventory, effects, …) to its client,
//! a dummy's mirrored look and the items on the ground to everyone.
//!
//! Item components travel as opaque NBT in the protocol, and this server keeps them as they
//! came, but it does not translate them into the client's typed components: items are shown
//! plain. An item id this build does not know is kept but shown as an empty slot.

use std::str::FromStr;

use azalea_core::{delta::LpVec3, entity_id::MinecraftEntityId, position::Vec3};
use azalea_entity::{EntityDataItem, EntityDataValue, EntityMetadataItems, MobEffectData, Pose};
use azalea_inventory::components::EquipmentSlot as WireSlot;
use azalea_protocol::packets::game::{
    c_add_entity::ClientboundAddEntity,
    c_container_set_content::ClientboundContainerSetContent,
    c_game_event::{ClientboundGameEvent, EventType},
    c_player_abilities::{ClientboundPlayerAbilities, PlayerAbilitiesFlags},
    c_remove_mob_effect::ClientboundRemoveMobEffect,
    c_set_entity_data::ClientboundSetEntityData,
    c_set_equipment::{ClientboundSetEquipment, EquipmentSlots},
    c_set_experience::ClientboundSetExperience,
    c_set_health::ClientboundSetHealth,
    c_update_mob_effect::ClientboundUpdateMobEffect,
};
use azalea_registry::builtin::{EntityKind, ItemKind, MobEffect};
use sync_plugin_protocol::{Abilities, Effect, GameMode, ItemStack, MirrorState, PlayerState};

use crate::player::GroundItem;

/// Slots of the player's inventory menu (container 0): crafting result and grid, armour head
/// to feet, main, hotbar, offhand.
const MENU_SLOTS: usize = 46;
/// Entity metadata: the shared flags byte and the pose, on every entity.
const DATA_SHARED_FLAGS: u8 = 0;
const DATA_POSE: u8 = 6;
/// Entity metadata of an item entity: its stack.
const DATA_ITEM: u8 = 8;
const FLAG_SNEAKING: u8 = 0x02;
const FLAG_SPRINTING: u8 = 0x08;
const FLAG_INVISIBLE: u8 = 0x20;
const FLAG_GLOWING: u8 = 0x40;

/// The client's stack for one of ours (empty if the item is unknown here).
pub fn stack(item: &ItemStack) -> azalea_inventory::ItemStack {
    match ItemKind::from_str(&item.item) {
        Ok(kind) if item.count > 0 => azalea_inventory::ItemStack::new(kind, item.count),
        _ => azalea_inventory::ItemStack::Empty,
    }
}

/// The menu slot showing inventory slot `slot` (vanilla `Inventory` index, as in the protocol).
pub fn menu_slot(slot: i32) -> Option<usize> {
    let menu = match slot {
        0..=8 => slot + 36,
        9..=35 => slot,
        36..=39 => 44 - slot,
        40 => 45,
        _ => return None,
    };
    usize::try_from(menu).ok()
}

pub fn inventory(state: &PlayerState, state_id: u32) -> ClientboundContainerSetContent {
    let mut items = vec![azalea_inventory::ItemStack::Empty; MENU_SLOTS];
    for entry in &state.inventory {
        if let Some(menu) = menu_slot(entry.slot) {
            items[menu] = stack(&entry.item);
        }
    }
    ClientboundContainerSetContent {
        container_id: 0,
        state_id,
        items,
        carried_item: azalea_inventory::ItemStack::Empty,
    }
}

pub fn health(state: &PlayerState) -> ClientboundSetHealth {
    ClientboundSetHealth {
        health: state.health,
        food: u32::try_from(state.food).unwrap_or(0),
        saturation: state.saturation,
    }
}

pub fn experience(state: &PlayerState) -> ClientboundSetExperience {
    let xp = &state.experience;
    ClientboundSetExperience {
        experience_progress: xp.progress,
        experience_level: u32::try_from(xp.level).unwrap_or(0),
        total_experience: u32::try_from(xp.total).unwrap_or(0),
    }
}

pub fn game_mode(mode: GameMode) -> ClientboundGameEvent {
    ClientboundGameEvent {
        event: EventType::ChangeGameMode,
        param: mode.id() as f32,
    }
}

pub fn abilities(abilities: &Abilities) -> ClientboundPlayerAbilities {
    ClientboundPlayerAbilities {
        flags: PlayerAbilitiesFlags {
            invulnerable: abilities.invulnerable,
            flying: abilities.flying,
            can_fly: abilities.may_fly,
            instant_break: abilities.instabuild,
        },
        flying_speed: abilities.flying_speed,
        walking_speed: abilities.walking_speed,
    }
}

/// `update_mob_effect` for an effect on `entity_id`; `None` for an effect unknown here.
pub fn effect(entity_id: i32, effect: &Effect) -> Option<ClientboundUpdateMobEffect> {
    let mob_effect = MobEffect::from_str(&effect.effect).ok()?;
    let mut data = MobEffectData {
        amplifier: effect.amplifier,
        duration: effect.duration_ticks,
        flags: Default::default(),
    };
    data.flags.ambient = effect.ambient;
    data.flags.show_particles = effect.show_particles;
    data.flags.show_icon = effect.show_icon;
    Some(ClientboundUpdateMobEffect {
        entity_id: MinecraftEntityId(entity_id),
        mob_effect,
        data,
    })
}

pub fn remove_effect(entity_id: i32, effect: &str) -> Option<ClientboundRemoveMobEffect> {
    Some(ClientboundRemoveMobEffect {
        entity_id: MinecraftEntityId(entity_id),
        effect: MobEffect::from_str(effect).ok()?,
    })
}

/// Every equipment slot of a mirrored player, the unlisted ones empty so an item taken off on
/// the primary disappears here too.
pub fn equipment(entity_id: i32, look: Option<&MirrorState>) -> ClientboundSetEquipment {
    let slots = (0..6u8)
        .filter_map(|byte| {
            let wire = WireSlot::from_byte(byte)?;
            let item = look
                .and_then(|m| m.equipment.iter().find(|e| e.slot.id() == i32::from(byte)))
                .map_or(azalea_inventory::ItemStack::Empty, |e| stack(&e.item));
            Some((wire, item))
        })
        .collect();
    ClientboundSetEquipment {
        entity_id: MinecraftEntityId(entity_id),
        slots: EquipmentSlots { slots },
    }
}

/// Sneaking, sprinting, glowing and invisibility flags and the pose of a mirrored player.
pub fn look(entity_id: i32, look: Option<&MirrorState>) -> ClientboundSetEntityData {
    let has = |id: &str| look.is_some_and(|m| m.effects.iter().any(|e| e.effect == id));
    let mut flags = 0;
    for (on, flag) in [
        (look.is_some_and(|m| m.sneaking), FLAG_SNEAKING),
        (look.is_some_and(|m| m.sprinting), FLAG_SPRINTING),
        (has("minecraft:invisibility"), FLAG_INVISIBLE),
        (has("minecraft:glowing"), FLAG_GLOWING),
    ] {
        if on {
            flags |= flag;
        }
    }
    let mut items = vec![EntityDataItem {
        index: DATA_SHARED_FLAGS,
        value: EntityDataValue::Byte(flags),
    }];
    // The spec: a backend ignores a pose it does not know.
    if let Some(pose) = pose(look.map_or(0, |m| m.pose)) {
        items.push(EntityDataItem {
            index: DATA_POSE,
            value: EntityDataValue::Pose(pose),
        });
    }
    ClientboundSetEntityData {
        id: MinecraftEntityId(entity_id),
        packed_items: EntityMetadataItems(items),
    }
}

/// Vanilla's `Pose` by its metadata number.
fn pose(id: i32) -> Option<Pose> {
    use Pose::*;
    let all = [
        Standing,
        FallFlying,
        Sleeping,
        Swimming,
        SpinAttack,
        Crouching,
        LongJumping,
        Dying,
        Croaking,
        UsingTongue,
        Sitting,
        Roaring,
        Sniffing,
        Emerging,
        Digging,
        Sliding,
        Shooting,
        Inhaling,
    ];
    all.get(usize::try_from(id).ok()?).copied()
}

/// An item on the ground: the entity, then its stack (an item entity without one is invisible).
pub fn ground_item(item: &GroundItem) -> (ClientboundAddEntity, ClientboundSetEntityData) {
    let [x, y, z] = item.position;
    let add = ClientboundAddEntity {
        id: MinecraftEntityId(item.entity_id),
        uuid: item.uuid,
        entity_type: EntityKind::Item,
        position: Vec3 { x, y, z },
        movement: LpVec3::Zero,
        x_rot: 0,
        y_rot: 0,
        y_head_rot: 0,
        data: 0,
    };
    let data = ClientboundSetEntityData {
        id: MinecraftEntityId(item.entity_id),
        packed_items: EntityMetadataItems(vec![EntityDataItem {
            index: DATA_ITEM,
            value: EntityDataValue::ItemStack(stack(&ItemStack::plain(
                item.item.clone(),
                item.count,
            ))),
        }]),
    };
    (add, data)
}

#[cfg(test)]
mod tests {
    use sync_plugin_protocol::{EquipmentEntry, EquipmentSlot, InventorySlot};

    use super::*;
    use crate::sync::state::initial;

    #[test]
    fn inventory_slots_land_in_vanilla_menu_slots() {
        let mut state = initial([0.0; 3]);
        for (slot, item) in [
            (0, "minecraft:diamond"),
            (9, "minecraft:stone"),
            (36, "minecraft:iron_boots"),
            (39, "minecraft:iron_helmet"),
            (40, "minecraft:torch"),
            (20, "minecraft:no_such_item"),
        ] {
            state.inventory.push(InventorySlot {
                slot,
                item: ItemStack::plain(item, 1),
            });
        }
        let packet = inventory(&state, 3);
        let kind = |menu: usize| packet.items[menu].kind();
        assert_eq!(packet.items.len(), 46);
        assert_eq!(kind(36), ItemKind::Diamond);
        assert_eq!(kind(9), ItemKind::Stone);
        assert_eq!(kind(8), ItemKind::IronBoots);
        assert_eq!(kind(5), ItemKind::IronHelmet);
        assert_eq!(kind(45), ItemKind::Torch);
        assert!(packet.items[20].is_empty(), "unknown items are not shown");
        assert_eq!(menu_slot(41), None);
    }

    #[test]
    fn a_mirrored_look_becomes_equipment_flags_and_pose() {
        let mirror = MirrorState {
            player: uuid::Uuid::nil(),
            equipment: vec![EquipmentEntry {
                slot: EquipmentSlot::Head,
                item: ItemStack::plain("minecraft:iron_helmet", 1),
            }],
            effects: vec![Effect {
                effect: "minecraft:glowing".into(),
                amplifier: 0,
                duration_ticks: -1,
                ambient: false,
                show_particles: false,
                show_icon: true,
            }],
            pose: 5,
            sneaking: true,
            sprinting: false,
        };
        let equipment = equipment(9, Some(&mirror));
        assert_eq!(equipment.slots.slots.len(), 6);
        assert_eq!(equipment.slots.slots[5].1.kind(), ItemKind::IronHelmet);
        assert!(equipment.slots.slots[0].1.is_empty());
        let data = look(9, Some(&mirror));
        assert_eq!(
            data.packed_items.0[0].value,
            EntityDataValue::Byte(FLAG_SNEAKING | FLAG_GLOWING)
        );
        assert_eq!(
            data.packed_items.0[1].value,
            EntityDataValue::Pose(Pose::Crouching)
        );
        assert_eq!(look(9, None).packed_items.0.len(), 2);
        assert_eq!(pose(99), None);
    }
}
