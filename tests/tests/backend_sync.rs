//! The reference backend's side of `meridian:sync`, driven directly: the Rust test client stands
//! in for the proxy's link (it signs the forwarding itself and speaks on the channel with the
//! `sync-plugin-protocol` crate's proxy side), and the backend's test hooks play the world.
//!
//! Nothing waits on a clock to synchronise: a `/whereami` round trip proves that everything
//! sent before it was handled, since a connection handles its packets in order.

use std::{collections::HashSet, time::Duration};

use azalea_protocol::packets::game::{
    ClientboundGamePacket, c_game_event::EventType, s_custom_payload::ServerboundCustomPayload,
};
use azalea_registry::builtin::{ItemKind, MobEffect};
use bytes::Bytes;
use meridian_examples::{BackendConfig, DamageOutcome};
use meridian_tests::{client::TestClient, within};
use meridian_wire::ids::game::clientbound as ids;
use sync_plugin_protocol::{
    ApplyOutcome, ApplyState, ChunkCoords, Effect, EquipmentEntry, EquipmentSlot, Fragment,
    GameMode, Heartbeat, Incoming, InventorySlot, ItemStack, Location, MAX_PAYLOAD_LEN, Message,
    MessageType, MirrorState, PlayerState, RelayDamage, RelayEffect, RelayKnockback, ResendChunks,
    Role, SetRole, StateRequest, SyncPeer, TeleportDummy, Zone, ZoneAssignment, encode_to_bytes,
};
use tokio::time::Instant;
use uuid::Uuid;

const SECRET: &str = "backend-sync-secret";
const WAIT: Duration = Duration::from_secs(10);
const SPAWN: [f64; 3] = [-8.5, 64.0, 0.5];

use meridian_tests::cluster::StandaloneBackend as Backend;

async fn start(config: BackendConfig) -> Backend {
    Backend::start(config).await
}

async fn start_default() -> Backend {
    start(BackendConfig::new("alpha", SECRET)).await
}

/// What arrived on the connection: a game packet, or a sync message the proxy side decoded.
#[derive(Debug)]
// Matched by value everywhere; boxing would cost every pattern a deref for a handful of values.
#[allow(clippy::large_enum_variant)]
enum Got {
    Packet(ClientboundGamePacket),
    Sync(Message),
    /// A payload the proxy side refused (a `Reject` is one), with the reason.
    Broken(String, Vec<u8>),
}

/// The proxy's end of one link.
struct ProxyLink {
    client: TestClient,
    peer: SyncPeer,
}

impl ProxyLink {
    /// Joins and waits for the end of the join sequence, without speaking on the channel.
    async fn join(backend: &Backend, name: &str) -> Self {
        let client = backend.join(name, SECRET).await;
        let peer = SyncPeer::proxy("test-proxy", Vec::new()).with_player(client.uuid());
        Self { client, peer }
    }

    /// Joins and completes the handshake.
    async fn open(backend: &Backend, name: &str) -> Self {
        let mut link = Self::join(backend, name).await;
        link.handshake().await;
        link
    }

    fn uuid(&self) -> Uuid {
        self.client.uuid()
    }

    async fn register(&self) {
        self.send_raw(
            "minecraft:register",
            b"minecraft:brand\0meridian:sync".to_vec(),
        )
        .await;
    }

    /// Registers the channel, takes the backend's `Hello`, answers `Welcome`.
    async fn handshake(&mut self) -> sync_plugin_protocol::Hello {
        self.register().await;
        let (hello, _) = self
            .until("Hello", |got| match got {
                Got::Packet(ClientboundGamePacket::CustomPayload(p))
                    if p.identifier.to_string() == "meridian:sync" =>
                {
                    Some(p.data.to_vec())
                }
                _ => None,
            })
            .await;
        let Ok(Message::Hello(decoded)) = sync_plugin_protocol::decode(&hello) else {
            panic!("the backend's first message is not a Hello");
        };
        let Ok(Incoming::Established {
            reply: Some(welcome),
            ..
        }) = self.peer.receive_payload(&hello)
        else {
            panic!("the Hello did not establish");
        };
        self.send_checked(welcome).await;
        decoded
    }

    async fn send_raw(&self, channel: &str, data: Vec<u8>) {
        self.client
            .send(ServerboundCustomPayload {
                identifier: channel.into(),
                data: data.into(),
            })
            .await
            .unwrap();
    }

    /// Sends a message as the proxy would, fragmented if large.
    async fn send_checked(&self, msg: Message) {
        for payload in self.peer.prepare(&msg).unwrap() {
            self.send_raw("meridian:sync", payload.to_vec()).await;
        }
    }

    async fn send(&self, msg: Message) {
        self.send_checked(msg).await;
    }

    /// Everything that arrives until `f` picks something out, within [`WAIT`].
    async fn until<T>(
        &mut self,
        what: &str,
        mut f: impl FnMut(&Got) -> Option<T>,
    ) -> (T, Vec<Got>) {
        let deadline = Instant::now() + WAIT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let packet = self
                .client
                .recv(left)
                .await
                .unwrap_or_else(|e| panic!("waiting for {what}: {e}"));
            let got = match packet {
                ClientboundGamePacket::CustomPayload(p)
                    if p.identifier.to_string() == "meridian:sync"
                        && self.peer.phase() == sync_plugin_protocol::Phase::Established =>
                {
                    match self.peer.receive_payload(&p.data) {
                        Ok(Incoming::Message(msg)) => Got::Sync(msg),
                        Ok(Incoming::Pending) => continue,
                        Ok(other) => panic!("waiting for {what}: the backend sent {other:?}"),
                        Err(e) => Got::Broken(e.to_string(), p.data.to_vec()),
                    }
                }
                other => Got::Packet(other),
            };
            if let Some(found) = f(&got) {
                return (found, seen);
            }
            if let Got::Broken(error, _) = &got {
                panic!("waiting for {what}: the link broke: {error}");
            }
            seen.push(got);
        }
    }

    /// The next sync message that is not a heartbeat, and what came before it.
    async fn reply(&mut self) -> (Message, Vec<Got>) {
        self.until("a sync message", |got| match got {
            Got::Sync(Message::Heartbeat(_)) => None,
            Got::Sync(msg) => Some(msg.clone()),
            _ => None,
        })
        .await
    }

    async fn heartbeat(&mut self) -> Heartbeat {
        self.until("a heartbeat", |got| match got {
            Got::Sync(Message::Heartbeat(beat)) => Some(beat.clone()),
            _ => None,
        })
        .await
        .0
    }

    /// A `/whereami` round trip: everything sent before it has been handled. Returns what came
    /// meanwhile.
    async fn sync_point(&mut self) -> Vec<Got> {
        self.command("whereami").await.1
    }

    async fn command(&mut self, line: &str) -> (String, Vec<Got>) {
        self.client.send_command(line).await.unwrap();
        self.until("a command's answer", |got| match got {
            Got::Packet(ClientboundGamePacket::SystemChat(chat)) if !chat.overlay => {
                Some(chat.content.to_string())
            }
            _ => None,
        })
        .await
    }

    /// Asks for the player's state under transfer `transfer` (no answer awaited).
    async fn request_state(&self, transfer: u128) {
        let player = self.uuid();
        self.send(Message::StateRequest(StateRequest {
            transfer_id: Uuid::from_u128(transfer),
            player,
        }))
        .await;
    }

    /// Asks for the player's state and returns the snapshot; anything else fails the test.
    async fn snapshot(&mut self, transfer: u128) -> sync_plugin_protocol::PlayerState {
        self.request_state(transfer).await;
        match self.reply().await.0 {
            Message::StateSnapshot(snapshot) => snapshot.state,
            other => panic!("expected a snapshot, got {other:?}"),
        }
    }

    async fn set_role(&mut self, role: Role, epoch: i64) {
        let player = self.uuid();
        self.send(Message::SetRole(SetRole {
            player,
            role,
            epoch,
        }))
        .await;
        self.sync_point().await;
    }
}

