//! What each message from the proxy does, and what happens when this backend's world touches a
//! player (the test hooks stand in for mobs, potions and explosions).
//!
//! Every function here locks the shared book, updates it and returns the [`Effects`] the
//! connection must then carry out (packets, answers). None of them awaits, so no lock is ever
//! held across an `.await`.

use std::sync::Arc;

use sync_plugin_protocol::{
    ApplyOutcome, ApplyState, Effect, Message, MirrorState, RelayDamage, RelayEffect,
    RelayKnockback, ResendChunks, Role, SetRole, StateApplied, StateRefused, StateRequest,
    StateSnapshot, TeleportDummy, ZoneAssignment, ZonesApplied,
};
use uuid::Uuid;

use super::{
    Effects, Moved, Show,
    ghost::{self, Hurt},
    state,
};
use crate::{
    player::{Book, Event},
    server::Shared,
};

/// What a hit from this backend's world did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DamageOutcome {
    /// The player is primary here: health dropped to `health`.
    Applied { health: f32 },
    /// The player is primary here and died: respawned at full health.
    Died,
    /// The player is a ghost here: nothing happened to it, and `RelayDamage` went to the proxy.
    Relayed,
}

/// Handles one message from the proxy for the player `me`.
pub(crate) fn handle(shared: &Shared, me: Uuid, msg: Message) -> Effects {
    match msg {
        Message::SetRole(m) => set_role(shared, me, m),
        Message::TeleportDummy(m) => teleport_dummy(shared, me, m),
        Message::StateRequest(m) => state_request(shared, me, m),
        Message::ApplyState(m) => apply_state(shared, m),
        Message::ZoneAssignment(m) => zone_assignment(shared, m),
        Message::ResendChunks(m) => resend_chunks(shared, m),
        Message::RelayDamage(m) => relayed_damage(shared, me, m),
        Message::RelayKnockback(m) => relayed_knockback(shared, me, m),
        Message::RelayEffect(m) => relayed_effect(shared, me, m),
        Message::MirrorState(m) => mirror(shared, me, m),
        // The peer lets through only proxy → backend messages after the handshake, and the
        // link skips unknown types; nothing else can get here.
        other => {
            tracing::debug!(backend = %shared.config.id, "nothing to do for {other:?}");
            Effects::default()
        }
    }
}

fn set_role(shared: &Shared, me: Uuid, m: SetRole) -> Effects {
    let mut book = shared.roster.book();
    let Some(game) = book.game_mut(me) else {
        return Effects::default();
    };
    if let Err(stale) = game.standing.set_role(m.role, m.epoch) {
        tracing::warn!(backend = %shared.config.id, player = %me, "ignoring SetRole {:?}: {stale}", m.role);
        return Effects::default();
    }
    tracing::debug!(backend = %shared.config.id, player = %me, role = ?m.role, epoch = m.epoch, "role set");
    if m.role == Role::Primary {
        // The player is itself here now, not a mirror of someone elsewhere, and it may take
        // what it stands on.
        book.set_appearance(me, None);
        book.pick_up(me);
    }
    Effects::default()
}

fn teleport_dummy(shared: &Shared, me: Uuid, m: TeleportDummy) -> Effects {
    let mut book = shared.roster.book();
    let Some(game) = book.game(me) else {
        return Effects::default();
    };
    // The spec: a primary moves by itself; only the proxy's own view of a dummy is corrected.
    if game.standing.role() == Role::Primary {
        tracing::debug!(backend = %shared.config.id, player = %me, "ignoring TeleportDummy for a primary");
        return Effects::default();
    }
    if m.location.dimension != crate::play::OVERWORLD {
        tracing::debug!(backend = %shared.config.id, dimension = %m.location.dimension, "one world here: keeping the overworld");
    }
    book.relocate_to(me, &m.location);
    Effects {
        moved: Moved::Teleported { report: false },
        ..Effects::default()
    }
}

fn state_request(shared: &Shared, me: Uuid, m: StateRequest) -> Effects {
    let mut book = shared.roster.book();
    let refused = |reason: String| {
        Effects::reply(Message::StateRefused(StateRefused {
            transfer_id: m.transfer_id,
            player: m.player,
            reason,
        }))
    };
    let Some(game) = book.game_mut(me) else {
        return refused("player not online".into());
    };
    if game.standing.role() != Role::Primary {
        return refused("player is not primary here".into());
    }
    // A second request without a SetRole between them: one handoff at a time. The player stays
    // frozen, since the first snapshot may already be applied elsewhere.
    if let Some(earlier) = game.standing.frozen() {
        return refused(format!("handoff {earlier} is already in progress"));
    }
    if game.state.health <= 0.0 {
        return refused("player is dead".into());
    }
    // This backend opens no containers, so there is no cursor item or crafting grid to put
    // back: the inventory already holds everything.
    game.standing.freeze(m.transfer_id);
    Effects::reply(Message::StateSnapshot(StateSnapshot {
        transfer_id: m.transfer_id,
        player: m.player,
        state: game.state.clone(),
    }))
}

