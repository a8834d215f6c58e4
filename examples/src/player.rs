//! The players on this backend, their game state, the items on the ground, and the events
//! connections send each other.
//!
//! Each connection task owns its own client; what others must learn (a join, a move, a chat
//! line, a leave, an item picked up) goes through their event channel. Everything shared lives
//! in one [`Book`] behind one lock, held only to read or update it and queue events (never
//! across an `.await`), so a join's snapshot and the events after it never overlap or leave a
//! gap, and a pickup decision sees every player's role and position at once.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, MutexGuard},
};

use meridian_wire::forwarding::Property;
use sync_plugin_protocol::{Location, MirrorState, PlayerState};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::sync::{
    Effects, Show,
    ghost::{PICKUP_RANGE, Standing, distance},
    state,
};

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
    /// How the player looks on its primary, while it is a dummy here (`MirrorState`).
    pub appearance: Option<MirrorState>,
}

/// An item lying on the ground (a test put it there: this world has no other source).
#[derive(Debug, Clone, PartialEq)]
pub struct GroundItem {
    pub entity_id: i32,
    pub uuid: Uuid,
    pub position: [f64; 3],
    /// e.g. `minecraft:diamond`.
    pub item: String,
    pub count: i32,
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
    /// Another player's mirrored look changed (`None`: it is primary here again, unmirrored).
    Appearance {
        uuid: Uuid,
        appearance: Option<MirrorState>,
    },
    ItemSpawned(GroundItem),
    /// The player with entity id `by` picked up `amount` of an item; `left` remain (0: gone).
    ItemTaken {
        item: i32,
        by: i32,
        amount: i32,
        left: i32,
    },
    /// Send these bytes on `meridian:sync` as they are (a test hook: a backend gone wrong).
    RawSync(Vec<u8>),
    /// This player's own state changed from outside its connection (a test hook, a pickup):
    /// show it, and send what the link must say.
    Effects(Effects),
    /// An applied zone assignment changed which zones are released: show and hide the world
    /// entities (marker, ground items) to match the shared ownership as it is now.
    ZonesChanged,
}

/// A player's game state and standing on this backend.
#[derive(Debug, Clone)]
pub struct Game {
    pub state: PlayerState,
    pub standing: Standing,
}

struct Entry {
    info: PlayerInfo,
    /// Tells a replaced connection's late `leave` from the current one's.
    session: u64,
    events: mpsc::UnboundedSender<Event>,
    game: Game,
}

impl Entry {
    /// Whether the state may be kept for the player's next connection: a ghost's is not the
    /// player's (spec, "Dummies"), and a frozen one was handed to another backend.
    fn keepable(&self) -> Option<&PlayerState> {
        (!self.game.standing.is_ghost()).then_some(&self.game.state)
    }
}

/// Everything the connections share, behind the roster's lock.
#[derive(Default)]
pub struct Book {
    players: HashMap<Uuid, Entry>,
    items: BTreeMap<i32, GroundItem>,
    /// The last state of players who left while primary: "what you have stored for this
    /// player", for a first `SetRole { primary }` without `ApplyState`.
    saved: HashMap<Uuid, PlayerState>,
}

/// The online players.
#[derive(Default)]
pub struct Roster {
    book: Mutex<Book>,
    sessions: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Book {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Book")
            .field("players", &self.players.len())
            .field("items", &self.items.len())
            .field("saved", &self.saved.len())
            .finish()
    }
}