fn sync_messages(seen: &[Got]) -> Vec<&Message> {
    seen.iter()
        .filter_map(|got| match got {
            Got::Sync(Message::Heartbeat(_)) => None,
            Got::Sync(msg) => Some(msg),
            _ => None,
        })
        .collect()
}

fn packets(seen: &[Got]) -> impl Iterator<Item = &ClientboundGamePacket> {
    seen.iter().filter_map(|got| match got {
        Got::Packet(p) => Some(p),
        _ => None,
    })
}

fn stack(item: &str, count: i32) -> ItemStack {
    ItemStack::plain(item, count)
}

fn speed() -> Effect {
    Effect {
        effect: "minecraft:speed".into(),
        amplifier: 1,
        duration_ticks: 600,
        ambient: false,
        show_particles: true,
        show_icon: true,
    }
}

fn diamond_list(count: i32) -> Vec<(i32, String, i32)> {
    vec![(0, "minecraft:diamond".into(), count)]
}

#[tokio::test]
async fn the_backend_says_hello_on_registration_and_beats_every_second() {
    within!(60, async {
        let backend = start_default().await;
        let mut alice = ProxyLink::join(&backend, "Alice").await;
        // Not before the proxy registered the channel: Bukkit could not send it either.
        assert!(
            sync_messages(&alice.sync_point().await).is_empty()
                && alice.client.count_received(ids::CUSTOM_PAYLOAD) == 0
        );
        let hello = alice.handshake().await;
        assert_eq!(hello.server_id, "alpha");
        assert_eq!((hello.min_version, hello.max_version), (1, 1));
        assert!(hello.capabilities.is_empty());

        let first = alice.heartbeat().await;
        let at_first = Instant::now();
        assert_eq!(first.online_players, 1);
        assert!(first.tps > 0.0 && first.tps <= 20.0, "{first:?}");
        assert!(first.mspt >= 0.0, "{first:?}");
        assert!(
            first.memory_used_bytes > 0 && first.memory_max_bytes >= first.memory_used_bytes,
            "{first:?}"
        );
        let _bob = ProxyLink::join(&backend, "Bob").await;
        let second = alice.heartbeat().await;
        let gap = at_first.elapsed();
        assert_eq!(second.online_players, 2, "dummies and all");
        assert!(
            gap >= Duration::from_millis(800) && gap < Duration::from_secs(3),
            "{gap:?} between beats"
        );
        // A second registration does not start a second handshake.
        alice.register().await;
        assert!(sync_messages(&alice.sync_point().await).is_empty());
        assert_eq!(backend.handle.role(alice.uuid()), Some(Role::Dummy));
    })
}

#[tokio::test]
async fn a_dummy_picks_up_nothing_while_a_primary_on_the_same_spot_does() {
    within!(60, async {
        let backend = start_default().await;
        let mut ghost = ProxyLink::open(&backend, "Ghost").await;
        let mut owner = ProxyLink::open(&backend, "Owner").await;
        ghost.set_role(Role::Dummy, 1).await;
        owner.set_role(Role::Primary, 1).await;
        let (ghost_id, owner_id) = (ghost.uuid(), owner.uuid());

        // Both stand at spawn: the primary takes it, the ghost never.
        let item = backend.handle.drop_item(SPAWN, "diamond", 3).unwrap();
        assert_eq!(backend.handle.inventory(owner_id), diamond_list(3));
        assert_eq!(backend.handle.inventory(ghost_id), vec![]);
        assert!(backend.handle.ground_items().is_empty());
        let (content, _) = owner
            .until("the owner's new inventory", |got| match got {
                Got::Packet(ClientboundGamePacket::ContainerSetContent(c)) => Some(c.clone()),
                _ => None,
            })
            .await;
        assert_eq!(content.items[36].kind(), ItemKind::Diamond, "hotbar slot 0");
        assert_eq!(content.items[36].count(), 3);
        // The ghost's client saw the item fly to the owner and go.
        ghost
            .until("the pickup animation", |got| match got {
                Got::Packet(ClientboundGamePacket::TakeItemEntity(t))
                    if t.item_id == item as u32 && t.player_id.0 == owner.client.entity_id() =>
                {
                    Some(())
                }
                _ => None,
            })
            .await;

        // The owner walks off; an item at the ghost's feet stays on the ground, even as it
        // steps right onto it.
        owner.client.move_to(-2.5, 64.0, 0.5).await.unwrap();
        owner.sync_point().await;
        backend
            .handle
            .drop_item(SPAWN, "minecraft:emerald", 2)
            .unwrap();
        ghost.client.move_to(-8.4, 64.0, 0.6).await.unwrap();
        ghost.sync_point().await;
        assert_eq!(backend.handle.ground_items().len(), 1);
        assert_eq!(backend.handle.inventory(ghost_id), vec![]);
        assert_eq!(backend.handle.inventory(owner_id), diamond_list(3));

        // Made primary, the same player takes what it stands on.
        ghost.set_role(Role::Primary, 2).await;
        assert!(backend.handle.ground_items().is_empty());
        assert_eq!(
            backend.handle.inventory(ghost_id),
            vec![(0, "minecraft:emerald".into(), 2)]
        );
    })
}

