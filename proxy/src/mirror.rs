//! What a player looks like on their primary, derived from traffic the proxy already relays, for
//! the sync channel's `MirrorState` (see `docs/sync-protocol.md`, "0x28 MirrorState").
//!
//! [`MirrorTracker`] is pure: the session feeds it the primary's clientbound play packets and the
//! client's serverbound ones, and asks [`MirrorTracker::take_if_changed`] (at most once a tick)
//! whether there is a new state to send to the dummies' backends. It never fails and never
//! panics: a packet that does not decode is ignored.
//!
//! # Sources
//! | state | clientbound (from the primary) | serverbound (from the client) |
//! |---|---|---|
//! | armour, offhand, hotbar | `container_set_content` / `container_set_slot` for container 0 (the inventory menu: 5–8 head→feet, 36–44 hotbar, 45 offhand); `set_player_inventory` (inventory indices: 0–8 hotbar, 36–39 feet→head, 40 offhand) | `set_creative_mode_slot` and `container_click`'s changed slots for container 0 (the server does not echo what the client predicted) |
//! | selected hotbar slot | `set_held_slot` | `set_carried_item` |
//! | effects | `update_mob_effect` / `remove_mob_effect` for the own entity; `respawn` clears them (the server sends again what is left) | |
//! | sneaking, sprinting | `set_entity_data` for the own entity, shared flags (index 0: 0x02, 0x08) | `player_input`'s shift; `player_command` start/stop sprinting |
//! | pose | `set_entity_data` for the own entity, index 6 | |
//!
//! The own entity id comes from the `login` packet if the tracker sees it, or from
//! [`MirrorTracker::set_own_entity_id`]; it must be in the same id space as the packets fed (the
//! backend's, before the entity map rewrites them, or the client's, after).
//!
//! # Left out
//! - Item data components: items are sent plain (`components` empty). azalea decodes the patch
//!   into typed components but cannot write them as the NBT compound the sync protocol wants,
//!   and `container_click` only carries hashes of them anyway.
//! - Changes to the hotbar made inside another open container (a chest's menu numbers the
//!   player's slots after its own); they show once the inventory menu is updated again.
//! - The glowing and invisible flags: `MirrorState` has no field for them; a backend shows them
//!   from the `glowing` and `invisibility` effects.
//! - Effect durations are as last received, not counted down.
//! - A `container_set_content` whose items azalea cannot decode is ignored whole.

use azalea_protocol::packets::game::s_player_command::Action;
use azalea_protocol::packets::game::{ClientboundGamePacket, ServerboundGamePacket};
use meridian_wire::{
    conn::{decode_packet, encode_packet},
    ids::game::{clientbound as cb, serverbound as sb},
    varint::read_varint,
};
use sync_plugin_protocol::{
    Effect, EquipmentEntry, EquipmentSlot, ItemStack, MirrorState, limits::MAX_EFFECTS,
};
use uuid::Uuid;

/// Entity metadata: the shared flags byte and the pose, on every entity.
const DATA_SHARED_FLAGS: u8 = 0;
const DATA_POSE: u8 = 6;
const FLAG_SNEAKING: u8 = 0x02;
const FLAG_SPRINTING: u8 = 0x08;
/// `respawn`'s `data_to_keep` bit that keeps the entity data (a dimension change, not a death).
const KEEP_ENTITY_DATA: u8 = 0x02;
/// The largest stack a `MirrorState` carries (an item's `max_stack_size` can be up to 99).
const MAX_COUNT: i32 = 99;

/// The slots a mirror shows, as stored: hotbar 0–8, then these.
const HOTBAR: usize = 9;
const OFFHAND: usize = 9;
const FEET: usize = 10;
const LEGS: usize = 11;
const CHEST: usize = 12;
const HEAD: usize = 13;
const SLOTS: usize = 14;

/// The stored slot for a slot of the inventory menu (container 0).
fn menu_slot(slot: usize) -> Option<usize> {
    Some(match slot {
        5 => HEAD,
        6 => CHEST,
        7 => LEGS,
        8 => FEET,
        36..=44 => slot - 36,
        45 => OFFHAND,
        _ => return None,
    })
}

/// The stored slot for a player inventory index (`set_player_inventory`, vanilla `Inventory`).
fn inventory_slot(slot: u32) -> Option<usize> {
    Some(match slot {
        0..=8 => slot as usize,
        36 => FEET,
        37 => LEGS,
        38 => CHEST,
        39 => HEAD,
        40 => OFFHAND,
        _ => return None,
    })
}

/// A plain stack, or `None` for an empty slot.
fn plain_stack(item: &str, count: i32) -> Option<ItemStack> {
    (count > 0 && item != "minecraft:air").then(|| ItemStack::plain(item, count.min(MAX_COUNT)))
}

/// The sync crate's stack for one of azalea's (`azalea_inventory::ItemStack`, a crate this one
/// does not depend on by name, so a macro rather than a function).
macro_rules! sync_stack {
    ($stack:expr) => {
        $stack
            .as_present()
            .and_then(|data| plain_stack(data.kind.to_str(), data.count))
    };
}

/// The first VarInt after the packet id (a container id or an entity id), if it reads.
fn first_varint(packet: &[u8]) -> Option<i32> {
    let (_, n) = read_varint(packet).ok()?;
    let (value, _) = read_varint(packet.get(n..)?).ok()?;
    Some(value)
}

