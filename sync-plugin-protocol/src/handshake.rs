//! One side of one link's sync conversation: the handshake, version negotiation, and which messages may
//! flow when and which way.
//!
//! [`SyncPeer`] is pure: it does no I/O and keeps no clock (timeouts are the caller's, see the crate-level
//! constants). Feed it every payload received on `meridian:sync` and pass every message to send through
//! it; whatever it refuses means the link is broken, and after the first error it refuses everything.

use bytes::Bytes;
use thiserror::Error;
use uuid::Uuid;

use crate::codec::{DecodeError, EncodeError};
use crate::fragment::{FragmentError, Reassembler, encode_payloads};
use crate::message::{Hello, Message, Reject, Side, Welcome, decode};
use crate::{MAX_PAYLOAD_LEN, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION};

/// An inclusive range of protocol versions one side speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VersionRange {
    /// Oldest.
    pub min: i32,
    /// Newest.
    pub max: i32,
}

impl VersionRange {
    /// What this crate speaks: [`MIN_PROTOCOL_VERSION`]..=[`PROTOCOL_VERSION`].
    pub const SUPPORTED: Self = Self {
        min: MIN_PROTOCOL_VERSION,
        max: PROTOCOL_VERSION,
    };

    /// Whether `version` is in the range.
    pub fn contains(self, version: i32) -> bool {
        (self.min..=self.max).contains(&version)
    }
}

impl std::fmt::Display for VersionRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}..={}", self.min, self.max)
    }
}

/// The version both sides will speak: the newer of the two maximums' minimum, if both sides speak it.
pub fn negotiate(ours: VersionRange, theirs: VersionRange) -> Result<i32, ProtocolError> {
    let agreed = ours.max.min(theirs.max);
    if ours.contains(agreed) && theirs.contains(agreed) {
        Ok(agreed)
    } else {
        Err(ProtocolError::VersionMismatch { ours, theirs })
    }
}

/// A message that breaks the conversation's rules. The link is to be closed (after sending a `Reject`,
/// see [`SyncPeer::reject`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    /// A message that is not allowed in this phase: anything before the handshake is done, a second
    /// handshake, or (for a sender) a handshake message the peer did not produce.
    #[error("message type {message_type:#04x} is not allowed while {phase}")]
    OutOfOrder {
        /// Its wire number.
        message_type: i32,
        /// The phase it came in.
        phase: Phase,
    },
    /// A message type this side must not receive (or send): e.g. a backend sending `ApplyState`.
    #[error("message type {message_type:#04x} may not be sent by the {sender:?}")]
    WrongDirection {
        /// Its wire number.
        message_type: i32,
        /// Who sent (or would send) it.
        sender: Side,
    },
    /// No version both sides speak.
    #[error("no common protocol version: we speak {ours}, the peer {theirs}")]
    VersionMismatch {
        /// Ours.
        ours: VersionRange,
        /// The peer's (for a `Welcome`, just the version it chose).
        theirs: VersionRange,
    },
    /// The peer sent `Reject`.
    #[error("rejected by peer: {reason}")]
    Rejected {
        /// The peer's reason.
        reason: String,
    },
    /// A message about another player than the link's.
    #[error("message about player {found} on the link of player {expected}")]
    WrongPlayer {
        /// The link's player.
        expected: Uuid,
        /// The player the message named.
        found: Uuid,
    },
    /// A payload longer than one plugin message may be.
    #[error("payload of {len} bytes, more than {max}")]
    PayloadTooLarge {
        /// Its length.
        len: usize,
        /// [`MAX_PAYLOAD_LEN`].
        max: usize,
    },
    /// Fragments that break the reassembly rules.
    #[error(transparent)]
    Fragment(#[from] FragmentError),
    /// Fragments that reassembled into another fragment.
    #[error("fragments reassembled into a fragment")]
    NestedFragment,
    /// The link already failed or was rejected; nothing more is accepted.
    #[error("the link is closed")]
    Closed,
}

/// Anything that ends a link's sync conversation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SyncError {
    /// Bytes that are not a message.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A message that cannot be encoded within the limits.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A message that breaks the conversation's rules.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

