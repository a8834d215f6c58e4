//! Property tests: every message survives encode → decode unchanged, and no input makes decoding panic.

use bytes::Bytes;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use sync_plugin_protocol::limits::*;
use sync_plugin_protocol::*;
use uuid::Uuid;

fn uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

fn f32_finite() -> impl Strategy<Value = f32> {
    any::<f32>().prop_filter("finite", |v| v.is_finite())
}

fn f64_finite() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("finite", |v| v.is_finite())
}

fn identifier() -> impl Strategy<Value = String> {
    "[a-z0-9_.-]{1,20}:[a-z0-9_./-]{1,40}"
}

/// Any text, multi-byte characters included, up to `max_chars` characters of at most 4 bytes each.
fn text(max_chars: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("\\PC{{0,{max_chars}}}")).expect("valid regex")
}

fn blob(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn item() -> impl Strategy<Value = ItemStack> {
    (identifier(), any::<i32>(), blob(64)).prop_map(|(item, count, components)| ItemStack {
        item,
        count,
        components,
    })
}

fn slots(max: usize) -> impl Strategy<Value = Vec<InventorySlot>> {
    vec(
        (any::<i32>(), item()).prop_map(|(slot, item)| InventorySlot { slot, item }),
        0..=max,
    )
}

fn effect() -> impl Strategy<Value = Effect> {
    (
        identifier(),
        any::<i32>(),
        any::<i32>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(effect, amplifier, duration_ticks, ambient, show_particles, show_icon)| Effect {
                effect,
                amplifier,
                duration_ticks,
                ambient,
                show_particles,
                show_icon,
            },
        )
}

fn effects() -> impl Strategy<Value = Vec<Effect>> {
    vec(effect(), 0..4)
}

fn location() -> impl Strategy<Value = Location> {
    (
        identifier(),
        f64_finite(),
        f64_finite(),
        f64_finite(),
        f32_finite(),
        f32_finite(),
    )
        .prop_map(|(dimension, x, y, z, yaw, pitch)| Location {
            dimension,
            x,
            y,
            z,
            yaw,
            pitch,
        })
}

fn game_mode() -> impl Strategy<Value = GameMode> {
    prop_oneof![
        Just(GameMode::Survival),
        Just(GameMode::Creative),
        Just(GameMode::Adventure),
        Just(GameMode::Spectator)
    ]
}

fn abilities() -> impl Strategy<Value = Abilities> {
    (any::<[bool; 4]>(), f32_finite(), f32_finite()).prop_map(
        |([flying, may_fly, invulnerable, instabuild], flying_speed, walking_speed)| Abilities {
            flying,
            may_fly,
            invulnerable,
            instabuild,
            flying_speed,
            walking_speed,
        },
    )
}

fn respawn() -> impl Strategy<Value = RespawnPoint> {
    (
        identifier(),
        any::<[i32; 3]>(),
        f32_finite(),
        f32_finite(),
        any::<bool>(),
    )
        .prop_map(|(dimension, [x, y, z], yaw, pitch, forced)| RespawnPoint {
            dimension,
            x,
            y,
            z,
            yaw,
            pitch,
            forced,
        })
}

fn player_state() -> impl Strategy<Value = PlayerState> {
    let items = (
        location(),
        slots(MAX_INVENTORY_ENTRIES),
        slots(3),
        any::<i32>(),
    );
    let vitals = (
        f32_finite(),
        f32_finite(),
        any::<i32>(),
        f32_finite(),
        any::<i32>(),
        f32_finite(),
        any::<i32>(),
    );
    let rest = (
        effects(),
        game_mode(),
        abilities(),
        f64_finite(),
        any::<i32>(),
        any::<i32>(),
        option::of(respawn()),
    );
    (items, vitals, rest).prop_map(
        |(
            (location, inventory, ender_chest, selected_slot),
            (health, absorption, food, saturation, level, progress, total),
            (effects, game_mode, abilities, fall_distance, fire_ticks, air, respawn),
        )| PlayerState {
            location,
            inventory,
            ender_chest,
            selected_slot,
            health,
            absorption,
            food,
            saturation,
            experience: Experience {
                level,
                progress,
                total,
            },
            effects,
            game_mode,
            abilities,
            fall_distance,
            fire_ticks,
            air,
            respawn,
        },
    )
}

fn capabilities() -> impl Strategy<Value = Vec<String>> {
    vec(text(16), 0..4)
}

fn zone() -> impl Strategy<Value = Zone> {
    (text(16), identifier(), any::<[Option<i32>; 4]>()).prop_map(
        |(zone_id, dimension, [min_chunk_x, max_chunk_x, min_chunk_z, max_chunk_z])| Zone {
            zone_id,
            dimension,
            min_chunk_x,
            max_chunk_x,
            min_chunk_z,
            max_chunk_z,
        },
    )
}

fn equipment_slot() -> impl Strategy<Value = EquipmentSlot> {
    (0..6).prop_map(|id| EquipmentSlot::from_id(id).expect("0..6 are slots"))
}

fn apply_outcome() -> impl Strategy<Value = ApplyOutcome> {
    prop_oneof![
        Just(ApplyOutcome::Applied),
        Just(ApplyOutcome::AlreadyApplied),
        text(64).prop_map(|reason| ApplyOutcome::Refused { reason }),
    ]
}

/// Any message, every type reachable (including types this crate does not know).
fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (any::<i32>(), any::<i32>(), text(16), capabilities()).prop_map(
            |(max_version, min_version, server_id, capabilities)| Message::Hello(Hello {
                max_version,
                min_version,
                server_id,
                capabilities
            })
        ),
        (any::<i32>(), text(16), capabilities()).prop_map(|(version, proxy_id, capabilities)| {
            Message::Welcome(Welcome {
                version,
                proxy_id,
                capabilities,
            })
        }),
        (any::<i32>(), any::<i32>(), text(64)).prop_map(|(min_version, max_version, reason)| {
            Message::Reject(Reject {
                min_version,
                max_version,
                reason,
            })
        }),
        (
            any::<i32>(),
            f32_finite(),
            f32_finite(),
            any::<i64>(),
            any::<i64>()
        )
            .prop_map(
                |(online_players, tps, mspt, memory_used_bytes, memory_max_bytes)| {
                    Message::Heartbeat(Heartbeat {
                        online_players,
                        tps,
                        mspt,
                        memory_used_bytes,
                        memory_max_bytes,
                    })
                }
            ),
        (any::<i32>(), any::<i32>(), blob(64))
            .prop_map(|(index, count, data)| Message::Fragment(Fragment { index, count, data })),
        (
            uuid(),
            prop_oneof![Just(Role::Primary), Just(Role::Dummy)],
            any::<i64>()
        )
            .prop_map(|(player, role, epoch)| Message::SetRole(SetRole {
                player,
                role,
                epoch
            })),
        (uuid(), location()).prop_map(|(player, location)| Message::TeleportDummy(TeleportDummy {
            player,
            location
        })),
        (uuid(), location(), any::<bool>()).prop_map(|(player, location, on_ground)| {
            Message::PositionReport(PositionReport {
                player,
                location,
                on_ground,
            })
        }),
        (uuid(), uuid()).prop_map(|(transfer_id, player)| Message::StateRequest(StateRequest {
            transfer_id,
            player
        })),
        (uuid(), uuid(), player_state()).prop_map(|(transfer_id, player, state)| {
            Message::StateSnapshot(StateSnapshot {
                transfer_id,
                player,
                state,
            })
        }),
        (uuid(), uuid(), text(64)).prop_map(|(transfer_id, player, reason)| Message::StateRefused(
            StateRefused {
                transfer_id,
                player,
                reason
            }
        )),
        (uuid(), uuid(), any::<i64>(), player_state()).prop_map(
            |(transfer_id, player, epoch, state)| {
                Message::ApplyState(ApplyState {
                    transfer_id,
                    player,
                    epoch,
                    state,
                })
            }
        ),
        (uuid(), uuid(), apply_outcome()).prop_map(|(transfer_id, player, outcome)| {
            Message::StateApplied(StateApplied {
                transfer_id,
                player,
                outcome,
            })
        }),
        (any::<i64>(), vec(zone(), 0..4))
            .prop_map(|(epoch, zones)| Message::ZoneAssignment(ZoneAssignment { epoch, zones })),
        any::<i64>().prop_map(|epoch| Message::ZonesApplied(ZonesApplied { epoch })),
        (
            uuid(),
            identifier(),
            vec(
                any::<(i32, i32)>().prop_map(|(x, z)| ChunkCoords { x, z }),
                0..8
            )
        )
            .prop_map(|(player, dimension, chunks)| {
                Message::ResendChunks(ResendChunks {
                    player,
                    dimension,
                    chunks,
                })
            }),
        (
            uuid(),
            f32_finite(),
            identifier(),
            option::of(
                (uuid(), identifier())
                    .prop_map(|(uuid, entity_type)| Attacker { uuid, entity_type })
            ),
            option::of(
                (f64_finite(), f64_finite(), f64_finite()).prop_map(|(x, y, z)| Vec3 { x, y, z })
            ),
        )
            .prop_map(|(player, amount, damage_type, attacker, source_position)| {
                Message::RelayDamage(RelayDamage {
                    player,
                    amount,
                    damage_type,
                    attacker,
                    source_position,
                })
            }),
        (uuid(), f64_finite(), f64_finite(), f64_finite()).prop_map(|(player, dx, dy, dz)| {
            Message::RelayKnockback(RelayKnockback { player, dx, dy, dz })
        }),
        (uuid(), effect())
            .prop_map(|(player, effect)| Message::RelayEffect(RelayEffect { player, effect })),
        (
            uuid(),
            vec(
                (equipment_slot(), item()).prop_map(|(slot, item)| EquipmentEntry { slot, item }),
                0..=MAX_EQUIPMENT_ENTRIES
            ),
            effects(),
            any::<i32>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(player, equipment, effects, pose, sneaking, sprinting)| {
                Message::MirrorState(MirrorState {
                    player,
                    equipment,
                    effects,
                    pose,
                    sneaking,
                    sprinting,
                })
            }),
        (
            any::<i32>().prop_filter("unknown type", |t| MessageType::from_id(*t).is_none()),
            blob(64)
        )
            .prop_map(|(message_type, payload)| Message::Unknown {
                message_type,
                payload
            }),
    ]
}

