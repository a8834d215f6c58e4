//! The zone database stopped and restarted while players play. This stops the shared test
//! server, so it is the only test of its binary (cargo runs test binaries one at a time).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use meridian_store::{
    PgZoneStore,
    testing::{fresh_database, pg_ctl},
};
use meridian_tests::{
    client::TestClient,
    cluster::TestCluster,
    scenario::{WAIT, ask, eventually, linked, walk},
    within,
};

#[tokio::test]
async fn players_keep_playing_through_a_database_outage_and_the_proxy_catches_up() {
    within!(150, async {
        let url = fresh_database().await;
        let cluster = TestCluster::demo().database(&url).run().await;
        let proxy = cluster.proxy_at(0);
        let mut players = Vec::new();
        for name in ["Alice", "Bob", "Carol"] {
            let client = TestClient::join(proxy.addr, name).await.expect("join");
            linked(&cluster, &client).await;
            walk(&client, -9, 10).await;
            players.push(client);
        }
        eventually(WAIT, "everyone is on east", || {
            proxy.state.players.iter().all(|p| p.primary() == "east")
                && proxy.state.players.len() == 3
        })
        .await;

        // Load: every player walks back and forth inside east's zone, 20 moves a second,
        // for the whole outage.
        let walking = Arc::new(AtomicBool::new(true));
        let moves = Arc::new(AtomicUsize::new(0));
        let players = Arc::new(players);
        let load = {
            let (walking, moves, players) = (walking.clone(), moves.clone(), players.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(50));
                let mut step = 0u32;
                while walking.load(Ordering::Relaxed) {
                    tick.tick().await;
                    step += 1;
                    let x = 8.5 + f64::from(step % 6);
                    for player in players.iter() {
                        player
                            .move_to(x, 64.0, 0.5)
                            .await
                            .expect("move while the database is down");
                    }
                    moves.fetch_add(1, Ordering::Relaxed);
                }
            })
        };

        let _restart = meridian_store::testing::StartOnDrop;
        pg_ctl("stop").await;
        let down = async {
            loop {
                let zones = proxy.admin_get("/api/zones").await;
                if zones["connected"] == false {
                    return zones;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        let zones = tokio::time::timeout(WAIT, down)
            .await
            .expect("the proxy noticed the outage");
        // Still routing by the last map it had.
        assert_eq!(zones["zones"].as_array().map(Vec::len), Some(2));
        let (status, body) = proxy
            .admin_post("/api/zones/east/owner", r#"{"owner": "west"}"#)
            .await;
        assert_eq!(status, 503, "a move needs the database: {body}");
        let during = moves.load(Ordering::Relaxed);
        eventually(WAIT, "the players keep moving", || {
            moves.load(Ordering::Relaxed) > during + 10
        })
        .await;

        pg_ctl("start").await;
        // Moved by someone else (another proxy, an operator) as soon as the server is back:
        // this proxy may still be waiting to reconnect, and must catch up by itself.
        let mut store = PgZoneStore::connect(&url).await.expect("reconnect");
        store
            .move_zone("east", "west", Some(1))
            .await
            .expect("move");
        eventually(WAIT, "every player swapped to west", || {
            proxy.state.players.iter().all(|p| p.primary() == "west")
        })
        .await;
        let zones = proxy.admin_get("/api/zones").await;
        assert_eq!(zones["connected"], true);

        walking.store(false, Ordering::Relaxed);
        load.await.expect("the load ran to the end");
        let mut players = Arc::try_unwrap(players).expect("the load task is done");
        for player in &mut players {
            assert_eq!(ask(player, "whereami").await, "server=west");
            assert!(player.disconnect_reason().is_none());
        }
    });
}
