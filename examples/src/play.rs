//! One player in play: the join sequence, then a loop over the client's packets, the other
//! players' events, keep-alive, the `meridian:sync` link's timers, and shutdown.
//!
//! Everything the client is sent goes through this task, so the client's view (loaded
//! chunks, shown entities and items, tab list, shown effects) is plain local state with no
//! locking. The player's game state lives in the roster's shared book, because test hooks and
//! other connections (pickups) change it too; changes made elsewhere arrive here as
//! [`Event::Effects`] and are shown from this task.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use azalea_auth::game_profile::GameProfile;
use azalea_buf::UnsizedByteArray;
use azalea_chat::FormattedText;
use azalea_core::{
    delta::LpVec3,
    entity_id::MinecraftEntityId,
    game_type::GameMode,
    position::{BlockPos, GlobalPos, Vec3},
};
use azalea_entity::LookDirection;
use azalea_protocol::{
    common::movements::{PositionMoveRotation, RelativeMovements},
    packets::{
        Packet,
        game::{
            ClientboundGamePacket, ServerboundGamePacket,
            c_add_entity::ClientboundAddEntity,
            c_block_changed_ack::ClientboundBlockChangedAck,
            c_block_update::ClientboundBlockUpdate,
            c_chunk_batch_finished::ClientboundChunkBatchFinished,
            c_chunk_batch_start::ClientboundChunkBatchStart,
            c_custom_payload::ClientboundCustomPayload,
            c_disconnect::ClientboundDisconnect,
            c_entity_position_sync::ClientboundEntityPositionSync,
            c_game_event::{ClientboundGameEvent, EventType},
            c_keep_alive::ClientboundKeepAlive,
            c_player_info_remove::ClientboundPlayerInfoRemove,
            c_player_info_update::{ActionEnumSet, ClientboundPlayerInfoUpdate, PlayerInfoEntry},
            c_player_position::ClientboundPlayerPosition,
            c_pong_response::ClientboundPongResponse,
            c_remove_entities::ClientboundRemoveEntities,
            c_rotate_head::ClientboundRotateHead,
            c_set_chunk_cache_center::ClientboundSetChunkCacheCenter,
            c_set_default_spawn_position::ClientboundSetDefaultSpawnPosition,
            c_set_entity_motion::ClientboundSetEntityMotion,
            c_set_held_slot::ClientboundSetHeldSlot,
            c_system_chat::ClientboundSystemChat,
            c_take_item_entity::ClientboundTakeItemEntity,
            s_player_action::Action,
        },
    },
};
use azalea_registry::{builtin::EntityKind, identifier::Identifier};
use bytes::BufMut;
use futures_util::SinkExt;
use meridian_wire::{
    ConnError, RawFrame,
    conn::{FrameWriter, ServerGame, decode_packet, encode_packet, next_frame},
    forwarding::ForwardedPlayer,
    ids::game::{clientbound as game_ids, serverbound as ids},
    varint::write_varint,
};
use sync_plugin_protocol::{Message, MirrorState, PlayerState, PositionReport};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::server::ActionRecord;

use crate::{
    commands,
    login::profile,
    player::{Event, GroundItem, Membership, PlayerInfo},
    server::{GameData, MarkerEntity, SessionError, Shared},
    sync::{
        self, Effects, Moved, Show, handler,
        link::{Link, Received, Timer},
        show,
        zones::Ownership,
    },
    world::{self, block_at, chunk_coord, chunks_in_view, in_view},
};

pub(crate) use crate::world::OVERWORLD;

pub(crate) async fn play(
    conn: ServerGame,
    shared: Arc<Shared>,
    data: &'static GameData,
    player: ForwardedPlayer,
    shutdown: CancellationToken,
) -> Result<(), SessionError> {
    let (mut reader, writer) = conn.into_split();
    let me = PlayerInfo {
        uuid: player.uuid,
        name: player.name.clone(),
        entity_id: shared.allocate_entity_id(),
        properties: player.properties.clone(),
        position: shared.config.spawn,
        yaw: 0.0,
        pitch: 0.0,
        on_ground: true,
        appearance: None,
    };
    let (mut membership, others) = shared
        .roster
        .join(me.clone(), sync::state::initial(shared.config.spawn));
    let write_timeout = shared.config.keep_alive_timeout;
    let mut session = Session {
        out: Out {
            writer,
            timeout: write_timeout,
        },
        shared: &shared,
        data,
        profile: profile(&player),
        center: (chunk_coord(me.position[0]), chunk_coord(me.position[2])),
        me,
        loaded: HashSet::new(),
        others: HashMap::new(),
        marker_shown: false,
        pending_teleport: None,
        next_teleport: 1,
        keep_alive: KeepAlive::new(shared.config.keep_alive_interval),
        link: Link::new(
            &shared.config.id,
            player.uuid,
            &player.name,
            shared.config.sync_handshake_timeout,
        ),
        shown_items: HashSet::new(),
        shown_effects: Vec::new(),
        inventory_state_id: 0,
    };
    let result = session
        .run(&mut reader, &mut membership, others, &shutdown)
        .await;
    shared.roster.leave(&membership);
    result
}

/// The write half, with a bound on how long a client may leave us blocked.
struct Out {
    writer: FrameWriter,
    timeout: Duration,
}

