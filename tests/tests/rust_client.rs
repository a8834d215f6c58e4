//! The same story as the mineflayer test, told by our own azalea-protocol client, which can also
//! count every packet it receives.

use std::time::Duration;

use meridian_tests::{client::TestClient, cluster::TestCluster, within};
use meridian_wire::ids::game::clientbound;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn our_client_joins_through_the_proxy_and_is_answered_by_west_once() {
    within!(60, async {
        let cluster = TestCluster::demo().run().await;
        let mut alice = TestClient::join(cluster.proxy_addr(), "Alice")
            .await
            .expect("join through the proxy");
        assert_eq!(alice.count_received(clientbound::LOGIN), 1);

        alice.send_command("whereami").await.unwrap();
        assert_eq!(alice.next_system_chat(WAIT).await.unwrap(), "server=west");
        alice.send_chat("hello").await.unwrap();
        assert_eq!(alice.next_system_chat(WAIT).await.unwrap(), "Alice: hello");
        // A duplicate of either answer would arrive before the answer to this sentinel.
        alice.send_command("whereami").await.unwrap();
        assert_eq!(alice.next_system_chat(WAIT).await.unwrap(), "server=west");

        // Movement reaches the proxy's view of the player.
        alice.move_to(-20.5, 64.0, 3.5).await.unwrap();
        let player = loop {
            let players = cluster.admin_get("/api/players").await;
            if players[0]["x"].as_f64() == Some(-20.5) {
                break players[0].clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(
            (player["y"].as_f64(), player["z"].as_f64()),
            (Some(64.0), Some(3.5))
        );

        // Nothing in play re-sent a login, a respawn or a configuration.
        assert_eq!(alice.count_received(clientbound::LOGIN), 1);
        assert_eq!(alice.count_received(clientbound::RESPAWN), 0);
        assert_eq!(alice.reconfigurations(), 0);
        alice.close().await;
    });
}

#[tokio::test]
async fn the_server_list_ping_through_our_client() {
    within!(30, async {
        let cluster = TestCluster::new().backend("west").run().await;
        let status = TestClient::ping(cluster.proxy_addr()).await.expect("ping");
        assert_eq!(status.version.protocol, 775);
    });
}