/// The fields after the packet id.
fn fields(packet: &[u8]) -> Option<&[u8]> {
    let (_, n) = read_varint(packet).ok()?;
    packet.get(n..)
}

/// The visible state of one player on their primary, kept up to date from packets; see the
/// module documentation for what comes from where.
#[derive(Debug, Clone)]
pub struct MirrorTracker {
    player: Uuid,
    own_entity_id: Option<i32>,
    /// Hotbar 0–8, offhand, feet, legs, chest, head.
    slots: [Option<ItemStack>; SLOTS],
    /// The selected hotbar slot, 0–8.
    selected: usize,
    effects: Vec<Effect>,
    pose: i32,
    sneaking: bool,
    sprinting: bool,
    /// Something was updated since the last [`MirrorTracker::take_if_changed`].
    dirty: bool,
    /// What [`MirrorTracker::take_if_changed`] returned last (the empty look at first).
    last_taken: MirrorState,
}

impl MirrorTracker {
    /// A tracker for `player`, showing nothing yet.
    pub fn new(player: Uuid) -> Self {
        Self {
            player,
            own_entity_id: None,
            slots: Default::default(),
            selected: 0,
            effects: Vec::new(),
            pose: 0,
            sneaking: false,
            sprinting: false,
            dirty: false,
            last_taken: empty_state(player),
        }
    }

    /// The player.
    pub fn player(&self) -> Uuid {
        self.player
    }

    /// The player's own entity id, in the id space of the packets fed; until it is known, effects
    /// and entity data are ignored. The `login` packet sets it too.
    pub fn set_own_entity_id(&mut self, id: i32) {
        self.own_entity_id = Some(id);
    }

    /// The player's own entity id, if known.
    pub fn own_entity_id(&self) -> Option<i32> {
        self.own_entity_id
    }

    /// Forgets everything seen (for a new primary), keeping the player and the entity id. The next
    /// [`MirrorTracker::take_if_changed`] returns the empty look if the last one was not.
    pub fn reset(&mut self) {
        self.slots = Default::default();
        self.selected = 0;
        self.effects.clear();
        self.reset_entity_data();
        self.dirty = true;
    }

    /// Whether [`MirrorTracker::on_clientbound`] looks at packets with this id; the rest may be
    /// skipped.
    pub fn reads_clientbound(packet_id: i32) -> bool {
        matches!(
            packet_id,
            cb::CONTAINER_SET_CONTENT
                | cb::CONTAINER_SET_SLOT
                | cb::SET_PLAYER_INVENTORY
                | cb::SET_HELD_SLOT
                | cb::UPDATE_MOB_EFFECT
                | cb::REMOVE_MOB_EFFECT
                | cb::SET_ENTITY_DATA
                | cb::LOGIN
                | cb::RESPAWN
        )
    }

    /// Whether [`MirrorTracker::on_serverbound`] looks at packets with this id; the rest may be
    /// skipped.
    pub fn reads_serverbound(packet_id: i32) -> bool {
        matches!(
            packet_id,
            sb::PLAYER_COMMAND
                | sb::PLAYER_INPUT
                | sb::SET_CARRIED_ITEM
                | sb::SET_CREATIVE_MODE_SLOT
                | sb::CONTAINER_CLICK
        )
    }

    /// A clientbound play packet the primary sent to the client: `packet` is its bytes (id then
    /// fields, uncompressed), `packet_id` its id. Packets it does not read cost a `match`.
    pub fn on_clientbound(&mut self, packet_id: i32, packet: &[u8]) {
        match packet_id {
            // Only the inventory menu; another container's packets are not decoded.
            cb::CONTAINER_SET_CONTENT | cb::CONTAINER_SET_SLOT
                if first_varint(packet) == Some(0) =>
            {
                self.decode_clientbound(packet);
            }
            cb::SET_PLAYER_INVENTORY | cb::SET_HELD_SLOT => self.decode_clientbound(packet),
            cb::UPDATE_MOB_EFFECT | cb::REMOVE_MOB_EFFECT if self.is_own(first_varint(packet)) => {
                self.decode_clientbound(packet);
            }
            cb::SET_ENTITY_DATA => {
                if self.is_own(first_varint(packet))
                    && let Some(data) = shared_entity_data(packet)
                {
                    self.apply_entity_data(data);
                }
            }
            cb::LOGIN => {
                // The player's id is the first field, a four-byte int. A new link: a fresh player.
                if let Some(&[a, b, c, d, ..]) = fields(packet) {
                    self.reset();
                    self.own_entity_id = Some(i32::from_be_bytes([a, b, c, d]));
                }
            }
            cb::RESPAWN => {
                // `data_to_keep` is the last byte. The client starts a new player entity: no
                // effects (the server sends again those that remain), and default entity data
                // unless kept.
                if let Some(&keep) = fields(packet).and_then(<[u8]>::last) {
                    if !self.effects.is_empty() {
                        self.effects.clear();
                        self.dirty = true;
                    }
                    if keep & KEEP_ENTITY_DATA == 0 {
                        self.reset_entity_data();
                    }
                }
            }
            _ => {}
        }
    }

