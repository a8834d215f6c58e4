//! A link: the proxy logged in to a backend on a player's behalf, with Velocity modern forwarding.

use std::{net::SocketAddr, sync::atomic::Ordering};

use azalea_protocol::packets::{
    ClientIntention,
    handshake::ServerboundIntention,
    login::{
        ClientboundLoginPacket, ServerboundCookieResponse, ServerboundCustomQueryAnswer,
        ServerboundHello, ServerboundLoginAcknowledged,
    },
};
use meridian_wire::{
    PROTOCOL_VERSION,
    conn::{ClientConfig, ClientHandshake},
    forwarding::{self, ForwardedPlayer},
};
use tokio::{net::TcpStream, time::timeout};
use uuid::Uuid;

use crate::{
    error::BackendError,
    state::{ProxyState, Server},
};

/// Who the proxy vouches for.
#[derive(Debug, Clone)]
pub struct Identity {
    pub name: String,
    pub uuid: Uuid,
    pub properties: Vec<forwarding::Property>,
    pub address: SocketAddr,
}

/// Connects to `server` and logs `identity` in, returning the link in the configuration phase.
pub async fn login(
    state: &ProxyState,
    server: &Server,
    identity: &Identity,
) -> Result<ClientConfig, BackendError> {
    let limits = &state.config.limits;
    let result = async {
        let stream = timeout(limits.connect_timeout(), connect(&server.address))
            .await
            .map_err(|_| BackendError::ConnectTimeout)??;
        timeout(
            limits.backend_login_timeout(),
            handshake(stream, server, identity, state),
        )
        .await
        .map_err(|_| BackendError::LoginTimeout)?
    }
    .await;
    // A refusal still proves the backend is up; only failing to reach it marks it down.
    let reachable = !matches!(
        result,
        Err(BackendError::Resolve(_) | BackendError::Connect(_) | BackendError::ConnectTimeout)
    );
    server.online.store(reachable, Ordering::Relaxed);
    result
}

async fn connect(address: &str) -> Result<TcpStream, BackendError> {
    let mut last = None;
    let addrs = tokio::net::lookup_host(address)
        .await
        .map_err(|_| BackendError::Resolve(address.to_owned()))?;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    Err(last.map_or_else(
        || BackendError::Resolve(address.to_owned()),
        BackendError::Connect,
    ))
}