#[tokio::test]
async fn damage_knockback_and_effects_on_a_dummy_are_relayed_not_applied() {
    within!(60, async {
        let backend = start_default().await;
        let mut ghost = ProxyLink::open(&backend, "Ghost").await;
        ghost.set_role(Role::Dummy, 1).await;
        let uuid = ghost.uuid();

        assert_eq!(
            backend.handle.damage(uuid, 6.0, "minecraft:mob_attack"),
            Some(DamageOutcome::Relayed)
        );
        let (relay, seen) = ghost.reply().await;
        assert_eq!(
            relay,
            Message::RelayDamage(RelayDamage {
                player: uuid,
                amount: 6.0,
                damage_type: "minecraft:mob_attack".into(),
                attacker: None,
                source_position: None,
            })
        );
        assert_eq!(backend.handle.health(uuid), Some(20.0));
        assert!(
            !packets(&seen).any(|p| matches!(p, ClientboundGamePacket::SetHealth(_))),
            "the ghost's client is not told it was hurt"
        );

        assert!(backend.handle.knockback(uuid, [0.5, 0.25, 0.0]));
        assert_eq!(
            ghost.reply().await.0,
            Message::RelayKnockback(RelayKnockback {
                player: uuid,
                dx: 0.5,
                dy: 0.25,
                dz: 0.0,
            })
        );
        assert!(backend.handle.give_effect(uuid, speed()));
        assert_eq!(
            ghost.reply().await.0,
            Message::RelayEffect(RelayEffect {
                player: uuid,
                effect: speed(),
            })
        );
        assert!(backend.handle.state(uuid).unwrap().effects.is_empty());
        assert_eq!(backend.handle.damage(Uuid::nil(), 1.0, "x:y"), None);
    })
}

#[tokio::test]
async fn relayed_damage_to_a_primary_lands_once_and_death_respawns_at_spawn() {
    within!(60, async {
        let backend = start_default().await;
        let mut alice = ProxyLink::open(&backend, "Alice").await;
        let uuid = alice.uuid();
        alice.set_role(Role::Primary, 1).await;
        let relay = |amount| {
            Message::RelayDamage(RelayDamage {
                player: uuid,
                amount,
                damage_type: "minecraft:mob_attack".into(),
                attacker: None,
                source_position: None,
            })
        };

        alice.send(relay(5.0)).await;
        let seen = alice.sync_point().await;
        let healths: Vec<f32> = packets(&seen)
            .filter_map(|p| match p {
                ClientboundGamePacket::SetHealth(h) => Some(h.health),
                _ => None,
            })
            .collect();
        assert_eq!(healths, vec![15.0], "exactly one set_health");
        assert_eq!(backend.handle.health(uuid), Some(15.0));
        assert_eq!(alice.client.health(), Some(15.0));

        // A hit from this backend's own world lands the same way.
        assert_eq!(
            backend.handle.damage(uuid, 3.0, "minecraft:arrow"),
            Some(DamageOutcome::Applied { health: 12.0 })
        );
        alice
            .until("set_health 12", |got| match got {
                Got::Packet(ClientboundGamePacket::SetHealth(h)) if h.health == 12.0 => Some(()),
                _ => None,
            })
            .await;

        // Effects and knockback reach the client.
        alice
            .send(Message::RelayEffect(RelayEffect {
                player: uuid,
                effect: speed(),
            }))
            .await;
        alice
            .send(Message::RelayKnockback(RelayKnockback {
                player: uuid,
                dx: 0.0,
                dy: 0.5,
                dz: 0.0,
            }))
            .await;
        let seen = alice.sync_point().await;
        assert!(packets(&seen).any(|p| matches!(p,
            ClientboundGamePacket::UpdateMobEffect(e)
                if e.mob_effect == MobEffect::Speed && e.entity_id.0 == alice.client.entity_id())));
        assert!(packets(&seen).any(|p| matches!(p, ClientboundGamePacket::SetEntityMotion(_))));
        assert_eq!(backend.handle.state(uuid).unwrap().effects, vec![speed()]);

        // Far from spawn, a fatal hit: back at spawn with full health, and the proxy is told.
        alice.client.move_to(30.5, 64.0, 20.5).await.unwrap();
        alice.send(relay(100.0)).await;
        let (report, seen) = alice.reply().await;
        let Message::PositionReport(report) = report else {
            panic!("expected a PositionReport, got {report:?}");
        };
        assert_eq!(
            [report.location.x, report.location.y, report.location.z],
            SPAWN
        );
        assert!(packets(&seen).any(|p| matches!(p, ClientboundGamePacket::PlayerPosition(_))));
        assert!(packets(&seen).any(
            |p| matches!(p, ClientboundGamePacket::RemoveMobEffect(e) if e.effect == MobEffect::Speed)
        ));
        assert_eq!(backend.handle.health(uuid), Some(20.0));
        alice.sync_point().await;
        assert_eq!(alice.client.health(), Some(20.0));
        assert_eq!(alice.client.position(), SPAWN);
    })
}

#[tokio::test]
async fn a_relay_for_a_ghost_is_ignored() {
    within!(60, async {
        let backend = start_default().await;
        let mut ghost = ProxyLink::open(&backend, "Ghost").await;
        let uuid = ghost.uuid();
        ghost
            .send(Message::RelayDamage(RelayDamage {
                player: uuid,
                amount: 5.0,
                damage_type: "minecraft:mob_attack".into(),
                attacker: None,
                source_position: None,
            }))
            .await;
        let seen = ghost.sync_point().await;
        assert!(!packets(&seen).any(|p| matches!(p, ClientboundGamePacket::SetHealth(_))));
        assert_eq!(backend.handle.health(uuid), Some(20.0));
    })
}

