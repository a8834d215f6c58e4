//! The accept loop: one task per connection, a cap on connections, a clean stop.

use std::sync::Arc;

use tokio::{net::TcpListener, sync::Semaphore};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tracing::{debug, warn};

use crate::{session, state::ProxyState};

/// Accepts players until `shutdown`, then returns; sessions are tracked by `tracker`.
pub async fn accept_loop(
    state: Arc<ProxyState>,
    listener: TcpListener,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    let permits = Arc::new(Semaphore::new(state.config.limits.max_connections));
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: transient, keep serving.
                    warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => return,
        };
        state.metrics.connections.inc();
        // Refusing at once is kinder than letting connections pile up in the backlog unanswered.
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            state.metrics.connections_refused.inc();
            debug!(client.addr = %peer, "connection limit reached, closing");
            drop(stream);
            continue;
        };
        let state = state.clone();
        let shutdown = shutdown.child_token();
        tracker.spawn(async move {
            state.metrics.connections_active.inc();
            session::serve(state.clone(), stream, peer, shutdown).await;
            state.metrics.connections_active.dec();
            drop(permit);
        });
    }
}
