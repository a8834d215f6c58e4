//! The messages, their type numbers and directions, and the codec for one whole payload.
//!
//! Field order in every `write`/`read` pair below *is* the wire format; `docs/sync-protocol.md` documents the
//! same order, and `tests/spec_examples.rs` checks the two against each other.

use bytes::{Bytes, BytesMut};
use uuid::Uuid;

use crate::MAX_MESSAGE_LEN;
use crate::codec::{DecodeError, EncodeError, Encoding, Reader, Writer};
use crate::limits::{
    MAX_CAPABILITIES, MAX_CAPABILITY_LEN, MAX_EQUIPMENT_ENTRIES, MAX_FRAGMENT_DATA_LEN,
    MAX_IDENTIFIER_LEN, MAX_NODE_ID_LEN, MAX_REASON_LEN, MAX_RESEND_CHUNKS, MAX_ZONE_ID_LEN,
    MAX_ZONES,
};
use crate::state::{Attacker, Effect, EquipmentEntry, Location, PlayerState};

/// Which side of a link is speaking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The Meridian proxy.
    Proxy,
    /// A backend server (a Paper plugin, a Rust server, ...).
    Backend,
}

/// Who may send a message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Backend → proxy only.
    ToProxy,
    /// Proxy → backend only.
    ToBackend,
    /// Either side.
    Both,
}

impl Direction {
    /// Whether `sender` may send a message with this direction.
    pub fn allows(self, sender: Side) -> bool {
        matches!(
            (self, sender),
            (Self::Both, _) | (Self::ToProxy, Side::Backend) | (Self::ToBackend, Side::Proxy)
        )
    }
}

macro_rules! message_types {
    ($($(#[$doc:meta])* $name:ident = $id:literal, $dir:ident;)*) => {
        /// The message types this crate knows, with their wire numbers (the payload's leading VarInt).
        ///
        /// Types 0x00–0x3F are the core protocol; 0x40 and above are the extension range
        /// ([`EXTENSION_RANGE_START`]). A type this list lacks decodes to [`Message::Unknown`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum MessageType {
            $($(#[$doc])* $name,)*
        }

        impl MessageType {
            /// Every known type, in wire-number order.
            pub const ALL: &'static [MessageType] = &[$(Self::$name,)*];

            /// The wire number.
            pub fn id(self) -> i32 {
                match self { $(Self::$name => $id,)* }
            }

            /// The known type with that wire number.
            pub fn from_id(id: i32) -> Option<Self> {
                match id { $($id => Some(Self::$name),)* _ => None }
            }

            /// The name the spec uses for it (also the Rust name).
            pub fn name(self) -> &'static str {
                match self { $(Self::$name => stringify!($name),)* }
            }

            /// Who may send it.
            pub fn direction(self) -> Direction {
                match self { $(Self::$name => Direction::$dir,)* }
            }
        }
    };
}

message_types! {
    /// Backend's opening message: versions, identity, capabilities.
    Hello = 0x00, ToProxy;
    /// Proxy's answer to a good `Hello`: the agreed version and capabilities.
    Welcome = 0x01, ToBackend;
    /// Refusal of the handshake (or of the link); the sender closes the link after it.
    Reject = 0x02, Both;
    /// Backend liveness and load, every [`crate::HEARTBEAT_INTERVAL`].
    Heartbeat = 0x03, ToProxy;
    /// One piece of a message too large for one plugin message.
    Fragment = 0x04, Both;
    /// Makes the player primary or dummy on this backend.
    SetRole = 0x08, ToBackend;
    /// Moves a dummy.
    TeleportDummy = 0x09, ToBackend;
    /// The primary's authoritative position after the server itself moved the player.
    PositionReport = 0x0A, ToProxy;
    /// Asks the old primary for the player's state; freezes the player there.
    StateRequest = 0x10, ToBackend;
    /// The old primary's answer: the player's whole state.
    StateSnapshot = 0x11, ToProxy;
    /// The old primary's answer when it cannot hand the player off.
    StateRefused = 0x12, ToProxy;
    /// Gives the new primary the player's state.
    ApplyState = 0x13, ToBackend;
    /// The new primary's answer to `ApplyState`.
    StateApplied = 0x14, ToProxy;
    /// The zones this backend owns, under an epoch.
    ZoneAssignment = 0x18, ToBackend;
    /// The backend now simulates exactly the zones of this epoch.
    ZonesApplied = 0x19, ToProxy;
    /// Send these chunks, and the entities in them, to the player again.
    ResendChunks = 0x1A, ToBackend;
    /// Damage a dummy took (to proxy) or damage to apply (to the primary).
    RelayDamage = 0x20, Both;
    /// Knockback a dummy took (to proxy) or knockback to apply (to the primary).
    RelayKnockback = 0x21, Both;
    /// An effect a dummy was given (to proxy) or an effect to apply (to the primary).
    RelayEffect = 0x22, Both;
    /// The primary's visible state, for a dummy to show.
    MirrorState = 0x28, ToBackend;
}

/// First message type of the extension range. Extension messages are only sent to a peer that agreed on
/// the capability defining them; a receiver that does not know one skips it.
pub const EXTENSION_RANGE_START: i32 = 0x40;

/// `Hello` (backend → proxy): the first message on a link.
#[derive(Debug, Clone, PartialEq)]
pub struct Hello {
    /// Newest protocol version the backend speaks.
    pub max_version: i32,
    /// Oldest protocol version the backend speaks.
    pub min_version: i32,
    /// The backend's name, as in the proxy's configuration (e.g. `lobby-1`).
    pub server_id: String,
    /// Optional features the backend supports (e.g. `meridian:vault`).
    pub capabilities: Vec<String>,
}

/// `Welcome` (proxy → backend): the handshake succeeded.
#[derive(Debug, Clone, PartialEq)]
pub struct Welcome {
    /// The agreed version: both sides speak exactly this from now on.
    pub version: i32,
    /// The proxy's name.
    pub proxy_id: String,
    /// The capabilities both sides have; only these may be used.
    pub capabilities: Vec<String>,
}

/// `Reject` (either way): the handshake or the link is refused; the sender closes the link.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    /// Oldest version the sender speaks (so the other side can log what would work).
    pub min_version: i32,
    /// Newest version the sender speaks.
    pub max_version: i32,
    /// Human-readable reason, for logs.
    pub reason: String,
}

/// `Heartbeat` (backend → proxy): liveness and load.
#[derive(Debug, Clone, PartialEq)]
pub struct Heartbeat {
    /// Players online on the backend, dummies included.
    pub online_players: i32,
    /// Ticks per second over the last minute (20.0 is healthy).
    pub tps: f32,
    /// Mean milliseconds per tick over the last minute.
    pub mspt: f32,
    /// JVM/process memory in use, bytes.
    pub memory_used_bytes: i64,
    /// Memory the process may use at most, bytes.
    pub memory_max_bytes: i64,
}

/// `Fragment` (either way): one piece of a message larger than [`crate::MAX_PAYLOAD_LEN`].
///
/// Produced by [`crate::encode_payloads`], put back together by [`crate::Reassembler`].
#[derive(Debug, Clone, PartialEq)]
pub struct Fragment {
    /// 0-based position of this piece.
    pub index: i32,
    /// How many pieces the message has, 1..=[`crate::limits::MAX_FRAGMENTS`].
    pub count: i32,
    /// This piece of the whole message's encoding.
    pub data: Bytes,
}

/// A player's role on a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// 0: the player lives here: simulate them fully.
    Primary,
    /// 1: a ghost of a player who lives elsewhere (see the spec, "Dummies").
    Dummy,
}

