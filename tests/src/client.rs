//! A small scripted Minecraft 26.1 client for integration tests and benchmarks.
//!
//! [`TestClient::join`] logs in (answering `velocity:player_info` only when built with
//! [`ClientBuilder::forwarding`], which lets a test stand in for the proxy), goes through
//! configuration and returns once spawned. From then on a background task reads every packet:
//! it answers keep-alives, pings and teleports like a vanilla client, records every packet id,
//! tracks loaded chunks, entities and the tab list, and queues the packets for the test to
//! [`recv`](TestClient::recv). Every wait takes a timeout, so no test can hang.

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use azalea_buf::UnsizedByteArray;
use azalea_core::position::Vec3;
use azalea_entity::LookDirection;
use azalea_protocol::{
    common::{client_information::ClientInformation, movements::MoveFlags},
    packets::{
        ClientIntention, Packet,
        config::{
            ClientboundConfigPacket, ServerboundConfigPacket,
            s_client_information::ServerboundClientInformation,
            s_cookie_response::ServerboundCookieResponse as ConfigCookieResponse,
            s_custom_payload::ServerboundCustomPayload as ConfigCustomPayload,
            s_finish_configuration::ServerboundFinishConfiguration,
            s_keep_alive::ServerboundKeepAlive as ConfigKeepAlive,
            s_pong::ServerboundPong as ConfigPong,
            s_select_known_packs::{KnownPack, ServerboundSelectKnownPacks},
        },
        game::{
            ClientboundGamePacket, ServerboundGamePacket,
            c_level_chunk_with_light::ClientboundLevelChunkWithLight,
            s_accept_teleportation::ServerboundAcceptTeleportation,
            s_chat::{LastSeenMessagesUpdate, ServerboundChat},
            s_chat_command::ServerboundChatCommand,
            s_chunk_batch_received::ServerboundChunkBatchReceived,
            s_configuration_acknowledged::ServerboundConfigurationAcknowledged,
            s_keep_alive::ServerboundKeepAlive,
            s_move_player_pos::ServerboundMovePlayerPos,
            s_move_player_pos_rot::ServerboundMovePlayerPosRot,
            s_player_loaded::ServerboundPlayerLoaded,
            s_pong::ServerboundPong,
        },
        handshake::s_intention::ServerboundIntention,
        login::{
            ClientboundLoginPacket, s_cookie_response::ServerboundCookieResponse,
            s_custom_query_answer::ServerboundCustomQueryAnswer, s_hello::ServerboundHello,
            s_login_acknowledged::ServerboundLoginAcknowledged,
        },
        status::{
            ClientboundStatusPacket, c_status_response::ClientboundStatusResponse,
            s_status_request::ServerboundStatusRequest,
        },
    },
};
use azalea_registry::identifier::Identifier;
use futures_util::SinkExt;
use meridian_wire::{
    ConnError, PROTOCOL_VERSION, VERSION_NAME,
    conn::{
        ClientConfig, ClientHandshake, FrameReader, FrameWriter, decode_packet, encode_packet,
        next_frame,
    },
    forwarding::{self, ForwardedPlayer},
    frame::FrameError,
};
use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
    time::Instant,
};
use uuid::Uuid;

/// The server-list ping answer.
pub type StatusResponse = ClientboundStatusResponse;

/// Default bound on [`ClientBuilder::join`].
pub const DEFAULT_JOIN_TIMEOUT: Duration = Duration::from_secs(20);

/// Why the client failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Conn(#[from] ConnError),
    /// The server sent a disconnect (login, configuration or play) with this reason.
    #[error("disconnected by the server: {0}")]
    Disconnected(String),
    #[error("connection closed without a reason")]
    Closed,
    #[error("timed out after {timeout:?} waiting for {what}")]
    Timeout { what: String, timeout: Duration },
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("undecodable packet {id:#x} ({name}): {message}")]
    Decode {
        id: i32,
        name: &'static str,
        message: String,
    },
}

impl From<FrameError> for ClientError {
    fn from(e: FrameError) -> Self {
        ClientError::Conn(e.into())
    }
}

impl ClientError {
    /// The disconnect reason, if the server gave one.
    pub fn disconnect_reason(&self) -> Option<&str> {
        match self {
            ClientError::Disconnected(reason) => Some(reason),
            _ => None,
        }
    }
}

