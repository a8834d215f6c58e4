//! The per-session map between each link's entity ids and the client's.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    hash::{BuildHasherDefault, Hasher},
};

use super::kinds;

/// One of a session's backend links, as the entity map knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub u16);

/// Where ids that cannot be identity-mapped are allocated from.
///
/// Vanilla numbers entities from 1 upwards, one server-wide counter, so backend ids are small
/// (three VarInt bytes cover the first two million). Allocating fresh ids far above that keeps them
/// out of the way of other links' ids, which can then still map to themselves; 2^27 is the top of
/// the four-byte VarInt range minus room for a long-running server's counter.
pub const FRESH_BASE: i32 = 1 << 27;

/// How many freed client ids are kept from reuse. The client may still act on an id it has not yet
/// seen removed (an attack in flight): were the id reused at once, by another link's entity, the
/// attack would land on that entity. Backend ids only grow, so only another link could reuse one.
const QUARANTINE: usize = 1024;

/// Why the map refused a binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("the player's client id is already {fixed}, not {requested}")]
    PlayerIdFixed { fixed: i32, requested: i32 },
    #[error("client id {0} already stands for another entity")]
    ClientIdTaken(i32),
    #[error("client id {0} is not shown")]
    NotShown(i32),
    #[error("client id 0 is reserved: vanilla reads it as \"no entity\" in several fields")]
    Zero,
}

/// A session's entity ids: `(link, backend id) ↔ client id`.
///
/// - Every `(link, backend id)` pair maps to exactly one client id, allocated the first time the
///   pair is seen ([`EntityMap::map`]) and kept until it is released.
/// - A client id stands for one or more pairs. Its reference count is the number of pairs; it is
///   freed when the last pair is released. More than one pair happens for the player (every link
///   knows the player by its own backend id, see [`EntityMap::set_player`]) and for pairs the
///   caller aliases with [`EntityMap::bind`].
/// - Identity first: a pair gets its backend id as client id when no other pair holds that id,
///   so a session with one link rewrites nothing. Otherwise the id comes from [`FRESH_BASE`] up.
/// - The player's client id is fixed at first login and never freed or reused.
/// - An ender dragon's client id is followed by eight ids for its parts, because the client names
///   them `dragon + 1 ..= dragon + 8` (and attacks them by those ids) without being told.
/// - Client id 0 is never handed out: several fields encode "no entity" as 0.
/// - A freed client id is not handed out again until 1 024 more ids have been freed, so a
///   packet the client sent about the old entity cannot reach a new one.
#[derive(Debug, Default)]
pub struct EntityMap {
    pairs: HashMap<u64, i32, IdHash>,
    clients: HashMap<i32, Entry, IdHash>,
    player: Option<i32>,
    /// Each link's backend id for the player.
    player_links: Vec<(LinkId, i32)>,
    next_fresh: i32,
    /// Recently freed client ids, oldest first, not to be handed out yet.
    quarantine: VecDeque<i32>,
    quarantined: HashSet<i32, IdHash>,
}

#[derive(Debug)]
struct Entry {
    /// The pair serverbound packets about this entity are routed to.
    source: (LinkId, i32),
    /// Further pairs shown as this same client id.
    aliases: Vec<(LinkId, i32)>,
    /// The entity type (`minecraft:entity_type` registry id) from `add_entity`, if seen.
    kind: Option<i32>,
    /// Whether the client was shown this entity (`add_entity`), as opposed to only seeing its id
    /// referenced.
    shown: bool,
    role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Entity,
    /// An ender dragon whose eight part ids follow its own.
    Dragon,
    /// A dragon part; released with its dragon.
    Part,
}

impl Entry {
    fn new(source: (LinkId, i32), role: Role) -> Self {
        Self {
            source,
            aliases: Vec::new(),
            kind: None,
            shown: false,
            role,
        }
    }
}

fn key(link: LinkId, backend_id: i32) -> u64 {
    (u64::from(link.0) << 32) | u64::from(backend_id as u32)
}