#[tokio::test]
async fn state_request_snapshots_what_give_gave_and_freezes_the_player() {
    within!(60, async {
        let backend = start_default().await;
        let mut alice = ProxyLink::open(&backend, "Alice").await;
        let uuid = alice.uuid();

        // A dummy has nothing to hand off.
        alice.request_state(1).await;
        let Message::StateRefused(refused) = alice.reply().await.0 else {
            panic!("a dummy's state was handed off");
        };
        assert!(refused.reason.contains("not primary"), "{}", refused.reason);

        alice.set_role(Role::Primary, 1).await;
        let (answer, seen) = alice.command("give diamond 5").await;
        assert_eq!(answer, "Gave 5 minecraft:diamond");
        assert!(packets(&seen).any(|p| matches!(p,
            ClientboundGamePacket::ContainerSetContent(c) if c.items[36].count() == 5)));
        assert_eq!(alice.command("inv").await.0, "inv=diamond:5");
        alice.client.move_to(-7.5, 64.0, 2.5).await.unwrap();

        alice.request_state(2).await;
        let Message::StateSnapshot(snapshot) = alice.reply().await.0 else {
            panic!("expected a StateSnapshot");
        };
        assert_eq!(snapshot.transfer_id, Uuid::from_u128(2));
        assert_eq!(
            snapshot.state.inventory,
            vec![InventorySlot {
                slot: 0,
                item: stack("minecraft:diamond", 5)
            }]
        );
        assert_eq!(
            (
                snapshot.state.health,
                snapshot.state.food,
                snapshot.state.game_mode
            ),
            (20.0, 20, GameMode::Survival)
        );
        assert_eq!(
            [
                snapshot.state.location.x,
                snapshot.state.location.y,
                snapshot.state.location.z
            ],
            [-7.5, 64.0, 2.5]
        );
        assert_eq!(backend.handle.state(uuid), Some(snapshot.state.clone()));

        // Frozen: nothing changes what was just sent away.
        assert!(backend.handle.is_frozen(uuid));
        assert!(alice.command("give stone 1").await.0.contains("moved"));
        assert_eq!(
            backend.handle.damage(uuid, 4.0, "minecraft:mob_attack"),
            Some(DamageOutcome::Relayed)
        );
        assert!(matches!(alice.reply().await.0, Message::RelayDamage(_)));
        backend
            .handle
            .drop_item([-7.5, 64.0, 2.5], "stone", 1)
            .unwrap();
        assert_eq!(backend.handle.inventory(uuid), diamond_list(5));
        // One handoff at a time.
        alice.request_state(3).await;
        assert!(matches!(alice.reply().await.0, Message::StateRefused(_)));
        assert!(backend.handle.is_frozen(uuid));

        // The handoff is abandoned: SetRole primary unfreezes, and what lay there is taken.
        alice.set_role(Role::Primary, 1).await;
        assert!(!backend.handle.is_frozen(uuid));
        assert_eq!(
            backend.handle.inventory(uuid),
            vec![
                (0, "minecraft:diamond".into(), 5),
                (1, "minecraft:stone".into(), 1)
            ]
        );
    })
}

/// A state unlike the defaults in every field a client can see.
fn rich_state(uuid_state: &PlayerState) -> PlayerState {
    let mut state = uuid_state.clone();
    state.inventory = vec![
        InventorySlot {
            slot: 0,
            item: ItemStack {
                item: "minecraft:diamond_sword".into(),
                count: 1,
                // {"minecraft:damage": 5}, network NBT, as in the spec's example.
                components: Bytes::from_static(&[
                    0x0a, 0x03, 0x00, 0x10, b'm', b'i', b'n', b'e', b'c', b'r', b'a', b'f', b't',
                    b':', b'd', b'a', b'm', b'a', b'g', b'e', 0, 0, 0, 5, 0,
                ]),
            },
        },
        InventorySlot {
            slot: 3,
            item: stack("minecraft:emerald", 7),
        },
        InventorySlot {
            slot: 39,
            item: stack("minecraft:iron_helmet", 1),
        },
    ];
    state.ender_chest = vec![InventorySlot {
        slot: 26,
        item: stack("minecraft:diamond", 3),
    }];
    state.selected_slot = 2;
    state.health = 12.0;
    state.food = 15;
    state.saturation = 1.5;
    state.experience.level = 3;
    state.experience.progress = 0.5;
    state.experience.total = 33;
    state.effects = vec![speed()];
    state.game_mode = GameMode::Creative;
    state.abilities.may_fly = true;
    state.abilities.instabuild = true;
    state.abilities.invulnerable = true;
    state.fire_ticks = 40;
    state
}

#[tokio::test]
async fn apply_state_is_applied_once_and_shown_to_the_client() {
    within!(60, async {
        let backend = start_default().await;
        let mut alice = ProxyLink::open(&backend, "Alice").await;
        let uuid = alice.uuid();
        alice.set_role(Role::Dummy, 1).await;
        let state = rich_state(&backend.handle.state(uuid).unwrap());
        let apply = ApplyState {
            transfer_id: Uuid::from_u128(0xabc),
            player: uuid,
            epoch: 2,
            state: state.clone(),
        };

        alice.send(Message::ApplyState(apply.clone())).await;
        let (answer, seen) = alice.reply().await;
        let Message::StateApplied(applied) = answer else {
            panic!("expected StateApplied, got {answer:?}");
        };
        assert_eq!(applied.outcome, ApplyOutcome::Applied);
        assert_eq!(backend.handle.state(uuid), Some(state.clone()));
        // Everything the client shows, sent before the answer.
        let shown: Vec<&ClientboundGamePacket> = packets(&seen).collect();
        assert!(shown.iter().any(|p| matches!(p,
            ClientboundGamePacket::ContainerSetContent(c)
                if c.items[36].kind() == ItemKind::DiamondSword
                    && c.items[39].kind() == ItemKind::Emerald && c.items[39].count() == 7
                    && c.items[5].kind() == ItemKind::IronHelmet)));
        assert!(shown.iter().any(|p| matches!(p,
            ClientboundGamePacket::SetHealth(h) if h.health == 12.0 && h.food == 15)));
        assert!(shown.iter().any(|p| matches!(p,
            ClientboundGamePacket::SetExperience(x) if x.experience_level == 3 && x.total_experience == 33)));
        assert!(shown.iter().any(|p| matches!(p,
            ClientboundGamePacket::UpdateMobEffect(e) if e.mob_effect == MobEffect::Speed && e.data.amplifier == 1)));
        assert!(shown.iter().any(|p| matches!(p,
            ClientboundGamePacket::GameEvent(g) if g.event == EventType::ChangeGameMode && g.param == 1.0)));
        assert!(
            shown.iter().any(|p| matches!(p,
            ClientboundGamePacket::PlayerAbilities(a) if a.flags.can_fly && a.flags.instant_break))
        );
        assert!(shown.iter().any(|p| matches!(p,
            ClientboundGamePacket::SetHeldSlot(s) if s.slot == 2)));

        // The same transfer again: already applied, nothing done, nothing doubled.
        alice.send(Message::ApplyState(apply.clone())).await;
        let (answer, seen) = alice.reply().await;
        let Message::StateApplied(again) = answer else {
            panic!("expected StateApplied, got {answer:?}");
        };
        assert_eq!(again.outcome, ApplyOutcome::AlreadyApplied);
        assert!(
            !packets(&seen).any(|p| matches!(p, ClientboundGamePacket::ContainerSetContent(_))),
            "nothing is shown again"
        );
        assert_eq!(backend.handle.state(uuid), Some(state.clone()));
        assert_eq!(
            backend.handle.inventory(uuid),
            vec![
                (0, "minecraft:diamond_sword".into(), 1),
                (3, "minecraft:emerald".into(), 7),
                (39, "minecraft:iron_helmet".into(), 1),
            ]
        );

        // The swap completes; a handoff onward carries the state whole, components and all.
        alice.set_role(Role::Primary, 2).await;
        assert_eq!(backend.handle.role(uuid), Some(Role::Primary));
        assert_eq!(
            alice.command("inv").await.0,
            "inv=diamond_sword:1,emerald:7,iron_helmet:1"
        );
        assert_eq!(alice.snapshot(0xdef).await, state);
    })
}