impl std::fmt::Debug for Roster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Roster")
            .field("players", &self.book().players.len())
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
    /// The shared book. A panic elsewhere while holding the lock leaves it usable: every update
    /// is a few field writes.
    pub fn book(&self) -> MutexGuard<'_, Book> {
        self.book
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a player and returns the others as they are now. A connection already using this
    /// UUID is kicked, as vanilla does. The player starts with the state it had when it last
    /// left this backend as a primary, else `initial`, at `info`'s position either way.
    pub fn join(&self, info: PlayerInfo, initial: PlayerState) -> (Membership, Vec<PlayerInfo>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let session = self
            .sessions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let uuid = info.uuid;
        let mut book = self.book();
        if let Some(old) = book.players.remove(&uuid) {
            let _ = old
                .events
                .send(Event::Kick("You logged in from another location".into()));
            if let Some(state) = old.keepable() {
                book.saved.insert(uuid, state.clone());
            }
            book.broadcast(&Event::Left {
                uuid,
                entity_id: old.info.entity_id,
            });
        }
        let mut state = book.saved.get(&uuid).cloned().unwrap_or(initial);
        state.location.x = info.position[0];
        state.location.y = info.position[1];
        state.location.z = info.position[2];
        let others = book.players.values().map(|e| e.info.clone()).collect();
        book.broadcast(&Event::Joined(info.clone()));
        book.players.insert(
            uuid,
            Entry {
                info,
                session,
                events: tx,
                game: Game {
                    state,
                    standing: Standing::default(),
                },
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
        let mut book = self.book();
        if book
            .players
            .get(&membership.uuid)
            .is_some_and(|e| e.session == membership.session)
            && let Some(entry) = book.players.remove(&membership.uuid)
        {
            if let Some(state) = entry.keepable() {
                book.saved.insert(membership.uuid, state.clone());
            }
            book.broadcast(&Event::Left {
                uuid: membership.uuid,
                entity_id: entry.info.entity_id,
            });
        }
    }

    /// Records a move, tells the others, and lets a primary pick up what it now stands on.
    pub fn moved(&self, uuid: Uuid, position: [f64; 3], yaw: f32, pitch: f32, on_ground: bool) {
        let mut book = self.book();
        let Some(entry) = book.players.get_mut(&uuid) else {
            return;
        };
        let state = &mut entry.game.state;
        // Fall distance as vanilla counts it: what was dropped since last on the ground.
        if on_ground {
            state.fall_distance = 0.0;
        } else if position[1] < state.location.y {
            state.fall_distance += state.location.y - position[1];
        }
        book.relocate(uuid, position, yaw, pitch, on_ground);
        book.pick_up(uuid);
    }

    /// Sends a system chat line to everyone, the sender included.
    pub fn chat(&self, line: String) {
        self.book().broadcast(&Event::Chat(line));
    }

    /// Ends a player's connection; false if it is not online.
    pub fn kick(&self, uuid: Uuid, reason: String) -> bool {
        self.book().send(uuid, Event::Kick(reason))
    }

    /// Tells every connection that the released zones changed.
    pub fn zones_changed(&self) {
        self.book().broadcast(&Event::ZonesChanged);
    }

    pub fn send_raw_sync(&self, uuid: Uuid, payload: Vec<u8>) -> bool {
        self.book().send(uuid, Event::RawSync(payload))
    }

    pub fn snapshot(&self) -> Vec<PlayerInfo> {
        self.book()
            .players
            .values()
            .map(|e| e.info.clone())
            .collect()
    }
}

impl Book {
    pub fn game(&self, uuid: Uuid) -> Option<&Game> {
        self.players.get(&uuid).map(|e| &e.game)
    }

    pub fn game_mut(&mut self, uuid: Uuid) -> Option<&mut Game> {
        self.players.get_mut(&uuid).map(|e| &mut e.game)
    }

    pub fn online(&self) -> usize {
        self.players.len()
    }

    pub fn items(&self) -> impl Iterator<Item = &GroundItem> {
        self.items.values()
    }

    /// Queues an event for one player; false if it is not online.
    pub fn send(&self, uuid: Uuid, event: Event) -> bool {
        self.players
            .get(&uuid)
            .is_some_and(|e| e.events.send(event).is_ok())
    }

    fn broadcast(&self, event: &Event) {
        for entry in self.players.values() {
            // A closed channel belongs to a connection on its way out; it leaves on its own.
            let _ = entry.events.send(event.clone());
        }
    }

    fn broadcast_others(&self, uuid: Uuid, event: &Event) {
        for (other, entry) in &self.players {
            if *other != uuid {
                let _ = entry.events.send(event.clone());
            }
        }
    }

    /// Puts a player somewhere (a move, a teleport, an applied state) and tells the others.
    pub fn relocate(
        &mut self,
        uuid: Uuid,
        position: [f64; 3],
        yaw: f32,
        pitch: f32,
        on_ground: bool,
    ) {
        let Some(entry) = self.players.get_mut(&uuid) else {
            return;
        };
        entry.info.position = position;
        entry.info.yaw = yaw;
        entry.info.pitch = pitch;
        entry.info.on_ground = on_ground;
        let location = &mut entry.game.state.location;
        [location.x, location.y, location.z] = position;
        location.yaw = yaw;
        location.pitch = pitch;
        self.broadcast_others(
            uuid,
            &Event::Moved {
                uuid,
                position,
                yaw,
                pitch,
                on_ground,
            },
        );
    }

    /// [`Book::relocate`] to a protocol location (the dimension is ignored: one world here).
    pub fn relocate_to(&mut self, uuid: Uuid, location: &Location) {
        let on_ground = self.players.get(&uuid).is_some_and(|e| e.info.on_ground);
        self.relocate(
            uuid,
            [location.x, location.y, location.z],
            location.yaw,
            location.pitch,
            on_ground,
        );
    }

    /// Sets how a dummy looks and shows it to everyone else.
    pub fn set_appearance(&mut self, uuid: Uuid, appearance: Option<MirrorState>) {
        let Some(entry) = self.players.get_mut(&uuid) else {
            return;
        };
        if entry.info.appearance == appearance {
            return;
        }
        entry.info.appearance = appearance.clone();
        self.broadcast_others(uuid, &Event::Appearance { uuid, appearance });
    }

    /// Lays an item on the ground, where the nearest primary in reach picks it up at once.
    pub fn drop_item(&mut self, item: GroundItem) {
        let entity_id = item.entity_id;
        let position = item.position;
        self.broadcast(&Event::ItemSpawned(item.clone()));
        self.items.insert(entity_id, item);
        let mut near: Vec<(f64, Uuid)> = self
            .players
            .values()
            .map(|e| (distance(e.info.position, position), e.info.uuid))
            .filter(|(d, _)| *d <= PICKUP_RANGE)
            .collect();
        near.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (_, uuid) in near {
            self.pick_up(uuid);
        }
    }

    /// A primary takes what lies within reach, as far as its inventory has room. A ghost never
    /// does: that is the duplication the dummy rules exist to prevent.
    pub fn pick_up(&mut self, uuid: Uuid) {
        let Some(entry) = self.players.get_mut(&uuid) else {
            return;
        };
        if entry.game.standing.is_ghost() {
            return;
        }
        let position = entry.info.position;
        let by = entry.info.entity_id;
        let mut taken_any = false;
        let mut events = Vec::new();
        for item in self.items.values_mut() {
            if distance(item.position, position) > PICKUP_RANGE {
                continue;
            }
            let amount = state::add_items(&mut entry.game.state, &item.item, item.count);
            if amount == 0 {
                continue;
            }
            item.count -= amount;
            taken_any = true;
            events.push(Event::ItemTaken {
                item: item.entity_id,
                by,
                amount,
                left: item.count,
            });
        }
        if taken_any {
            let _ = entry.events.send(Event::Effects(Effects {
                show: Show {
                    inventory: true,
                    ..Show::default()
                },
                ..Effects::default()
            }));
        }
        self.items.retain(|_, item| item.count > 0);
        for event in &events {
            self.broadcast(event);
        }
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
            appearance: None,
        }
    }

    fn join(roster: &Roster, n: u128, name: &str) -> (Membership, Vec<PlayerInfo>) {
        roster.join(info(n, name), state::initial([0.0; 3]))
    }

    #[test]
    fn join_move_chat_leave() {
        let roster = Roster::default();
        let (mut a, others) = join(&roster, 1, "a");
        assert!(others.is_empty());
        let (mut b, others) = join(&roster, 2, "b");
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
        let (mut first, _) = join(&roster, 1, "a");
        let (second, _) = join(&roster, 1, "a");
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

    fn item(entity_id: i32, position: [f64; 3], count: i32) -> GroundItem {
        GroundItem {
            entity_id,
            uuid: Uuid::from_u128(entity_id as u128),
            position,
            item: "minecraft:diamond".into(),
            count,
        }
    }

    fn make_primary(roster: &Roster, uuid: Uuid) {
        let mut book = roster.book();
        let game = book.game_mut(uuid).unwrap();
        game.standing
            .set_role(sync_plugin_protocol::Role::Primary, 1)
            .unwrap();
    }

    fn holds_nothing(roster: &Roster, player: Uuid) -> bool {
        roster
            .book()
            .game(player)
            .unwrap()
            .state
            .inventory
            .is_empty()
    }

    #[test]
    fn a_ghost_picks_up_nothing_and_a_primary_in_reach_takes_it_all() {
        let roster = Roster::default();
        let (ghost, _) = join(&roster, 1, "ghost");
        let (mut primary, _) = join(&roster, 2, "primary");
        roster.book().drop_item(item(100, [0.5, 0.0, 0.5], 5));
        assert_eq!(roster.book().items().count(), 1, "nobody primary yet");
        assert!(holds_nothing(&roster, ghost.uuid));

        make_primary(&roster, primary.uuid);
        // Out of reach first, then onto it.
        roster.moved(primary.uuid, [3.0, 0.0, 0.0], 0.0, 0.0, true);
        assert_eq!(roster.book().items().count(), 1);
        while primary.events.try_recv().is_ok() {}
        roster.moved(primary.uuid, [1.0, 0.0, 0.0], 0.0, 0.0, true);
        assert_eq!(roster.book().items().count(), 0);
        let inventory = state::list(&roster.book().game(primary.uuid).unwrap().state);
        assert_eq!(inventory, vec![(0, "minecraft:diamond".into(), 5)]);
        let events: Vec<Event> = std::iter::from_fn(|| primary.events.try_recv().ok()).collect();
        assert!(events.iter().any(|e| matches!(
            e,
            Event::ItemTaken {
                item: 100,
                by: 2,
                amount: 5,
                left: 0
            }
        )));
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::Effects(fx) if fx.show.inventory))
        );
        assert!(holds_nothing(&roster, ghost.uuid));
    }

    #[test]
    fn a_primary_leaving_keeps_its_state_for_next_time_but_a_ghost_does_not() {
        let roster = Roster::default();
        let (primary, _) = join(&roster, 1, "primary");
        make_primary(&roster, primary.uuid);
        roster.book().drop_item(item(100, [0.0; 3], 3));
        roster.leave(&primary);
        let (again, _) = join(&roster, 1, "primary");
        assert_eq!(
            state::list(&roster.book().game(again.uuid).unwrap().state).len(),
            1
        );
        // A ghost until a SetRole: whatever it holds now is not saved over the stored state.
        roster
            .book()
            .game_mut(again.uuid)
            .unwrap()
            .state
            .inventory
            .clear();
        roster.leave(&again);
        let (third, _) = join(&roster, 1, "primary");
        assert_eq!(
            state::list(&roster.book().game(third.uuid).unwrap().state),
            vec![(0, "minecraft:diamond".into(), 3)]
        );
    }
}
