//! Keeps `docs/sync-protocol.md` and the codec in step: every hex example in the spec must decode to the
//! message built here and encode back to the same bytes, and every message type must have an example.
//!
//! An example in the spec is a line `<!-- example: NAME -->` followed by a ```` ```hex ```` block; `#`
//! starts a comment. To regenerate the blocks after changing a message (a new example needs its
//! marker and an empty ```` ```hex ```` block in the spec first):
//! `MERIDIAN_UPDATE_SPEC=1 cargo test -p sync-plugin-protocol --test spec_examples`.

use std::collections::BTreeMap;

use bytes::Bytes;
use sync_plugin_protocol::*;
use uuid::Uuid;

const PLAYER: Uuid = Uuid::from_u128(0x069a79f4_44e9_4726_a5be_fca90e38aaf5);
const TRANSFER: Uuid = Uuid::from_u128(0x0f1e2d3c_4b5a_4978_8796_a5b4c3d2e1f0);
const ZOMBIE: Uuid = Uuid::from_u128(0x3b2a1908_f7e6_4d5c_8b4a_392817060504);
const OVERWORLD: &str = "minecraft:overworld";

/// Network NBT for the component patch `{"minecraft:damage": 5}`: compound tag type, one int tag named
/// `minecraft:damage` (u16 name length), its value, end tag.
fn damage_5() -> Bytes {
    let mut nbt = vec![0x0a, 0x03, 0x00, 0x10];
    nbt.extend_from_slice(b"minecraft:damage");
    nbt.extend_from_slice(&[0x00, 0x00, 0x00, 0x05, 0x00]);
    Bytes::from(nbt)
}

fn sword() -> ItemStack {
    ItemStack {
        item: "minecraft:diamond_sword".into(),
        count: 1,
        components: damage_5(),
    }
}

fn speed() -> Effect {
    Effect {
        effect: "minecraft:speed".into(),
        amplifier: 0,
        duration_ticks: 600,
        ambient: false,
        show_particles: true,
        show_icon: true,
    }
}

fn location() -> Location {
    Location {
        dimension: OVERWORLD.into(),
        x: 100.5,
        y: 64.0,
        z: -200.5,
        yaw: 90.0,
        pitch: 0.0,
    }
}

fn abilities() -> Abilities {
    Abilities {
        flying: false,
        may_fly: false,
        invulnerable: false,
        instabuild: false,
        flying_speed: 0.05,
        walking_speed: 0.1,
    }
}

fn full_state() -> PlayerState {
    PlayerState {
        location: location(),
        inventory: vec![
            InventorySlot {
                slot: 0,
                item: sword(),
            },
            InventorySlot {
                slot: 40,
                item: ItemStack::plain("minecraft:torch", 32),
            },
        ],
        ender_chest: vec![InventorySlot {
            slot: 0,
            item: ItemStack::plain("minecraft:diamond", 3),
        }],
        selected_slot: 0,
        health: 20.0,
        absorption: 0.0,
        food: 20,
        saturation: 5.0,
        experience: Experience {
            level: 3,
            progress: 0.5,
            total: 33,
        },
        effects: vec![speed()],
        game_mode: GameMode::Survival,
        abilities: abilities(),
        fall_distance: 0.0,
        fire_ticks: -20,
        air: 300,
        respawn: Some(RespawnPoint {
            dimension: OVERWORLD.into(),
            x: 0,
            y: 64,
            z: 0,
            yaw: 0.0,
            pitch: 0.0,
            forced: false,
        }),
    }
}

fn minimal_state() -> PlayerState {
    PlayerState {
        inventory: vec![],
        ender_chest: vec![],
        effects: vec![],
        respawn: None,
        health: 7.5,
        game_mode: GameMode::Creative,
        abilities: Abilities {
            may_fly: true,
            instabuild: true,
            invulnerable: true,
            ..abilities()
        },
        ..full_state()
    }
}

