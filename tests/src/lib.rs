//! The integration-test harness of Meridian.
//!
//! - [`cluster`]: `TestCluster`, reference backends and a proxy on `127.0.0.1:0`.
//! - [`client`]: a scripted Rust client on `meridian-wire`.
//! - [`mineflayer`]: a real client with an independent codec, driven over stdin/stdout.
//! - [`http`]: a tiny HTTP client for the admin API.
//! - [`scenario`]: shared steps (`eventually`, `ask`, `walk`).
//!
//! Scenarios live in `tests/*.rs` and read like stories; every one runs under a timeout.

pub mod client;
pub mod cluster;
pub mod http;
pub mod mineflayer;
pub mod scenario;

/// Logs to the test's output once per process, filtered by `RUST_LOG` (default: warnings).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// Runs a test body under a deadline, so no test can hang.
#[macro_export]
macro_rules! within {
    ($secs:expr, $body:expr) => {
        tokio::time::timeout(std::time::Duration::from_secs($secs), $body)
            .await
            .expect(concat!("test timed out after ", stringify!($secs), " s"))
    };
}