impl Out {
    async fn feed(
        &mut self,
        packet: impl Packet<ClientboundGamePacket>,
    ) -> Result<(), SessionError> {
        let bytes = encode_packet(&packet.into_variant())?;
        self.bounded(async |w: &mut FrameWriter| w.feed(&bytes[..]).await)
            .await
    }

    /// Queues packet bytes (id then fields) written by hand.
    async fn feed_raw(&mut self, packet: &[u8]) -> Result<(), SessionError> {
        self.bounded(async |w: &mut FrameWriter| w.feed(packet).await)
            .await
    }

    async fn flush(&mut self) -> Result<(), SessionError> {
        self.bounded(async |w: &mut FrameWriter| SinkExt::<&[u8]>::flush(w).await)
            .await
    }

    async fn bounded(
        &mut self,
        op: impl AsyncFnOnce(&mut FrameWriter) -> Result<(), meridian_wire::FrameError>,
    ) -> Result<(), SessionError> {
        match tokio::time::timeout(self.timeout, op(&mut self.writer)).await {
            Ok(result) => result.map_err(|e| SessionError::Conn(ConnError::from(e))),
            Err(_) => Err(SessionError::Protocol(format!(
                "client read nothing for {:?}",
                self.timeout
            ))),
        }
    }
}

struct KeepAlive {
    interval: Duration,
    next_send: Instant,
    pending: Option<(u64, Instant)>,
    counter: u64,
}

impl KeepAlive {
    fn new(interval: Duration) -> Self {
        // Distinct per connection, so a stale answer relayed from elsewhere never matches.
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Self {
            interval,
            next_send: Instant::now() + interval,
            pending: None,
            counter: seed,
        }
    }

    fn deadline(&self, timeout: Duration) -> Instant {
        match self.pending {
            Some((_, sent)) => sent + timeout,
            None => self.next_send,
        }
    }
}

/// Another player as this client knows it.
struct Other {
    info: PlayerInfo,
    shown: bool,
}

/// The target of an `attack` packet. Read by hand: 26.1 sends the entity id as a VarInt, while
/// azalea-protocol 0.16's `ServerboundAttack` reads a fixed four-byte int, so decoding a real
/// client's attack with it fails.
fn attack_target(packet: &[u8]) -> Option<i32> {
    use meridian_wire::{ids::game::serverbound, varint::read_varint};
    let (id, n) = read_varint(packet).ok()?;
    if id != serverbound::ATTACK {
        return None;
    }
    let (target, m) = read_varint(&packet[n..]).ok()?;
    (n + m == packet.len()).then_some(target)
}

impl Session<'_> {
    fn record_action(&self, action: ActionRecord) {
        self.shared
            .actions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(action);
    }
}

struct Session<'a> {
    out: Out,
    shared: &'a Shared,
    data: &'static GameData,
    profile: GameProfile,
    me: PlayerInfo,
    center: (i32, i32),
    loaded: HashSet<(i32, i32)>,
    others: HashMap<Uuid, Other>,
    marker_shown: bool,
    pending_teleport: Option<u32>,
    next_teleport: u32,
    keep_alive: KeepAlive,
    link: Link,
    /// Ground items this client was shown, by entity id.
    shown_items: HashSet<i32>,
    /// The effects this client was shown on itself, so ones that ended can be removed.
    shown_effects: Vec<String>,
    /// The inventory menu's state id, bumped with every full content update, as vanilla does.
    inventory_state_id: u32,
}

