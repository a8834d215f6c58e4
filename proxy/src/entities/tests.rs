//! Every id-bearing packet is built (with azalea's structs or by hand), rewritten for a link whose
//! ids collide with another link's, and decoded again with azalea, an independent reader, to check
//! each id field. Where azalea 0.16 reads a field wrongly (see the module docs) the check is by hand.

use azalea_core::{
    delta::{LpVec3, PositionDelta8},
    entity_id::MinecraftEntityId,
    position::{BlockPos, Vec3},
};
use azalea_entity::{EntityDataValue, OptionalUnsignedInt, particle::Particle};
use azalea_protocol::packets::game::{
    ClientboundGamePacket as C, ServerboundGamePacket as S,
    c_add_entity::ClientboundAddEntity,
    c_animate::{AnimationAction, ClientboundAnimate},
    c_block_destruction::ClientboundBlockDestruction,
    c_hurt_animation::ClientboundHurtAnimation,
    c_move_entity_pos::ClientboundMoveEntityPos,
    c_move_entity_pos_rot::{ClientboundMoveEntityPosRot, CompactLookDirection},
    c_move_entity_rot::ClientboundMoveEntityRot,
    c_move_minecart_along_track::ClientboundMoveMinecartAlongTrack,
    c_player_combat_kill::ClientboundPlayerCombatKill,
    c_projectile_power::ClientboundProjectilePower,
    c_remove_entities::ClientboundRemoveEntities,
    c_remove_mob_effect::ClientboundRemoveMobEffect,
    c_rotate_head::ClientboundRotateHead,
    c_set_camera::ClientboundSetCamera,
    c_set_entity_link::ClientboundSetEntityLink,
    c_set_entity_motion::ClientboundSetEntityMotion,
    c_set_passengers::ClientboundSetPassengers,
    c_take_item_entity::ClientboundTakeItemEntity,
    c_update_attributes::ClientboundUpdateAttributes,
    c_update_mob_effect::ClientboundUpdateMobEffect,
    s_entity_tag_query::ServerboundEntityTagQuery,
    s_interact::{InteractionHand, ServerboundInteract},
    s_pick_item_from_entity::ServerboundPickItemFromEntity,
    s_player_command::ServerboundPlayerCommand,
    s_set_command_minecart::ServerboundSetCommandMinecart,
};
use azalea_registry::{
    Registry,
    builtin::{EntityKind, ItemKind, MobEffect, ParticleKind},
};
use bytes::BytesMut;
use meridian_wire::{
    conn::{decode_packet, encode_packet},
    ids::game::{clientbound as cb, serverbound as sb},
    varint::write_varint,
};
use proptest::prelude::*;

use super::{metadata::serializer as ser, *};

const A: LinkId = LinkId(1);
const B: LinkId = LinkId(2);
/// A type with no ids in its metadata or `add_entity` data (`acacia_boat`).
const PLAIN_KIND: i32 = 0;

/// Link A shows ids 1..=64 as themselves, so the same ids from link B must be remapped.
fn crowded() -> EntityMap {
    let mut map = EntityMap::new();
    for id in 1..=64 {
        assert_eq!(map.show(A, id, PLAIN_KIND), id);
    }
    map
}

fn encode_c(packet: C) -> BytesMut {
    BytesMut::from(&encode_packet(&packet).expect("encodes")[..])
}

fn encode_s(packet: S) -> BytesMut {
    BytesMut::from(&encode_packet(&packet).expect("encodes")[..])
}

fn decode_c(packet: &[u8]) -> C {
    decode_packet::<C>(packet).expect("rewritten packet decodes")
}

fn decode_s(packet: &[u8]) -> S {
    decode_packet::<S>(packet).expect("rewritten packet decodes")
}

fn packet_id(packet: &[u8]) -> i32 {
    meridian_wire::varint::read_varint(packet)
        .expect("packet id")
        .0
}

fn rewrite_c(map: &mut EntityMap, link: LinkId, mut packet: BytesMut) -> (Rewritten, BytesMut) {
    let id = packet_id(&packet);
    let result = rewrite_clientbound(map, link, id, &mut packet).expect("rewrites");
    (result, packet)
}

/// Reads the entity id back out of a rewritten packet.
type IdOf<P> = fn(&P) -> i32;

fn eid(id: i32) -> MinecraftEntityId {
    MinecraftEntityId(id)
}

/// Packet bytes by hand.
#[derive(Debug, Default, Clone)]
struct W(Vec<u8>);