/// Where a link's conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Backend, before [`SyncPeer::hello`].
    NotStarted,
    /// Proxy, waiting for `Hello`.
    AwaitingHello,
    /// Backend, `Hello` sent, waiting for `Welcome`.
    AwaitingWelcome,
    /// Handshake done.
    Established,
    /// Failed or rejected.
    Closed,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NotStarted => "the handshake has not started",
            Self::AwaitingHello => "awaiting Hello",
            Self::AwaitingWelcome => "awaiting Welcome",
            Self::Established => "established",
            Self::Closed => "closed",
        })
    }
}

/// What the handshake settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    /// The protocol version both sides now speak.
    pub version: i32,
    /// The capabilities both sides have.
    pub capabilities: Vec<String>,
    /// The other side's id (`server_id` of a backend, `proxy_id` of a proxy).
    pub peer_id: String,
}

impl Agreement {
    /// Whether both sides have `capability`.
    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

/// What a received payload or message amounts to.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// The handshake just completed. For the proxy, `reply` is the `Welcome` to send now.
    Established {
        /// What was agreed.
        agreement: Agreement,
        /// The message to send back, if any.
        reply: Option<Message>,
    },
    /// A message for the application. [`Message::Unknown`] (a newer peer's or an extension's message)
    /// comes here too: skip it unless an extension handles it.
    Message(Message),
    /// A fragment was buffered; the message is not complete yet.
    Pending,
}

/// One side of one link: checks everything received and sent on `meridian:sync`.
#[derive(Debug)]
pub struct SyncPeer {
    side: Side,
    id: String,
    versions: VersionRange,
    capabilities: Vec<String>,
    player: Option<Uuid>,
    phase: Phase,
    agreement: Option<Agreement>,
    reassembler: Reassembler,
}

impl SyncPeer {
    /// The proxy's side of a link: waits for the backend's `Hello`.
    pub fn proxy(proxy_id: impl Into<String>, capabilities: Vec<String>) -> Self {
        Self::new(
            Side::Proxy,
            proxy_id.into(),
            capabilities,
            Phase::AwaitingHello,
        )
    }

    /// A backend's side of a link: starts with [`SyncPeer::hello`].
    pub fn backend(server_id: impl Into<String>, capabilities: Vec<String>) -> Self {
        Self::new(
            Side::Backend,
            server_id.into(),
            capabilities,
            Phase::NotStarted,
        )
    }

    fn new(side: Side, id: String, capabilities: Vec<String>, phase: Phase) -> Self {
        Self {
            side,
            id,
            versions: VersionRange::SUPPORTED,
            capabilities,
            player: None,
            phase,
            agreement: None,
            reassembler: Reassembler::new(),
        }
    }

    /// Speaks `versions` instead of [`VersionRange::SUPPORTED`] (for tests, and to pin an old version).
    pub fn with_versions(mut self, versions: VersionRange) -> Self {
        self.versions = versions;
        self
    }

    /// Refuses messages that name another player than `player`, the one whose connection is the link.
    pub fn with_player(mut self, player: Uuid) -> Self {
        self.player = Some(player);
        self
    }

    /// This side.
    pub fn side(&self) -> Side {
        self.side
    }

    /// Where the conversation stands.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// What the handshake settled, once it has.
    pub fn agreement(&self) -> Option<&Agreement> {
        self.agreement.as_ref()
    }

    /// Backend: the `Hello` to send first. Call once, when the proxy registers `meridian:sync` on the
    /// connection (Bukkit's `PlayerRegisterChannelEvent`).
    pub fn hello(&mut self) -> Result<Message, ProtocolError> {
        if self.side != Side::Backend || self.phase != Phase::NotStarted {
            return Err(self.fail(ProtocolError::OutOfOrder {
                message_type: 0x00,
                phase: self.phase,
            }));
        }
        self.phase = Phase::AwaitingWelcome;
        Ok(Message::Hello(Hello {
            max_version: self.versions.max,
            min_version: self.versions.min,
            server_id: self.id.clone(),
            capabilities: self.capabilities.clone(),
        }))
    }

    /// A `Reject` to send before closing the link; the peer is closed from now on.
    pub fn reject(&mut self, reason: impl Into<String>) -> Message {
        self.phase = Phase::Closed;
        let mut reason = reason.into();
        truncate_utf8(&mut reason, crate::limits::MAX_REASON_LEN);
        Message::Reject(Reject {
            min_version: self.versions.min,
            max_version: self.versions.max,
            reason,
        })
    }

