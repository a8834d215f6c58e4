//! One player's connection, from handshake to disconnect: one task, one future per direction.
//!
//! - [`handshake`]: reads the intention and dispatches to status or login.
//! - [`login`]: the client's login (offline mode) and the kick helpers.
//! - [`link`]: logging in to a backend with Velocity modern forwarding.
//! - [`relay`]: configuration and play: the primary and dummy links, the view, the swap.
//! - [`sync`]: the proxy's side of each link's `meridian:sync` conversation.

pub mod handshake;
pub mod link;
pub mod login;
pub mod relay;
pub mod sync;

use std::{net::SocketAddr, sync::Arc};

use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, warn};

use crate::{error::SessionError, state::ProxyState};

/// Serves one accepted connection to its end and logs how it ended, once.
pub async fn serve(
    state: Arc<ProxyState>,
    stream: TcpStream,
    peer: SocketAddr,
    shutdown: CancellationToken,
) {
    let span = tracing::info_span!("session", client.addr = %peer, player = tracing::field::Empty);
    async move {
        match handshake::serve(&state, stream, shutdown).await {
            Ok(()) => debug!("session ended"),
            Err(e) => {
                state.metrics.error(e.kind());
                match &e {
                    SessionError::Client(c) if c.is_ordinary() => debug!("client left: {e}"),
                    SessionError::Client(_) | SessionError::Refused(_) => {
                        info!("session ended: {e}")
                    }
                    SessionError::Backend { .. } => warn!("session ended: {e}"),
                }
            }
        }
    }
    .instrument(span)
    .await
}
