//! Configuration and play: raw frames forwarded both ways, one future per direction.
//!
//! Each pump reads a frame, then drains every frame already buffered, routes them, and flushes
//! once, so a burst of packets costs one write system call, not one per packet.

use std::sync::{
    Arc,
    atomic::{AtomicU8, Ordering},
};

use azalea_protocol::packets::{Packet, config, game};
use futures_util::{FutureExt, SinkExt, StreamExt};
use meridian_wire::{
    RawFrame,
    conn::{
        ClientConfig, FrameReader, FrameWriter, ServerConfig, close_gracefully, decode_packet,
        encode_packet, next_frame,
    },
};
use tokio::{sync::mpsc, time::timeout};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::login::KICK_WRITE_TIMEOUT;
use crate::{
    error::{BackendError, ClientError, SessionError},
    metrics::Direction,
    routing::{self, Clientbound, Phase, Serverbound},
    state::{Player, ProxyState, Server, SessionCommand},
};

/// Frames handled before a pump yields to flush, so one busy direction cannot starve the other.
const MAX_BATCH: usize = 128;

/// How a session's relay ended.
#[derive(Debug)]
enum End {
    ClientLeft,
    /// The backend disconnected the player, for this reason.
    BackendKicked(String),
    Kick(String),
    Shutdown,
}

/// Keeps a server's player count true however the relay ends.
struct OnServer<'a>(&'a Server);

impl Drop for OnServer<'_> {
    fn drop(&mut self) {
        self.0.players.fetch_sub(1, Ordering::Relaxed);
    }
}

pub async fn run(
    state: &Arc<ProxyState>,
    client: ServerConfig,
    backend: ClientConfig,
    player: Arc<Player>,
    mut commands: mpsc::Receiver<SessionCommand>,
    server: Arc<Server>,
    shutdown: CancellationToken,
) -> Result<(), SessionError> {
    server.players.fetch_add(1, Ordering::Relaxed);
    let _on_server = OnServer(&server);
    let (mut client_rx, mut client_tx) = client.into_split();
    let (mut backend_rx, mut backend_tx) = backend.into_split();
    // What the client is being sent, so a kick uses the right packet.
    let client_phase = AtomicU8::new(Phase::Config as u8);

    let end = {
        let up = serverbound(state, &player, &server, &mut client_rx, &mut backend_tx);
        let down = clientbound(
            state,
            &server,
            &mut backend_rx,
            &mut client_tx,
            &client_phase,
        );
        tokio::select! {
            end = up => end,
            end = down => end,
            command = commands.recv() => match command {
                Some(SessionCommand::Kick(message)) => Ok(End::Kick(message)),
                None => Ok(End::Kick("Disconnected".into())),
            },
            () = shutdown.cancelled() => Ok(End::Shutdown),
        }
    };
    let phase = Phase::from_u8(client_phase.load(Ordering::Relaxed));
    let (message, result) = match end {
        Ok(End::ClientLeft) => {
            return Err(ClientError::Conn(meridian_wire::ConnError::Closed).into());
        }
        Ok(End::BackendKicked(reason)) => {
            debug!(server = %server.id, %reason, "backend disconnected the player");
            (
                Some(format!("Disconnected from {}: {reason}", server.id)),
                Ok(()),
            )
        }
        Ok(End::Kick(message)) => (Some(message), Ok(())),
        Ok(End::Shutdown) => (Some("The proxy is shutting down".to_owned()), Ok(())),
        Err(SessionError::Backend { server: id, source }) => {
            let message = format!("Lost connection to server {id}: {source}");
            (
                Some(message),
                Err(SessionError::Backend { server: id, source }),
            )
        }
        // The client broke the session; there is nobody to tell.
        Err(e) => return Err(e),
    };
    if let Some(message) = message {
        kick(&mut client_tx, phase, &message).await;
    }
    close_gracefully(&mut client_rx, &mut client_tx, KICK_WRITE_TIMEOUT).await;
    result
}

/// Sends a disconnect in whatever phase the client is in; best effort, bounded in time.
async fn kick(client: &mut FrameWriter, phase: Phase, message: &str) {
    let packet = match phase {
        Phase::Play => encode_packet(
            &game::ClientboundDisconnect {
                reason: message.into(),
            }
            .into_variant(),
        ),
        Phase::Config => encode_packet(
            &config::ClientboundDisconnect {
                reason: message.into(),
            }
            .into_variant(),
        ),
    };
    let Ok(packet) = packet else { return };
    let _ = timeout(KICK_WRITE_TIMEOUT, client.send(&packet[..])).await;
}