proptest! {
    #[test]
    fn every_message_round_trips(msg in message()) {
        let bytes = encode_to_bytes(&msg).unwrap();
        prop_assert_eq!(decode(&bytes), Ok(msg.clone()));
        // The annotated encoding is the same bytes, split by field.
        let annotated: Vec<u8> = annotate(&msg).unwrap().iter().flat_map(|a| a.bytes.to_vec()).collect();
        prop_assert_eq!(annotated, bytes.to_vec());
    }

    #[test]
    fn every_message_survives_fragmentation(msg in message()) {
        let payloads = encode_payloads(&msg).unwrap();
        prop_assert!(payloads.iter().all(|p| p.len() <= MAX_PAYLOAD_LEN));
        if let [single] = payloads.as_slice() {
            prop_assert_eq!(decode(single), Ok(msg));
        } else {
            let mut reassembler = Reassembler::new();
            let mut whole = None;
            for payload in &payloads {
                let Ok(Message::Fragment(fragment)) = decode(payload) else { panic!("not a fragment") };
                whole = reassembler.push(fragment).unwrap();
            }
            prop_assert_eq!(decode(&whole.expect("complete")), Ok(msg));
        }
    }

    #[test]
    fn decode_never_panics_on_arbitrary_bytes(bytes in vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn whatever_decodes_reencodes_to_the_same_message(ty in 0..0x40i32, body in vec(any::<u8>(), 0..256)) {
        let mut bytes = vec![ty as u8];
        bytes.extend_from_slice(&body);
        if let Ok(msg) = decode(&bytes) {
            let again = encode_to_bytes(&msg).unwrap();
            prop_assert_eq!(decode(&again), Ok(msg));
        }
    }

    #[test]
    fn truncations_of_known_messages_are_truncated_errors(msg in message(), cut in any::<prop::sample::Index>()) {
        prop_assume!(msg.kind().is_some());
        let bytes = encode_to_bytes(&msg).unwrap();
        let len = cut.index(bytes.len());
        prop_assert!(
            matches!(decode(&bytes[..len]), Err(DecodeError::Truncated { .. })),
            "prefix of {} of {} bytes: {:?}", len, bytes.len(), decode(&bytes[..len])
        );
    }

    #[test]
    fn corrupted_messages_never_panic(msg in message(), flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut bytes = encode_to_bytes(&msg).unwrap().to_vec();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let _ = decode(&bytes);
    }

    #[test]
    fn sync_peer_never_panics(payloads in vec(vec(any::<u8>(), 0..64), 0..8)) {
        let mut proxy = SyncPeer::proxy("proxy-a", vec![]);
        let mut backend = SyncPeer::backend("lobby-1", vec![]);
        let _ = backend.hello();
        for p in &payloads {
            let _ = proxy.receive_payload(p);
            let _ = backend.receive_payload(p);
        }
    }
}

/// A state heavy enough to need fragments: every slot holding an item with a large component blob.
fn heavy_state() -> impl Strategy<Value = PlayerState> {
    (player_state(), vec(blob(4096), MAX_INVENTORY_ENTRIES)).prop_map(|(mut state, blobs)| {
        state.inventory = blobs
            .into_iter()
            .enumerate()
            .map(|(slot, components)| InventorySlot {
                slot: slot as i32,
                item: ItemStack {
                    item: "minecraft:shulker_box".into(),
                    count: 1,
                    components,
                },
            })
            .collect();
        state
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn large_handoffs_cross_a_link_in_fragments(state in heavy_state(), transfer in uuid(), player in uuid()) {
        let mut backend = SyncPeer::backend("lobby-1", vec![]);
        let mut proxy = SyncPeer::proxy("proxy-a", vec![]);
        let hello = backend.hello().unwrap();
        let Incoming::Established { reply: Some(welcome), .. } = proxy.receive(hello).unwrap() else {
            panic!("no welcome");
        };
        backend.receive(welcome).unwrap();

        let msg = Message::StateSnapshot(StateSnapshot { transfer_id: transfer, player, state });
        let payloads = backend.prepare(&msg).unwrap();
        let mut received = None;
        for (i, payload) in payloads.iter().enumerate() {
            prop_assert!(payload.len() <= MAX_PAYLOAD_LEN);
            match proxy.receive_payload(payload).unwrap() {
                Incoming::Pending => prop_assert!(i + 1 < payloads.len()),
                Incoming::Message(m) => received = Some(m),
                other => panic!("unexpected {other:?}"),
            }
        }
        prop_assert_eq!(received, Some(msg));
    }
}