impl Role {
    /// The wire number.
    pub fn id(self) -> i32 {
        match self {
            Self::Primary => 0,
            Self::Dummy => 1,
        }
    }

    /// The role with that wire number.
    pub fn from_id(id: i32) -> Option<Self> {
        match id {
            0 => Some(Self::Primary),
            1 => Some(Self::Dummy),
            _ => None,
        }
    }
}

/// `SetRole` (proxy → backend).
#[derive(Debug, Clone, PartialEq)]
pub struct SetRole {
    /// The player.
    pub player: Uuid,
    /// The role from now on.
    pub role: Role,
    /// The player's role epoch: grows with every swap; an older one is refused.
    pub epoch: i64,
}

/// `TeleportDummy` (proxy → backend): put the dummy here.
#[derive(Debug, Clone, PartialEq)]
pub struct TeleportDummy {
    /// The player.
    pub player: Uuid,
    /// Where.
    pub location: Location,
}

/// `PositionReport` (backend → proxy): where the primary put the player.
#[derive(Debug, Clone, PartialEq)]
pub struct PositionReport {
    /// The player.
    pub player: Uuid,
    /// Where the player now is.
    pub location: Location,
    /// Whether the player stands on the ground.
    pub on_ground: bool,
}

/// `StateRequest` (proxy → old primary).
#[derive(Debug, Clone, PartialEq)]
pub struct StateRequest {
    /// This handoff.
    pub transfer_id: Uuid,
    /// The player.
    pub player: Uuid,
}

/// `StateSnapshot` (old primary → proxy).
#[derive(Debug, Clone, PartialEq)]
pub struct StateSnapshot {
    /// The handoff it answers.
    pub transfer_id: Uuid,
    /// The player.
    pub player: Uuid,
    /// The player's whole state, frozen until the next `SetRole`.
    pub state: PlayerState,
}

/// `StateRefused` (old primary → proxy): no snapshot; the player stays primary here, unfrozen.
#[derive(Debug, Clone, PartialEq)]
pub struct StateRefused {
    /// The handoff it answers.
    pub transfer_id: Uuid,
    /// The player.
    pub player: Uuid,
    /// Why (e.g. "player is dead"), for logs.
    pub reason: String,
}

/// `ApplyState` (proxy → new primary).
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyState {
    /// The handoff: applied at most once.
    pub transfer_id: Uuid,
    /// The player.
    pub player: Uuid,
    /// The role epoch the following `SetRole{Primary}` will carry; before the state so a receiver can
    /// fence before reading the large part.
    pub epoch: i64,
    /// The state to apply.
    pub state: PlayerState,
}

