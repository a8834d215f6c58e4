//! The player's state crosses the border with the player: the sync channel's handoff, end to end.

use meridian_tests::{
    client::TestClient,
    cluster::TestCluster,
    scenario::{WAIT, ask, eventually, linked, walk},
    within,
};

#[tokio::test]
async fn items_given_in_west_are_in_the_inventory_in_east() {
    within!(90, async {
        let cluster = TestCluster::demo().run().await;
        let mut alice = TestClient::join(cluster.proxy_addr(), "Alice")
            .await
            .expect("join");
        linked(&cluster, &alice).await;
        assert!(ask(&mut alice, "give diamond 5").await.contains("diamond"));
        assert_eq!(ask(&mut alice, "inv").await, "inv=diamond:5");
        eventually(WAIT, "the client shows five diamonds", || {
            alice.shown_count("minecraft:diamond") == 5
        })
        .await;
        walk(&alice, -9, 10).await;
        assert_eq!(ask(&mut alice, "whereami").await, "server=east");
        assert_eq!(ask(&mut alice, "inv").await, "inv=diamond:5");
        // The client shows them once: east showed the state it was handed, not a second copy.
        assert_eq!(alice.shown_count("minecraft:diamond"), 5);
        // And back again: still five, not ten.
        walk(&alice, 10, -10).await;
        assert_eq!(ask(&mut alice, "whereami").await, "server=west");
        assert_eq!(ask(&mut alice, "inv").await, "inv=diamond:5");
        let metrics = cluster.metrics().await;
        assert!(
            metrics.contains("meridian_handoffs_total{outcome=\"completed\"} 2"),
            "{metrics}"
        );
    });
}

#[tokio::test]
async fn a_handoff_target_that_dies_leaves_the_player_whole_on_the_old_primary() {
    within!(90, async {
        let mut cluster = TestCluster::demo().run().await;
        let mut bob = TestClient::join(cluster.proxy_addr(), "Bob")
            .await
            .expect("join");
        linked(&cluster, &bob).await;
        assert!(ask(&mut bob, "give diamond 3").await.contains("diamond"));
        // East never answers the handoff, and goes away while it is under way.
        cluster.backend("east").handle.stop_sync(true);
        walk(&bob, -9, 10).await;
        let west = cluster.backend("west").handle.clone();
        let uuid = bob.uuid();
        eventually(WAIT, "the handoff has begun (west froze Bob)", || {
            west.is_frozen(uuid)
        })
        .await;
        cluster.stop_backend("east").await;
        assert_eq!(ask(&mut bob, "whereami").await, "server=west");
        assert_eq!(ask(&mut bob, "inv").await, "inv=diamond:3");
        let metrics = cluster.metrics().await;
        assert!(
            metrics.contains("meridian_handoffs_total{outcome=\"failed\"} 1"),
            "{metrics}"
        );
        assert!(bob.disconnect_reason().is_none());
    });
}

#[tokio::test]
async fn a_dummy_is_a_ghost_and_its_damage_lands_once_on_the_primary() {
    within!(90, async {
        let cluster = TestCluster::demo().run().await;
        let mut carol = TestClient::join(cluster.proxy_addr(), "Carol")
            .await
            .expect("join");
        let uuid = carol.uuid();
        let east = cluster.backend("east").handle.clone();
        let west = cluster.backend("west").handle.clone();
        eventually(WAIT, "east knows Carol as a dummy", || {
            east.role(uuid) == Some(sync_plugin_protocol::Role::Dummy)
        })
        .await;
        // An item at her feet on east is not picked up by the ghost.
        east.drop_item([-8.5, 64.0, 0.5], "minecraft:emerald", 1);
        carol.move_to(-8.4, 64.0, 0.5).await.unwrap();
        assert_eq!(ask(&mut carol, "inv").await, "inv=");
        // A mob on east hits the ghost: west, the primary, applies it once.
        let before = west.health(uuid).unwrap();
        east.damage(uuid, 4.0, "minecraft:mob_attack");
        eventually(WAIT, "west applied the damage", || {
            west.health(uuid) == Some(before - 4.0)
        })
        .await;
        eventually(WAIT, "the client saw it", || {
            carol.health() == Some(before - 4.0)
        })
        .await;
        assert_eq!(
            east.health(uuid),
            Some(before),
            "the ghost itself is not hurt"
        );
    });
}

#[tokio::test]
async fn a_client_never_speaks_on_the_sync_channel() {
    within!(60, async {
        use azalea_protocol::packets::game::ServerboundCustomPayload;
        let cluster = TestCluster::new().backend("west").run().await;
        let mut mallory = TestClient::join(cluster.proxy_addr(), "Mallory")
            .await
            .expect("join");
        let west = cluster.backend("west").handle.clone();
        let uuid = mallory.uuid();
        // Once the proxy's own conversation is set up, nothing more comes unless someone speaks.
        eventually(WAIT, "west knows Mallory as its primary", || {
            west.role(uuid) == Some(sync_plugin_protocol::Role::Primary)
        })
        .await;
        let before = west.sync_received_total();
        mallory
            .send(ServerboundCustomPayload {
                identifier: "meridian:sync".into(),
                data: vec![0x13, 0, 0, 0].into(),
            })
            .await
            .unwrap();
        // The next command is answered after the payload would have been handled.
        assert_eq!(ask(&mut mallory, "whereami").await, "server=west");
        assert_eq!(
            west.sync_received_total(),
            before,
            "a client's meridian:sync payload reached the backend"
        );
    });
}

