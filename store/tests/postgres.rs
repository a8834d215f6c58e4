//! The store against a real PostgreSQL: run under `scripts/with-postgres`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{eventually, fresh_database, raw_client, timed, west_east};
use meridian_store::{PgZoneStore, StoreError, ZoneWatcher, migrations};
use tokio::sync::Barrier;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use zoning::ZoneSpec;

/// `(version, name)` of every recorded migration, in order.
async fn recorded_migrations(url: &str) -> Vec<(i32, String, String)> {
    let client = raw_client(url).await;
    client
        .query(
            "SELECT version, name, applied_at::text FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .expect("read schema_migrations")
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect()
}

fn expected_migrations() -> Vec<(i32, String)> {
    migrations()
        .iter()
        .map(|m| (m.version, m.name.to_owned()))
        .collect()
}

fn without_time(rows: &[(i32, String, String)]) -> Vec<(i32, String)> {
    rows.iter().map(|(v, n, _)| (*v, n.clone())).collect()
}

#[tokio::test]
async fn migrations_apply_once_and_rerun_as_a_no_op() {
    timed(async {
        let url = fresh_database().await;
        let mut store = PgZoneStore::connect(&url).await.expect("first connect");
        let first = recorded_migrations(&url).await;
        assert_eq!(without_time(&first), expected_migrations());
        assert!(store.load().await.expect("load").is_empty());
        drop(store);

        let mut again = PgZoneStore::connect(&url).await.expect("second connect");
        // Same rows, same timestamps: nothing was applied twice.
        assert_eq!(recorded_migrations(&url).await, first);
        assert!(again.load().await.expect("load").is_empty());
    })
    .await;
}

#[tokio::test]
async fn concurrent_connects_migrate_an_empty_database_once() {
    timed(async {
        let url = fresh_database().await;
        let start = Arc::new(Barrier::new(6));
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let (url, start) = (url.clone(), Arc::clone(&start));
                tokio::spawn(async move {
                    start.wait().await;
                    PgZoneStore::connect(&url).await.map(drop)
                })
            })
            .collect();
        for task in tasks {
            task.await
                .expect("task")
                .expect("every racing connect succeeds");
        }
        assert_eq!(
            without_time(&recorded_migrations(&url).await),
            expected_migrations()
        );
    })
    .await;
}

#[tokio::test]
async fn seed_inserts_missing_zones_and_never_overwrites() {
    timed(async {
        let url = fresh_database().await;
        let mut store = PgZoneStore::connect(&url).await.expect("connect");
        assert_eq!(store.seed(&west_east()).await.expect("seed"), 2);
        store.move_zone("west", "c", None).await.expect("move west");

        // The config still says west belongs to `a`, and gained a zone in the nether.
        let mut specs = west_east();
        specs.push(ZoneSpec {
            id: "nether".into(),
            owner: "a".into(),
            dimension: Some("the_nether".into()),
            ..ZoneSpec::default()
        });
        assert_eq!(store.seed(&specs).await.expect("reseed"), 1);
        let map = store.load().await.expect("load");
        assert_eq!(map.len(), 3);
        let west = map.zone("west").expect("west");
        assert_eq!((west.owner.as_str(), west.epoch), ("c", 2));
        let nether = map.zone("nether").expect("nether");
        assert_eq!(nether.dimension.as_str(), "minecraft:the_nether");
        assert_eq!(nether.epoch, zoning::INITIAL_EPOCH);

        // A new zone overlapping a stored one is refused, and nothing of that seed stays.
        let overlapping = vec![
            ZoneSpec {
                id: "middle".into(),
                owner: "a".into(),
                min_chunk_x: Some(-5),
                max_chunk_x: Some(5),
                ..ZoneSpec::default()
            },
            ZoneSpec {
                id: "end".into(),
                owner: "a".into(),
                dimension: Some("the_end".into()),
                ..ZoneSpec::default()
            },
        ];
        let err = store.seed(&overlapping).await.expect_err("overlap");
        assert!(matches!(err, StoreError::InvalidMap(_)), "{err}");
        assert_eq!(store.load().await.expect("load").len(), 3);

        // Specs that are wrong by themselves never reach the database.
        let mut bad = west_east();
        bad[0].max_chunk_x = Some(1);
        let err = store.seed(&bad).await.expect_err("bad specs");
        assert!(matches!(err, StoreError::InvalidSpec(_)), "{err}");
    })
    .await;
}

