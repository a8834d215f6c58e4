//! Helpers for tests against a real PostgreSQL, shared by this crate's tests and the
//! workspace's integration tests.
//!
//! They expect the server `scripts/with-postgres` starts: its URL in
//! `MERIDIAN_TEST_DATABASE_URL` and a control command in `MERIDIAN_TEST_PG_CTL`. When either
//! is missing they panic with instructions rather than skip: a silently skipped suite proves
//! nothing.

use tokio_postgres::NoTls;

/// The test server's URL.
///
/// # Panics
/// When `MERIDIAN_TEST_DATABASE_URL` is not set.
pub fn server_url() -> String {
    std::env::var("MERIDIAN_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "MERIDIAN_TEST_DATABASE_URL is not set: run the tests under scripts/with-postgres \
             (scripts/test does), e.g. `scripts/with-postgres cargo test -p meridian-store`"
        )
    })
}

/// Creates an empty database on the test server and returns its URL, so tests running in
/// parallel never see each other's zones.
///
/// # Panics
/// When the server is unreachable or refuses.
pub async fn fresh_database() -> String {
    let server = server_url();
    let (client, connection) = tokio_postgres::connect(&server, NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test server at {server}: {e}"));
    let connection = tokio::spawn(connection);
    let name = format!("meridian_test_{:016x}", rand::random::<u64>());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    drop(client);
    let _ = connection.await;
    with_database(&server, &name)
}

/// `url` with its database name replaced by `name`, keeping any `?options`.
pub fn with_database(url: &str, name: &str) -> String {
    let (url, query) = url.split_once('?').unwrap_or((url, ""));
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let path_start = url[authority_start..]
        .find('/')
        .map_or(url.len(), |i| authority_start + i);
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{}/{name}{query}", &url[..path_start])
}

/// Runs the test server's control command: `stop`, `start`, `restart` or `status`.
///
/// Stopping the server stops it for every test of the process: a test that does so must be
/// alone in its test binary (cargo runs test binaries one after another).
///
/// # Panics
/// When `MERIDIAN_TEST_PG_CTL` is not set or the command fails.
pub async fn pg_ctl(action: &str) {
    let ctl = std::env::var("MERIDIAN_TEST_PG_CTL").unwrap_or_else(|_| {
        panic!("MERIDIAN_TEST_PG_CTL is not set: run the tests under scripts/with-postgres")
    });
    let status = tokio::process::Command::new(&ctl)
        .arg(action)
        .stdout(std::process::Stdio::null())
        .status()
        .await
        .unwrap_or_else(|e| panic!("cannot run {ctl}: {e}"));
    assert!(status.success(), "{ctl} {action}: {status}");
}

/// Starts the test server again when dropped, if it is down: a test that fails while it had
/// stopped the server must not take the test binaries after it down too.
#[derive(Debug)]
pub struct StartOnDrop;

impl Drop for StartOnDrop {
    fn drop(&mut self) {
        let Ok(ctl) = std::env::var("MERIDIAN_TEST_PG_CTL") else {
            return;
        };
        let run = |action: &str| {
            std::process::Command::new(&ctl)
                .arg(action)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !run("status") {
            run("start");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_names_are_replaced_and_options_kept() {
        assert_eq!(
            with_database("postgres://u@h:5/postgres?sslmode=disable", "x"),
            "postgres://u@h:5/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h:5", "x"), "postgres://u@h:5/x");
    }
}