#[tokio::test]
async fn garbage_from_a_backend_is_dropped_and_the_session_and_handoffs_survive() {
    within!(90, async {
        let cluster = TestCluster::demo().run().await;
        let mut erin = TestClient::join(cluster.proxy_addr(), "Erin")
            .await
            .expect("join");
        linked(&cluster, &erin).await;
        let (uuid, west) = (erin.uuid(), cluster.backend("west").handle.clone());
        // Garbage, a truncated message, an unknown-but-plausible type, and an oversized payload.
        for payload in [
            vec![0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
            vec![0x13, 0x01],
            vec![0x0a],
            vec![0x03; 40_000],
        ] {
            assert!(west.send_raw_sync(uuid, payload));
        }
        assert_eq!(ask(&mut erin, "whereami").await, "server=west");
        let metrics = cluster.metrics().await;
        assert!(
            metrics.contains("meridian_errors_total{kind=\"backend_sync_unreadable\"}"),
            "{metrics}"
        );
        // The conversation survived: the player's state still crosses the border.
        assert!(ask(&mut erin, "give diamond 2").await.contains("diamond"));
        walk(&erin, -9, 10).await;
        assert_eq!(ask(&mut erin, "whereami").await, "server=east");
        assert_eq!(ask(&mut erin, "inv").await, "inv=diamond:2");
        assert!(erin.disconnect_reason().is_none());
    });
}

#[tokio::test]
async fn health_food_experience_effects_and_game_mode_cross_unchanged() {
    within!(90, async {
        use sync_plugin_protocol::{Effect, Experience, GameMode};
        let cluster = TestCluster::demo().run().await;
        let mut frank = TestClient::join(cluster.proxy_addr(), "Frank")
            .await
            .expect("join");
        linked(&cluster, &frank).await;
        let (uuid, west, east) = (
            frank.uuid(),
            cluster.backend("west").handle.clone(),
            cluster.backend("east").handle.clone(),
        );
        let mut state = west.state(uuid).expect("west has Frank's state");
        state.health = 13.0;
        state.food = 7;
        state.saturation = 1.5;
        state.experience = Experience {
            level: 5,
            progress: 0.25,
            total: 80,
        };
        state.effects = vec![Effect {
            effect: "minecraft:speed".into(),
            amplifier: 1,
            duration_ticks: 20 * 600,
            ambient: false,
            show_particles: true,
            show_icon: true,
        }];
        state.game_mode = GameMode::Adventure;
        west.set_state(uuid, state.clone()).expect("set state");
        walk(&frank, -9, 10).await;
        assert_eq!(ask(&mut frank, "whereami").await, "server=east");
        let crossed = east.state(uuid).expect("east has Frank's state");
        assert_eq!(crossed.health, 13.0);
        assert_eq!((crossed.food, crossed.saturation), (7, 1.5));
        assert_eq!(crossed.experience, state.experience);
        assert_eq!(crossed.game_mode, GameMode::Adventure);
        assert_eq!(crossed.effects.len(), 1);
        assert_eq!(crossed.effects[0].effect, "minecraft:speed");
        assert_eq!(crossed.effects[0].amplifier, 1);
        // The client's view agrees: the health it was shown is the one that crossed.
        assert_eq!(frank.health(), Some(13.0));
    });
}

#[tokio::test]
async fn the_primarys_look_is_mirrored_onto_the_dummy() {
    within!(60, async {
        use sync_plugin_protocol::Effect;
        let cluster = TestCluster::demo().run().await;
        let mut gina = TestClient::join(cluster.proxy_addr(), "Gina")
            .await
            .expect("join");
        linked(&cluster, &gina).await;
        let (uuid, west, east) = (
            gina.uuid(),
            cluster.backend("west").handle.clone(),
            cluster.backend("east").handle.clone(),
        );
        // A sword in the hand and an effect, both given on west, the primary.
        assert!(
            ask(&mut gina, "give diamond_sword 1")
                .await
                .contains("diamond_sword")
        );
        assert!(west.give_effect(
            uuid,
            Effect {
                effect: "minecraft:glowing".into(),
                amplifier: 0,
                duration_ticks: 20 * 60,
                ambient: false,
                show_particles: false,
                show_icon: true,
            }
        ));
        eventually(
            WAIT,
            "east's ghost of Gina holds the sword and glows",
            || {
                east.appearance(uuid).is_some_and(|look| {
                    look.equipment
                        .iter()
                        .any(|e| e.item.item == "minecraft:diamond_sword")
                        && look.effects.iter().any(|e| e.effect == "minecraft:glowing")
                })
            },
        )
        .await;
        // Never in the ghost's inventory: mirrored looks are not items.
        assert_eq!(east.inventory(uuid), Vec::new());
    });
}