    /// A serverbound play packet the client sent: `packet` is its bytes (id then fields,
    /// uncompressed), `packet_id` its id. Packets it does not read cost a `match`.
    pub fn on_serverbound(&mut self, packet_id: i32, packet: &[u8]) {
        if !Self::reads_serverbound(packet_id) {
            return;
        }
        if matches!(packet_id, sb::CONTAINER_CLICK) && first_varint(packet) != Some(0) {
            return;
        }
        let Ok(decoded) = decode_packet::<ServerboundGamePacket>(packet) else {
            return;
        };
        match decoded {
            ServerboundGamePacket::PlayerCommand(p) => match p.action {
                Action::StartSprinting => self.set_sprinting(true),
                Action::StopSprinting => self.set_sprinting(false),
                _ => {}
            },
            ServerboundGamePacket::PlayerInput(p) => self.set_sneaking(p.shift),
            ServerboundGamePacket::SetCarriedItem(p) => self.select(u32::from(p.slot)),
            ServerboundGamePacket::SetCreativeModeSlot(p) => {
                if let Some(slot) = menu_slot(usize::from(p.slot_num)) {
                    self.set_slot(slot, sync_stack!(p.item_stack));
                }
            }
            ServerboundGamePacket::ContainerClick(p) if p.container_id == 0 => {
                // What the client predicts; the server corrects it (with a full
                // `container_set_content`) if it disagrees.
                for (slot, stack) in &p.changed_slots {
                    if let Some(slot) = menu_slot(usize::from(*slot)) {
                        let item = stack
                            .0
                            .as_ref()
                            .and_then(|h| plain_stack(h.kind.to_str(), h.count));
                        self.set_slot(slot, item);
                    }
                }
            }
            _ => {}
        }
    }

    /// The whole current look (for a dummy that just joined), whether or not it changed.
    pub fn state(&self) -> MirrorState {
        let equipment = [
            (EquipmentSlot::MainHand, self.selected),
            (EquipmentSlot::OffHand, OFFHAND),
            (EquipmentSlot::Feet, FEET),
            (EquipmentSlot::Legs, LEGS),
            (EquipmentSlot::Chest, CHEST),
            (EquipmentSlot::Head, HEAD),
        ]
        .into_iter()
        .filter_map(|(slot, at)| {
            let item = self.slots[at].clone()?;
            Some(EquipmentEntry { slot, item })
        })
        .collect();
        MirrorState {
            player: self.player,
            equipment,
            effects: self.effects.iter().take(MAX_EFFECTS).cloned().collect(),
            pose: self.pose,
            sneaking: self.sneaking,
            sprinting: self.sprinting,
        }
    }

    /// Whether anything tracked changed since the last [`Self::take_if_changed`] (which may
    /// still find the state as it was).
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// The whole current look if it differs from what this returned last (the empty look at
    /// first), else `None`: once per visible change. A change undone before this is called is no
    /// change, and updates to what is not shown (an unselected hotbar slot) are none either.
    pub fn take_if_changed(&mut self) -> Option<MirrorState> {
        if !self.dirty {
            return None;
        }
        self.dirty = false;
        let state = self.state();
        if state == self.last_taken {
            return None;
        }
        self.last_taken = state.clone();
        Some(state)
    }

    fn is_own(&self, entity_id: Option<i32>) -> bool {
        entity_id.is_some() && entity_id == self.own_entity_id
    }

    /// Decodes one of the clientbound packets read whole with azalea, and applies it.
    fn decode_clientbound(&mut self, packet: &[u8]) {
        let Ok(decoded) = decode_packet::<ClientboundGamePacket>(packet) else {
            return;
        };
        match decoded {
            ClientboundGamePacket::ContainerSetContent(p) if p.container_id == 0 => {
                for (at, stack) in p.items.iter().enumerate() {
                    if let Some(slot) = menu_slot(at) {
                        self.set_slot(slot, sync_stack!(stack));
                    }
                }
            }
            ClientboundGamePacket::ContainerSetSlot(p) if p.container_id == 0 => {
                if let Some(slot) = menu_slot(usize::from(p.slot)) {
                    self.set_slot(slot, sync_stack!(p.item_stack));
                }
            }
            ClientboundGamePacket::SetPlayerInventory(p) => {
                if let Some(slot) = inventory_slot(p.slot) {
                    self.set_slot(slot, sync_stack!(p.contents));
                }
            }
            ClientboundGamePacket::SetHeldSlot(p) => self.select(p.slot),
            ClientboundGamePacket::UpdateMobEffect(p) if self.is_own(Some(p.entity_id.0)) => {
                let flags = &p.data.flags;
                self.put_effect(Effect {
                    effect: p.mob_effect.to_str().to_owned(),
                    amplifier: p.data.amplifier,
                    duration_ticks: p.data.duration,
                    ambient: flags.ambient,
                    show_particles: flags.show_particles,
                    show_icon: flags.show_icon,
                });
            }
            ClientboundGamePacket::RemoveMobEffect(p) if self.is_own(Some(p.entity_id.0)) => {
                let id = p.effect.to_str();
                let before = self.effects.len();
                self.effects.retain(|e| e.effect != id);
                self.dirty |= self.effects.len() != before;
            }
            _ => {}
        }
    }

    fn set_slot(&mut self, slot: usize, item: Option<ItemStack>) {
        // Callers map slots into range; a slot past it is ignored rather than a panic.
        if let Some(field) = self.slots.get_mut(slot) {
            changed(&mut self.dirty, field, item);
        }
    }

    fn select(&mut self, slot: u32) {
        if let Ok(slot) = usize::try_from(slot)
            && slot < HOTBAR
            && slot != self.selected
        {
            self.selected = slot;
            self.dirty = true;
        }
    }

