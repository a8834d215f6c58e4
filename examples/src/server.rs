//! The accept loop, the per-connection task and the backend's public face.

use std::{
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
    player::Roster,
    registries::{Registries, RegistryError},
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
    next_entity_id: AtomicI32,
}

impl Shared {
    pub fn allocate_entity_id(&self) -> i32 {
        self.next_entity_id.fetch_add(1, Ordering::Relaxed)
    }
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

    /// The entity id of the marker, if one is configured.
    pub fn marker_entity_id(&self) -> Option<i32> {
        self.shared.marker.as_ref().map(|m| m.id)
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