/// The documented example of each type: the exhaustive match makes a new message type fail to compile
/// here until it has one.
fn example(kind: MessageType) -> Message {
    match kind {
        MessageType::Hello => Message::Hello(Hello {
            max_version: 1,
            min_version: 1,
            server_id: "lobby-1".into(),
            capabilities: vec!["meridian:vault".into()],
        }),
        MessageType::Welcome => Message::Welcome(Welcome {
            version: 1,
            proxy_id: "proxy-a".into(),
            capabilities: vec!["meridian:vault".into()],
        }),
        MessageType::Reject => Message::Reject(Reject {
            min_version: 1,
            max_version: 1,
            reason: "unknown server id".into(),
        }),
        MessageType::Heartbeat => Message::Heartbeat(Heartbeat {
            online_players: 12,
            tps: 19.5,
            mspt: 14.25,
            memory_used_bytes: 1 << 30,
            memory_max_bytes: 4 << 30,
        }),
        MessageType::Fragment => Message::Fragment(Fragment {
            index: 0,
            count: 2,
            data: Bytes::from_static(&[0x11, 0x0f, 0x1e, 0x2d]),
        }),
        MessageType::SetRole => Message::SetRole(SetRole {
            player: PLAYER,
            role: Role::Primary,
            epoch: 7,
        }),
        MessageType::TeleportDummy => Message::TeleportDummy(TeleportDummy {
            player: PLAYER,
            location: location(),
        }),
        MessageType::PositionReport => Message::PositionReport(PositionReport {
            player: PLAYER,
            location: location(),
            on_ground: true,
        }),
        MessageType::StateRequest => Message::StateRequest(StateRequest {
            transfer_id: TRANSFER,
            player: PLAYER,
        }),
        MessageType::StateSnapshot => Message::StateSnapshot(StateSnapshot {
            transfer_id: TRANSFER,
            player: PLAYER,
            state: full_state(),
        }),
        MessageType::StateRefused => Message::StateRefused(StateRefused {
            transfer_id: TRANSFER,
            player: PLAYER,
            reason: "player is dead".into(),
        }),
        MessageType::ApplyState => Message::ApplyState(ApplyState {
            transfer_id: TRANSFER,
            player: PLAYER,
            epoch: 8,
            state: minimal_state(),
        }),
        MessageType::StateApplied => Message::StateApplied(StateApplied {
            transfer_id: TRANSFER,
            player: PLAYER,
            outcome: ApplyOutcome::Applied,
        }),
        MessageType::ZoneAssignment => Message::ZoneAssignment(ZoneAssignment {
            epoch: 42,
            zones: vec![
                Zone {
                    zone_id: "spawn".into(),
                    dimension: OVERWORLD.into(),
                    min_chunk_x: Some(-16),
                    max_chunk_x: Some(16),
                    min_chunk_z: Some(-16),
                    max_chunk_z: Some(16),
                },
                Zone {
                    zone_id: "east".into(),
                    dimension: OVERWORLD.into(),
                    min_chunk_x: Some(16),
                    max_chunk_x: None,
                    min_chunk_z: None,
                    max_chunk_z: None,
                },
            ],
        }),
        MessageType::ZonesApplied => Message::ZonesApplied(ZonesApplied { epoch: 42 }),
        MessageType::ResendChunks => Message::ResendChunks(ResendChunks {
            player: PLAYER,
            dimension: OVERWORLD.into(),
            chunks: vec![ChunkCoords { x: 16, z: -1 }, ChunkCoords { x: 17, z: -1 }],
        }),
        MessageType::RelayDamage => Message::RelayDamage(RelayDamage {
            player: PLAYER,
            amount: 6.0,
            damage_type: "minecraft:mob_attack".into(),
            attacker: Some(Attacker {
                uuid: ZOMBIE,
                entity_type: "minecraft:zombie".into(),
            }),
            source_position: Some(Vec3 {
                x: 101.5,
                y: 64.0,
                z: -199.5,
            }),
        }),
        MessageType::RelayKnockback => Message::RelayKnockback(RelayKnockback {
            player: PLAYER,
            dx: 0.375,
            dy: 0.25,
            dz: 0.0,
        }),
        MessageType::RelayEffect => Message::RelayEffect(RelayEffect {
            player: PLAYER,
            effect: Effect {
                effect: "minecraft:poison".into(),
                amplifier: 1,
                duration_ticks: 140,
                ambient: false,
                show_particles: true,
                show_icon: true,
            },
        }),
        MessageType::MirrorState => Message::MirrorState(MirrorState {
            player: PLAYER,
            equipment: vec![
                EquipmentEntry {
                    slot: EquipmentSlot::MainHand,
                    item: sword(),
                },
                EquipmentEntry {
                    slot: EquipmentSlot::Head,
                    item: ItemStack::plain("minecraft:iron_helmet", 1),
                },
            ],
            effects: vec![speed()],
            pose: 5,
            sneaking: true,
            sprinting: false,
        }),
    }
}

/// Every example the spec shows, by name: one per type, plus variants worth showing.
fn examples() -> Vec<(String, Message)> {
    let mut out: Vec<(String, Message)> = MessageType::ALL
        .iter()
        .map(|&kind| (kind.name().to_owned(), example(kind)))
        .collect();
    out.push((
        "StateApplied/Refused".into(),
        Message::StateApplied(StateApplied {
            transfer_id: TRANSFER,
            player: PLAYER,
            outcome: ApplyOutcome::Refused {
                reason: "player not online".into(),
            },
        }),
    ));
    out.push((
        "Unknown".into(),
        Message::Unknown {
            message_type: 0x40,
            payload: Bytes::from_static(&[0x03, 0x01, 0x02, 0x03]),
        },
    ));
    out
}