/// The offline-mode UUID vanilla derives from a name: Java's
/// `UUID.nameUUIDFromBytes("OfflinePlayer:<name>")`, an MD5 (v3) UUID without namespace.
pub fn offline_uuid(name: &str) -> Uuid {
    use md5::{Digest, Md5};
    let mut hash: [u8; 16] = Md5::digest(format!("OfflinePlayer:{name}").as_bytes()).into();
    hash[6] = (hash[6] & 0x0f) | 0x30;
    hash[8] = (hash[8] & 0x3f) | 0x80;
    Uuid::from_bytes(hash)
}

/// An entity the client was shown.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenEntity {
    pub id: i32,
    pub uuid: Uuid,
    /// e.g. `minecraft:pig`.
    pub kind: String,
    pub position: [f64; 3],
}

/// What the background task keeps up to date.
#[derive(Debug, Default)]
struct State {
    received: Vec<i32>,
    config_received: Vec<i32>,
    entity_id: i32,
    position: [f64; 3],
    look: (f32, f32),
    health: Option<f32>,
    chunks: HashMap<(i32, i32), Arc<Box<[u8]>>>,
    chunk_center: Option<(i32, i32)>,
    entities: HashMap<i32, SeenEntity>,
    tab: HashMap<Uuid, String>,
    disconnect: Option<String>,
    reconfigurations: usize,
    /// `add_entity`s for an id the client was already showing: a duplicate the client would
    /// silently overwrite.
    duplicate_adds: usize,
    /// The player's inventory menu (container 0) as the client was shown it: slot → (item, count).
    inventory: HashMap<u16, (String, i32)>,
}

type Shared = Arc<Mutex<State>>;

fn lock(state: &Shared) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// How to join.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    name: String,
    uuid: Option<Uuid>,
    forwarding: Option<Vec<u8>>,
    timeout: Duration,
    view_distance: u8,
    answer_keep_alives: bool,
}

impl ClientBuilder {
    /// Whether play keep-alives are answered (default yes); off, the server should time us out.
    pub fn answer_keep_alives(mut self, answer: bool) -> Self {
        self.answer_keep_alives = answer;
        self
    }

    /// Answer `velocity:player_info` as a proxy would, signed with `secret`.
    pub fn forwarding(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.forwarding = Some(secret.as_ref().to_vec());
        self
    }

    /// The UUID to log in (and forward) with; default: the offline UUID of the name.
    pub fn uuid(mut self, uuid: Uuid) -> Self {
        self.uuid = Some(uuid);
        self
    }

    /// Bound on the whole join, from connect to spawned.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The view distance sent in `client_information`.
    pub fn view_distance(mut self, view_distance: u8) -> Self {
        self.view_distance = view_distance;
        self
    }

    pub async fn join(self, addr: SocketAddr) -> Result<TestClient, ClientError> {
        let timeout = self.timeout;
        tokio::time::timeout(timeout, self.join_inner(addr))
            .await
            .map_err(|_| ClientError::Timeout {
                what: format!("joining {addr}"),
                timeout,
            })?
    }