    fn put_effect(&mut self, effect: Effect) {
        match self.effects.iter_mut().find(|e| e.effect == effect.effect) {
            Some(old) if *old == effect => {}
            Some(old) => {
                *old = effect;
                self.dirty = true;
            }
            None => {
                self.effects.push(effect);
                self.dirty = true;
            }
        }
    }

    fn set_sneaking(&mut self, on: bool) {
        changed(&mut self.dirty, &mut self.sneaking, on);
    }

    fn set_sprinting(&mut self, on: bool) {
        changed(&mut self.dirty, &mut self.sprinting, on);
    }

    fn set_pose(&mut self, pose: i32) {
        changed(&mut self.dirty, &mut self.pose, pose);
    }

    fn apply_entity_data(&mut self, data: SharedData) {
        if let Some(flags) = data.flags {
            self.set_sneaking(flags & FLAG_SNEAKING != 0);
            self.set_sprinting(flags & FLAG_SPRINTING != 0);
        }
        if let Some(pose) = data.pose {
            self.set_pose(pose);
        }
    }

    fn reset_entity_data(&mut self) {
        self.set_pose(0);
        self.set_sneaking(false);
        self.set_sprinting(false);
    }
}

fn empty_state(player: Uuid) -> MirrorState {
    MirrorState {
        player,
        equipment: Vec::new(),
        effects: Vec::new(),
        pose: 0,
        sneaking: false,
        sprinting: false,
    }
}

/// The shared flags and pose of a `set_entity_data`, where present.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct SharedData {
    flags: Option<u8>,
    pose: Option<i32>,
}

/// The shared flags and pose in a `set_entity_data` packet (id, entity id, entries). Read by hand
/// when every entry on the way is simple (vanilla sends entries in index order, so the two come
/// first); otherwise azalea decodes the packet and the two entries are read from a re-encoding
/// of just them. `None` if the packet does not decode.
fn shared_entity_data(packet: &[u8]) -> Option<SharedData> {
    if let Some(data) = read_shared_data(packet) {
        return Some(data);
    }
    let ClientboundGamePacket::SetEntityData(mut p) = decode_packet(packet).ok()? else {
        return None;
    };
    p.packed_items
        .0
        .retain(|item| item.index == DATA_SHARED_FLAGS || item.index == DATA_POSE);
    let just_those = encode_packet(&ClientboundGamePacket::SetEntityData(p)).ok()?;
    read_shared_data(&just_those)
}

/// `EntityDataSerializers` ids (26.1) of the values [`read_shared_data`] can step over.
mod serializer {
    pub const BYTE: i32 = 0;
    pub const INT: i32 = 1;
    pub const LONG: i32 = 2;
    pub const FLOAT: i32 = 3;
    pub const BOOLEAN: i32 = 8;
    pub const OPTIONAL_BLOCK_POS: i32 = 11;
    pub const DIRECTION: i32 = 12;
    pub const OPTIONAL_UNSIGNED_INT: i32 = 19;
    pub const POSE: i32 = 20;
}

/// Reads a `set_entity_data` by hand; `None` at an entry whose value it cannot step over, or if
/// the bytes end early.
fn read_shared_data(packet: &[u8]) -> Option<SharedData> {
    let mut r = Reader(fields(packet)?);
    r.varint()?; // the entity id
    let mut data = SharedData::default();
    loop {
        let index = r.u8()?;
        if index == 0xff {
            return Some(data);
        }
        let serializer = r.varint()?;
        match (index, serializer) {
            (DATA_SHARED_FLAGS, serializer::BYTE) => data.flags = Some(r.u8()?),
            (DATA_POSE, serializer::POSE) => data.pose = Some(r.varint()?),
            (_, serializer::BYTE | serializer::BOOLEAN) => r.skip(1)?,
            (_, serializer::FLOAT) => r.skip(4)?,
            (
                _,
                serializer::INT
                | serializer::DIRECTION
                | serializer::OPTIONAL_UNSIGNED_INT
                | serializer::POSE,
            ) => {
                r.varint()?;
            }
            (_, serializer::LONG) => r.varlong()?,
            (_, serializer::OPTIONAL_BLOCK_POS) => {
                if r.u8()? != 0 {
                    r.skip(8)?;
                }
            }
            _ => return None,
        }
        if data.flags.is_some() && data.pose.is_some() {
            return Some(data);
        }
    }
}

/// A cursor over packet fields.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn skip(&mut self, n: usize) -> Option<()> {
        self.0 = self.0.get(n..)?;
        Some(())
    }

    fn u8(&mut self) -> Option<u8> {
        let (&byte, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(byte)
    }

    fn varint(&mut self) -> Option<i32> {
        let (value, n) = read_varint(self.0).ok()?;
        self.skip(n)?;
        Some(value)
    }

    fn varlong(&mut self) -> Option<()> {
        for _ in 0..10 {
            if self.u8()? & 0x80 == 0 {
                return Some(());
            }
        }
        None
    }
}

/// Sets `field` to `value`, marking the look `dirty` only if that changes it.
fn changed<T: PartialEq>(dirty: &mut bool, field: &mut T, value: T) {
    if *field != value {
        *field = value;
        *dirty = true;
    }
}

