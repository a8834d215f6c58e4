//! The lightweight client: logs in with meridian-wire's typed connections (azalea-protocol
//! packets), then in play drops to raw sockets so that hundreds of them cost the generator CPU
//! little: a writer task sends a `move_player_pos` every tick and `ping_request`s on an open-loop
//! schedule (the send time is the payload), a reader task counts frames and times
//! `pong_response`s. Compressed frames are never inflated.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use azalea_buf::UnsizedByteArray;
use azalea_core::position::Vec3;
use azalea_protocol::{
    common::{client_information::ClientInformation, movements::MoveFlags},
    packets::{
        ClientIntention, Packet,
        config::{
            ClientboundConfigPacket,
            s_client_information::ServerboundClientInformation,
            s_custom_payload::ServerboundCustomPayload,
            s_finish_configuration::ServerboundFinishConfiguration,
            s_keep_alive::ServerboundKeepAlive,
            s_pong::ServerboundPong,
            s_select_known_packs::{KnownPack, ServerboundSelectKnownPacks},
        },
        game::s_move_player_pos::ServerboundMovePlayerPos,
        handshake::s_intention::ServerboundIntention,
        login::{
            ClientboundLoginPacket, s_cookie_response::ServerboundCookieResponse,
            s_custom_query_answer::ServerboundCustomQueryAnswer, s_hello::ServerboundHello,
            s_login_acknowledged::ServerboundLoginAcknowledged,
        },
    },
};
use azalea_registry::identifier::Identifier;
use bytes::BytesMut;
use meridian_wire::{
    PROTOCOL_VERSION, VERSION_NAME,
    conn::{ClientHandshake, decode_packet, encode_packet},
    forwarding::{self, ForwardedPlayer},
    ids::{config::clientbound as config_ids, game::clientbound, game::serverbound},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::tcp::{OwnedReadHalf, OwnedWriteHalf},
    task::JoinSet,
    time::{Instant, MissedTickBehavior, sleep_until, timeout},
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    frames::{ping_time, put_small_frame, scan},
    source::TICK,
};

/// Blocks per tick of a walking player (4.317 m/s).
const WALK_PER_TICK: f64 = 4.317 / 20.0;
// The hot paths write the ping and pong ids as one byte.
const _: () = assert!(serverbound::PING_REQUEST < 0x80 && clientbound::PONG_RESPONSE < 0x80);

/// Bound on one small write; a proxy that stops reading fails the client.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// A client that reached play.
#[derive(Debug)]
pub struct Joined {
    pub reader: OwnedReadHalf,
    /// Bytes already read past the play `login` packet.
    pub leftover: BytesMut,
    pub writer: OwnedWriteHalf,
    /// Whether frames carry a data-length field (compression enabled).
    pub compressed: bool,
    /// From connect to the play `login` packet.
    pub login_time: Duration,
}

/// Logs `name` in at `addr`, answering `velocity:player_info` with `secret` if asked (going
/// direct, or through the relay, the client stands in for the proxy; through Meridian nobody
/// asks it).
pub async fn join(
    addr: SocketAddr,
    name: &str,
    secret: &[u8],
    limit: Duration,
) -> Result<Joined, String> {
    match timeout(limit, join_inner(addr, name, secret)).await {
        Ok(result) => result,
        Err(_) => Err(format!("join of {name} timed out after {limit:?}")),
    }
}

