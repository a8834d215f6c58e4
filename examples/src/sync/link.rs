//! One link's conversation on `meridian:sync`: the handshake, its timeout, heartbeats, and the
//! line between payloads that are dropped and errors that end the link.
//!
//! [`SyncPeer`] checks order, direction and the player named; this wraps it with what the spec
//! leaves to the implementation: the timers, and reassembling fragments ourselves so that a
//! payload that does not decode is dropped instead of closing the conversation (see the spec's
//! "Ordering, timeouts and failures").

use std::time::Duration;

use bytes::Bytes;
use sync_plugin_protocol::{
    FragmentError, HEARTBEAT_INTERVAL, Heartbeat, Incoming, MAX_PAYLOAD_LEN, Message, Phase,
    ProtocolError, Reassembler, SyncError, SyncPeer, decode,
};
use tokio::time::Instant;
use uuid::Uuid;

use super::{
    CHANNEL, SyncShared,
    load::{LoadMark, memory},
};

/// What a received payload amounts to.
#[derive(Debug)]
pub enum Received {
    /// Nothing to act on: dropped, buffered as a fragment, an unknown type skipped, or ignored
    /// because the backend was told to stop listening.
    Nothing,
    /// The handshake just completed; heartbeats have started.
    Established,
    /// A message to act on (boxed: a `PlayerState` makes it large).
    Message(Box<Message>),
    /// The conversation is over: send `reject` (possibly nothing), then disconnect.
    Broken { reject: Vec<Bytes>, reason: String },
}

/// What a timer firing means.
#[derive(Debug, PartialEq, Eq)]
pub enum Timer {
    Nothing,
    /// No `Welcome` within the handshake timeout: the spec says to disconnect.
    HandshakeTimedOut,
    /// Time to send a heartbeat.
    Heartbeat,
}

