//! The backend's configuration: one TOML table, every field but the id optional.

use std::{fmt, path::Path, str::FromStr, time::Duration};

use azalea_registry::builtin::EntityKind;
use serde::{Deserialize, Deserializer};

/// Highest view distance accepted; vanilla's own limit.
pub const MAX_VIEW_DISTANCE: u8 = 32;
/// Lowest block of the world (26.1 overworld).
pub const MIN_Y: i32 = -64;
/// One past the highest block of the world.
pub const MAX_Y: i32 = 320;

/// The secret shared with the proxy to sign forwarded player data.
///
/// Kept out of logs: `Debug` prints `***`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The key bytes for HMAC.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Secret {
    fn from(secret: &str) -> Self {
        Self::new(secret)
    }
}

impl From<String> for Secret {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// A still entity the backend shows at a fixed place, so tests can tell which backend an entity
/// came from. In TOML: `marker = { entity = "minecraft:pig", x = -12.5, y = 64, z = 6.5 }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "MarkerToml")]
pub struct Marker {
    /// The entity type, e.g. `minecraft:pig`.
    pub entity: String,
    pub position: [f64; 3],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkerToml {
    entity: String,
    x: f64,
    y: f64,
    z: f64,
}

impl TryFrom<MarkerToml> for Marker {
    type Error = String;
    fn try_from(m: MarkerToml) -> Result<Self, String> {
        Ok(Marker {
            entity: m.entity,
            position: [m.x, m.y, m.z],
        })
    }
}

impl Marker {
    /// The entity type, if it is one this version knows.
    pub fn kind(&self) -> Option<EntityKind> {
        EntityKind::from_str(&self.entity).ok()
    }
}

impl Default for Marker {
    fn default() -> Self {
        Self {
            entity: "minecraft:pig".into(),
            position: [-12.5, 64.0, 6.5],
        }
    }
}

/// Everything a reference backend needs to know.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    /// The name `/whereami` answers with (`server=<id>`).
    pub id: String,
    /// Must equal the proxy's; may be left out of the file and given as
    /// `MERIDIAN_FORWARDING_SECRET` to the binary instead.
    #[serde(default)]
    pub forwarding_secret: Secret,
    #[serde(default = "default_view_distance")]
    pub view_distance: u8,
    #[serde(default = "default_spawn")]
    pub spawn: [f64; 3],
    /// A table, or `false` for no marker; left out, the default pig.
    #[serde(default = "default_marker", deserialize_with = "marker_setting")]
    pub marker: Option<Marker>,
    /// Packets of at least this many bytes are compressed; `None` (`compression_threshold = -1`
    /// in TOML) turns compression off.
    #[serde(default = "default_compression", deserialize_with = "threshold")]
    pub compression_threshold: Option<u32>,
    #[serde(
        rename = "keep_alive_interval_ms",
        default = "default_keep_alive_interval",
        deserialize_with = "millis"
    )]
    pub keep_alive_interval: Duration,
    #[serde(
        rename = "keep_alive_timeout_ms",
        default = "default_keep_alive_timeout",
        deserialize_with = "millis"
    )]
    pub keep_alive_timeout: Duration,
    /// How long a connection may take from its first byte to entering play.
    #[serde(
        rename = "login_timeout_ms",
        default = "default_login_timeout",
        deserialize_with = "millis"
    )]
    pub login_timeout: Duration,
    /// How long the backend waits for the proxy's `Welcome` after its `Hello` on
    /// `meridian:sync` before disconnecting the link (the spec's `HANDSHAKE_TIMEOUT`).
    #[serde(
        rename = "sync_handshake_timeout_ms",
        default = "default_sync_handshake_timeout",
        deserialize_with = "millis"
    )]
    pub sync_handshake_timeout: Duration,
}

