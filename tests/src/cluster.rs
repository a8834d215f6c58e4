//! `TestCluster`: reference backends and a proxy on loopback, each on a port the OS picked.
//!
//! ```no_run
//! # async fn story() {
//! use meridian_tests::cluster::TestCluster;
//! let cluster = TestCluster::new().backend("west").backend("east").run().await;
//! let addr = cluster.proxy_addr();
//! # }
//! ```
//!
//! With [`TestCluster::proxies`] several proxies front the same backends (the zone store must
//! then be a shared database: [`TestCluster::database`]); `proxy_addr()` and friends are the
//! first one's, [`Cluster::proxy_at`] reaches any.

use std::{collections::BTreeMap, net::SocketAddr, sync::Arc, time::Duration};

use meridian::{Config, Proxy, ProxyState};
use meridian_examples::{BackendConfig, BackendHandle, Marker, ReferenceBackend};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

/// The forwarding secret the cluster's proxy uses.
pub const SECRET: &str = "test-forwarding-secret";
/// The admin token the cluster's proxy accepts.
pub const ADMIN_TOKEN: &str = "test-admin-token";

/// How one backend of the cluster is built.
#[derive(Debug, Clone)]
pub struct BackendSpec {
    pub id: String,
    pub secret: String,
    pub marker: Option<Marker>,
    pub view_distance: Option<u8>,
    pub keep_alive_interval: Option<Duration>,
}

impl BackendSpec {
    /// A backend that shares the proxy's forwarding secret.
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            secret: SECRET.to_owned(),
            marker: None,
            view_distance: None,
            keep_alive_interval: None,
        }
    }

    /// The backend expects a different secret than the proxy sends.
    pub fn secret(mut self, secret: &str) -> Self {
        self.secret = secret.to_owned();
        self
    }

    pub fn marker(mut self, entity: &str, position: [f64; 3]) -> Self {
        self.marker = Some(Marker {
            entity: entity.to_owned(),
            position,
        });
        self
    }

    pub fn view_distance(mut self, chunks: u8) -> Self {
        self.view_distance = Some(chunks);
        self
    }

    /// How often the backend sends keep-alives (and waits as long again for the answer).
    pub fn keep_alive_interval(mut self, interval: Duration) -> Self {
        self.keep_alive_interval = Some(interval);
        self
    }
}

/// Builds a cluster; see the module docs.
#[derive(Debug, Default)]
pub struct TestCluster {
    backends: Vec<BackendSpec>,
    limits: BTreeMap<String, u64>,
    extra_config: String,
    database: Option<String>,
    proxies: usize,
}

/// A backend of a running cluster.
#[derive(Debug)]
pub struct RunningBackend {
    pub addr: SocketAddr,
    pub handle: BackendHandle,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

/// A reference backend on its own, for tests that talk to it directly (acting as the proxy).
#[derive(Debug)]
pub struct StandaloneBackend {
    pub addr: SocketAddr,
    pub handle: BackendHandle,
    pub shutdown: CancellationToken,
    pub task: JoinHandle<Result<(), meridian_examples::BackendError>>,
}

impl StandaloneBackend {
    /// Starts `config` on `127.0.0.1:0`.
    pub async fn start(config: BackendConfig) -> Self {
        crate::init_tracing();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind backend");
        let addr = listener.local_addr().expect("backend address");
        let backend = ReferenceBackend::new(config);
        let handle = backend.handle();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(backend.run(listener, shutdown.clone()));
        Self {
            addr,
            handle,
            shutdown,
            task,
        }
    }