    /// Takes one raw payload received on `meridian:sync`.
    pub fn receive_payload(&mut self, payload: &[u8]) -> Result<Incoming, SyncError> {
        if self.phase == Phase::Closed {
            return Err(ProtocolError::Closed.into());
        }
        if payload.len() > MAX_PAYLOAD_LEN {
            return Err(self
                .fail(ProtocolError::PayloadTooLarge {
                    len: payload.len(),
                    max: MAX_PAYLOAD_LEN,
                })
                .into());
        }
        let msg = decode(payload).map_err(|e| self.fail(e))?;
        self.receive(msg)
    }

    /// Takes one decoded message (use [`SyncPeer::receive_payload`] for raw bytes).
    pub fn receive(&mut self, msg: Message) -> Result<Incoming, SyncError> {
        self.receive_inner(msg).map_err(|e| self.fail(e))
    }

    fn receive_inner(&mut self, msg: Message) -> Result<Incoming, SyncError> {
        let message_type = msg.type_id();
        let sender = self.other_side();
        if let Some(kind) = msg.kind()
            && !kind.direction().allows(sender)
        {
            return Err(ProtocolError::WrongDirection {
                message_type,
                sender,
            }
            .into());
        }
        self.check_player(&msg)?;
        let out_of_order = ProtocolError::OutOfOrder {
            message_type,
            phase: self.phase,
        };
        match (self.phase, msg) {
            (Phase::Closed, _) => Err(ProtocolError::Closed.into()),
            (_, Message::Reject(r)) => Err(ProtocolError::Rejected { reason: r.reason }.into()),
            (Phase::AwaitingHello, Message::Hello(hello)) => Ok(self.accept_hello(hello)?),
            (Phase::AwaitingWelcome, Message::Welcome(welcome)) => {
                Ok(self.accept_welcome(welcome)?)
            }
            (Phase::Established, Message::Hello(_) | Message::Welcome(_)) => {
                Err(out_of_order.into())
            }
            (Phase::Established, Message::Fragment(fragment)) => match self
                .reassembler
                .push(fragment)
                .map_err(ProtocolError::from)?
            {
                None => Ok(Incoming::Pending),
                Some(whole) => match decode(&whole)? {
                    Message::Fragment(_) => Err(ProtocolError::NestedFragment.into()),
                    inner => self.receive_inner(inner),
                },
            },
            (Phase::Established, msg) => Ok(Incoming::Message(msg)),
            (Phase::NotStarted | Phase::AwaitingHello | Phase::AwaitingWelcome, _) => {
                Err(out_of_order.into())
            }
        }
    }

    fn accept_hello(&mut self, hello: Hello) -> Result<Incoming, ProtocolError> {
        let theirs = VersionRange {
            min: hello.min_version,
            max: hello.max_version,
        };
        let version = negotiate(self.versions, theirs)?;
        let capabilities = intersect(&self.capabilities, &hello.capabilities);
        let agreement = Agreement {
            version,
            capabilities: capabilities.clone(),
            peer_id: hello.server_id,
        };
        let reply = Message::Welcome(Welcome {
            version,
            proxy_id: self.id.clone(),
            capabilities,
        });
        Ok(self.establish(agreement, Some(reply)))
    }

    fn accept_welcome(&mut self, welcome: Welcome) -> Result<Incoming, ProtocolError> {
        // The proxy chose; we only check it chose something we speak and offered.
        if !self.versions.contains(welcome.version) {
            let theirs = VersionRange {
                min: welcome.version,
                max: welcome.version,
            };
            return Err(ProtocolError::VersionMismatch {
                ours: self.versions,
                theirs,
            });
        }
        let agreement = Agreement {
            version: welcome.version,
            // Intersecting again keeps us from ever using a capability we did not offer.
            capabilities: intersect(&welcome.capabilities, &self.capabilities),
            peer_id: welcome.proxy_id,
        };
        Ok(self.establish(agreement, None))
    }

    fn establish(&mut self, agreement: Agreement, reply: Option<Message>) -> Incoming {
        self.phase = Phase::Established;
        self.agreement = Some(agreement.clone());
        Incoming::Established { agreement, reply }
    }

