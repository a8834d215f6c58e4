//! `meridian demo`: two reference backends, `west` and `east`, and the proxy, in one process.

use std::net::SocketAddr;

use meridian_examples::{BackendConfig, Marker, ReferenceBackend};
use tokio::net::TcpListener;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tracing::{info, warn};

use crate::{Config, Proxy, ProxyError};

/// The demo's backends: id, marker entity and marker position.
const BACKENDS: [(&str, &str, [f64; 3]); 2] = [
    ("west", "minecraft:pig", [-12.5, 64.0, 6.5]),
    ("east", "minecraft:cow", [12.5, 64.0, 6.5]),
];

/// The demo's configuration for backends at `west` and `east`: west owns block x < 0, east x ≥ 0.
/// With `database`, zone ownership lives in that PostgreSQL database (seeded with this map).
pub fn config(
    west: SocketAddr,
    east: SocketAddr,
    secret: &str,
    admin_token: &str,
    database: Option<&str>,
) -> Config {
    let store = database.unwrap_or("static");
    let text = format!(
        r#"
        default_server = "west"
        [[servers]]
        id = "west"
        address = "{west}"
        [[servers]]
        id = "east"
        address = "{east}"
        [forwarding]
        secret = "{secret}"
        [admin]
        token = "{admin_token}"
        [status]
        motd = "Meridian demo: walk across x = 0"
        [zones]
        store = "{store}"
        [[zones.map]]
        id = "west"
        owner = "west"
        max_chunk_x = 0
        [[zones.map]]
        id = "east"
        owner = "east"
        min_chunk_x = 0
        "#
    );
    // The text above is fixed apart from addresses, hex strings and a URL, so it parses (a URL
    // with a quote in it would not, and is refused by `run` before this is called).
    Config::parse(&text).expect("demo config parses")
}

/// A random hex string for secrets that only live as long as the demo.
fn random_hex() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs the demo until `shutdown`; with `database` (a `postgres://` URL), zones live there.
pub async fn run(
    listener: TcpListener,
    admin: TcpListener,
    database: Option<&str>,
    shutdown: CancellationToken,
) -> Result<(), ProxyError> {
    if let Some(url) = database
        && (url.contains(['"', '\\', '\n'])
            || !(url.starts_with("postgres://") || url.starts_with("postgresql://")))
    {
        return Err(crate::config::ConfigError::Invalid {
            field: "--database".into(),
            reason: "expected a postgres:// URL".into(),
        }
        .into());
    }
    let secret = random_hex();
    let tracker = TaskTracker::new();
    let mut addrs = Vec::new();
    for (id, entity, position) in BACKENDS {
        let backend_listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        addrs.push(backend_listener.local_addr()?);
        let mut config = BackendConfig::new(id, secret.as_str());
        config.marker = Some(Marker {
            entity: entity.to_owned(),
            position,
        });
        let backend = ReferenceBackend::new(config);
        let shutdown = shutdown.child_token();
        tracker.spawn(async move {
            if let Err(e) = backend.run(backend_listener, shutdown).await {
                warn!(backend = id, "stopped: {e}");
            }
        });
    }
    let token = std::env::var(crate::config::ADMIN_TOKEN_ENV).unwrap_or_else(|_| random_hex());
    let config = config(addrs[0], addrs[1], &secret, &token, database);
    info!(
        "demo: join with a Minecraft 26.1 client at {}; admin API at http://{}/api/players",
        listener.local_addr()?,
        admin.local_addr()?
    );
    let result = Proxy::new(config)?
        .run(listener, Some(admin), shutdown.clone())
        .await;
    shutdown.cancel();
    tracker.close();
    tracker.wait().await;
    result
}