fn default_view_distance() -> u8 {
    6
}
fn default_spawn() -> [f64; 3] {
    [-8.5, 64.0, 0.5]
}
fn default_marker() -> Option<Marker> {
    Some(Marker::default())
}
fn default_compression() -> Option<u32> {
    Some(256)
}
fn default_keep_alive_interval() -> Duration {
    Duration::from_secs(15)
}
fn default_keep_alive_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_login_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_sync_handshake_timeout() -> Duration {
    sync_plugin_protocol::HANDSHAKE_TIMEOUT
}

fn marker_setting<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Marker>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Setting {
        Switch(bool),
        Table(Marker),
    }
    match Setting::deserialize(deserializer)? {
        Setting::Switch(false) => Ok(None),
        Setting::Switch(true) => Ok(default_marker()),
        Setting::Table(marker) => Ok(Some(marker)),
    }
}

fn millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    u64::deserialize(deserializer).map(Duration::from_millis)
}

fn threshold<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    // Vanilla's `network-compression-threshold` uses a negative number for "off".
    let value = i64::deserialize(deserializer)?;
    if value < 0 {
        return Ok(None);
    }
    u32::try_from(value)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl BackendConfig {
    /// A configuration with every default.
    pub fn new(id: impl Into<String>, forwarding_secret: impl Into<Secret>) -> Self {
        Self {
            id: id.into(),
            forwarding_secret: forwarding_secret.into(),
            view_distance: default_view_distance(),
            spawn: default_spawn(),
            marker: default_marker(),
            compression_threshold: default_compression(),
            keep_alive_interval: default_keep_alive_interval(),
            keep_alive_timeout: default_keep_alive_timeout(),
            login_timeout: default_login_timeout(),
            sync_handshake_timeout: default_sync_handshake_timeout(),
        }
    }

    /// Parses TOML without validating (the secret may still come from the environment).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Ok(toml::from_str(text)?)
    }

    /// Reads and parses a TOML file without validating.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text)
    }

    /// Checks everything the backend relies on, so a bad value fails at start-up rather than
    /// in front of a player.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |msg: String| Err(ConfigError::Invalid(msg));
        if self.id.is_empty() || self.id.len() > 64 || self.id.chars().any(char::is_whitespace) {
            return invalid(format!(
                "id {:?} must be 1 to 64 characters without spaces",
                self.id
            ));
        }
        if self.forwarding_secret.is_empty() {
            return invalid(
                "forwarding_secret is empty: set it in the file or in MERIDIAN_FORWARDING_SECRET"
                    .into(),
            );
        }
        if !(2..=MAX_VIEW_DISTANCE).contains(&self.view_distance) {
            return invalid(format!(
                "view_distance {} must be 2 to {MAX_VIEW_DISTANCE}",
                self.view_distance
            ));
        }
        check_position("spawn", self.spawn)?;
        if let Some(marker) = &self.marker {
            if marker.kind().is_none() {
                return invalid(format!(
                    "marker entity {:?} is not a 26.1 entity type",
                    marker.entity
                ));
            }
            if marker.kind() == Some(EntityKind::Player) {
                return invalid("marker entity cannot be a player".into());
            }
            check_position("marker", marker.position)?;
        }
        if let Some(threshold) = self.compression_threshold
            && threshold as usize > meridian_wire::frame::MAX_FRAME_LEN
        {
            return invalid(format!(
                "compression_threshold {threshold} exceeds the largest frame ({}); use -1 to turn compression off",
                meridian_wire::frame::MAX_FRAME_LEN
            ));
        }
        if self.keep_alive_interval.is_zero()
            || self.keep_alive_timeout.is_zero()
            || self.login_timeout.is_zero()
            || self.sync_handshake_timeout.is_zero()
        {
            return invalid("keep_alive_interval_ms, keep_alive_timeout_ms, login_timeout_ms and sync_handshake_timeout_ms must be positive".into());
        }
        if self.keep_alive_timeout < self.keep_alive_interval {
            return invalid("keep_alive_timeout_ms must be at least keep_alive_interval_ms".into());
        }
        Ok(())
    }
}