    /// Checks that this side may send `msg` now.
    ///
    /// Handshake messages pass only where this peer produced them: `Hello` after [`SyncPeer::hello`],
    /// `Welcome` once established (the reply from [`Incoming::Established`]); `Reject` always passes.
    pub fn check_send(&self, msg: &Message) -> Result<(), ProtocolError> {
        let message_type = msg.type_id();
        if let Some(kind) = msg.kind()
            && !kind.direction().allows(self.side)
        {
            return Err(ProtocolError::WrongDirection {
                message_type,
                sender: self.side,
            });
        }
        let allowed = match (self.phase, msg) {
            (_, Message::Reject(_)) => true,
            (Phase::Closed, _) => return Err(ProtocolError::Closed),
            (Phase::AwaitingWelcome, Message::Hello(_)) => true,
            (Phase::Established, Message::Hello(_)) => false,
            (Phase::Established, _) => true,
            _ => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(ProtocolError::OutOfOrder {
                message_type,
                phase: self.phase,
            })
        }
    }

    /// Checks `msg` with [`SyncPeer::check_send`] and encodes it as the payloads to send, in order
    /// (several fragments for a large message).
    pub fn prepare(&self, msg: &Message) -> Result<Vec<Bytes>, SyncError> {
        self.check_send(msg)?;
        Ok(encode_payloads(msg)?)
    }

    fn other_side(&self) -> Side {
        match self.side {
            Side::Proxy => Side::Backend,
            Side::Backend => Side::Proxy,
        }
    }

    fn check_player(&self, msg: &Message) -> Result<(), ProtocolError> {
        match (self.player, msg.player()) {
            (Some(expected), Some(found)) if expected != found => {
                Err(ProtocolError::WrongPlayer { expected, found })
            }
            _ => Ok(()),
        }
    }

    fn fail<E>(&mut self, error: E) -> E {
        self.phase = Phase::Closed;
        self.agreement = None;
        error
    }
}

/// `ours` in order, keeping only what `theirs` has, without repeats.
fn intersect(ours: &[String], theirs: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in ours {
        if theirs.contains(c) && !out.contains(c) {
            out.push(c.clone());
        }
    }
    out
}

