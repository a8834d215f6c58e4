//! One backend per player: ping, login, chat, commands, refusals and failures, with real clients.

use std::time::Duration;

use azalea_protocol::packets::{
    ClientIntention,
    handshake::ServerboundIntention,
    status::{ClientboundStatusPacket, ServerboundPingRequest, ServerboundStatusRequest},
};
use meridian_tests::{
    cluster::{ADMIN_TOKEN, BackendSpec, TestCluster},
    http,
    mineflayer::Bot,
    within,
};
use meridian_wire::{PROTOCOL_VERSION, conn::ClientHandshake};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn status_ping_is_answered_by_the_proxy_even_with_every_backend_down() {
    within!(30, async {
        let mut cluster = TestCluster::new().backend("west").run().await;
        cluster.stop_backend("west").await;
        let mut conn = ClientHandshake::connect(cluster.proxy_addr())
            .await
            .unwrap();
        conn.write(ServerboundIntention {
            protocol_version: PROTOCOL_VERSION,
            hostname: "localhost".into(),
            port: 25565,
            intention: ClientIntention::Status,
        })
        .await
        .unwrap();
        let mut conn = conn.status();
        conn.write(ServerboundStatusRequest).await.unwrap();
        let ClientboundStatusPacket::StatusResponse(status) = conn.read().await.unwrap() else {
            panic!("expected a status response");
        };
        assert_eq!(status.version.protocol, 775);
        assert_eq!(status.players.online, 0);
        assert_eq!(status.players.max, 100);
        assert_eq!(status.description.to_string(), "A Meridian server");
        conn.write(ServerboundPingRequest { time: 42 })
            .await
            .unwrap();
        let ClientboundStatusPacket::PongResponse(pong) = conn.read().await.unwrap() else {
            panic!("expected a pong");
        };
        assert_eq!(pong.time, 42);
    });
}