#[tokio::test]
async fn move_zone_bumps_the_epoch_and_refuses_stale_views() {
    timed(async {
        let url = fresh_database().await;
        let mut store = PgZoneStore::connect(&url)
            .await
            .expect("connect")
            .with_known_owners(["a", "b", "c"]);
        store.seed(&west_east()).await.expect("seed");

        let moved = store.move_zone("west", "b", Some(1)).await.expect("move");
        assert_eq!((moved.owner.as_str(), moved.epoch), ("b", 2));
        assert_eq!(moved.area, zoning::ChunkRect::ALL.with_max_x(0));

        let err = store.move_zone("west", "c", Some(1)).await.expect_err("stale");
        assert!(
            matches!(
                err,
                StoreError::StaleEpoch {
                    current: 2,
                    expected: 1,
                    ..
                }
            ),
            "{err}"
        );
        let moved = store.move_zone("west", "c", None).await.expect("unfenced");
        assert_eq!(moved.epoch, 3);

        let err = store.move_zone("north", "a", None).await.expect_err("unknown zone");
        assert!(matches!(err, StoreError::UnknownZone(ref z) if z == "north"), "{err}");
        let err = store.move_zone("west", "z", None).await.expect_err("unknown owner");
        assert!(matches!(err, StoreError::UnknownOwner { .. }), "{err}");
        assert_eq!(err.to_string(), "zone `west`: `z` is not a known server");

        let map = store.load().await.expect("load");
        let west = map.zone("west").expect("west");
        assert_eq!((west.owner.as_str(), west.epoch), ("c", 3));
        assert_eq!(map.zone("east").expect("east").epoch, 1);

        // Every grant is in the audit trail, refused ones are not.
        let client = raw_client(&url).await;
        let events: Vec<(Option<String>, String, i64)> = client
            .query(
                "SELECT old_owner, new_owner, epoch FROM zone_events WHERE zone_id = 'west' ORDER BY id",
                &[],
            )
            .await
            .expect("events")
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        assert_eq!(
            events,
            [
                (None, "a".to_owned(), 1),
                (Some("a".to_owned()), "b".to_owned(), 2),
                (Some("b".to_owned()), "c".to_owned(), 3),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_moves_from_one_epoch_have_exactly_one_winner() {
    const MOVERS: usize = 12;
    timed(async {
        let url = fresh_database().await;
        let mut seeder = PgZoneStore::connect(&url).await.expect("connect");
        seeder.seed(&west_east()).await.expect("seed");

        // One session each, so the race is decided by the database, not by a client queue.
        let mut stores = Vec::new();
        for _ in 0..MOVERS {
            stores.push(PgZoneStore::connect(&url).await.expect("connect mover"));
        }
        let start = Arc::new(Barrier::new(MOVERS));
        let tasks: Vec<_> = stores
            .into_iter()
            .enumerate()
            .map(|(i, mut store)| {
                let start = Arc::clone(&start);
                tokio::spawn(async move {
                    start.wait().await;
                    let owner = format!("s{i}");
                    (
                        owner.clone(),
                        store.move_zone("east", &owner, Some(1)).await,
                    )
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            let (owner, result) = task.await.expect("task");
            match result {
                Ok(zone) => {
                    assert_eq!(zone.epoch, 2);
                    winners.push(owner);
                }
                Err(StoreError::StaleEpoch {
                    current, expected, ..
                }) => assert_eq!((current, expected), (2, 1)),
                Err(other) => panic!("unexpected error: {other}"),
            }
        }
        assert_eq!(winners.len(), 1, "winners: {winners:?}");
        let east = seeder.load().await.expect("load");
        let east = east.zone("east").expect("east");
        assert_eq!(east.epoch, 2);
        assert_eq!(east.owner, winners[0].as_str());
    })
    .await;
}

#[tokio::test]
async fn watcher_sees_a_move_from_another_session_within_a_second() {
    timed(async {
        let url = fresh_database().await;
        let mut store = PgZoneStore::connect(&url).await.expect("connect");
        store.seed(&west_east()).await.expect("seed");
        let shutdown = CancellationToken::new();
        let watcher = ZoneWatcher::start(&url, shutdown.clone())
            .await
            .expect("watch");
        let mut source = watcher.source();
        assert_eq!(source.current().zone("east").expect("east").owner, "b");

        let mut mover = PgZoneStore::connect(&url).await.expect("connect mover");
        let moved_at = Instant::now();
        mover.move_zone("east", "a", Some(1)).await.expect("move");
        let map = tokio::time::timeout(Duration::from_secs(1), source.changed())
            .await
            .expect("the watcher saw the move within a second");
        let east = map.zone("east").expect("east");
        assert_eq!((east.owner.as_str(), east.epoch), ("a", 2));
        eprintln!("move seen after {:?}", moved_at.elapsed());

        // A zone seeded by another proxy shows up too.
        mover
            .seed(&[ZoneSpec {
                id: "nether".into(),
                owner: "b".into(),
                dimension: Some("the_nether".into()),
                ..ZoneSpec::default()
            }])
            .await
            .expect("seed nether");
        eventually(Duration::from_secs(1), "nether appears", || {
            watcher.current().zone("nether").is_some()
        })
        .await;
        assert!(watcher.is_connected());

        shutdown.cancel();
        watcher.join().await;
    })
    .await;
}

#[tokio::test]
async fn unreachable_server_and_bad_url_are_named() {
    timed(async {
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        let err = PgZoneStore::connect("postgres://postgres@127.0.0.1:1/x")
            .await
            .expect_err("refused");
        assert!(matches!(err, StoreError::Connect(_)), "{err}");
        assert!(err.is_connection());
        // The OS's words survive, not just the driver's "error connecting to server".
        let message = err.to_string();
        assert!(
            message.starts_with("cannot connect to PostgreSQL"),
            "{message}"
        );
        assert!(message.contains("refused"), "{message}");
        let err = PgZoneStore::connect("postgres://[")
            .await
            .expect_err("bad url");
        assert!(matches!(err, StoreError::Url(_)), "{err}");
        let err = ZoneWatcher::start(
            "postgres://postgres@127.0.0.1:1/x",
            CancellationToken::new(),
        )
        .await
        .expect_err("watcher needs a first map");
        assert!(err.is_connection(), "{err}");
    })
    .await;
}

#[tokio::test]
async fn watcher_keeps_the_last_good_map_when_the_table_goes_bad() {
    timed(async {
        let url = fresh_database().await;
        let mut store = PgZoneStore::connect(&url).await.expect("connect");
        store.seed(&west_east()).await.expect("seed");
        let shutdown = CancellationToken::new();
        let watcher = ZoneWatcher::start(&url, shutdown.clone())
            .await
            .expect("watch");
        let mut maps = watcher.maps();
        let connected = watcher.connected();

        // Written by hand, around the store: overlaps both zones, so no valid map exists.
        let client = raw_client(&url).await;
        client
            .batch_execute(
                "INSERT INTO zones (id, owner, epoch, dimension) VALUES ('bad', 'a', 1, 'minecraft:overworld');
                 SELECT pg_notify('meridian_zones', 'bad:1');",
            )
            .await
            .expect("insert bad row");
        let err = store.load().await.expect_err("invalid map");
        assert!(matches!(err, StoreError::InvalidMap(_)), "{err}");
        assert!(!err.is_connection());

        client
            .batch_execute("DELETE FROM zones WHERE id = 'bad'")
            .await
            .expect("delete bad row");
        store.move_zone("east", "a", Some(1)).await.expect("move");
        let map = tokio::time::timeout(
            Duration::from_secs(1),
            maps.wait_for(|map| map.zone("east").is_some_and(|z| z.epoch == 2)),
        )
        .await
        .expect("updates resume once the table is valid")
        .expect("watcher running")
        .clone();
        assert!(map.zone("bad").is_none());
        // Bad data is not an outage: the session stayed up throughout.
        assert!(!connected.has_changed().expect("watcher running"));
        assert!(watcher.is_connected());

        shutdown.cancel();
        watcher.join().await;
    })
    .await;
}