async fn handshake(
    stream: TcpStream,
    server: &Server,
    identity: &Identity,
    state: &ProxyState,
) -> Result<ClientConfig, BackendError> {
    let mut conn = ClientHandshake::wrap(stream).map_err(BackendError::Connect)?;
    let (host, port) = server
        .address
        .rsplit_once(':')
        .unwrap_or((&server.address, "25565"));
    conn.write(ServerboundIntention {
        protocol_version: PROTOCOL_VERSION,
        hostname: host.to_owned(),
        port: port.parse().unwrap_or(25565),
        intention: ClientIntention::Login,
    })
    .await?;
    let mut conn = conn.login();
    conn.write(ServerboundHello {
        name: identity.name.clone(),
        profile_id: identity.uuid,
    })
    .await?;
    let secret = state.config.forwarding.secret.expose().as_bytes();
    loop {
        match conn.read().await? {
            ClientboundLoginPacket::CustomQuery(query) => {
                let data = if query.identifier.to_string() == forwarding::CHANNEL {
                    let version = forwarding::negotiate(query.data.first().copied());
                    let player = ForwardedPlayer {
                        address: identity.address.ip().to_string(),
                        uuid: identity.uuid,
                        name: identity.name.clone(),
                        properties: identity.properties.clone(),
                    };
                    Some(forwarding::encode(secret, version, &player).into())
                } else {
                    None
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
            ClientboundLoginPacket::LoginFinished(finished) => {
                if finished.game_profile.uuid != identity.uuid {
                    return Err(BackendError::Protocol(format!(
                        "logged the player in as {} instead of {}: is Velocity modern forwarding enabled?",
                        finished.game_profile.uuid, identity.uuid
                    )));
                }
                conn.write(ServerboundLoginAcknowledged).await?;
                return Ok(conn.config());
            }
            ClientboundLoginPacket::LoginDisconnect(p) => {
                return Err(BackendError::Refused(p.reason.to_string()));
            }
            ClientboundLoginPacket::Hello(_) => {
                return Err(BackendError::Refused(
                    "the backend is in online mode; run it in offline mode with Velocity modern forwarding".into(),
                ));
            }
            ClientboundLoginPacket::CookieRequest(p) => {
                conn.write(ServerboundCookieResponse {
                    key: p.key,
                    payload: None,
                })
                .await?;
            }
        }
    }
}

/// A link that has reached play without the client: what a dummy needs to start.
#[derive(Debug)]
pub struct Joined {
    pub reader: meridian_wire::conn::FrameReader,
    pub writer: meridian_wire::conn::FrameWriter,
    /// The backend's entity id for the player (from its `login` packet).
    pub player_entity_id: i32,
}

/// Logs in to `server` and plays its configuration phase on the client's behalf (the client is
/// already in play with its primary), up to the backend's `login` packet.
///
/// `client_information` is the client's own `client_information` packet (configuration state,
/// id then fields), so the backend sees the same settings as the primary did.
pub async fn join_dummy(
    state: &ProxyState,
    server: &Server,
    identity: &Identity,
    client_information: Option<&[u8]>,
) -> Result<Joined, BackendError> {
    use azalea_protocol::packets::config::{
        ClientboundConfigPacket, ServerboundCookieResponse as ConfigCookieResponse,
        ServerboundFinishConfiguration, ServerboundKeepAlive, ServerboundPong,
        ServerboundResourcePack, ServerboundSelectKnownPacks, s_resource_pack::Action,
    };
    let mut conn = login(state, server, identity).await?;
    let limit = state.config.limits.backend_login_timeout();
    timeout(limit, async {
        if let Some(info) = client_information {
            conn.write_raw(info).await?;
        }
        loop {
            match conn.read().await? {
                ClientboundConfigPacket::SelectKnownPacks(p) => {
                    conn.write(ServerboundSelectKnownPacks {
                        known_packs: p.known_packs,
                    })
                    .await?;
                }
                ClientboundConfigPacket::KeepAlive(p) => {
                    conn.write(ServerboundKeepAlive { id: p.id }).await?
                }
                ClientboundConfigPacket::Ping(p) => {
                    conn.write(ServerboundPong { id: p.id }).await?
                }
                ClientboundConfigPacket::CookieRequest(p) => {
                    conn.write(ConfigCookieResponse {
                        key: p.key,
                        payload: None,
                    })
                    .await?;
                }
                ClientboundConfigPacket::ResourcePackPush(p) => {
                    // The client never sees a dummy's packs; claim success so the backend goes on.
                    conn.write(ServerboundResourcePack {
                        id: p.id,
                        action: Action::SuccessfullyLoaded,
                    })
                    .await?;
                }
                ClientboundConfigPacket::Disconnect(p) => {
                    return Err(BackendError::Refused(p.reason.to_string()));
                }
                ClientboundConfigPacket::FinishConfiguration(_) => {
                    conn.write(ServerboundFinishConfiguration).await?;
                    break;
                }
                // Registries, tags, features, brand: the client has the primary's already.
                _ => {}
            }
        }
        let (mut reader, writer) = conn.game().into_split();
        loop {
            let frame = meridian_wire::conn::next_frame(&mut reader).await?;
            if frame.id() == meridian_wire::ids::game::clientbound::LOGIN {
                let fields = frame.head_fields();
                let id = fields
                    .get(..4)
                    .and_then(|b| b.try_into().ok())
                    .map(i32::from_be_bytes)
                    .ok_or_else(|| BackendError::Protocol("truncated login packet".into()))?;
                return Ok(Joined {
                    reader,
                    writer,
                    player_entity_id: id,
                });
            }
        }
    })
    .await
    .map_err(|_| BackendError::LoginTimeout)?
}