#[tokio::test]
async fn apply_state_refusals_apply_nothing() {
    within!(60, async {
        let backend = start_default().await;
        let mut alice = ProxyLink::open(&backend, "Alice").await;
        let uuid = alice.uuid();
        let before = backend.handle.state(uuid).unwrap();
        let mut apply = ApplyState {
            transfer_id: Uuid::from_u128(1),
            player: uuid,
            epoch: 1,
            state: rich_state(&before),
        };
        let outcome = |msg: Message| match msg {
            Message::StateApplied(a) => a.outcome,
            other => panic!("expected StateApplied, got {other:?}"),
        };

        // A state no handoff could carry.
        apply.state.inventory[1].slot = 45;
        alice.send(Message::ApplyState(apply.clone())).await;
        assert!(matches!(outcome(alice.reply().await.0),
            ApplyOutcome::Refused { reason } if reason.contains("slot 45")));
        assert_eq!(backend.handle.state(uuid), Some(before.clone()));

        // Not recorded when refused: the same transfer id may be retried.
        apply.state.inventory[1].slot = 4;
        alice.send(Message::ApplyState(apply.clone())).await;
        assert_eq!(outcome(alice.reply().await.0), ApplyOutcome::Applied);

        // A primary is never overwritten.
        alice.set_role(Role::Primary, 1).await;
        apply.transfer_id = Uuid::from_u128(2);
        alice.send(Message::ApplyState(apply)).await;
        assert!(matches!(outcome(alice.reply().await.0),
            ApplyOutcome::Refused { reason } if reason.contains("primary")));
    })
}

#[tokio::test]
async fn stale_epochs_are_refused() {
    within!(60, async {
        let backend = start_default().await;
        let mut alice = ProxyLink::open(&backend, "Alice").await;
        let uuid = alice.uuid();
        alice.set_role(Role::Dummy, 5).await;

        let before = backend.handle.state(uuid).unwrap();
        alice
            .send(Message::ApplyState(ApplyState {
                transfer_id: Uuid::from_u128(9),
                player: uuid,
                epoch: 4,
                state: rich_state(&before),
            }))
            .await;
        let Message::StateApplied(answer) = alice.reply().await.0 else {
            panic!("expected StateApplied");
        };
        assert_eq!(
            answer.outcome,
            ApplyOutcome::Refused {
                reason: "stale epoch".into()
            }
        );
        assert_eq!(backend.handle.state(uuid), Some(before));

        // A stale SetRole is ignored; an equal epoch is obeyed.
        alice.set_role(Role::Primary, 4).await;
        assert_eq!(backend.handle.role(uuid), Some(Role::Dummy));
        alice.set_role(Role::Primary, 5).await;
        assert_eq!(backend.handle.role(uuid), Some(Role::Primary));

        // Zones: per backend; a stale assignment is answered with the newer epoch, unapplied.
        let zone = |id: &str| Zone {
            zone_id: id.into(),
            dimension: "minecraft:overworld".into(),
            min_chunk_x: Some(0),
            max_chunk_x: None,
            min_chunk_z: None,
            max_chunk_z: None,
        };
        let assign = |epoch, id| {
            Message::ZoneAssignment(ZoneAssignment {
                epoch,
                zones: vec![zone(id)],
            })
        };
        alice.send(assign(10, "east")).await;
        assert!(matches!(alice.reply().await.0, Message::ZonesApplied(z) if z.epoch == 10));
        alice.send(assign(9, "stale")).await;
        assert!(matches!(alice.reply().await.0, Message::ZonesApplied(z) if z.epoch == 10));
        assert_eq!(backend.handle.zones(), (Some(10), vec![zone("east")]));
        alice.send(assign(10, "again")).await;
        assert!(matches!(alice.reply().await.0, Message::ZonesApplied(z) if z.epoch == 10));
        assert_eq!(backend.handle.zones().1, vec![zone("again")]);
    })
}

#[tokio::test]
async fn unreadable_payloads_are_dropped_and_the_session_and_link_survive() {
    within!(60, async {
        let backend = start_default().await;
        let mut alice = ProxyLink::open(&backend, "Alice").await;
        let uuid = alice.uuid();
        let set_role = encode_to_bytes(&Message::SetRole(SetRole {
            player: uuid,
            role: Role::Primary,
            epoch: 1,
        }))
        .unwrap();
        let stray_fragment = encode_to_bytes(&Message::Fragment(Fragment {
            index: 3,
            count: 4,
            data: Bytes::from_static(b"abc"),
        }))
        .unwrap();
        let junk: Vec<Vec<u8>> = vec![
            // Garbage: a VarInt that never ends.
            vec![0xff; 12],
            // Truncated: half a SetRole.
            set_role[..set_role.len() / 2].to_vec(),
            // Trailing bytes after a whole message.
            [&set_role[..], &[0x00]].concat(),
            // Oversized: one byte over, and far over, the plugin-message limit.
            vec![0x40; MAX_PAYLOAD_LEN + 1],
            vec![0x40; 100_000],
            // A fragment out of sequence.
            stray_fragment.to_vec(),
            // Empty.
            Vec::new(),
        ];
        let count = junk.len();
        for bytes in junk {
            alice.send_raw("meridian:sync", bytes).await;
        }
        let seen = alice.sync_point().await;
        assert!(sync_messages(&seen).is_empty(), "no answer to junk");
        assert_eq!(backend.handle.sync_dropped(), count);
        assert_eq!(alice.command("whereami").await.0, "server=alpha");
        assert_eq!(backend.handle.player_names(), vec!["Alice".to_owned()]);

        // The conversation goes on where it was.
        alice.send_raw("meridian:sync", set_role.to_vec()).await;
        alice.sync_point().await;
        assert_eq!(backend.handle.role(uuid), Some(Role::Primary));
        alice.heartbeat().await;
        assert_eq!(backend.handle.sync_received(MessageType::SetRole), 1);
    })
}

