//! The reference backend on its own, with the Rust test client standing in for the proxy
//! (it signs `velocity:player_info` itself).

use std::time::Duration;

use azalea_block::{BlockState, blocks};
use azalea_protocol::packets::game::ClientboundGamePacket;
use meridian_examples::{BackendConfig, NO_FORWARDING, SECRET_MISMATCH};
use meridian_tests::{
    client::{ClientError, TestClient, chunk},
    within,
};
use meridian_wire::{
    ids::game::{clientbound as ids, serverbound},
    varint::write_varint,
};
use tokio::io::AsyncReadExt;

const SECRET: &str = "backend-test-secret";
const WAIT: Duration = Duration::from_secs(10);

use meridian_tests::cluster::StandaloneBackend as Backend;

async fn start(config: BackendConfig) -> Backend {
    Backend::start(config).await
}

async fn start_default(id: &str) -> Backend {
    start(BackendConfig::new(id, SECRET)).await
}

async fn join(backend: &Backend, name: &str) -> TestClient {
    backend.join(name, SECRET).await
}

#[tokio::test]
async fn a_forwarded_player_spawns_on_the_grass_with_its_world_around_it() {
    within!(60, async {
        let backend = start_default("alpha").await;
        let client = join(&backend, "Alice").await;

        assert_eq!(client.position(), [-8.5, 64.0, 0.5]);
        assert_eq!(client.uuid(), meridian_tests::client::offline_uuid("Alice"));
        let state = |block: BlockState| u32::from(block);
        let ground = client
            .block_at(-9, 63, 0)
            .expect("the spawn chunk is loaded");
        assert_eq!(ground, state(blocks::GrassBlock { snowy: false }.into()));
        assert_eq!(
            client.block_at(-9, 64, 0),
            Some(0),
            "air where the player stands"
        );
        assert_eq!(
            client.block_at(-9, 60, 0),
            Some(state(blocks::Dirt {}.into()))
        );
        assert_eq!(
            client.block_at(-9, 0, 0),
            Some(state(blocks::Stone {}.into()))
        );
        assert_eq!(
            client.block_at(-9, -64, 0),
            Some(state(blocks::Bedrock {}.into()))
        );

        // View distance 6 around chunk (-1, 0): a 13 × 13 square, each column well-formed.
        let chunks = client.loaded_chunks();
        assert_eq!(chunks.len(), 169);
        assert!(chunks.contains(&(-7, -6)) && chunks.contains(&(5, 6)));
        assert_eq!(client.chunk_center(), Some((-1, 0)));

        assert_eq!(client.count_received(ids::LOGIN), 1);
        assert_eq!(client.count_received(ids::COMMANDS), 1);
        assert_eq!(client.tab_list(), vec!["Alice".to_owned()]);
        assert_eq!(backend.handle.player_names(), vec!["Alice".to_owned()]);
        assert!(client.entity_id() > 0);

        let status = TestClient::ping(backend.addr).await.unwrap();
        assert_eq!(status.players.online, 1);
        assert_eq!(status.version.protocol, meridian_wire::PROTOCOL_VERSION);
    })
}

#[tokio::test]
async fn every_chunk_column_parses_as_26_1_sections() {
    within!(60, async {
        let backend = start_default("alpha").await;
        let mut client = TestClient::builder("Cid")
            .forwarding(SECRET)
            .join(backend.addr)
            .await
            .unwrap();
        let packet = client
            .expect(WAIT, "a chunk", |p| match p {
                ClientboundGamePacket::LevelChunkWithLight(c) => Some(c.clone()),
                _ => None,
            })
            .await
            .unwrap();
        chunk::check_column(meridian_tests::client::chunk_data(&packet)).unwrap();
        assert!(
            !packet.light_data.sky_updates.is_empty(),
            "sky light is sent"
        );
    })
}

