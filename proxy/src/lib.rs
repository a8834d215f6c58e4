//! Meridian: a proxy for Minecraft Java Edition 26.1 that makes several backends feel like one
//! seamless world.
//!
//! # Layout
//! - [`config`]: the TOML configuration, validated before anything binds.
//! - [`listener`]: the accept loop (one task per connection, a connection cap).
//! - [`session`]: one player's connection: handshake, login, backend links, the relay.
//! - [`routing`]: routing policy as pure functions over packet ids and heads.
//! - [`view`]: which chunk a packet is about and which link each shown chunk came from.
//! - [`entities`]: per-session entity-id mapping and rewriting of id-bearing packets.
//! - [`mirror`]: a player's visible state on their primary, derived from relayed packets, for
//!   `MirrorState`.
//! - [`status`]: the server-list ping.
//! - [`state`]: what other tasks may see of the proxy: servers, players, session handles.
//! - [`admin`]: the admin HTTP API and `/metrics`; [`metrics`] holds the counters.
//! - [`health`]: backend reachability probes.
//! - [`zones`]: the zone map sessions route by, the store behind it, and live re-zoning.
//! - `demo` (feature `demo`, on by default): two reference backends and the proxy in one process.
//!
//! Framing (length prefix, limits, compression) lives in the `meridian-wire` crate, below all of
//! this.

pub mod admin;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod entities;
pub mod error;
pub mod health;
pub mod listener;
pub mod metrics;
pub mod mirror;
pub mod routing;
pub mod session;
pub mod state;
pub mod status;
pub mod view;
pub mod zones;

use std::{sync::Arc, time::Duration};

use dashmap::DashMap;
use tokio::net::TcpListener;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tracing::{info, warn};

pub use crate::{
    config::Config,
    error::{ProxyError, SessionError},
    state::ProxyState,
};
use crate::{metrics::Metrics, state::Server, status::StatusInfo};

/// The runtime `meridian run` serves on, given how many CPUs the process may use: one thread
/// when it may use only one (as the benchmark pins it), where the multi-threaded scheduler's
/// work-stealing bookkeeping costs without helping; tokio's default otherwise.
pub fn runtime(cpus: usize) -> std::io::Result<tokio::runtime::Runtime> {
    if cpus == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Runtime::new()
    }
}

/// How long sessions get to say goodbye on shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A configured proxy, ready to serve on listeners the caller has bound.
#[derive(Debug)]
pub struct Proxy {
    state: Arc<ProxyState>,
}

impl Proxy {
    /// Validates `config` and prepares the shared state; binds nothing.
    pub fn new(config: Config) -> Result<Self, ProxyError> {
        config.validate()?;
        let favicon =
            match &config.status.favicon {
                Some(path) => Some(status::load_favicon(path).map_err(|reason| {
                    config::ConfigError::Invalid {
                        field: "status.favicon".into(),
                        reason,
                    }
                })?),
                None => None,
            };
        let status = StatusInfo {
            motd: config.status.motd.clone(),
            max_players: config.status.max_players,
            favicon,
        };
        let servers = config
            .servers
            .iter()
            .map(|s| Arc::new(Server::new(s.id.clone(), s.address.clone())))
            .collect();
        let zones = zones::Zones::new(config.zone_map()?);
        Ok(Self {
            state: Arc::new(ProxyState {
                config,
                status,
                servers,
                zones,
                players: DashMap::new(),
                metrics: Metrics::new(),
            }),
        })
    }

    /// The shared state, for tests and embedding.
    pub fn state(&self) -> &Arc<ProxyState> {
        &self.state
    }

    /// Serves players on `listener` (and the admin API on `admin`) until `shutdown` is cancelled,
    /// then disconnects every player and returns.
    pub async fn run(
        self,
        listener: TcpListener,
        admin: Option<TcpListener>,
        shutdown: CancellationToken,
    ) -> Result<(), ProxyError> {
        let state = self.state;
        // Background tasks (the zone watcher, the coordinator) outlive no run.
        let background = shutdown.child_token();
        let _stop_background = background.clone().drop_guard();
        zones::start(&state, &background).await?;
        let tracker = TaskTracker::new();
        if let Ok(addr) = listener.local_addr() {
            info!(%addr, "accepting players");
        }
        tracker.spawn(health::run(state.clone(), shutdown.child_token()));
        if let Some(admin) = admin {
            if let Ok(addr) = admin.local_addr() {
                info!(%addr, "admin API listening");
            }
            let state = state.clone();
            let shutdown = shutdown.child_token();
            tracker.spawn(async move {
                if let Err(e) = admin::serve(state, admin, shutdown).await {
                    warn!("admin API stopped: {e}");
                }
            });
        }
        listener::accept_loop(state, listener, shutdown, tracker.clone()).await;
        tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
            .await
            .is_err()
        {
            warn!("sessions still open after {SHUTDOWN_GRACE:?}; dropping them");
        }
        Ok(())
    }
}

/// Validates `config` and serves until `shutdown`: the whole proxy in one call.
pub async fn run(
    config: Config,
    listener: TcpListener,
    admin: Option<TcpListener>,
    shutdown: CancellationToken,
) -> Result<(), ProxyError> {
    Proxy::new(config)?.run(listener, admin, shutdown).await
}
