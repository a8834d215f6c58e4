//! The accept loop, the per-connection task and the backend's public face.

use std::{
    str::FromStr,
    sync::{
        Arc, LazyLock,
        atomic::{AtomicI32, Ordering},
    },
    time::Duration,
};

use azalea_chat::FormattedText;
use azalea_protocol::{
    common::tags::TagMap,
    packets::{
        ClientIntention,
        handshake::ServerboundHandshakePacket,
        status::{
            ServerboundStatusPacket,
            c_pong_response::ClientboundPongResponse,
            c_status_response::{ClientboundStatusResponse, Players, SamplePlayer, Version},
        },
    },
};
use azalea_registry::builtin::EntityKind;
use meridian_wire::{
    ConnError,
    conn::{ServerHandshake, ServerStatus},
    frame::MAX_FRAME_LEN,
};
use tokio::{net::TcpListener, task::JoinSet};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    config::{BackendConfig, ConfigError},
    configuration, login, play,
    player::{Event, GroundItem, Roster},
    registries::{Registries, RegistryError},
    sync::{
        Effects, Moved, Show, SyncShared,
        handler::{self, DamageOutcome},
        state,
    },
    world::FlatWorld,
};

/// Largest frame accepted before play: the forwarding answer with a signed skin is the biggest
/// legitimate one, at a few kilobytes.
const PRELUDE_MAX_FRAME: usize = 32 * 1024;
/// How long shutdown waits for connections to say goodbye before dropping them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Why the backend could not run.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("shipped registry data is unusable: {0}")]
    Registries(String),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Why one connection ended early. Only logged: it never reaches another connection.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    #[error(transparent)]
    Conn(#[from] ConnError),
    /// We sent a disconnect with this reason.
    #[error("disconnected: {0}")]
    Kicked(String),
    #[error("protocol violation: {0}")]
    Protocol(String),
    #[error("did not reach play within {0:?}")]
    LoginTimeout(Duration),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Everything derived from the shipped data, built once per process.
#[derive(Debug)]
pub(crate) struct GameData {
    pub registries: Registries,
    pub tags: TagMap,
    pub world: FlatWorld,
    pub overworld: u32,
}

static GAME_DATA: LazyLock<Result<GameData, String>> = LazyLock::new(|| {
    let load = || -> Result<GameData, RegistryError> {
        let registries = Registries::load()?;
        let plains = registries.id_of("minecraft:worldgen/biome", "minecraft:plains")?;
        let overworld = registries.id_of("minecraft:dimension_type", "minecraft:overworld")?;
        Ok(GameData {
            tags: registries.tags(),
            world: FlatWorld::new(plains),
            overworld,
            registries,
        })
    };
    load().map_err(|e| e.to_string())
});

pub(crate) fn game_data() -> Result<&'static GameData, BackendError> {
    GAME_DATA
        .as_ref()
        .map_err(|e| BackendError::Registries(e.clone()))
}

/// The backend's marker entity, as every client is shown it.
#[derive(Debug, Clone)]
pub(crate) struct MarkerEntity {
    pub id: i32,
    pub uuid: Uuid,
    pub kind: EntityKind,
    pub position: [f64; 3],
}

/// State shared by the handle and every connection.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: BackendConfig,
    pub roster: Roster,
    pub marker: Option<MarkerEntity>,
    pub sync: SyncShared,
    /// Actions on entities and blocks that reached this backend, for tests of routing.
    pub actions: std::sync::Mutex<Vec<ActionRecord>>,
    next_entity_id: AtomicI32,
}

impl Shared {
    pub fn allocate_entity_id(&self) -> i32 {
        self.next_entity_id.fetch_add(1, Ordering::Relaxed)
    }
}

/// An action a player aimed at an entity or a block, as this backend received it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionRecord {
    /// `attack` or `interact` on the entity with this backend's id.
    Entity { by: Uuid, entity_id: i32 },
    /// `player_action` (digging) or `use_item_on` at a block.
    Block { by: Uuid, position: [i32; 3] },
}

/// A small Minecraft 26.1 server behind a Meridian proxy: a flat world, chat, a few commands,
/// other players, one marker entity.
#[derive(Debug)]
pub struct ReferenceBackend {
    shared: Arc<Shared>,
}

/// A player online on a backend.
#[derive(Debug, Clone, PartialEq)]
pub struct OnlinePlayer {
    pub uuid: Uuid,
    pub name: String,
    pub entity_id: i32,
    pub position: [f64; 3],
}

/// A cheap, cloneable view of a running backend.
#[derive(Debug, Clone)]
pub struct BackendHandle {
    shared: Arc<Shared>,
}

impl BackendHandle {
    /// The backend's id (what `/whereami` answers).
    pub fn id(&self) -> &str {
        &self.shared.config.id
    }