#[tokio::test]
async fn whereami_answers_the_caller_and_chat_reaches_everyone_once() {
    within!(60, async {
        let backend = start_default("alpha").await;
        let mut alice = join(&backend, "Alice").await;
        let mut bob = join(&backend, "Bob").await;

        alice.send_command("whereami").await.unwrap();
        assert_eq!(alice.next_system_chat(WAIT).await.unwrap(), "server=alpha");

        alice.send_chat("hello").await.unwrap();
        assert_eq!(alice.next_system_chat(WAIT).await.unwrap(), "Alice: hello");
        assert_eq!(bob.next_system_chat(WAIT).await.unwrap(), "Alice: hello");
        // Exactly once: the next line each sees is the answer to a later command.
        alice.send_command("whereami").await.unwrap();
        assert_eq!(alice.next_system_chat(WAIT).await.unwrap(), "server=alpha");
        bob.send_command("whereami").await.unwrap();
        assert_eq!(bob.next_system_chat(WAIT).await.unwrap(), "server=alpha");
    })
}

#[tokio::test]
async fn a_play_ping_request_is_answered_with_the_same_time() {
    within!(60, async {
        use azalea_protocol::packets::game::ServerboundPingRequest;
        let backend = start_default("alpha").await;
        let mut client = join(&backend, "Pia").await;
        for time in [7, u64::MAX] {
            client.send(ServerboundPingRequest { time }).await.unwrap();
            let answered = client
                .expect(WAIT, "a pong_response", |p| match p {
                    ClientboundGamePacket::PongResponse(p) => Some(p.time),
                    _ => None,
                })
                .await
                .unwrap();
            assert_eq!(answered, time);
        }
    })
}

#[tokio::test]
async fn give_and_inv_keep_a_server_side_inventory() {
    within!(60, async {
        let backend = start_default("alpha").await;
        let mut client = join(&backend, "Alice").await;
        client.send_command("inv").await.unwrap();
        assert_eq!(client.next_system_chat(WAIT).await.unwrap(), "inv=");
        client.send_command("give stone 5").await.unwrap();
        client.next_system_chat(WAIT).await.unwrap();
        client
            .send_command("give minecraft:diamond 2")
            .await
            .unwrap();
        client.next_system_chat(WAIT).await.unwrap();
        client.send_command("inv").await.unwrap();
        assert_eq!(
            client.next_system_chat(WAIT).await.unwrap(),
            "inv=stone:5,diamond:2"
        );
    })
}

#[tokio::test]
async fn a_wrong_secret_is_refused_naming_the_secret() {
    within!(30, async {
        let backend = start_default("alpha").await;
        let err = TestClient::builder("Mallory")
            .forwarding("not-the-secret")
            .join(backend.addr)
            .await
            .unwrap_err();
        assert_eq!(err.disconnect_reason(), Some(SECRET_MISMATCH), "{err}");
        assert!(SECRET_MISMATCH.contains("secret"));
        assert!(backend.handle.players().is_empty());
    })
}

#[tokio::test]
async fn a_direct_connection_is_refused_with_a_clear_message() {
    within!(30, async {
        let backend = start_default("alpha").await;
        let err = TestClient::join(backend.addr, "Direct").await.unwrap_err();
        assert_eq!(err.disconnect_reason(), Some(NO_FORWARDING), "{err}");
        assert!(NO_FORWARDING.contains("Meridian proxy"));
    })
}