impl W {
    fn packet(id: i32) -> Self {
        let mut w = W::default();
        w.var(id);
        w
    }
    fn var(&mut self, v: i32) -> &mut Self {
        write_varint(&mut self.0, v);
        self
    }
    fn int(&mut self, v: i32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn f32(&mut self, v: f32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn f64(&mut self, v: f64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn byte(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
    fn string(&mut self, s: &str) -> &mut Self {
        self.var(s.len() as i32).bytes(s.as_bytes())
    }
    fn done(&self) -> BytesMut {
        BytesMut::from(&self.0[..])
    }
}

fn var(v: i32) -> Vec<u8> {
    let mut out = Vec::new();
    write_varint(&mut out, v);
    out
}

// ---------------------------------------------------------------- registries

#[test]
fn entity_kinds_match_azalea() {
    let check = |kind: EntityKind, id: i32| assert_eq!(kind.to_u32() as i32, id, "{kind:?}");
    check(EntityKind::AreaEffectCloud, kinds::AREA_EFFECT_CLOUD);
    check(EntityKind::Arrow, kinds::ARROW);
    check(EntityKind::BreezeWindCharge, kinds::BREEZE_WIND_CHARGE);
    check(EntityKind::DragonFireball, kinds::DRAGON_FIREBALL);
    check(EntityKind::Egg, kinds::EGG);
    check(EntityKind::ElderGuardian, kinds::ELDER_GUARDIAN);
    check(EntityKind::EnderDragon, kinds::ENDER_DRAGON);
    check(EntityKind::EnderPearl, kinds::ENDER_PEARL);
    check(EntityKind::ExperienceBottle, kinds::EXPERIENCE_BOTTLE);
    check(EntityKind::Fireball, kinds::FIREBALL);
    check(EntityKind::FireworkRocket, kinds::FIREWORK_ROCKET);
    check(EntityKind::Frog, kinds::FROG);
    check(EntityKind::Guardian, kinds::GUARDIAN);
    check(EntityKind::LlamaSpit, kinds::LLAMA_SPIT);
    check(EntityKind::SplashPotion, kinds::SPLASH_POTION);
    check(EntityKind::LingeringPotion, kinds::LINGERING_POTION);
    check(EntityKind::ShulkerBullet, kinds::SHULKER_BULLET);
    check(EntityKind::SmallFireball, kinds::SMALL_FIREBALL);
    check(EntityKind::Snowball, kinds::SNOWBALL);
    check(EntityKind::SpectralArrow, kinds::SPECTRAL_ARROW);
    check(EntityKind::Trident, kinds::TRIDENT);
    check(EntityKind::WindCharge, kinds::WIND_CHARGE);
    check(EntityKind::Wither, kinds::WITHER);
    check(EntityKind::WitherSkull, kinds::WITHER_SKULL);
    check(EntityKind::Player, kinds::PLAYER);
    check(EntityKind::FishingBobber, kinds::FISHING_BOBBER);
    check(EntityKind::AcaciaBoat, PLAIN_KIND);
}

#[test]
fn particle_ids_match_azalea() {
    use metadata::particle as p;
    let check = |kind: ParticleKind, id: i32| assert_eq!(kind.to_u32() as i32, id, "{kind:?}");
    check(ParticleKind::Block, p::BLOCK);
    check(ParticleKind::BlockMarker, p::BLOCK_MARKER);
    check(ParticleKind::DragonBreath, p::DRAGON_BREATH);
    check(ParticleKind::Dust, p::DUST);
    check(ParticleKind::DustColorTransition, p::DUST_COLOR_TRANSITION);
    check(ParticleKind::Effect, p::EFFECT);
    check(ParticleKind::EntityEffect, p::ENTITY_EFFECT);
    check(ParticleKind::FallingDust, p::FALLING_DUST);
    check(ParticleKind::TintedLeaves, p::TINTED_LEAVES);
    check(ParticleKind::SculkCharge, p::SCULK_CHARGE);
    check(ParticleKind::Flash, p::FLASH);
    check(ParticleKind::InstantEffect, p::INSTANT_EFFECT);
    check(ParticleKind::Item, p::ITEM);
    check(ParticleKind::Vibration, p::VIBRATION);
    check(ParticleKind::Trail, p::TRAIL);
    check(ParticleKind::Shriek, p::SHRIEK);
    check(ParticleKind::DustPillar, p::DUST_PILLAR);
    check(ParticleKind::BlockCrumble, p::BLOCK_CRUMBLE);
    assert!(ParticleKind::from_u32(p::COUNT as u32 - 1).is_some());
    assert!(ParticleKind::from_u32(p::COUNT as u32).is_none());
}

/// The serializer ids the parser relies on, as azalea writes them.
#[test]
fn serializer_ids_match_azalea() {
    let serializer_of = |value: EntityDataValue| {
        let mut bytes = Vec::new();
        azalea_buf::AzBuf::azalea_write(&value, &mut bytes).expect("writes");
        meridian_wire::varint::read_varint(&bytes)
            .expect("serializer id")
            .0
    };
    assert_eq!(serializer_of(EntityDataValue::Byte(0)), ser::BYTE);
    assert_eq!(serializer_of(EntityDataValue::Int(0)), ser::INT);
    assert_eq!(serializer_of(EntityDataValue::Boolean(false)), ser::BOOLEAN);
    assert_eq!(
        serializer_of(EntityDataValue::OptionalUnsignedInt(OptionalUnsignedInt(
            None
        ))),
        ser::OPTIONAL_UNSIGNED_INT
    );
    assert_eq!(
        serializer_of(EntityDataValue::Particles(Box::new([]))),
        ser::PARTICLES
    );
    assert_eq!(
        serializer_of(EntityDataValue::OptionalGlobalPos(None)),
        ser::OPTIONAL_GLOBAL_POS
    );
    assert_eq!(serializer_of(EntityDataValue::Long(0)), ser::LONG);
    assert_eq!(serializer_of(EntityDataValue::Float(0.0)), ser::FLOAT);
}

// ---------------------------------------------------------------- the map

#[test]
fn single_link_is_identity() {
    let mut map = EntityMap::new();
    for id in [1, 2, 300, 70_000, i32::MAX, -5] {
        assert_eq!(map.map(A, id), id);
        assert_eq!(map.to_backend(id), Some((A, id)));
    }
    let mut packet = encode_c(C::MoveEntityPos(ClientboundMoveEntityPos {
        entity_id: eid(300),
        delta: PositionDelta8 {
            xa: 1,
            ya: 2,
            za: 3,
        },
        on_ground: true,
    }));
    let before = packet.clone();
    assert_eq!(
        rewrite_clientbound(&mut map, A, cb::MOVE_ENTITY_POS, &mut packet),
        Ok(Rewritten::Unchanged)
    );
    assert_eq!(packet, before);
}

#[test]
fn zero_is_never_a_client_id() {
    let mut map = EntityMap::new();
    let client = map.map(A, 0);
    assert_ne!(client, 0);
    assert_eq!(map.to_backend(client), Some((A, 0)));
}

#[test]
fn collisions_get_fresh_ids_and_other_links_stay_identity() {
    let mut map = crowded();
    let b7 = map.map(B, 7);
    assert!(b7 >= FRESH_BASE, "{b7}");
    assert_eq!(map.to_backend(b7), Some((B, 7)));
    assert_eq!(map.to_backend(7), Some((A, 7)));
    // B's ids that nobody uses are still themselves.
    assert_eq!(map.map(B, 65), 65);
    // A fresh id is never handed out twice, and A's later ids avoid B's.
    let b8 = map.map(B, 8);
    assert_ne!(b7, b8);
    assert_ne!(map.map(A, 65), 65);
}

#[test]
fn release_frees_and_ids_are_reused() {
    let mut map = crowded();
    let client = map.map(B, 7);
    assert_eq!(map.release(B, 7), Some(client));
    assert_eq!(map.to_backend(client), None);
    assert_eq!(map.get(B, 7), None);
    assert_eq!(map.release(B, 7), None);
    // A lets 7 go: the client may still have an attack on 7 in flight, so 7 is not B's at once...
    assert_eq!(map.release(A, 7), Some(7));
    assert_ne!(map.map(B, 7), 7);
    // ...only after enough other ids have been freed.
    for id in 100_000..100_000 + 1024 {
        map.map(A, id);
        map.release(A, id);
    }
    assert_eq!(map.map(LinkId(3), 7), 7);
}

#[test]
fn aliases_are_reference_counted() {
    let mut map = crowded();
    map.bind(B, 500, 9).expect("binds");
    assert_eq!(map.get(B, 500), Some(9));
    // A lets go: still shown from B, so not freed, and packets about it now go to B.
    assert_eq!(map.release(A, 9), None);
    assert_eq!(map.to_backend(9), Some((B, 500)));
    assert_eq!(map.release(B, 500), Some(9));
    assert_eq!(map.to_backend(9), None);
    assert_eq!(map.bind(B, 1, 12345), Err(MapError::NotShown(12345)));
}

#[test]
fn release_link_returns_shown_ids_only() {
    let mut map = crowded();
    map.set_player(A, 1000, 1000).expect("player");
    map.set_player(B, 2000, 1000).expect("player");
    let shown = map.show(B, 3, PLAIN_KIND);
    let referenced = map.map(B, 4);
    let shared = 10;
    map.bind(B, 10, shared).expect("binds");
    let freed = map.release_link(B);
    assert_eq!(freed, vec![shown]);
    assert_eq!(map.to_backend(referenced), None);
    assert_eq!(map.to_backend(shared), Some((A, 10)), "still shown from A");
    assert_eq!(map.player(), Some(1000));
    assert_eq!(map.player_backend_id(B), None);
    assert_eq!(map.player_backend_id(A), Some(1000));
    // A's close frees everything A showed, but never the player's id.
    let freed = map.release_link(A);
    assert_eq!(freed.len(), 64);
    assert!(!freed.contains(&1000));
    assert!(map.is_empty());
    assert_ne!(
        map.map(LinkId(3), 1000),
        1000,
        "the player's id stays reserved"
    );
}

#[test]
fn player_id_is_fixed_at_first_login() {
    let mut map = EntityMap::new();
    let login = |player: i32| {
        let mut w = W::packet(cb::LOGIN);
        // The rest of a login is irrelevant to the rewrite.
        w.int(player).bytes(&[0, 0]);
        w.done()
    };
    let (result, packet) = rewrite_c(&mut map, A, login(42));
    assert_eq!(result, Rewritten::Unchanged);
    assert_eq!(packet, login(42));
    assert_eq!(map.player(), Some(42));
    // The dummy's own id for the player (and the dummy's entity that happens to be 42).
    let (result, packet) = rewrite_c(&mut map, B, login(77));
    assert_eq!(result, Rewritten::Changed);
    assert_eq!(packet, login(42));
    assert_eq!(map.player_backend_id(B), Some(77));
    assert_ne!(map.map(B, 42), 42);
    // Packets about the player from either link name the one id.
    assert_eq!(map.map(B, 77), 42);
    assert_eq!(map.map(A, 42), 42);
    // A backend removing the player never removes it from the client.
    assert_eq!(map.release(B, 77), None);
    assert_eq!(map.map(B, 77), 42);
    assert_eq!(
        map.set_player(B, 77, 43),
        Err(MapError::PlayerIdFixed {
            fixed: 42,
            requested: 43
        })
    );
}

#[test]
fn clear_entities_keeps_the_player() {
    let mut map = crowded();
    map.set_player(B, 99, 99).expect("player");
    map.clear_entities();
    assert_eq!(map.len(), 1);
    assert_eq!(map.map(B, 99), 99);
    assert_eq!(map.map(A, 5), 5);
}

#[test]
fn ender_dragon_parts_follow_the_dragon() {
    let mut map = crowded();
    let packet = add_entity(10, EntityKind::EnderDragon, 0);
    let (_, packet) = rewrite_c(&mut map, B, packet);
    let C::AddEntity(added) = decode_c(&packet) else {
        panic!()
    };
    let dragon = added.id.0;
    assert!(dragon >= FRESH_BASE);
    for part in 1..=kinds::DRAGON_PARTS {
        assert_eq!(
            map.to_backend(dragon + part),
            Some((B, 10 + part)),
            "part {part}"
        );
    }
    // The client attacks a part by the id it gave it.
    let mut attack = W::packet(sb::ATTACK).var(dragon + 3).done();
    assert_eq!(
        rewrite_serverbound(&map, sb::ATTACK, &mut attack),
        Ok(Target::Link {
            link: B,
            backend_id: 13
        })
    );
    assert_eq!(attack, W::packet(sb::ATTACK).var(13).done());
    // Nothing else gets the parts' ids, and they go with the dragon.
    let next = map.map(B, 11_000);
    assert!(!(dragon..=dragon + 8).contains(&next));
    assert_eq!(map.release(B, 10), Some(dragon));
    assert_eq!(map.to_backend(dragon + 3), None);
    assert_eq!(map.get(B, 13), None);
}

#[test]
fn dragon_referenced_before_it_is_added_still_gets_room() {
    let mut map = EntityMap::new();
    map.show(A, 101, PLAIN_KIND);
    // B's 100 is free as itself, but 101 (its first part's id) is A's.
    assert_eq!(map.map(B, 100), 100);
    let dragon = map.show(B, 100, kinds::ENDER_DRAGON);
    assert_ne!(dragon, 100);
    assert_eq!(map.to_backend(dragon + 1), Some((B, 101)));
    assert_eq!(map.to_backend(101), Some((A, 101)));
}

// ---------------------------------------------------------------- clientbound, one test per packet

fn add_entity(id: i32, kind: EntityKind, data: i32) -> BytesMut {
    encode_c(C::AddEntity(ClientboundAddEntity {
        id: eid(id),
        uuid: uuid::Uuid::from_u128(id as u128),
        entity_type: kind,
        position: Vec3 {
            x: 1.5,
            y: 64.0,
            z: -3.25,
        },
        // Large enough to need the LpVec3 continuation VarInt.
        movement: LpVec3::from_vec3(Vec3 {
            x: 9.0,
            y: -2.0,
            z: 0.5,
        }),
        x_rot: 1,
        y_rot: 2,
        y_head_rot: 3,
        data,
    }))
}

#[test]
fn add_entity_projectile_owner_is_mapped() {
    let mut map = crowded();
    for kind in [
        EntityKind::Arrow,
        EntityKind::Trident,
        EntityKind::Fireball,
        EntityKind::WindCharge,
        EntityKind::Snowball,
    ] {
        let mut map_for_kind = crowded();
        let (result, packet) = rewrite_c(&mut map_for_kind, B, add_entity(5, kind, 6));
        assert_eq!(result, Rewritten::Changed);
        let C::AddEntity(added) = decode_c(&packet) else {
            panic!()
        };
        assert_eq!(added.id.0, map_for_kind.get(B, 5).expect("mapped"));
        assert_eq!(
            added.data,
            map_for_kind.get(B, 6).expect("owner mapped"),
            "{kind:?}"
        );
        assert_eq!(map_for_kind.kind(added.id.0), Some(kind.to_u32() as i32));
        assert!(map_for_kind.is_shown(added.id.0));
    }
    // No owner stays no owner.
    let (_, packet) = rewrite_c(&mut map, B, add_entity(5, EntityKind::Arrow, 0));
    let C::AddEntity(added) = decode_c(&packet) else {
        panic!()
    };
    assert_eq!(added.data, 0);
}

#[test]
fn add_entity_fishing_bobber_owner_or_itself() {
    let mut map = crowded();
    map.set_player(B, 33, 500).expect("player");
    let (_, packet) = rewrite_c(&mut map, B, add_entity(5, EntityKind::FishingBobber, 33));
    let C::AddEntity(added) = decode_c(&packet) else {
        panic!()
    };
    assert_eq!(added.data, 500, "owned by the player");
    let (_, packet) = rewrite_c(&mut map, B, add_entity(6, EntityKind::FishingBobber, 6));
    let C::AddEntity(added) = decode_c(&packet) else {
        panic!()
    };
    assert_eq!(added.data, added.id.0, "no owner: names itself");
    assert!(added.id.0 >= FRESH_BASE);
}

#[test]
fn add_entity_data_that_is_not_an_id_is_untouched() {
    for (kind, data) in [
        (EntityKind::FallingBlock, 6),
        (EntityKind::ItemFrame, 3),
        (EntityKind::GlowItemFrame, 5),
        (EntityKind::Painting, 2),
        (EntityKind::Warden, 1),
        (EntityKind::Zombie, 7),
    ] {
        let mut map = crowded();
        let (_, packet) = rewrite_c(&mut map, B, add_entity(40, kind, data));
        let C::AddEntity(added) = decode_c(&packet) else {
            panic!()
        };
        assert_eq!(added.data, data, "{kind:?}");
        assert_eq!(
            map.get(B, data),
            None,
            "{kind:?}: data was not taken for an id"
        );
    }
}

/// Packets whose entity id is the first field, a VarInt: built with azalea, rewritten from B (whose
/// 7 collides with A's), decoded and checked.
#[test]
fn leading_varint_packets() {
    let look = CompactLookDirection { y_rot: 1, x_rot: 2 };
    let delta = PositionDelta8 {
        xa: 1,
        ya: -1,
        za: 4,
    };
    let cases: Vec<(C, IdOf<C>)> = vec![
        (
            C::Animate(ClientboundAnimate {
                id: eid(7),
                action: AnimationAction::Hurt,
            }),
            |p| match p {
                C::Animate(p) => p.id.0,
                _ => panic!(),
            },
        ),
        (
            C::BlockDestruction(ClientboundBlockDestruction {
                id: eid(7),
                pos: BlockPos::new(1, 2, 3),
                progress: 4,
            }),
            |p| match p {
                C::BlockDestruction(p) => p.id.0,
                _ => panic!(),
            },
        ),
        (
            C::HurtAnimation(ClientboundHurtAnimation {
                id: eid(7),
                yaw: 90.0,
            }),
            |p| match p {
                C::HurtAnimation(p) => p.id.0,
                _ => panic!(),
            },
        ),
        (
            C::MoveEntityPos(ClientboundMoveEntityPos {
                entity_id: eid(7),
                delta,
                on_ground: false,
            }),
            |p| match p {
                C::MoveEntityPos(p) => p.entity_id.0,
                _ => panic!(),
            },
        ),
        (
            C::MoveEntityPosRot(ClientboundMoveEntityPosRot {
                entity_id: eid(7),
                delta,
                look_direction: look,
                on_ground: true,
            }),
            |p| match p {
                C::MoveEntityPosRot(p) => p.entity_id.0,
                _ => panic!(),
            },
        ),
        (
            C::MoveEntityRot(ClientboundMoveEntityRot {
                entity_id: eid(7),
                look_direction: look,
                on_ground: true,
            }),
            |p| match p {
                C::MoveEntityRot(p) => p.entity_id.0,
                _ => panic!(),
            },
        ),
        (
            C::MoveMinecartAlongTrack(ClientboundMoveMinecartAlongTrack {
                entity_id: eid(7),
                lerp_steps: vec![],
            }),
            |p| match p {
                C::MoveMinecartAlongTrack(p) => p.entity_id.0,
                _ => panic!(),
            },
        ),
        (
            C::PlayerCombatKill(ClientboundPlayerCombatKill {
                player_id: eid(7),
                message: "died".into(),
            }),
            |p| match p {
                C::PlayerCombatKill(p) => p.player_id.0,
                _ => panic!(),
            },
        ),
        (
            C::RemoveMobEffect(ClientboundRemoveMobEffect {
                entity_id: eid(7),
                effect: MobEffect::Speed,
            }),
            |p| match p {
                C::RemoveMobEffect(p) => p.entity_id.0,
                _ => panic!(),
            },
        ),
        (
            C::RotateHead(ClientboundRotateHead {
                entity_id: eid(7),
                y_head_rot: 5,
            }),
            |p| match p {
                C::RotateHead(p) => p.entity_id.0,
                _ => panic!(),
            },
        ),
        (
            C::SetCamera(ClientboundSetCamera { camera_id: eid(7) }),
            |p| match p {
                C::SetCamera(p) => p.camera_id.0,
                _ => panic!(),
            },
        ),
        (
            C::SetEntityMotion(ClientboundSetEntityMotion {
                id: eid(7),
                delta: LpVec3::from_vec3(Vec3 {
                    x: 0.1,
                    y: 0.2,
                    z: 0.3,
                }),
            }),
            |p| match p {
                C::SetEntityMotion(p) => p.id.0,
                _ => panic!(),
            },
        ),
        (
            C::UpdateAttributes(ClientboundUpdateAttributes {
                entity_id: eid(7),
                values: vec![],
            }),
            |p| match p {
                C::UpdateAttributes(p) => p.entity_id.0,
                _ => panic!(),
            },
        ),
        (
            C::UpdateMobEffect(ClientboundUpdateMobEffect {
                entity_id: eid(7),
                mob_effect: MobEffect::Regeneration,
                data: Default::default(),
            }),
            |p| match p {
                C::UpdateMobEffect(p) => p.entity_id.0,
                _ => panic!(),
            },
        ),
        (
            C::ProjectilePower(ClientboundProjectilePower {
                id: eid(7),
                acceleration_power: 0.1,
            }),
            |p| match p {
                C::ProjectilePower(p) => p.id.0,
                _ => panic!(),
            },
        ),
    ];
    for (packet, id_of) in cases {
        let name = format!("{packet:?}");
        let bytes = encode_c(packet);
        let mut map = crowded();
        let (result, out) = rewrite_c(&mut map, B, bytes.clone());
        assert_eq!(result, Rewritten::Changed, "{name}");
        let expected = map.get(B, 7).expect("mapped");
        assert!(expected >= FRESH_BASE);
        assert_eq!(id_of(&decode_c(&out)), expected, "{name}");
        // From A the same packet is identity.
        let (result, out) = rewrite_c(&mut map, A, bytes.clone());
        assert_eq!((result, out), (Rewritten::Unchanged, bytes), "{name}");
    }
}

/// `entity_position_sync`, `teleport_entity` and `set_equipment`: built by hand (their azalea
/// structs need types this crate does not depend on), decoded with azalea.
#[test]
fn leading_varint_packets_by_hand() {
    let position_move_rotation = |w: &mut W| {
        for v in [1.0, 2.0, 3.0, 0.0, 0.0, 0.0] {
            w.f64(v);
        }
        w.f32(90.0).f32(0.0);
    };
    let mut sync = W::packet(cb::ENTITY_POSITION_SYNC);
    sync.var(7);
    position_move_rotation(&mut sync);
    sync.byte(1);
    let mut teleport = W::packet(cb::TELEPORT_ENTITY);
    teleport.var(7);
    position_move_rotation(&mut teleport);
    teleport.int(0).byte(0);
    // One slot (main hand, no continuation bit) holding an empty stack.
    let equipment = W::packet(cb::SET_EQUIPMENT).var(7).byte(0).var(0).done();
    for packet in [sync.done(), teleport.done(), equipment] {
        let mut map = crowded();
        let (result, out) = rewrite_c(&mut map, B, packet);
        assert_eq!(result, Rewritten::Changed);
        let expected = map.get(B, 7).expect("mapped");
        let id = match decode_c(&out) {
            C::EntityPositionSync(p) => p.id.0,
            C::TeleportEntity(p) => p.id.0,
            C::SetEquipment(p) => p.entity_id.0,
            other => panic!("{other:?}"),
        };
        assert_eq!(id, expected);
    }
}

#[test]
fn debug_entity_value_id_is_a_varint() {
    // azalea reads this id as an int; vanilla and minecraft-data write a VarInt.
    let mut map = crowded();
    let body = [0x00, 0x01, 0x02];
    let (result, out) = rewrite_c(
        &mut map,
        B,
        W::packet(cb::DEBUG_ENTITY_VALUE).var(7).bytes(&body).done(),
    );
    assert_eq!(result, Rewritten::Changed);
    let expected = map.get(B, 7).expect("mapped");
    assert_eq!(
        out,
        W::packet(cb::DEBUG_ENTITY_VALUE)
            .var(expected)
            .bytes(&body)
            .done()
    );
}

#[test]
fn entity_event_int_id() {
    let mut map = crowded();
    let (result, out) = rewrite_c(
        &mut map,
        B,
        W::packet(cb::ENTITY_EVENT).int(7).byte(2).done(),
    );
    assert_eq!(result, Rewritten::Changed);
    let C::EntityEvent(p) = decode_c(&out) else {
        panic!()
    };
    assert_eq!(p.entity_id.0, map.get(B, 7).expect("mapped"));
    assert_eq!(p.event_id, 2);
}

#[test]
fn remove_entities_releases_and_keeps_shared_ids() {
    let mut map = crowded();
    let b5 = map.show(B, 5, PLAIN_KIND);
    map.bind(B, 100, 9).expect("binds"); // B also shows A's 9
    let packet = encode_c(C::RemoveEntities(ClientboundRemoveEntities {
        entity_ids: vec![eid(5), eid(100), eid(404)],
    }));
    let (result, out) = rewrite_c(&mut map, B, packet);
    assert_eq!(result, Rewritten::Changed);
    let C::RemoveEntities(p) = decode_c(&out) else {
        panic!()
    };
    // 9 is still shown from A; 404 was never shown.
    assert_eq!(p.entity_ids, vec![eid(b5)]);
    assert_eq!(map.to_backend(9), Some((A, 9)));
    // Removing what another link still shows leaves nothing to send.
    map.bind(B, 101, 10).expect("binds");
    let packet = encode_c(C::RemoveEntities(ClientboundRemoveEntities {
        entity_ids: vec![eid(101)],
    }));
    assert_eq!(rewrite_c(&mut map, B, packet).0, Rewritten::Drop);
    // Identity removal is untouched.
    let packet = encode_c(C::RemoveEntities(ClientboundRemoveEntities {
        entity_ids: vec![eid(1), eid(2)],
    }));
    assert_eq!(rewrite_c(&mut map, A, packet).0, Rewritten::Unchanged);
}

#[test]
fn set_passengers_maps_vehicle_and_every_passenger() {
    let mut map = crowded();
    map.set_player(B, 50, 900).expect("player");
    let packet = encode_c(C::SetPassengers(ClientboundSetPassengers {
        vehicle: eid(7),
        passengers: vec![eid(8), eid(50), eid(70)],
    }));
    let (_, out) = rewrite_c(&mut map, B, packet);
    let C::SetPassengers(p) = decode_c(&out) else {
        panic!()
    };
    assert_eq!(p.vehicle.0, map.get(B, 7).expect("mapped"));
    assert_eq!(
        p.passengers,
        vec![eid(map.get(B, 8).expect("mapped")), eid(900), eid(70)]
    );
}

#[test]
fn set_entity_link_ints_and_dropped_leash() {
    let mut map = crowded();
    let packet = encode_c(C::SetEntityLink(ClientboundSetEntityLink {
        source_id: eid(7),
        dest_id: eid(8),
    }));
    let (result, out) = rewrite_c(&mut map, B, packet);
    assert_eq!(result, Rewritten::Changed);
    let C::SetEntityLink(p) = decode_c(&out) else {
        panic!()
    };
    assert_eq!(
        (p.source_id.0, p.dest_id.0),
        (
            map.get(B, 7).expect("mapped"),
            map.get(B, 8).expect("mapped")
        )
    );
    let packet = encode_c(C::SetEntityLink(ClientboundSetEntityLink {
        source_id: eid(7),
        dest_id: eid(0),
    }));
    let (_, out) = rewrite_c(&mut map, B, packet);
    let C::SetEntityLink(p) = decode_c(&out) else {
        panic!()
    };
    assert_eq!(p.dest_id.0, 0);
}

#[test]
fn take_item_entity_maps_item_and_collector() {
    let mut map = crowded();
    map.set_player(B, 60, 900).expect("player");
    let packet = encode_c(C::TakeItemEntity(ClientboundTakeItemEntity {
        item_id: 7,
        player_id: eid(60),
        amount: 3,
    }));
    let (_, out) = rewrite_c(&mut map, B, packet);
    let C::TakeItemEntity(p) = decode_c(&out) else {
        panic!()
    };
    assert_eq!(p.item_id as i32, map.get(B, 7).expect("mapped"));
    assert_eq!(p.player_id.0, 900);
    assert_eq!(p.amount, 3);
}

#[test]
fn damage_event_maps_entity_cause_and_direct() {
    let mut map = crowded();
    let damage = |entity: i32, cause_plus_one: i32, direct_plus_one: i32| {
        let mut w = W::packet(cb::DAMAGE_EVENT);
        w.var(entity)
            .var(4)
            .var(cause_plus_one)
            .var(direct_plus_one)
            .byte(1)
            .f64(1.0)
            .f64(2.0)
            .f64(3.0);
        w.done()
    };
    let (_, out) = rewrite_c(&mut map, B, damage(7, 9, 10));
    let C::DamageEvent(p) = decode_c(&out) else {
        panic!()
    };
    assert_eq!(p.entity_id.0, map.get(B, 7).expect("mapped"));
    assert_eq!(p.source_cause_id.0.map(|id| id as i32), map.get(B, 8));
    assert_eq!(p.source_direct_id.0.map(|id| id as i32), map.get(B, 9));
    assert!(p.source_position.is_some());
    // "No cause" stays so.
    let (_, out) = rewrite_c(&mut map, B, damage(7, 0, 0));
    let C::DamageEvent(p) = decode_c(&out) else {
        panic!()
    };
    assert_eq!((p.source_cause_id.0, p.source_direct_id.0), (None, None));
}

#[test]
fn mount_screen_open_int_entity() {
    let mut map = crowded();
    let (_, out) = rewrite_c(
        &mut map,
        B,
        W::packet(cb::MOUNT_SCREEN_OPEN).var(3).var(5).int(7).done(),
    );
    let C::MountScreenOpen(p) = decode_c(&out) else {
        panic!()
    };
    assert_eq!((p.container_id, p.inventory_columns), (3, 5));
    assert_eq!(p.entity_id.0, map.get(B, 7).expect("mapped"));
}

#[test]
fn player_look_at_optional_entity() {
    let mut map = crowded();
    let look = |entity: Option<i32>| {
        let mut w = W::packet(cb::PLAYER_LOOK_AT);
        w.var(1).f64(1.0).f64(2.0).f64(3.0);
        match entity {
            Some(id) => w.byte(1).var(id).var(0),
            None => w.byte(0),
        };
        w.done()
    };
    let (_, out) = rewrite_c(&mut map, B, look(Some(7)));
    let C::PlayerLookAt(p) = decode_c(&out) else {
        panic!()
    };
    assert_eq!(p.entity.map(|e| e.entity as i32), map.get(B, 7));
    let (result, out) = rewrite_c(&mut map, B, look(None));
    assert_eq!((result, out), (Rewritten::Unchanged, look(None)));
}

#[test]
fn sound_entity_after_registry_and_inline_sounds() {
    let mut map = crowded();
    let registry = W::packet(cb::SOUND_ENTITY)
        .var(5)
        .var(6)
        .var(7)
        .f32(1.0)
        .f32(1.0)
        .bytes(&[0; 8])
        .done();
    let inline = W::packet(cb::SOUND_ENTITY)
        .var(0)
        .string("minecraft:custom")
        .byte(1)
        .f32(16.0)
        .var(6)
        .var(7)
        .f32(1.0)
        .f32(1.0)
        .bytes(&[0; 8])
        .done();
    for packet in [registry, inline] {
        let (_, out) = rewrite_c(&mut map, B, packet);
        let C::SoundEntity(p) = decode_c(&out) else {
            panic!()
        };
        assert_eq!(p.id.0, map.get(B, 7).expect("mapped"));
    }
}

fn particles_packet(particle: &[u8]) -> BytesMut {
    let mut w = W::packet(cb::LEVEL_PARTICLES);
    w.byte(0)
        .byte(1)
        .f64(1.0)
        .f64(2.0)
        .f64(3.0)
        .f32(0.0)
        .f32(0.0)
        .f32(0.0)
        .f32(0.5)
        .int(4)
        .bytes(particle);
    w.done()
}

fn vibration_to_entity(id: i32) -> Vec<u8> {
    let mut w = W::default();
    w.var(metadata::particle::VIBRATION)
        .var(1)
        .var(id)
        .f32(1.5)
        .var(20);
    w.0
}

#[test]
fn level_particles_vibration_to_an_entity() {
    let mut map = crowded();
    let (result, out) = rewrite_c(&mut map, B, particles_packet(&vibration_to_entity(7)));
    assert_eq!(result, Rewritten::Changed);
    let C::LevelParticles(p) = decode_c(&out) else {
        panic!()
    };
    let Particle::Vibration(v) = p.particle else {
        panic!()
    };
    let azalea_entity::particle::PositionSource::Entity { id, .. } = v.position else {
        panic!()
    };
    assert_eq!(id.0, map.get(B, 7).expect("mapped"));
    // A vibration to a block, and other particles, carry no id.
    let mut block = W::default();
    block
        .var(metadata::particle::VIBRATION)
        .var(0)
        .bytes(&[0; 8])
        .var(20);
    let mut dust = W::default();
    dust.var(metadata::particle::DUST).int(0xff0000).f32(1.0);
    for particle in [block.0, dust.0, var(0)] {
        let packet = particles_packet(&particle);
        assert_eq!(
            rewrite_c(&mut map, B, packet.clone()),
            (Rewritten::Unchanged, packet)
        );
    }
}

// ---------------------------------------------------------------- metadata

fn entity_data(id: i32, entries: &[(u8, i32, Vec<u8>)]) -> BytesMut {
    let mut w = W::packet(cb::SET_ENTITY_DATA);
    w.var(id);
    for (index, serializer, value) in entries {
        w.byte(*index).var(*serializer).bytes(value);
    }
    w.byte(0xff);
    w.done()
}

/// The metadata values of a rewritten packet, by index.
fn metadata_of(packet: &[u8]) -> (i32, Vec<(u8, EntityDataValue)>) {
    let C::SetEntityData(p) = decode_c(packet) else {
        panic!()
    };
    (
        p.id.0,
        p.packed_items
            .0
            .into_iter()
            .map(|item| (item.index, item.value))
            .collect(),
    )
}

/// Shows `backend_id` of `kind` from B in a crowded map, so its metadata is parsed as that type.
fn shown_from_b(kind: EntityKind, backend_id: i32) -> (EntityMap, i32) {
    let mut map = crowded();
    let client = map.show(B, backend_id, kind.to_u32() as i32);
    (map, client)
}

/// A custom name, so the parser must skip NBT before reaching the ids.
fn custom_name() -> (u8, i32, Vec<u8>) {
    // Present, then a compound {text: "hi"}.
    let mut w = W::default();
    w.byte(1)
        .byte(10)
        .byte(8)
        .bytes(&4u16.to_be_bytes())
        .bytes(b"text")
        .bytes(&2u16.to_be_bytes())
        .bytes(b"hi")
        .byte(0);
    (2, ser::OPTIONAL_COMPONENT, w.0)
}

#[test]
fn metadata_fishing_bobber_hooked_entity() {
    let (mut map, bobber) = shown_from_b(EntityKind::FishingBobber, 5);
    let packet = entity_data(
        5,
        &[
            custom_name(),
            (8, ser::INT, var(7 + 1)),
            (9, ser::BOOLEAN, vec![1]),
        ],
    );
    let (_, out) = rewrite_c(&mut map, B, packet);
    let (id, values) = metadata_of(&out);
    assert_eq!(id, bobber);
    assert_eq!(
        values[1],
        (8, EntityDataValue::Int(map.get(B, 7).expect("mapped") + 1))
    );
    assert_eq!(values[2], (9, EntityDataValue::Boolean(true)));
    // Unhooked.
    let (_, out) = rewrite_c(&mut map, B, entity_data(5, &[(8, ser::INT, var(0))]));
    assert_eq!(metadata_of(&out).1, vec![(8, EntityDataValue::Int(0))]);
}

#[test]
fn metadata_guardian_target_after_effect_particles() {
    for kind in [EntityKind::Guardian, EntityKind::ElderGuardian] {
        let (mut map, guardian) = shown_from_b(kind, 5);
        let mut particles = W::default();
        particles
            .var(2)
            .var(metadata::particle::ENTITY_EFFECT)
            .int(0x00ff00)
            .bytes(&vibration_to_entity(8));
        let packet = entity_data(
            5,
            &[
                (9, ser::FLOAT, 20f32.to_be_bytes().to_vec()),
                (10, ser::PARTICLES, particles.0),
                (16, ser::BOOLEAN, vec![1]),
                (17, ser::INT, var(7)),
            ],
        );
        let (_, out) = rewrite_c(&mut map, B, packet);
        let (id, values) = metadata_of(&out);
        assert_eq!(id, guardian);
        assert_eq!(
            values[3],
            (17, EntityDataValue::Int(map.get(B, 7).expect("mapped"))),
            "{kind:?}"
        );
        let (_, EntityDataValue::Particles(particles)) = &values[1] else {
            panic!()
        };
        let Particle::Vibration(v) = &particles[1] else {
            panic!()
        };
        let azalea_entity::particle::PositionSource::Entity { id, .. } = v.position else {
            panic!()
        };
        assert_eq!(id.0, map.get(B, 8).expect("mapped"));
    }
}

#[test]
fn metadata_wither_targets() {
    let (mut map, _) = shown_from_b(EntityKind::Wither, 5);
    let packet = entity_data(
        5,
        &[
            (16, ser::INT, var(7)),
            (17, ser::INT, var(0)),
            (18, ser::INT, var(8)),
            (19, ser::INT, var(3)),
        ],
    );
    let (_, out) = rewrite_c(&mut map, B, packet);
    let values = metadata_of(&out).1;
    let mapped = |id| EntityDataValue::Int(map.get(B, id).expect("mapped"));
    assert_eq!(
        values,
        vec![
            (16, mapped(7)),
            (17, EntityDataValue::Int(0)),
            (18, mapped(8)),
            (19, EntityDataValue::Int(3))
        ]
    );
}

#[test]
fn metadata_frog_tongue_target() {
    let (mut map, _) = shown_from_b(EntityKind::Frog, 5);
    let packet = entity_data(
        5,
        &[
            (16, ser::BOOLEAN, vec![0]),
            (18, 27, var(1)),
            (19, ser::OPTIONAL_UNSIGNED_INT, var(7 + 1)),
        ],
    );
    let (_, out) = rewrite_c(&mut map, B, packet);
    let values = metadata_of(&out).1;
    let expected = map.get(B, 7).expect("mapped") as u32;
    assert_eq!(
        values[2],
        (
            19,
            EntityDataValue::OptionalUnsignedInt(OptionalUnsignedInt(Some(expected)))
        )
    );
}

/// The item stack before the attached entity cannot be skipped by hand: azalea finds the entry
/// boundaries.
#[test]
fn metadata_firework_attached_entity_after_an_item_stack() {
    let (mut map, rocket) = shown_from_b(EntityKind::FireworkRocket, 5);
    map.set_player(B, 40, 900).expect("player");
    let mut item = W::default();
    // One firework rocket with one added component (max_stack_size = 16).
    item.var(1)
        .var(ItemKind::FireworkRocket.to_u32() as i32)
        .var(1)
        .var(0)
        .var(1)
        .var(16);
    let packet = entity_data(
        5,
        &[
            custom_name(),
            (8, ser::ITEM_STACK, item.0),
            (9, ser::OPTIONAL_UNSIGNED_INT, var(40 + 1)),
            (10, ser::BOOLEAN, vec![0]),
        ],
    );
    let original = metadata_of(&packet).1;
    let (result, out) = rewrite_c(&mut map, B, packet);
    assert_eq!(result, Rewritten::Changed);
    let (id, values) = metadata_of(&out);
    assert_eq!(id, rocket);
    assert_eq!(
        values[2],
        (
            9,
            EntityDataValue::OptionalUnsignedInt(OptionalUnsignedInt(Some(900)))
        ),
        "attached to the player"
    );
    // Everything else is as the backend sent it.
    assert_eq!(values[0], original[0]);
    assert_eq!(values[1], original[1]);
    assert_eq!(values[3], original[3]);
    // Not attached.
    let (_, out) = rewrite_c(
        &mut map,
        B,
        entity_data(5, &[(9, ser::OPTIONAL_UNSIGNED_INT, var(0))]),
    );
    assert_eq!(
        metadata_of(&out).1,
        vec![(
            9,
            EntityDataValue::OptionalUnsignedInt(OptionalUnsignedInt(None))
        )]
    );
}

#[test]
fn metadata_area_effect_cloud_vibration_particle() {
    let (mut map, _) = shown_from_b(EntityKind::AreaEffectCloud, 5);
    let packet = entity_data(
        5,
        &[
            (8, ser::FLOAT, 3f32.to_be_bytes().to_vec()),
            (10, ser::PARTICLE, vibration_to_entity(7)),
        ],
    );
    let (_, out) = rewrite_c(&mut map, B, packet);
    let values = metadata_of(&out).1;
    let (_, EntityDataValue::Particle(Particle::Vibration(v))) = &values[1] else {
        panic!()
    };
    let azalea_entity::particle::PositionSource::Entity { id, .. } = v.position else {
        panic!()
    };
    assert_eq!(id.0, map.get(B, 7).expect("mapped"));
}

#[test]
fn metadata_of_other_types_is_not_parsed() {
    // A player's shoulder parrot is a parrot variant, not an id; a zombie's ints are counters.
    for kind in [EntityKind::Player, EntityKind::Zombie] {
        let (mut map, client) = shown_from_b(kind, 5);
        let packet = entity_data(
            5,
            &[
                (19, ser::OPTIONAL_UNSIGNED_INT, var(3)),
                (12, ser::INT, var(7)),
            ],
        );
        let (_, out) = rewrite_c(&mut map, B, packet);
        let (id, values) = metadata_of(&out);
        assert_eq!(id, client);
        assert_eq!(
            values[0].1,
            EntityDataValue::OptionalUnsignedInt(OptionalUnsignedInt(Some(2)))
        );
        assert_eq!(values[1].1, EntityDataValue::Int(7));
    }
}

// ---------------------------------------------------------------- every other packet

#[test]
fn packets_without_ids_are_untouched() {
    let mut map = crowded();
    for &(packet_id, name) in cb::ALL {
        if clientbound_carries_ids(packet_id) {
            continue;
        }
        let packet = W::packet(packet_id).var(7).var(7).int(7).done();
        let result = rewrite_c(&mut map, B, packet.clone());
        assert_eq!(result, (Rewritten::Unchanged, packet), "{name}");
    }
    assert_eq!(
        cb::ALL
            .iter()
            .filter(|(id, _)| clientbound_carries_ids(*id))
            .count(),
        32
    );
    assert_eq!(
        sb::ALL
            .iter()
            .filter(|(id, _)| serverbound_carries_ids(*id))
            .count(),
        7
    );
}

#[test]
fn packet_id_must_match() {
    let mut map = crowded();
    let mut packet = W::packet(cb::ANIMATE).var(7).byte(0).done();
    assert_eq!(
        rewrite_clientbound(&mut map, B, cb::ROTATE_HEAD, &mut packet),
        Err(RewriteError::PacketIdMismatch {
            expected: cb::ROTATE_HEAD,
            found: cb::ANIMATE
        })
    );
}

// ---------------------------------------------------------------- serverbound

fn serverbound_map() -> (EntityMap, i32) {
    let mut map = crowded();
    map.set_player(A, 1000, 1000).expect("player");
    map.set_player(B, 2000, 1000).expect("player");
    let client = map.show(B, 7, PLAIN_KIND);
    (map, client)
}

#[test]
fn serverbound_packets_map_back_to_their_link() {
    let (map, client) = serverbound_map();
    let cases: Vec<(BytesMut, IdOf<[u8]>)> = vec![
        (
            encode_s(S::Interact(ServerboundInteract {
                entity_id: eid(client),
                hand: InteractionHand::OffHand,
                location: LpVec3::from_vec3(Vec3 {
                    x: 0.1,
                    y: 1.0,
                    z: 0.2,
                }),
                using_secondary_action: true,
            })),
            |p| match decode_s(p) {
                S::Interact(p) => p.entity_id.0,
                _ => panic!(),
            },
        ),
        (
            encode_s(S::EntityTagQuery(ServerboundEntityTagQuery {
                transaction_id: 77,
                entity_id: eid(client),
            })),
            |p| match decode_s(p) {
                S::EntityTagQuery(p) => {
                    assert_eq!(p.transaction_id, 77);
                    p.entity_id.0
                }
                _ => panic!(),
            },
        ),
        (
            encode_s(S::PickItemFromEntity(ServerboundPickItemFromEntity {
                id: eid(client),
                include_data: true,
            })),
            |p| match decode_s(p) {
                S::PickItemFromEntity(p) => p.id.0,
                _ => panic!(),
            },
        ),
        (
            encode_s(S::SetCommandMinecart(ServerboundSetCommandMinecart {
                entity: client as u32,
                command: "say hi".into(),
                track_output: false,
            })),
            |p| match decode_s(p) {
                S::SetCommandMinecart(p) => p.entity as i32,
                _ => panic!(),
            },
        ),
        // azalea reads these two ids as ints; vanilla writes VarInts.
        (W::packet(sb::ATTACK).var(client).done(), |p| {
            meridian_wire::varint::read_varint(&p[1..]).expect("id").0
        }),
        (W::packet(sb::SPECTATE_ENTITY).var(client).done(), |p| {
            meridian_wire::varint::read_varint(&p[1..]).expect("id").0
        }),
    ];
    for (mut packet, id_of) in cases {
        let packet_id = packet_id(&packet);
        assert_eq!(
            rewrite_serverbound(&map, packet_id, &mut packet),
            Ok(Target::Link {
                link: B,
                backend_id: 7
            }),
            "{packet_id:#x}"
        );
        assert_eq!(id_of(&packet), 7, "{packet_id:#x}");
    }
}

#[test]
fn player_command_names_the_player_on_every_link() {
    let (map, _) = serverbound_map();
    let command = encode_s(S::PlayerCommand(ServerboundPlayerCommand {
        id: eid(1000),
        action: azalea_protocol::packets::game::s_player_command::Action::StartSprinting,
        data: 0,
    }));
    let mut packet = command.clone();
    assert_eq!(
        rewrite_serverbound(&map, sb::PLAYER_COMMAND, &mut packet),
        Ok(Target::OwnPlayer)
    );
    assert_eq!(packet, command);
    for (link, backend_id) in [(A, 1000), (B, 2000)] {
        let mut copy = command.clone();
        let changed =
            rewrite_for_player_link(&map, link, sb::PLAYER_COMMAND, &mut copy).expect("rewrites");
        assert_eq!(changed, backend_id != 1000);
        let S::PlayerCommand(p) = decode_s(&copy) else {
            panic!()
        };
        assert_eq!(p.id.0, backend_id);
    }
}

#[test]
fn serverbound_unknown_and_id_free_packets() {
    let (map, _) = serverbound_map();
    let mut attack = W::packet(sb::ATTACK).var(123_456).done();
    assert_eq!(
        rewrite_serverbound(&map, sb::ATTACK, &mut attack),
        Ok(Target::Unknown { client_id: 123_456 })
    );
    let mut swing = W::packet(sb::SWING).var(0).done();
    assert_eq!(
        rewrite_serverbound(&map, sb::SWING, &mut swing),
        Ok(Target::NoEntity)
    );
    // teleport_to_entity names a UUID, the same on every backend.
    let mut teleport = W::packet(sb::TELEPORT_TO_ENTITY).bytes(&[7; 16]).done();
    assert_eq!(
        rewrite_serverbound(&map, sb::TELEPORT_TO_ENTITY, &mut teleport),
        Ok(Target::NoEntity)
    );
}

// ---------------------------------------------------------------- malformed input

/// One valid packet of every id-bearing kind, with the link and map that give it collisions.
fn corpus() -> Vec<BytesMut> {
    let mut item = W::default();
    item.var(1)
        .var(ItemKind::FireworkRocket.to_u32() as i32)
        .var(1)
        .var(0)
        .var(1)
        .var(16);
    let mut particles = W::default();
    particles
        .var(2)
        .var(metadata::particle::ENTITY_EFFECT)
        .int(1)
        .bytes(&vibration_to_entity(8));
    vec![
        add_entity(5, EntityKind::Arrow, 6),
        W::packet(cb::ANIMATE).var(7).byte(0).done(),
        W::packet(cb::ENTITY_EVENT).int(7).byte(2).done(),
        W::packet(cb::LOGIN).int(7).byte(0).done(),
        W::packet(cb::MOUNT_SCREEN_OPEN).var(3).var(5).int(7).done(),
        W::packet(cb::REMOVE_ENTITIES).var(2).var(5).var(300).done(),
        W::packet(cb::SET_PASSENGERS)
            .var(7)
            .var(2)
            .var(8)
            .var(9)
            .done(),
        W::packet(cb::SET_ENTITY_LINK).int(7).int(8).done(),
        W::packet(cb::TAKE_ITEM_ENTITY).var(7).var(8).var(1).done(),
        W::packet(cb::DAMAGE_EVENT)
            .var(7)
            .var(1)
            .var(9)
            .var(10)
            .byte(0)
            .done(),
        W::packet(cb::PLAYER_LOOK_AT)
            .var(0)
            .f64(0.0)
            .f64(0.0)
            .f64(0.0)
            .byte(1)
            .var(7)
            .var(1)
            .done(),
        W::packet(cb::SOUND_ENTITY)
            .var(0)
            .string("a:b")
            .byte(1)
            .f32(1.0)
            .var(1)
            .var(7)
            .done(),
        particles_packet(&vibration_to_entity(7)),
        entity_data(
            5,
            &[
                custom_name(),
                (8, ser::INT, var(8)),
                (10, ser::PARTICLES, particles.0),
            ],
        ),
        entity_data(
            6,
            &[
                (8, ser::ITEM_STACK, item.0),
                (9, ser::OPTIONAL_UNSIGNED_INT, var(8)),
            ],
        ),
    ]
}

/// A map where B's 5 is a fishing bobber and 6 a firework rocket, so the corpus's metadata parses.
fn corpus_map() -> EntityMap {
    let mut map = crowded();
    map.show(B, 5, kinds::FISHING_BOBBER);
    map.show(B, 6, kinds::FIREWORK_ROCKET);
    map
}

#[test]
fn corpus_rewrites_cleanly() {
    for packet in corpus() {
        let mut map = corpus_map();
        let (result, _) = rewrite_c(&mut map, B, packet);
        assert_ne!(result, Rewritten::Drop);
    }
}

#[test]
fn truncated_packets_are_errors_not_panics() {
    for packet in corpus() {
        let id = packet_id(&packet);
        let id_len = meridian_wire::varint::varint_len(id);
        let mut errors = 0;
        for len in 0..packet.len() {
            let mut map = corpus_map();
            let mut cut = BytesMut::from(&packet[..len]);
            match rewrite_clientbound(&mut map, B, id, &mut cut) {
                Ok(_) => {}
                Err(_) => {
                    errors += 1;
                    assert_eq!(
                        &cut[..],
                        &packet[..len],
                        "a failed rewrite leaves the bytes alone"
                    );
                }
            }
        }
        // Cutting inside the fields up to the first id is always an error.
        assert!(errors > id_len, "{id:#x}: {errors} errors");
    }
    for len in 0..3 {
        let mut query =
            BytesMut::from(&W::packet(sb::ENTITY_TAG_QUERY).var(300).var(300).done()[..len]);
        let result = rewrite_serverbound(&crowded(), sb::ENTITY_TAG_QUERY, &mut query);
        assert!(result.is_err(), "{len}: {result:?}");
    }
}

#[test]
fn hostile_lengths_are_rejected() {
    let mut map = corpus_map();
    let cases = [
        W::packet(cb::REMOVE_ENTITIES).var(i32::MAX).var(1).done(),
        W::packet(cb::REMOVE_ENTITIES).var(-1).done(),
        W::packet(cb::SET_PASSENGERS).var(1).var(1_000_000).done(),
        // A fishing bobber's custom name that is a list of two billion End tags.
        entity_data(
            5,
            &[(
                2,
                ser::OPTIONAL_COMPONENT,
                [&[1u8, 9, 0][..], &i32::MAX.to_be_bytes()].concat(),
            )],
        ),
        // NBT nested deeper than vanilla allows.
        entity_data(
            5,
            &[(
                2,
                ser::COMPONENT,
                [vec![9u8, 9], [0u8, 0, 0, 1, 9].repeat(600)].concat(),
            )],
        ),
        entity_data(5, &[(8, 99, var(1))]),
        W::packet(cb::ANIMATE).bytes(&[0xff; 6]).done(),
    ];
    for mut packet in cases {
        let id = packet_id(&packet);
        let before = packet.clone();
        assert!(
            rewrite_clientbound(&mut map, B, id, &mut packet).is_err(),
            "{before:?}"
        );
        assert_eq!(packet, before);
    }
}

proptest! {
    #[test]
    fn arbitrary_clientbound_bytes_never_panic(id in 0..0x8di32, body in proptest::collection::vec(any::<u8>(), 0..96)) {
        let mut map = corpus_map();
        let mut packet = W::packet(id).bytes(&body).done();
        let _ = rewrite_clientbound(&mut map, B, id, &mut packet);
    }

    #[test]
    fn arbitrary_serverbound_bytes_never_panic(id in 0..0x45i32, body in proptest::collection::vec(any::<u8>(), 0..32)) {
        let (map, _) = serverbound_map();
        let mut packet = W::packet(id).bytes(&body).done();
        if let Ok(Target::OwnPlayer) = rewrite_serverbound(&map, id, &mut packet) {
            let _ = rewrite_for_player_link(&map, B, id, &mut packet);
        }
    }

    /// Valid packets with a few bytes changed: deeper into the parsers than random bytes get.
    #[test]
    fn mutated_packets_never_panic(
        which in 0usize..15,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let corpus = corpus();
        let mut packet = corpus[which % corpus.len()].clone();
        let id = packet_id(&packet);
        for (at, byte) in edits {
            let i = at.index(packet.len());
            // Keep the packet id, so the packet's own parser runs.
            if i >= meridian_wire::varint::varint_len(id) {
                packet[i] = byte;
            }
        }
        let mut map = corpus_map();
        let before = packet.clone();
        if rewrite_clientbound(&mut map, B, id, &mut packet).is_err() {
            prop_assert_eq!(packet, before);
        }
    }
}