    pub fn config(&self) -> &BackendConfig {
        &self.shared.config
    }

    /// The players in play right now.
    pub fn players(&self) -> Vec<OnlinePlayer> {
        let mut players: Vec<OnlinePlayer> = self
            .shared
            .roster
            .snapshot()
            .into_iter()
            .map(|p| OnlinePlayer {
                uuid: p.uuid,
                name: p.name,
                entity_id: p.entity_id,
                position: p.position,
            })
            .collect();
        players.sort_by(|a, b| a.name.cmp(&b.name));
        players
    }

    pub fn player_names(&self) -> Vec<String> {
        self.players().into_iter().map(|p| p.name).collect()
    }

    pub fn player_uuids(&self) -> Vec<Uuid> {
        self.players().into_iter().map(|p| p.uuid).collect()
    }

    pub fn is_online(&self, name: &str) -> bool {
        self.shared.roster.snapshot().iter().any(|p| p.name == name)
    }

    /// Disconnects a player with `reason`; false if it is not online.
    pub fn kick(&self, uuid: Uuid, reason: impl Into<String>) -> bool {
        self.shared.roster.kick(uuid, reason.into())
    }

    /// Sends `payload` to the proxy on `meridian:sync` as it is, however malformed: what a broken
    /// or hostile backend would do. False if the player is not online.
    pub fn send_raw_sync(&self, uuid: Uuid, payload: Vec<u8>) -> bool {
        self.shared.roster.send_raw_sync(uuid, payload)
    }

    /// The look mirrored onto a dummy from its primary (`None`: not online, or not mirrored).
    pub fn appearance(&self, uuid: Uuid) -> Option<sync_plugin_protocol::MirrorState> {
        self.shared
            .roster
            .snapshot()
            .into_iter()
            .find(|p| p.uuid == uuid)
            .and_then(|p| p.appearance)
    }

    /// Every action on an entity or a block this backend received, oldest first.
    pub fn actions(&self) -> Vec<ActionRecord> {
        self.shared
            .actions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The entity id of the marker, if one is configured.
    pub fn marker_entity_id(&self) -> Option<i32> {
        self.shared.marker.as_ref().map(|m| m.id)
    }
}

/// Hooks for tests: this small server has no mobs, potions or item drops of its own, so tests
/// play those parts of the world, and read the state the sync channel hands off.
impl BackendHandle {
    /// Hits a player as a mob on this backend would: applied if it is primary here (health
    /// drops, the client gets `set_health`), relayed to the proxy as `RelayDamage` if it is a
    /// ghost (its health does not change). `None` if it is not online.
    pub fn damage(&self, uuid: Uuid, amount: f32, damage_type: &str) -> Option<DamageOutcome> {
        handler::world_damage(&self.shared, uuid, amount, damage_type)
    }

    /// Pushes a player as an explosion would: the velocity goes to a primary's client, or to the
    /// proxy as `RelayKnockback` for a ghost. False if it is not online.
    pub fn knockback(&self, uuid: Uuid, velocity: [f64; 3]) -> bool {
        handler::world_knockback(&self.shared, uuid, velocity)
    }

    /// Gives a player an effect as a potion would: to a primary, or relayed as `RelayEffect` for
    /// a ghost. False if it is not online.
    pub fn give_effect(&self, uuid: Uuid, effect: sync_plugin_protocol::Effect) -> bool {
        handler::world_effect(&self.shared, uuid, effect)
    }

    /// Drops `count` of `item` (`diamond` or `minecraft:diamond`) at `position`. A primary
    /// within 1.5 blocks picks it up at once, as far as its inventory has room; otherwise it
    /// lies there until a primary comes within reach. A ghost never picks it up. Returns the
    /// item entity's id; `None` for an unknown item or a count outside 1..=6400.
    pub fn drop_item(&self, position: [f64; 3], item: &str, count: i32) -> Option<i32> {
        let kind = azalea_registry::builtin::ItemKind::from_str(item).ok()?;
        if kind == azalea_registry::builtin::ItemKind::Air
            || !(1..=crate::commands::MAX_GIVE as i32).contains(&count)
        {
            return None;
        }
        let entity_id = self.shared.allocate_entity_id();
        self.shared.roster.book().drop_item(GroundItem {
            entity_id,
            uuid: Uuid::new_v4(),
            position,
            item: kind.to_string(),
            count,
        });
        Some(entity_id)
    }

    /// The items lying on the ground.
    pub fn ground_items(&self) -> Vec<GroundItem> {
        self.shared.roster.book().items().cloned().collect()
    }

    /// A player's inventory as `(slot, item, count)` by slot (slots as in the sync protocol:
    /// 0–8 hotbar, 9–35 main, 36–39 armour, 40 offhand); empty if not online.
    pub fn inventory(&self, uuid: Uuid) -> Vec<(i32, String, i32)> {
        self.shared
            .roster
            .book()
            .game(uuid)
            .map(|g| state::list(&g.state))
            .unwrap_or_default()
    }