/// What the new primary did with an `ApplyState`.
#[derive(Debug, Clone, PartialEq)]
pub enum ApplyOutcome {
    /// 0: applied now.
    Applied,
    /// 1: this transfer id was applied before; nothing was done this time.
    AlreadyApplied,
    /// 2: not applied, with a reason.
    Refused {
        /// Why, for logs.
        reason: String,
    },
}

/// `StateApplied` (new primary → proxy).
#[derive(Debug, Clone, PartialEq)]
pub struct StateApplied {
    /// The handoff it answers.
    pub transfer_id: Uuid,
    /// The player.
    pub player: Uuid,
    /// What happened.
    pub outcome: ApplyOutcome,
}

/// A rectangle of chunk columns in one dimension. A missing bound is unbounded, so a half-plane is a zone
/// with three bounds missing. Minimums are inclusive, maximums exclusive.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    /// The zone's name in the zone map.
    pub zone_id: String,
    /// The dimension's identifier.
    pub dimension: String,
    /// Smallest chunk X inside, if bounded.
    pub min_chunk_x: Option<i32>,
    /// First chunk X past the zone, if bounded.
    pub max_chunk_x: Option<i32>,
    /// Smallest chunk Z inside, if bounded.
    pub min_chunk_z: Option<i32>,
    /// First chunk Z past the zone, if bounded.
    pub max_chunk_z: Option<i32>,
}

impl Zone {
    /// Whether the chunk column `(chunk_x, chunk_z)` of `dimension` lies in the zone.
    pub fn contains_chunk(&self, dimension: &str, chunk_x: i32, chunk_z: i32) -> bool {
        self.dimension == dimension
            && self.min_chunk_x.is_none_or(|min| chunk_x >= min)
            && self.max_chunk_x.is_none_or(|max| chunk_x < max)
            && self.min_chunk_z.is_none_or(|min| chunk_z >= min)
            && self.max_chunk_z.is_none_or(|max| chunk_z < max)
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.string("zone.zone_id", &self.zone_id, MAX_ZONE_ID_LEN)?;
        w.string("zone.dimension", &self.dimension, MAX_IDENTIFIER_LEN)?;
        for (context, bound) in [
            ("zone.min_chunk_x", self.min_chunk_x),
            ("zone.max_chunk_x", self.max_chunk_x),
            ("zone.min_chunk_z", self.min_chunk_z),
            ("zone.max_chunk_z", self.max_chunk_z),
        ] {
            w.option(context, bound.as_ref(), |w, v| {
                w.var_int(context, *v);
                Ok(())
            })?;
        }
        Ok(())
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            zone_id: r.string("zone.zone_id", MAX_ZONE_ID_LEN)?,
            dimension: r.string("zone.dimension", MAX_IDENTIFIER_LEN)?,
            min_chunk_x: r.option("zone.min_chunk_x", |r| r.var_int("zone.min_chunk_x"))?,
            max_chunk_x: r.option("zone.max_chunk_x", |r| r.var_int("zone.max_chunk_x"))?,
            min_chunk_z: r.option("zone.min_chunk_z", |r| r.var_int("zone.min_chunk_z"))?,
            max_chunk_z: r.option("zone.max_chunk_z", |r| r.var_int("zone.max_chunk_z"))?,
        })
    }

    /// Two empty strings and four absent bounds.
    const MIN_LEN: usize = 6;
}

/// `ZoneAssignment` (proxy → backend): the complete set of zones the backend owns from `epoch` on.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneAssignment {
    /// The zone map's epoch; an older one than the backend has seen is refused.
    pub epoch: i64,
    /// Every zone this backend owns (empty: none).
    pub zones: Vec<Zone>,
}

/// `ZonesApplied` (backend → proxy).
#[derive(Debug, Clone, PartialEq)]
pub struct ZonesApplied {
    /// The epoch whose zones the backend now simulates (its newest, which may be newer than the
    /// assignment it answers).
    pub epoch: i64,
}

/// A chunk column's coordinates: the block coordinates divided by 16, rounded down (`blockX >> 4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChunkCoords {
    /// Chunk X.
    pub x: i32,
    /// Chunk Z.
    pub z: i32,
}

impl ChunkCoords {
    fn write(&self, w: &mut Writer<'_>) {
        w.var_int("chunk.x", self.x);
        w.var_int("chunk.z", self.z);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            x: r.var_int("chunk.x")?,
            z: r.var_int("chunk.z")?,
        })
    }

    /// Two one-byte VarInts.
    const MIN_LEN: usize = 2;
}

/// `ResendChunks` (proxy → backend): send these chunks and the entities in them to the player again.
///
/// The proxy dropped what this backend sent for these chunks while another backend owned them;
/// now this backend owns them, the player must get them from it. Chunks the backend has not
/// sent this player (or has since told it to forget) are ignored. There is no answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ResendChunks {
    /// The player.
    pub player: Uuid,
    /// The dimension the chunks are in.
    pub dimension: String,
    /// The chunks, at most [`crate::limits::MAX_RESEND_CHUNKS`].
    pub chunks: Vec<ChunkCoords>,
}

