//! The players on this backend and the events they send each other.
//!
//! Each connection task owns its own client; what others must learn (a join, a move, a chat
//! line, a leave) goes through their event channel. The roster lock is held only to update the
//! table and queue events, so a join's snapshot and the events after it never overlap or leave
//! a gap.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use meridian_wire::forwarding::Property;
use tokio::sync::mpsc;
use uuid::Uuid;

/// What other connections need to know about a player.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayerInfo {
    pub uuid: Uuid,
    pub name: String,
    pub entity_id: i32,
    pub properties: Vec<Property>,
    pub position: [f64; 3],
    pub yaw: f32,
    pub pitch: f32,
    pub on_ground: bool,
}

/// A message from the backend or another player's connection.
#[derive(Debug, Clone)]
pub enum Event {
    Joined(PlayerInfo),
    Moved {
        uuid: Uuid,
        position: [f64; 3],
        yaw: f32,
        pitch: f32,
        on_ground: bool,
    },
    Left {
        uuid: Uuid,
        entity_id: i32,
    },
    /// A system chat line for this player.
    Chat(String),
    /// End the connection with this reason.
    Kick(String),
}

struct Entry {
    info: PlayerInfo,
    /// Tells a replaced connection's late `leave` from the current one's.
    session: u64,
    events: mpsc::UnboundedSender<Event>,
}

/// The online players.
#[derive(Default)]
pub struct Roster {
    players: Mutex<HashMap<Uuid, Entry>>,
    sessions: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Roster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Roster")
            .field("players", &self.lock().len())
            .finish()
    }
}

/// A player's membership; dropping it does not leave (leaving is explicit, so it can be
/// logged), but [`Roster::leave`] ignores a membership that was replaced.
#[derive(Debug)]
pub struct Membership {
    pub uuid: Uuid,
    pub session: u64,
    pub events: mpsc::UnboundedReceiver<Event>,
}

impl Roster {
    fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, Entry>> {
        // A panic elsewhere while holding the lock leaves the table usable: every update is a
        // single insert or remove.
        self.players
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a player and returns the others as they are now. A connection already using this
    /// UUID is kicked, as vanilla does.
    pub fn join(&self, info: PlayerInfo) -> (Membership, Vec<PlayerInfo>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let session = self
            .sessions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let uuid = info.uuid;
        let mut players = self.lock();
        if let Some(old) = players.remove(&uuid) {
            let _ = old
                .events
                .send(Event::Kick("You logged in from another location".into()));
            broadcast(
                &players,
                &Event::Left {
                    uuid,
                    entity_id: old.info.entity_id,
                },
            );
        }
        let others = players.values().map(|e| e.info.clone()).collect();
        broadcast(&players, &Event::Joined(info.clone()));
        players.insert(
            uuid,
            Entry {
                info,
                session,
                events: tx,
            },
        );
        (
            Membership {
                uuid,
                session,
                events: rx,
            },
            others,
        )
    }

    /// Removes a player, unless another connection has taken its place.
    pub fn leave(&self, membership: &Membership) {
        let mut players = self.lock();
        if players
            .get(&membership.uuid)
            .is_some_and(|e| e.session == membership.session)
            && let Some(entry) = players.remove(&membership.uuid)
        {
            broadcast(
                &players,
                &Event::Left {
                    uuid: membership.uuid,
                    entity_id: entry.info.entity_id,
                },
            );
        }
    }

    /// Records a move and tells the others.
    pub fn moved(&self, uuid: Uuid, position: [f64; 3], yaw: f32, pitch: f32, on_ground: bool) {
        let mut players = self.lock();
        let Some(entry) = players.get_mut(&uuid) else {
            return;
        };
        entry.info.position = position;
        entry.info.yaw = yaw;
        entry.info.pitch = pitch;
        entry.info.on_ground = on_ground;
        let event = Event::Moved {
            uuid,
            position,
            yaw,
            pitch,
            on_ground,
        };
        for (other, entry) in players.iter() {
            if *other != uuid {
                let _ = entry.events.send(event.clone());
            }
        }
    }

    /// Sends a system chat line to everyone, the sender included.
    pub fn chat(&self, line: String) {
        broadcast(&self.lock(), &Event::Chat(line));
    }

    /// Ends a player's connection; false if it is not online.
    pub fn kick(&self, uuid: Uuid, reason: String) -> bool {
        self.lock()
            .get(&uuid)
            .is_some_and(|e| e.events.send(Event::Kick(reason)).is_ok())
    }

    pub fn snapshot(&self) -> Vec<PlayerInfo> {
        self.lock().values().map(|e| e.info.clone()).collect()
    }
}

fn broadcast(players: &HashMap<Uuid, Entry>, event: &Event) {
    for entry in players.values() {
        // A closed channel belongs to a connection on its way out; it leaves on its own.
        let _ = entry.events.send(event.clone());
    }
}

/// Shared ownership for the handle and every connection.
pub type SharedRoster = Arc<Roster>;

#[cfg(test)]
mod tests {
    use super::*;

    fn info(n: u128, name: &str) -> PlayerInfo {
        PlayerInfo {
            uuid: Uuid::from_u128(n),
            name: name.into(),
            entity_id: n as i32,
            properties: Vec::new(),
            position: [0.0; 3],
            yaw: 0.0,
            pitch: 0.0,
            on_ground: true,
        }
    }

    #[test]
    fn join_move_chat_leave() {
        let roster = Roster::default();
        let (mut a, others) = roster.join(info(1, "a"));
        assert!(others.is_empty());
        let (mut b, others) = roster.join(info(2, "b"));
        assert_eq!(others, vec![info(1, "a")]);
        assert!(matches!(a.events.try_recv(), Ok(Event::Joined(p)) if p.name == "b"));
        roster.moved(b.uuid, [1.0, 2.0, 3.0], 0.0, 0.0, true);
        assert!(matches!(
            a.events.try_recv(),
            Ok(Event::Moved {
                position: [1.0, 2.0, 3.0],
                ..
            })
        ));
        assert!(
            b.events.try_recv().is_err(),
            "a mover is not told of its own move"
        );
        roster.chat("x".into());
        assert!(matches!(a.events.try_recv(), Ok(Event::Chat(_))));
        assert!(matches!(b.events.try_recv(), Ok(Event::Chat(_))));
        roster.leave(&b);
        assert!(matches!(
            a.events.try_recv(),
            Ok(Event::Left { entity_id: 2, .. })
        ));
        assert_eq!(roster.snapshot().len(), 1);
    }

    #[test]
    fn second_login_replaces_the_first() {
        let roster = Roster::default();
        let (mut first, _) = roster.join(info(1, "a"));
        let (second, _) = roster.join(info(1, "a"));
        assert!(matches!(first.events.try_recv(), Ok(Event::Kick(_))));
        roster.leave(&first);
        assert_eq!(
            roster.snapshot().len(),
            1,
            "the replaced session's leave is ignored"
        );
        roster.leave(&second);
        assert!(roster.snapshot().is_empty());
    }
}