    async fn join_inner(self, addr: SocketAddr) -> Result<TestClient, ClientError> {
        let uuid = self.uuid.unwrap_or_else(|| offline_uuid(&self.name));
        let mut conn = ClientHandshake::connect(addr).await?;
        conn.write(ServerboundIntention {
            protocol_version: PROTOCOL_VERSION,
            hostname: addr.ip().to_string(),
            port: addr.port(),
            intention: ClientIntention::Login,
        })
        .await?;
        let mut conn = conn.login();
        conn.write(ServerboundHello {
            name: self.name.clone(),
            profile_id: uuid,
        })
        .await?;
        let forwarded = loop {
            match conn.read().await? {
                ClientboundLoginPacket::CustomQuery(query) => {
                    let data = match &self.forwarding {
                        Some(secret) if query.identifier.to_string() == forwarding::CHANNEL => {
                            let version = forwarding::negotiate(query.data.first().copied());
                            let player = ForwardedPlayer {
                                address: "127.0.0.1".into(),
                                uuid,
                                name: self.name.clone(),
                                properties: Vec::new(),
                            };
                            Some(UnsizedByteArray::from(forwarding::encode(
                                secret, version, &player,
                            )))
                        }
                        _ => None,
                    };
                    conn.write(ServerboundCustomQueryAnswer {
                        transaction_id: query.transaction_id,
                        data,
                    })
                    .await?;
                }
                ClientboundLoginPacket::LoginCompression(p) => {
                    conn.set_compression(u32::try_from(p.compression_threshold).ok());
                }
                ClientboundLoginPacket::LoginFinished(p) => break p.game_profile,
                ClientboundLoginPacket::LoginDisconnect(p) => {
                    return Err(ClientError::Disconnected(p.reason.to_string()));
                }
                ClientboundLoginPacket::CookieRequest(p) => {
                    conn.write(ServerboundCookieResponse {
                        key: p.key,
                        payload: None,
                    })
                    .await?;
                }
                ClientboundLoginPacket::Hello(_) => {
                    return Err(ClientError::Protocol(
                        "the server asked for encryption (online mode)".into(),
                    ));
                }
            }
        };
        conn.write(ServerboundLoginAcknowledged).await?;
        let mut conn = conn.config();

        let state: Shared = Arc::new(Mutex::new(State::default()));
        conn.feed(ServerboundClientInformation {
            information: ClientInformation {
                view_distance: self.view_distance,
                ..Default::default()
            },
        })
        .await?;
        conn.write(ConfigCustomPayload {
            identifier: Identifier::new("minecraft:brand"),
            data: brand(),
        })
        .await?;
        configure(&mut conn, &state).await?;

        let (reader, writer) = conn.game().into_split();
        let writer = Arc::new(tokio::sync::Mutex::new(writer));
        let (packets_tx, packets) = mpsc::unbounded_channel();
        let (spawned_tx, mut spawned) = watch::channel(false);
        let options = ReadOptions {
            answer_keep_alives: self.answer_keep_alives,
        };
        let reader_task = tokio::spawn(read_loop(
            reader,
            writer.clone(),
            state.clone(),
            packets_tx,
            spawned_tx,
            options,
        ));
        let client = TestClient {
            name: forwarded.name.clone(),
            uuid: forwarded.uuid,
            writer,
            state,
            packets,
            reader_task,
            addr,
        };
        // Ends with false when the reader stops (a disconnect) before spawning.
        if spawned.wait_for(|s| *s).await.is_err() {
            return Err(client.closed_error());
        }
        client.send(ServerboundPlayerLoaded).await?;
        Ok(client)
    }
}

fn brand() -> UnsizedByteArray {
    let mut data = vec![7];
    data.extend_from_slice(b"vanilla");
    UnsizedByteArray::from(data)
}

/// The configuration phase, also used when the server sends `start_configuration` in play.
async fn configure(conn: &mut ClientConfig, state: &Shared) -> Result<(), ClientError> {
    loop {
        let frame = conn.read_raw().await?;
        let id = frame.id();
        lock(state).config_received.push(id);
        let packet = frame.into_packet()?;
        let packet =
            decode_packet::<ClientboundConfigPacket>(&packet).map_err(|e| ClientError::Decode {
                id,
                name: "configuration packet",
                message: e.to_string(),
            })?;
        match packet {
            ClientboundConfigPacket::SelectKnownPacks(_) => {
                conn.write(ServerboundSelectKnownPacks {
                    known_packs: vec![KnownPack {
                        namespace: "minecraft".into(),
                        id: "core".into(),
                        version: VERSION_NAME.into(),
                    }],
                })
                .await?;
            }
            ClientboundConfigPacket::KeepAlive(p) => {
                conn.write(ConfigKeepAlive { id: p.id }).await?
            }
            ClientboundConfigPacket::Ping(p) => conn.write(ConfigPong { id: p.id }).await?,
            ClientboundConfigPacket::CookieRequest(p) => {
                conn.write(ConfigCookieResponse {
                    key: p.key,
                    payload: None,
                })
                .await?
            }
            ClientboundConfigPacket::FinishConfiguration(_) => {
                conn.write(ServerboundFinishConfiguration).await?;
                return Ok(());
            }
            ClientboundConfigPacket::Disconnect(p) => {
                return Err(ClientError::Disconnected(p.reason.to_string()));
            }
            _ => {}
        }
    }
}

/// A scripted client in play.
#[derive(Debug)]
pub struct TestClient {
    name: String,
    uuid: Uuid,
    writer: Arc<tokio::sync::Mutex<FrameWriter>>,
    state: Shared,
    packets: mpsc::UnboundedReceiver<Result<ClientboundGamePacket, ClientError>>,
    reader_task: JoinHandle<()>,
    addr: SocketAddr,
}

impl Drop for TestClient {
    fn drop(&mut self) {
        self.reader_task.abort();
    }
}

impl TestClient {
    /// Joins `addr` as `name` without forwarding, like a vanilla client.
    pub async fn join(addr: SocketAddr, name: &str) -> Result<TestClient, ClientError> {
        Self::builder(name).join(addr).await
    }

    pub fn builder(name: &str) -> ClientBuilder {
        ClientBuilder {
            name: name.to_owned(),
            uuid: None,
            forwarding: None,
            timeout: DEFAULT_JOIN_TIMEOUT,
            view_distance: 8,
            answer_keep_alives: true,
        }
    }