#[cfg(test)]
mod tests {
    use azalea_core::entity_id::MinecraftEntityId;
    use azalea_entity::{
        EntityDataItem, EntityDataValue, EntityMetadataItems, MobEffectData, Pose,
    };
    use azalea_protocol::packets::game::{
        c_container_set_content::ClientboundContainerSetContent,
        c_container_set_slot::ClientboundContainerSetSlot,
        c_remove_mob_effect::ClientboundRemoveMobEffect,
        c_set_entity_data::ClientboundSetEntityData,
        c_set_held_slot::ClientboundSetHeldSlot,
        c_set_player_inventory::ClientboundSetPlayerInventory,
        c_update_mob_effect::ClientboundUpdateMobEffect,
        s_container_click::{HashedActualItem, HashedPatchMap, HashedStack},
        s_player_command::ServerboundPlayerCommand,
        s_player_input::ServerboundPlayerInput,
        s_set_carried_item::ServerboundSetCarriedItem,
        s_set_creative_mode_slot::ServerboundSetCreativeModeSlot,
    };
    use azalea_registry::{
        Registry,
        builtin::{ItemKind, MobEffect},
    };
    use bytes::{BufMut, BytesMut};
    use meridian_wire::varint::write_varint;
    use proptest::prelude::*;

    use super::*;

    const OWN: i32 = 42;
    const OTHER: i32 = 7;

    fn player() -> Uuid {
        Uuid::from_u128(0x069a79f4_44e9_4726_a5be_fca90e38aaf5)
    }

    fn tracker() -> MirrorTracker {
        let mut t = MirrorTracker::new(player());
        t.set_own_entity_id(OWN);
        t
    }

    fn id_of(packet: &[u8]) -> i32 {
        read_varint(packet).unwrap().0
    }

    fn feed_cb(t: &mut MirrorTracker, packet: ClientboundGamePacket) {
        let bytes = encode_packet(&packet).unwrap();
        t.on_clientbound(id_of(&bytes), &bytes);
    }

    fn feed_sb(t: &mut MirrorTracker, packet: ServerboundGamePacket) {
        let bytes = encode_packet(&packet).unwrap();
        t.on_serverbound(id_of(&bytes), &bytes);
    }

    /// A `container_set_slot`, built from bytes: the only way to get an azalea item stack here
    /// (azalea-inventory is not a dependency; its `ItemStack` is reached through packet fields).
    fn set_slot(
        container: i32,
        slot: u16,
        item: Option<(ItemKind, i32)>,
    ) -> ClientboundContainerSetSlot {
        let mut b = BytesMut::new();
        write_varint(&mut b, cb::CONTAINER_SET_SLOT);
        write_varint(&mut b, container);
        write_varint(&mut b, 1); // state id
        b.put_u16(slot);
        match item {
            Some((kind, count)) => {
                write_varint(&mut b, count);
                write_varint(&mut b, kind.to_u32() as i32);
                write_varint(&mut b, 0); // components added
                write_varint(&mut b, 0); // components removed
            }
            None => write_varint(&mut b, 0),
        }
        match decode_packet::<ClientboundGamePacket>(&b).unwrap() {
            ClientboundGamePacket::ContainerSetSlot(p) => p,
            other => panic!("decoded {other:?}"),
        }
    }

    macro_rules! stack {
        ($kind:expr, $count:expr) => {
            set_slot(0, 0, Some(($kind, $count))).item_stack
        };
    }

    fn item(id: &str, count: i32) -> ItemStack {
        ItemStack::plain(id, count)
    }

    fn entry(slot: EquipmentSlot, id: &str, count: i32) -> EquipmentEntry {
        EquipmentEntry {
            slot,
            item: item(id, count),
        }
    }

    /// A full inventory menu: diamond helmet, iron leggings, a sword in hotbar 0, 16 torches in
    /// hotbar 3, a shield in the offhand, dirt in the main inventory.
    fn inventory() -> ClientboundGamePacket {
        let items = (0..46)
            .map(|slot| match slot {
                5 => stack!(ItemKind::DiamondHelmet, 1),
                7 => stack!(ItemKind::IronLeggings, 1),
                20 => stack!(ItemKind::Dirt, 64),
                36 => stack!(ItemKind::DiamondSword, 1),
                39 => stack!(ItemKind::Torch, 16),
                45 => stack!(ItemKind::Shield, 1),
                _ => Default::default(),
            })
            .collect();
        ClientboundGamePacket::ContainerSetContent(ClientboundContainerSetContent {
            container_id: 0,
            state_id: 1,
            items,
            carried_item: Default::default(),
        })
    }

    fn effect(entity: i32, effect: MobEffect, amplifier: i32) -> ClientboundGamePacket {
        let mut data = MobEffectData {
            amplifier,
            duration: 600,
            ..Default::default()
        };
        data.flags.show_particles = true;
        data.flags.show_icon = true;
        ClientboundGamePacket::UpdateMobEffect(ClientboundUpdateMobEffect {
            entity_id: MinecraftEntityId(entity),
            mob_effect: effect,
            data,
        })
    }

    fn remove_effect(entity: i32, effect: MobEffect) -> ClientboundGamePacket {
        ClientboundGamePacket::RemoveMobEffect(ClientboundRemoveMobEffect {
            entity_id: MinecraftEntityId(entity),
            effect,
        })
    }

    fn entity_data(entity: i32, items: Vec<EntityDataItem>) -> ClientboundGamePacket {
        ClientboundGamePacket::SetEntityData(ClientboundSetEntityData {
            id: MinecraftEntityId(entity),
            packed_items: EntityMetadataItems(items),
        })
    }

    fn data(index: u8, value: EntityDataValue) -> EntityDataItem {
        EntityDataItem { index, value }
    }

