//! The watcher across a database restart. This stops the shared test server, so it lives
//! alone in its own test binary: cargo runs test binaries one after another, and this file
//! holds a single test.

mod common;

use std::time::Duration;

use common::{fresh_database, timed, west_east};
use meridian_store::testing::pg_ctl;
use meridian_store::{PgZoneStore, WatchOptions, ZoneWatcher};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn watcher_keeps_the_last_map_while_the_database_is_down_and_catches_up() {
    timed(async {
        let url = fresh_database().await;
        let mut store = PgZoneStore::connect(&url).await.expect("connect");
        store.seed(&west_east()).await.expect("seed");
        store.move_zone("west", "b", Some(1)).await.expect("move");

        let config = url.parse().expect("url");
        // A first retry of at least half a second lets the test change the zones after the
        // server is back but before the watcher is: that change must come from the reload.
        let options = WatchOptions {
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(2),
            ..WatchOptions::default()
        };
        let shutdown = CancellationToken::new();
        let watcher = ZoneWatcher::start_with(config, options, shutdown.clone())
            .await
            .expect("watch");
        let mut maps = watcher.maps();
        let mut connected = watcher.connected();
        let before = watcher.current();
        assert_eq!(before.zone("west").expect("west").epoch, 2);

        let _restart = meridian_store::testing::StartOnDrop;
        pg_ctl("stop").await;
        tokio::time::timeout(Duration::from_secs(10), connected.wait_for(|up| !up))
            .await
            .expect("the watcher noticed the outage")
            .expect("watcher running");
        // Down: the last map is still served, unchanged.
        assert!(!maps.has_changed().expect("watcher running"));
        assert_eq!(watcher.current().zones(), before.zones());
        let err = store.load().await.expect_err("the database is down");
        assert!(err.is_connection(), "{err}");
        let err = store
            .move_zone("west", "a", Some(2))
            .await
            .expect_err("down");
        assert!(err.is_connection(), "{err}");
        assert_eq!(watcher.current().zones(), before.zones());

        pg_ctl("start").await;
        // The same store reconnects by itself; this move happens while the watcher is
        // (almost always) still backing off, so no notification reaches it.
        let moved = store
            .move_zone("west", "a", Some(2))
            .await
            .expect("move after restart");
        assert_eq!(moved.epoch, 3);
        tokio::time::timeout(Duration::from_secs(10), connected.wait_for(|up| *up))
            .await
            .expect("the watcher reconnected")
            .expect("watcher running");
        tokio::time::timeout(
            Duration::from_secs(1),
            maps.wait_for(|map| map.zone("west").is_some_and(|z| z.epoch == 3)),
        )
        .await
        .expect("the move made during the outage is in the reloaded map")
        .expect("watcher running");

        // And it listens again: a move after reconnecting arrives within a second.
        store
            .move_zone("east", "a", Some(1))
            .await
            .expect("second move");
        tokio::time::timeout(
            Duration::from_secs(1),
            maps.wait_for(|map| {
                map.zone("east")
                    .is_some_and(|z| z.owner == "a" && z.epoch == 2)
            }),
        )
        .await
        .expect("the watcher saw the new move within a second")
        .expect("watcher running");

        shutdown.cancel();
        watcher.join().await;
    })
    .await;
}