#[tokio::test]
async fn the_marker_comes_and_goes_with_its_chunk_as_the_player_walks() {
    within!(60, async {
        let backend = start_default("alpha").await;
        let mut client = join(&backend, "Walker").await;
        let marker_id = backend.handle.marker_entity_id().unwrap();
        let marker = client
            .entities()
            .get(&marker_id)
            .cloned()
            .expect("the marker is shown at spawn");
        assert_eq!(marker.kind, "minecraft:pig");
        assert_eq!(marker.position, [-12.5, 64.0, 6.5]);

        // Ten chunks east: the view moves from centre (-1, 0) to (9, 0).
        client.move_to(151.5, 64.0, 0.5).await.unwrap();
        client
            .wait_for(WAIT, "the marker's removal", |p| {
                matches!(p, ClientboundGamePacket::RemoveEntities(r) if r.entity_ids.iter().any(|id| id.0 == marker_id))
            })
            .await
            .unwrap();
        // The removal comes after the batch, so the chunk bookkeeping is complete.
        assert_eq!(client.chunk_center(), Some((9, 0)));
        let expected: std::collections::HashSet<(i32, i32)> = (3..=15)
            .flat_map(|x| (-6..=6).map(move |z| (x, z)))
            .collect();
        assert_eq!(client.loaded_chunks(), expected);
        assert!(client.count_received(ids::FORGET_LEVEL_CHUNK) >= 10 * 13);
        assert!(!client.entities().contains_key(&marker_id));

        // And back: the marker returns.
        client.move_to(-8.5, 64.0, 0.5).await.unwrap();
        let added = client
            .expect(WAIT, "the marker again", |p| match p {
                ClientboundGamePacket::AddEntity(a) if a.id.0 == marker_id => Some(a.clone()),
                _ => None,
            })
            .await
            .unwrap();
        assert_eq!(added.position.x, -12.5);
        assert_eq!(client.loaded_chunks().len(), 169);
        assert_eq!(
            client.count_received(ids::PLAYER_POSITION),
            1,
            "movement is never corrected"
        );
    })
}

#[tokio::test]
async fn two_players_see_each_other_move_and_leave() {
    within!(60, async {
        let backend = start_default("alpha").await;
        let mut alice = join(&backend, "Alice").await;
        let bob = join(&backend, "Bob").await;

        let bob_entity = alice
            .expect(WAIT, "Bob's entity", |p| match p {
                ClientboundGamePacket::AddEntity(a) if a.uuid == bob.uuid() => Some(a.id.0),
                _ => None,
            })
            .await
            .unwrap();
        assert_eq!(bob_entity, bob.entity_id());
        assert!(
            bob.entities()
                .values()
                .any(|e| e.uuid == alice.uuid() && e.kind == "minecraft:player")
        );
        assert_eq!(alice.tab_list(), vec!["Alice".to_owned(), "Bob".to_owned()]);
        assert_eq!(bob.tab_list(), vec!["Alice".to_owned(), "Bob".to_owned()]);

        bob.move_to(-5.0, 64.0, 3.0).await.unwrap();
        alice
            .wait_for(WAIT, "Bob's move", |p| {
                matches!(p, ClientboundGamePacket::EntityPositionSync(s)
                    if s.id.0 == bob_entity && s.values.pos.x == -5.0 && s.values.pos.z == 3.0)
            })
            .await
            .unwrap();
        assert_eq!(alice.entities()[&bob_entity].position, [-5.0, 64.0, 3.0]);

        bob.close().await;
        alice
            .wait_for(WAIT, "Bob's removal", |p| {
                matches!(p, ClientboundGamePacket::RemoveEntities(r) if r.entity_ids.iter().any(|id| id.0 == bob_entity))
            })
            .await
            .unwrap();
        alice
            .wait_for(WAIT, "Bob leaving the tab list", |p| {
                matches!(p, ClientboundGamePacket::PlayerInfoRemove(_))
            })
            .await
            .unwrap();
        assert_eq!(alice.tab_list(), vec!["Alice".to_owned()]);
    })
}

#[tokio::test]
async fn shutdown_disconnects_every_player_and_returns() {
    within!(30, async {
        let backend = start_default("alpha").await;
        let mut a = join(&backend, "Alice").await;
        let mut b = join(&backend, "Bob").await;
        backend.shutdown.cancel();
        assert_eq!(
            a.wait_closed(WAIT).await.unwrap().as_deref(),
            Some("Server closed")
        );
        assert_eq!(
            b.wait_closed(WAIT).await.unwrap().as_deref(),
            Some("Server closed")
        );
        backend.task.await.unwrap().unwrap();
        assert!(
            tokio::net::TcpStream::connect(backend.addr).await.is_err(),
            "the listener is closed"
        );
    })
}

