//! A client's login in offline mode, up to the configuration phase.

use std::{sync::Arc, time::Duration};

use azalea_auth::game_profile::GameProfile;
use azalea_protocol::packets::login::{
    ClientboundLoginCompression, ClientboundLoginDisconnect, ClientboundLoginFinished,
    ServerboundLoginPacket,
};
use dashmap::mapref::entry::Entry;
use md5::{Digest, Md5};
use meridian_wire::{PROTOCOL_VERSION, conn::ServerLogin, frame::MAX_FRAME_LEN};
use tokio::{sync::mpsc, time::timeout};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use super::{link, relay};
use crate::{
    error::{ClientError, SessionError},
    state::{Player, ProxyState, SessionCommand},
};

/// A kick must never hold a session open: a client that does not read gets dropped after this.
pub const KICK_WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// Commands queued for one session before senders wait.
const COMMAND_QUEUE: usize = 16;

/// The UUID an offline-mode server gives a player: Java's `UUID.nameUUIDFromBytes`.
pub fn offline_uuid(name: &str) -> Uuid {
    let digest = Md5::digest(format!("OfflinePlayer:{name}").as_bytes());
    uuid::Builder::from_md5_bytes(digest.into()).into_uuid()
}

/// Vanilla's rule for player names.
pub fn valid_name(name: &str) -> bool {
    (1..=16).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Tells a client in login why it cannot join, then closes so the message is not lost.
pub async fn kick(mut conn: ServerLogin, message: &str) {
    let packet = ClientboundLoginDisconnect {
        reason: message.into(),
    };
    if timeout(KICK_WRITE_TIMEOUT, conn.write(packet))
        .await
        .is_ok()
    {
        conn.close(KICK_WRITE_TIMEOUT).await;
    }
}

/// Removes the player from the shared state when the session ends, however it ends.
struct Registration {
    state: Arc<ProxyState>,
    uuid: Uuid,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if self.state.players.remove(&self.uuid).is_some() {
            self.state.metrics.players_online.dec();
        }
    }
}

pub async fn serve(
    state: &Arc<ProxyState>,
    mut conn: ServerLogin,
    protocol: i32,
    shutdown: CancellationToken,
) -> Result<(), SessionError> {
    if protocol != PROTOCOL_VERSION {
        let message = format!(
            "This server runs Minecraft {} (protocol {PROTOCOL_VERSION}); your client uses protocol {protocol}",
            meridian_wire::VERSION_NAME
        );
        kick(conn, &message).await;
        return Err(ClientError::UnsupportedVersion(protocol).into());
    }
    let limits = &state.config.limits;
    let hello = match timeout(limits.login_timeout(), conn.read()).await {
        Err(_) => return Err(ClientError::Timeout("waiting for the login hello").into()),
        Ok(packet) => packet.map_err(ClientError::from)?,
    };
    let ServerboundLoginPacket::Hello(hello) = hello else {
        return Err(ClientError::Protocol("expected a login hello".into()).into());
    };
    if !valid_name(&hello.name) {
        kick(conn, "Invalid player name").await;
        return Err(ClientError::Protocol(format!("invalid player name {:?}", hello.name)).into());
    }
    let name = hello.name;
    tracing::Span::current().record("player", name.as_str());
    let uuid = offline_uuid(&name);

    let (commands_tx, commands_rx) = mpsc::channel::<SessionCommand>(COMMAND_QUEUE);
    let server = state.config.default_server();
    let player = Arc::new(Player::new(
        name.clone(),
        uuid,
        server.to_owned(),
        commands_tx,
    ));
    // Decide under the entry guard, act after it is dropped: no DashMap guard across `.await`.
    let registration = match state.players.entry(uuid) {
        Entry::Occupied(_) => None,
        Entry::Vacant(slot) => {
            slot.insert(player.clone());
            state.metrics.players_online.inc();
            Some(Registration {
                state: state.clone(),
                uuid,
            })
        }
    };
    let Some(_registration) = registration else {
        kick(conn, "You are already connected to this server").await;
        return Err(SessionError::Refused(format!(
            "{name} is already connected"
        )));
    };

    if let Some(threshold) = state.config.compression() {
        conn.write(ClientboundLoginCompression {
            compression_threshold: threshold as i32,
        })
        .await
        .map_err(ClientError::from)?;
        conn.set_compression(Some(threshold));
    }
    // From here on the client is who it says it is (offline mode); allow vanilla-sized frames.
    conn.set_max_frame_len(MAX_FRAME_LEN);

    let Some(server) = state.server(server).cloned() else {
        kick(conn, "No server is available").await;
        return Err(SessionError::Refused("no default server".into()));
    };
    let identity = link::Identity {
        name: name.clone(),
        uuid,
        properties: Vec::new(),
        address: conn.peer_addr(),
    };
    let backend = match link::login(state, &server, &identity).await {
        Ok(backend) => backend,
        Err(e) => {
            kick(conn, &format!("Could not connect to {}: {e}", server.id)).await;
            return Err(SessionError::backend(&server.id, e));
        }
    };

    let profile = GameProfile::new(uuid, name);
    conn.write(ClientboundLoginFinished {
        game_profile: profile,
    })
    .await
    .map_err(ClientError::from)?;
    loop {
        let packet = match timeout(limits.login_timeout(), conn.read()).await {
            Err(_) => {
                return Err(ClientError::Timeout("waiting for the login acknowledgement").into());
            }
            Ok(packet) => packet.map_err(ClientError::from)?,
        };
        match packet {
            ServerboundLoginPacket::LoginAcknowledged(_) => break,
            // Answers to queries we never sent; harmless.
            ServerboundLoginPacket::CustomQueryAnswer(_)
            | ServerboundLoginPacket::CookieResponse(_) => {}
            other => {
                return Err(ClientError::Protocol(format!(
                    "unexpected {} before login acknowledgement",
                    other_name(&other)
                ))
                .into());
            }
        }
    }
    let admitted = relay::Admitted {
        player,
        identity,
        commands: commands_rx,
        server,
    };
    // A task of its own: every wake-up of a task polls down through its futures, and the
    // session's would pass the listener's, the span's, the handshake's and this one, each
    // resuming on a line of its own that a thousand other sessions had pushed out of the cache
    // (a cache simulation of the benchmark counted a sixth of the data misses per packet
    // there). This task only waits for it.
    let session = tokio::spawn(
        relay::run(
            Arc::clone(state),
            conn.config(),
            backend,
            admitted,
            shutdown,
        )
        .in_current_span(),
    );
    match session.await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Cancelled: only by the runtime shutting down, which drops this task as well.
        Err(_) => Ok(()),
    }
}

fn other_name(packet: &ServerboundLoginPacket) -> &'static str {
    use azalea_protocol::packets::ProtocolPacket;
    packet.name()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_uuid_matches_java() {
        // UUID.nameUUIDFromBytes("OfflinePlayer:Notch".getBytes(UTF_8))
        assert_eq!(
            offline_uuid("Notch").to_string(),
            "b50ad385-829d-3141-a216-7e7d7539ba7f"
        );
    }

    #[test]
    fn names() {
        assert!(valid_name("Alice_01"));
        assert!(!valid_name(""));
        assert!(!valid_name("seventeen_chars__"));
        assert!(!valid_name("bad name"));
        assert!(!valid_name("é"));
    }
}