    fn input(shift: bool) -> ServerboundGamePacket {
        ServerboundGamePacket::PlayerInput(ServerboundPlayerInput {
            forward: true,
            shift,
            ..Default::default()
        })
    }

    fn command(action: Action) -> ServerboundGamePacket {
        ServerboundGamePacket::PlayerCommand(ServerboundPlayerCommand {
            id: MinecraftEntityId(OWN),
            action,
            data: 0,
        })
    }

    #[test]
    fn equipment_comes_from_the_inventory_and_the_held_slot() {
        let mut t = tracker();
        feed_cb(&mut t, inventory());
        let state = t.take_if_changed().expect("a change");
        assert_eq!(state.player, player());
        assert_eq!(
            state.equipment,
            vec![
                entry(EquipmentSlot::MainHand, "minecraft:diamond_sword", 1),
                entry(EquipmentSlot::OffHand, "minecraft:shield", 1),
                entry(EquipmentSlot::Legs, "minecraft:iron_leggings", 1),
                entry(EquipmentSlot::Head, "minecraft:diamond_helmet", 1),
            ]
        );
        assert!(state.equipment.iter().all(|e| e.item.components.is_empty()));

        // The server selects hotbar 3, then the client scrolls to hotbar 1 (empty).
        feed_cb(
            &mut t,
            ClientboundGamePacket::SetHeldSlot(ClientboundSetHeldSlot { slot: 3 }),
        );
        let state = t.take_if_changed().expect("a change");
        assert_eq!(
            state.equipment[0],
            entry(EquipmentSlot::MainHand, "minecraft:torch", 16)
        );
        feed_sb(
            &mut t,
            ServerboundGamePacket::SetCarriedItem(ServerboundSetCarriedItem { slot: 1 }),
        );
        let state = t.take_if_changed().expect("a change");
        assert_eq!(state.equipment[0].slot, EquipmentSlot::OffHand);
        // Out of range: ignored.
        feed_sb(
            &mut t,
            ServerboundGamePacket::SetCarriedItem(ServerboundSetCarriedItem { slot: 9 }),
        );
        feed_cb(
            &mut t,
            ClientboundGamePacket::SetHeldSlot(ClientboundSetHeldSlot { slot: 40 }),
        );
        assert_eq!(t.take_if_changed(), None);
    }

    #[test]
    fn slot_updates_change_the_equipment() {
        let mut t = tracker();
        feed_cb(&mut t, inventory());
        t.take_if_changed();

        // Boots on (menu slot 8), the helmet off (5).
        feed_cb(
            &mut t,
            ClientboundGamePacket::ContainerSetSlot(set_slot(
                0,
                8,
                Some((ItemKind::GoldenBoots, 1)),
            )),
        );
        feed_cb(
            &mut t,
            ClientboundGamePacket::ContainerSetSlot(set_slot(0, 5, None)),
        );
        let state = t.take_if_changed().expect("a change");
        assert_eq!(
            state.equipment,
            vec![
                entry(EquipmentSlot::MainHand, "minecraft:diamond_sword", 1),
                entry(EquipmentSlot::OffHand, "minecraft:shield", 1),
                entry(EquipmentSlot::Feet, "minecraft:golden_boots", 1),
                entry(EquipmentSlot::Legs, "minecraft:iron_leggings", 1),
            ]
        );

        // Another container's slot 36 is not the hotbar; the main inventory is not shown.
        feed_cb(
            &mut t,
            ClientboundGamePacket::ContainerSetSlot(set_slot(3, 36, None)),
        );
        feed_cb(
            &mut t,
            ClientboundGamePacket::ContainerSetSlot(set_slot(0, 20, None)),
        );
        assert_eq!(t.take_if_changed(), None);

        // `set_player_inventory` numbers slots as the inventory does: 0 is hotbar 0, 40 offhand.
        feed_cb(
            &mut t,
            ClientboundGamePacket::SetPlayerInventory(ClientboundSetPlayerInventory {
                slot: 0,
                contents: stack!(ItemKind::Bow, 1),
            }),
        );
        feed_cb(
            &mut t,
            ClientboundGamePacket::SetPlayerInventory(ClientboundSetPlayerInventory {
                slot: 40,
                contents: Default::default(),
            }),
        );
        let state = t.take_if_changed().expect("a change");
        assert_eq!(
            state.equipment[..2],
            [
                entry(EquipmentSlot::MainHand, "minecraft:bow", 1),
                entry(EquipmentSlot::Feet, "minecraft:golden_boots", 1),
            ]
        );
    }

