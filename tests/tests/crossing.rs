//! Seamless crossing: walking over the border between west (x < 0) and east (x ≥ 0) of the demo
//! layout. The client must not be able to tell, except by asking `/whereami`.

use std::{collections::HashSet, time::Duration};

use meridian_tests::{
    client::TestClient,
    cluster::TestCluster,
    scenario::{WAIT, ask, eventually, shown},
    within,
};
use meridian_wire::ids::game::clientbound;
use tokio::time::Instant;

/// The reference backends' view distance, in chunks.
const VIEW: i32 = 6;

async fn ask_whereami(client: &mut TestClient) -> String {
    ask(client, "whereami").await
}

/// Every chunk column within view distance of `x, z`.
fn in_view(x: f64, z: f64) -> HashSet<(i32, i32)> {
    let (cx, cz) = ((x.floor() as i32) >> 4, (z.floor() as i32) >> 4);
    (cx - VIEW..=cx + VIEW)
        .flat_map(|x| (cz - VIEW..=cz + VIEW).map(move |z| (x, z)))
        .collect()
}

#[tokio::test]
async fn walking_across_the_border_three_times_is_seamless() {
    within!(180, async {
        let cluster = TestCluster::demo().run().await;
        let mut alice = TestClient::join(cluster.proxy_addr(), "Alice")
            .await
            .expect("join");
        let own_id = alice.entity_id();
        let z = 0.5;
        // Both markers, each exactly once: west's pig directly, east's cow through the dummy link.
        eventually(WAIT, "the pig and the cow are shown", || {
            shown(&alice, "pig") == 1 && shown(&alice, "cow") == 1
        })
        .await;
        assert_eq!(ask_whereami(&mut alice).await, "server=west");

        for lap in 0..3 {
            for (from, to, side) in [(-24, 24, "east"), (24, -24, "west")] {
                let step = if to > from { 1 } else { -1 };
                let mut x = from;
                while x != to {
                    x += step;
                    let pos = x as f64 + 0.5;
                    alice.move_to(pos, 64.0, z).await.unwrap();
                    // Every chunk in view is there at every point of the walk: no holes at the border.
                    let wanted = in_view(pos, z);
                    eventually(
                        WAIT,
                        &format!("lap {lap}: every chunk in view at x={pos}"),
                        || wanted.is_subset(&alice.loaded_chunks()),
                    )
                    .await;
                }
                assert_eq!(
                    ask_whereami(&mut alice).await,
                    format!("server={side}"),
                    "lap {lap} at x={to}"
                );
                assert_eq!(
                    shown(&alice, "pig"),
                    1,
                    "lap {lap}: west's pig exactly once"
                );
                assert_eq!(
                    shown(&alice, "cow"),
                    1,
                    "lap {lap}: east's cow exactly once"
                );
            }
        }
        // The client never saw a login, a respawn or a reconfiguration after joining, its own
        // entity id never changed, and nothing was spawned twice under one id.
        assert_eq!(alice.count_received(clientbound::LOGIN), 1);
        assert_eq!(alice.count_received(clientbound::RESPAWN), 0);
        assert_eq!(alice.count_received(clientbound::START_CONFIGURATION), 0);
        assert_eq!(alice.reconfigurations(), 0);
        assert_eq!(alice.entity_id(), own_id);
        assert!(
            !alice.entities().contains_key(&own_id),
            "no other entity took the player's id"
        );
        assert_eq!(alice.duplicate_adds(), 0);
        assert!(alice.disconnect_reason().is_none());
        let players = cluster.admin_get("/api/players").await;
        assert_eq!(players[0]["primary"], "west");
        assert_eq!(players[0]["dummies"], serde_json::json!(["east"]));
        alice.close().await;
    });
}

#[tokio::test]
async fn standing_near_the_border_shows_both_markers_once() {
    within!(60, async {
        let cluster = TestCluster::demo().run().await;
        let mut bob = TestClient::join(cluster.proxy_addr(), "Bob")
            .await
            .expect("join");
        bob.move_to(-8.0, 64.0, 0.5).await.unwrap();
        eventually(WAIT, "the pig and the cow are shown", || {
            shown(&bob, "pig") == 1 && shown(&bob, "cow") == 1
        })
        .await;
        let entities = bob.entities();
        let cow = entities.values().find(|e| e.kind.ends_with("cow")).unwrap();
        assert_eq!((cow.position[0], cow.position[2]), (12.5, 6.5));
        // Crossing and coming back changes nothing about what is shown.
        for x in [4.5, 8.5, -8.5] {
            bob.move_to(x, 64.0, 0.5).await.unwrap();
            bob.send_command("whereami").await.unwrap();
            bob.next_system_chat(WAIT).await.unwrap();
            assert_eq!((shown(&bob, "pig"), shown(&bob, "cow")), (1, 1), "at x={x}");
        }
        assert_eq!(bob.duplicate_adds(), 0);
    });
}

