//! Periodic reachability probes of the backends, for `/api/servers`.
//!
//! A TCP connect is the cheapest honest signal available without the sync channel; the
//! sync-channel heartbeats replace it once a backend speaks that channel.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use tokio::{net::TcpStream, time::timeout};
use tokio_util::sync::CancellationToken;

use crate::state::ProxyState;

pub async fn run(state: Arc<ProxyState>, shutdown: CancellationToken) {
    let interval = state.config.limits.health_check_interval();
    let connect_timeout = state.config.limits.connect_timeout().min(interval);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = shutdown.cancelled() => return,
        }
        for server in &state.servers {
            let online = probe(&server.address, connect_timeout).await;
            server.online.store(online, Ordering::Relaxed);
        }
    }
}

async fn probe(address: &str, limit: Duration) -> bool {
    matches!(timeout(limit, TcpStream::connect(address)).await, Ok(Ok(_)))
}