    #[test]
    fn the_clients_own_inventory_changes_count() {
        let mut t = tracker();
        // Creative: the client sets the chestplate slot (menu 6) itself.
        feed_sb(
            &mut t,
            ServerboundGamePacket::SetCreativeModeSlot(ServerboundSetCreativeModeSlot {
                slot_num: 6,
                item_stack: stack!(ItemKind::NetheriteChestplate, 1),
            }),
        );
        assert_eq!(
            t.take_if_changed().expect("a change").equipment,
            vec![entry(
                EquipmentSlot::Chest,
                "minecraft:netherite_chestplate",
                1
            )]
        );

        // Survival: a click moves the chestplate to hotbar 0 (menu 36), as the client predicts.
        let hashed = |kind: Option<ItemKind>| {
            HashedStack(kind.map(|kind| HashedActualItem {
                kind,
                count: 1,
                components: HashedPatchMap {
                    added_components: vec![],
                    removed_components: vec![],
                },
            }))
        };
        let mut b = BytesMut::new();
        write_varint(&mut b, sb::CONTAINER_CLICK);
        b.put_slice(&[0, 5, 0, 6, 0, 0, 0, 0]); // container, state, slot, button, pickup, no slots, nothing carried
        let ServerboundGamePacket::ContainerClick(mut click) =
            decode_packet::<ServerboundGamePacket>(&b).unwrap()
        else {
            panic!("not a click");
        };
        click.changed_slots.insert(6, hashed(None));
        click
            .changed_slots
            .insert(36, hashed(Some(ItemKind::NetheriteChestplate)));
        feed_sb(&mut t, ServerboundGamePacket::ContainerClick(click.clone()));
        assert_eq!(
            t.take_if_changed().expect("a change").equipment,
            vec![entry(
                EquipmentSlot::MainHand,
                "minecraft:netherite_chestplate",
                1
            )]
        );

        // The same click in another container (a chest) is not about the inventory menu.
        click.container_id = 2;
        click.changed_slots.clear();
        click.changed_slots.insert(36, hashed(None));
        feed_sb(&mut t, ServerboundGamePacket::ContainerClick(click));
        assert_eq!(t.take_if_changed(), None);
    }

    #[test]
    fn effects_are_the_own_entitys_only() {
        let mut t = tracker();
        feed_cb(&mut t, effect(OWN, MobEffect::Speed, 1));
        feed_cb(&mut t, effect(OTHER, MobEffect::Glowing, 0));
        let state = t.take_if_changed().expect("a change");
        assert_eq!(
            state.effects,
            vec![Effect {
                effect: "minecraft:speed".into(),
                amplifier: 1,
                duration_ticks: 600,
                ambient: false,
                show_particles: true,
                show_icon: true,
            }]
        );

        // A stronger speed replaces the old one; invisibility joins it.
        feed_cb(&mut t, effect(OWN, MobEffect::Speed, 2));
        feed_cb(&mut t, effect(OWN, MobEffect::Invisibility, 0));
        let state = t.take_if_changed().expect("a change");
        let names: Vec<_> = state
            .effects
            .iter()
            .map(|e| (e.effect.as_str(), e.amplifier))
            .collect();
        assert_eq!(
            names,
            [("minecraft:speed", 2), ("minecraft:invisibility", 0)]
        );

        // Another entity losing speed changes nothing; the player losing it does.
        feed_cb(&mut t, remove_effect(OTHER, MobEffect::Speed));
        assert_eq!(t.take_if_changed(), None);
        feed_cb(&mut t, remove_effect(OWN, MobEffect::Speed));
        let state = t.take_if_changed().expect("a change");
        assert_eq!(state.effects.len(), 1);
        assert_eq!(state.effects[0].effect, "minecraft:invisibility");

        // A respawn clears them (the server sends again what remains).
        let mut respawn = BytesMut::new();
        write_varint(&mut respawn, cb::RESPAWN);
        respawn.put_slice(&[0xde, 0xad, KEEP_ENTITY_DATA]);
        t.on_clientbound(cb::RESPAWN, &respawn);
        assert!(t.take_if_changed().expect("a change").effects.is_empty());
    }

    #[test]
    fn effects_wait_for_the_own_entity_id() {
        let mut t = MirrorTracker::new(player());
        feed_cb(&mut t, effect(OWN, MobEffect::Speed, 0));
        assert_eq!(t.take_if_changed(), None);

        // `login` names the player's entity.
        let mut login = BytesMut::new();
        write_varint(&mut login, cb::LOGIN);
        login.put_i32(OWN);
        login.put_u8(0); // the rest does not matter
        t.on_clientbound(cb::LOGIN, &login);
        assert_eq!(t.own_entity_id(), Some(OWN));
        feed_cb(&mut t, effect(OWN, MobEffect::Speed, 0));
        assert_eq!(t.take_if_changed().expect("a change").effects.len(), 1);
    }

    #[test]
    fn sneaking_and_sprinting_follow_the_client() {
        let mut t = tracker();
        feed_sb(&mut t, input(true));
        let state = t.take_if_changed().expect("a change");
        assert!(state.sneaking && !state.sprinting);

        // Walking on with shift held is no change.
        feed_sb(&mut t, input(true));
        assert_eq!(t.take_if_changed(), None);

        feed_sb(&mut t, input(false));
        feed_sb(&mut t, command(Action::StartSprinting));
        let state = t.take_if_changed().expect("a change");
        assert!(!state.sneaking && state.sprinting);

        // Other commands change nothing; stopping does.
        feed_sb(&mut t, command(Action::OpenInventory));
        assert_eq!(t.take_if_changed(), None);
        feed_sb(&mut t, command(Action::StopSprinting));
        assert!(!t.take_if_changed().expect("a change").sprinting);
    }