impl EntityMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// The client id for `backend_id` on `link`, allocated if the pair is new.
    pub fn map(&mut self, link: LinkId, backend_id: i32) -> i32 {
        if let Some(&client) = self.pairs.get(&key(link, backend_id)) {
            return client;
        }
        let client = self.allocate(backend_id, 1);
        self.insert(link, backend_id, client, Role::Entity);
        client
    }

    /// The client id for `backend_id` on `link`, if the pair is mapped.
    pub fn get(&self, link: LinkId, backend_id: i32) -> Option<i32> {
        self.pairs.get(&key(link, backend_id)).copied()
    }

    /// The pair a client id was shown from: where a packet about it must go.
    pub fn to_backend(&self, client_id: i32) -> Option<(LinkId, i32)> {
        self.clients.get(&client_id).map(|e| e.source)
    }

    /// The entity type of a client id, as `add_entity` announced it.
    pub fn kind(&self, client_id: i32) -> Option<i32> {
        self.clients.get(&client_id).and_then(|e| e.kind)
    }

    /// Whether the client was shown `client_id` with an `add_entity`.
    pub fn is_shown(&self, client_id: i32) -> bool {
        self.clients.get(&client_id).is_some_and(|e| e.shown)
    }

    /// Records that `link` showed the client an entity of `kind` (`add_entity`): maps the pair,
    /// remembers the type and, for an ender dragon, reserves its parts' ids.
    pub fn show(&mut self, link: LinkId, backend_id: i32, kind: i32) -> i32 {
        let dragon = kind == kinds::ENDER_DRAGON;
        let client = match self.get(link, backend_id) {
            Some(client) if !dragon || self.parts_fit(link, backend_id, client) => client,
            Some(_) => {
                // Referenced before it was added, at an id without room for its parts: the dragon
                // moves, and the earlier references (already sent) point nowhere.
                self.release(link, backend_id);
                let client = self.allocate(backend_id, 1 + kinds::DRAGON_PARTS);
                self.insert(link, backend_id, client, Role::Entity);
                client
            }
            None => {
                let client =
                    self.allocate(backend_id, if dragon { 1 + kinds::DRAGON_PARTS } else { 1 });
                self.insert(link, backend_id, client, Role::Entity);
                client
            }
        };
        if dragon
            && self
                .clients
                .get(&client)
                .is_some_and(|e| e.role == Role::Entity)
        {
            self.attach_parts(link, backend_id, client);
        }
        if let Some(entry) = self.clients.get_mut(&client) {
            entry.kind = Some(kind);
            entry.shown = true;
        }
        client
    }

    /// Shows the pair `(link, backend_id)` as the existing client id `client_id`, which then stays
    /// in use until every pair bound to it is released.
    pub fn bind(&mut self, link: LinkId, backend_id: i32, client_id: i32) -> Result<(), MapError> {
        match self.get(link, backend_id) {
            Some(current) if current == client_id => return Ok(()),
            Some(current) if Some(current) == self.player => {
                return Err(MapError::ClientIdTaken(current));
            }
            Some(_) => {
                self.release(link, backend_id);
            }
            None => {}
        }
        let entry = self
            .clients
            .get_mut(&client_id)
            .ok_or(MapError::NotShown(client_id))?;
        entry.aliases.push((link, backend_id));
        self.pairs.insert(key(link, backend_id), client_id);
        Ok(())
    }

    /// Binds `link`'s backend id for the player to the player's client id, fixing that id on the
    /// first call (the id the client was given at login).
    pub fn set_player(
        &mut self,
        link: LinkId,
        backend_id: i32,
        client_id: i32,
    ) -> Result<(), MapError> {
        if client_id == 0 {
            return Err(MapError::Zero);
        }
        match self.player {
            Some(fixed) if fixed != client_id => {
                return Err(MapError::PlayerIdFixed {
                    fixed,
                    requested: client_id,
                });
            }
            Some(_) => {}
            None => {
                if self.clients.contains_key(&client_id) {
                    return Err(MapError::ClientIdTaken(client_id));
                }
                self.player = Some(client_id);
            }
        }
        if let Some(previous) = self.player_links.iter().position(|&(l, _)| l == link) {
            let (_, old) = self.player_links.swap_remove(previous);
            self.unbind_player(link, old);
        }
        if let Some(current) = self.get(link, backend_id)
            && current != client_id
        {
            self.release(link, backend_id);
        }
        self.player_links.push((link, backend_id));
        self.pairs.insert(key(link, backend_id), client_id);
        match self.clients.get_mut(&client_id) {
            Some(entry) => {
                if entry.source != (link, backend_id)
                    && !entry.aliases.contains(&(link, backend_id))
                {
                    entry.aliases.push((link, backend_id));
                }
            }
            None => {
                let mut entry = Entry::new((link, backend_id), Role::Entity);
                entry.kind = Some(kinds::PLAYER);
                entry.shown = true;
                self.clients.insert(client_id, entry);
            }
        }
        Ok(())
    }

    /// Binds `link`'s backend id for the player as its `login` announces it: the first login fixes
    /// the player's client id (the backend's id, unless that is 0 or taken), later ones map to it.
    pub fn login(&mut self, link: LinkId, backend_id: i32) -> Result<i32, MapError> {
        let client = match self.player {
            Some(player) => player,
            None => self.allocate(backend_id, 1),
        };
        self.set_player(link, backend_id, client)?;
        Ok(client)
    }

    /// The player's client id, once fixed.
    pub fn player(&self) -> Option<i32> {
        self.player
    }

    /// `link`'s backend id for the player.
    pub fn player_backend_id(&self, link: LinkId) -> Option<i32> {
        self.player_links
            .iter()
            .find(|&&(l, _)| l == link)
            .map(|&(_, id)| id)
    }

    /// Releases the pair (the backend removed the entity). Returns the client id if that freed it,
    /// i.e. no other pair is shown as it. The player's pairs are not released this way.
    pub fn release(&mut self, link: LinkId, backend_id: i32) -> Option<i32> {
        let k = key(link, backend_id);
        let client = *self.pairs.get(&k)?;
        if Some(client) == self.player {
            return None;
        }
        self.pairs.remove(&k);
        let entry = self.clients.get_mut(&client)?;
        if entry.source == (link, backend_id) {
            if entry.aliases.is_empty() {
                let entry = self.clients.remove(&client)?;
                if entry.role == Role::Dragon {
                    self.release_parts(link, backend_id, client);
                }
                self.quarantine(client);
                return Some(client);
            }
            entry.source = entry.aliases.swap_remove(0);
        } else {
            entry.aliases.retain(|&pair| pair != (link, backend_id));
        }
        None
    }

    /// Releases every pair of a closed link. Returns the client ids this freed that the client was
    /// shown, for a `remove_entities`; the player's id is never among them.
    pub fn release_link(&mut self, link: LinkId) -> Vec<i32> {
        let ids: Vec<i32> = self
            .pairs
            .keys()
            .filter(|&&k| (k >> 32) as u16 == link.0)
            .map(|&k| k as u32 as i32)
            .collect();
        let mut freed = Vec::new();
        for backend_id in ids {
            let Some(client) = self.get(link, backend_id) else {
                // A dragon part, already gone with its dragon.
                continue;
            };
            if Some(client) == self.player {
                self.unbind_player(link, backend_id);
                continue;
            }
            let shown = self.is_shown(client);
            if self.release(link, backend_id) == Some(client) && shown {
                freed.push(client);
            }
        }
        self.player_links.retain(|&(l, _)| l != link);
        freed.sort_unstable();
        freed
    }

    /// Forgets every entity but the player, for when the client drops its whole level (a
    /// `respawn` into another dimension) and the backends will add everything again.
    pub fn clear_entities(&mut self) {
        let player = self.player;
        self.pairs.retain(|_, client| Some(*client) == player);
        self.clients.retain(|client, _| Some(*client) == player);
    }

    /// How many client ids are in use.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    fn insert(&mut self, link: LinkId, backend_id: i32, client: i32, role: Role) {
        self.pairs.insert(key(link, backend_id), client);
        self.clients
            .insert(client, Entry::new((link, backend_id), role));
    }

    fn unbind_player(&mut self, link: LinkId, backend_id: i32) {
        self.pairs.remove(&key(link, backend_id));
        let Some(player) = self.player else { return };
        if let Some(entry) = self.clients.get_mut(&player) {
            if entry.source == (link, backend_id) {
                match entry.aliases.is_empty() {
                    // The id stays reserved through `self.player` even with no link left.
                    true => {
                        self.clients.remove(&player);
                    }
                    false => entry.source = entry.aliases.swap_remove(0),
                }
            } else {
                entry.aliases.retain(|&pair| pair != (link, backend_id));
            }
        }
    }

    fn is_free(&self, client: i32) -> bool {
        client != 0
            && Some(client) != self.player
            && !self.clients.contains_key(&client)
            && !self.quarantined.contains(&client)
    }

    fn quarantine(&mut self, client: i32) {
        if self.quarantined.insert(client) {
            self.quarantine.push_back(client);
        }
        while self.quarantine.len() > QUARANTINE {
            if let Some(old) = self.quarantine.pop_front() {
                self.quarantined.remove(&old);
            }
        }
    }

    /// Whether `count` ids from `first` on are all free.
    fn run_free(&self, first: i32, count: i32) -> bool {
        (0..count).all(|i| first.checked_add(i).is_some_and(|c| self.is_free(c)))
    }

    /// Whether the eight ids after `client` are free or already this dragon's parts.
    fn parts_fit(&self, link: LinkId, backend_id: i32, client: i32) -> bool {
        (1..=kinds::DRAGON_PARTS).all(|i| {
            client.checked_add(i).is_some_and(|part| {
                self.is_free(part)
                    || self.clients.get(&part).is_some_and(|e| {
                        e.role == Role::Part && e.source == (link, backend_id.wrapping_add(i))
                    })
            })
        })
    }

    /// A run of `count` free client ids: `preferred` (identity) if it is free, else fresh.
    fn allocate(&mut self, preferred: i32, count: i32) -> i32 {
        if self.run_free(preferred, count) {
            return preferred;
        }
        if self.next_fresh < FRESH_BASE {
            self.next_fresh = FRESH_BASE;
        }
        loop {
            let candidate = self.next_fresh;
            self.next_fresh = match candidate.checked_add(count) {
                Some(next) if next <= i32::MAX - 16 => next,
                _ => FRESH_BASE,
            };
            if self.run_free(candidate, count) {
                return candidate;
            }
        }
    }

    /// Maps the dragon's parts (`backend + i` on the backend, `client + i` on the client).
    fn attach_parts(&mut self, link: LinkId, backend_id: i32, client: i32) {
        if let Some(entry) = self.clients.get_mut(&client) {
            entry.role = Role::Dragon;
        }
        for i in 1..=kinds::DRAGON_PARTS {
            let backend_part = backend_id.wrapping_add(i);
            let Some(client_part) = client.checked_add(i) else {
                break;
            };
            if self.get(link, backend_part).is_some() {
                // Seen as a reference before the dragon came: it is the part, not an entity.
                self.release(link, backend_part);
            }
            if self.is_free(client_part) {
                self.insert(link, backend_part, client_part, Role::Part);
            }
        }
    }

    fn release_parts(&mut self, link: LinkId, backend_id: i32, client: i32) {
        for i in 1..=kinds::DRAGON_PARTS {
            let k = key(link, backend_id.wrapping_add(i));
            let Some(client_part) = client.checked_add(i) else {
                break;
            };
            if self.pairs.get(&k) == Some(&client_part) {
                self.pairs.remove(&k);
                self.clients.remove(&client_part);
                self.quarantine(client_part);
            }
        }
    }
}

/// A multiplicative hash for integer keys (the scheme of rustc's FxHash): the map is hit on every
/// entity packet, and SipHash's resistance to chosen keys buys nothing against our own backends.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

/// For maps keyed by ids the proxy or its backends chose (never the client).
pub(crate) type IdHash = BuildHasherDefault<IdHasher>;

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(SEED);
    }

    fn write_i32(&mut self, n: i32) {
        self.write_u64(u64::from(n as u32));
    }

    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
