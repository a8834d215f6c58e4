//! Small steps that scenarios share: waiting for a condition, asking a command, walking.

use std::time::Duration;

use tokio::time::Instant;

use crate::{client::TestClient, cluster::Cluster};

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

/// How many entities whose kind ends with `kind` (e.g. `cow`) the client shows.
pub fn shown(client: &TestClient, kind: &str) -> usize {
    client
        .entities()
        .values()
        .filter(|e| e.kind.ends_with(kind))
        .count()
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

/// Waits until both demo backends speak the sync channel with `client`'s player: west as its
/// primary, east as a dummy (the proxy has set their roles).
pub async fn linked(cluster: &Cluster, client: &TestClient) {
    use sync_plugin_protocol::Role;
    let uuid = client.uuid();
    let (west, east) = (
        cluster.backend("west").handle.clone(),
        cluster.backend("east").handle.clone(),
    );
    // A backend counts a player as a dummy until told otherwise, so wait for the `SetRole`s
    // themselves: they follow the completed handshakes.
    let told = |backend: &meridian_examples::BackendHandle| {
        backend.sync_received(sync_plugin_protocol::MessageType::SetRole) > 0
    };
    eventually(WAIT, "west and east know their roles", || {
        told(&west)
            && told(&east)
            && west.role(uuid) == Some(Role::Primary)
            && east.role(uuid) == Some(Role::Dummy)
    })
    .await;
}