/// A point in a world (block-space coordinates).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vec3 {
    /// X.
    pub x: f64,
    /// Y.
    pub y: f64,
    /// Z.
    pub z: f64,
}

/// `RelayDamage` (dummy's backend → proxy → primary).
#[derive(Debug, Clone, PartialEq)]
pub struct RelayDamage {
    /// The player.
    pub player: Uuid,
    /// Damage before armour, enchantments, effects and absorption: the primary applies those itself.
    pub amount: f32,
    /// The damage type's identifier, e.g. `minecraft:mob_attack`.
    pub damage_type: String,
    /// The entity responsible, if any (the shooter, not the arrow).
    pub attacker: Option<Attacker>,
    /// Where the damage came from, if it has a position (explosions, attackers).
    pub source_position: Option<Vec3>,
}

/// `RelayKnockback` (dummy's backend → proxy → primary): velocity to add to the player.
#[derive(Debug, Clone, PartialEq)]
pub struct RelayKnockback {
    /// The player.
    pub player: Uuid,
    /// Added X velocity, blocks per tick.
    pub dx: f64,
    /// Added Y velocity, blocks per tick.
    pub dy: f64,
    /// Added Z velocity, blocks per tick.
    pub dz: f64,
}

/// `RelayEffect` (dummy's backend → proxy → primary).
#[derive(Debug, Clone, PartialEq)]
pub struct RelayEffect {
    /// The player.
    pub player: Uuid,
    /// The effect given.
    pub effect: Effect,
}

/// `MirrorState` (proxy → dummy's backend): how the player looks on their primary; replaces the last one.
#[derive(Debug, Clone, PartialEq)]
pub struct MirrorState {
    /// The player.
    pub player: Uuid,
    /// Non-empty visible slots; a slot not listed is empty.
    pub equipment: Vec<EquipmentEntry>,
    /// Active effects (for particles, glowing, invisibility).
    pub effects: Vec<Effect>,
    /// Vanilla's `Pose` number as in entity metadata (0 standing, 1 fall flying, 2 sleeping, 3 swimming,
    /// 4 spin attack, 5 crouching, ...); passed through, a backend ignores a value it does not know.
    pub pose: i32,
    /// Sneaking.
    pub sneaking: bool,
    /// Sprinting.
    pub sprinting: bool,
}

/// One sync message: what one plugin message payload carries (after reassembly, for a large one).
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // each variant carries the struct of the same name, documented there
pub enum Message {
    Hello(Hello),
    Welcome(Welcome),
    Reject(Reject),
    Heartbeat(Heartbeat),
    Fragment(Fragment),
    SetRole(SetRole),
    TeleportDummy(TeleportDummy),
    PositionReport(PositionReport),
    StateRequest(StateRequest),
    StateSnapshot(StateSnapshot),
    StateRefused(StateRefused),
    ApplyState(ApplyState),
    StateApplied(StateApplied),
    ZoneAssignment(ZoneAssignment),
    ZonesApplied(ZonesApplied),
    ResendChunks(ResendChunks),
    RelayDamage(RelayDamage),
    RelayKnockback(RelayKnockback),
    RelayEffect(RelayEffect),
    MirrorState(MirrorState),
    /// A type this crate does not know (a newer peer's message, or an extension): kept whole so it can
    /// be logged or passed on, and skipped by [`crate::SyncPeer`].
    Unknown {
        /// Its wire number.
        message_type: i32,
        /// Everything after the type.
        payload: Bytes,
    },
}

impl Message {
    /// The known type, or `None` for [`Message::Unknown`].
    pub fn kind(&self) -> Option<MessageType> {
        use MessageType as T;
        Some(match self {
            Self::Hello(_) => T::Hello,
            Self::Welcome(_) => T::Welcome,
            Self::Reject(_) => T::Reject,
            Self::Heartbeat(_) => T::Heartbeat,
            Self::Fragment(_) => T::Fragment,
            Self::SetRole(_) => T::SetRole,
            Self::TeleportDummy(_) => T::TeleportDummy,
            Self::PositionReport(_) => T::PositionReport,
            Self::StateRequest(_) => T::StateRequest,
            Self::StateSnapshot(_) => T::StateSnapshot,
            Self::StateRefused(_) => T::StateRefused,
            Self::ApplyState(_) => T::ApplyState,
            Self::StateApplied(_) => T::StateApplied,
            Self::ZoneAssignment(_) => T::ZoneAssignment,
            Self::ZonesApplied(_) => T::ZonesApplied,
            Self::ResendChunks(_) => T::ResendChunks,
            Self::RelayDamage(_) => T::RelayDamage,
            Self::RelayKnockback(_) => T::RelayKnockback,
            Self::RelayEffect(_) => T::RelayEffect,
            Self::MirrorState(_) => T::MirrorState,
            Self::Unknown { .. } => return None,
        })
    }

