//! The README's first command, in-process: a real client joins `meridian demo`.

use std::time::Duration;

use meridian_tests::{mineflayer::Bot, within};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_real_client_joins_the_demo_sees_the_world_and_the_pig_and_is_on_west() {
    within!(90, async {
        meridian_tests::init_tracing();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let demo = tokio::spawn(meridian::demo::run(listener, admin, None, shutdown.clone()));

        let mut bot = Bot::join(addr, "Visitor").await;
        let spawn = bot.spawned(WAIT).await;
        assert_eq!(
            (
                spawn["x"].as_f64(),
                spawn["y"].as_f64(),
                spawn["z"].as_f64()
            ),
            (Some(-8.5), Some(64.0), Some(0.5))
        );
        // The flat world: grass on top, solid below.
        assert_eq!(
            bot.block(WAIT, [-9, 63, 0]).await.as_deref(),
            Some("grass_block")
        );
        assert_eq!(bot.block(WAIT, [-9, 62, 0]).await.as_deref(), Some("dirt"));
        // West's pig where the demo puts it.
        let entities = bot.entities(WAIT).await;
        let pig = entities
            .iter()
            .find(|e| e["name"] == "pig")
            .unwrap_or_else(|| panic!("no pig: {entities:?}"));
        assert_eq!(
            (pig["x"].as_f64(), pig["z"].as_f64()),
            (Some(-12.5), Some(6.5))
        );
        bot.chat("/whereami").await;
        bot.chat_line(WAIT, |t| t == "server=west").await;
        bot.quit().await;

        shutdown.cancel();
        demo.await.unwrap().unwrap();
    });
}
