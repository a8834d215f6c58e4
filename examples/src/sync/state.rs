//! The player's state as this backend keeps it: the protocol's [`PlayerState`] itself, so a
//! snapshot is a clone and an `ApplyState` a replacement, plus the inventory rules the backend
//! needs on top (`/give`, pickups, `/inv`) and the checks an incoming state must pass.

use std::str::FromStr;

use azalea_inventory::item::MaxStackSizeExt;
use azalea_registry::builtin::ItemKind;
use sync_plugin_protocol::{
    Abilities, Experience, GameMode, InventorySlot, ItemStack, Location, PlayerState,
};

/// Player inventory slots are 0..=40 (vanilla `Inventory` indices, as in the spec).
pub const INVENTORY_SLOTS: i32 = 41;
/// Ender chest slots are 0..=26.
pub const ENDER_CHEST_SLOTS: i32 = 27;
/// The offhand slot.
pub const OFFHAND: i32 = 40;
/// Slots 0..36 (hotbar and main inventory) are where added items go; armour and offhand are
/// only filled by equipping, which this backend does not simulate.
const STORAGE_SLOTS: i32 = 36;
/// Vanilla's largest `max_stack_size`.
const MAX_COUNT: i32 = 99;

/// A new player's state: vanilla's defaults at `spawn` in the overworld.
pub fn initial(spawn: [f64; 3]) -> PlayerState {
    PlayerState {
        location: Location {
            dimension: "minecraft:overworld".into(),
            x: spawn[0],
            y: spawn[1],
            z: spawn[2],
            yaw: 0.0,
            pitch: 0.0,
        },
        inventory: Vec::new(),
        ender_chest: Vec::new(),
        selected_slot: 0,
        health: 20.0,
        absorption: 0.0,
        food: 20,
        saturation: 5.0,
        experience: Experience {
            level: 0,
            progress: 0.0,
            total: 0,
        },
        effects: Vec::new(),
        game_mode: GameMode::Survival,
        abilities: Abilities {
            flying: false,
            may_fly: false,
            invulnerable: false,
            instabuild: false,
            flying_speed: 0.05,
            walking_speed: 0.1,
        },
        fall_distance: 0.0,
        fire_ticks: -20,
        air: 300,
        respawn: None,
    }
}

/// The item's vanilla stack size (64 for an id this build does not know).
pub fn max_stack(item: &str) -> i32 {
    ItemKind::from_str(item).map_or(64, |kind| kind.max_stack_size())
}

/// The stack in `slot`, if any.
pub fn slot(state: &PlayerState, slot: i32) -> Option<&ItemStack> {
    state
        .inventory
        .iter()
        .find(|s| s.slot == slot)
        .map(|s| &s.item)
}

/// Adds up to `count` of `item` (no components) the way vanilla's `Inventory.add` does: first
/// onto stacks of the same item (the selected slot, the offhand, then slots in order), then into
/// empty hotbar and main slots in order. Returns how many fit; the rest is not taken.
pub fn add_items(state: &mut PlayerState, item: &str, count: i32) -> i32 {
    let max = max_stack(item).clamp(1, MAX_COUNT);
    let mut left = count.max(0);
    let merge_order = [state.selected_slot, OFFHAND]
        .into_iter()
        .chain(0..STORAGE_SLOTS);
    for index in merge_order {
        if left == 0 {
            break;
        }
        if let Some(entry) = state.inventory.iter_mut().find(|s| s.slot == index)
            && entry.item.item == item
            && entry.item.components.is_empty()
            && entry.item.count < max
        {
            let moved = left.min(max - entry.item.count);
            entry.item.count += moved;
            left -= moved;
        }
    }
    for index in 0..STORAGE_SLOTS {
        if left == 0 {
            break;
        }
        if slot(state, index).is_none() {
            let moved = left.min(max);
            state.inventory.push(InventorySlot {
                slot: index,
                item: ItemStack::plain(item, moved),
            });
            left -= moved;
        }
    }
    state.inventory.sort_by_key(|s| s.slot);
    count.max(0) - left
}

/// `/inv`'s answer: each item with its total count, in the order of the first slot holding
/// it (`inv=stone:5,diamond:2`, or `inv=` when empty).
pub fn describe(state: &PlayerState) -> String {
    let mut totals: Vec<(&str, i64)> = Vec::new();
    let mut slots: Vec<&InventorySlot> = state.inventory.iter().collect();
    slots.sort_by_key(|s| s.slot);
    for s in slots {
        match totals.iter_mut().find(|(item, _)| *item == s.item.item) {
            Some((_, total)) => *total += i64::from(s.item.count),
            None => totals.push((&s.item.item, i64::from(s.item.count))),
        }
    }
    let items: Vec<String> = totals
        .into_iter()
        // Vanilla items read without their namespace (`diamond`), as players type them.
        .map(|(item, count)| {
            format!(
                "{}:{count}",
                item.strip_prefix("minecraft:").unwrap_or(item)
            )
        })
        .collect();
    format!("inv={}", items.join(","))
}