    /// The wire number of the message's type.
    pub fn type_id(&self) -> i32 {
        match self {
            Self::Unknown { message_type, .. } => *message_type,
            known => known.kind().map_or(-1, MessageType::id),
        }
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.var_int("message_type", self.type_id());
        match self {
            Self::Hello(m) => {
                w.var_int("max_version", m.max_version);
                w.var_int("min_version", m.min_version);
                w.string("server_id", &m.server_id, MAX_NODE_ID_LEN)?;
                write_capabilities(w, &m.capabilities)
            }
            Self::Welcome(m) => {
                w.var_int("version", m.version);
                w.string("proxy_id", &m.proxy_id, MAX_NODE_ID_LEN)?;
                write_capabilities(w, &m.capabilities)
            }
            Self::Reject(m) => {
                w.var_int("min_version", m.min_version);
                w.var_int("max_version", m.max_version);
                w.string("reason", &m.reason, MAX_REASON_LEN)
            }
            Self::Heartbeat(m) => {
                w.var_int("online_players", m.online_players);
                w.f32("tps", m.tps)?;
                w.f32("mspt", m.mspt)?;
                w.var_long("memory_used_bytes", m.memory_used_bytes);
                w.var_long("memory_max_bytes", m.memory_max_bytes);
                Ok(())
            }
            Self::Fragment(m) => {
                w.var_int("index", m.index);
                w.var_int("count", m.count);
                w.byte_array("data", &m.data, MAX_FRAGMENT_DATA_LEN)
            }
            Self::SetRole(m) => {
                w.uuid("player", &m.player);
                w.var_int("role", m.role.id());
                w.var_long("epoch", m.epoch);
                Ok(())
            }
            Self::TeleportDummy(m) => {
                w.uuid("player", &m.player);
                m.location.write(w)
            }
            Self::PositionReport(m) => {
                w.uuid("player", &m.player);
                m.location.write(w)?;
                w.bool("on_ground", m.on_ground);
                Ok(())
            }
            Self::StateRequest(m) => {
                w.uuid("transfer_id", &m.transfer_id);
                w.uuid("player", &m.player);
                Ok(())
            }
            Self::StateSnapshot(m) => {
                w.uuid("transfer_id", &m.transfer_id);
                w.uuid("player", &m.player);
                m.state.write(w)
            }
            Self::StateRefused(m) => {
                w.uuid("transfer_id", &m.transfer_id);
                w.uuid("player", &m.player);
                w.string("reason", &m.reason, MAX_REASON_LEN)
            }
            Self::ApplyState(m) => {
                w.uuid("transfer_id", &m.transfer_id);
                w.uuid("player", &m.player);
                w.var_long("epoch", m.epoch);
                m.state.write(w)
            }
            Self::StateApplied(m) => {
                w.uuid("transfer_id", &m.transfer_id);
                w.uuid("player", &m.player);
                match &m.outcome {
                    ApplyOutcome::Applied => w.var_int("outcome", 0),
                    ApplyOutcome::AlreadyApplied => w.var_int("outcome", 1),
                    ApplyOutcome::Refused { reason } => {
                        w.var_int("outcome", 2);
                        w.string("reason", reason, MAX_REASON_LEN)?;
                    }
                }
                Ok(())
            }
            Self::ZoneAssignment(m) => {
                w.var_long("epoch", m.epoch);
                w.list("zones", &m.zones, MAX_ZONES, |w, z| z.write(w))
            }
            Self::ZonesApplied(m) => {
                w.var_long("epoch", m.epoch);
                Ok(())
            }
            Self::ResendChunks(m) => {
                w.uuid("player", &m.player);
                w.string("dimension", &m.dimension, MAX_IDENTIFIER_LEN)?;
                w.list("chunks", &m.chunks, MAX_RESEND_CHUNKS, |w, c| {
                    c.write(w);
                    Ok(())
                })
            }
            Self::RelayDamage(m) => {
                w.uuid("player", &m.player);
                w.f32("amount", m.amount)?;
                w.string("damage_type", &m.damage_type, MAX_IDENTIFIER_LEN)?;
                w.option("attacker", m.attacker.as_ref(), |w, a| a.write(w))?;
                w.option("source_position", m.source_position.as_ref(), |w, p| {
                    w.f64("source_position.x", p.x)?;
                    w.f64("source_position.y", p.y)?;
                    w.f64("source_position.z", p.z)
                })
            }
            Self::RelayKnockback(m) => {
                w.uuid("player", &m.player);
                w.f64("dx", m.dx)?;
                w.f64("dy", m.dy)?;
                w.f64("dz", m.dz)
            }
            Self::RelayEffect(m) => {
                w.uuid("player", &m.player);
                m.effect.write(w)
            }
            Self::MirrorState(m) => {
                w.uuid("player", &m.player);
                w.list("equipment", &m.equipment, MAX_EQUIPMENT_ENTRIES, |w, e| {
                    e.write(w)
                })?;
                Effect::write_list(w, &m.effects)?;
                w.var_int("pose", m.pose);
                w.bool("sneaking", m.sneaking);
                w.bool("sprinting", m.sprinting);
                Ok(())
            }
            Self::Unknown { payload, .. } => {
                w.raw("payload", payload);
                Ok(())
            }
        }
    }