fn apply_state(shared: &Shared, m: ApplyState) -> Effects {
    let outcome = apply(shared, &m);
    let applied = outcome == ApplyOutcome::Applied;
    match &outcome {
        ApplyOutcome::Refused { reason } => {
            tracing::warn!(backend = %shared.config.id, transfer = %m.transfer_id, "ApplyState refused: {reason}")
        }
        other => {
            tracing::info!(backend = %shared.config.id, transfer = %m.transfer_id, "ApplyState: {other:?}")
        }
    }
    Effects {
        replies: vec![Message::StateApplied(StateApplied {
            transfer_id: m.transfer_id,
            player: m.player,
            outcome,
        })],
        show: if applied { Show::ALL } else { Show::default() },
        moved: if applied { Moved::Relocated } else { Moved::No },
        ..Effects::default()
    }
}

/// The spec's order: a stale epoch is refused, a known transfer id is already applied, and
/// only then is the state checked and applied; the id is recorded only once it is.
fn apply(shared: &Shared, m: &ApplyState) -> ApplyOutcome {
    let refused = |reason: String| ApplyOutcome::Refused { reason };
    let mut book = shared.roster.book();
    let Some(game) = book.game_mut(m.player) else {
        return refused("player not online".into());
    };
    if game.standing.fence(m.epoch).is_err() {
        return refused("stale epoch".into());
    }
    // Lock order: the book, then the ledger (nowhere is it the other way round).
    let mut ledger = shared.sync.ledger();
    if ledger.contains(&m.transfer_id) {
        return ApplyOutcome::AlreadyApplied;
    }
    if game.standing.role() == Role::Primary {
        return refused("player is primary here".into());
    }
    if let Err(reason) = state::check(&m.state) {
        return refused(reason);
    }
    game.state = m.state.clone();
    ledger.record(m.transfer_id);
    drop(ledger);
    book.relocate_to(m.player, &m.state.location);
    ApplyOutcome::Applied
}

/// Applies an assignment to the shared state before answering, so `ZonesApplied` never leaves
/// while a released zone's entities are still meant to be shown. Sessions hide and show them
/// when they take the event, which may be just after the answer: the spec allows that.
fn zone_assignment(shared: &Shared, m: ZoneAssignment) -> Effects {
    let mut zones = shared.sync.zones();
    let mut refresh = false;
    match zones.fence.check(m.epoch) {
        Ok(()) => {
            let next = zones.ownership.apply(m.zones);
            refresh = zones.ownership.hiding_changes(&next);
            tracing::info!(
                backend = %shared.config.id, epoch = m.epoch, zones = next.owned.len(),
                released = next.released.len(), "zones assigned"
            );
            zones.ownership = Arc::new(next);
        }
        Err(stale) => {
            tracing::warn!(backend = %shared.config.id, "ignoring ZoneAssignment: {stale}")
        }
    }
    let epoch = zones.fence.newest().unwrap_or(m.epoch);
    // The new ownership is in place before any session hears of it, so none can read the old
    // one after taking the event. The zones lock goes first: it is never held with the book's.
    drop(zones);
    if refresh {
        shared.roster.zones_changed();
    }
    Effects::reply(Message::ZonesApplied(ZonesApplied { epoch }))
}

/// Only the session knows which chunks its client has and which entities it was shown, so the
/// resending is its to do.
fn resend_chunks(shared: &Shared, m: ResendChunks) -> Effects {
    if m.dimension != crate::play::OVERWORLD {
        // One world here: its player has no chunk of another dimension to resend.
        tracing::debug!(backend = %shared.config.id, dimension = %m.dimension, "ignoring ResendChunks for another dimension");
        return Effects::default();
    }
    Effects {
        resend: m.chunks.iter().map(|c| (c.x, c.z)).collect(),
        ..Effects::default()
    }
}

/// A relay reaches the primary only; anything else must not change, and the proxy holds relays
/// while a handoff is under way, so one arriving at a ghost is dropped (and logged).
fn primary_only(book: &Book, shared: &Shared, me: Uuid, what: &str) -> bool {
    let ghost = book.game(me).is_none_or(|g| g.standing.is_ghost());
    if ghost {
        tracing::warn!(backend = %shared.config.id, player = %me, "ignoring {what}: the player is not primary here");
    }
    !ghost
}

fn relayed_damage(shared: &Shared, me: Uuid, m: RelayDamage) -> Effects {
    let mut book = shared.roster.book();
    if !primary_only(&book, shared, me, "RelayDamage") {
        return Effects::default();
    }
    hurt_primary(&mut book, shared, me, m.amount, &m.damage_type).1
}

