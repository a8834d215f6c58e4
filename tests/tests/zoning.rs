//! Live re-zoning: a zone handed to another backend while players stand in it, through the
//! admin API, with the static store (one proxy, moves in memory) and with PostgreSQL (two
//! proxies sharing the database). The PostgreSQL tests need the server `scripts/with-postgres`
//! starts and fail, never skip, without it.

use std::collections::HashSet;

use meridian_store::testing::fresh_database;
use meridian_tests::{
    client::TestClient,
    cluster::{ADMIN_TOKEN, Cluster, RunningProxy, TestCluster},
    http,
    scenario::{WAIT, ask, eventually, linked, shown, walk},
    within,
};
use meridian_wire::ids::game::clientbound;
use sync_plugin_protocol::MessageType;

/// The reference backends' view distance, in chunks.
const VIEW: i32 = 6;

/// Every chunk column within view distance of block `x`, z = 0.5.
fn in_view(x: f64) -> HashSet<(i32, i32)> {
    let cx = (x.floor() as i32) >> 4;
    (cx - VIEW..=cx + VIEW)
        .flat_map(|x| (-VIEW..=VIEW).map(move |z| (x, z)))
        .collect()
}

/// Joins `name` through `proxy`, waits for both sync conversations, gives them five diamonds
/// in west and walks them into east's zone (x = 10.5).
async fn player_in_east(cluster: &Cluster, proxy: &RunningProxy, name: &str) -> TestClient {
    let mut client = TestClient::join(proxy.addr, name).await.expect("join");
    linked(cluster, &client).await;
    assert!(ask(&mut client, "give diamond 5").await.contains("diamond"));
    walk(&client, -9, 10).await;
    eventually(WAIT, &format!("{name} is on east"), || {
        proxy
            .state
            .players
            .iter()
            .any(|p| p.name == name && p.primary() == "east")
    })
    .await;
    assert_eq!(ask(&mut client, "whereami").await, "server=east");
    client
}

/// The player is on `server` for the proxy and for the backend, with their five diamonds, and
/// the client still has every chunk in view.
async fn settled_on(proxy: &RunningProxy, client: &mut TestClient, server: &str) {
    let name = client.name().to_owned();
    eventually(WAIT, &format!("{name} swapped to {server}"), || {
        proxy
            .state
            .players
            .iter()
            .any(|p| p.name == name && p.primary() == server)
    })
    .await;
    assert_eq!(ask(client, "whereami").await, format!("server={server}"));
    assert_eq!(ask(client, "inv").await, "inv=diamond:5");
    let wanted = in_view(client.position()[0]);
    assert!(
        wanted.is_subset(&client.loaded_chunks()),
        "{name} lost chunks in view"
    );
}

/// The zone named `id` in a `GET /api/zones` answer.
fn zone(zones: &serde_json::Value, id: &str) -> serde_json::Value {
    zones["zones"]
        .as_array()
        .and_then(|list| list.iter().find(|z| z["id"] == id))
        .unwrap_or_else(|| panic!("no zone {id} in {zones}"))
        .clone()
}

/// Nothing a loading screen or reconnect would show: one login, no respawn, no
/// reconfiguration, no entity spawned twice.
fn seamless(client: &TestClient) {
    assert_eq!(client.count_received(clientbound::LOGIN), 1);
    assert_eq!(client.count_received(clientbound::RESPAWN), 0);
    assert_eq!(client.reconfigurations(), 0);
    assert_eq!(client.duplicate_adds(), 0);
}

#[tokio::test]
async fn moving_the_zone_a_player_stands_in_swaps_them_seamlessly_and_back() {
    within!(120, async {
        let cluster = TestCluster::demo().run().await;
        let proxy = cluster.proxy_at(0);
        let west = cluster.backend("west").handle.clone();
        let east = cluster.backend("east").handle.clone();
        let mut alice = player_in_east(&cluster, proxy, "Alice").await;
        eventually(WAIT, "east's cow is shown", || shown(&alice, "cow") == 1).await;
        let chunks_before = alice.count_received(clientbound::LEVEL_CHUNK_WITH_LIGHT);

        let moved = proxy.move_zone("east", "west").await;
        assert_eq!(moved["moved"], true);
        assert_eq!(moved["zone"]["owner"], "west");
        assert_eq!(moved["zone"]["epoch"], 2);

        settled_on(proxy, &mut alice, "west").await;
        // East let go of its zone and its cow went with it; west owns both zones now.
        eventually(WAIT, "east's cow is gone", || shown(&alice, "cow") == 0).await;
        eventually(WAIT, "the backends applied the new assignment", || {
            east.zones().1.is_empty() && west.zones().1.len() == 2
        })
        .await;
        assert_eq!(east.zones().0, west.zones().0);
        // West was asked for the moved zone's chunks and sent them: the client's copies
        // from east were replaced, not dropped.
        assert!(west.sync_received(MessageType::ResendChunks) >= 1);
        assert!(alice.count_received(clientbound::LEVEL_CHUNK_WITH_LIGHT) > chunks_before);
        seamless(&alice);

        let zones = proxy.admin_get("/api/zones").await;
        assert_eq!(zones["store"], "static");
        assert_eq!(zones["settled"], true);
        let east_zone = zone(&zones, "east");
        assert_eq!(east_zone["owner"], "west");
        assert_eq!(east_zone["epoch"], 2);
        assert_eq!(east_zone["min_chunk_x"], 0);

        // And back: east is linked again, takes the player over and shows its cow.
        proxy.move_zone("east", "east").await;
        settled_on(proxy, &mut alice, "east").await;
        eventually(WAIT, "east's cow is back, once", || {
            shown(&alice, "cow") == 1
        })
        .await;
        seamless(&alice);
        assert!(alice.disconnect_reason().is_none());
    });
}

