//! The proxy's configuration: TOML, unknown keys refused, validated before any socket is bound.

use std::{
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::Deserialize;

/// The environment variable that supplies the forwarding secret (overrides the file).
pub const FORWARDING_SECRET_ENV: &str = "MERIDIAN_FORWARDING_SECRET";
/// The environment variable that supplies the admin API token (overrides the file).
pub const ADMIN_TOKEN_ENV: &str = "MERIDIAN_ADMIN_TOKEN";

/// A string that never shows up in logs or `Debug` output.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

/// Everything the proxy needs to run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where players connect (used by `meridian run`).
    #[serde(default = "default_bind")]
    pub bind: SocketAddr,
    /// Packets of at least this many bytes are compressed; -1 disables compression.
    #[serde(default = "default_compression_threshold")]
    pub compression_threshold: i32,
    /// The backend a player joins first; the first server when omitted.
    #[serde(default)]
    pub default_server: Option<String>,
    /// The backends behind the proxy.
    pub servers: Vec<ServerConfig>,
    #[serde(default)]
    pub forwarding: ForwardingConfig,
    #[serde(default)]
    pub status: StatusConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub admin: AdminConfig,
    /// Which backend owns which chunks, and where that is kept.
    #[serde(default)]
    pub zones: ZonesConfig,
}

/// The zone map and its store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZonesConfig {
    /// `static` (the map below is the whole truth) or a `postgres://` URL (ownership lives in the
    /// database, shared by every proxy; the map below only seeds an empty database).
    #[serde(default)]
    pub store: ZoneStore,
    /// How far (in blocks) the player must be inside another backend's zone before it becomes
    /// the primary, so walking along a border does not swap back and forth.
    #[serde(default = "default_swap_margin")]
    pub swap_margin: f64,
    /// The zones.
    #[serde(default)]
    pub map: Vec<zoning::ZoneSpec>,
}

fn default_swap_margin() -> f64 {
    zoning::DEFAULT_SWAP_MARGIN
}

impl Default for ZonesConfig {
    fn default() -> Self {
        Self {
            store: ZoneStore::default(),
            swap_margin: default_swap_margin(),
            map: Vec::new(),
        }
    }
}

/// Where zone ownership is kept.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum ZoneStore {
    #[default]
    Static,
    /// A PostgreSQL connection URL (may carry a password, so `Debug` hides it).
    Postgres(Secret),
    /// Anything else, refused by validation with the value in the message.
    Unknown(String),
}

impl From<String> for ZoneStore {
    fn from(value: String) -> Self {
        if value == "static" {
            ZoneStore::Static
        } else if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            ZoneStore::Postgres(Secret::new(value))
        } else {
            ZoneStore::Unknown(value)
        }
    }
}

impl fmt::Debug for ZoneStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZoneStore::Static => f.write_str("Static"),
            ZoneStore::Postgres(_) => f.write_str("Postgres(\"***\")"),
            ZoneStore::Unknown(v) => write!(f, "Unknown({v:?})"),
        }
    }
}

/// One backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// A short, unique name such as `west`.
    pub id: String,
    /// `host:port` of the backend.
    pub address: String,
}

/// Velocity modern forwarding towards the backends.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardingConfig {
    /// The shared secret; prefer `secret_file` or the environment variable.
    #[serde(default)]
    pub secret: Secret,
    /// A file holding the secret (surrounding whitespace is ignored).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
}

/// What the server-list ping shows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusConfig {
    #[serde(default = "default_motd")]
    pub motd: String,
    #[serde(default = "default_max_players")]
    pub max_players: i32,
    /// A 64×64 PNG shown next to the server in the list.
    #[serde(default)]
    pub favicon: Option<PathBuf>,
}

impl Default for StatusConfig {
    fn default() -> Self {
        Self {
            motd: default_motd(),
            max_players: default_max_players(),
            favicon: None,
        }
    }
}