#[tokio::test]
async fn a_broken_rule_ends_the_link_with_a_reject_and_only_that_link() {
    within!(60, async {
        let backend = start_default().await;
        let mut alice = ProxyLink::open(&backend, "Alice").await;
        let mut bob = ProxyLink::open(&backend, "Bob").await;
        // A message about another player on Alice's link.
        let about_bob = encode_to_bytes(&Message::SetRole(SetRole {
            player: bob.uuid(),
            role: Role::Primary,
            epoch: 1,
        }))
        .unwrap();
        alice.send_raw("meridian:sync", about_bob.to_vec()).await;
        let (reject, _) = alice
            .until("a Reject", |got| match got {
                Got::Broken(_, payload) => match sync_plugin_protocol::decode(payload) {
                    Ok(Message::Reject(r)) => Some(r),
                    _ => None,
                },
                _ => None,
            })
            .await;
        assert!(reject.reason.contains("player"), "{}", reject.reason);
        let reason = alice.client.wait_closed(WAIT).await.unwrap().unwrap();
        assert!(reason.contains("meridian:sync"), "{reason}");
        assert_eq!(backend.handle.role(bob.uuid()), Some(Role::Dummy));
        assert_eq!(bob.command("whereami").await.0, "server=alpha");
    })
}

#[tokio::test]
async fn no_welcome_within_the_handshake_timeout_disconnects() {
    within!(30, async {
        let mut config = BackendConfig::new("alpha", SECRET);
        config.sync_handshake_timeout = Duration::from_millis(200);
        let backend = start(config).await;
        let mut alice = ProxyLink::join(&backend, "Alice").await;
        alice.register().await;
        let reason = alice.client.wait_closed(WAIT).await.unwrap().unwrap();
        assert!(reason.contains("Welcome"), "{reason}");
    })
}

#[tokio::test]
async fn teleport_dummy_moves_the_ghost_and_mirror_state_dresses_it_for_others() {
    within!(60, async {
        let backend = start_default().await;
        let mut ghost = ProxyLink::open(&backend, "Ghost").await;
        let mut watcher = ProxyLink::join(&backend, "Watcher").await;
        let ghost_entity = ghost.client.entity_id();
        let uuid = ghost.uuid();

        ghost
            .send(Message::TeleportDummy(TeleportDummy {
                player: uuid,
                location: Location {
                    dimension: "minecraft:overworld".into(),
                    x: 0.5,
                    y: 64.0,
                    z: 10.5,
                    yaw: 90.0,
                    pitch: 0.0,
                },
            }))
            .await;
        ghost
            .until("player_position", |got| match got {
                Got::Packet(ClientboundGamePacket::PlayerPosition(p))
                    if p.change.pos.x == 0.5 && p.change.pos.z == 10.5 =>
                {
                    Some(())
                }
                _ => None,
            })
            .await;
        watcher
            .until("the ghost moving", |got| match got {
                Got::Packet(ClientboundGamePacket::EntityPositionSync(s))
                    if s.id.0 == ghost_entity && s.values.pos.z == 10.5 =>
                {
                    Some(())
                }
                _ => None,
            })
            .await;

        let mirror = MirrorState {
            player: uuid,
            equipment: vec![EquipmentEntry {
                slot: EquipmentSlot::Head,
                item: stack("minecraft:iron_helmet", 1),
            }],
            effects: vec![speed()],
            pose: 5,
            sneaking: true,
            sprinting: false,
        };
        ghost.send(Message::MirrorState(mirror)).await;
        let (equipment, _) = watcher
            .until("set_equipment", |got| match got {
                Got::Packet(ClientboundGamePacket::SetEquipment(e))
                    if e.entity_id.0 == ghost_entity =>
                {
                    Some(e.clone())
                }
                _ => None,
            })
            .await;
        let head = equipment
            .slots
            .slots
            .iter()
            .find(|(slot, _)| *slot as u8 == 5)
            .map(|(_, item)| item.kind());
        assert_eq!(head, Some(ItemKind::IronHelmet));
        let seen = watcher.sync_point().await;
        assert!(packets(&seen).any(|p| matches!(p,
            ClientboundGamePacket::SetEntityData(d) if d.id.0 == ghost_entity)));
        assert!(packets(&seen).any(|p| matches!(p,
            ClientboundGamePacket::UpdateMobEffect(e) if e.entity_id.0 == ghost_entity)));
        // Mirrored items are only a look: the ghost's inventory stays empty.
        assert_eq!(backend.handle.inventory(uuid), vec![]);

        // A primary moves itself: TeleportDummy is ignored.
        ghost.set_role(Role::Primary, 1).await;
        let before = ghost.client.count_received(ids::PLAYER_POSITION);
        ghost
            .send(Message::TeleportDummy(TeleportDummy {
                player: uuid,
                location: Location {
                    dimension: "minecraft:overworld".into(),
                    x: 100.5,
                    y: 64.0,
                    z: 0.5,
                    yaw: 0.0,
                    pitch: 0.0,
                },
            }))
            .await;
        ghost.sync_point().await;
        assert_eq!(ghost.client.count_received(ids::PLAYER_POSITION), before);
    })
}

#[tokio::test]
async fn a_stopped_backend_hears_but_never_answers() {
    within!(60, async {
        let backend = start_default().await;
        let mut alice = ProxyLink::open(&backend, "Alice").await;
        let uuid = alice.uuid();
        alice.set_role(Role::Primary, 1).await;
        backend.handle.stop_sync(true);
        alice.request_state(1).await;
        let seen = alice.sync_point().await;
        assert!(
            sync_messages(&seen).is_empty(),
            "{:?}",
            sync_messages(&seen)
        );
        assert_eq!(backend.handle.sync_received(MessageType::StateRequest), 1);
        assert!(!backend.handle.is_frozen(uuid));
        // Heartbeats go on: the backend is alive, only deaf.
        alice.heartbeat().await;

        backend.handle.stop_sync(false);
        alice.request_state(2).await;
        assert!(matches!(alice.reply().await.0, Message::StateSnapshot(_)));
    })
}