fn truncate_utf8(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

impl Message {
    /// The player a message is about, if it is about one.
    pub fn player(&self) -> Option<Uuid> {
        Some(match self {
            Self::SetRole(m) => m.player,
            Self::TeleportDummy(m) => m.player,
            Self::PositionReport(m) => m.player,
            Self::StateRequest(m) => m.player,
            Self::StateSnapshot(m) => m.player,
            Self::StateRefused(m) => m.player,
            Self::ApplyState(m) => m.player,
            Self::StateApplied(m) => m.player,
            Self::RelayDamage(m) => m.player,
            Self::RelayKnockback(m) => m.player,
            Self::RelayEffect(m) => m.player,
            Self::MirrorState(m) => m.player,
            Self::ResendChunks(m) => m.player,
            Self::Hello(_)
            | Self::Welcome(_)
            | Self::Reject(_)
            | Self::Heartbeat(_)
            | Self::Fragment(_)
            | Self::ZoneAssignment(_)
            | Self::ZonesApplied(_)
            | Self::Unknown { .. } => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Heartbeat, Role, SetRole, StateRequest, ZonesApplied};

    fn caps(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn handshake(backend: &mut SyncPeer, proxy: &mut SyncPeer) -> Agreement {
        let hello = backend.hello().unwrap();
        let payload = &backend.prepare(&hello).unwrap()[0];
        let Incoming::Established {
            agreement,
            reply: Some(welcome),
        } = proxy.receive_payload(payload).unwrap()
        else {
            panic!("proxy did not establish");
        };
        let payload = &proxy.prepare(&welcome).unwrap()[0];
        let Incoming::Established {
            agreement: theirs,
            reply: None,
        } = backend.receive_payload(payload).unwrap()
        else {
            panic!("backend did not establish");
        };
        assert_eq!(agreement.version, theirs.version);
        assert_eq!(agreement.capabilities, theirs.capabilities);
        assert_eq!(agreement.peer_id, "lobby-1");
        assert_eq!(theirs.peer_id, "proxy-a");
        agreement
    }

    #[test]
    fn negotiation_picks_the_newest_common_version() {
        let r = |min, max| VersionRange { min, max };
        assert_eq!(negotiate(r(1, 3), r(2, 5)), Ok(3));
        assert_eq!(negotiate(r(2, 5), r(1, 3)), Ok(3));
        assert_eq!(negotiate(r(1, 1), r(1, 1)), Ok(1));
        assert!(negotiate(r(1, 2), r(3, 4)).is_err());
        assert!(negotiate(r(3, 4), r(1, 2)).is_err());
        // A nonsensical range agrees on nothing.
        assert!(negotiate(r(1, 5), r(4, 2)).is_err());
    }

    #[test]
    fn full_handshake_then_messages_flow() {
        let mut backend = SyncPeer::backend("lobby-1", caps(&["meridian:vault", "x:only-backend"]));
        let mut proxy = SyncPeer::proxy("proxy-a", caps(&["x:only-proxy", "meridian:vault"]));
        let agreement = handshake(&mut backend, &mut proxy);
        assert_eq!(agreement.version, PROTOCOL_VERSION);
        assert_eq!(agreement.capabilities, caps(&["meridian:vault"]));
        assert!(agreement.has("meridian:vault"));

        let beat = Message::Heartbeat(Heartbeat {
            online_players: 3,
            tps: 20.0,
            mspt: 12.5,
            memory_used_bytes: 1,
            memory_max_bytes: 2,
        });
        let payload = &backend.prepare(&beat).unwrap()[0];
        assert_eq!(proxy.receive_payload(payload), Ok(Incoming::Message(beat)));

        // Unknown types are handed over, never fatal.
        let unknown = Message::Unknown {
            message_type: 0x45,
            payload: Bytes::from_static(b"new"),
        };
        assert_eq!(
            proxy.receive(unknown.clone()),
            Ok(Incoming::Message(unknown))
        );
        assert_eq!(proxy.phase(), Phase::Established);
    }

    #[test]
    fn nothing_before_the_handshake() {
        let mut proxy = SyncPeer::proxy("proxy-a", vec![]);
        let beat = Message::ZonesApplied(ZonesApplied { epoch: 1 });
        assert!(matches!(
            proxy.receive(beat),
            Err(SyncError::Protocol(ProtocolError::OutOfOrder {
                message_type: 0x19,
                phase: Phase::AwaitingHello
            }))
        ));
        assert_eq!(proxy.phase(), Phase::Closed);

        let mut backend = SyncPeer::backend("lobby-1", vec![]);
        let role = Message::SetRole(SetRole {
            player: Uuid::nil(),
            role: Role::Primary,
            epoch: 1,
        });
        assert!(matches!(
            backend.receive(role.clone()),
            Err(SyncError::Protocol(ProtocolError::OutOfOrder { .. }))
        ));
        // And a backend may not send before its Hello either.
        let backend = SyncPeer::backend("lobby-1", vec![]);
        assert!(matches!(
            backend.check_send(&Message::ZonesApplied(ZonesApplied { epoch: 1 })),
            Err(ProtocolError::OutOfOrder { .. })
        ));
    }

    #[test]
    fn second_hello_and_wrong_direction_are_refused() {
        let mut backend = SyncPeer::backend("lobby-1", vec![]);
        let mut proxy = SyncPeer::proxy("proxy-a", vec![]);
        handshake(&mut backend, &mut proxy);
        let request = Message::StateRequest(StateRequest {
            transfer_id: Uuid::nil(),
            player: Uuid::nil(),
        });
        // A backend must not send proxy → backend messages, nor the proxy receive them.
        assert!(matches!(
            backend.check_send(&request),
            Err(ProtocolError::WrongDirection { .. })
        ));
        let mut p2 = SyncPeer::proxy("proxy-a", vec![]);
        let mut b2 = SyncPeer::backend("lobby-1", vec![]);
        handshake(&mut b2, &mut p2);
        assert!(matches!(
            p2.receive(request),
            Err(SyncError::Protocol(ProtocolError::WrongDirection { .. }))
        ));

        let hello = Message::Hello(Hello {
            max_version: 1,
            min_version: 1,
            server_id: "x".into(),
            capabilities: vec![],
        });
        assert!(matches!(
            proxy.receive(hello),
            Err(SyncError::Protocol(ProtocolError::OutOfOrder { .. }))
        ));
        assert!(matches!(
            proxy.receive(Message::ZonesApplied(ZonesApplied { epoch: 1 })),
            Err(SyncError::Protocol(ProtocolError::Closed))
        ));
    }

    #[test]
    fn version_mismatch_is_rejected_both_ways() {
        let mut backend =
            SyncPeer::backend("lobby-1", vec![]).with_versions(VersionRange { min: 7, max: 9 });
        let mut proxy = SyncPeer::proxy("proxy-a", vec![]);
        let hello = backend.hello().unwrap();
        let err = proxy.receive(hello).unwrap_err();
        assert!(matches!(
            err,
            SyncError::Protocol(ProtocolError::VersionMismatch { .. })
        ));
        let reject = proxy.reject(err.to_string());
        assert!(proxy.check_send(&reject).is_ok());
        assert!(matches!(
            backend.receive(reject),
            Err(SyncError::Protocol(ProtocolError::Rejected { .. }))
        ));
        assert_eq!(backend.phase(), Phase::Closed);

        // A Welcome naming a version the backend does not speak.
        let mut backend = SyncPeer::backend("lobby-1", vec![]);
        backend.hello().unwrap();
        let welcome = Message::Welcome(Welcome {
            version: 99,
            proxy_id: "p".into(),
            capabilities: vec![],
        });
        assert!(matches!(
            backend.receive(welcome),
            Err(SyncError::Protocol(ProtocolError::VersionMismatch { .. }))
        ));
    }

    #[test]
    fn wrong_player_is_refused() {
        let me = Uuid::from_u128(1);
        let mut backend = SyncPeer::backend("lobby-1", vec![]).with_player(me);
        let mut proxy = SyncPeer::proxy("proxy-a", vec![]);
        handshake(&mut backend, &mut proxy);
        let ok = Message::SetRole(SetRole {
            player: me,
            role: Role::Dummy,
            epoch: 1,
        });
        assert!(backend.receive(ok).is_ok());
        let other = Message::SetRole(SetRole {
            player: Uuid::from_u128(2),
            role: Role::Dummy,
            epoch: 1,
        });
        assert!(matches!(
            backend.receive(other),
            Err(SyncError::Protocol(ProtocolError::WrongPlayer { .. }))
        ));
    }

    #[test]
    fn resend_chunks_goes_to_the_backend_about_the_links_player() {
        let me = Uuid::from_u128(1);
        let resend = |player| {
            Message::ResendChunks(crate::message::ResendChunks {
                player,
                dimension: "minecraft:overworld".into(),
                chunks: vec![crate::message::ChunkCoords { x: 0, z: 0 }],
            })
        };
        let mut backend = SyncPeer::backend("lobby-1", vec![]).with_player(me);
        let mut proxy = SyncPeer::proxy("proxy-a", vec![]).with_player(me);
        handshake(&mut backend, &mut proxy);
        assert!(matches!(
            backend.check_send(&resend(me)),
            Err(ProtocolError::WrongDirection { .. })
        ));
        let payload = &proxy.prepare(&resend(me)).unwrap()[0];
        assert_eq!(
            backend.receive_payload(payload),
            Ok(Incoming::Message(resend(me)))
        );
        assert!(matches!(
            backend.receive(resend(Uuid::from_u128(2))),
            Err(SyncError::Protocol(ProtocolError::WrongPlayer { .. }))
        ));
    }

    #[test]
    fn oversized_payloads_and_garbage_close_the_link() {
        let mut proxy = SyncPeer::proxy("proxy-a", vec![]);
        let big = vec![0u8; MAX_PAYLOAD_LEN + 1];
        assert!(matches!(
            proxy.receive_payload(&big),
            Err(SyncError::Protocol(ProtocolError::PayloadTooLarge { .. }))
        ));
        let mut proxy = SyncPeer::proxy("proxy-a", vec![]);
        assert!(matches!(
            proxy.receive_payload(&[]),
            Err(SyncError::Decode(DecodeError::Truncated { .. }))
        ));
        assert_eq!(proxy.phase(), Phase::Closed);
    }

    #[test]
    fn long_reject_reasons_are_cut_to_fit() {
        let mut proxy = SyncPeer::proxy("proxy-a", vec![]);
        let reject = proxy.reject("é".repeat(crate::limits::MAX_REASON_LEN));
        assert!(proxy.prepare(&reject).is_ok());
    }
}