/// The plain text of a backend's disconnect packet.
fn disconnect_reason(phase: Phase, frame: RawFrame) -> String {
    let Ok(packet) = frame.into_packet() else {
        return "(unreadable reason)".to_owned();
    };
    let reason = match phase {
        Phase::Play => match decode_packet::<game::ClientboundGamePacket>(&packet) {
            Ok(game::ClientboundGamePacket::Disconnect(p)) => Some(p.reason.to_string()),
            _ => None,
        },
        Phase::Config => match decode_packet::<config::ClientboundConfigPacket>(&packet) {
            Ok(config::ClientboundConfigPacket::Disconnect(p)) => Some(p.reason.to_string()),
            _ => None,
        },
    };
    reason.unwrap_or_else(|| "(unreadable reason)".to_owned())
}

/// Client → backend.
async fn serverbound(
    state: &ProxyState,
    player: &Player,
    server: &Server,
    client: &mut FrameReader,
    backend: &mut FrameWriter,
) -> Result<End, SessionError> {
    let read_timeout = state.config.limits.read_timeout();
    let backend_err =
        |e: meridian_wire::FrameError| SessionError::backend(&server.id, BackendError::from(e));
    let mut phase = Phase::Config;
    loop {
        let first = match timeout(read_timeout, next_frame(client)).await {
            Err(_) => return Err(ClientError::Timeout("in play: the client sent nothing").into()),
            Ok(Err(e)) if e.is_closed() => return Ok(End::ClientLeft),
            Ok(Err(e)) => return Err(ClientError::from(e).into()),
            Ok(Ok(frame)) => frame,
        };
        let (mut packets, mut bytes) = (0u64, 0u64);
        let mut next = Some(first);
        while let Some(frame) = next.take() {
            let action = routing::serverbound(phase, frame.id(), frame.head_fields());
            let forward = match action {
                Serverbound::Forward => true,
                Serverbound::ForwardAndEnter(p) => {
                    phase = p;
                    true
                }
                Serverbound::ForwardMove(pos) => {
                    player.set_position(pos);
                    true
                }
                Serverbound::Drop(why) => {
                    debug!(packet = frame.id(), "dropped: {why}");
                    false
                }
            };
            if forward {
                packets += 1;
                bytes += frame.packet_len() as u64;
                backend.feed(frame).await.map_err(backend_err)?;
            }
            if packets as usize >= MAX_BATCH {
                break;
            }
            next = match client.next().now_or_never() {
                Some(Some(Ok(frame))) => Some(frame),
                Some(Some(Err(e))) => return Err(ClientError::from(e).into()),
                // The client closed; forward what we have first, the next read reports it.
                Some(None) | None => None,
            };
        }
        SinkExt::<RawFrame>::flush(backend)
            .await
            .map_err(backend_err)?;
        state
            .metrics
            .forwarded(Direction::serverbound, packets, bytes);
    }
}

/// Backend → client.
async fn clientbound(
    state: &ProxyState,
    server: &Server,
    backend: &mut FrameReader,
    client: &mut FrameWriter,
    client_phase: &AtomicU8,
) -> Result<End, SessionError> {
    let read_timeout = state.config.limits.read_timeout();
    let client_err = |e: meridian_wire::FrameError| SessionError::from(ClientError::from(e));
    let mut phase = Phase::Config;
    loop {
        let first = match timeout(read_timeout, next_frame(backend)).await {
            Err(_) => {
                return Err(SessionError::backend(
                    &server.id,
                    BackendError::Silent(read_timeout),
                ));
            }
            Ok(Err(e)) => return Err(SessionError::backend(&server.id, e)),
            Ok(Ok(frame)) => frame,
        };
        let (mut packets, mut bytes) = (0u64, 0u64);
        let mut kicked = None;
        let mut next = Some(first);
        while let Some(frame) = next.take() {
            match routing::clientbound(phase, frame.id()) {
                Clientbound::Forward => {}
                Clientbound::ForwardAndEnter(p) => {
                    phase = p;
                    client_phase.store(p as u8, Ordering::Relaxed);
                }
                Clientbound::Disconnect => {
                    kicked = Some(disconnect_reason(phase, frame));
                    break;
                }
            }
            packets += 1;
            bytes += frame.packet_len() as u64;
            client.feed(frame).await.map_err(client_err)?;
            if packets as usize >= MAX_BATCH {
                break;
            }
            next = match backend.next().now_or_never() {
                Some(Some(Ok(frame))) => Some(frame),
                Some(Some(Err(e))) => return Err(SessionError::backend(&server.id, e)),
                Some(None) | None => None,
            };
        }
        SinkExt::<RawFrame>::flush(client)
            .await
            .map_err(client_err)?;
        state
            .metrics
            .forwarded(Direction::clientbound, packets, bytes);
        if let Some(reason) = kicked {
            return Ok(End::BackendKicked(reason));
        }
    }
}
