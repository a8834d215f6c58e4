//! A player's standing on this backend (primary, dummy, frozen) and the rules that follow from it.
//!
//! A dummy is a ghost of a player who lives on another backend: it must never change anything,
//! or a player walking along a border would pick up every item twice. The rules here are the
//! spec's "Dummies" section as far as this small server has the events they cancel.

use sync_plugin_protocol::{Effect, EpochFence, PlayerState, Role, StaleEpoch};
use uuid::Uuid;

/// How far from a player's feet an item is picked up, in blocks.
pub const PICKUP_RANGE: f64 = 1.5;

/// The player's role here, as the proxy last set it.
#[derive(Debug, Clone)]
pub struct Standing {
    role: Role,
    /// Set by a `StateSnapshot` until the next `SetRole`: the state has been sent away, so
    /// nothing may change it.
    frozen: Option<Uuid>,
    /// Forgotten with the connection, as the spec's role epoch is.
    fence: EpochFence,
}

impl Default for Standing {
    /// A player is a dummy until the first `SetRole`: a ghost cannot duplicate anything.
    fn default() -> Self {
        Self {
            role: Role::Dummy,
            frozen: None,
            fence: EpochFence::new(),
        }
    }
}

impl Standing {
    pub fn role(&self) -> Role {
        self.role
    }

    pub fn frozen(&self) -> Option<Uuid> {
        self.frozen
    }

    /// Whether the ghost rules apply: a dummy, or a primary frozen for a handoff.
    pub fn is_ghost(&self) -> bool {
        self.role == Role::Dummy || self.frozen.is_some()
    }

    /// Obeys a `SetRole`, which also ends a freeze; a stale one changes nothing.
    pub fn set_role(&mut self, role: Role, epoch: i64) -> Result<(), StaleEpoch> {
        self.fence.check(epoch)?;
        self.role = role;
        self.frozen = None;
        Ok(())
    }

    /// Checks (and remembers) the epoch of an `ApplyState`.
    pub fn fence(&mut self, epoch: i64) -> Result<(), StaleEpoch> {
        self.fence.check(epoch)
    }

    pub fn freeze(&mut self, transfer_id: Uuid) {
        self.frozen = Some(transfer_id);
    }
}

/// What a hit did to a primary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Hurt {
    /// Health is now this.
    Hurt { health: f32 },
    /// Health reached zero: the player was respawned.
    Died,
}

/// Applies `amount` of raw damage, absorption first. Armour, enchantments and resistance are
/// not modelled: the reference backend has none of the items or effects' rules for them.
pub fn hurt(state: &mut PlayerState, amount: f32, spawn: [f64; 3]) -> Hurt {
    let amount = if amount.is_finite() {
        amount.max(0.0)
    } else {
        0.0
    };
    let absorbed = amount.min(state.absorption);
    state.absorption -= absorbed;
    state.health -= amount - absorbed;
    if state.health > 0.0 {
        return Hurt::Hurt {
            health: state.health,
        };
    }
    respawn(state, spawn);
    Hurt::Died
}

/// Minimal death: straight back at the respawn point (the world spawn if none is set) with
/// full health and food, effects and fire gone. The inventory is kept, as with the
/// `keepInventory` game rule, because this backend has no item drops on death.
fn respawn(state: &mut PlayerState, spawn: [f64; 3]) {
    let (x, y, z) = match &state.respawn {
        Some(p) => (f64::from(p.x) + 0.5, f64::from(p.y), f64::from(p.z) + 0.5),
        None => (spawn[0], spawn[1], spawn[2]),
    };
    state.location.x = x;
    state.location.y = y;
    state.location.z = z;
    state.health = 20.0;
    state.absorption = 0.0;
    state.food = 20;
    state.saturation = 5.0;
    state.effects.clear();
    state.fall_distance = 0.0;
    state.fire_ticks = -20;
    state.air = 300;
}

/// Adds an effect as vanilla's `addEffect` mostly does: it replaces one of the same type
/// unless that one is stronger. (Vanilla also keeps a weaker, longer one "hidden" behind a
/// stronger one; not modelled.)
pub fn add_effect(state: &mut PlayerState, effect: Effect) -> bool {
    match state.effects.iter_mut().find(|e| e.effect == effect.effect) {
        Some(old) if old.amplifier > effect.amplifier => false,
        Some(old) => {
            *old = effect;
            true
        }
        None => {
            state.effects.push(effect);
            true
        }
    }
}

/// Distance between two feet positions, for pickups.
pub fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::state::initial;

    #[test]
    fn a_new_player_is_a_ghost_until_made_primary_and_a_snapshot_freezes_it() {
        let mut s = Standing::default();
        assert!(s.is_ghost());
        s.set_role(Role::Primary, 3).unwrap();
        assert!(!s.is_ghost());
        s.freeze(Uuid::from_u128(1));
        assert!(s.is_ghost());
        assert!(s.set_role(Role::Primary, 2).is_err(), "stale");
        assert!(s.is_ghost(), "a stale SetRole does not unfreeze");
        s.set_role(Role::Primary, 3).unwrap();
        assert!(!s.is_ghost());
        assert!(s.fence(2).is_err());
        assert!(s.fence(4).is_ok());
    }

    #[test]
    fn damage_takes_absorption_first_and_death_respawns() {
        let mut state = initial([1.5, 64.0, 1.5]);
        state.absorption = 2.0;
        assert_eq!(hurt(&mut state, 5.0, [0.0; 3]), Hurt::Hurt { health: 17.0 });
        assert_eq!(state.absorption, 0.0);
        assert_eq!(
            hurt(&mut state, f32::NAN, [0.0; 3]),
            Hurt::Hurt { health: 17.0 }
        );
        state.location.x = 100.0;
        state.food = 3;
        assert_eq!(hurt(&mut state, 40.0, [1.5, 64.0, 1.5]), Hurt::Died);
        assert_eq!((state.health, state.food), (20.0, 20));
        assert_eq!(state.location.x, 1.5);
    }

    #[test]
    fn a_weaker_effect_does_not_replace_a_stronger_one() {
        let effect = |amplifier, duration_ticks| Effect {
            effect: "minecraft:speed".into(),
            amplifier,
            duration_ticks,
            ambient: false,
            show_particles: true,
            show_icon: true,
        };
        let mut state = initial([0.0; 3]);
        assert!(add_effect(&mut state, effect(1, 100)));
        assert!(!add_effect(&mut state, effect(0, 900)));
        assert!(add_effect(&mut state, effect(1, 300)));
        assert_eq!(state.effects, vec![effect(1, 300)]);
    }
}