    fn read(kind: MessageType, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        use MessageType as T;
        Ok(match kind {
            T::Hello => Self::Hello(Hello {
                max_version: r.var_int("max_version")?,
                min_version: r.var_int("min_version")?,
                server_id: r.string("server_id", MAX_NODE_ID_LEN)?,
                capabilities: read_capabilities(r)?,
            }),
            T::Welcome => Self::Welcome(Welcome {
                version: r.var_int("version")?,
                proxy_id: r.string("proxy_id", MAX_NODE_ID_LEN)?,
                capabilities: read_capabilities(r)?,
            }),
            T::Reject => Self::Reject(Reject {
                min_version: r.var_int("min_version")?,
                max_version: r.var_int("max_version")?,
                reason: r.string("reason", MAX_REASON_LEN)?,
            }),
            T::Heartbeat => Self::Heartbeat(Heartbeat {
                online_players: r.var_int("online_players")?,
                tps: r.f32("tps")?,
                mspt: r.f32("mspt")?,
                memory_used_bytes: r.var_long("memory_used_bytes")?,
                memory_max_bytes: r.var_long("memory_max_bytes")?,
            }),
            T::Fragment => Self::Fragment(Fragment {
                index: r.var_int("index")?,
                count: r.var_int("count")?,
                data: r.byte_array("data", MAX_FRAGMENT_DATA_LEN)?,
            }),
            T::SetRole => Self::SetRole(SetRole {
                player: r.uuid("player")?,
                role: {
                    let id = r.var_int("role")?;
                    Role::from_id(id).ok_or(DecodeError::UnknownEnumValue {
                        context: "role",
                        value: id.into(),
                    })?
                },
                epoch: r.var_long("epoch")?,
            }),
            T::TeleportDummy => Self::TeleportDummy(TeleportDummy {
                player: r.uuid("player")?,
                location: Location::read(r)?,
            }),
            T::PositionReport => Self::PositionReport(PositionReport {
                player: r.uuid("player")?,
                location: Location::read(r)?,
                on_ground: r.bool("on_ground")?,
            }),
            T::StateRequest => Self::StateRequest(StateRequest {
                transfer_id: r.uuid("transfer_id")?,
                player: r.uuid("player")?,
            }),
            T::StateSnapshot => Self::StateSnapshot(StateSnapshot {
                transfer_id: r.uuid("transfer_id")?,
                player: r.uuid("player")?,
                state: PlayerState::read(r)?,
            }),
            T::StateRefused => Self::StateRefused(StateRefused {
                transfer_id: r.uuid("transfer_id")?,
                player: r.uuid("player")?,
                reason: r.string("reason", MAX_REASON_LEN)?,
            }),
            T::ApplyState => Self::ApplyState(ApplyState {
                transfer_id: r.uuid("transfer_id")?,
                player: r.uuid("player")?,
                epoch: r.var_long("epoch")?,
                state: PlayerState::read(r)?,
            }),
            T::StateApplied => Self::StateApplied(StateApplied {
                transfer_id: r.uuid("transfer_id")?,
                player: r.uuid("player")?,
                outcome: match r.var_int("outcome")? {
                    0 => ApplyOutcome::Applied,
                    1 => ApplyOutcome::AlreadyApplied,
                    2 => ApplyOutcome::Refused {
                        reason: r.string("reason", MAX_REASON_LEN)?,
                    },
                    other => {
                        return Err(DecodeError::UnknownEnumValue {
                            context: "outcome",
                            value: other.into(),
                        });
                    }
                },
            }),
            T::ZoneAssignment => Self::ZoneAssignment(ZoneAssignment {
                epoch: r.var_long("epoch")?,
                zones: r.list("zones", MAX_ZONES, Zone::MIN_LEN, Zone::read)?,
            }),
            T::ZonesApplied => Self::ZonesApplied(ZonesApplied {
                epoch: r.var_long("epoch")?,
            }),
            T::ResendChunks => Self::ResendChunks(ResendChunks {
                player: r.uuid("player")?,
                dimension: r.string("dimension", MAX_IDENTIFIER_LEN)?,
                chunks: r.list(
                    "chunks",
                    MAX_RESEND_CHUNKS,
                    ChunkCoords::MIN_LEN,
                    ChunkCoords::read,
                )?,
            }),
            T::RelayDamage => Self::RelayDamage(RelayDamage {
                player: r.uuid("player")?,
                amount: r.f32("amount")?,
                damage_type: r.string("damage_type", MAX_IDENTIFIER_LEN)?,
                attacker: r.option("attacker", Attacker::read)?,
                source_position: r.option("source_position", |r| {
                    Ok(Vec3 {
                        x: r.f64("source_position.x")?,
                        y: r.f64("source_position.y")?,
                        z: r.f64("source_position.z")?,
                    })
                })?,
            }),
            T::RelayKnockback => Self::RelayKnockback(RelayKnockback {
                player: r.uuid("player")?,
                dx: r.f64("dx")?,
                dy: r.f64("dy")?,
                dz: r.f64("dz")?,
            }),
            T::RelayEffect => Self::RelayEffect(RelayEffect {
                player: r.uuid("player")?,
                effect: Effect::read(r)?,
            }),
            T::MirrorState => Self::MirrorState(MirrorState {
                player: r.uuid("player")?,
                equipment: r.list(
                    "equipment",
                    MAX_EQUIPMENT_ENTRIES,
                    EquipmentEntry::MIN_LEN,
                    EquipmentEntry::read,
                )?,
                effects: Effect::read_list(r)?,
                pose: r.var_int("pose")?,
                sneaking: r.bool("sneaking")?,
                sprinting: r.bool("sprinting")?,
            }),
        })
    }
}

