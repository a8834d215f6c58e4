//! Crossing the border with mineflayer: an independent codec, real physics, no test shortcuts.

use std::{collections::HashSet, time::Duration};

use meridian_tests::{cluster::TestCluster, mineflayer::Bot, within};
use serde_json::Value;

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
        never_reconnected(&bot);
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

/// One login, no respawn, no reconfiguration, never kicked or disconnected: nothing a loading
/// screen or a reconnect would show.
fn never_reconnected(bot: &Bot) {
    assert_eq!(bot.packets("login").len(), 1);
    assert!(bot.packets("respawn").is_empty());
    assert!(bot.packets("start_configuration").is_empty());
    assert!(
        bot.events
            .iter()
            .all(|e| e["event"] != "kicked" && e["event"] != "end")
    );
}

/// Asks `/whereami` until the answer is `server=<server>`: a re-zoning swaps the player on its
/// own schedule.
async fn wait_until_on(bot: &mut Bot, server: &str) {
    let wanted = format!("server={server}");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        bot.chat("/whereami").await;
        if bot.chat_line(WAIT, |t| t.starts_with("server=")).await == wanted {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never moved to {server}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How many entities of `kind` the bot knows of, asked until it is `count`.
async fn wait_for_count(bot: &mut Bot, kind: &str, count: usize) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let entities = bot.entities(WAIT).await;
        let seen = entities.iter().filter(|e| e["name"] == kind).count();
        if seen == count {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{kind}: {seen}, not {count}: {entities:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Spawn packets for an id the client already had (no `entity_destroy` in between), in the
/// order the packets arrived: mineflayer itself would silently overwrite them.
fn spawned_while_alive(bot: &Bot) -> Vec<Value> {
    let mut alive = HashSet::new();
    let mut twice = Vec::new();
    for event in bot.events.iter().filter(|e| e["event"] == "packet") {
        match event["name"].as_str() {
            Some("spawn_entity") if !alive.insert(event["id"].to_string()) => {
                twice.push(event.clone());
            }
            Some("entity_destroy") => {
                for id in event["ids"].as_array().into_iter().flatten() {
                    alive.remove(&id.to_string());
                }
            }
            _ => {}
        }
    }
    twice
}

#[tokio::test]
async fn a_real_client_stands_still_while_its_zone_moves_away_and_back() {
    within!(120, async {
        let cluster = TestCluster::demo().run().await;
        let proxy = cluster.proxy_at(0);
        let mut bot = Bot::join(cluster.proxy_addr(), "Stayer").await;
        bot.spawned(WAIT).await;
        let there = bot.walk(WAIT, 10.5, 0.5).await;
        assert!(there[0] > 8.0, "walked east: {there:?}");
        wait_until_on(&mut bot, "east").await;
        wait_for_count(&mut bot, "cow", 1).await;

        proxy.move_zone("east", "west").await;
        wait_until_on(&mut bot, "west").await;
        // East let go of the zone: its cow is gone; the ground under the player is still there.
        wait_for_count(&mut bot, "cow", 0).await;
        assert_eq!(
            bot.block(WAIT, [10, 63, 0]).await.as_deref(),
            Some("grass_block")
        );

        proxy.move_zone("east", "east").await;
        wait_until_on(&mut bot, "east").await;
        wait_for_count(&mut bot, "cow", 1).await;
        wait_for_count(&mut bot, "pig", 1).await;

        never_reconnected(&bot);
        assert_eq!(spawned_while_alive(&bot), Vec::<Value>::new());
        bot.quit().await;
    });
}