fn spec() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/sync-protocol.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// Name → bytes of every `<!-- example: NAME -->` + ```` ```hex ```` block.
fn spec_examples(spec: &str) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut lines = spec.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .trim()
            .strip_prefix("<!-- example:")
            .and_then(|rest| rest.strip_suffix("-->"))
        else {
            continue;
        };
        let name = name.trim().to_owned();
        let fence = lines
            .by_ref()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default();
        assert_eq!(
            fence.trim(),
            "```hex",
            "example {name} must be followed by a ```hex block"
        );
        let mut bytes = Vec::new();
        for line in lines.by_ref() {
            if line.trim() == "```" {
                break;
            }
            let data = line.split('#').next().unwrap_or_default();
            for pair in data.split_whitespace() {
                let byte = u8::from_str_radix(pair, 16)
                    .unwrap_or_else(|_| panic!("example {name}: {pair:?} is not a hex byte"));
                bytes.push(byte);
            }
        }
        assert!(
            out.insert(name.clone(), bytes).is_none(),
            "example {name} appears twice"
        );
    }
    out
}

#[test]
fn every_spec_example_decodes_to_the_documented_message() {
    let documented = spec_examples(&spec());
    let expected: BTreeMap<String, Message> = examples().into_iter().collect();
    for (name, bytes) in &documented {
        let msg = expected
            .get(name)
            .unwrap_or_else(|| panic!("the spec has an example {name} this test does not know"));
        let decoded =
            decode(bytes).unwrap_or_else(|e| panic!("example {name} does not decode: {e}"));
        assert_eq!(&decoded, msg, "example {name} decodes to something else");
        assert_eq!(
            encode_to_bytes(msg).unwrap().as_ref(),
            bytes.as_slice(),
            "example {name} encodes differently"
        );
    }
    for name in expected.keys() {
        assert!(
            documented.contains_key(name),
            "the spec lacks an example for {name}"
        );
    }
}

#[test]
fn every_message_type_has_a_section_and_its_number_in_the_spec() {
    let spec = spec();
    for kind in MessageType::ALL {
        let heading = format!("### `{:#04x}` {}", kind.id(), kind.name());
        assert!(
            spec.contains(&heading),
            "the spec lacks a heading `{heading}`"
        );
    }
}

#[test]
fn spec_constants_match_the_crate() {
    let spec = spec();
    for needle in [
        format!("`{CHANNEL}`"),
        format!("PROTOCOL_VERSION = {PROTOCOL_VERSION}"),
        "32 766".to_owned(),
        "1 048 576".to_owned(),
    ] {
        assert!(spec.contains(&needle), "the spec does not mention {needle}");
    }
    assert_eq!(MAX_PAYLOAD_LEN, 32_766);
    assert_eq!(MAX_MESSAGE_LEN, 1_048_576);
}

/// The annotated example block for `msg`, as the spec shows it: the codec's own field trace.
fn annotated_block(name: &str, msg: &Message) -> String {
    let mut out = format!("<!-- example: {name} -->\n```hex\n");
    for a in annotate(msg).unwrap() {
        let mut comment = format!("{}: {}", a.field, a.value_text());
        if a.field == "message_type" {
            let ty = msg.type_id();
            let kind = MessageType::from_id(ty).map_or("unknown", MessageType::name);
            comment = format!("message_type: {ty:#04x} ({kind})");
        }
        for (i, chunk) in a.bytes.chunks(16).enumerate() {
            let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            let hex = hex.join(" ");
            if i == 0 {
                out.push_str(&format!("{hex:<48}# {comment}\n"));
            } else {
                out.push_str(&format!("{hex}\n"));
            }
        }
    }
    out.push_str("```\n");
    out
}

/// The spec's example blocks are exactly what the codec's field trace gives, comments included.
/// Run with `MERIDIAN_UPDATE_SPEC=1` to rewrite them after changing the codec or an example.
#[test]
fn spec_example_blocks_match_the_codec_annotations() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/sync-protocol.md");
    let mut doc = spec();
    let mut stale = Vec::new();
    for (name, msg) in examples() {
        let marker = format!("<!-- example: {name} -->\n");
        let start = doc
            .find(&marker)
            .unwrap_or_else(|| panic!("no example block for {name}"));
        // The block runs from the marker to the first closing fence after its opening one.
        let body = start + marker.len() + "```hex\n".len();
        let end = doc[body..]
            .find("```\n")
            .map(|close| body + close + "```\n".len())
            .unwrap_or_else(|| panic!("unterminated example block for {name}"));
        let wanted = annotated_block(&name, &msg);
        if doc[start..end] != wanted {
            stale.push(name);
            doc.replace_range(start..end, &wanted);
        }
    }
    if std::env::var_os("MERIDIAN_UPDATE_SPEC").is_some() {
        std::fs::write(path, doc).unwrap();
    } else {
        assert!(
            stale.is_empty(),
            "stale example blocks {stale:?}: rerun with MERIDIAN_UPDATE_SPEC=1"
        );
    }
}