    pub fn health(&self, uuid: Uuid) -> Option<f32> {
        self.shared.roster.book().game(uuid).map(|g| g.state.health)
    }

    /// The role the proxy gave the player here (`Dummy` until the first `SetRole`).
    pub fn role(&self, uuid: Uuid) -> Option<sync_plugin_protocol::Role> {
        self.shared
            .roster
            .book()
            .game(uuid)
            .map(|g| g.standing.role())
    }

    /// Whether the player is frozen for a handoff (between `StateSnapshot` and `SetRole`).
    pub fn is_frozen(&self, uuid: Uuid) -> bool {
        self.shared
            .roster
            .book()
            .game(uuid)
            .is_some_and(|g| g.standing.frozen().is_some())
    }

    /// The player's whole state, as a `StateSnapshot` would carry it.
    pub fn state(&self, uuid: Uuid) -> Option<sync_plugin_protocol::PlayerState> {
        self.shared
            .roster
            .book()
            .game(uuid)
            .map(|g| g.state.clone())
    }

    /// Replaces the player's state (to preset food, experience, effects, game mode…) and shows
    /// it to its client, teleporting it if the location changed. Refused if the player is not
    /// online or the state is not one a handoff could carry.
    pub fn set_state(
        &self,
        uuid: Uuid,
        new: sync_plugin_protocol::PlayerState,
    ) -> Result<(), String> {
        state::check(&new)?;
        let mut book = self.shared.roster.book();
        let game = book.game_mut(uuid).ok_or("player not online")?;
        let moved = game.state.location != new.location;
        let location = new.location.clone();
        game.state = new;
        if moved {
            book.relocate_to(uuid, &location);
        }
        let effects = Effects {
            show: Show::ALL,
            moved: if moved {
                Moved::Teleported { report: false }
            } else {
                Moved::No
            },
            ..Effects::default()
        };
        book.send(uuid, Event::Effects(effects));
        Ok(())
    }

    /// While `true`, the backend counts the `meridian:sync` messages it receives and then
    /// ignores them: a backend that never answers. Heartbeats keep going.
    pub fn stop_sync(&self, stopped: bool) {
        self.shared.sync.stop(stopped);
    }

    /// How many messages of a type arrived on `meridian:sync`, on every link (the pieces of a
    /// fragmented message count as `Fragment`s, and the reassembled message under its type).
    pub fn sync_received(&self, kind: sync_plugin_protocol::MessageType) -> usize {
        self.shared.sync.received(kind.id())
    }

    /// How many payloads arrived on `meridian:sync`, on every link, readable or not: the proxy
    /// sends nothing periodic, so this only grows when someone speaks.
    pub fn sync_received_total(&self) -> usize {
        self.shared.sync.payloads()
    }

    /// How many `meridian:sync` payloads were dropped as unreadable (garbage, truncated,
    /// oversized, broken fragments).
    pub fn sync_dropped(&self) -> usize {
        self.shared.sync.dropped()
    }

    /// The zone epoch and zones of the last `ZoneAssignment` applied.
    pub fn zones(&self) -> (Option<i64>, Vec<sync_plugin_protocol::Zone>) {
        let zones = self.shared.sync.zones();
        (zones.fence.newest(), zones.ownership.owned.clone())
    }

    /// The zones this backend released: owned under an earlier applied assignment and lacking
    /// from the last one (the spec's "stop simulating"). World entities there are shown to
    /// nobody, unless a zone owned now covers them too. Oldest release first.
    pub fn released_zones(&self) -> Vec<sync_plugin_protocol::Zone> {
        self.shared.sync.ownership().released.clone()
    }

    /// Whether the marker lies in a released zone, so no client is shown it (false without a
    /// marker). Sessions follow a change just after the `ZonesApplied` that announced it.
    pub fn is_marker_hidden(&self) -> bool {
        let ownership = self.shared.sync.ownership();
        self.shared.marker.as_ref().is_some_and(|m| {
            ownership.hides(
                play::OVERWORLD,
                crate::world::chunk_coord(m.position[0]),
                crate::world::chunk_coord(m.position[2]),
            )
        })
    }
}

impl ReferenceBackend {
    pub fn new(config: BackendConfig) -> Self {
        // Entity ids start at 1: some clients treat 0 as "none".
        let next_entity_id = AtomicI32::new(1);
        let marker = config.marker.as_ref().and_then(|m| {
            Some(MarkerEntity {
                id: next_entity_id.fetch_add(1, Ordering::Relaxed),
                uuid: Uuid::new_v3(
                    &Uuid::NAMESPACE_OID,
                    format!("meridian-marker:{}", config.id).as_bytes(),
                ),
                kind: m.kind()?,
                position: m.position,
            })
        });
        Self {
            shared: Arc::new(Shared {
                config,
                roster: Roster::default(),
                marker,
                sync: SyncShared::default(),
                actions: Default::default(),
                next_entity_id,
            }),
        }
    }

