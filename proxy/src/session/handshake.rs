//! The first packet of every connection: where the client wants to go.

use std::sync::Arc;

use azalea_protocol::packets::{ClientIntention, handshake::ServerboundHandshakePacket};
use meridian_wire::conn::ServerHandshake;
use tokio::{net::TcpStream, time::timeout};
use tokio_util::sync::CancellationToken;

use crate::{
    error::{ClientError, SessionError},
    state::ProxyState,
    status,
};

/// No legitimate handshake or status packet comes near this size; a smaller limit keeps an
/// unauthenticated peer from making us buffer megabytes.
const PRE_LOGIN_MAX_FRAME: usize = 4 * 1024;

pub async fn serve(
    state: &Arc<ProxyState>,
    stream: TcpStream,
    shutdown: CancellationToken,
) -> Result<(), SessionError> {
    let mut conn = ServerHandshake::wrap(stream)
        .map_err(|e| ClientError::from(meridian_wire::FrameError::Io(e)))?;
    conn.set_max_frame_len(PRE_LOGIN_MAX_FRAME);
    let limit = state.config.limits.handshake_timeout();
    let intention = match timeout(limit, conn.read()).await {
        Err(_) => return Err(ClientError::Timeout("waiting for the handshake").into()),
        Ok(packet) => packet.map_err(ClientError::from)?,
    };
    let ServerboundHandshakePacket::Intention(intention) = intention;
    match intention.intention {
        ClientIntention::Status => {
            let online = state.players.len() as i32;
            timeout(
                limit,
                status::serve(
                    conn.status(),
                    &state.status,
                    online,
                    intention.protocol_version,
                ),
            )
            .await
            .map_err(|_| ClientError::Timeout("in the status exchange"))??;
            Ok(())
        }
        ClientIntention::Login | ClientIntention::Transfer => {
            super::login::serve(state, conn.login(), intention.protocol_version, shutdown).await
        }
    }
}