fn check_position(what: &str, [x, y, z]: [f64; 3]) -> Result<(), ConfigError> {
    // Far beyond any test, well within i32 block coordinates.
    const LIMIT: f64 = 1.0e7;
    if ![x, y, z].iter().all(|v| v.is_finite()) || x.abs() > LIMIT || z.abs() > LIMIT {
        return Err(ConfigError::Invalid(format!(
            "{what} position {x}, {y}, {z} is out of the world"
        )));
    }
    if y < f64::from(MIN_Y) || y >= f64::from(MAX_Y) {
        return Err(ConfigError::Invalid(format!(
            "{what} y {y} must be within {MIN_Y}..{MAX_Y}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let config = BackendConfig::new("a", "s");
        assert_eq!(config.view_distance, 6);
        assert_eq!(config.spawn, [-8.5, 64.0, 0.5]);
        assert_eq!(config.compression_threshold, Some(256));
        assert_eq!(config.keep_alive_interval, Duration::from_secs(15));
        assert_eq!(config.keep_alive_timeout, Duration::from_secs(30));
        assert_eq!(config.login_timeout, Duration::from_secs(10));
        assert_eq!(config.sync_handshake_timeout, Duration::from_secs(5));
        config.validate().unwrap();
        assert_eq!(
            BackendConfig::from_toml("id = \"a\"\nforwarding_secret = \"s\"").unwrap(),
            config
        );
    }

    #[test]
    fn secret_is_not_printed() {
        let config = BackendConfig::new("a", "hunter2");
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn full_table() {
        let config = BackendConfig::from_toml(
            r#"
            id = "east"
            forwarding_secret = "s"
            view_distance = 4
            spawn = [1.5, 70, 2.5]
            marker = { entity = "minecraft:cow", x = 3.5, y = 64, z = 4.5 }
            compression_threshold = -1
            keep_alive_interval_ms = 1000
            keep_alive_timeout_ms = 2000
            login_timeout_ms = 500
            sync_handshake_timeout_ms = 250
            "#,
        )
        .unwrap();
        config.validate().unwrap();
        assert_eq!(
            config.marker,
            Some(Marker {
                entity: "minecraft:cow".into(),
                position: [3.5, 64.0, 4.5]
            })
        );
        assert_eq!(config.compression_threshold, None);
        assert_eq!(config.keep_alive_interval, Duration::from_secs(1));
        assert_eq!(config.login_timeout, Duration::from_millis(500));
        assert_eq!(config.sync_handshake_timeout, Duration::from_millis(250));
        let off = BackendConfig::from_toml("id = \"a\"\nmarker = false").unwrap();
        assert_eq!(off.marker, None);
        let bad =
            BackendConfig::from_toml("id = \"a\"\nmarker = { entity = \"minecraft:pig\", x = 1 }");
        assert!(bad.is_err());
    }

    #[test]
    fn refusals() {
        assert!(BackendConfig::from_toml("id = \"a\"\nbogus = 1").is_err());
        let mut config = BackendConfig::new("a", "");
        assert!(config.validate().is_err());
        config.forwarding_secret = "s".into();
        config.view_distance = 1;
        assert!(config.validate().is_err());
        config.view_distance = 6;
        config.marker = Some(Marker {
            entity: "minecraft:dragonfly".into(),
            position: [0.0, 64.0, 0.0],
        });
        assert!(config.validate().is_err());
        config.marker = None;
        config.spawn = [0.0, f64::NAN, 0.0];
        assert!(config.validate().is_err());
        config.spawn = [0.0, 64.0, 0.0];
        config.compression_threshold = Some(u32::MAX);
        assert!(config.validate().is_err());
        config.compression_threshold = Some(0);
        config.keep_alive_timeout = Duration::from_secs(1);
        assert!(config.validate().is_err());
    }
}