#[tokio::test]
async fn a_state_too_large_for_one_payload_travels_in_fragments_both_ways() {
    within!(60, async {
        let backend = start_default().await;
        let mut alice = ProxyLink::open(&backend, "Alice").await;
        let uuid = alice.uuid();
        let mut state = backend.handle.state(uuid).unwrap();
        // 36 books with 1 KiB of (opaque, here) components each: over 32 766 bytes.
        state.inventory = (0..36)
            .map(|slot| InventorySlot {
                slot,
                item: ItemStack {
                    item: "minecraft:written_book".into(),
                    count: 1,
                    components: Bytes::from(vec![0u8; 1024]),
                },
            })
            .collect();
        let apply = Message::ApplyState(ApplyState {
            transfer_id: Uuid::from_u128(5),
            player: uuid,
            epoch: 1,
            state: state.clone(),
        });
        assert!(alice.peer.prepare(&apply).unwrap().len() > 1);
        alice.send(apply).await;
        assert!(matches!(alice.reply().await.0,
            Message::StateApplied(a) if a.outcome == ApplyOutcome::Applied));
        assert!(backend.handle.sync_received(MessageType::Fragment) >= 2);
        assert_eq!(backend.handle.sync_received(MessageType::ApplyState), 1);

        alice.set_role(Role::Primary, 1).await;
        assert_eq!(alice.snapshot(6).await, state);
    })
}

#[tokio::test]
async fn set_state_presets_what_a_snapshot_then_carries() {
    within!(60, async {
        let backend = start_default().await;
        let mut alice = ProxyLink::open(&backend, "Alice").await;
        let uuid = alice.uuid();
        alice.set_role(Role::Primary, 1).await;
        let mut state = backend.handle.state(uuid).unwrap();
        state.food = 7;
        state.experience.level = 30;
        state.effects = vec![speed()];
        state.game_mode = GameMode::Adventure;
        backend.handle.set_state(uuid, state.clone()).unwrap();
        let (_, seen) = alice
            .until("set_health", |got| match got {
                Got::Packet(ClientboundGamePacket::SetHealth(h)) if h.food == 7 => Some(()),
                _ => None,
            })
            .await;
        assert!(packets(&seen).any(|p| matches!(p,
            ClientboundGamePacket::GameEvent(g) if g.event == EventType::ChangeGameMode && g.param == 2.0)));
        let mut bad = state.clone();
        bad.health = -1.0;
        assert!(backend.handle.set_state(uuid, bad).is_err());
        assert_eq!(alice.snapshot(1).await, state);
    })
}

// Re-zoning: the zones a backend released hide its world entities, and `ResendChunks` sends a
// player what the proxy dropped while another backend owned those chunks.

/// Every chunk column with x < 0 (the default marker at x = -12.5 and the spawn are in it).
fn west() -> Zone {
    Zone {
        zone_id: "west".into(),
        dimension: "minecraft:overworld".into(),
        min_chunk_x: None,
        max_chunk_x: Some(0),
        min_chunk_z: None,
        max_chunk_z: None,
    }
}

/// Every chunk column with x ≥ 0.
fn east() -> Zone {
    Zone {
        zone_id: "east".into(),
        dimension: "minecraft:overworld".into(),
        min_chunk_x: Some(0),
        max_chunk_x: None,
        min_chunk_z: None,
        max_chunk_z: None,
    }
}

impl ProxyLink {
    /// Sends an assignment and returns the epoch of the `ZonesApplied` that answers it.
    async fn assign(&mut self, epoch: i64, zones: Vec<Zone>) -> i64 {
        self.send(Message::ZoneAssignment(ZoneAssignment { epoch, zones }))
            .await;
        match self.reply().await.0 {
            Message::ZonesApplied(applied) => applied.epoch,
            other => panic!("expected ZonesApplied, got {other:?}"),
        }
    }

    /// Waits until the client was sent `add_entity` for each of `ids`; returns what came
    /// meanwhile.
    async fn added(&mut self, ids: &[i32]) -> Vec<Got> {
        let mut missing: HashSet<i32> = ids.iter().copied().collect();
        let mut seen = Vec::new();
        while !missing.is_empty() {
            let (id, before) = self
                .until("add_entity", |got| match got {
                    Got::Packet(ClientboundGamePacket::AddEntity(a))
                        if missing.contains(&a.id.0) =>
                    {
                        Some(a.id.0)
                    }
                    _ => None,
                })
                .await;
            missing.remove(&id);
            seen.extend(before);
        }
        seen
    }

    /// Waits until the client was sent a `remove_entities` naming `id`.
    async fn removed(&mut self, id: i32) -> Vec<Got> {
        self.until("remove_entities", |got| match got {
            Got::Packet(ClientboundGamePacket::RemoveEntities(r))
                if r.entity_ids.iter().any(|e| e.0 == id) =>
            {
                Some(())
            }
            _ => None,
        })
        .await
        .1
    }

    async fn resend(&mut self, dimension: &str, chunks: &[(i32, i32)]) -> Vec<Got> {
        let player = self.uuid();
        self.send(Message::ResendChunks(ResendChunks {
            player,
            dimension: dimension.into(),
            chunks: chunks.iter().map(|&(x, z)| ChunkCoords { x, z }).collect(),
        }))
        .await;
        // Handled in order with the command that follows, on the same connection.
        self.sync_point().await
    }
}

/// The entity ids in `add_entity` (true) or `remove_entities` (false) packets, in order.
fn entity_ids(seen: &[Got], added: bool) -> Vec<i32> {
    packets(seen)
        .flat_map(|p| match p {
            ClientboundGamePacket::AddEntity(a) if added => vec![a.id.0],
            ClientboundGamePacket::RemoveEntities(r) if !added => {
                r.entity_ids.iter().map(|e| e.0).collect()
            }
            _ => vec![],
        })
        .collect()
}