async fn join_inner(addr: SocketAddr, name: &str, secret: &[u8]) -> Result<Joined, String> {
    let started = Instant::now();
    let err = |what: &str| {
        let what = what.to_owned();
        move |e: meridian_wire::ConnError| format!("{what}: {e}")
    };
    let uuid = Uuid::new_v3(&Uuid::NAMESPACE_OID, name.as_bytes());
    let mut conn = ClientHandshake::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    conn.write(ServerboundIntention {
        protocol_version: PROTOCOL_VERSION,
        hostname: addr.ip().to_string(),
        port: addr.port(),
        intention: ClientIntention::Login,
    })
    .await
    .map_err(err("intention"))?;
    let mut conn = conn.login();
    conn.write(ServerboundHello {
        name: name.to_owned(),
        profile_id: uuid,
    })
    .await
    .map_err(err("hello"))?;
    loop {
        match conn.read().await.map_err(err("login"))? {
            ClientboundLoginPacket::CustomQuery(query) => {
                let data = (query.identifier.to_string() == forwarding::CHANNEL).then(|| {
                    let version = forwarding::negotiate(query.data.first().copied());
                    let player = ForwardedPlayer {
                        address: "127.0.0.1".into(),
                        uuid,
                        name: name.to_owned(),
                        properties: Vec::new(),
                    };
                    UnsizedByteArray::from(forwarding::encode(secret, version, &player))
                });
                conn.write(ServerboundCustomQueryAnswer {
                    transaction_id: query.transaction_id,
                    data,
                })
                .await
                .map_err(err("forwarding answer"))?;
            }
            ClientboundLoginPacket::LoginCompression(p) => {
                conn.set_compression(u32::try_from(p.compression_threshold).ok());
            }
            ClientboundLoginPacket::LoginFinished(_) => break,
            ClientboundLoginPacket::LoginDisconnect(p) => {
                return Err(format!("refused at login: {}", p.reason));
            }
            ClientboundLoginPacket::CookieRequest(p) => {
                conn.write(ServerboundCookieResponse {
                    key: p.key,
                    payload: None,
                })
                .await
                .map_err(err("cookie"))?;
            }
            ClientboundLoginPacket::Hello(_) => return Err("server is in online mode".into()),
        }
    }
    conn.write(ServerboundLoginAcknowledged)
        .await
        .map_err(err("login_acknowledged"))?;
    let mut conn = conn.config();
    conn.feed(ServerboundClientInformation {
        information: ClientInformation {
            view_distance: 6,
            ..Default::default()
        },
    })
    .await
    .map_err(err("client_information"))?;
    conn.write(ServerboundCustomPayload {
        identifier: Identifier::new("minecraft:brand"),
        data: UnsizedByteArray::from(b"\x07vanilla".to_vec()),
    })
    .await
    .map_err(err("brand"))?;
    loop {
        let frame = conn.read_raw().await.map_err(err("configuration"))?;
        let id = frame.id();
        let wanted = matches!(
            id,
            config_ids::SELECT_KNOWN_PACKS
                | config_ids::KEEP_ALIVE
                | config_ids::PING
                | config_ids::FINISH_CONFIGURATION
                | config_ids::DISCONNECT
        );
        if !wanted {
            continue;
        }
        let packet = frame
            .into_packet()
            .map_err(|e| format!("configuration: {e}"))?;
        match decode_packet::<ClientboundConfigPacket>(&packet).map_err(err("configuration"))? {
            ClientboundConfigPacket::SelectKnownPacks(_) => conn
                .write(ServerboundSelectKnownPacks {
                    known_packs: vec![KnownPack {
                        namespace: "minecraft".into(),
                        id: "core".into(),
                        version: VERSION_NAME.into(),
                    }],
                })
                .await
                .map_err(err("known packs"))?,
            ClientboundConfigPacket::KeepAlive(p) => conn
                .write(ServerboundKeepAlive { id: p.id })
                .await
                .map_err(err("keep-alive"))?,
            ClientboundConfigPacket::Ping(p) => conn
                .write(ServerboundPong { id: p.id })
                .await
                .map_err(err("pong"))?,
            ClientboundConfigPacket::FinishConfiguration(_) => {
                conn.write(ServerboundFinishConfiguration)
                    .await
                    .map_err(err("finish_configuration"))?;
                break;
            }
            ClientboundConfigPacket::Disconnect(p) => {
                return Err(format!("refused in configuration: {}", p.reason));
            }
            _ => {}
        }
    }
    let mut game = conn.game();
    loop {
        let frame = game.read_raw().await.map_err(err("play"))?;
        match frame.id() {
            clientbound::LOGIN => break,
            clientbound::DISCONNECT => return Err("disconnected before the play login".into()),
            _ => {}
        }
    }
    let login_time = started.elapsed();
    let (mut reader, writer) = game.into_split();
    let compressed = reader.decoder().compression().is_some();
    let leftover = reader.read_buffer_mut().split();
    Ok(Joined {
        reader: reader.into_inner(),
        leftover,
        writer: writer.into_inner(),
        compressed,
        login_time,
    })
}

/// One timed `ping_request` → `pong_response`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub client: u32,
    /// When the ping was sent, ns since the fleet's epoch.
    pub sent_ns: u64,
    pub rtt_ns: u64,
}

/// Counters of a fleet, cumulative.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub recv_packets: u64,
    pub recv_bytes: u64,
    pub sent_packets: u64,
    pub pings_sent: u64,
    pub pongs: u64,
}

impl Counters {
    pub fn since(&self, before: &Counters) -> Counters {
        Counters {
            recv_packets: self.recv_packets - before.recv_packets,
            recv_bytes: self.recv_bytes - before.recv_bytes,
            sent_packets: self.sent_packets - before.sent_packets,
            pings_sent: self.pings_sent - before.pings_sent,
            pongs: self.pongs - before.pongs,
        }
    }
}