/// A payload that is not a usable message.
#[derive(Debug, thiserror::Error)]
enum Unreadable {
    #[error("payload of {0} bytes, more than {MAX_PAYLOAD_LEN}")]
    TooLarge(usize),
    #[error(transparent)]
    Decode(#[from] sync_plugin_protocol::DecodeError),
    #[error(transparent)]
    Fragment(#[from] FragmentError),
    #[error("fragments reassembled into a fragment")]
    NestedFragment,
}

/// One player connection's sync conversation.
#[derive(Debug)]
pub struct Link {
    peer: SyncPeer,
    reassembler: Reassembler,
    handshake_timeout: Duration,
    handshake_deadline: Option<Instant>,
    next_heartbeat: Option<Instant>,
    load: Option<LoadMark>,
    backend: String,
    player: String,
}

impl Link {
    pub fn new(
        backend: &str,
        player: Uuid,
        player_name: &str,
        handshake_timeout: Duration,
    ) -> Self {
        Self {
            peer: SyncPeer::backend(backend, Vec::new()).with_player(player),
            reassembler: Reassembler::new(),
            handshake_timeout,
            handshake_deadline: None,
            next_heartbeat: None,
            load: None,
            backend: backend.to_owned(),
            player: player_name.to_owned(),
        }
    }

    pub fn is_established(&self) -> bool {
        self.peer.phase() == Phase::Established
    }

    /// A `minecraft:register` from the proxy: on the first that lists `meridian:sync`, the
    /// payloads of our `Hello`. Later registrations change nothing.
    pub fn on_register(&mut self, channels: &[u8], now: Instant) -> Option<Vec<Bytes>> {
        let ours = channels
            .split(|&b| b == 0)
            .any(|name| name == CHANNEL.as_bytes());
        if !ours || self.peer.phase() != Phase::NotStarted {
            return None;
        }
        let hello = self.peer.hello().ok()?;
        match self.peer.prepare(&hello) {
            Ok(payloads) => {
                self.handshake_deadline = Some(now + self.handshake_timeout);
                Some(payloads)
            }
            Err(e) => {
                // Only a server id over 64 bytes gets here, and the config refuses those.
                tracing::error!(backend = %self.backend, "cannot encode Hello: {e}");
                None
            }
        }
    }

    /// Takes one payload received on `meridian:sync`.
    pub fn receive(&mut self, payload: &[u8], shared: &SyncShared, now: Instant) -> Received {
        shared.count_payload();
        let msg = match self.read(payload, shared) {
            Ok(Some(msg)) => msg,
            Ok(None) => return Received::Nothing,
            Err(e) => {
                shared.count_dropped();
                tracing::warn!(
                    backend = %self.backend, player = %self.player, len = payload.len(),
                    "dropped an unreadable meridian:sync payload: {e}"
                );
                return Received::Nothing;
            }
        };
        if shared.is_stopped() {
            tracing::debug!(backend = %self.backend, player = %self.player, "ignoring {msg:?}: sync is stopped");
            return Received::Nothing;
        }
        match self.peer.receive(msg) {
            Ok(Incoming::Established { agreement, .. }) => {
                tracing::info!(
                    backend = %self.backend, player = %self.player, proxy = %agreement.peer_id,
                    version = agreement.version, "meridian:sync established"
                );
                self.handshake_deadline = None;
                // The first beat goes out at once, so the proxy sees the link alive immediately.
                self.next_heartbeat = Some(now);
                self.load = Some(LoadMark::new(&shared.load, now));
                Received::Established
            }
            Ok(Incoming::Message(Message::Unknown { message_type, .. })) => {
                tracing::debug!(backend = %self.backend, "skipping unknown message type {message_type:#04x}");
                Received::Nothing
            }
            Ok(Incoming::Message(msg)) => Received::Message(Box::new(msg)),
            // Fragments never reach the peer: `read` reassembles them.
            Ok(Incoming::Pending) => Received::Nothing,
            Err(e) => self.broken(e),
        }
    }

    /// Decodes a payload, reassembling fragments; `None` while a fragmented message is incomplete.
    fn read(&mut self, payload: &[u8], shared: &SyncShared) -> Result<Option<Message>, Unreadable> {
        if payload.len() > MAX_PAYLOAD_LEN {
            return Err(Unreadable::TooLarge(payload.len()));
        }
        let msg = decode(payload)?;
        shared.count(msg.type_id());
        let Message::Fragment(fragment) = msg else {
            return Ok(Some(msg));
        };
        if !self.is_established() {
            // The peer reports a fragment before the handshake as out of order.
            return Ok(Some(Message::Fragment(fragment)));
        }
        let Some(whole) = self.reassembler.push(fragment)? else {
            return Ok(None);
        };
        match decode(&whole)? {
            Message::Fragment(_) => Err(Unreadable::NestedFragment),
            msg => {
                shared.count(msg.type_id());
                Ok(Some(msg))
            }
        }
    }

    fn broken(&mut self, error: SyncError) -> Received {
        let reason = format!("meridian:sync: {error}");
        tracing::warn!(backend = %self.backend, player = %self.player, "{reason}; closing the link");
        let reject = match error {
            // The proxy closed the conversation itself; answering would be refused anyway.
            SyncError::Protocol(ProtocolError::Rejected { .. } | ProtocolError::Closed) => {
                Vec::new()
            }
            _ => {
                let reject = self.peer.reject(reason.clone());
                self.peer.prepare(&reject).unwrap_or_default()
            }
        };
        Received::Broken { reject, reason }
    }

    /// Encodes a message to send, or says why it cannot go (before the handshake, say).
    pub fn prepare(&self, msg: &Message) -> Result<Vec<Bytes>, SyncError> {
        self.peer.prepare(msg)
    }

    /// The heartbeat to send now, with `online` players on the backend.
    pub fn heartbeat(&mut self, shared: &SyncShared, online: usize, now: Instant) -> Message {
        let mark = self
            .load
            .get_or_insert_with(|| LoadMark::new(&shared.load, now));
        let (tps, mspt) = mark.sample(&shared.load, now);
        let (memory_used_bytes, memory_max_bytes) = memory();
        Message::Heartbeat(Heartbeat {
            online_players: i32::try_from(online).unwrap_or(i32::MAX),
            tps,
            mspt,
            memory_used_bytes,
            memory_max_bytes,
        })
    }

    /// When [`Link::on_timer`] next has something to do.
    pub fn deadline(&self) -> Option<Instant> {
        match (self.handshake_deadline, self.next_heartbeat) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn on_timer(&mut self, now: Instant) -> Timer {
        if self.handshake_deadline.is_some_and(|d| now >= d) {
            self.handshake_deadline = None;
            return Timer::HandshakeTimedOut;
        }
        match self.next_heartbeat {
            Some(due) if now >= due && !self.is_established() => {
                // The conversation ended: nothing more to beat for (and no timer left due).
                self.next_heartbeat = None;
                Timer::Nothing
            }
            Some(due) if now >= due => {
                // Scheduled from the due time, not from now, so beats do not drift late.
                let mut next = due + HEARTBEAT_INTERVAL;
                if next <= now {
                    next = now + HEARTBEAT_INTERVAL;
                }
                self.next_heartbeat = Some(next);
                Timer::Heartbeat
            }
            _ => Timer::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use sync_plugin_protocol::{
        ApplyOutcome, Fragment, Role, SetRole, StateApplied, Welcome, encode_payloads,
        encode_to_bytes,
    };

    use super::*;

    const PLAYER: Uuid = Uuid::from_u128(7);

    fn established(shared: &SyncShared) -> Link {
        let mut link = Link::new("alpha", PLAYER, "Alice", Duration::from_secs(5));
        let now = Instant::now();
        assert!(link.on_register(b"other:x\0meridian:sync", now).is_some());
        assert!(
            link.on_register(b"meridian:sync", now).is_none(),
            "Hello once"
        );
        let welcome = encode_to_bytes(&Message::Welcome(Welcome {
            version: 1,
            proxy_id: "proxy".into(),
            capabilities: vec![],
        }))
        .unwrap();
        assert!(matches!(
            link.receive(&welcome, shared, now),
            Received::Established
        ));
        assert_eq!(link.on_timer(now), Timer::Heartbeat);
        assert_eq!(link.on_timer(now), Timer::Nothing);
        link
    }

    fn set_role(player: Uuid) -> Message {
        Message::SetRole(SetRole {
            player,
            role: Role::Primary,
            epoch: 1,
        })
    }

    #[test]
    fn unreadable_payloads_are_dropped_and_the_link_goes_on() {
        let shared = SyncShared::default();
        let mut link = established(&shared);
        let now = Instant::now();
        for junk in [
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff][..],
            &[0x08, 0x01][..],
            &vec![0x40; MAX_PAYLOAD_LEN + 1][..],
        ] {
            assert!(matches!(
                link.receive(junk, &shared, now),
                Received::Nothing
            ));
        }
        assert_eq!(shared.dropped(), 3);
        assert_eq!(shared.payloads(), 4, "the Welcome and the three dropped");
        let ok = encode_to_bytes(&set_role(PLAYER)).unwrap();
        assert!(matches!(
            link.receive(&ok, &shared, now),
            Received::Message(m) if matches!(*m, Message::SetRole(_))
        ));
        assert_eq!(shared.received(0x08), 1);
    }

    #[test]
    fn fragments_are_reassembled_and_bad_sequences_dropped() {
        let shared = SyncShared::default();
        let mut link = established(&shared);
        let now = Instant::now();
        let big = Message::Unknown {
            message_type: 0x41,
            payload: Bytes::from(vec![1; 70_000]),
        };
        let payloads = encode_payloads(&big).unwrap();
        assert_eq!(payloads.len(), 3);
        for p in &payloads {
            assert!(matches!(link.receive(p, &shared, now), Received::Nothing));
        }
        assert_eq!((shared.received(0x04), shared.received(0x41)), (3, 1));
        let stray = encode_to_bytes(&Message::Fragment(Fragment {
            index: 1,
            count: 2,
            data: Bytes::from_static(b"x"),
        }))
        .unwrap();
        assert!(matches!(
            link.receive(&stray, &shared, now),
            Received::Nothing
        ));
        assert_eq!(shared.dropped(), 1);
    }

    #[test]
    fn broken_rules_end_the_link_with_a_reject() {
        let shared = SyncShared::default();
        let mut link = established(&shared);
        let now = Instant::now();
        let wrong_player = encode_to_bytes(&set_role(Uuid::from_u128(8))).unwrap();
        let Received::Broken { reject, reason } = link.receive(&wrong_player, &shared, now) else {
            panic!("a message about another player breaks the link");
        };
        assert!(reason.contains("player"), "{reason}");
        assert!(matches!(decode(&reject[0]), Ok(Message::Reject(_))));

        // A proxy → backend direction violation: a backend's own message sent back to it.
        let mut link = established(&shared);
        let answer = encode_to_bytes(&Message::StateApplied(StateApplied {
            transfer_id: Uuid::nil(),
            player: PLAYER,
            outcome: ApplyOutcome::Applied,
        }))
        .unwrap();
        assert!(matches!(
            link.receive(&answer, &shared, now),
            Received::Broken { .. }
        ));
    }

    #[test]
    fn no_welcome_in_time_times_out_and_nothing_is_accepted_before_it() {
        let shared = SyncShared::default();
        let mut link = Link::new("alpha", PLAYER, "Alice", Duration::from_millis(10));
        let now = Instant::now();
        assert_eq!(link.deadline(), None);
        link.on_register(b"meridian:sync", now).unwrap();
        assert_eq!(link.on_timer(now), Timer::Nothing);
        let later = now + Duration::from_millis(10);
        assert_eq!(link.deadline(), Some(later));
        assert_eq!(link.on_timer(later), Timer::HandshakeTimedOut);

        let mut link = Link::new("alpha", PLAYER, "Alice", Duration::from_secs(5));
        let early = encode_to_bytes(&set_role(PLAYER)).unwrap();
        assert!(matches!(
            link.receive(&early, &shared, now),
            Received::Broken { .. }
        ));
    }

    #[test]
    fn a_stopped_backend_counts_but_ignores() {
        let shared = SyncShared::default();
        let mut link = established(&shared);
        shared.stop(true);
        let msg = encode_to_bytes(&set_role(PLAYER)).unwrap();
        assert!(matches!(
            link.receive(&msg, &shared, Instant::now()),
            Received::Nothing
        ));
        assert_eq!(shared.received(0x08), 1);
    }
}