    pub fn handle(&self) -> BackendHandle {
        BackendHandle {
            shared: self.shared.clone(),
        }
    }

    /// Serves connections from `listener` until `shutdown` is cancelled, then disconnects every
    /// player and returns.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<(), BackendError> {
        self.shared.config.validate()?;
        let data = game_data()?;
        let local = listener.local_addr()?;
        tracing::info!(backend = %self.shared.config.id, %local, "reference backend listening");
        let mut tasks = JoinSet::new();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let shared = self.shared.clone();
                        let token = shutdown.child_token();
                        tasks.spawn(async move {
                            let id = shared.config.id.clone();
                            match connection(shared, data, stream, token).await {
                                Ok(()) => tracing::debug!(backend = %id, %peer, "connection closed"),
                                Err(e) => tracing::info!(backend = %id, %peer, "connection ended: {e}"),
                            }
                        });
                    }
                    Err(e) => {
                        // Usually out of file descriptors: wait rather than spin.
                        tracing::warn!(backend = %self.shared.config.id, "accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(done) = tasks.join_next(), if !tasks.is_empty() => log_panic(done),
            }
        }
        drop(listener);
        // Every connection watches a child of `shutdown` and is now sending its disconnect.
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while let Some(done) = tasks.join_next().await {
                log_panic(done);
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(backend = %self.shared.config.id, "connections did not close in time; dropping them");
            tasks.shutdown().await;
        }
        tracing::info!(backend = %self.shared.config.id, "reference backend stopped");
        Ok(())
    }
}

fn log_panic(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done
        && e.is_panic()
    {
        tracing::error!("connection task panicked: {e}");
    }
}

/// One connection from its first byte to its end.
async fn connection(
    shared: Arc<Shared>,
    data: &'static GameData,
    stream: tokio::net::TcpStream,
    shutdown: CancellationToken,
) -> Result<(), SessionError> {
    let mut conn = ServerHandshake::wrap(stream)?;
    conn.set_max_frame_len(PRELUDE_MAX_FRAME);
    let peer = conn.peer_addr();
    let timeout = shared.config.login_timeout;
    let prelude = async {
        let ServerboundHandshakePacket::Intention(intention) = conn.read().await?;
        match intention.intention {
            ClientIntention::Status => {
                status(conn.status(), &shared).await?;
                Ok::<_, SessionError>(None)
            }
            ClientIntention::Login | ClientIntention::Transfer => {
                let logged_in =
                    login::login(conn.login(), &shared.config, intention.protocol_version).await?;
                let game = configuration::configure(logged_in.conn, data).await?;
                Ok(Some((game, logged_in.player)))
            }
        }
    };
    let entered = tokio::select! {
        _ = shutdown.cancelled() => return Ok(()),
        entered = tokio::time::timeout(timeout, prelude) => entered,
    };
    let Some((mut game, player)) = entered.map_err(|_| SessionError::LoginTimeout(timeout))??
    else {
        return Ok(());
    };
    game.set_max_frame_len(MAX_FRAME_LEN);
    tracing::info!(backend = %shared.config.id, %peer, name = %player.name, uuid = %player.uuid, "player joined");
    let name = player.name.clone();
    let result = play::play(game, shared.clone(), data, player, shutdown).await;
    tracing::info!(backend = %shared.config.id, %peer, %name, "player left");
    result
}

/// Answers a server-list ping.
async fn status(mut conn: ServerStatus, shared: &Shared) -> Result<(), SessionError> {
    loop {
        match conn.read().await {
            Ok(ServerboundStatusPacket::StatusRequest(_)) => {
                let players = shared.roster.snapshot();
                let sample = players
                    .iter()
                    .take(12)
                    .map(|p| SamplePlayer {
                        id: p.uuid.to_string(),
                        name: p.name.clone(),
                    })
                    .collect();
                conn.write(ClientboundStatusResponse {
                    description: FormattedText::from(format!(
                        "Meridian reference backend {}",
                        shared.config.id
                    )),
                    favicon: None,
                    players: Players {
                        max: 100,
                        online: players.len() as i32,
                        sample,
                    },
                    version: Version {
                        name: meridian_wire::VERSION_NAME.to_owned(),
                        protocol: meridian_wire::PROTOCOL_VERSION,
                    },
                    enforces_secure_chat: Some(false),
                })
                .await?;
            }
            Ok(ServerboundStatusPacket::PingRequest(ping)) => {
                conn.write(ClientboundPongResponse { time: ping.time })
                    .await?;
                return Ok(());
            }
            Err(e) if e.is_closed() => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
}