#[derive(Debug)]
struct Shared {
    epoch: Instant,
    active: AtomicBool,
    ping_period_ns: AtomicU64,
    recv_packets: AtomicU64,
    recv_bytes: AtomicU64,
    sent_packets: AtomicU64,
    pings_sent: AtomicU64,
    pongs: AtomicU64,
    /// Clients whose connection ended early.
    lost: AtomicU64,
    samples: Mutex<Vec<Sample>>,
    /// How late each ping was sent after it was due, ns.
    send_lag_ns: Mutex<Vec<u64>>,
}

/// Many clients in play, driven together.
#[derive(Debug)]
pub struct Fleet {
    shared: Arc<Shared>,
    stop: CancellationToken,
    tasks: JoinSet<()>,
    size: usize,
    pub login_times: Vec<Duration>,
    pub join_failures: Vec<String>,
}

impl Default for Fleet {
    fn default() -> Self {
        Self::new()
    }
}

impl Fleet {
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Shared {
                epoch: Instant::now(),
                active: AtomicBool::new(false),
                ping_period_ns: AtomicU64::new(100_000_000),
                recv_packets: AtomicU64::new(0),
                recv_bytes: AtomicU64::new(0),
                sent_packets: AtomicU64::new(0),
                pings_sent: AtomicU64::new(0),
                pongs: AtomicU64::new(0),
                lost: AtomicU64::new(0),
                samples: Mutex::new(Vec::new()),
                send_lag_ns: Mutex::new(Vec::new()),
            }),
            stop: CancellationToken::new(),
            tasks: JoinSet::new(),
            size: 0,
            login_times: Vec::new(),
            join_failures: Vec::new(),
        }
    }

    /// Clients that joined.
    pub fn len(&self) -> usize {
        self.size
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Clients whose connection has ended since they joined.
    pub fn lost(&self) -> u64 {
        self.shared.lost.load(Ordering::Relaxed)
    }

    /// Joins clients until there are `n`, `concurrency` logins at a time.
    pub async fn grow_to(
        &mut self,
        n: usize,
        addr: SocketAddr,
        secret: &[u8],
        prefix: &str,
        concurrency: usize,
    ) {
        let mut joining = JoinSet::new();
        let mut next = self.size;
        let target = n;
        let mut attempts = self.size;
        while self.size < target {
            while joining.len() < concurrency && attempts < target {
                let name = format!("{prefix}{next:04}");
                let secret = secret.to_vec();
                let index = next as u32;
                joining.spawn(async move {
                    (
                        index,
                        join(addr, &name, &secret, Duration::from_secs(30)).await,
                    )
                });
                next += 1;
                attempts += 1;
            }
            let Some(done) = joining.join_next().await else {
                break;
            };
            match done {
                Ok((index, Ok(joined))) => {
                    self.login_times.push(joined.login_time);
                    self.size += 1;
                    self.start(index, joined);
                }
                Ok((_, Err(e))) => self.join_failures.push(e),
                Err(e) => self.join_failures.push(e.to_string()),
            }
        }
    }

    fn start(&mut self, index: u32, joined: Joined) {
        let Joined {
            reader,
            leftover,
            writer,
            compressed,
            ..
        } = joined;
        let stop = self.stop.child_token();
        self.tasks.spawn(read_loop(
            self.shared.clone(),
            index,
            reader,
            leftover,
            compressed,
            stop.clone(),
        ));
        self.tasks.spawn(write_loop(
            self.shared.clone(),
            index,
            writer,
            compressed,
            stop,
        ));
    }

    /// Whether clients move and ping (else they only read).
    pub fn set_active(&self, active: bool) {
        self.shared.active.store(active, Ordering::Relaxed);
    }

    /// The interval between one client's pings.
    pub fn set_ping_period(&self, period: Duration) {
        self.shared
            .ping_period_ns
            .store(period.as_nanos() as u64, Ordering::Relaxed);
    }

    pub fn counters(&self) -> Counters {
        let s = &self.shared;
        Counters {
            recv_packets: s.recv_packets.load(Ordering::Relaxed),
            recv_bytes: s.recv_bytes.load(Ordering::Relaxed),
            sent_packets: s.sent_packets.load(Ordering::Relaxed),
            pings_sent: s.pings_sent.load(Ordering::Relaxed),
            pongs: s.pongs.load(Ordering::Relaxed),
        }
    }

    /// Now, in the clock of the samples.
    pub fn now_ns(&self) -> u64 {
        self.shared.epoch.elapsed().as_nanos() as u64
    }

    /// Forgets the samples gathered so far.
    pub fn clear_samples(&self) {
        lock(&self.shared.samples).clear();
        lock(&self.shared.send_lag_ns).clear();
    }

    /// How late pings were sent since the last clear, ns: the generator's own lag.
    pub fn take_send_lags(&self) -> Vec<u64> {
        std::mem::take(&mut *lock(&self.shared.send_lag_ns))
    }

    /// The samples gathered since the last clear.
    pub fn take_samples(&self) -> Vec<Sample> {
        std::mem::take(&mut *lock(&self.shared.samples))
    }

    /// Disconnects every client and waits for their tasks.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        let _ = timeout(Duration::from_secs(10), async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        self.tasks.abort_all();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn read_loop(
    shared: Arc<Shared>,
    index: u32,
    mut reader: OwnedReadHalf,
    mut buf: BytesMut,
    compressed: bool,
    stop: CancellationToken,
) {
    loop {
        let (mut packets, mut bytes, mut pongs) = (0u64, 0u64, Vec::new());
        let scanned = scan(&buf, compressed, |frame| {
            packets += 1;
            bytes += frame.wire_len as u64;
            if let Some(time) = frame
                .packet
                .and_then(|p| ping_time(p, clientbound::PONG_RESPONSE))
            {
                pongs.push(time);
            }
        });
        let Ok(used) = scanned else { break };
        let _ = buf.split_to(used);
        if packets > 0 {
            shared.recv_packets.fetch_add(packets, Ordering::Relaxed);
            shared.recv_bytes.fetch_add(bytes, Ordering::Relaxed);
        }
        if !pongs.is_empty() {
            let now = shared.epoch.elapsed().as_nanos() as u64;
            shared
                .pongs
                .fetch_add(pongs.len() as u64, Ordering::Relaxed);
            let mut samples = lock(&shared.samples);
            samples.extend(pongs.into_iter().map(|t| Sample {
                client: index,
                sent_ns: t,
                rtt_ns: now.saturating_sub(t),
            }));
        }
        buf.reserve(64 * 1024);
        let read = tokio::select! {
            () = stop.cancelled() => return,
            read = reader.read_buf(&mut buf) => read,
        };
        match read {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    if !stop.is_cancelled() {
        shared.lost.fetch_add(1, Ordering::Relaxed);
    }
}

async fn write_loop(
    shared: Arc<Shared>,
    index: u32,
    mut writer: OwnedWriteHalf,
    compressed: bool,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    // Spread the clients over the tick and over the ping period.
    let phase =
        (u64::from(index).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 11) as f64 / (1u64 << 53) as f64;
    let mut next_ping: Option<Instant> = None;
    // Walk along +z from a spawn near x = -8.5: one straight line per player.
    let mut pos = Vec3 {
        x: -8.5,
        y: 64.0,
        z: f64::from(index) * 32.0,
    };
    let mut buf = BytesMut::with_capacity(256);
    let far = Instant::now() + Duration::from_secs(86_400);
    loop {
        let active = shared.active.load(Ordering::Relaxed);
        if !active {
            next_ping = None;
        } else if next_ping.is_none() {
            let period = Duration::from_nanos(shared.ping_period_ns.load(Ordering::Relaxed));
            next_ping = Some(Instant::now() + period.mul_f64(phase));
        }
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {
                if active {
                    pos.z += WALK_PER_TICK;
                    let packet = ServerboundMovePlayerPos {
                        pos,
                        flags: MoveFlags { on_ground: true, horizontal_collision: false },
                    };
                    if let Ok(bytes) = encode_packet(&packet.into_variant()) {
                        put_small_frame(&mut buf, &bytes, compressed);
                        shared.sent_packets.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            () = sleep_until(next_ping.unwrap_or(far)) => {
                if let Some(due) = next_ping {
                    let period = Duration::from_nanos(shared.ping_period_ns.load(Ordering::Relaxed));
                    // The send time, not the due time, goes in the payload: tokio's timer wheel
                    // fires up to a millisecond late, which would otherwise swamp the tens of
                    // microseconds being measured. The schedule stays open-loop (it never waits
                    // for pongs), and the lateness is reported on its own as `send_lag`.
                    let now = Instant::now();
                    let time = now.saturating_duration_since(shared.epoch).as_nanos() as u64;
                    lock(&shared.send_lag_ns).push(now.saturating_duration_since(due).as_nanos() as u64);
                    let mut packet = [0u8; 9];
                    packet[0] = serverbound::PING_REQUEST as u8;
                    packet[1..].copy_from_slice(&time.to_be_bytes());
                    put_small_frame(&mut buf, &packet, compressed);
                    shared.sent_packets.fetch_add(1, Ordering::Relaxed);
                    shared.pings_sent.fetch_add(1, Ordering::Relaxed);
                    next_ping = Some(due + period);
                }
            }
        }
        if !buf.is_empty() {
            match timeout(WRITE_TIMEOUT, writer.write_all(&buf)).await {
                Ok(Ok(())) => buf.clear(),
                _ => return,
            }
        }
    }
}
