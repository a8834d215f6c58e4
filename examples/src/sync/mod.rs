//! The backend side of the `meridian:sync` plugin channel (`docs/sync-protocol.md`).
//!
//! - `link`: one connection's conversation: handshake, heartbeats, reassembly, and which bad
//!   input is dropped versus which ends the link.
//! - `handler`: what each message from the proxy does to the shared state, and the answer.
//! - [`state`]: the player state as kept here (the protocol's `PlayerState`) and its rules.
//! - [`ghost`]: roles, freezing, and the dummy rules (no pickups, no damage: relay it).
//! - `show`: the packets that show a player's state to its own client and a dummy's mirrored
//!   look to everyone else.
//! - `load`: the numbers a heartbeat reports.
//! - `zones`: the zone assignment, the zones it released, and so which world entities are shown.
//!
//! Per backend (here, `SyncShared`): the transfer ledger, the zone assignment, counters for
//! tests. Per player connection (in the roster's book): the state and the role with its epoch.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use sync_plugin_protocol::{Message, TransferLedger};

pub mod ghost;
pub(crate) mod handler;
pub(crate) mod link;
pub(crate) mod load;
pub(crate) mod show;
pub mod state;
pub(crate) mod zones;

pub use sync_plugin_protocol::CHANNEL;

/// The channel the proxy registers ours on.
pub const REGISTER_CHANNEL: &str = "minecraft:register";

/// Sync state shared by every connection of a backend.
#[derive(Debug, Default)]
pub(crate) struct SyncShared {
    payloads: AtomicUsize,
    received: Mutex<HashMap<i32, usize>>,
    dropped: AtomicUsize,
    stopped: AtomicBool,
    /// Transfer ids applied here: "at most once per backend".
    ledger: Mutex<TransferLedger>,
    zones: Mutex<zones::Zones>,
    pub load: load::LoadMeter,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update under these locks is a single insert or assignment: usable after a panic.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl SyncShared {
    /// Counts a payload that arrived on the channel, readable or not.
    pub fn count_payload(&self) {
        self.payloads.fetch_add(1, Ordering::Relaxed);
    }

    pub fn payloads(&self) -> usize {
        self.payloads.load(Ordering::Relaxed)
    }

    /// Counts a message (or fragment) of this wire type as received.
    pub fn count(&self, message_type: i32) {
        *lock(&self.received).entry(message_type).or_default() += 1;
    }

    pub fn received(&self, message_type: i32) -> usize {
        lock(&self.received)
            .get(&message_type)
            .copied()
            .unwrap_or(0)
    }

    pub fn count_dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::Relaxed)
    }

    /// While stopped, messages are counted and then ignored: a backend that never answers.
    pub fn stop(&self, stopped: bool) {
        self.stopped.store(stopped, Ordering::Relaxed);
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    pub fn ledger(&self) -> MutexGuard<'_, TransferLedger> {
        lock(&self.ledger)
    }

    pub fn zones(&self) -> MutexGuard<'_, zones::Zones> {
        lock(&self.zones)
    }

    /// The ownership as last applied; later assignments do not change this snapshot.
    pub fn ownership(&self) -> Arc<zones::Ownership> {
        self.zones().ownership.clone()
    }
}

/// Which parts of a player's state to (re)send to its own client.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Show {
    pub health: bool,
    pub experience: bool,
    pub inventory: bool,
    pub effects: bool,
    pub game_mode: bool,
    pub abilities: bool,
    pub held_slot: bool,
}

impl Show {
    pub const ALL: Self = Self {
        health: true,
        experience: true,
        inventory: true,
        effects: true,
        game_mode: true,
        abilities: true,
        held_slot: true,
    };

    pub fn health() -> Self {
        Self {
            health: true,
            ..Self::default()
        }
    }
}

/// How the server moved the player itself.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Moved {
    #[default]
    No,
    /// The book has a new position (an applied state): follow it, without telling the client.
    Relocated,
    /// Teleport the client there (`player_position`); `report` sends a `PositionReport`, as a
    /// primary must when it moves the player itself.
    Teleported { report: bool },
}

/// What a connection must do after the shared state changed: the state itself is already
/// updated in the book; these are the packets that follow.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Effects {
    /// Sync messages to send on this link, in order.
    pub replies: Vec<Message>,
    pub show: Show,
    pub moved: Moved,
    /// Velocity to give the player (an applied `RelayKnockback`).
    pub knockback: Option<[f64; 3]>,
    /// Chunks to send the client again, with the world entities in them (`ResendChunks`).
    pub resend: Vec<(i32, i32)>,
}

impl Effects {
    pub fn reply(msg: Message) -> Self {
        Self {
            replies: vec![msg],
            ..Self::default()
        }
    }
}
