//! Offline-mode login that trusts only Velocity modern forwarding.
//!
//! The player's identity comes from the proxy's signed `velocity:player_info` answer, never from
//! the client's hello: without a valid signature, anyone reaching the backend's port directly
//! could claim any UUID.

use std::sync::Arc;

use azalea_auth::game_profile::{GameProfile, GameProfileProperties, ProfilePropertyValue};
use azalea_buf::UnsizedByteArray;
use azalea_chat::FormattedText;
use azalea_protocol::packets::login::{
    ServerboundLoginPacket, c_custom_query::ClientboundCustomQuery,
    c_login_compression::ClientboundLoginCompression,
    c_login_disconnect::ClientboundLoginDisconnect, c_login_finished::ClientboundLoginFinished,
};
use azalea_registry::identifier::Identifier;
use meridian_wire::{
    PROTOCOL_VERSION, VERSION_NAME,
    conn::{ServerConfig, ServerLogin},
    forwarding::{self, ForwardedPlayer, ForwardingError},
};

use crate::{config::BackendConfig, server::SessionError};

/// Shown to a client that connected without the proxy.
pub const NO_FORWARDING: &str =
    "This server requires Velocity modern forwarding: connect through the Meridian proxy";
/// Shown when the proxy's secret differs from ours.
pub const SECRET_MISMATCH: &str = "Unable to verify player details: forwarding secret mismatch";

const QUERY_ID: u32 = 1;

/// A login that succeeded: the connection in configuration and who it is.
#[derive(Debug)]
pub(crate) struct LoggedIn {
    pub conn: ServerConfig,
    pub player: ForwardedPlayer,
}

pub(crate) async fn login(
    mut conn: ServerLogin,
    config: &BackendConfig,
    protocol_version: i32,
) -> Result<LoggedIn, SessionError> {
    if protocol_version != PROTOCOL_VERSION {
        let reason =
            format!("This server runs Minecraft {VERSION_NAME} (protocol {PROTOCOL_VERSION})");
        return refuse(conn, reason).await;
    }
    let hello = match conn.read().await? {
        ServerboundLoginPacket::Hello(hello) => hello,
        other => {
            return Err(SessionError::Protocol(format!(
                "expected hello, got {other:?}"
            )));
        }
    };
    // Ask for version 4 (lazy chat session), the highest we understand, as Paper does.
    conn.write(ClientboundCustomQuery {
        transaction_id: QUERY_ID,
        identifier: Identifier::new(forwarding::CHANNEL),
        data: UnsizedByteArray::from(vec![forwarding::MODERN_LAZY_SESSION]),
    })
    .await?;
    let answer = loop {
        match conn.read().await? {
            ServerboundLoginPacket::CustomQueryAnswer(a) if a.transaction_id == QUERY_ID => {
                break a;
            }
            // A cookie answer is harmless; anything else is out of order.
            ServerboundLoginPacket::CookieResponse(_) => continue,
            other => {
                return Err(SessionError::Protocol(format!(
                    "expected the forwarding answer, got {other:?}"
                )));
            }
        }
    };
    let player = match answer
        .data
        .as_deref()
        .map(|data| forwarding::verify(config.forwarding_secret.as_bytes(), data))
    {
        None | Some(Err(ForwardingError::Missing)) => {
            tracing::info!(name = %hello.name, "refused a login without forwarding");
            return refuse(conn, NO_FORWARDING.into()).await;
        }
        Some(Err(ForwardingError::BadSignature)) => {
            return refuse(conn, SECRET_MISMATCH.into()).await;
        }
        Some(Err(e)) => return refuse(conn, format!("Unable to verify player details: {e}")).await,
        Some(Ok(player)) => player,
    };

    if let Some(threshold) = config.compression_threshold {
        conn.write(ClientboundLoginCompression {
            compression_threshold: threshold as i32,
        })
        .await?;
        conn.set_compression(Some(threshold));
    }
    conn.write(ClientboundLoginFinished {
        game_profile: profile(&player),
    })
    .await?;
    loop {
        match conn.read().await? {
            ServerboundLoginPacket::LoginAcknowledged(_) => break,
            ServerboundLoginPacket::CookieResponse(_) => continue,
            other => {
                return Err(SessionError::Protocol(format!(
                    "expected login_acknowledged, got {other:?}"
                )));
            }
        }
    }
    Ok(LoggedIn {
        conn: conn.config(),
        player,
    })
}

/// The game profile the proxy vouched for, skin included.
pub(crate) fn profile(player: &ForwardedPlayer) -> GameProfile {
    let mut properties = GameProfileProperties::default();
    for p in &player.properties {
        properties.map.insert(
            p.name.clone(),
            ProfilePropertyValue {
                value: p.value.clone(),
                signature: p.signature.clone(),
            },
        );
    }
    GameProfile {
        uuid: player.uuid,
        name: player.name.clone(),
        properties: Arc::new(properties),
    }
}

async fn refuse<T>(mut conn: ServerLogin, reason: String) -> Result<T, SessionError> {
    // The reason matters more than the error: if this write fails, the peer is gone anyway.
    let _ = conn
        .write(ClientboundLoginDisconnect {
            reason: FormattedText::from(reason.clone()),
        })
        .await;
    Err(SessionError::Kicked(reason))
}