    /// A player joining directly, signing the forwarding data with `secret`, returned once
    /// the join sequence is over: it ends with `set_health`, so everything before it (chunks,
    /// entities) is in.
    pub async fn join(&self, name: &str, secret: &str) -> crate::client::TestClient {
        let mut client = crate::client::TestClient::builder(name)
            .forwarding(secret)
            .join(self.addr)
            .await
            .unwrap_or_else(|e| panic!("{name} joins {}: {e}", self.handle.id()));
        client
            .wait_for(crate::scenario::WAIT, "set_health", |p| {
                matches!(
                    p,
                    azalea_protocol::packets::game::ClientboundGamePacket::SetHealth(_)
                )
            })
            .await
            .unwrap_or_else(|e| panic!("{name}'s join sequence: {e}"));
        client
    }
}

/// One proxy of a running cluster.
#[derive(Debug)]
pub struct RunningProxy {
    pub addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub state: Arc<ProxyState>,
    shutdown: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl RunningProxy {
    /// GETs an admin API path and parses the JSON.
    pub async fn admin_get(&self, path: &str) -> serde_json::Value {
        let (status, body) = crate::http::request(self.admin_addr, "GET", path, None, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    /// POSTs `body` with the admin token; returns the status and the parsed JSON.
    pub async fn admin_post(&self, path: &str, body: &str) -> (u16, serde_json::Value) {
        let (status, text) =
            crate::http::request(self.admin_addr, "POST", path, Some(ADMIN_TOKEN), Some(body))
                .await;
        let json =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("POST {path}: {e}: {text}"));
        (status, json)
    }

    /// Moves a zone through the admin API and expects it to succeed.
    pub async fn move_zone(&self, zone: &str, owner: &str) -> serde_json::Value {
        let (status, json) = self
            .admin_post(
                &format!("/api/zones/{zone}/owner"),
                &serde_json::json!({ "owner": owner }).to_string(),
            )
            .await;
        assert_eq!(status, 200, "moving {zone} to {owner}: {json}");
        json
    }

    /// The primary server of the player `name` as `/api/players` shows it.
    pub async fn primary_of(&self, name: &str) -> Option<String> {
        let players = self.admin_get("/api/players").await;
        players.as_array()?.iter().find_map(|p| {
            (p["name"] == name).then(|| p["primary"].as_str().unwrap_or_default().to_owned())
        })
    }

    /// Stops this proxy and waits for it to return.
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// A running cluster; everything stops when it is dropped.
#[derive(Debug)]
pub struct Cluster {
    proxies: Vec<RunningProxy>,
    backends: BTreeMap<String, RunningBackend>,
    shutdown: CancellationToken,
}

impl TestCluster {
    pub fn new() -> Self {
        let limits = [
            ("handshake_timeout_ms", 2_000),
            ("login_timeout_ms", 10_000),
            ("health_check_interval_ms", 200),
        ];
        Self {
            limits: limits.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            proxies: 1,
            ..Self::default()
        }
    }

    /// Keeps zone ownership in this PostgreSQL database (`[zones] store = url`).
    pub fn database(mut self, url: &str) -> Self {
        self.database = Some(url.to_owned());
        self
    }

    /// Runs `count` proxies in front of the same backends (with the same configuration).
    pub fn proxies(mut self, count: usize) -> Self {
        self.proxies = count.max(1);
        self
    }

    /// Sets one key of the proxy's `[limits]` table.
    pub fn limit(mut self, key: &str, value: u64) -> Self {
        self.limits.insert(key.to_owned(), value);
        self
    }

    /// Adds a backend with the proxy's secret and no marker.
    pub fn backend(self, id: &str) -> Self {
        self.backend_spec(BackendSpec::new(id))
    }

    pub fn backend_spec(mut self, spec: BackendSpec) -> Self {
        self.backends.push(spec);
        self
    }

    /// The demo's layout: west (pig) owns x < 0, east (cow) owns x ≥ 0.
    pub fn demo() -> Self {
        Self::new()
            .backend_spec(BackendSpec::new("west").marker("minecraft:pig", [-12.5, 64.0, 6.5]))
            .backend_spec(BackendSpec::new("east").marker("minecraft:cow", [12.5, 64.0, 6.5]))
            .config("[[zones.map]]\nid = \"west\"\nowner = \"west\"\nmax_chunk_x = 0\n[[zones.map]]\nid = \"east\"\nowner = \"east\"\nmin_chunk_x = 0\n")
    }

    /// Appends TOML to the proxy's configuration (tables only: it goes after the servers).
    pub fn config(mut self, toml: &str) -> Self {
        self.extra_config.push_str(toml);
        self.extra_config.push('\n');
        self
    }

    /// Starts the backends, then the proxy, all on `127.0.0.1:0`.
    pub async fn run(self) -> Cluster {
        crate::init_tracing();
        let shutdown = CancellationToken::new();
        let mut backends = BTreeMap::new();
        let mut servers = String::new();
        for spec in &self.backends {
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind backend");
            let addr = listener.local_addr().expect("backend address");
            let mut config = BackendConfig::new(&spec.id, spec.secret.as_str());
            config.marker = spec.marker.clone();
            if let Some(view) = spec.view_distance {
                config.view_distance = view;
            }
            if let Some(interval) = spec.keep_alive_interval {
                config.keep_alive_interval = interval;
                config.keep_alive_timeout = config.keep_alive_timeout.max(interval);
            }
            let backend = ReferenceBackend::new(config);
            let handle = backend.handle();
            let token = shutdown.child_token();
            let run_token = token.clone();
            let task = tokio::spawn(async move {
                if let Err(e) = backend.run(listener, run_token).await {
                    tracing::warn!("backend stopped: {e}");
                }
            });
            servers.push_str(&format!(
                "[[servers]]\nid = \"{}\"\naddress = \"{addr}\"\n",
                spec.id
            ));
            backends.insert(
                spec.id.clone(),
                RunningBackend {
                    addr,
                    handle,
                    shutdown: token,
                    task,
                },
            );
        }
        let limits: String = self
            .limits
            .iter()
            .map(|(k, v)| format!("{k} = {v}\n"))
            .collect();
        let store = match &self.database {
            Some(url) => format!("[zones]\nstore = \"{url}\"\n"),
            None => String::new(),
        };
        let text = format!(
            "compression_threshold = 256\n{servers}[forwarding]\nsecret = \"{SECRET}\"\n[admin]\ntoken = \"{ADMIN_TOKEN}\"\n[limits]\n{limits}{store}{}",
            self.extra_config
        );
        let mut proxies = Vec::new();
        for _ in 0..self.proxies {
            proxies.push(start_proxy(&text, shutdown.child_token()).await);
        }
        Cluster {
            proxies,
            backends,
            shutdown,
        }
    }
}

/// Starts a proxy with configuration `text` on `127.0.0.1:0`.
async fn start_proxy(text: &str, shutdown: CancellationToken) -> RunningProxy {
    let config = Config::parse(text).unwrap_or_else(|e| panic!("test config: {e}\n{text}"));
    let proxy = Proxy::new(config).unwrap_or_else(|e| panic!("test config: {e}\n{text}"));
    let state = proxy.state().clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind admin");
    let addr = listener.local_addr().expect("proxy address");
    let admin_addr = admin.local_addr().expect("admin address");
    let token = shutdown.clone();
    let task = tokio::spawn(async move {
        if let Err(e) = proxy.run(listener, Some(admin), token).await {
            // Loud: a proxy that never serves makes the test fail by timeout, and this says why.
            tracing::error!("proxy stopped: {e}");
        }
    });
    RunningProxy {
        addr,
        admin_addr,
        state,
        shutdown,
        task: Some(task),
    }
}

impl Cluster {
    /// Where players connect (to the first proxy).
    pub fn proxy_addr(&self) -> SocketAddr {
        self.proxies[0].addr
    }

    /// Where the first proxy's admin API listens.
    pub fn admin_addr(&self) -> SocketAddr {
        self.proxies[0].admin_addr
    }

    /// The first proxy's shared state.
    pub fn proxy(&self) -> &Arc<ProxyState> {
        &self.proxies[0].state
    }

    /// The `index`th proxy (from 0).
    pub fn proxy_at(&self, index: usize) -> &RunningProxy {
        &self.proxies[index]
    }

    pub fn backend(&self, id: &str) -> &RunningBackend {
        self.backends
            .get(id)
            .unwrap_or_else(|| panic!("no backend {id}"))
    }

    /// Stops a backend and waits until it has closed its connections.
    pub async fn stop_backend(&mut self, id: &str) {
        let backend = self
            .backends
            .remove(id)
            .unwrap_or_else(|| panic!("no backend {id}"));
        backend.shutdown.cancel();
        let _ = backend.task.await;
    }

    /// Stops the first proxy and waits for it to return.
    pub async fn stop_proxy(&mut self) {
        self.proxies[0].stop().await;
    }

    /// GETs a path of the first proxy's admin API and parses the JSON.
    pub async fn admin_get(&self, path: &str) -> serde_json::Value {
        self.proxies[0].admin_get(path).await
    }

    /// GETs the first proxy's `/metrics` as text.
    pub async fn metrics(&self) -> String {
        let (status, body) =
            crate::http::request(self.admin_addr(), "GET", "/metrics", None, None).await;
        assert_eq!(status, 200, "GET /metrics: {body}");
        body
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