#[tokio::test]
async fn the_zones_api_refuses_bad_moves_clearly() {
    within!(60, async {
        let cluster = TestCluster::demo().run().await;
        let proxy = cluster.proxy_at(0);
        let post = |path: &'static str, token: Option<&'static str>, body: &'static str| async move {
            http::request(proxy.admin_addr, "POST", path, token, Some(body)).await
        };
        let owner_west = r#"{"owner": "west"}"#;
        // (path, token, body, status, what the error names)
        let refusals: [(&str, Option<&str>, &str, u16, &str); 6] = [
            ("/api/zones/east/owner", None, owner_west, 401, "token"),
            (
                "/api/zones/east/owner",
                Some("wrong"),
                owner_west,
                401,
                "token",
            ),
            (
                "/api/zones/nowhere/owner",
                Some(ADMIN_TOKEN),
                owner_west,
                404,
                "nowhere",
            ),
            (
                "/api/zones/east/owner",
                Some(ADMIN_TOKEN),
                r#"{"owner": "north"}"#,
                400,
                "north",
            ),
            (
                "/api/zones/east/owner",
                Some(ADMIN_TOKEN),
                "{\"own",
                400,
                "owner",
            ),
            (
                "/api/zones/east/owner",
                Some(ADMIN_TOKEN),
                r#"{"owner": "west", "expected_epoch": 7}"#,
                409,
                "epoch 1",
            ),
        ];
        for (path, token, body, status, names) in refusals {
            let (got, answer) = post(path, token, body).await;
            assert_eq!(got, status, "{path} {body}: {answer}");
            assert!(answer.contains(names), "{path} {body}: {answer}");
        }
        // Handing a zone to its owner changes nothing, not even the epoch.
        let (status, body) = post(
            "/api/zones/east/owner",
            Some(ADMIN_TOKEN),
            r#"{"owner": "east"}"#,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let same: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(same["moved"], false);
        assert_eq!(same["zone"]["epoch"], 1);
        let zones = proxy.admin_get("/api/zones").await;
        assert_eq!(zones["epoch"], 2, "two zones at epoch 1: {zones}");
    });
}

#[tokio::test]
async fn two_proxies_on_one_database_swap_their_players_when_a_zone_moves() {
    within!(150, async {
        let url = fresh_database().await;
        let cluster = TestCluster::demo().database(&url).proxies(2).run().await;
        let (first, second) = (cluster.proxy_at(0), cluster.proxy_at(1));
        let zones = second.admin_get("/api/zones").await;
        assert_eq!(zones["store"], "postgres");
        assert_eq!(zones["connected"], true);
        assert_eq!(zones["zones"].as_array().map(Vec::len), Some(2));

        let mut alice = player_in_east(&cluster, first, "Alice").await;
        let mut bob = player_in_east(&cluster, second, "Bob").await;

        // Moved through the first proxy; the second learns it from the database.
        first.move_zone("east", "west").await;
        settled_on(first, &mut alice, "west").await;
        settled_on(second, &mut bob, "west").await;
        let seen = second.admin_get("/api/zones").await;
        let east_zone = zone(&seen, "east");
        assert_eq!(
            (&east_zone["owner"], &east_zone["epoch"]),
            (&"west".into(), &2.into())
        );
        seamless(&alice);
        seamless(&bob);

        // Two operators move the same zone through different proxies at once, both from
        // epoch 2: exactly one wins, the other is told the zone moved on.
        let body = r#"{"owner": "east", "expected_epoch": 2}"#;
        let (a, b) = tokio::join!(
            first.admin_post("/api/zones/east/owner", body),
            second.admin_post("/api/zones/east/owner", body)
        );
        let mut statuses = [a.0, b.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
        settled_on(first, &mut alice, "east").await;
        settled_on(second, &mut bob, "east").await;
        seamless(&alice);
        seamless(&bob);
    });
}

#[tokio::test]
async fn the_demo_keeps_its_zones_in_the_database_it_is_given() {
    within!(60, async {
        meridian_tests::init_tracing();
        let url = fresh_database().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin_addr = admin.local_addr().unwrap();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let demo = {
            let (url, shutdown) = (url.clone(), shutdown.clone());
            tokio::spawn(
                async move { meridian::demo::run(listener, admin, Some(&url), shutdown).await },
            )
        };
        let (status, body) = http::request(admin_addr, "GET", "/api/zones", None, None).await;
        assert_eq!(status, 200, "{body}");
        let zones: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(zones["store"], "postgres");
        let mut store = meridian_store::PgZoneStore::connect(&url).await.unwrap();
        assert_eq!(
            store.load().await.unwrap().len(),
            2,
            "the demo seeded its map"
        );
        shutdown.cancel();
        demo.await.unwrap().expect("demo ran");
    });
}