fn write_capabilities(w: &mut Writer<'_>, capabilities: &[String]) -> Result<(), EncodeError> {
    w.list("capabilities", capabilities, MAX_CAPABILITIES, |w, c| {
        w.string("capability", c, MAX_CAPABILITY_LEN)
    })
}

fn read_capabilities(r: &mut Reader<'_>) -> Result<Vec<String>, DecodeError> {
    r.list("capabilities", MAX_CAPABILITIES, 1, |r| {
        r.string("capability", MAX_CAPABILITY_LEN)
    })
}

/// Appends the encoding of `msg` to `buf`.
///
/// This is one logical message, up to [`MAX_MESSAGE_LEN`]; one that is longer than
/// [`crate::MAX_PAYLOAD_LEN`] must be sent with [`crate::encode_payloads`] instead, which splits it. On
/// error `buf` is left as it was.
pub fn encode(msg: &Message, buf: &mut BytesMut) -> Result<(), EncodeError> {
    let start = buf.len();
    let result = msg
        .write(&mut Writer::new(buf))
        .and_then(|()| check_len(buf.len() - start));
    if result.is_err() {
        buf.truncate(start);
    }
    result
}

fn check_len(len: usize) -> Result<(), EncodeError> {
    if len > MAX_MESSAGE_LEN {
        return Err(EncodeError::Oversized {
            context: "message",
            len,
            max: MAX_MESSAGE_LEN,
        });
    }
    Ok(())
}

/// Encodes `msg` into a fresh buffer.
pub fn encode_to_bytes(msg: &Message) -> Result<Bytes, EncodeError> {
    let mut buf = BytesMut::new();
    encode(msg, &mut buf)?;
    Ok(buf.freeze())
}

/// Decodes one whole message (a plugin message payload, or a reassembled one).
///
/// Never panics; a type this crate does not know is not an error but [`Message::Unknown`].
pub fn decode(payload: &[u8]) -> Result<Message, DecodeError> {
    if payload.len() > MAX_MESSAGE_LEN {
        return Err(DecodeError::Oversized {
            context: "message",
            len: payload.len(),
            max: MAX_MESSAGE_LEN,
        });
    }
    let mut r = Reader::new(payload);
    let message_type = r.var_int("message_type")?;
    let Some(kind) = MessageType::from_id(message_type) else {
        return Ok(Message::Unknown {
            message_type,
            payload: Bytes::copy_from_slice(r.rest()),
        });
    };
    let msg = Message::read(kind, &mut r)?;
    match r.remaining() {
        0 => Ok(msg),
        count => Err(DecodeError::TrailingBytes {
            message_type,
            count,
        }),
    }
}

/// One field's bytes in an encoded message, from [`annotate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// The field's name, as the spec's field tables use it (nested fields are dotted).
    pub field: &'static str,
    /// How the bytes are encoded.
    pub encoding: Encoding,
    /// The bytes (for a string or byte array: length prefix and content).
    pub bytes: Bytes,
}

impl Annotation {
    /// The field's value as text, e.g. `"lobby-1"`, `20.0`, `present`, `3 items`; for dumps.
    pub fn value_text(&self) -> String {
        let mut r = Reader::new(&self.bytes);
        let text = match self.encoding {
            Encoding::VarInt => r.var_int("").map(|v| v.to_string()),
            Encoding::VarLong => r.var_long("").map(|v| v.to_string()),
            Encoding::Bool => r.bool("").map(|v| v.to_string()),
            Encoding::Byte => r.u8("").map(|v| v.to_string()),
            Encoding::Int => r.i32("").map(|v| v.to_string()),
            Encoding::Long => r.i64("").map(|v| v.to_string()),
            Encoding::Float => r.f32("").map(|v| format!("{v:?}")),
            Encoding::Double => r.f64("").map(|v| format!("{v:?}")),
            Encoding::String => r.string("", MAX_MESSAGE_LEN).map(|v| format!("{v:?}")),
            Encoding::ByteArray => r
                .byte_array("", MAX_MESSAGE_LEN)
                .map(|v| format!("{} bytes", v.len())),
            Encoding::Uuid => r.uuid("").map(|v| v.to_string()),
            Encoding::Presence => r
                .bool("")
                .map(|v| if v { "present" } else { "absent" }.to_owned()),
            Encoding::Count => r.var_int("").map(|v| format!("count {v}")),
            Encoding::Raw => Ok(format!("{} bytes", self.bytes.len())),
        };
        text.unwrap_or_else(|_| "?".to_owned())
    }
}