#[tokio::test]
async fn stopping_east_under_a_player_in_west_keeps_the_player() {
    within!(60, async {
        let mut cluster = TestCluster::demo().run().await;
        let mut carol = TestClient::join(cluster.proxy_addr(), "Carol")
            .await
            .expect("join");
        eventually(WAIT, "the cow is shown", || shown(&carol, "cow") == 1).await;
        cluster.stop_backend("east").await;
        // The east side disappears: its chunks and its cow.
        eventually(WAIT, "east's chunks and cow are gone", || {
            shown(&carol, "cow") == 0 && carol.loaded_chunks().iter().all(|(x, _)| *x < 0)
        })
        .await;
        assert_eq!(ask_whereami(&mut carol).await, "server=west");
        assert!(carol.disconnect_reason().is_none());
    });
}

#[tokio::test]
async fn stopping_the_primary_kicks_with_a_clear_message() {
    within!(60, async {
        let mut cluster = TestCluster::demo().run().await;
        let mut dave = TestClient::join(cluster.proxy_addr(), "Dave")
            .await
            .expect("join");
        eventually(WAIT, "the cow is shown", || shown(&dave, "cow") == 1).await;
        cluster.stop_backend("west").await;
        let reason = dave.wait_closed(WAIT).await.unwrap().unwrap_or_default();
        assert!(reason.contains("west"), "{reason}");
    });
}

#[tokio::test]
async fn a_player_watching_another_cross_sees_them_once_and_in_place() {
    within!(120, async {
        let cluster = TestCluster::demo().run().await;
        let alice = TestClient::join(cluster.proxy_addr(), "Alice")
            .await
            .expect("join");
        let mut bob = TestClient::join(cluster.proxy_addr(), "Bob")
            .await
            .expect("join");
        alice.move_to(-4.5, 64.0, 0.5).await.unwrap();
        let bob_uuid = bob.uuid();
        let bobs = |alice: &TestClient| -> Vec<[f64; 3]> {
            alice
                .entities()
                .values()
                .filter(|e| e.uuid == bob_uuid)
                .map(|e| e.position)
                .collect()
        };
        let mut path: Vec<i32> = (-8..=16).collect();
        path.extend((-8..16).rev());
        for x in path {
            let pos = x as f64 + 0.5;
            bob.move_to(pos, 64.0, 0.5).await.unwrap();
            // Alice sees Bob exactly once, within a block of where he is.
            eventually(WAIT, &format!("Alice sees Bob once near x={pos}"), || {
                let seen = bobs(&alice);
                seen.len() == 1
                    && (seen[0][0] - pos).abs() <= 1.0
                    && (seen[0][2] - 0.5).abs() <= 1.0
            })
            .await;
            if x == 16 {
                assert_eq!(ask_whereami(&mut bob).await, "server=east");
            }
        }
        assert_eq!(ask_whereami(&mut bob).await, "server=west");
        assert_eq!(alice.duplicate_adds(), 0);
    });
}

#[tokio::test]
async fn a_dummy_link_closes_when_its_zones_leave_view_and_reopens_when_they_return() {
    within!(90, async {
        let cluster = TestCluster::demo().run().await;
        let mut erin = TestClient::join(cluster.proxy_addr(), "Erin")
            .await
            .expect("join");
        let dummies = || async { cluster.admin_get("/api/players").await[0]["dummies"].clone() };
        let east = serde_json::json!(["east"]);
        let none = serde_json::json!([]);
        let wait_dummies = |want: serde_json::Value| {
            let dummies = &dummies;
            async move {
                let deadline = Instant::now() + WAIT;
                loop {
                    let got = dummies().await;
                    if got == want {
                        return;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "dummies stayed {got}, wanted {want}"
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        };
        wait_dummies(east.clone()).await;
        // View distance 6 chunks: at chunk -7 east (chunk 0) is still within view + 1 of slack.
        erin.move_to(-7.0 * 16.0 + 0.5, 64.0, 0.5).await.unwrap();
        assert_eq!(ask_whereami(&mut erin).await, "server=west");
        assert_eq!(
            dummies().await,
            east,
            "hysteresis keeps the link just outside view"
        );
        // Far west: no east zone anywhere near, the link closes and east's chunks go with it.
        erin.move_to(-200.5, 64.0, 0.5).await.unwrap();
        wait_dummies(none).await;
        eventually(WAIT, "east's chunks are gone", || {
            erin.loaded_chunks().iter().all(|(x, _)| *x < 0)
        })
        .await;
        // Back near the border: the link opens again and east's side is shown.
        erin.move_to(-8.5, 64.0, 0.5).await.unwrap();
        wait_dummies(east).await;
        eventually(WAIT, "east's side is shown again", || {
            in_view(-8.5, 0.5).is_subset(&erin.loaded_chunks()) && shown(&erin, "cow") == 1
        })
        .await;
        assert!(erin.disconnect_reason().is_none());
    });
}