/// Limits and timeouts that protect the proxy from slow or hostile peers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Connections (of any state) open at once; more are closed on accept.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Time from accept to a complete handshake, and for a whole status exchange.
    #[serde(default = "default_handshake_timeout_ms")]
    pub handshake_timeout_ms: u64,
    /// Time for a client's whole login and configuration.
    #[serde(default = "default_login_timeout_ms")]
    pub login_timeout_ms: u64,
    /// Time to open a TCP connection to a backend.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Time for a backend to accept a login.
    #[serde(default = "default_backend_login_timeout_ms")]
    pub backend_login_timeout_ms: u64,
    /// A peer that sends nothing for this long in play is gone (vanilla kicks after 30 s).
    #[serde(default = "default_read_timeout_ms")]
    pub read_timeout_ms: u64,
    /// How often backends are probed for `/api/servers`.
    #[serde(default = "default_health_check_interval_ms")]
    pub health_check_interval_ms: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_connections: default_max_connections(),
            handshake_timeout_ms: default_handshake_timeout_ms(),
            login_timeout_ms: default_login_timeout_ms(),
            connect_timeout_ms: default_connect_timeout_ms(),
            backend_login_timeout_ms: default_backend_login_timeout_ms(),
            read_timeout_ms: default_read_timeout_ms(),
            health_check_interval_ms: default_health_check_interval_ms(),
        }
    }
}

impl LimitsConfig {
    pub fn handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.handshake_timeout_ms)
    }
    pub fn login_timeout(&self) -> Duration {
        Duration::from_millis(self.login_timeout_ms)
    }
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
    pub fn backend_login_timeout(&self) -> Duration {
        Duration::from_millis(self.backend_login_timeout_ms)
    }
    pub fn read_timeout(&self) -> Duration {
        Duration::from_millis(self.read_timeout_ms)
    }
    pub fn health_check_interval(&self) -> Duration {
        Duration::from_millis(self.health_check_interval_ms)
    }
}

/// The admin HTTP API.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Where the API listens; no API when omitted.
    #[serde(default)]
    pub bind: Option<SocketAddr>,
    /// Bearer token for endpoints that change anything.
    #[serde(default)]
    pub token: Secret,
}

fn default_bind() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 25565))
}
fn default_compression_threshold() -> i32 {
    256
}
fn default_motd() -> String {
    "A Meridian server".to_owned()
}
fn default_max_players() -> i32 {
    100
}
fn default_max_connections() -> usize {
    1024
}
fn default_handshake_timeout_ms() -> u64 {
    5_000
}
fn default_login_timeout_ms() -> u64 {
    30_000
}
fn default_connect_timeout_ms() -> u64 {
    5_000
}
fn default_backend_login_timeout_ms() -> u64 {
    10_000
}
fn default_read_timeout_ms() -> u64 {
    30_000
}
fn default_health_check_interval_ms() -> u64 {
    5_000
}

/// Why a configuration was refused; each names the field at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