/// Encodes `msg` and splits the bytes by field: for hex dumps in logs and for the spec's examples.
pub fn annotate(msg: &Message) -> Result<Vec<Annotation>, EncodeError> {
    let mut buf = BytesMut::new();
    let mut trace = Vec::new();
    msg.write(&mut Writer::traced(&mut buf, &mut trace))?;
    check_len(buf.len())?;
    let bytes = buf.freeze();
    let mut out = Vec::with_capacity(trace.len());
    for (i, mark) in trace.iter().enumerate() {
        let end = trace.get(i + 1).map_or(bytes.len(), |next| next.offset);
        if end > mark.offset {
            out.push(Annotation {
                field: mark.field,
                encoding: mark.encoding,
                bytes: bytes.slice(mark.offset..end),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_numbers_are_unique_and_core() {
        for (i, a) in MessageType::ALL.iter().enumerate() {
            assert_eq!(MessageType::from_id(a.id()), Some(*a));
            assert!(
                (0..EXTENSION_RANGE_START).contains(&a.id()),
                "{} outside the core range",
                a.name()
            );
            for b in &MessageType::ALL[i + 1..] {
                assert_ne!(a.id(), b.id());
            }
        }
    }

    #[test]
    fn unknown_types_pass_through() {
        for payload in [
            &[0x40, 1, 2, 3][..],
            &[0x7f][..],
            &[0xff, 0xff, 0xff, 0xff, 0x0f, 9][..],
        ] {
            let msg = decode(payload).unwrap();
            assert!(matches!(msg, Message::Unknown { .. }));
            assert_eq!(encode_to_bytes(&msg).unwrap().as_ref(), payload);
        }
    }

    #[test]
    fn trailing_bytes_are_refused() {
        assert_eq!(
            decode(&[0x19, 0x05, 0x00]),
            Err(DecodeError::TrailingBytes {
                message_type: 0x19,
                count: 1
            })
        );
    }

    #[test]
    fn failed_encode_leaves_buffer_alone() {
        let mut buf = BytesMut::from(&b"keep"[..]);
        let msg = Message::Reject(Reject {
            min_version: 1,
            max_version: 1,
            reason: "x".repeat(MAX_REASON_LEN + 1),
        });
        assert!(matches!(
            encode(&msg, &mut buf),
            Err(EncodeError::Oversized {
                context: "reason",
                ..
            })
        ));
        assert_eq!(&buf[..], b"keep");
    }

    fn resend(chunks: Vec<ChunkCoords>) -> Message {
        Message::ResendChunks(ResendChunks {
            player: Uuid::from_u128(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10),
            dimension: "m:o".into(),
            chunks,
        })
    }

    #[test]
    fn resend_chunks_encoding() {
        let msg = resend(vec![
            ChunkCoords { x: 0, z: -1 },
            ChunkCoords { x: 300, z: 5 },
        ]);
        let mut expected = vec![0x1a];
        expected.extend(1..=16u8);
        expected.extend([0x03, b'm', b':', b'o']);
        // Count 2, then (0, -1) and (300, 5) as VarInts.
        expected.extend([0x02, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xac, 0x02, 0x05]);
        let bytes = encode_to_bytes(&msg).unwrap();
        assert_eq!(bytes.as_ref(), expected.as_slice());
        assert_eq!(decode(&bytes), Ok(msg));
        assert_eq!(MessageType::ResendChunks.direction(), Direction::ToBackend);
    }

    #[test]
    fn resend_chunks_list_is_bounded() {
        let most = resend(vec![ChunkCoords { x: 1, z: 1 }; MAX_RESEND_CHUNKS]);
        let bytes = encode_to_bytes(&most).unwrap();
        assert_eq!(decode(&bytes), Ok(most));
        let too_many = resend(vec![ChunkCoords { x: 1, z: 1 }; MAX_RESEND_CHUNKS + 1]);
        assert_eq!(
            encode_to_bytes(&too_many),
            Err(EncodeError::Oversized {
                context: "chunks",
                len: MAX_RESEND_CHUNKS + 1,
                max: MAX_RESEND_CHUNKS
            })
        );
        // A count over the maximum is refused before the items are read.
        let mut hostile = bytes[..bytes.len() - 2 * MAX_RESEND_CHUNKS - 2].to_vec();
        hostile.extend([0x81, 0x20]);
        assert_eq!(
            decode(&hostile),
            Err(DecodeError::Oversized {
                context: "chunks",
                len: MAX_RESEND_CHUNKS + 1,
                max: MAX_RESEND_CHUNKS
            })
        );
    }

    #[test]
    fn zone_bounds() {
        let zone = Zone {
            zone_id: "east".into(),
            dimension: "minecraft:overworld".into(),
            min_chunk_x: Some(0),
            max_chunk_x: Some(10),
            min_chunk_z: None,
            max_chunk_z: None,
        };
        assert!(zone.contains_chunk("minecraft:overworld", 0, i32::MIN));
        assert!(zone.contains_chunk("minecraft:overworld", 9, i32::MAX));
        assert!(!zone.contains_chunk("minecraft:overworld", 10, 0));
        assert!(!zone.contains_chunk("minecraft:overworld", -1, 0));
        assert!(!zone.contains_chunk("minecraft:the_nether", 5, 0));
    }
}
