//! What the proxy knows right now: its config, its backends and its players.
//!
//! Sessions own their connections; the shared state holds only what other tasks (the admin API,
//! the health checker) must read, plus a handle to command each session. Nothing here is held
//! across an `.await`.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering},
};

use dashmap::DashMap;
use serde::Serialize;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::{config::Config, metrics::Metrics, status::StatusInfo, zones::Zones};

/// Shared by every task of one proxy.
#[derive(Debug)]
pub struct ProxyState {
    pub config: Config,
    pub status: StatusInfo,
    pub servers: Vec<Arc<Server>>,
    /// Which backend owns which chunks, and how that changes.
    pub zones: Zones,
    pub players: DashMap<Uuid, Arc<Player>>,
    pub metrics: Metrics,
}

impl ProxyState {
    pub fn server(&self, id: &str) -> Option<&Arc<Server>> {
        self.servers.iter().find(|s| s.id == id)
    }
}

/// A backend as the proxy sees it.
#[derive(Debug)]
pub struct Server {
    pub id: String,
    /// `id` as the zone map names owners, made once: lookups on every move compare with it.
    pub key: zoning::ServerId,
    pub address: String,
    /// Whether the last probe or connection attempt succeeded.
    pub online: AtomicBool,
    /// Players whose primary link is on this backend.
    pub players: AtomicUsize,
    /// Links to this backend whose sync conversation is established: the ways to tell it
    /// its zones.
    pub sync_links: AtomicUsize,
    /// The newest zone epoch the backend confirmed (`ZonesApplied`) on any link.
    pub zones_applied: AtomicI64,
}

impl Server {
    pub fn new(id: String, address: String) -> Self {
        Self {
            key: zoning::ServerId::new(id.as_str()),
            id,
            address,
            online: AtomicBool::new(false),
            players: AtomicUsize::new(0),
            sync_links: AtomicUsize::new(0),
            zones_applied: AtomicI64::new(i64::MIN),
        }
    }
}

/// Commands a session accepts from other tasks.
#[derive(Debug)]
pub enum SessionCommand {
    /// Disconnect the player with this message.
    Kick(String),
}

/// A player in play, as other tasks see it.
#[derive(Debug)]
pub struct Player {
    pub name: String,
    pub uuid: Uuid,
    pub commands: mpsc::Sender<SessionCommand>,
    links: Mutex<Links>,
    position: [AtomicU64; 3],
}

#[derive(Debug, Clone, Default)]
struct Links {
    primary: String,
    dummies: Vec<String>,
}

/// The JSON of `GET /api/players`.
#[derive(Debug, Serialize)]
pub struct PlayerView {
    pub name: String,
    pub uuid: Uuid,
    pub primary: String,
    pub dummies: Vec<String>,
    pub x: f64,
    pub y: f64,
    pub z: f64,
}

impl Player {
    pub fn new(
        name: String,
        uuid: Uuid,
        primary: String,
        commands: mpsc::Sender<SessionCommand>,
    ) -> Self {
        Self {
            name,
            uuid,
            commands,
            links: Mutex::new(Links {
                primary,
                dummies: Vec::new(),
            }),
            position: Default::default(),
        }
    }

    /// Records the player's position (called on movement packets).
    pub fn set_position(&self, [x, y, z]: [f64; 3]) {
        self.position[0].store(x.to_bits(), Ordering::Relaxed);
        self.position[1].store(y.to_bits(), Ordering::Relaxed);
        self.position[2].store(z.to_bits(), Ordering::Relaxed);
    }

    pub fn position(&self) -> [f64; 3] {
        self.position
            .each_ref()
            .map(|p| f64::from_bits(p.load(Ordering::Relaxed)))
    }

    /// Records the player's links, for `/api/players`.
    pub fn set_links(&self, primary: String, dummies: Vec<String>) {
        *self.links.lock().unwrap_or_else(|e| e.into_inner()) = Links { primary, dummies };
    }

    pub fn primary(&self) -> String {
        self.links
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .primary
            .clone()
    }

    pub fn view(&self) -> PlayerView {
        let links = self.links.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let [x, y, z] = self.position();
        PlayerView {
            name: self.name.clone(),
            uuid: self.uuid,
            primary: links.primary,
            dummies: links.dummies,
            x,
            y,
            z,
        }
    }
}