impl Config {
    /// Reads, completes from the environment and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Self::parse(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })?;
        config.resolve_secrets(|name| std::env::var(name).ok(), path.parent())?;
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML without validating (for callers that build configs in code).
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Fills secrets from the environment or their files. `env` is a parameter so tests need not
    /// touch the process environment.
    pub fn resolve_secrets(
        &mut self,
        env: impl Fn(&str) -> Option<String>,
        base_dir: Option<&Path>,
    ) -> Result<(), ConfigError> {
        if let Some(file) = &self.forwarding.secret_file {
            let path = match base_dir {
                Some(dir) if file.is_relative() => dir.join(file),
                _ => file.clone(),
            };
            let text = std::fs::read_to_string(&path).map_err(|e| {
                invalid(
                    "forwarding.secret_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            self.forwarding.secret = Secret::new(text.trim());
        }
        if let Some(secret) = env(FORWARDING_SECRET_ENV).filter(|s| !s.is_empty()) {
            self.forwarding.secret = Secret::new(secret);
        }
        if let Some(token) = env(ADMIN_TOKEN_ENV).filter(|s| !s.is_empty()) {
            self.admin.token = Secret::new(token);
        }
        Ok(())
    }

    /// Checks everything that can be checked without the network.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.servers.is_empty() {
            return Err(invalid("servers", "at least one backend is required"));
        }
        let mut ids = std::collections::HashSet::new();
        for (i, server) in self.servers.iter().enumerate() {
            let field = format!("servers[{i}]");
            if server.id.is_empty()
                || !server
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(invalid(
                    format!("{field}.id"),
                    "use letters, digits, '-', '_' or '.'",
                ));
            }
            if !ids.insert(server.id.as_str()) {
                return Err(invalid(
                    format!("{field}.id"),
                    format!("duplicate server id {:?}", server.id),
                ));
            }
            match server.address.rsplit_once(':') {
                Some((host, port))
                    if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p != 0) => {}
                _ => return Err(invalid(format!("{field}.address"), "expected host:port")),
            }
        }
        if let Some(default) = &self.default_server
            && !ids.contains(default.as_str())
        {
            return Err(invalid(
                "default_server",
                format!("no server has id {default:?}"),
            ));
        }
        if self.forwarding.secret.is_empty() {
            return Err(invalid(
                "forwarding.secret",
                format!("a forwarding secret is required (or set {FORWARDING_SECRET_ENV})"),
            ));
        }
        if self.compression_threshold < -1 {
            return Err(invalid(
                "compression_threshold",
                "use -1 to disable, or a size in bytes",
            ));
        }
        if self.status.max_players < 0 {
            return Err(invalid("status.max_players", "must not be negative"));
        }
        if self.limits.max_connections == 0 {
            return Err(invalid("limits.max_connections", "must be at least 1"));
        }
        for (field, value) in [
            (
                "limits.handshake_timeout_ms",
                self.limits.handshake_timeout_ms,
            ),
            ("limits.login_timeout_ms", self.limits.login_timeout_ms),
            ("limits.connect_timeout_ms", self.limits.connect_timeout_ms),
            (
                "limits.backend_login_timeout_ms",
                self.limits.backend_login_timeout_ms,
            ),
            ("limits.read_timeout_ms", self.limits.read_timeout_ms),
            (
                "limits.health_check_interval_ms",
                self.limits.health_check_interval_ms,
            ),
        ] {
            if value == 0 {
                return Err(invalid(field, "must be greater than 0"));
            }
        }
        if let Some(path) = &self.status.favicon {
            crate::status::load_favicon(path).map_err(|e| invalid("status.favicon", e))?;
        }
        if self.admin.bind.is_some() && self.admin.token.is_empty() {
            tracing::debug!("admin API has no token: endpoints that change state are disabled");
        }
        if let ZoneStore::Postgres(url) = &self.zones.store {
            // The parser's messages name the part that is wrong, never the password.
            meridian_store::parse_url(url.expose())
                .map_err(|e| invalid("zones.store", e.to_string()))?;
        }
        if let ZoneStore::Unknown(value) = &self.zones.store {
            return Err(invalid(
                "zones.store",
                format!("expected \"static\" or a postgres:// URL, not {value:?}"),
            ));
        }
        if !(self.zones.swap_margin.is_finite() && (0.0..=64.0).contains(&self.zones.swap_margin)) {
            return Err(invalid(
                "zones.swap_margin",
                "must be between 0 and 64 blocks",
            ));
        }
        let zones = self.zone_map()?;
        for zone in zones.zones() {
            if !ids.contains(zone.owner.as_str()) {
                return Err(invalid(
                    format!("zones.map.{}", zone.id),
                    format!("owner {:?} is not a configured server", zone.owner.as_str()),
                ));
            }
        }
        Ok(())
    }

    /// The static zone map.
    pub fn zone_map(&self) -> Result<zoning::ZoneMap, ConfigError> {
        zoning::ZoneMap::from_specs(&self.zones.map)
            .map_err(|e| invalid("zones.map", e.to_string()))
    }

    /// The compression threshold, or `None` when disabled.
    pub fn compression(&self) -> Option<u32> {
        u32::try_from(self.compression_threshold).ok()
    }

    /// The server a player joins first.
    pub fn default_server(&self) -> &str {
        self.default_server
            .as_deref()
            .unwrap_or(&self.servers[0].id)
    }
}

#[cfg(test)]
mod tests;