/// The inventory as `(slot, item, count)`, by slot.
pub fn list(state: &PlayerState) -> Vec<(i32, String, i32)> {
    let mut out: Vec<(i32, String, i32)> = state
        .inventory
        .iter()
        .map(|s| (s.slot, s.item.item.clone(), s.item.count))
        .collect();
    out.sort();
    out
}

/// Checks a state from the proxy (or a test) before it replaces a player's: the codec already
/// bounded every length, this checks what the codec cannot know. Item ids this build does not
/// know are kept as they are (they come back in the next snapshot) but not shown to the client.
pub fn check(state: &PlayerState) -> Result<(), String> {
    check_slots("inventory", &state.inventory, INVENTORY_SLOTS)?;
    check_slots("ender_chest", &state.ender_chest, ENDER_CHEST_SLOTS)?;
    if !(0..=8).contains(&state.selected_slot) {
        return Err(format!(
            "selected_slot {} is not a hotbar slot",
            state.selected_slot
        ));
    }
    // A dead player is never handed off, so a state with no health is a bug upstream.
    if state.health <= 0.0 {
        return Err(format!("health {} is not positive", state.health));
    }
    if state.absorption < 0.0 {
        return Err(format!("absorption {} is negative", state.absorption));
    }
    if !(0..=20).contains(&state.food) {
        return Err(format!("food {} is outside 0..=20", state.food));
    }
    let xp = &state.experience;
    if xp.level < 0 || xp.total < 0 || !(0.0..=1.0).contains(&xp.progress) {
        return Err(format!(
            "experience level {} progress {} total {} is out of range",
            xp.level, xp.progress, xp.total
        ));
    }
    Ok(())
}

fn check_slots(what: &str, slots: &[InventorySlot], size: i32) -> Result<(), String> {
    let mut seen = [false; INVENTORY_SLOTS as usize];
    for s in slots {
        let index = usize::try_from(s.slot)
            .ok()
            .filter(|_| s.slot < size)
            .ok_or_else(|| format!("{what} slot {} is outside 0..{size}", s.slot))?;
        if std::mem::replace(&mut seen[index], true) {
            return Err(format!("{what} slot {} is listed twice", s.slot));
        }
        if !(1..=MAX_COUNT).contains(&s.item.count) {
            return Err(format!(
                "{what} slot {} holds {} items",
                s.slot, s.item.count
            ));
        }
        if s.item.item.is_empty() || s.item.item == "minecraft:air" {
            return Err(format!("{what} slot {} holds air", s.slot));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> PlayerState {
        initial([0.5, 64.0, 0.5])
    }

    #[test]
    fn items_stack_then_fill_empty_slots_in_order() {
        let mut s = state();
        assert_eq!(add_items(&mut s, "minecraft:stone", 5), 5);
        assert_eq!(add_items(&mut s, "minecraft:diamond", 2), 2);
        assert_eq!(add_items(&mut s, "minecraft:stone", 100), 100);
        assert_eq!(
            list(&s),
            vec![
                (0, "minecraft:stone".into(), 64),
                (1, "minecraft:diamond".into(), 2),
                (2, "minecraft:stone".into(), 41),
            ]
        );
        assert_eq!(describe(&s), "inv=stone:105,diamond:2");
        // Unstackable items take one slot each.
        assert_eq!(add_items(&mut s, "minecraft:diamond_sword", 2), 2);
        assert_eq!(slot(&s, 3).map(|i| i.count), Some(1));
        assert_eq!(slot(&s, 4).map(|i| i.count), Some(1));
    }

    #[test]
    fn the_offhand_and_armour_are_never_filled_and_a_full_inventory_takes_what_fits() {
        let mut s = state();
        assert_eq!(add_items(&mut s, "minecraft:dirt", 6400), 36 * 64);
        assert!(s.inventory.iter().all(|i| i.slot < 36));
        assert_eq!(add_items(&mut s, "minecraft:dirt", 1), 0);
        // A matching offhand stack is topped up before the main inventory.
        let mut s = state();
        s.inventory.push(InventorySlot {
            slot: OFFHAND,
            item: ItemStack::plain("minecraft:torch", 10),
        });
        assert_eq!(add_items(&mut s, "minecraft:torch", 3), 3);
        assert_eq!(slot(&s, OFFHAND).map(|i| i.count), Some(13));
        assert_eq!(slot(&s, 0), None);
    }

    #[test]
    fn incoming_states_are_checked() {
        assert_eq!(check(&state()), Ok(()));
        let mut s = state();
        s.inventory.push(InventorySlot {
            slot: 41,
            item: ItemStack::plain("minecraft:stone", 1),
        });
        assert!(check(&s).unwrap_err().contains("outside"));
        let mut s = state();
        for _ in 0..2 {
            s.inventory.push(InventorySlot {
                slot: 3,
                item: ItemStack::plain("minecraft:stone", 1),
            });
        }
        assert!(check(&s).unwrap_err().contains("twice"));
        let mut s = state();
        s.health = 0.0;
        assert!(check(&s).is_err());
        let mut s = state();
        s.selected_slot = 9;
        assert!(check(&s).is_err());
        let mut s = state();
        s.ender_chest.push(InventorySlot {
            slot: 27,
            item: ItemStack::plain("minecraft:stone", 1),
        });
        assert!(check(&s).is_err());
    }
}
