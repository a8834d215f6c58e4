//! Crossing the border with mineflayer: an independent codec, real physics, no test shortcuts.

use std::time::Duration;

use meridian_tests::{cluster::TestCluster, mineflayer::Bot, within};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_real_client_walks_east_and_back_without_noticing() {
    within!(120, async {
        let cluster = TestCluster::demo().run().await;
        let mut bot = Bot::join(cluster.proxy_addr(), "Walker").await;
        let spawn = bot.spawned(WAIT).await;
        let own_id = spawn["entityId"].clone();
        bot.chat("/whereami").await;
        bot.chat_line(WAIT, |t| t == "server=west").await;

        let there = bot.walk(WAIT, 10.5, 0.5).await;
        assert!(there[0] > 8.0, "walked east: {there:?}");
        assert_eq!(there[1], 64.0, "still standing on the ground: {there:?}");
        bot.chat("/whereami").await;
        bot.chat_line(WAIT, |t| t == "server=east").await;

        let back = bot.walk(WAIT, -10.5, 0.5).await;
        assert!(back[0] < -8.0, "walked back: {back:?}");
        bot.chat("/whereami").await;
        bot.chat_line(WAIT, |t| t == "server=west").await;

        // One login, no respawn, no reconfiguration, the same entity id, and each marker
        // spawned exactly once and never removed.
        assert_eq!(bot.packets("login").len(), 1);
        assert!(bot.packets("respawn").is_empty());
        assert!(bot.packets("start_configuration").is_empty());
        assert!(
            bot.events
                .iter()
                .all(|e| e["event"] != "kicked" && e["event"] != "end")
        );
        let entities = bot.entities(WAIT).await;
        assert!(entities.iter().all(|e| e["id"] != own_id), "{entities:?}");
        for kind in ["pig", "cow"] {
            let spawns: Vec<_> = entities.iter().filter(|e| e["name"] == kind).collect();
            assert_eq!(spawns.len(), 1, "{kind}: {entities:?}");
        }
        let spawned_ids: Vec<_> = bot
            .packets("spawn_entity")
            .iter()
            .map(|p| p["id"].clone())
            .collect();
        let mut unique = spawned_ids.clone();
        unique.sort_by_key(|v| v.to_string());
        unique.dedup();
        assert_eq!(
            unique.len(),
            spawned_ids.len(),
            "an entity was spawned twice: {spawned_ids:?}"
        );
        bot.quit().await;
    });
}