fn chunks_sent(seen: &[Got]) -> Vec<(i32, i32)> {
    packets(seen)
        .filter_map(|p| match p {
            ClientboundGamePacket::LevelChunkWithLight(c) => Some((c.x, c.z)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn releasing_a_zone_hides_its_world_entities_from_every_client_until_it_comes_back() {
    within!(60, async {
        let backend = start_default().await;
        let marker = backend.handle.marker_entity_id().unwrap();
        let mut alice = ProxyLink::open(&backend, "Alice").await;
        // No sync conversation of its own: every session of the backend follows the zones.
        let mut bob = ProxyLink::join(&backend, "Bob").await;
        assert!(alice.client.entities().contains_key(&marker));
        assert!(bob.client.entities().contains_key(&marker));

        // A first assignment takes nothing away.
        assert_eq!(alice.assign(1, vec![west(), east()]).await, 1);
        assert_eq!(backend.handle.released_zones(), vec![]);
        assert!(!backend.handle.is_marker_hidden());

        // West goes to another backend: the marker in it is despawned for everyone.
        assert_eq!(alice.assign(2, vec![east()]).await, 2);
        assert_eq!(backend.handle.released_zones(), vec![west()]);
        assert!(backend.handle.is_marker_hidden());
        alice.removed(marker).await;
        bob.removed(marker).await;

        // Items laid in the released zone are shown to nobody; those east of it are.
        let hidden = backend
            .handle
            .drop_item([-20.5, 64.0, 0.5], "diamond", 1)
            .unwrap();
        let shown = backend
            .handle
            .drop_item([4.5, 64.0, 0.5], "emerald", 1)
            .unwrap();
        for link in [&mut alice, &mut bob] {
            // Events arrive in order: the hidden item's would have come first.
            let seen = link.added(&[shown]).await;
            assert!(!entity_ids(&seen, true).contains(&hidden), "{seen:?}");
        }

        // West comes back: the marker and the item there are shown again.
        assert_eq!(alice.assign(3, vec![west(), east()]).await, 3);
        assert_eq!(backend.handle.released_zones(), vec![]);
        assert!(!backend.handle.is_marker_hidden());
        for link in [&mut alice, &mut bob] {
            link.added(&[marker, hidden]).await;
            link.sync_point().await;
            let entities = link.client.entities();
            assert!(
                [marker, hidden, shown]
                    .iter()
                    .all(|id| entities.contains_key(id))
            );
            assert_eq!(link.client.duplicate_adds(), 0);
        }
        assert_eq!(backend.handle.sync_received(MessageType::ZoneAssignment), 3);
    })
}

#[tokio::test]
async fn resend_chunks_sends_the_loaded_ones_again_and_respawns_their_entities() {
    within!(60, async {
        let backend = start_default().await;
        let marker = backend.handle.marker_entity_id().unwrap();
        let mut alice = ProxyLink::open(&backend, "Alice").await;
        let loaded = alice.client.loaded_chunks();
        assert!(loaded.contains(&(-1, 0)) && loaded.contains(&(0, 0)));
        assert!(!loaded.contains(&(40, 40)));
        // Chunk (0, 0) and, outside what is resent, chunk (1, 0).
        let inside = backend
            .handle
            .drop_item([4.5, 64.0, 0.5], "diamond", 1)
            .unwrap();
        let outside = backend
            .handle
            .drop_item([20.5, 64.0, 0.5], "emerald", 1)
            .unwrap();
        alice.added(&[inside, outside]).await;

        // The marker's chunk, the item's, one never sent, and a repeat.
        let seen = alice
            .resend("minecraft:overworld", &[(-1, 0), (0, 0), (40, 40), (-1, 0)])
            .await;
        assert_eq!(chunks_sent(&seen), vec![(-1, 0), (0, 0)]);
        assert!(packets(&seen).any(|p| matches!(p,
            ClientboundGamePacket::ChunkBatchFinished(b) if b.batch_size == 2)));
        let mut removed = entity_ids(&seen, false);
        removed.sort_unstable();
        let mut expected = vec![marker, inside];
        expected.sort_unstable();
        assert_eq!(removed, expected);
        assert_eq!(entity_ids(&seen, true), vec![marker, inside]);
        // In order: the chunks, then the removal, then the spawns (with the item's stack).
        let order: Vec<i32> = packets(&seen)
            .filter_map(|p| match p {
                ClientboundGamePacket::LevelChunkWithLight(_) => Some(0),
                ClientboundGamePacket::RemoveEntities(_) => Some(1),
                ClientboundGamePacket::AddEntity(_) => Some(2),
                _ => None,
            })
            .collect();
        assert_eq!(order, vec![0, 0, 1, 2, 2]);
        assert!(packets(&seen).any(|p| matches!(p,
            ClientboundGamePacket::SetEntityData(d) if d.id.0 == inside)));
        let entities = alice.client.entities();
        assert!(
            [marker, inside, outside]
                .iter()
                .all(|id| entities.contains_key(id))
        );
        assert_eq!(alice.client.duplicate_adds(), 0);

        // Nothing loaded in the list, or another dimension: nothing at all.
        for (dimension, chunks) in [
            ("minecraft:overworld", &[(40, 40)][..]),
            ("minecraft:the_nether", &[(-1, 0), (0, 0)][..]),
        ] {
            let seen = alice.resend(dimension, chunks).await;
            assert_eq!(chunks_sent(&seen), vec![]);
            assert!(entity_ids(&seen, false).is_empty() && entity_ids(&seen, true).is_empty());
        }
        assert_eq!(backend.handle.sync_received(MessageType::ResendChunks), 3);

        // A chunk in a released zone goes again, but not the marker in it.
        alice.assign(1, vec![west()]).await;
        alice.assign(2, vec![]).await;
        alice.removed(marker).await;
        let seen = alice.resend("minecraft:overworld", &[(-1, 0)]).await;
        assert_eq!(chunks_sent(&seen), vec![(-1, 0)]);
        assert!(entity_ids(&seen, true).is_empty(), "{seen:?}");
        assert!(!alice.client.entities().contains_key(&marker));
    })
}

#[tokio::test]
async fn a_stale_zone_assignment_changes_nothing() {
    within!(60, async {
        let backend = start_default().await;
        let marker = backend.handle.marker_entity_id().unwrap();
        let mut alice = ProxyLink::open(&backend, "Alice").await;
        assert_eq!(alice.assign(5, vec![west(), east()]).await, 5);
        assert_eq!(alice.assign(6, vec![east()]).await, 6);
        alice.removed(marker).await;
        assert_eq!(alice.assign(7, vec![west(), east()]).await, 7);
        alice.added(&[marker]).await;

        // Late copies of older orders: answered with the newer epoch, and nothing is released.
        assert_eq!(alice.assign(6, vec![east()]).await, 7);
        assert_eq!(alice.assign(5, vec![]).await, 7);
        assert_eq!(backend.handle.zones(), (Some(7), vec![west(), east()]));
        assert_eq!(backend.handle.released_zones(), vec![]);
        assert!(!backend.handle.is_marker_hidden());
        // An item dropped in the west now is shown, and the marker was not taken away first.
        let item = backend
            .handle
            .drop_item([-20.5, 64.0, 0.5], "diamond", 1)
            .unwrap();
        let seen = alice.added(&[item]).await;
        assert!(!entity_ids(&seen, false).contains(&marker), "{seen:?}");
        assert!(alice.client.entities().contains_key(&marker));
    })
}
