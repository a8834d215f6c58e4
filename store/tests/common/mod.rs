//! Shared by the PostgreSQL test binaries: the server from `scripts/with-postgres` and a
//! fresh database per test, so tests run in parallel without seeing each other's zones.

#![allow(dead_code)] // each test binary uses its own subset

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use tokio_postgres::NoTls;
use zoning::ZoneSpec;

/// How long any one test may take before it counts as hung.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(60);

pub use meridian_store::testing::fresh_database;

/// A plain session for checking tables directly.
pub async fn raw_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(connection);
    client
}

/// Runs a test body under [`TEST_TIMEOUT`], logging to the test's output
/// (`RUST_LOG=meridian_store=debug` for more).
pub async fn timed<F: Future>(body: F) -> F::Output {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "meridian_store=info".into()),
        )
        .with_test_writer()
        .try_init();
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .expect("test timed out")
}

/// Polls `condition` every 10 ms until it holds; panics after `within`.
pub async fn eventually(within: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !condition() {
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Two zones splitting the overworld at chunk x = 0.
pub fn west_east() -> Vec<ZoneSpec> {
    vec![
        ZoneSpec {
            id: "west".into(),
            owner: "a".into(),
            max_chunk_x: Some(0),
            ..ZoneSpec::default()
        },
        ZoneSpec {
            id: "east".into(),
            owner: "b".into(),
            min_chunk_x: Some(0),
            ..ZoneSpec::default()
        },
    ]
}
