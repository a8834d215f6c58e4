//! The `meridian:sync` plugin channel between the Meridian proxy and its backend servers.
//!
//! Backends and the proxy talk over a Minecraft plugin-message channel on each player connection (a
//! *link*). One plugin message carries one sync message: a VarInt message type, then fields in Minecraft's
//! own encodings, so a Paper plugin reads it with the byte buffers it already has. The normative
//! description, with a hex example of every message, is `docs/sync-protocol.md`; this crate is its Rust
//! implementation, and the spec's examples are tested against it.
//!
//! Modules:
//! - [`codec`]: the primitives (VarInt, String, UUID, ...) with bounded lengths, [`DecodeError`], [`EncodeError`].
//! - [`message`]: every message type, [`encode`], [`decode`], [`annotate`].
//! - [`state`]: the player data moved in a handoff ([`PlayerState`]) and the item/effect encodings.
//! - [`fragment`]: splitting messages larger than one plugin message, and [`Reassembler`].
//! - [`handshake`]: [`SyncPeer`], the per-link state machine: handshake, version negotiation, ordering
//!   and direction rules.
//! - [`ledger`]: [`TransferLedger`], at-most-once application of a handoff.
//! - [`fence`]: [`EpochFence`], refusing orders with a stale epoch.
//! - [`limits`]: the maximum of every length and count.
//!
//! Nothing here does I/O or reads a clock: timeouts are constants the caller applies.
//!
//! Decoding never panics, whatever the input (property-tested, and fuzzed by `fuzz/`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::time::Duration;

pub mod codec;
pub mod fence;
pub mod fragment;
pub mod handshake;
pub mod ledger;
pub mod message;
pub mod state;

pub use codec::{DecodeError, EncodeError, Encoding};
pub use fence::{EpochFence, StaleEpoch};
pub use fragment::{FragmentError, Reassembler, encode_payloads};
pub use handshake::{
    Agreement, Incoming, Phase, ProtocolError, SyncError, SyncPeer, VersionRange, negotiate,
};
pub use ledger::TransferLedger;
pub use message::{
    Annotation, ApplyOutcome, ApplyState, ChunkCoords, Direction, EXTENSION_RANGE_START, Fragment,
    Heartbeat, Hello, Message, MessageType, MirrorState, PositionReport, Reject, RelayDamage,
    RelayEffect, RelayKnockback, ResendChunks, Role, SetRole, Side, StateApplied, StateRefused,
    StateRequest, StateSnapshot, TeleportDummy, Vec3, Welcome, Zone, ZoneAssignment, ZonesApplied,
    annotate, decode, encode, encode_to_bytes,
};
pub use state::{
    Abilities, Attacker, Effect, EquipmentEntry, EquipmentSlot, Experience, GameMode,
    InventorySlot, ItemStack, Location, PlayerState, RespawnPoint,
};

/// The plugin channel the protocol runs on.
pub const CHANNEL: &str = "meridian:sync";

/// The newest protocol version this crate speaks (sent as `Hello.max_version`).
pub const PROTOCOL_VERSION: i32 = 1;

/// The oldest protocol version this crate speaks (sent as `Hello.min_version`).
pub const MIN_PROTOCOL_VERSION: i32 = 1;

/// The largest message, in bytes of its encoding, after reassembly. Bounds what a receiver buffers.
pub const MAX_MESSAGE_LEN: usize = 1 << 20;

/// The largest single plugin message payload: Bukkit's `Messenger.MAX_MESSAGE_SIZE`, which Paper enforces
/// on every plugin message it sends, and one under vanilla's limit on a serverbound `custom_payload`. A
/// message longer than this is sent as fragments ([`encode_payloads`]).
pub const MAX_PAYLOAD_LEN: usize = 32_766;

/// How long each side waits for the other's handshake message: the proxy for `Hello` after registering
/// the channel, a backend for `Welcome` after sending `Hello`.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a backend sends `Heartbeat` on each established link.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);

/// After this many intervals without a `Heartbeat` the proxy treats the link as dead (and the backend
/// as offline when none of its links has beaten).
pub const HEARTBEAT_MISSES: u32 = 5;

/// How long the proxy waits for each handoff answer (`StateSnapshot`/`StateRefused`, then
/// `StateApplied`) before abandoning the handoff; the old primary then stays primary.
pub const HANDOFF_TIMEOUT: Duration = Duration::from_secs(5);

/// The maximum of every length and count on the wire. A receiver refuses anything longer with
/// [`DecodeError::Oversized`]; lengths are in bytes of UTF-8 for strings.
pub mod limits {
    use crate::{MAX_MESSAGE_LEN, MAX_PAYLOAD_LEN};

    /// `Hello.server_id`, `Welcome.proxy_id`.
    pub const MAX_NODE_ID_LEN: usize = 64;
    /// Entries in a capability list.
    pub const MAX_CAPABILITIES: usize = 64;
    /// One capability name.
    pub const MAX_CAPABILITY_LEN: usize = 64;
    /// Any `reason` string.
    pub const MAX_REASON_LEN: usize = 1024;
    /// Any identifier (item, effect, dimension, damage type, entity type).
    pub const MAX_IDENTIFIER_LEN: usize = 256;
    /// `Zone.zone_id`.
    pub const MAX_ZONE_ID_LEN: usize = 64;
    /// Zones in one `ZoneAssignment`.
    pub const MAX_ZONES: usize = 4096;
    /// Chunks in one `ResendChunks`.
    pub const MAX_RESEND_CHUNKS: usize = 4096;
    /// Entries in `PlayerState.inventory`: one per slot 0–40.
    pub const MAX_INVENTORY_ENTRIES: usize = 41;
    /// Entries in `PlayerState.ender_chest`: one per slot 0–26.
    pub const MAX_ENDER_CHEST_ENTRIES: usize = 27;
    /// Effects in any effect list.
    pub const MAX_EFFECTS: usize = 64;
    /// Entries in `MirrorState.equipment`: one per slot.
    pub const MAX_EQUIPMENT_ENTRIES: usize = 6;
    /// One item's `components`: bounded only by the message.
    pub const MAX_COMPONENTS_LEN: usize = MAX_MESSAGE_LEN;
    /// Fragments of one message.
    pub const MAX_FRAGMENTS: i32 = 64;
    /// `Fragment.data` accepted.
    pub const MAX_FRAGMENT_DATA_LEN: usize = MAX_PAYLOAD_LEN;
    /// `Fragment.data` sent by [`crate::encode_payloads`]: leaves room for the fragment's own fields.
    pub const FRAGMENT_CHUNK_LEN: usize = 32_000;
}
