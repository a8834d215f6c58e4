//! The synthetic traffic source: a minimal backend that accepts the proxy's forwarded login
//! (checked with `meridian_wire::forwarding::verify`), goes through configuration in one packet,
//! and then streams pre-encoded traffic at a set rate.
//!
//! Why not the reference backend for the load: it broadcasts every move to every other player
//! (O(N²) events), which would saturate the generator's CPU long before the proxy at 500
//! players, and its chunk rate depends on walking across chunk borders. Here the rate is a
//! number. The reference backend is still used for the login-time measurement.
//!
//! Like a vanilla server, it places the player with a `player_position` (teleport) right after
//! the play `login`, at [`SPAWN`]: that is how the proxy learns where an idle player stands, and
//! so which other zones are in view (the `meridian-2` scenario relies on it to open a dummy link
//! per player without the clients moving). The source never waits for the teleport's answer.
//!
//! Traffic per player in [`Mode::Steady`]: one small packet (`move_entity_pos`) per tick (20/s),
//! chunk batches of [`CHUNKS_PER_BATCH`] columns at `chunks_per_sec` on average (a player
//! walking into new chunks), and a `pong_response` for each `ping_request`, at once. In
//! [`Mode::Flood`], chunk frames as fast as TCP takes them.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU8, AtomicU64, Ordering},
    },
    time::Duration,
};

use azalea_auth::game_profile::GameProfile;
use azalea_buf::UnsizedByteArray;
use azalea_core::{game_type::GameMode, position::Vec3};
use azalea_protocol::common::movements::{PositionMoveRotation, RelativeMovements};
use azalea_protocol::packets::{
    ClientIntention,
    config::c_finish_configuration::ClientboundFinishConfiguration,
    game::{c_login::ClientboundLogin, c_player_position::ClientboundPlayerPosition},
    handshake::ServerboundHandshakePacket,
    login::{
        ServerboundLoginPacket, c_custom_query::ClientboundCustomQuery,
        c_login_compression::ClientboundLoginCompression,
        c_login_finished::ClientboundLoginFinished,
    },
};
use azalea_registry::identifier::Identifier;
use bytes::BytesMut;
use meridian_wire::{
    ConnError,
    conn::{ServerConfig, ServerHandshake, ServerLogin, next_frame},
    forwarding,
    frame::MAX_FRAME_LEN,
    ids::{config::serverbound as config_ids, game::clientbound, game::serverbound},
};
use tokio::{
    io::AsyncWriteExt,
    net::{TcpListener, tcp::OwnedWriteHalf},
    sync::mpsc,
    time::{Instant, MissedTickBehavior, timeout},
};
use tokio_util::sync::CancellationToken;

use crate::frames::{CHUNKS_PER_BATCH, SourceFrames, ping_time, put_small_frame};

/// One game tick.
pub const TICK: Duration = Duration::from_millis(50);
/// Bound on any single write: a client that stops reading does not hold the source.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on a connection's login and configuration.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(20);
/// Where the source places every player after the play `login` (block x −9, chunk x −1): in
/// view of chunk x = 0, the zone border of `meridian-2`, at the play login's view distance.
pub const SPAWN: [f64; 3] = [-8.5, 64.0, 0.5];
/// The play login's view distance (`chunk_radius`): what the proxy looks for zones within.
pub const VIEW_DISTANCE: u32 = 6;

/// What every connection of a source does right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// Nothing but pongs.
    Idle = 0,
    /// Per-tick packets and chunk batches at the configured rate.
    Steady = 1,
    /// Chunk frames as fast as the connection takes them.
    Flood = 2,
}

/// Shared between the driver and every connection of one source.
#[derive(Debug)]
pub struct Control {
    mode: AtomicU8,
    /// Average chunk columns per second per player in [`Mode::Steady`] (f64 bits).
    chunks_per_sec: AtomicU64,
    /// Serverbound packets and bytes received by the source (what the proxy forwarded up).
    pub received_packets: AtomicU64,
    pub received_bytes: AtomicU64,
    /// Connections that reached play.
    pub players: AtomicU64,
    /// Connections refused or failed before play.
    pub failures: AtomicU64,
}