/// Damage to a primary: health drops once; at zero it respawns (and reports where).
fn hurt_primary(
    book: &mut Book,
    shared: &Shared,
    me: Uuid,
    amount: f32,
    damage_type: &str,
) -> (DamageOutcome, Effects) {
    let Some(game) = book.game_mut(me) else {
        return (DamageOutcome::Relayed, Effects::default());
    };
    match ghost::hurt(&mut game.state, amount, shared.config.spawn) {
        Hurt::Hurt { health } => {
            tracing::debug!(backend = %shared.config.id, player = %me, damage_type, amount, health, "hurt");
            let effects = Effects {
                show: Show::health(),
                ..Effects::default()
            };
            (DamageOutcome::Applied { health }, effects)
        }
        Hurt::Died => {
            tracing::info!(backend = %shared.config.id, player = %me, damage_type, "died; respawned");
            let location = game.state.location.clone();
            book.relocate_to(me, &location);
            let effects = Effects {
                show: Show {
                    health: true,
                    effects: true,
                    ..Show::default()
                },
                moved: Moved::Teleported { report: true },
                ..Effects::default()
            };
            (DamageOutcome::Died, effects)
        }
    }
}

fn relayed_knockback(shared: &Shared, me: Uuid, m: RelayKnockback) -> Effects {
    if !primary_only(&shared.roster.book(), shared, me, "RelayKnockback") {
        return Effects::default();
    }
    Effects {
        knockback: Some([m.dx, m.dy, m.dz]),
        ..Effects::default()
    }
}

fn relayed_effect(shared: &Shared, me: Uuid, m: RelayEffect) -> Effects {
    let mut book = shared.roster.book();
    if !primary_only(&book, shared, me, "RelayEffect") {
        return Effects::default();
    }
    give_primary_effect(&mut book, me, m.effect)
}

fn give_primary_effect(book: &mut Book, me: Uuid, effect: Effect) -> Effects {
    let changed = book
        .game_mut(me)
        .is_some_and(|g| ghost::add_effect(&mut g.state, effect));
    Effects {
        show: Show {
            effects: changed,
            ..Show::default()
        },
        ..Effects::default()
    }
}

fn mirror(shared: &Shared, me: Uuid, m: MirrorState) -> Effects {
    let mut book = shared.roster.book();
    if book
        .game(me)
        .is_none_or(|g| g.standing.role() == Role::Primary)
    {
        tracing::debug!(backend = %shared.config.id, player = %me, "ignoring MirrorState for a primary");
        return Effects::default();
    }
    book.set_appearance(me, Some(m));
    Effects::default()
}

/// Something in this backend's world hurt a player (a test standing in for a mob): applied if
/// it is primary here, relayed to the proxy if it is a ghost. `None` if it is not online.
///
/// The role is read and the damage applied under one lock, so a `SetRole` cannot slip between.
pub(crate) fn world_damage(
    shared: &Shared,
    player: Uuid,
    amount: f32,
    damage_type: &str,
) -> Option<DamageOutcome> {
    let mut book = shared.roster.book();
    let (outcome, effects) = if book.game(player)?.standing.is_ghost() {
        let relay = Message::RelayDamage(RelayDamage {
            player,
            amount,
            damage_type: damage_type.to_owned(),
            attacker: None,
            source_position: None,
        });
        (DamageOutcome::Relayed, Effects::reply(relay))
    } else {
        hurt_primary(&mut book, shared, player, amount, damage_type)
    };
    book.send(player, Event::Effects(effects))
        .then_some(outcome)
}

/// Knockback from this world: given to a primary, relayed for a ghost. False if not online.
pub(crate) fn world_knockback(shared: &Shared, player: Uuid, velocity: [f64; 3]) -> bool {
    let book = shared.roster.book();
    let Some(game) = book.game(player) else {
        return false;
    };
    let effects = if game.standing.is_ghost() {
        let [dx, dy, dz] = velocity;
        Effects::reply(Message::RelayKnockback(RelayKnockback {
            player,
            dx,
            dy,
            dz,
        }))
    } else {
        Effects {
            knockback: Some(velocity),
            ..Effects::default()
        }
    };
    book.send(player, Event::Effects(effects))
}

/// An effect from this world (a potion, a wither skeleton): given to a primary, relayed for a
/// ghost. False if not online.
pub(crate) fn world_effect(shared: &Shared, player: Uuid, effect: Effect) -> bool {
    let mut book = shared.roster.book();
    let Some(game) = book.game(player) else {
        return false;
    };
    let effects = if game.standing.is_ghost() {
        Effects::reply(Message::RelayEffect(RelayEffect { player, effect }))
    } else {
        give_primary_effect(&mut book, player, effect)
    };
    book.send(player, Event::Effects(effects))
}