#[tokio::test]
async fn a_real_client_joins_sees_the_world_and_talks_to_west() {
    within!(90, async {
        let cluster = TestCluster::demo().run().await;
        let mut alice = Bot::join(cluster.proxy_addr(), "Alice").await;
        let spawn = alice.spawned(WAIT).await;
        assert_eq!(
            spawn["y"].as_f64(),
            Some(64.0),
            "players stand on the ground at y=64: {spawn}"
        );
        assert_eq!(
            alice.block(WAIT, [-9, 63, 0]).await.as_deref(),
            Some("grass_block")
        );

        // /whereami is answered by west, exactly once: the `hello` sent after it is a sentinel,
        // since the backend answers in order on one stream.
        alice.chat("/whereami").await;
        alice.chat("hello").await;
        alice.chat_line(WAIT, |t| t == "Alice: hello").await;
        let lines: Vec<&str> = alice
            .events
            .iter()
            .filter(|e| e["event"] == "chat")
            .filter_map(|e| e["text"].as_str())
            .collect();
        assert_eq!(
            lines.iter().filter(|t| **t == "server=west").count(),
            1,
            "{lines:?}"
        );
        // And `hello` once: a second copy would arrive before the next answer.
        alice.chat("/whereami").await;
        alice.chat_line(WAIT, |t| t.starts_with("server=")).await;
        let hellos = alice
            .events
            .iter()
            .filter(|e| e["event"] == "chat" && e["text"] == "Alice: hello")
            .count();
        assert_eq!(hellos, 1);

        // West's pig is there.
        let entities = alice.entities(WAIT).await;
        assert!(
            entities
                .iter()
                .any(|e| e["name"] == "pig" && (e["x"].as_f64().unwrap() + 12.5).abs() < 0.01),
            "west's pig must be visible: {entities:?}"
        );

        // The admin API knows where Alice is, and that east (in view) is linked as a dummy.
        let players = loop {
            let players = cluster.admin_get("/api/players").await;
            if players[0]["dummies"] == serde_json::json!(["east"]) {
                break players;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let alice_view = &players[0];
        assert_eq!(alice_view["name"], "Alice");
        assert_eq!(alice_view["primary"], "west");
        assert!(alice_view["uuid"].as_str().is_some_and(|u| u.len() == 36));
        let servers = cluster.admin_get("/api/servers").await;
        let west = servers
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == "west")
            .unwrap()
            .clone();
        assert_eq!(west["players"], 1);
        let metrics = cluster.metrics().await;
        assert!(metrics.contains("meridian_players_online 1"), "{metrics}");
        assert!(
            metrics.contains("meridian_packets_total{direction=\"clientbound\"}"),
            "{metrics}"
        );
        alice.quit().await;
    });
}

#[tokio::test]
async fn a_backend_with_another_secret_refuses_the_player_clearly() {
    within!(60, async {
        let cluster = TestCluster::new()
            .backend_spec(BackendSpec::new("west").secret("not-the-proxy-secret"))
            .run()
            .await;
        let mut bob = Bot::join(cluster.proxy_addr(), "Bob").await;
        let kicked = bob.wait_for(WAIT, |e| e["event"] == "kicked").await;
        let reason = kicked["reason"].as_str().unwrap();
        assert!(
            reason.contains("west"),
            "the kick names the server: {reason}"
        );
        assert!(reason.contains("secret"), "the kick says why: {reason}");
    });
}

#[tokio::test]
async fn a_backend_that_is_down_gets_a_clear_kick_not_a_hang() {
    within!(60, async {
        let mut cluster = TestCluster::new().backend("west").run().await;
        cluster.stop_backend("west").await;
        let mut carol = Bot::join(cluster.proxy_addr(), "Carol").await;
        let kicked = carol.wait_for(WAIT, |e| e["event"] == "kicked").await;
        assert!(
            kicked["reason"]
                .as_str()
                .unwrap()
                .contains("Could not connect to west"),
            "{kicked}"
        );
    });
}

#[tokio::test]
async fn stopping_the_backend_under_a_player_kicks_with_the_server_name() {
    within!(60, async {
        let mut cluster = TestCluster::new().backend("west").run().await;
        let mut dave = Bot::join(cluster.proxy_addr(), "Dave").await;
        dave.spawned(WAIT).await;
        cluster.stop_backend("west").await;
        let kicked = dave.wait_for(WAIT, |e| e["event"] == "kicked").await;
        assert!(
            kicked["reason"].as_str().unwrap().contains("west"),
            "{kicked}"
        );
        // The player is gone from the proxy's state.
        let players = loop {
            let players = cluster.admin_get("/api/players").await;
            if players.as_array().unwrap().is_empty() {
                break players;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(players, serde_json::json!([]));
    });
}

#[tokio::test]
async fn admin_changes_need_the_bearer_token() {
    within!(60, async {
        let cluster = TestCluster::new().backend("west").run().await;
        let mut erin = Bot::join(cluster.proxy_addr(), "Erin").await;
        erin.spawned(WAIT).await;
        let admin = cluster.admin_addr();
        let (status, _) = http::request(admin, "POST", "/api/players/Erin/kick", None, None).await;
        assert_eq!(status, 401);
        let (status, _) =
            http::request(admin, "POST", "/api/players/Erin/kick", Some("wrong"), None).await;
        assert_eq!(status, 401);
        let (status, _) = http::request(
            admin,
            "POST",
            "/api/players/Nobody/kick",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
        assert_eq!(status, 404);
        let body = r#"{"reason": "Testing kicks"}"#;
        let (status, _) = http::request(
            admin,
            "POST",
            "/api/players/Erin/kick",
            Some(ADMIN_TOKEN),
            Some(body),
        )
        .await;
        assert_eq!(status, 202);
        let kicked = erin.wait_for(WAIT, |e| e["event"] == "kicked").await;
        assert!(
            kicked["reason"].as_str().unwrap().contains("Testing kicks"),
            "{kicked}"
        );
    });
}

#[tokio::test]
async fn a_second_login_with_the_same_name_is_refused() {
    within!(60, async {
        let cluster = TestCluster::new().backend("west").run().await;
        let mut first = Bot::join(cluster.proxy_addr(), "Frank").await;
        first.spawned(WAIT).await;
        let mut second = Bot::join(cluster.proxy_addr(), "Frank").await;
        let kicked = second.wait_for(WAIT, |e| e["event"] == "kicked").await;
        assert!(
            kicked["reason"]
                .as_str()
                .unwrap()
                .contains("already connected"),
            "{kicked}"
        );
        // The first is untouched.
        first.chat("/whereami").await;
        first.chat_line(WAIT, |t| t == "server=west").await;
    });
}

#[tokio::test]
async fn shutting_the_proxy_down_tells_players() {
    within!(60, async {
        let mut cluster = TestCluster::new().backend("west").run().await;
        let mut gina = Bot::join(cluster.proxy_addr(), "Gina").await;
        gina.spawned(WAIT).await;
        cluster.stop_proxy().await;
        let kicked = gina.wait_for(WAIT, |e| e["event"] == "kicked").await;
        assert!(
            kicked["reason"].as_str().unwrap().contains("shutting down"),
            "{kicked}"
        );
    });
}

/// A cluster of `west` alone, without its sync conversation (so it sends no heartbeats), a read
/// timeout of `read_timeout_ms`, and Hana joined.
async fn hana_without_sync(
    west: BackendSpec,
    read_timeout_ms: u64,
) -> (
    meridian_tests::cluster::Cluster,
    meridian_tests::client::TestClient,
) {
    let cluster = TestCluster::new()
        .backend_spec(west)
        .limit("read_timeout_ms", read_timeout_ms)
        .run()
        .await;
    cluster.backend("west").handle.stop_sync(true);
    let hana = meridian_tests::client::TestClient::join(cluster.proxy_addr(), "Hana")
        .await
        .expect("join");
    (cluster, hana)
}

/// The other side of the read timeout: peers that keep talking, each at intervals shorter than
/// it, outlive it many times over (a session that stopped noting what it read would close them).
#[tokio::test]
async fn peers_that_keep_talking_outlive_the_read_timeout() {
    within!(60, async {
        let west = BackendSpec::new("west").keep_alive_interval(Duration::from_millis(300));
        let (_cluster, mut hana) = hana_without_sync(west, 1000).await;
        // 20 rounds of 200 ms: four read timeouts.
        for _ in 0..20 {
            hana.move_to(-8.5, 64.0, 0.5).await.unwrap();
            match hana.wait_closed(Duration::from_millis(200)).await {
                Err(_) => continue,
                Ok(reason) => panic!("closed while both sides talked: {reason:?}"),
            }
        }
    });
}

#[tokio::test]
async fn a_backend_that_goes_silent_is_given_up_on_after_the_read_timeout() {
    within!(60, async {
        // Without its sync conversation west sends no heartbeats, and its keep-alives come every
        // 15 s: once the player stands still, west says nothing at all.
        let (_cluster, mut hana) = hana_without_sync(BackendSpec::new("west"), 1500).await;
        // The client keeps talking, so only the backend is silent.
        let reason = loop {
            hana.move_to(-8.5, 64.0, 0.5).await.unwrap();
            match hana.wait_closed(Duration::from_millis(200)).await {
                Ok(Some(reason)) => break reason,
                Ok(None) => panic!("closed without a reason"),
                Err(_) => continue,
            }
        };
        assert!(
            reason.contains("west") && reason.contains("sent nothing"),
            "{reason}"
        );
    });
}