impl Session<'_> {
    async fn run(
        &mut self,
        reader: &mut meridian_wire::conn::FrameReader,
        membership: &mut Membership,
        others: Vec<PlayerInfo>,
        shutdown: &CancellationToken,
    ) -> Result<(), SessionError> {
        self.start(others).await?;
        let timeout = self.shared.config.keep_alive_timeout;
        loop {
            let keep_alive = self.keep_alive.deadline(timeout);
            let wake = self
                .link
                .deadline()
                .map_or(keep_alive, |d| d.min(keep_alive));
            tokio::select! {
                _ = shutdown.cancelled() => return self.kick("Server closed".into()).await,
                frame = next_frame(reader) => match frame {
                    Ok(frame) => {
                        let started = Instant::now();
                        self.on_frame(frame).await?;
                        self.shared.sync.load.add_busy(started.elapsed());
                    }
                    Err(e) if e.is_closed() => return Ok(()),
                    Err(e) => return Err(e.into()),
                },
                event = membership.events.recv() => match event {
                    Some(Event::Kick(reason)) => return self.kick(reason).await,
                    Some(event) => {
                        let started = Instant::now();
                        self.on_event(event).await?;
                        self.shared.sync.load.add_busy(started.elapsed());
                    }
                    // The roster dropped us: another login replaced this one.
                    None => return Ok(()),
                },
                _ = tokio::time::sleep_until(wake) => self.on_timer().await?,
            }
            self.out.flush().await?;
        }
    }

    /// Everything a vanilla client needs to leave the loading screen.
    async fn start(&mut self, others: Vec<PlayerInfo>) -> Result<(), SessionError> {
        let config = &self.shared.config;
        let view = u32::from(config.view_distance);
        // Restored from this player's last stay as a primary here, or a new player's defaults.
        let state = self
            .state()
            .unwrap_or_else(|| sync::state::initial(config.spawn));
        let game_type = u8::try_from(state.game_mode.id())
            .ok()
            .and_then(GameMode::from_id)
            .unwrap_or(GameMode::Survival);
        self.out
            .feed(world::play_login(
                self.me.entity_id,
                self.data.overworld,
                view,
                game_type,
                100,
            ))
            .await?;
        self.out.feed(show::abilities(&state.abilities)).await?;
        self.out
            .feed(ClientboundSetHeldSlot {
                slot: u32::try_from(state.selected_slot).unwrap_or(0),
            })
            .await?;
        self.out.feed(commands::declare()).await?;
        let [x, y, z] = config.spawn;
        self.out
            .feed(ClientboundSetDefaultSpawnPosition {
                global_pos: GlobalPos {
                    dimension: Identifier::new(OVERWORLD),
                    pos: BlockPos::new(x.floor() as i32, y.floor() as i32, z.floor() as i32),
                },
                yaw: 0.0,
                pitch: 0.0,
            })
            .await?;
        // The tab list must name a player before its entity can be added.
        let mut entries = vec![self.tab_entry(&self.me.clone())];
        for other in others {
            entries.push(self.tab_entry(&other));
            self.others.insert(
                other.uuid,
                Other {
                    info: other,
                    shown: false,
                },
            );
        }
        self.out.feed(tab_add(entries)).await?;
        self.teleport(config.spawn).await?;
        self.out
            .feed(ClientboundGameEvent {
                event: EventType::WaitForLevelChunks,
                param: 0.0,
            })
            .await?;
        self.update_view(true).await?;
        // Health last: for a client (and the tests) it marks the end of the join sequence.
        self.show(Show {
            inventory: true,
            experience: true,
            effects: true,
            health: true,
            ..Show::default()
        })
        .await?;
        self.out.flush().await
    }

    fn tab_entry(&self, player: &PlayerInfo) -> PlayerInfoEntry {
        let profile = if player.uuid == self.me.uuid {
            self.profile.clone()
        } else {
            profile(&ForwardedPlayer {
                address: String::new(),
                uuid: player.uuid,
                name: player.name.clone(),
                properties: player.properties.clone(),
            })
        };
        PlayerInfoEntry {
            profile,
            game_mode: GameMode::Survival,
            listed: true,
            latency: 0,
            ..Default::default()
        }
    }

    async fn teleport(&mut self, position: [f64; 3]) -> Result<(), SessionError> {
        let id = self.next_teleport;
        self.next_teleport = self.next_teleport.wrapping_add(1);
        self.pending_teleport = Some(id);
        self.me.position = position;
        self.out
            .feed(ClientboundPlayerPosition {
                id,
                change: PositionMoveRotation {
                    pos: vec3(position),
                    delta: Vec3::ZERO,
                    look_direction: LookDirection::new(self.me.yaw, self.me.pitch),
                },
                relative: RelativeMovements::all_absolute(),
            })
            .await
    }

    /// Recentres the client's chunk view if the player changed chunk (or `force`), sends what
    /// came into view in one batch, forgets what left, and shows or hides entities to match.
    async fn update_view(&mut self, force: bool) -> Result<(), SessionError> {
        let center = (
            chunk_coord(self.me.position[0]),
            chunk_coord(self.me.position[2]),
        );
        if center == self.center && !force {
            return Ok(());
        }
        self.center = center;
        let radius = i32::from(self.shared.config.view_distance);
        self.out
            .feed(ClientboundSetChunkCacheCenter {
                x: center.0,
                z: center.1,
            })
            .await?;
        let wanted = chunks_in_view(center, radius);
        let wanted_set: HashSet<(i32, i32)> = wanted.iter().copied().collect();
        let mut gone: Vec<(i32, i32)> = self.loaded.difference(&wanted_set).copied().collect();
        gone.sort_unstable();
        for (x, z) in gone {
            self.out.feed_raw(&forget_level_chunk(x, z)).await?;
        }
        let new: Vec<(i32, i32)> = wanted
            .into_iter()
            .filter(|c| !self.loaded.contains(c))
            .collect();
        if !new.is_empty() {
            self.send_chunk_batch(&new).await?;
        }
        self.loaded = wanted_set;
        self.refresh_entities().await
    }

    fn sees(&self, position: [f64; 3]) -> bool {
        let chunk = (chunk_coord(position[0]), chunk_coord(position[2]));
        in_view(
            self.center,
            chunk,
            i32::from(self.shared.config.view_distance),
        )
    }

    /// Whether this client is to be shown a world entity (the marker, a ground item) at
    /// `position`: in view, and not in a zone this backend released.
    fn shows_world_entity(&self, ownership: &Ownership, position: [f64; 3]) -> bool {
        self.sees(position)
            && !ownership.hides(
                OVERWORLD,
                chunk_coord(position[0]),
                chunk_coord(position[2]),
            )
    }

    async fn refresh_entities(&mut self) -> Result<(), SessionError> {
        self.refresh_world_entities().await?;
        let uuids: Vec<Uuid> = self.others.keys().copied().collect();
        for uuid in uuids {
            self.refresh_other(uuid, false).await?;
        }
        Ok(())
    }

    /// Shows or hides the marker and the ground items to match the view and the released zones.
    async fn refresh_world_entities(&mut self) -> Result<(), SessionError> {
        let ownership = self.shared.sync.ownership();
        let shared = self.shared;
        if let Some(marker) = &shared.marker {
            let visible = self.shows_world_entity(&ownership, marker.position);
            if visible && !self.marker_shown {
                self.out.feed(marker_packet(marker)).await?;
            } else if !visible && self.marker_shown {
                self.out
                    .feed(ClientboundRemoveEntities {
                        entity_ids: vec![MinecraftEntityId(marker.id)],
                    })
                    .await?;
            }
            self.marker_shown = visible;
        }
        let items: Vec<GroundItem> = self.shared.roster.book().items().cloned().collect();
        for item in items {
            let visible = self.shows_world_entity(&ownership, item.position);
            if visible && !self.shown_items.contains(&item.entity_id) {
                self.show_item(&item).await?;
            } else if !visible && self.shown_items.remove(&item.entity_id) {
                self.out
                    .feed(ClientboundRemoveEntities {
                        entity_ids: vec![MinecraftEntityId(item.entity_id)],
                    })
                    .await?;
            }
        }
        Ok(())
    }

    /// Queues `chunks` as one chunk batch, as vanilla sends them.
    async fn send_chunk_batch(&mut self, chunks: &[(i32, i32)]) -> Result<(), SessionError> {
        self.out.feed(ClientboundChunkBatchStart).await?;
        for &(x, z) in chunks {
            self.out.feed(self.data.world.chunk_packet(x, z)).await?;
        }
        self.out
            .feed(ClientboundChunkBatchFinished {
                batch_size: chunks.len() as u32,
            })
            .await
    }

    /// `ResendChunks`: the listed chunks this client has loaded go again, then every world
    /// entity in them is removed if it was shown and added if it is to be shown now. Deciding
    /// from the shared ownership rather than from what was last shown means an assignment's
    /// event that this session has not taken yet cannot leave an entity unsent or doubled.
    async fn resend_chunks(&mut self, listed: &[(i32, i32)]) -> Result<(), SessionError> {
        let mut resent: HashSet<(i32, i32)> = HashSet::new();
        let chunks: Vec<(i32, i32)> = listed
            .iter()
            .copied()
            .filter(|c| self.loaded.contains(c) && resent.insert(*c))
            .collect();
        if chunks.is_empty() {
            return Ok(());
        }
        self.send_chunk_batch(&chunks).await?;

        let inside = |position: [f64; 3]| {
            resent.contains(&(chunk_coord(position[0]), chunk_coord(position[2])))
        };
        let ownership = self.shared.sync.ownership();
        let shared = self.shared;
        let marker = shared.marker.as_ref().filter(|m| inside(m.position));
        let items: Vec<GroundItem> = shared
            .roster
            .book()
            .items()
            .filter(|i| inside(i.position))
            .cloned()
            .collect();
        let mut removed = Vec::new();
        if let Some(marker) = marker
            && self.marker_shown
        {
            removed.push(MinecraftEntityId(marker.id));
        }
        for item in &items {
            if self.shown_items.remove(&item.entity_id) {
                removed.push(MinecraftEntityId(item.entity_id));
            }
        }
        if !removed.is_empty() {
            self.out
                .feed(ClientboundRemoveEntities {
                    entity_ids: removed,
                })
                .await?;
        }
        if let Some(marker) = marker {
            self.marker_shown = self.shows_world_entity(&ownership, marker.position);
            if self.marker_shown {
                self.out.feed(marker_packet(marker)).await?;
            }
        }
        for item in &items {
            if self.shows_world_entity(&ownership, item.position) {
                self.show_item(item).await?;
            }
        }
        Ok(())
    }

    async fn show_item(&mut self, item: &GroundItem) -> Result<(), SessionError> {
        let (add, data) = show::ground_item(item);
        self.out.feed(add).await?;
        self.out.feed(data).await?;
        self.shown_items.insert(item.entity_id);
        Ok(())
    }

    /// Shows, hides or (if `moved`) moves another player's entity.
    async fn refresh_other(&mut self, uuid: Uuid, moved: bool) -> Result<(), SessionError> {
        let Some(other) = self.others.get(&uuid) else {
            return Ok(());
        };
        let visible = self.sees(other.info.position);
        let info = other.info.clone();
        let id = MinecraftEntityId(info.entity_id);
        match (other.shown, visible) {
            (false, true) => {
                self.out
                    .feed(ClientboundAddEntity {
                        id,
                        uuid: info.uuid,
                        entity_type: EntityKind::Player,
                        position: vec3(info.position),
                        movement: LpVec3::Zero,
                        x_rot: angle(info.pitch),
                        y_rot: angle(info.yaw),
                        y_head_rot: angle(info.yaw),
                        data: 0,
                    })
                    .await?;
                self.out
                    .feed(ClientboundRotateHead {
                        entity_id: id,
                        y_head_rot: angle(info.yaw),
                    })
                    .await?;
                if info.appearance.is_some() {
                    self.show_appearance(info.entity_id, None, info.appearance.as_ref())
                        .await?;
                }
            }
            (true, true) if moved => {
                self.out
                    .feed(ClientboundEntityPositionSync {
                        id,
                        values: PositionMoveRotation {
                            pos: vec3(info.position),
                            delta: Vec3::ZERO,
                            look_direction: LookDirection::new(info.yaw, info.pitch),
                        },
                        on_ground: info.on_ground,
                    })
                    .await?;
                self.out
                    .feed(ClientboundRotateHead {
                        entity_id: id,
                        y_head_rot: angle(info.yaw),
                    })
                    .await?;
            }
            (true, false) => {
                self.out
                    .feed(ClientboundRemoveEntities {
                        entity_ids: vec![id],
                    })
                    .await?;
            }
            _ => {}
        }
        if let Some(other) = self.others.get_mut(&uuid) {
            other.shown = visible;
        }
        Ok(())
    }

    async fn on_event(&mut self, event: Event) -> Result<(), SessionError> {
        match event {
            Event::Joined(info) => {
                let uuid = info.uuid;
                self.out.feed(tab_add(vec![self.tab_entry(&info)])).await?;
                self.others.insert(uuid, Other { info, shown: false });
                self.refresh_other(uuid, false).await?;
            }
            Event::Moved {
                uuid,
                position,
                yaw,
                pitch,
                on_ground,
            } => {
                if let Some(other) = self.others.get_mut(&uuid) {
                    other.info.position = position;
                    other.info.yaw = yaw;
                    other.info.pitch = pitch;
                    other.info.on_ground = on_ground;
                    self.refresh_other(uuid, true).await?;
                }
            }
            Event::Left { uuid, entity_id } => {
                if let Some(other) = self.others.remove(&uuid)
                    && other.shown
                {
                    self.out
                        .feed(ClientboundRemoveEntities {
                            entity_ids: vec![MinecraftEntityId(entity_id)],
                        })
                        .await?;
                }
                self.out
                    .feed(ClientboundPlayerInfoRemove {
                        profile_ids: vec![uuid],
                    })
                    .await?;
            }
            Event::Chat(line) => self.system_chat(line).await?,
            Event::RawSync(payload) => {
                self.send_payload(sync_plugin_protocol::CHANNEL, payload)
                    .await?
            }
            Event::Appearance { uuid, appearance } => {
                if let Some(other) = self.others.get_mut(&uuid) {
                    let before = std::mem::replace(&mut other.info.appearance, appearance.clone());
                    if other.shown {
                        let entity_id = other.info.entity_id;
                        self.show_appearance(entity_id, before.as_ref(), appearance.as_ref())
                            .await?;
                    }
                }
            }
            Event::ItemSpawned(item) => {
                let ownership = self.shared.sync.ownership();
                if self.shows_world_entity(&ownership, item.position) {
                    self.show_item(&item).await?;
                }
            }
            Event::ItemTaken {
                item,
                by,
                amount,
                left,
            } => self.item_taken(item, by, amount, left).await?,
            Event::Effects(effects) => self.apply_effects(effects).await?,
            Event::ZonesChanged => self.refresh_world_entities().await?,
            // Handled by the loop, which must end the session.
            Event::Kick(_) => {}
        }
        Ok(())
    }

    /// Shows another player's mirrored look (`before` is what this client was shown, so effects
    /// that ended are removed).
    async fn show_appearance(
        &mut self,
        entity_id: i32,
        before: Option<&MirrorState>,
        now: Option<&MirrorState>,
    ) -> Result<(), SessionError> {
        self.out.feed(show::equipment(entity_id, now)).await?;
        self.out.feed(show::look(entity_id, now)).await?;
        let effects = |m: Option<&MirrorState>| m.map(|m| m.effects.clone()).unwrap_or_default();
        let (old, new) = (effects(before), effects(now));
        for gone in old
            .iter()
            .filter(|o| !new.iter().any(|n| n.effect == o.effect))
        {
            if let Some(packet) = show::remove_effect(entity_id, &gone.effect) {
                self.out.feed(packet).await?;
            }
        }
        for effect in &new {
            if let Some(packet) = show::effect(entity_id, effect) {
                self.out.feed(packet).await?;
            }
        }
        Ok(())
    }

    async fn item_taken(
        &mut self,
        item: i32,
        by: i32,
        amount: i32,
        left: i32,
    ) -> Result<(), SessionError> {
        if !self.shown_items.contains(&item) {
            return Ok(());
        }
        self.out
            .feed(ClientboundTakeItemEntity {
                item_id: u32::try_from(item).unwrap_or(0),
                player_id: MinecraftEntityId(by),
                amount: u32::try_from(amount).unwrap_or(0),
            })
            .await?;
        if left > 0 {
            // What is left lies there still, with its new count.
            let rest = self
                .shared
                .roster
                .book()
                .items()
                .find(|i| i.entity_id == item)
                .cloned();
            if let Some(rest) = rest {
                self.out.feed(show::ground_item(&rest).1).await?;
            }
            return Ok(());
        }
        self.shown_items.remove(&item);
        self.out
            .feed(ClientboundRemoveEntities {
                entity_ids: vec![MinecraftEntityId(item)],
            })
            .await
    }

    /// A copy of this player's state as the book has it.
    fn state(&self) -> Option<PlayerState> {
        self.shared
            .roster
            .book()
            .game(self.me.uuid)
            .map(|g| g.state.clone())
    }

    /// Sends the client the parts of its state named in `what`, health last.
    async fn show(&mut self, what: Show) -> Result<(), SessionError> {
        if what == Show::default() {
            return Ok(());
        }
        let Some(state) = self.state() else {
            return Ok(());
        };
        if what.held_slot {
            self.out
                .feed(ClientboundSetHeldSlot {
                    slot: u32::try_from(state.selected_slot).unwrap_or(0),
                })
                .await?;
        }
        // The game mode before the abilities: on the client, changing it resets them.
        if what.game_mode {
            self.out.feed(show::game_mode(state.game_mode)).await?;
        }
        if what.abilities {
            self.out.feed(show::abilities(&state.abilities)).await?;
        }
        if what.inventory {
            self.inventory_state_id = self.inventory_state_id.wrapping_add(1);
            self.out
                .feed(show::inventory(&state, self.inventory_state_id))
                .await?;
        }
        if what.experience {
            self.out.feed(show::experience(&state)).await?;
        }
        if what.effects {
            let me = self.me.entity_id;
            let ended: Vec<String> = self
                .shown_effects
                .iter()
                .filter(|id| !state.effects.iter().any(|e| &e.effect == *id))
                .cloned()
                .collect();
            for id in ended {
                if let Some(packet) = show::remove_effect(me, &id) {
                    self.out.feed(packet).await?;
                }
            }
            for effect in &state.effects {
                if let Some(packet) = show::effect(me, effect) {
                    self.out.feed(packet).await?;
                }
            }
            self.shown_effects = state.effects.iter().map(|e| e.effect.clone()).collect();
        }
        if what.health {
            self.out.feed(show::health(&state)).await?;
        }
        Ok(())
    }

    /// Carries out what a change to the shared state calls for: the move, the client's view of
    /// its state, then the answers on the link (so the proxy hears "applied" after the client
    /// was sent what was applied).
    async fn apply_effects(&mut self, effects: Effects) -> Result<(), SessionError> {
        let mut report = false;
        match effects.moved {
            Moved::No => {}
            Moved::Relocated => {
                self.follow_book();
                self.update_view(false).await?;
            }
            Moved::Teleported { report: wanted } => {
                self.follow_book();
                self.teleport(self.me.position).await?;
                self.update_view(false).await?;
                report = wanted;
            }
        }
        self.show(effects.show).await?;
        if let Some([x, y, z]) = effects.knockback {
            // Vanilla adds knockback to the velocity it knows; this server does not track the
            // client's, so the knockback becomes the velocity.
            self.out
                .feed(ClientboundSetEntityMotion {
                    id: MinecraftEntityId(self.me.entity_id),
                    delta: LpVec3::from_vec3(Vec3 { x, y, z }),
                })
                .await?;
        }
        if !effects.resend.is_empty() {
            self.resend_chunks(&effects.resend).await?;
        }
        if report && let Some(state) = self.state() {
            let msg = Message::PositionReport(PositionReport {
                player: self.me.uuid,
                location: state.location,
                on_ground: self.me.on_ground,
            });
            self.send_sync(&msg).await?;
        }
        for msg in &effects.replies {
            self.send_sync(msg).await?;
        }
        Ok(())
    }

    /// Takes the position the book has for this player (after a teleport or an applied state).
    fn follow_book(&mut self) {
        if let Some(state) = self.state() {
            let l = state.location;
            self.me.position = [l.x, l.y, l.z];
            self.me.yaw = l.yaw;
            self.me.pitch = l.pitch;
        }
    }

    /// Sends a sync message on this link, as fragments if it is large. One that cannot be sent
    /// yet (before the handshake) is logged and dropped: there is nobody to tell.
    async fn send_sync(&mut self, msg: &Message) -> Result<(), SessionError> {
        match self.link.prepare(msg) {
            Ok(payloads) => {
                for payload in payloads {
                    self.send_payload(sync::CHANNEL, payload.to_vec()).await?;
                }
            }
            Err(e) => {
                tracing::warn!(backend = %self.shared.config.id, player = %self.me.name, "not sending {:?} on meridian:sync: {e}", msg.kind());
            }
        }
        Ok(())
    }

    async fn send_payload(&mut self, channel: &str, data: Vec<u8>) -> Result<(), SessionError> {
        self.out
            .feed(ClientboundCustomPayload {
                identifier: Identifier::new(channel),
                data: UnsizedByteArray::from(data),
            })
            .await
    }

    async fn on_custom_payload(&mut self, channel: &str, data: &[u8]) -> Result<(), SessionError> {
        let now = Instant::now();
        if channel == sync::REGISTER_CHANNEL {
            if let Some(hello) = self.link.on_register(data, now) {
                for payload in hello {
                    self.send_payload(sync::CHANNEL, payload.to_vec()).await?;
                }
            }
            return Ok(());
        }
        if channel != sync::CHANNEL {
            return Ok(());
        }
        match self.link.receive(data, &self.shared.sync, now) {
            Received::Nothing | Received::Established => Ok(()),
            Received::Message(msg) => {
                let effects = handler::handle(self.shared, self.me.uuid, *msg);
                self.apply_effects(effects).await
            }
            Received::Broken { reject, reason } => {
                for payload in reject {
                    self.send_payload(sync::CHANNEL, payload.to_vec()).await?;
                }
                self.fail(&reason).await
            }
        }
    }

    async fn on_timer(&mut self) -> Result<(), SessionError> {
        let now = Instant::now();
        if now
            >= self
                .keep_alive
                .deadline(self.shared.config.keep_alive_timeout)
        {
            self.on_keep_alive_timer().await?;
        }
        match self.link.on_timer(now) {
            Timer::Nothing => Ok(()),
            Timer::HandshakeTimedOut => {
                let reason = format!(
                    "meridian:sync: no Welcome from the proxy within {} s",
                    self.shared.config.sync_handshake_timeout.as_secs_f64()
                );
                self.fail(&reason).await
            }
            Timer::Heartbeat => {
                let online = self.shared.roster.book().online();
                let beat = self.link.heartbeat(&self.shared.sync, online, now);
                self.send_sync(&beat).await
            }
        }
    }

    async fn system_chat(&mut self, line: String) -> Result<(), SessionError> {
        self.out
            .feed(ClientboundSystemChat {
                content: FormattedText::from(line),
                overlay: false,
            })
            .await
    }

    async fn on_frame(&mut self, frame: RawFrame) -> Result<(), SessionError> {
        let id = frame.id();
        // Decode only what we act on: a packet we ignore can never end the session over a
        // decoding gap.
        let wanted = matches!(
            id,
            ids::ACCEPT_TELEPORTATION
                | ids::ATTACK
                | ids::INTERACT
                | ids::CHAT
                | ids::CHAT_COMMAND
                | ids::CHAT_COMMAND_SIGNED
                | ids::CUSTOM_PAYLOAD
                | ids::KEEP_ALIVE
                | ids::MOVE_PLAYER_POS
                | ids::MOVE_PLAYER_POS_ROT
                | ids::MOVE_PLAYER_ROT
                | ids::MOVE_PLAYER_STATUS_ONLY
                | ids::PING_REQUEST
                | ids::PLAYER_ACTION
                | ids::USE_ITEM_ON
                | ids::USE_ITEM
        );
        if !wanted {
            return Ok(());
        }
        let bytes = frame.into_packet().map_err(ConnError::from)?;
        if let Some(entity_id) = attack_target(&bytes) {
            self.record_action(ActionRecord::Entity {
                by: self.me.uuid,
                entity_id,
            });
            return Ok(());
        }
        match decode_packet::<ServerboundGamePacket>(&bytes)? {
            ServerboundGamePacket::AcceptTeleportation(p)
                if self.pending_teleport == Some(p.id) =>
            {
                self.pending_teleport = None;
            }
            ServerboundGamePacket::KeepAlive(p)
                if self.keep_alive.pending.is_some_and(|(id, _)| id == p.id) =>
            {
                self.keep_alive.pending = None;
            }
            ServerboundGamePacket::Chat(p) => {
                if p.message.chars().any(|c| c.is_control() || c == '§') {
                    return self.fail("Illegal characters in chat").await;
                }
                self.shared
                    .roster
                    .chat(format!("{}: {}", self.me.name, p.message));
            }
            ServerboundGamePacket::ChatCommand(p) => self.command(&p.command).await?,
            ServerboundGamePacket::ChatCommandSigned(p) => self.command(&p.command).await?,
            // As vanilla does: the same value straight back (the client's ping in the debug
            // screen; the benchmark times the swap with it).
            ServerboundGamePacket::PingRequest(p) => {
                self.out
                    .feed(ClientboundPongResponse { time: p.time })
                    .await?
            }
            ServerboundGamePacket::CustomPayload(p) => {
                self.on_custom_payload(&p.identifier.to_string(), &p.data)
                    .await?
            }
            // The world is read-only: answer a dig or a placement with the block as it is, so the
            // client's prediction is undone, and acknowledge the sequence it waits for.
            // Never reached: `attack_target` reads attacks first (see there).
            ServerboundGamePacket::Attack(_) => {}
            ServerboundGamePacket::Interact(p) => self.record_action(ActionRecord::Entity {
                by: self.me.uuid,
                entity_id: p.entity_id.0,
            }),
            ServerboundGamePacket::PlayerAction(p) => {
                self.record_action(ActionRecord::Block {
                    by: self.me.uuid,
                    position: [p.pos.x, p.pos.y, p.pos.z],
                });
                if matches!(
                    p.action,
                    Action::StartDestroyBlock
                        | Action::StopDestroyBlock
                        | Action::AbortDestroyBlock
                ) {
                    self.restore_block(p.pos).await?;
                }
                self.out
                    .feed(ClientboundBlockChangedAck { seq: p.seq })
                    .await?;
            }
            ServerboundGamePacket::UseItemOn(p) => {
                let pos = p.block_hit.block_pos;
                self.record_action(ActionRecord::Block {
                    by: self.me.uuid,
                    position: [pos.x, pos.y, pos.z],
                });
                self.restore_block(p.block_hit.block_pos).await?;
                self.restore_block(
                    p.block_hit
                        .block_pos
                        .offset_with_direction(p.block_hit.direction),
                )
                .await?;
                self.out
                    .feed(ClientboundBlockChangedAck { seq: p.seq })
                    .await?;
            }
            ServerboundGamePacket::UseItem(p) => {
                self.out
                    .feed(ClientboundBlockChangedAck { seq: p.seq })
                    .await?
            }
            ServerboundGamePacket::MovePlayerPos(p) => {
                self.moved(Some(p.pos), None, p.flags.on_ground).await?
            }
            ServerboundGamePacket::MovePlayerPosRot(p) => {
                self.moved(Some(p.pos), Some(p.look_direction), p.flags.on_ground)
                    .await?
            }
            ServerboundGamePacket::MovePlayerRot(p) => {
                self.moved(None, Some(p.look_direction), p.flags.on_ground)
                    .await?
            }
            ServerboundGamePacket::MovePlayerStatusOnly(p) => {
                self.moved(None, None, p.flags.on_ground).await?
            }
            _ => {}
        }
        Ok(())
    }

    async fn restore_block(&mut self, pos: BlockPos) -> Result<(), SessionError> {
        if !self.loaded.contains(&(pos.x >> 4, pos.z >> 4)) {
            return Ok(());
        }
        self.out
            .feed(ClientboundBlockUpdate {
                pos,
                block_state: block_at(pos.y),
            })
            .await
    }

    async fn command(&mut self, line: &str) -> Result<(), SessionError> {
        let reply = {
            let mut book = self.shared.roster.book();
            match book.game_mut(self.me.uuid) {
                Some(game) => commands::execute(line, &self.shared.config.id, game),
                // Only between a replacing login and this connection's end.
                None => return Ok(()),
            }
        };
        // The inventory first, so the answer arrives after what it describes.
        if reply.inventory_changed {
            self.show(Show {
                inventory: true,
                ..Show::default()
            })
            .await?;
        }
        self.system_chat(reply.text).await
    }

    /// Accepts the client's movement as it is: this backend never corrects a player.
    async fn moved(
        &mut self,
        pos: Option<Vec3>,
        look: Option<LookDirection>,
        on_ground: bool,
    ) -> Result<(), SessionError> {
        if let Some(pos) = pos {
            let valid = [pos.x, pos.y, pos.z]
                .iter()
                .all(|v| v.is_finite() && v.abs() < 3.0e7);
            if !valid {
                return self.fail("Invalid move player packet received").await;
            }
            self.me.position = [pos.x, pos.y, pos.z];
        }
        if let Some(look) = look {
            if !(look.y_rot().is_finite() && look.x_rot().is_finite()) {
                return self.fail("Invalid move player packet received").await;
            }
            self.me.yaw = look.y_rot();
            self.me.pitch = look.x_rot();
        }
        self.me.on_ground = on_ground;
        self.shared.roster.moved(
            self.me.uuid,
            self.me.position,
            self.me.yaw,
            self.me.pitch,
            on_ground,
        );
        self.update_view(false).await
    }

    async fn on_keep_alive_timer(&mut self) -> Result<(), SessionError> {
        let now = Instant::now();
        let timeout = self.shared.config.keep_alive_timeout;
        if let Some((_, sent)) = self.keep_alive.pending {
            if now >= sent + timeout {
                let reason = format!(
                    "Timed out: no keep-alive answer within {} s",
                    timeout.as_secs_f64()
                );
                return self.fail(&reason).await;
            }
            return Ok(());
        }
        self.keep_alive.counter = self.keep_alive.counter.wrapping_add(1);
        let id = self.keep_alive.counter;
        self.keep_alive.pending = Some((id, now));
        self.keep_alive.next_send = now + self.keep_alive.interval;
        self.out.feed(ClientboundKeepAlive { id }).await
    }

    /// Disconnects the client for something it did wrong, ending the session with an error.
    async fn fail(&mut self, reason: &str) -> Result<(), SessionError> {
        self.kick(reason.to_owned()).await?;
        Err(SessionError::Kicked(reason.to_owned()))
    }

    /// Sends a disconnect; the caller ends the session.
    async fn kick(&mut self, reason: String) -> Result<(), SessionError> {
        tracing::info!(backend = %self.shared.config.id, name = %self.me.name, %reason, "disconnecting player");
        self.out
            .feed(ClientboundDisconnect {
                reason: FormattedText::from(reason),
            })
            .await?;
        self.out.flush().await
    }
}

