//! Entity ids per session: the map between each backend link's ids and the client's, and the
//! rewriting of every play packet that carries one. Pure: no IO, no locking (the session owns an
//! [`EntityMap`] and hands it to both directions).
//!
//! # Semantics
//! See [`EntityMap`]: one client id per `(link, backend id)` pair, identity when free, ids freed
//! when the last pair showing them is released (`remove_entities`, [`EntityMap::release_link`]),
//! the player's id fixed at first `login`, freed ids kept from reuse for a while (a packet in
//! flight may still name them). Pass every link's `login` to [`rewrite_clientbound`] or
//! [`EntityMap::login`], forwarded or not, so each link's id for the player is known; after a
//! dimension-changing `respawn` call [`EntityMap::clear_entities`]. Ids referenced before they are
//! added (an arrow's far-away shooter, a leash holder) get their mapping early, so a later
//! `add_entity` lines up; if the entity never comes, the mapping lasts until its link closes, so
//! to ask whether a link shows an entity use [`EntityMap::is_shown`], not [`EntityMap::get`].
//!
//! # Clientbound (all 141 play packets of 26.1 read in azalea 0.16 and minecraft-data 26.1, codecs
//! and client handlers checked in a decompiled 26.1 snapshot-5 client; the others carry no entity
//! id)
//! | packet | ids | handling |
//! |---|---|---|
//! | `add_entity` | VarInt id; VarInt `data` | id mapped, type remembered; `data` mapped for projectiles (owner, 0 = none) and `fishing_bobber` (owner or itself); block state, direction, pose flag otherwise: untouched |
//! | `animate`, `block_destruction` (breaker), `entity_position_sync`, `hurt_animation`, `move_entity_pos`, `move_entity_pos_rot`, `move_entity_rot`, `move_minecart_along_track`, `player_combat_kill`, `remove_mob_effect`, `rotate_head`, `set_camera`, `set_entity_motion`, `set_equipment`, `teleport_entity`, `update_attributes`, `update_mob_effect`, `projectile_power`, `debug_entity_value` | first field, VarInt | patched in place |
//! | `entity_event` | first field, `int` | patched in place |
//! | `login` | player id, `int` | first login fixes the player's client id; later links bind to it |
//! | `remove_entities` | VarInt list | each pair released; only ids nobody shows any more go on; empty ⇒ [`Rewritten::Drop`] |
//! | `set_entity_data` | VarInt id + metadata | id patched; metadata parsed for the types in [`metadata`]'s table |
//! | `set_passengers` | vehicle + VarInt list | all mapped |
//! | `set_entity_link` | two `int`s | leashed entity mapped; holder mapped unless 0 (dropped) |
//! | `take_item_entity` | item, collector (VarInts) | both mapped |
//! | `damage_event` | entity; cause, direct as VarInt id+1 | mapped; 0 (none) kept |
//! | `mount_screen_open` | third field, `int` | mapped |
//! | `player_look_at` | optional VarInt after a flag | mapped when present |
//! | `sound_entity` | VarInt after the sound holder and source | mapped |
//! | `level_particles` | `vibration` particle flying to an entity | mapped |
//!
//! Not rewritten, knowingly: `respawn` carries no id (the client keeps the player's); ids nested
//! inside `debug_entity_value`/`debug_*` payloads (debug subscriptions, dev tools only); a
//! `vibration` particle inside `explode` (vanilla explosions never use one); `custom_payload`.
//! UUIDs (`player_info_*`, `boss_event`, `set_player_team`, `waypoint`, `teleport_to_entity`)
//! are the same on every backend.
//!
//! # Serverbound (69 play packets)
//! `attack`, `interact`, `pick_item_from_entity`, `player_command`, `set_command_minecart`,
//! `spectate_entity` (first field) and `entity_tag_query` (second field): one VarInt each, mapped
//! back with [`rewrite_serverbound`]. `teleport_to_entity` names a UUID. azalea 0.16 reads
//! `attack` and `spectate_entity` ids (and clientbound `debug_entity_value`'s) as four-byte ints;
//! vanilla and minecraft-data say VarInt, and so does this module.

mod clientbound;
mod codec;
pub mod kinds;
mod map;
pub mod metadata;
mod serverbound;

#[cfg(test)]
mod tests;

pub use clientbound::{
    Rewritten, carries_entity_ids as clientbound_carries_ids, rewrite_clientbound,
};
pub use codec::RewriteError;
pub(crate) use map::IdHash;
pub use map::{EntityMap, FRESH_BASE, LinkId, MapError};
pub use serverbound::{
    Target, carries_entity_ids as serverbound_carries_ids, rewrite_for_player_link,
    rewrite_serverbound,
};