impl Control {
    fn new() -> Self {
        Self {
            mode: AtomicU8::new(Mode::Idle as u8),
            chunks_per_sec: AtomicU64::new(4.0f64.to_bits()),
            received_packets: AtomicU64::new(0),
            received_bytes: AtomicU64::new(0),
            players: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::Relaxed);
    }

    pub fn mode(&self) -> Mode {
        match self.mode.load(Ordering::Relaxed) {
            1 => Mode::Steady,
            2 => Mode::Flood,
            _ => Mode::Idle,
        }
    }

    pub fn set_chunks_per_sec(&self, rate: f64) {
        self.chunks_per_sec
            .store(rate.max(0.0).to_bits(), Ordering::Relaxed);
    }

    fn chunks_per_sec(&self) -> f64 {
        f64::from_bits(self.chunks_per_sec.load(Ordering::Relaxed))
    }
}

/// A running synthetic source.
#[derive(Debug, Clone)]
pub struct Source {
    pub addr: SocketAddr,
    pub control: Arc<Control>,
    pub frames: Arc<SourceFrames>,
}

/// Everything a connection needs.
struct Ctx {
    secret: Vec<u8>,
    frames: Arc<SourceFrames>,
    control: Arc<Control>,
}

impl Source {
    /// Binds `127.0.0.1:0` and serves until `shutdown`.
    pub async fn start(
        secret: &[u8],
        threshold: Option<u32>,
        shutdown: CancellationToken,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let frames = Arc::new(SourceFrames::new(threshold));
        let control = Arc::new(Control::new());
        let ctx = Arc::new(Ctx {
            secret: secret.to_vec(),
            frames: frames.clone(),
            control: control.clone(),
        });
        tokio::spawn(async move {
            let mut seq = 0u64;
            loop {
                let accepted = tokio::select! {
                    () = shutdown.cancelled() => return,
                    accepted = listener.accept() => accepted,
                };
                let Ok((stream, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                seq += 1;
                let ctx = ctx.clone();
                let stop = shutdown.child_token();
                tokio::spawn(async move {
                    let _ = connection(ctx, stream, seq, stop).await;
                });
            }
        });
        Ok(Self {
            addr,
            control,
            frames,
        })
    }
}

async fn connection(
    ctx: Arc<Ctx>,
    stream: tokio::net::TcpStream,
    seq: u64,
    stop: CancellationToken,
) -> Result<(), ConnError> {
    let conn = ServerHandshake::wrap(stream)
        .map_err(|e| ConnError::from(meridian_wire::FrameError::Io(e)))?;
    // Health probes of the proxy connect and close at once: not a failure.
    let entered = timeout(LOGIN_TIMEOUT, async {
        let mut conn = conn;
        let ServerboundHandshakePacket::Intention(intention) = conn.read().await?;
        if intention.intention == ClientIntention::Status {
            return Ok(None);
        }
        let config = login(conn.login(), &ctx).await?;
        Ok::<_, ConnError>(Some(configure(config).await?))
    })
    .await;
    let game = match entered {
        Ok(Ok(Some(game))) => game,
        Ok(Ok(None)) => return Ok(()),
        Ok(Err(e)) if e.is_closed() => return Ok(()),
        Ok(Err(e)) => {
            ctx.control.failures.fetch_add(1, Ordering::Relaxed);
            return Err(e);
        }
        Err(_) => {
            ctx.control.failures.fetch_add(1, Ordering::Relaxed);
            return Err(ConnError::Closed);
        }
    };
    ctx.control.players.fetch_add(1, Ordering::Relaxed);
    let (mut reader, writer) = game.into_split();
    reader.decoder_mut().set_max_frame_len(MAX_FRAME_LEN);
    let writer = writer.into_inner();
    let (pongs_tx, pongs_rx) = mpsc::unbounded_channel::<u64>();
    let done = stop.child_token();
    let write = tokio::spawn(write_loop(ctx.clone(), writer, pongs_rx, seq, done.clone()));
    let control = &ctx.control;
    loop {
        let frame = tokio::select! {
            () = done.cancelled() => break,
            frame = next_frame(&mut reader) => frame,
        };
        let Ok(frame) = frame else { break };
        control.received_packets.fetch_add(1, Ordering::Relaxed);
        control
            .received_bytes
            .fetch_add(frame.packet_len() as u64, Ordering::Relaxed);
        if frame.id() == serverbound::PING_REQUEST
            && let Some(time) = ping_time(frame.head(), serverbound::PING_REQUEST)
        {
            let _ = pongs_tx.send(time);
        }
    }
    done.cancel();
    let _ = write.await;
    control.players.fetch_sub(1, Ordering::Relaxed);
    Ok(())
}

/// Offline login with forwarding, as the reference backend and Paper do it.
async fn login(mut conn: ServerLogin, ctx: &Ctx) -> Result<ServerConfig, ConnError> {
    let ServerboundLoginPacket::Hello(_) = conn.read().await? else {
        return Err(ConnError::Closed);
    };
    conn.write(ClientboundCustomQuery {
        transaction_id: 1,
        identifier: Identifier::new(forwarding::CHANNEL),
        data: UnsizedByteArray::from(vec![forwarding::MODERN_LAZY_SESSION]),
    })
    .await?;
    let answer = loop {
        match conn.read().await? {
            ServerboundLoginPacket::CustomQueryAnswer(a) => break a,
            ServerboundLoginPacket::CookieResponse(_) => {}
            _ => return Err(ConnError::Closed),
        }
    };
    let player = answer
        .data
        .as_deref()
        .ok_or(ConnError::Closed)
        .and_then(|data| forwarding::verify(&ctx.secret, data).map_err(|_| ConnError::Closed))?;
    if let Some(threshold) = ctx.frames.threshold {
        conn.write(ClientboundLoginCompression {
            compression_threshold: threshold as i32,
        })
        .await?;
        conn.set_compression(Some(threshold));
    }
    conn.write(ClientboundLoginFinished {
        game_profile: GameProfile::new(player.uuid, player.name),
    })
    .await?;
    loop {
        match conn.read().await? {
            ServerboundLoginPacket::LoginAcknowledged(_) => return Ok(conn.config()),
            ServerboundLoginPacket::CookieResponse(_) => {}
            _ => return Err(ConnError::Closed),
        }
    }
}

/// Configuration in one packet: the bench clients need no registries.
async fn configure(mut conn: ServerConfig) -> Result<meridian_wire::conn::ServerGame, ConnError> {
    conn.write(ClientboundFinishConfiguration).await?;
    loop {
        let frame = conn.read_raw().await?;
        if frame.id() == config_ids::FINISH_CONFIGURATION {
            let mut game = conn.game();
            game.feed(play_login()).await?;
            game.write(spawn_teleport()).await?;
            return Ok(game);
        }
    }
}

/// A well-formed play `login`, in case the proxy reads it (entity ids, dimension).
fn play_login() -> ClientboundLogin {
    meridian_examples::world::play_login(1, 0, VIEW_DISTANCE, GameMode::Survival, 1000)
}

/// The `player_position` that places the player at [`SPAWN`], as a vanilla server sends after
/// the play `login`.
pub fn spawn_teleport() -> ClientboundPlayerPosition {
    let [x, y, z] = SPAWN;
    ClientboundPlayerPosition {
        id: 1,
        change: PositionMoveRotation {
            pos: Vec3 { x, y, z },
            delta: Vec3::ZERO,
            look_direction: Default::default(),
        },
        relative: RelativeMovements::all_absolute(),
    }
}

async fn write_all(writer: &mut OwnedWriteHalf, bytes: &[u8]) -> bool {
    matches!(
        timeout(WRITE_TIMEOUT, writer.write_all(bytes)).await,
        Ok(Ok(()))
    )
}

async fn write_loop(
    ctx: Arc<Ctx>,
    mut writer: OwnedWriteHalf,
    mut pongs: mpsc::UnboundedReceiver<u64>,
    seq: u64,
    done: CancellationToken,
) {
    let frames = &ctx.frames;
    let compressed = frames.threshold.is_some();
    let mut tick = tokio::time::interval(TICK);
    // Open loop: a late tick is caught up, not skipped.
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    // Spread the players' chunk batches over the batch period.
    let phase = (seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 11) as f64 / (1u64 << 53) as f64;
    let mut next_batch: Option<Instant> = None;
    let mut chunk_index = seq as usize;
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let put_pong = |buf: &mut BytesMut, time: u64| {
        let mut packet = [0u8; 9];
        packet[0] = clientbound::PONG_RESPONSE as u8;
        packet[1..].copy_from_slice(&time.to_be_bytes());
        put_small_frame(buf, &packet, compressed);
    };
    loop {
        tokio::select! {
            biased;
            () = done.cancelled() => return,
            Some(time) = pongs.recv() => {
                put_pong(&mut buf, time);
                while let Ok(time) = pongs.try_recv() {
                    put_pong(&mut buf, time);
                }
            }
            now = tick.tick() => match ctx.control.mode() {
                Mode::Idle => next_batch = None,
                Mode::Steady => {
                    buf.extend_from_slice(&frames.small);
                    let rate = ctx.control.chunks_per_sec();
                    if rate > 0.0 {
                        let period = Duration::from_secs_f64(CHUNKS_PER_BATCH as f64 / rate);
                        let due = *next_batch.get_or_insert(now + period.mul_f64(phase));
                        if now >= due {
                            buf.extend_from_slice(&frames.batch_start);
                            for _ in 0..CHUNKS_PER_BATCH {
                                chunk_index = (chunk_index + 1) % frames.chunks.len();
                                buf.extend_from_slice(&frames.chunks[chunk_index]);
                            }
                            buf.extend_from_slice(&frames.batch_finished);
                            next_batch = Some(due + period);
                        }
                    }
                }
                Mode::Flood => {
                    while ctx.control.mode() == Mode::Flood && !done.is_cancelled() {
                        if !write_all(&mut writer, &frames.flood_block).await {
                            return;
                        }
                        while let Ok(time) = pongs.try_recv() {
                            put_pong(&mut buf, time);
                        }
                        if !buf.is_empty() {
                            if !write_all(&mut writer, &buf).await {
                                return;
                            }
                            buf.clear();
                        }
                    }
                }
            },
        }
        if !buf.is_empty() {
            if !write_all(&mut writer, &buf).await {
                return;
            }
            buf.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azalea_protocol::packets::Packet;
    use meridian_wire::{conn::encode_packet, varint::read_varint};

    #[test]
    fn the_spawn_teleport_tells_the_proxy_where_the_player_stands() {
        let packet = encode_packet(&spawn_teleport().into_variant()).unwrap();
        let (id, n) = read_varint(&packet).unwrap();
        assert_eq!(id, clientbound::PLAYER_POSITION);
        // What the proxy reads from a primary's teleport to place the player.
        assert_eq!(
            meridian::routing::teleport_position(&packet[n..]),
            Some(SPAWN)
        );
        // Chunk x −1: the zone border of meridian-2 (chunk x = 0) is within the view distance.
        let chunk_x = (SPAWN[0].floor() as i32) >> 4;
        assert_eq!(chunk_x, -1);
        assert!(0 - chunk_x <= VIEW_DISTANCE as i32);
    }
}