#[tokio::test]
async fn an_unanswered_keep_alive_kicks_with_a_clear_message() {
    within!(30, async {
        let mut config = BackendConfig::new("alpha", SECRET);
        config.keep_alive_interval = Duration::from_millis(100);
        config.keep_alive_timeout = Duration::from_millis(300);
        let backend = start(config).await;
        let mut silent = TestClient::builder("Silent")
            .forwarding(SECRET)
            .answer_keep_alives(false)
            .join(backend.addr)
            .await
            .unwrap();
        let polite = join(&backend, "Polite").await;
        let reason = silent.wait_closed(WAIT).await.unwrap().unwrap_or_default();
        assert!(reason.contains("keep-alive"), "{reason}");
        assert!(polite.count_received(ids::KEEP_ALIVE) >= 1);
        assert_eq!(backend.handle.player_names(), vec!["Polite".to_owned()]);
    })
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_login_timeout() {
    within!(30, async {
        let mut config = BackendConfig::new("alpha", SECRET);
        config.login_timeout = Duration::from_millis(300);
        let backend = start(config).await;
        let mut stream = tokio::net::TcpStream::connect(backend.addr).await.unwrap();
        let mut buf = [0u8; 16];
        // The backend closes it: EOF (or a reset), not a hang.
        let read = tokio::time::timeout(WAIT, stream.read(&mut buf))
            .await
            .expect("closed in time");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    })
}

#[tokio::test]
async fn a_malformed_packet_ends_only_its_own_connection() {
    within!(60, async {
        let backend = start_default("alpha").await;
        let mut victim = join(&backend, "Victim").await;
        let mut vandal = join(&backend, "Vandal").await;
        // A chat packet whose string claims more bytes than follow.
        let mut packet = Vec::new();
        write_varint(&mut packet, serverbound::CHAT);
        write_varint(&mut packet, 200);
        packet.extend_from_slice(b"short");
        vandal.send_raw(&packet).await.unwrap();
        let gone = vandal.wait_closed(WAIT).await;
        assert!(
            matches!(gone, Ok(_) | Err(ClientError::Conn(_))),
            "{gone:?}"
        );

        victim.send_command("whereami").await.unwrap();
        assert_eq!(victim.next_system_chat(WAIT).await.unwrap(), "server=alpha");
        assert_eq!(backend.handle.player_names(), vec!["Victim".to_owned()]);
    })
}

#[tokio::test]
async fn a_second_login_with_the_same_uuid_replaces_the_first() {
    within!(30, async {
        let backend = start_default("alpha").await;
        let mut first = join(&backend, "Twin").await;
        let second = join(&backend, "Twin").await;
        let reason = first.wait_closed(WAIT).await.unwrap().unwrap_or_default();
        assert!(reason.contains("another location"), "{reason}");
        assert_eq!(backend.handle.players().len(), 1);
        assert_eq!(backend.handle.players()[0].entity_id, second.entity_id());
    })
}

#[tokio::test]
async fn digging_is_undone_and_acknowledged_because_the_world_is_read_only() {
    use azalea_core::{direction::Direction, position::BlockPos};
    use azalea_protocol::packets::game::s_player_action::{Action, ServerboundPlayerAction};
    within!(30, async {
        let backend = start_default("alpha").await;
        let mut client = join(&backend, "Digger").await;
        let pos = BlockPos::new(-9, 63, 0);
        client
            .send(ServerboundPlayerAction {
                action: Action::StartDestroyBlock,
                pos,
                direction: Direction::Up,
                seq: 7,
            })
            .await
            .unwrap();
        let update = client
            .expect(WAIT, "the block as it is", |p| match p {
                ClientboundGamePacket::BlockUpdate(u) if u.pos == pos => Some(u.block_state),
                _ => None,
            })
            .await
            .unwrap();
        assert_eq!(
            update,
            BlockState::from(blocks::GrassBlock { snowy: false })
        );
        client
            .wait_for(
                WAIT,
                "the ack",
                |p| matches!(p, ClientboundGamePacket::BlockChangedAck(a) if a.seq == 7),
            )
            .await
            .unwrap();
    })
}
