//! Small steps that scenarios share: waiting for a condition, asking a command, walking.

use std::time::Duration;

use tokio::time::Instant;

use crate::client::TestClient;

/// How long a scenario step may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// Waits until `check` holds, polling every 10 ms; panics naming `what` after `within`.
///
/// This is for state that changes on its own schedule (another connection's effect); it is
/// not a sleep used as synchronisation, since it ends as soon as the condition holds.
pub async fn eventually(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Sends a command (without its slash) and returns the next system chat line.
pub async fn ask(client: &mut TestClient, command: &str) -> String {
    client.send_command(command).await.expect("send a command");
    client.next_system_chat(WAIT).await.expect("an answer")
}

/// Walks in one-block steps along z = 0.5, at y = 64, from block x `from` to `to`.
pub async fn walk(client: &TestClient, from: i32, to: i32) {
    let step = if to > from { 1 } else { -1 };
    let mut x = from;
    while x != to {
        x += step;
        client
            .move_to(x as f64 + 0.5, 64.0, 0.5)
            .await
            .expect("move");
    }
}