fn tab_add(entries: Vec<PlayerInfoEntry>) -> ClientboundPlayerInfoUpdate {
    ClientboundPlayerInfoUpdate {
        actions: ActionEnumSet {
            add_player: true,
            initialize_chat: false,
            update_game_mode: true,
            update_listed: true,
            update_latency: true,
            update_display_name: false,
            update_list_order: false,
            update_hat: false,
        },
        entries,
    }
}

/// `forget_level_chunk`, by hand: azalea 0.16 encodes a `ChunkPos` as `x as u64 | z << 32`,
/// whose sign extension turns every negative x into z = -1. Vanilla masks x to 32 bits.
fn forget_level_chunk(x: i32, z: i32) -> Vec<u8> {
    let mut packet = Vec::with_capacity(9);
    write_varint(&mut packet, game_ids::FORGET_LEVEL_CHUNK);
    packet.put_i64((i64::from(z) << 32) | (i64::from(x) & 0xffff_ffff));
    packet
}

fn marker_packet(marker: &MarkerEntity) -> ClientboundAddEntity {
    ClientboundAddEntity {
        id: MinecraftEntityId(marker.id),
        uuid: marker.uuid,
        entity_type: marker.kind,
        position: vec3(marker.position),
        movement: LpVec3::Zero,
        x_rot: 0,
        y_rot: 0,
        y_head_rot: 0,
        data: 0,
    }
}

fn vec3([x, y, z]: [f64; 3]) -> Vec3 {
    Vec3 { x, y, z }
}

/// Degrees to the protocol's 1/256 turns.
fn angle(degrees: f32) -> i8 {
    ((degrees * 256.0 / 360.0).floor() as i32) as i8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forget_level_chunk_masks_negative_x() {
        use azalea_protocol::packets::game::ClientboundGamePacket as P;
        for (x, z) in [(-7, 3), (5, -2), (-1, -1), (i32::MIN, i32::MAX)] {
            let P::ForgetLevelChunk(p) = decode_packet::<P>(&forget_level_chunk(x, z)).unwrap()
            else {
                panic!("not a forget_level_chunk");
            };
            assert_eq!((p.pos.x, p.pos.z), (x, z));
        }
    }

    #[test]
    fn angles_wrap() {
        assert_eq!(angle(0.0), 0);
        assert_eq!(angle(90.0), 64);
        assert_eq!(angle(180.0), -128);
        assert_eq!(angle(-90.0), -64);
        assert_eq!(angle(450.0), 64);
    }
}