    /// Server-list ping.
    pub async fn ping(addr: SocketAddr) -> Result<StatusResponse, ClientError> {
        let timeout = Duration::from_secs(10);
        let ping = async {
            let mut conn = ClientHandshake::connect(addr).await?;
            conn.write(ServerboundIntention {
                protocol_version: PROTOCOL_VERSION,
                hostname: addr.ip().to_string(),
                port: addr.port(),
                intention: ClientIntention::Status,
            })
            .await?;
            let mut conn = conn.status();
            conn.write(ServerboundStatusRequest).await?;
            match conn.read().await? {
                ClientboundStatusPacket::StatusResponse(status) => Ok(status),
                other => Err(ClientError::Protocol(format!(
                    "expected a status response, got {other:?}"
                ))),
            }
        };
        tokio::time::timeout(timeout, ping)
            .await
            .map_err(|_| ClientError::Timeout {
                what: format!("status of {addr}"),
                timeout,
            })?
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The UUID the server gave us in `login_finished`.
    pub fn uuid(&self) -> Uuid {
        self.uuid
    }

    /// The address joined.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Our entity id (from the `login` packet).
    pub fn entity_id(&self) -> i32 {
        lock(&self.state).entity_id
    }

    /// Where we are: the last teleport or [`move_to`](Self::move_to).
    pub fn position(&self) -> [f64; 3] {
        lock(&self.state).position
    }

    pub fn health(&self) -> Option<f32> {
        lock(&self.state).health
    }

    /// Every play packet id received so far, in order.
    pub fn received_ids(&self) -> Vec<i32> {
        lock(&self.state).received.clone()
    }

    /// How many play packets with `id` arrived (see `meridian_wire::ids::game::clientbound`).
    pub fn count_received(&self, id: i32) -> usize {
        lock(&self.state)
            .received
            .iter()
            .filter(|&&i| i == id)
            .count()
    }

    /// Configuration packet ids received, including any re-configuration.
    pub fn config_received_ids(&self) -> Vec<i32> {
        lock(&self.state).config_received.clone()
    }

    /// How often the server sent us back to configuration after the first join.
    pub fn reconfigurations(&self) -> usize {
        lock(&self.state).reconfigurations
    }

    pub fn loaded_chunks(&self) -> HashSet<(i32, i32)> {
        lock(&self.state).chunks.keys().copied().collect()
    }

    /// The last `set_chunk_cache_center`.
    pub fn chunk_center(&self) -> Option<(i32, i32)> {
        lock(&self.state).chunk_center
    }

    /// How many of `item` (e.g. `minecraft:diamond`) the client's inventory shows, all slots.
    pub fn shown_count(&self, item: &str) -> i32 {
        lock(&self.state)
            .inventory
            .values()
            .filter(|(kind, _)| kind == item)
            .map(|(_, count)| count)
            .sum()
    }

    /// How many `add_entity`s named an id that was already shown.
    pub fn duplicate_adds(&self) -> usize {
        lock(&self.state).duplicate_adds
    }

    /// The entities shown and not removed, by entity id.
    pub fn entities(&self) -> HashMap<i32, SeenEntity> {
        lock(&self.state).entities.clone()
    }

    /// Names in the tab list.
    pub fn tab_list(&self) -> Vec<String> {
        let mut names: Vec<String> = lock(&self.state).tab.values().cloned().collect();
        names.sort();
        names
    }

    /// The block state id at a block position, if its chunk is loaded (26.1 chunk format,
    /// world from y = -64).
    pub fn block_at(&self, x: i32, y: i32, z: i32) -> Option<u32> {
        let data = lock(&self.state).chunks.get(&(x >> 4, z >> 4)).cloned()?;
        chunk::block_at(&data, x & 15, y, z & 15).ok()
    }

    /// The reason of the disconnect, if one arrived.
    pub fn disconnect_reason(&self) -> Option<String> {
        lock(&self.state).disconnect.clone()
    }

    /// Sends any play packet.
    pub async fn send(
        &self,
        packet: impl Packet<ServerboundGamePacket>,
    ) -> Result<(), ClientError> {
        send(&self.writer, packet.into_variant()).await
    }

    /// Sends packet bytes (id then fields) as they are, e.g. a deliberately malformed packet.
    pub async fn send_raw(&self, packet: &[u8]) -> Result<(), ClientError> {
        self.writer.lock().await.send(packet).await?;
        Ok(())
    }

    /// Sends an unsigned chat message.
    pub async fn send_chat(&self, message: &str) -> Result<(), ClientError> {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        self.send(ServerboundChat {
            message: message.to_owned(),
            timestamp,
            salt: 0,
            signature: None,
            last_seen_messages: LastSeenMessagesUpdate::default(),
        })
        .await
    }

    /// Sends a command, without its slash.
    pub async fn send_command(&self, command: &str) -> Result<(), ClientError> {
        self.send(ServerboundChatCommand {
            command: command.to_owned(),
        })
        .await
    }

    /// Moves to a position (one `move_player_pos`, on the ground).
    pub async fn move_to(&self, x: f64, y: f64, z: f64) -> Result<(), ClientError> {
        lock(&self.state).position = [x, y, z];
        self.send(ServerboundMovePlayerPos {
            pos: Vec3 { x, y, z },
            flags: MoveFlags {
                on_ground: true,
                horizontal_collision: false,
            },
        })
        .await
    }

    /// The next play packet, or why there is none.
    pub async fn recv(&mut self, timeout: Duration) -> Result<ClientboundGamePacket, ClientError> {
        match tokio::time::timeout(timeout, self.packets.recv()).await {
            Ok(Some(result)) => result,
            Ok(None) => Err(self.closed_error()),
            Err(_) => Err(ClientError::Timeout {
                what: "a packet".into(),
                timeout,
            }),
        }
    }

    /// Skips packets until `f` returns `Some`, within `timeout` overall.
    pub async fn expect<T>(
        &mut self,
        timeout: Duration,
        what: &str,
        mut f: impl FnMut(&ClientboundGamePacket) -> Option<T>,
    ) -> Result<T, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv(left).await {
                Ok(packet) => {
                    if let Some(found) = f(&packet) {
                        return Ok(found);
                    }
                }
                Err(ClientError::Timeout { .. }) => {
                    return Err(ClientError::Timeout {
                        what: what.to_owned(),
                        timeout,
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Skips packets until one matches.
    pub async fn wait_for(
        &mut self,
        timeout: Duration,
        what: &str,
        mut matches: impl FnMut(&ClientboundGamePacket) -> bool,
    ) -> Result<ClientboundGamePacket, ClientError> {
        self.expect(timeout, what, |p| matches(p).then(|| p.clone()))
            .await
    }

    /// The text of the next (non-overlay) system chat message.
    pub async fn next_system_chat(&mut self, timeout: Duration) -> Result<String, ClientError> {
        self.expect(timeout, "a system chat message", |p| match p {
            ClientboundGamePacket::SystemChat(chat) if !chat.overlay => {
                Some(chat.content.to_string())
            }
            _ => None,
        })
        .await
    }

    /// Every packet already queued, without waiting.
    pub fn drain(&mut self) -> Vec<ClientboundGamePacket> {
        let mut out = Vec::new();
        while let Ok(Ok(packet)) = self.packets.try_recv() {
            out.push(packet);
        }
        out
    }

    /// Waits until the server closes the connection; returns its disconnect reason, if any.
    pub async fn wait_closed(&mut self, timeout: Duration) -> Result<Option<String>, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.packets.recv()).await {
                Ok(Some(_)) => continue,
                Ok(None) => return Ok(self.disconnect_reason()),
                Err(_) => {
                    return Err(ClientError::Timeout {
                        what: "the server to close".into(),
                        timeout,
                    });
                }
            }
        }
    }

    /// Closes the connection.
    pub async fn close(self) {
        self.reader_task.abort();
        let mut writer = self.writer.lock().await;
        let _ = SinkExt::<&[u8]>::close(&mut *writer).await;
    }

    fn closed_error(&self) -> ClientError {
        match self.disconnect_reason() {
            Some(reason) => ClientError::Disconnected(reason),
            None => ClientError::Closed,
        }
    }
}

async fn send(
    writer: &tokio::sync::Mutex<FrameWriter>,
    packet: ServerboundGamePacket,
) -> Result<(), ClientError> {
    let bytes = encode_packet(&packet)?;
    writer.lock().await.send(&bytes[..]).await?;
    Ok(())
}

#[derive(Debug, Clone, Copy)]
struct ReadOptions {
    answer_keep_alives: bool,
}

/// The background reader: bookkeeping and vanilla's automatic answers, then the packet goes to
/// the test.
async fn read_loop(
    mut reader: FrameReader,
    writer: Arc<tokio::sync::Mutex<FrameWriter>>,
    state: Shared,
    packets: mpsc::UnboundedSender<Result<ClientboundGamePacket, ClientError>>,
    spawned: watch::Sender<bool>,
    options: ReadOptions,
) {
    let result: Result<(), ClientError> = async {
        loop {
            let frame = match next_frame(&mut reader).await {
                Ok(frame) => frame,
                Err(e) if e.is_closed() => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            let id = frame.id();
            lock(&state).received.push(id);
            let bytes = frame.into_packet()?;
            let packet = match decode_packet::<ClientboundGamePacket>(&bytes) {
                Ok(packet) => packet,
                Err(e) => {
                    let name = meridian_wire::ids::game_name(true, id);
                    let _ = packets.send(Err(ClientError::Decode {
                        id,
                        name,
                        message: e.to_string(),
                    }));
                    continue;
                }
            };
            match &packet {
                ClientboundGamePacket::StartConfiguration(_) => {
                    // Leave play, configure again, come back, all on the same socket.
                    send(&writer, ServerboundConfigurationAcknowledged.into_variant()).await?;
                    lock(&state).reconfigurations += 1;
                    let _ = packets.send(Ok(packet));
                    let mut guard = writer.lock().await;
                    reconfigure(&mut reader, &mut guard, &state).await?;
                    continue;
                }
                ClientboundGamePacket::Disconnect(p) => {
                    lock(&state).disconnect = Some(p.reason.to_string());
                    let _ = packets.send(Ok(packet));
                    return Ok(());
                }
                _ => {}
            }
            if let Some(reply) = track(&state, &packet, &spawned) {
                for r in reply {
                    if matches!(r, ServerboundGamePacket::KeepAlive(_))
                        && !options.answer_keep_alives
                    {
                        continue;
                    }
                    send(&writer, r).await?;
                }
            }
            let _ = packets.send(Ok(packet));
        }
    }
    .await;
    if let Err(e) = result {
        let _ = packets.send(Err(e));
    }
}

/// Configuration inside play (`start_configuration`): the typed connection is gone, so this
/// speaks the configuration packets over the raw halves.
async fn reconfigure(
    reader: &mut FrameReader,
    writer: &mut FrameWriter,
    state: &Shared,
) -> Result<(), ClientError> {
    loop {
        let frame = next_frame(reader).await?;
        lock(state).config_received.push(frame.id());
        let packet = decode_packet::<ClientboundConfigPacket>(&frame.into_packet()?)?;
        let reply: Option<ServerboundConfigPacket> = match packet {
            ClientboundConfigPacket::SelectKnownPacks(_) => Some(
                ServerboundSelectKnownPacks {
                    known_packs: vec![KnownPack {
                        namespace: "minecraft".into(),
                        id: "core".into(),
                        version: VERSION_NAME.into(),
                    }],
                }
                .into_variant(),
            ),
            ClientboundConfigPacket::KeepAlive(p) => {
                Some(ConfigKeepAlive { id: p.id }.into_variant())
            }
            ClientboundConfigPacket::Ping(p) => Some(ConfigPong { id: p.id }.into_variant()),
            ClientboundConfigPacket::FinishConfiguration(_) => {
                writer
                    .send(&encode_packet(&ServerboundFinishConfiguration.into_variant())?[..])
                    .await?;
                return Ok(());
            }
            ClientboundConfigPacket::Disconnect(p) => {
                lock(state).disconnect = Some(p.reason.to_string());
                return Err(ClientError::Disconnected(p.reason.to_string()));
            }
            _ => None,
        };
        if let Some(reply) = reply {
            writer.send(&encode_packet(&reply)?[..]).await?;
        }
    }
}

/// Updates the client's picture of the world; returns the answers vanilla would send.
fn track(
    state: &Shared,
    packet: &ClientboundGamePacket,
    spawned: &watch::Sender<bool>,
) -> Option<Vec<ServerboundGamePacket>> {
    let mut s = lock(state);
    match packet {
        ClientboundGamePacket::Login(p) => s.entity_id = p.player_id.0,
        ClientboundGamePacket::KeepAlive(p) => {
            return Some(vec![ServerboundKeepAlive { id: p.id }.into_variant()]);
        }
        ClientboundGamePacket::Ping(p) => {
            return Some(vec![ServerboundPong { id: p.id }.into_variant()]);
        }
        ClientboundGamePacket::PlayerPosition(p) => {
            let r = &p.relative;
            let c = &p.change;
            let rel = |base: f64, relative: bool, v: f64| if relative { base + v } else { v };
            s.position = [
                rel(s.position[0], r.x, c.pos.x),
                rel(s.position[1], r.y, c.pos.y),
                rel(s.position[2], r.z, c.pos.z),
            ];
            let yaw = if r.y_rot {
                s.look.0 + c.look_direction.y_rot()
            } else {
                c.look_direction.y_rot()
            };
            let pitch = if r.x_rot {
                s.look.1 + c.look_direction.x_rot()
            } else {
                c.look_direction.x_rot()
            };
            s.look = (yaw, pitch);
            let [x, y, z] = s.position;
            spawned.send_replace(true);
            return Some(vec![
                ServerboundAcceptTeleportation { id: p.id }.into_variant(),
                ServerboundMovePlayerPosRot {
                    pos: Vec3 { x, y, z },
                    look_direction: LookDirection::new(yaw, pitch),
                    flags: MoveFlags {
                        on_ground: false,
                        horizontal_collision: false,
                    },
                }
                .into_variant(),
            ]);
        }
        ClientboundGamePacket::SetHealth(p) => {
            s.health = Some(p.health);
            if p.health > 0.0 {
                spawned.send_replace(true);
            }
        }
        ClientboundGamePacket::ChunkBatchFinished(_) => {
            return Some(vec![
                ServerboundChunkBatchReceived {
                    desired_chunks_per_tick: 25.0,
                }
                .into_variant(),
            ]);
        }
        ClientboundGamePacket::SetChunkCacheCenter(p) => s.chunk_center = Some((p.x, p.z)),
        ClientboundGamePacket::ContainerSetContent(p) if p.container_id == 0 => {
            s.inventory.clear();
            for (slot, item) in p.items.iter().enumerate() {
                if item.count() > 0 {
                    s.inventory
                        .insert(slot as u16, (item.kind().to_string(), item.count()));
                }
            }
        }
        ClientboundGamePacket::ContainerSetSlot(p) if p.container_id == 0 => {
            if p.item_stack.count() > 0 {
                let item = (p.item_stack.kind().to_string(), p.item_stack.count());
                s.inventory.insert(p.slot, item);
            } else {
                s.inventory.remove(&p.slot);
            }
        }
        ClientboundGamePacket::LevelChunkWithLight(p) => {
            s.chunks.insert((p.x, p.z), p.chunk_data.data.clone());
        }
        ClientboundGamePacket::ForgetLevelChunk(p) => {
            s.chunks.remove(&(p.pos.x, p.pos.z));
        }
        ClientboundGamePacket::AddEntity(p) => {
            let entity = SeenEntity {
                id: p.id.0,
                uuid: p.uuid,
                kind: p.entity_type.to_string(),
                position: [p.position.x, p.position.y, p.position.z],
            };
            if s.entities.insert(p.id.0, entity).is_some() {
                s.duplicate_adds += 1;
            }
        }
        ClientboundGamePacket::RemoveEntities(p) => {
            for id in &p.entity_ids {
                s.entities.remove(&id.0);
            }
        }
        ClientboundGamePacket::TeleportEntity(p) => {
            if let Some(e) = s.entities.get_mut(&p.id.0) {
                let r = &p.relative;
                let rel = |base: f64, relative: bool, v: f64| if relative { base + v } else { v };
                e.position = [
                    rel(e.position[0], r.x, p.change.pos.x),
                    rel(e.position[1], r.y, p.change.pos.y),
                    rel(e.position[2], r.z, p.change.pos.z),
                ];
            }
        }
        ClientboundGamePacket::EntityPositionSync(p) => {
            if let Some(e) = s.entities.get_mut(&p.id.0) {
                e.position = [p.values.pos.x, p.values.pos.y, p.values.pos.z];
            }
        }
        ClientboundGamePacket::MoveEntityPos(p) => {
            move_by(&mut s, p.entity_id.0, p.delta.xa, p.delta.ya, p.delta.za)
        }
        ClientboundGamePacket::MoveEntityPosRot(p) => {
            move_by(&mut s, p.entity_id.0, p.delta.xa, p.delta.ya, p.delta.za)
        }
        ClientboundGamePacket::PlayerInfoUpdate(p) if p.actions.add_player => {
            for entry in &p.entries {
                s.tab.insert(entry.profile.uuid, entry.profile.name.clone());
            }
        }
        ClientboundGamePacket::PlayerInfoRemove(p) => {
            for uuid in &p.profile_ids {
                s.tab.remove(uuid);
            }
        }
        _ => {}
    }
    None
}

fn move_by(s: &mut State, id: i32, xa: i16, ya: i16, za: i16) {
    if let Some(e) = s.entities.get_mut(&id) {
        e.position[0] += f64::from(xa) / 4096.0;
        e.position[1] += f64::from(ya) / 4096.0;
        e.position[2] += f64::from(za) / 4096.0;
    }
}

/// A minimal reader of the 26.1 chunk format, independent of the backend's writer.
pub mod chunk {
    /// Lowest block of the 26.1 overworld.
    pub const MIN_Y: i32 = -64;
    const SECTIONS: i32 = 24;

    struct Reader<'a> {
        data: &'a [u8],
        pos: usize,
    }

    impl Reader<'_> {
        fn take(&mut self, n: usize) -> Result<&[u8], String> {
            let end = self
                .pos
                .checked_add(n)
                .filter(|&e| e <= self.data.len())
                .ok_or("truncated chunk data")?;
            let out = &self.data[self.pos..end];
            self.pos = end;
            Ok(out)
        }
        fn u8(&mut self) -> Result<u8, String> {
            Ok(self.take(1)?[0])
        }
        fn i16(&mut self) -> Result<i16, String> {
            let b = self.take(2)?;
            Ok(i16::from_be_bytes([b[0], b[1]]))
        }
        fn u64(&mut self) -> Result<u64, String> {
            let b = self.take(8)?;
            let mut a = [0; 8];
            a.copy_from_slice(b);
            Ok(u64::from_be_bytes(a))
        }
        fn varint(&mut self) -> Result<u32, String> {
            let mut value = 0u32;
            for i in 0..5 {
                let b = self.u8()?;
                value |= u32::from(b & 0x7f) << (7 * i);
                if b & 0x80 == 0 {
                    return Ok(value);
                }
            }
            Err("VarInt too long".into())
        }
    }

    /// One paletted container; returns the value at `index`.
    fn container(
        r: &mut Reader<'_>,
        entries: usize,
        max_indirect: u8,
        index: usize,
    ) -> Result<u32, String> {
        let bits = r.u8()?;
        if bits == 0 {
            return r.varint();
        }
        let palette = if bits <= max_indirect {
            let len = r.varint()? as usize;
            (0..len)
                .map(|_| r.varint())
                .collect::<Result<Vec<u32>, String>>()?
        } else {
            Vec::new()
        };
        let per_long = 64 / usize::from(bits);
        let longs = entries.div_ceil(per_long);
        let mut found = 0;
        for i in 0..longs {
            let long = r.u64()?;
            if i == index / per_long {
                found = (long >> ((index % per_long) * usize::from(bits))) & ((1u64 << bits) - 1);
            }
        }
        if palette.is_empty() {
            return Ok(found as u32);
        }
        palette
            .get(found as usize)
            .copied()
            .ok_or_else(|| format!("palette index {found} out of range"))
    }

    /// The block state at local `x`, `z` (0..16) and world `y` in a column's section data.
    pub fn block_at(data: &[u8], x: i32, y: i32, z: i32) -> Result<u32, String> {
        let section = (y - MIN_Y) >> 4;
        if !(0..SECTIONS).contains(&section) {
            return Err(format!("y {y} is outside the world"));
        }
        let mut r = Reader { data, pos: 0 };
        for s in 0..SECTIONS {
            let _non_air = r.i16()?;
            let _fluids = r.i16()?;
            let index = (((y - MIN_Y) & 15) << 8 | (z & 15) << 4 | (x & 15)) as usize;
            let block = container(&mut r, 4096, 8, if s == section { index } else { 0 })?;
            container(&mut r, 64, 3, 0)?;
            if s == section {
                return Ok(block);
            }
        }
        Err("section not found".into())
    }

    /// Parses a whole column, to prove it is well-formed: 24 sections and nothing after.
    pub fn check_column(data: &[u8]) -> Result<(), String> {
        let mut r = Reader { data, pos: 0 };
        for _ in 0..SECTIONS {
            r.i16()?;
            r.i16()?;
            container(&mut r, 4096, 8, 0)?;
            container(&mut r, 64, 3, 0)?;
        }
        if r.pos != data.len() {
            return Err(format!(
                "{} bytes after the last section",
                data.len() - r.pos
            ));
        }
        Ok(())
    }
}

/// Convenience for tests: the section data of a chunk packet.
pub fn chunk_data(packet: &ClientboundLevelChunkWithLight) -> &[u8] {
    &packet.chunk_data.data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_uuid_matches_vanilla() {
        // Known values: Java's UUID.nameUUIDFromBytes("OfflinePlayer:Notch").
        assert_eq!(
            offline_uuid("Notch").to_string(),
            "b50ad385-829d-3141-a216-7e7d7539ba7f"
        );
    }
}