    #[test]
    fn entity_data_gives_flags_and_pose_of_the_own_entity() {
        let mut t = tracker();
        feed_cb(
            &mut t,
            entity_data(
                OWN,
                vec![
                    data(0, EntityDataValue::Byte(FLAG_SNEAKING | 0x40)),
                    data(1, EntityDataValue::Int(300)),
                    data(6, EntityDataValue::Pose(Pose::Crouching)),
                    data(9, EntityDataValue::Float(20.0)),
                ],
            ),
        );
        let state = t.take_if_changed().expect("a change");
        assert!(state.sneaking && !state.sprinting);
        assert_eq!(state.pose, 5);

        // Another entity's data is not the player's.
        feed_cb(
            &mut t,
            entity_data(OTHER, vec![data(6, EntityDataValue::Pose(Pose::Swimming))]),
        );
        assert_eq!(t.take_if_changed(), None);

        // An entry read by hand cannot step over (particles) comes first: azalea decodes it.
        feed_cb(
            &mut t,
            entity_data(
                OWN,
                vec![
                    data(10, EntityDataValue::Particles(Box::new([]))),
                    data(0, EntityDataValue::Byte(FLAG_SPRINTING)),
                    data(6, EntityDataValue::Pose(Pose::Swimming)),
                ],
            ),
        );
        let state = t.take_if_changed().expect("a change");
        assert!(!state.sneaking && state.sprinting);
        assert_eq!(state.pose, 3);

        // A respawn after death resets them.
        let mut respawn = BytesMut::new();
        write_varint(&mut respawn, cb::RESPAWN);
        respawn.put_slice(&[0xde, 0xad, 0]);
        t.on_clientbound(cb::RESPAWN, &respawn);
        let state = t.take_if_changed().expect("a change");
        assert!(!state.sprinting);
        assert_eq!(state.pose, 0);
    }

    #[test]
    fn take_if_changed_returns_once_per_change() {
        let mut t = tracker();
        assert_eq!(t.take_if_changed(), None, "nothing seen yet");

        feed_cb(&mut t, effect(OWN, MobEffect::Speed, 0));
        let first = t.take_if_changed().expect("a change");
        assert_eq!(first, t.state());
        assert_eq!(t.take_if_changed(), None);

        // The same packet again: no change.
        feed_cb(&mut t, effect(OWN, MobEffect::Speed, 0));
        assert_eq!(t.take_if_changed(), None);

        // A change undone before the next take: no change either.
        feed_sb(&mut t, input(true));
        feed_sb(&mut t, input(false));
        assert_eq!(t.take_if_changed(), None);

        // Two changes between takes: one state with both.
        feed_sb(&mut t, input(true));
        feed_sb(&mut t, command(Action::StartSprinting));
        let state = t.take_if_changed().expect("a change");
        assert!(state.sneaking && state.sprinting);
        assert_eq!(t.take_if_changed(), None);

        // A reset goes back to the empty look, once.
        t.reset();
        let state = t.take_if_changed().expect("a change");
        assert_eq!(state, empty_state(player()));
        assert_eq!(t.take_if_changed(), None);
    }

    #[test]
    fn the_state_encodes() {
        let mut t = tracker();
        feed_cb(&mut t, inventory());
        feed_cb(&mut t, effect(OWN, MobEffect::Speed, 0));
        let state = t.take_if_changed().unwrap();
        let message = sync_plugin_protocol::Message::MirrorState(state);
        let mut buf = BytesMut::new();
        sync_plugin_protocol::encode(&message, &mut buf).unwrap();
        assert_eq!(sync_plugin_protocol::decode(&buf).unwrap(), message);
    }

    #[test]
    fn only_the_read_packets_are_read() {
        assert!(MirrorTracker::reads_clientbound(cb::SET_ENTITY_DATA));
        assert!(!MirrorTracker::reads_clientbound(
            cb::LEVEL_CHUNK_WITH_LIGHT
        ));
        assert!(MirrorTracker::reads_serverbound(sb::PLAYER_INPUT));
        assert!(!MirrorTracker::reads_serverbound(sb::MOVE_PLAYER_POS));
    }

    proptest! {
        #[test]
        fn malformed_packets_are_ignored(
            which in 0usize..14,
            tail in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let clientbound = [
                cb::CONTAINER_SET_CONTENT, cb::CONTAINER_SET_SLOT, cb::SET_PLAYER_INVENTORY,
                cb::SET_HELD_SLOT, cb::UPDATE_MOB_EFFECT, cb::REMOVE_MOB_EFFECT,
                cb::SET_ENTITY_DATA, cb::LOGIN, cb::RESPAWN,
            ];
            let serverbound = [
                sb::PLAYER_COMMAND, sb::PLAYER_INPUT, sb::SET_CARRIED_ITEM,
                sb::SET_CREATIVE_MODE_SLOT, sb::CONTAINER_CLICK,
            ];
            let mut t = tracker();
            let id = clientbound.get(which).copied()
                .unwrap_or_else(|| serverbound[which - clientbound.len()]);
            let mut packet = BytesMut::new();
            write_varint(&mut packet, id);
            // Aim at the own entity and container 0 half the time, so the decoding is reached.
            if tail.first().is_some_and(|b| b & 1 == 0) {
                write_varint(&mut packet, if id == cb::CONTAINER_SET_CONTENT { 0 } else { OWN });
            }
            packet.put_slice(&tail);
            if which < clientbound.len() {
                t.on_clientbound(id, &packet);
                t.on_clientbound(id, &packet[..packet.len() / 2]);
            } else {
                t.on_serverbound(id, &packet);
                t.on_serverbound(id, &packet[..packet.len() / 2]);
            }
            let _ = t.take_if_changed();
            // Whatever came of it still encodes.
            let mut buf = BytesMut::new();
            sync_plugin_protocol::encode(&sync_plugin_protocol::Message::MirrorState(t.state()), &mut buf)
                .unwrap();
        }
    }
}
