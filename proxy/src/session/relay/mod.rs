//! Configuration and play: one client, one primary link and any number of dummy links.
//!
//! One task runs the whole session as a single loop over the client's frames, every link's
//! frames, dummy logins finishing, commands and shutdown. Each wake-up drains every frame already
//! buffered on that connection, routes them, and flushes each destination once, so a burst costs
//! one write system call per destination rather than one per packet.
//!
//! Routing decisions are the pure functions of [`crate::routing`] and [`crate::view`]; entity ids
//! are rewritten by [`crate::entities`]. This module only moves frames and keeps the state those
//! functions need; the `rezone` submodule follows changes of the zone map, and the `control`
//! submodule gathers the rare events (shutdown, commands, zone changes, the liveness tick), and
//! `inputs` reads everything the session reads, polling only what woke it (`wakeups`).

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    pin::Pin,
    sync::{Arc, atomic::Ordering},
    task::{Context, Poll, ready},
};

use azalea_protocol::packets::{Packet, config, game};
use bytes::BytesMut;
use futures_util::{Sink, SinkExt};
use meridian_wire::{
    FrameCodec, FrameError, RawFrame,
    conn::{
        ClientConfig, FrameWriter, ServerConfig, close_gracefully, decode_packet, encode_packet,
    },
    ids::{config as config_ids, game::clientbound as cb, game::serverbound as sb},
    varint::{read_varint, write_varint},
};
use sync_plugin_protocol::{self as sync, ApplyOutcome, Message};
use tokio::{
    sync::mpsc,
    task::{JoinError, JoinSet},
    time::{Instant, Sleep, sleep_until, timeout},
};
use tokio_stream::wrappers::WatchStream;
use tokio_util::{codec::Encoder, sync::CancellationToken};
use tracing::{debug, info, warn};
use zoning::{ChunkPos, ServerId};

mod control;
mod inputs;
mod rezone;
mod wakeups;

use control::{Control, Controls};
use inputs::{Input, Inputs};

use super::{
    link::{self, Identity, Joined},
    login::KICK_WRITE_TIMEOUT,
    sync::{self as link_sync, LinkSync, Received},
};
use crate::{
    entities::{self, EntityMap, IdHash, LinkId, Rewritten, Target},
    error::{BackendError, ClientError, SessionError},
    metrics::Direction,
    mirror::MirrorTracker,
    routing::{self, Clientbound, Phase, Serverbound},
    state::{Player, ProxyState, Server, SessionCommand},
    view::{self, ChunkPacket, ChunkView},
    zones::ZoneView,
};

/// Frames handled per wake-up before flushing, so one busy connection cannot starve the rest.
const MAX_BATCH: usize = 128;
/// The dimension zones are looked up in until the proxy tracks dimension changes.
const OVERWORLD: &str = "minecraft:overworld";
/// How often the session looks for peers that went silent.
const LIVENESS_TICK: std::time::Duration = std::time::Duration::from_secs(1);
/// Interactions held back during a handoff; more than this abandons the handoff rather than
/// buffering without bound.
const MAX_QUEUED: usize = 1024;

/// How a session ended.
#[derive(Debug)]
enum End {
    ClientLeft,
    /// The primary's backend disconnected the player, for this reason.
    BackendKicked(String),
    Kick(String),
    Shutdown,
}

/// A link's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Primary,
    Dummy,
}

/// The write side of a link and what the session knows about it.
struct Link {
    server: Arc<Server>,
    role: Role,
    tx: FrameWriter,
    /// The phase of what the backend sends.
    phase: Phase,
    /// Frames queued since the last flush.
    dirty: bool,
    /// The `meridian:sync` conversation on this link.
    sync: LinkSync,
    /// When the proxy asked the backend to open that conversation.
    registered_at: Option<Instant>,
    /// When a frame last arrived from it.
    heard: LastHeard,
    /// The zone epoch last assigned to its backend on this link.
    assigned_epoch: Option<i64>,
    /// Counts this link among its backend's sync links while its conversation is open.
    sync_counted: Option<SyncLinkCount>,
}

/// One established sync conversation with a backend, for as long as the link lives.
struct SyncLinkCount(Arc<Server>);

impl SyncLinkCount {
    fn new(server: Arc<Server>) -> Self {
        server.sync_links.fetch_add(1, Ordering::AcqRel);
        Self(server)
    }
}

impl Drop for SyncLinkCount {
    fn drop(&mut self) {
        self.0.sync_links.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Whether a link can take part in a handoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SyncReadiness {
    Ready,
    /// Asked, and the backend may still answer.
    Pending,
    /// The backend does not speak the sync channel (or its conversation broke).
    Absent,
}

impl Link {
    /// Queues a frame or packet bytes on this link (written out with the batch); whether its
    /// queue is now full.
    fn queue<I>(&mut self, item: I) -> Result<bool, SessionError>
    where
        FrameCodec: Encoder<I, Error = FrameError>,
    {
        self.dirty = true;
        self.tx
            .queue(item)
            .map_err(|e| SessionError::backend(&self.server.id, e))?;
        Ok(self.tx.is_full())
    }

    fn sync_readiness(&self) -> SyncReadiness {
        if self.sync.is_established() {
            SyncReadiness::Ready
        } else if self.sync.is_broken() {
            SyncReadiness::Absent
        } else {
            match self.registered_at {
                Some(at) if at.elapsed() < sync::HANDSHAKE_TIMEOUT => SyncReadiness::Pending,
                Some(_) => SyncReadiness::Absent,
                None => SyncReadiness::Pending,
            }
        }
    }
}

/// A handoff under way: the player's state moves from `from` to `to` before `to` becomes primary.
struct Handoff {
    transfer_id: uuid::Uuid,
    from: LinkId,
    to: LinkId,
    epoch: i64,
    awaiting: Awaiting,
    deadline: Instant,
    started: Instant,
    /// Client packets for the primary, held until the handoff ends either way.
    queue: Vec<RawFrame>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Awaiting {
    Snapshot,
    Applied,
}

/// What the session loop handles next.
enum Event {
    Input(Input),
    /// A dummy login finished, either way.
    Joined(Result<(Arc<Server>, Result<Joined, BackendError>), JoinError>),
    HandoffTimedOut,
}

/// What the session loop must `.await` next; batches that need no `.await` never come back
/// to it (see [`Session::poll_step`]).
enum Step {
    Control(Control),
    /// The client's connection ended: closed, or broken.
    ClientGone(meridian_wire::ConnError),
    /// A client batch stopped at a frame that needs an `.await`.
    Client(Stop, Batch),
    /// A backend's batch stopped at a frame that needs an `.await`.
    Link(LinkId, Stop, Batch),
    /// A batch changed mirrored state: the dummies hear of it before the write-out.
    Mirror,
    /// A dummy login finished, either way.
    Joined(Result<(Arc<Server>, Result<Joined, BackendError>), JoinError>),
    HandoffTimedOut,
}

/// Where routing a batch of frames from one source stopped (see [`Session::run`]).
enum Stop {
    /// Nothing more is buffered, the batch is at its limit, or the source is gone (for one
    /// frame: it needs nothing more).
    Drained,
    /// A queue reached its boundary: write out, then go on.
    Full,
    /// A backend's frame needs more than routing (an answer, a sync message, a phase change,
    /// the session's end): for [`Session::on_link_frame`].
    Later(RawFrame),
    /// The player moved far enough into this link's zone to swap to it.
    Swap(LinkId),
    /// A handoff holds more interactions than it may: give it up, then route this frame.
    Overflow(routing::Destination, RawFrame),
}

/// What one batch carried, for the metrics.
#[derive(Default)]
struct Batch {
    packets: u64,
    bytes: u64,
}

impl Batch {
    fn add(&mut self, frame: &RawFrame) {
        self.packets += 1;
        self.bytes += frame.packet_len() as u64;
    }

    fn is_full(&self) -> bool {
        self.packets as usize >= MAX_BATCH
    }
}

/// When a peer was last heard from, to the precision of the liveness tick. Its reader notes
/// that bytes arrived (`FrameReader::take_heard`), in fields every read writes anyway: a clock
/// read per batch was a visible share of a packet's cost, and a store here a cache miss.
struct LastHeard {
    at: Instant,
}

impl LastHeard {
    fn new() -> Self {
        Self { at: Instant::now() }
    }

    /// At a liveness tick (`now`), told whether the peer spoke since the last one: how long it
    /// has been silent, counted from the tick after it was last heard.
    fn silent_for(&mut self, now: Instant, heard: bool) -> std::time::Duration {
        if heard {
            self.at = now;
        }
        now.saturating_duration_since(self.at)
    }
}

/// Keeps a server's player count true however the session ends.
struct OnServer(Arc<Server>);

impl Drop for OnServer {
    fn drop(&mut self) {
        self.0.players.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Session {
    state: Arc<ProxyState>,
    player: Arc<Player>,
    identity: Identity,
    /// The client's frames, every link's frames and the controls.
    inputs: Inputs,
    client_tx: FrameWriter,
    /// What the client sends (its phase) and what it is sent.
    up_phase: Phase,
    down_phase: Phase,
    links: HashMap<LinkId, Link, IdHash>,
    primary: LinkId,
    next_link: u16,
    /// Dummy logins under way, by server id.
    joining: JoinSet<(Arc<Server>, Result<Joined, BackendError>)>,
    /// The login task of each, so a task that panicked frees its server for another try.
    joining_servers: HashMap<String, tokio::task::Id>,
    chunks: ChunkView,
    entities: EntityMap,
    /// Entities a link added that the client is not shown (another backend owns their place).
    hidden: HashSet<(LinkId, i32), IdHash>,
    /// Which link asked each keep-alive the client will answer.
    keep_alives: HashMap<u64, LinkId, IdHash>,
    /// The client's own `client_information` (configuration state), replayed to dummies.
    client_information: Option<Vec<u8>>,
    position: Option<[f64; 3]>,
    chunk: Option<ChunkPos>,
    view_distance: u32,
    on_primary_server: OnServer,
    /// Grows with every swap; fences `SetRole` and `ApplyState` on the backends.
    role_epoch: i64,
    handoff: Option<Handoff>,
    /// Fires at the handoff's deadline; built only while a handoff is under way.
    handoff_timer: Option<Pin<Box<Sleep>>>,
    /// The primary's visible state, mirrored onto every dummy.
    mirror: MirrorTracker,
    /// Packets for the client decided where no `.await` is possible (closing a link); sent
    /// before anything else at the next flush.
    client_backlog: Vec<Vec<u8>>,
    /// Where a packet is read or rewritten (see `packet_of`).
    packet_buffer: BytesMut,
    /// A writer's queue reached its boundary: write out before queuing more (see `relieve`).
    writers_full: bool,
    /// Some link has frames queued (its `dirty`).
    links_dirty: bool,
    /// A batch is routed and its write-out under way (see `poll_step`).
    writing_out: bool,
    /// When a frame last arrived from the client.
    client_heard: LastHeard,
    /// The zones as this session routes by them (the newest view it has taken).
    zones: Arc<ZoneView>,
}

/// A player the login admitted: who, as whom backends are to see them, and their command queue.
#[derive(Debug)]
pub struct Admitted {
    pub player: Arc<Player>,
    pub identity: Identity,
    pub commands: mpsc::Receiver<SessionCommand>,
    /// The backend of the primary link.
    pub server: Arc<Server>,
}

pub async fn run(
    state: Arc<ProxyState>,
    client: ServerConfig,
    backend: ClientConfig,
    admitted: Admitted,
    shutdown: CancellationToken,
) -> Result<(), SessionError> {
    let player_uuid = admitted.player.uuid;
    let Admitted {
        player,
        identity,
        commands,
        server,
    } = admitted;
    server.players.fetch_add(1, Ordering::Relaxed);
    let (client_rx, client_tx) = client.into_split();
    let (backend_rx, backend_tx) = backend.into_split();
    let primary = LinkId(0);
    let mut links = HashMap::default();
    links.insert(
        primary,
        Link {
            server: server.clone(),
            role: Role::Primary,
            tx: backend_tx,
            phase: Phase::Config,
            dirty: false,
            sync: LinkSync::new(player.uuid),
            registered_at: None,
            heard: LastHeard::new(),
            assigned_epoch: None,
            sync_counted: None,
        },
    );
    // Subscribed before the first view is read, so no change can fall in between.
    let zone_receiver = state.zones.subscribe();
    let zones = zone_receiver.borrow().clone();
    let read_timeout = state.config.limits.read_timeout();
    // One coarse tick checks every peer for silence, rather than a timer per read.
    let mut liveness = tokio::time::interval(LIVENESS_TICK.min(read_timeout));
    liveness.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let controls = Controls::new(
        shutdown.cancelled_owned(),
        commands,
        WatchStream::from_changes(zone_receiver),
        liveness,
    );
    let mut inputs = Inputs::new(controls, client_rx);
    inputs.add_link(primary, backend_rx);
    let mut session = Session {
        zones,
        state: state.clone(),
        player,
        identity,
        inputs,
        client_tx,
        up_phase: Phase::Config,
        down_phase: Phase::Config,
        links,
        primary,
        next_link: 1,
        joining: JoinSet::new(),
        joining_servers: HashMap::new(),
        chunks: ChunkView::default(),
        entities: EntityMap::new(),
        hidden: HashSet::default(),
        keep_alives: HashMap::default(),
        client_information: None,
        position: None,
        chunk: None,
        view_distance: 0,
        on_primary_server: OnServer(server),
        role_epoch: 1,
        handoff: None,
        handoff_timer: None,
        mirror: MirrorTracker::new(player_uuid),
        client_backlog: Vec::new(),
        packet_buffer: BytesMut::new(),
        writers_full: false,
        links_dirty: false,
        writing_out: false,
        client_heard: LastHeard::new(),
    };
    let end = session.run(read_timeout).await;
    // Boxed for the reason `on_step` is.
    let finish: Pin<Box<dyn Future<Output = _> + Send>> = Box::pin(session.finish(end));
    finish.await
}

impl Session {
    async fn run(&mut self, read_timeout: std::time::Duration) -> Result<End, SessionError> {
        loop {
            if !self.client_backlog.is_empty() {
                self.flush_client().await?;
            }
            let step = std::future::poll_fn(|cx| self.poll_step(cx)).await?;
            if let Some(end) = self.on_step(step, read_timeout).await? {
                return Ok(end);
            }
        }
    }

    /// Handles what [`Self::poll_step`] could not: everything that needs an `.await`. Rare,
    /// and out of line (boxed, behind a `dyn`): inlined, its states' locals made the stack
    /// frame of every poll of the session 24 KiB, six pages probed per wake-up.
    fn on_step(
        &mut self,
        step: Step,
        read_timeout: std::time::Duration,
    ) -> Pin<Box<dyn Future<Output = Result<Option<End>, SessionError>> + Send + '_>> {
        Box::pin(async move {
            match step {
                Step::Control(control) => match control {
                    Control::Shutdown => return Ok(Some(End::Shutdown)),
                    Control::Command(Some(SessionCommand::Kick(message))) => {
                        return Ok(Some(End::Kick(message)));
                    }
                    Control::Command(None) => return Ok(Some(End::Kick("Disconnected".into()))),
                    Control::LivenessTick => self.check_liveness(read_timeout)?,
                    Control::Zones(view) => {
                        self.on_zones_changed(view).await?;
                        self.flush_client().await?;
                        self.flush_links().await?;
                    }
                },
                Step::ClientGone(e) if e.is_closed() => return Ok(Some(End::ClientLeft)),
                Step::ClientGone(e) => return Err(ClientError::from(e).into()),
                Step::Client(mut stop, mut batch) => {
                    while !matches!(stop, Stop::Drained) {
                        match stop {
                            Stop::Swap(next) => self.swap_to(next).await?,
                            Stop::Overflow(destination, frame) => {
                                self.abandon_handoff("too many interactions queued").await?;
                                self.route_client_frame(destination, frame)?;
                            }
                            // Full: a client frame never comes back `Later`.
                            _ => self.write_out().await?,
                        }
                        stop = self.route_client_batch(None, &mut batch)?;
                    }
                    self.batch_forwarded(Direction::serverbound, &batch);
                    self.end_batch().await?;
                }
                Step::Link(link, mut stop, mut batch) => {
                    while !matches!(stop, Stop::Drained) {
                        if let Stop::Later(frame) = stop {
                            if let Some(end) = self.on_link_frame(link, frame).await? {
                                self.flush_client().await?;
                                return Ok(Some(end));
                            }
                        } else {
                            // Full: a backend's frame never asks for a swap.
                            self.write_out().await?;
                        }
                        stop = self.route_link_batch(link, None, &mut batch)?;
                    }
                    self.batch_forwarded(Direction::clientbound, &batch);
                    self.end_batch().await?;
                }
                Step::Mirror => self.end_batch().await?,
                Step::Joined(Ok((server, result))) => self.on_dummy_joined(server, result).await?,
                // The login task panicked: nothing to open, and the server may be tried again.
                Step::Joined(Err(e)) => {
                    warn!("dummy link login failed: {e}");
                    self.joining_servers.retain(|_, task| *task != e.id());
                }
                Step::HandoffTimedOut => self.abandon_handoff("timed out").await?,
            }
            Ok(None)
        })
    }

    /// Routes and writes out every batch that needs no `.await`, until something does (see
    /// [`Step`]) or nothing is ready. This runs for nearly every frame, so frames stay on the
    /// stack: moved through the session's future instead, each one was written into state that
    /// a thousand other sessions had pushed out of the cache since this one last ran.
    fn poll_step(&mut self, cx: &mut Context<'_>) -> Poll<Result<Step, SessionError>> {
        loop {
            if self.writing_out {
                ready!(self.poll_write_out(cx))?;
                self.writing_out = false;
            }
            let (direction, batch) = match ready!(self.poll_event(cx)) {
                Event::Input(Input::Client(Ok(frame))) => {
                    let mut batch = Batch::default();
                    let stop = self.route_client_batch(Some(frame), &mut batch)?;
                    if !matches!(stop, Stop::Drained) {
                        return Poll::Ready(Ok(Step::Client(stop, batch)));
                    }
                    (Direction::serverbound, batch)
                }
                Event::Input(Input::Link(link, frame)) => {
                    let mut batch = Batch::default();
                    let stop = self.route_link_batch(link, Some(frame), &mut batch)?;
                    if !matches!(stop, Stop::Drained) {
                        return Poll::Ready(Ok(Step::Link(link, stop, batch)));
                    }
                    (Direction::clientbound, batch)
                }
                Event::Input(Input::Client(Err(e))) => return Poll::Ready(Ok(Step::ClientGone(e))),
                Event::Input(Input::Control(control)) => {
                    return Poll::Ready(Ok(Step::Control(control)));
                }
                Event::Joined(joined) => return Poll::Ready(Ok(Step::Joined(joined))),
                Event::HandoffTimedOut => return Poll::Ready(Ok(Step::HandoffTimedOut)),
            };
            self.batch_forwarded(direction, &batch);
            // Checked here, not in `end_batch`'s callee: most batches change no mirrored state.
            if self.mirror.is_dirty() {
                return Poll::Ready(Ok(Step::Mirror));
            }
            self.writing_out = true;
        }
    }

    fn batch_forwarded(&self, direction: Direction, batch: &Batch) {
        self.state
            .metrics
            .forwarded(direction, batch.packets, batch.bytes);
    }

    /// What woke the session: a dummy login or the handoff's deadline while there is one
    /// (rare, so polled only then), else an input.
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Event> {
        if !self.joining.is_empty()
            && let Poll::Ready(Some(joined)) = self.joining.poll_join_next(cx)
        {
            return Poll::Ready(Event::Joined(joined));
        }
        match self.handoff.as_ref().map(|h| h.deadline) {
            Some(deadline) => {
                let timer = self
                    .handoff_timer
                    .get_or_insert_with(|| Box::pin(sleep_until(deadline)));
                if timer.deadline() != deadline {
                    timer.as_mut().reset(deadline);
                }
                if timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Event::HandoffTimedOut);
                }
            }
            None => self.handoff_timer = None,
        }
        self.inputs.poll_next(cx).map(Event::Input)
    }

    /// Tells the client why the session ended (when there is someone to tell) and closes.
    async fn finish(mut self, end: Result<End, SessionError>) -> Result<(), SessionError> {
        let (message, result) = match end {
            Ok(End::ClientLeft) => {
                return Err(ClientError::Conn(meridian_wire::ConnError::Closed).into());
            }
            Ok(End::BackendKicked(reason)) => {
                let server = &self.links[&self.primary].server.id;
                debug!(%server, %reason, "backend disconnected the player");
                (
                    Some(format!("Disconnected from {server}: {reason}")),
                    Ok(()),
                )
            }
            Ok(End::Kick(message)) => (Some(message), Ok(())),
            Ok(End::Shutdown) => (Some("The proxy is shutting down".to_owned()), Ok(())),
            Err(SessionError::Backend { server, source }) => {
                let message = format!("Lost connection to server {server}: {source}");
                (Some(message), Err(SessionError::Backend { server, source }))
            }
            // The client broke the session; there is nobody to tell.
            Err(e) => return Err(e),
        };
        if let Some(message) = message {
            let packet = match self.down_phase {
                Phase::Play => encode_packet(
                    &game::ClientboundDisconnect {
                        reason: message.as_str().into(),
                    }
                    .into_variant(),
                ),
                Phase::Config => encode_packet(
                    &config::ClientboundDisconnect {
                        reason: message.as_str().into(),
                    }
                    .into_variant(),
                ),
            };
            if let Ok(packet) = packet {
                let _ = timeout(KICK_WRITE_TIMEOUT, self.client_tx.send(&packet[..])).await;
            }
        }
        close_gracefully(
            self.inputs.client_mut(),
            &mut self.client_tx,
            KICK_WRITE_TIMEOUT,
        )
        .await;
        result
    }

    // ----- client → backends -------------------------------------------------------------

    /// Routes the client's frames, `first` then whatever else is buffered, until the batch is
    /// over or a frame needs an `.await` (see [`Stop`]); `None` goes on with the batch after
    /// such a stop. No `.await` here: this runs for every frame the client sends.
    fn route_client_batch(
        &mut self,
        first: Option<RawFrame>,
        batch: &mut Batch,
    ) -> Result<Stop, SessionError> {
        let mut next = first;
        loop {
            if next.is_none() && self.writers_full {
                return Ok(Stop::Full);
            }
            if next.is_none() && !batch.is_full() {
                next = match self.inputs.client_now() {
                    Some(Ok(frame)) => Some(frame),
                    // Closed: forward what we have; the next poll reports it.
                    Some(Err(e)) if e.is_closed() => None,
                    Some(Err(e)) => return Err(ClientError::from(e).into()),
                    None => None,
                };
            }
            let Some(frame) = next.take() else {
                return Ok(Stop::Drained);
            };
            batch.add(&frame);
            let stop = self.on_client_frame(frame)?;
            if !matches!(stop, Stop::Drained) {
                return Ok(stop);
            }
        }
    }

    /// After a batch from either side: the dummies' mirror, then everything queued written out
    /// (one write per peer that got anything).
    async fn end_batch(&mut self) -> Result<(), SessionError> {
        // Checked here, not in the callee: an async call costs its state even when it has
        // nothing to do, and most batches change no mirrored state.
        if self.mirror.is_dirty() {
            self.mirror_to_dummies().await?;
        }
        self.write_out().await
    }

    /// Routes and queues a client frame; what it still needs comes back (`Drained` when
    /// nothing).
    fn on_client_frame(&mut self, frame: RawFrame) -> Result<Stop, SessionError> {
        let id = frame.id();
        if self.up_phase == Phase::Play && MirrorTracker::reads_serverbound(id) {
            let packet = self.packet_of(&frame).map_err(ClientError::from)?;
            self.mirror.on_serverbound(id, &packet);
            self.keep_packet_buffer(packet);
        }
        if self.up_phase == Phase::Config {
            if id == config_ids::serverbound::CLIENT_INFORMATION {
                self.client_information = Some(frame.packet().map_err(ClientError::from)?.to_vec());
            }
            match routing::serverbound(Phase::Config, id, frame.head_fields()) {
                Serverbound::Drop(why) => debug!(packet = id, "dropped: {why}"),
                Serverbound::ForwardAndEnter(phase) => {
                    self.up_phase = phase;
                    self.queue_to(self.primary, frame)?;
                }
                _ => self.queue_to(self.primary, frame)?,
            }
            return Ok(Stop::Drained);
        }
        match routing::serverbound(Phase::Play, id, frame.head_fields()) {
            Serverbound::Drop(why) => {
                debug!(packet = id, "dropped: {why}");
                return Ok(Stop::Drained);
            }
            Serverbound::ForwardAndEnter(phase) => {
                self.up_phase = phase;
                self.queue_to(self.primary, frame)?;
                return Ok(Stop::Drained);
            }
            Serverbound::ForwardMove(pos) => {
                self.queue_to_all(frame)?;
                self.place_player(pos);
                return Ok(self.swap_target(pos).map_or(Stop::Drained, Stop::Swap));
            }
            Serverbound::Forward => {}
        }
        let destination = routing::serverbound_destination(id);
        if destination != routing::Destination::AllLinks
            && let Some(handoff) = &mut self.handoff
        {
            if handoff.queue.len() < MAX_QUEUED {
                handoff.queue.push(frame);
                return Ok(Stop::Drained);
            }
            return Ok(Stop::Overflow(destination, frame));
        }
        self.route_client_frame(destination, frame)?;
        Ok(Stop::Drained)
    }

    fn route_client_frame(
        &mut self,
        destination: routing::Destination,
        frame: RawFrame,
    ) -> Result<(), SessionError> {
        let id = frame.id();
        match destination {
            routing::Destination::AllLinks => self.queue_to_all(frame),
            routing::Destination::Primary => {
                if id == sb::KEEP_ALIVE
                    && let Some(link) =
                        keep_alive_id(frame.head_fields()).and_then(|k| self.keep_alives.remove(&k))
                {
                    return self.queue_to(link, frame);
                }
                self.queue_to(self.primary, frame)
            }
            routing::Destination::BlockOwner => {
                let link = routing::block_position(id, frame.head_fields())
                    .and_then(|(x, z)| self.link_owning(ChunkPos::new(x >> 4, z >> 4)))
                    .unwrap_or(self.primary);
                self.queue_to(link, frame)
            }
            routing::Destination::EntityOwner => self.route_entity_action(id, frame),
        }
    }

    /// Routes the client frames a handoff held back, once it has ended either way.
    async fn route_held(&mut self, held: Vec<RawFrame>) -> Result<(), SessionError> {
        for frame in held {
            let destination = routing::serverbound_destination(frame.id());
            self.route_client_frame(destination, frame)?;
            self.relieve().await?;
        }
        Ok(())
    }

    /// Sends an action on an entity to the link that showed that entity, with its id mapped back.
    fn route_entity_action(&mut self, id: i32, frame: RawFrame) -> Result<(), SessionError> {
        let mut packet = frame.into_packet().map_err(ClientError::from)?;
        match entities::rewrite_serverbound(&self.entities, id, &mut packet) {
            Ok(Target::NoEntity) => self.queue_to(self.primary, &packet[..]),
            Ok(Target::Link { link, .. }) => self.queue_to(link, &packet[..]),
            Ok(Target::OwnPlayer) => {
                let targets: Vec<LinkId> = self.play_links().collect();
                for link in targets {
                    let mut copy = packet.clone();
                    if entities::rewrite_for_player_link(&self.entities, link, id, &mut copy)
                        .is_ok()
                    {
                        self.queue_to(link, &copy[..])?;
                    }
                }
                Ok(())
            }
            Ok(Target::Unknown { client_id }) => {
                debug!(
                    packet = id,
                    client_id, "dropped: names an entity the client was never shown"
                );
                Ok(())
            }
            Err(e) => Err(ClientError::Protocol(format!("malformed entity action: {e}")).into()),
        }
    }

    /// The player is at `pos` (moved, or teleported by the primary): links follow the view.
    fn place_player(&mut self, pos: [f64; 3]) {
        self.player.set_position(pos);
        self.position = Some(pos);
        let chunk = ChunkPos::from_block(pos[0], pos[2]);
        if self.chunk != Some(chunk) {
            self.chunk = Some(chunk);
            self.update_links();
        }
    }

    /// Swaps now if the player's known position calls for it: for when what held a swap back
    /// (a link logging in, a sync conversation, a handoff, the zone map) changes without the
    /// player moving. Boxed: it is reached from within a swap.
    async fn swap_if_due(&mut self) -> Result<(), SessionError> {
        match self
            .position
            .and_then(|position| self.swap_target(position))
        {
            Some(next) => Box::pin(self.swap_to(next)).await,
            None => Ok(()),
        }
    }

    /// Opens dummy links to owners that came into view and closes those that left it (with the
    /// zoning crate's hysteresis).
    fn update_links(&mut self) {
        let Some(chunk) = self.chunk else { return };
        if self.view_distance == 0 {
            return;
        }
        let linked: Vec<ServerId> = self.links.values().map(|l| l.server.key.clone()).collect();
        let mut wanted = Vec::new();
        zoning::links_wanted(
            self.zones.map(),
            OVERWORLD,
            chunk,
            self.view_distance,
            &linked,
            &mut wanted,
        );
        let primary_server = self.links[&self.primary].server.id.clone();
        for owner in &wanted {
            let id = owner.as_str();
            if id == primary_server
                || self.joining_servers.contains_key(id)
                || self.links.values().any(|l| l.server.id == id)
            {
                continue;
            }
            let Some(server) = self.state.server(id).cloned() else {
                continue;
            };
            let state = self.state.clone();
            let identity = self.identity.clone();
            let info = self.client_information.clone();
            debug!(server = id, "opening a dummy link");
            let task = self.joining.spawn(async move {
                let result = link::join_dummy(&state, &server, &identity, info.as_deref()).await;
                (server, result)
            });
            self.joining_servers.insert(id.to_owned(), task.id());
        }
        let unwanted: Vec<LinkId> = self
            .links
            .iter()
            .filter(|(_, l)| {
                l.role == Role::Dummy && !wanted.iter().any(|w| w.as_str() == l.server.id)
            })
            .map(|(id, _)| *id)
            .collect();
        for link in unwanted {
            debug!(server = %self.links[&link].server.id, "closing a dummy link: out of view");
            self.close_link(link);
        }
        self.publish_links();
    }

    async fn on_dummy_joined(
        &mut self,
        server: Arc<Server>,
        result: Result<Joined, BackendError>,
    ) -> Result<(), SessionError> {
        self.joining_servers.remove(&server.id);
        let joined = match result {
            Ok(joined) => joined,
            Err(e) => {
                warn!(server = %server.id, "dummy link failed: {e}");
                self.state.metrics.error(e.kind());
                return Ok(());
            }
        };
        let link = LinkId(self.next_link);
        self.next_link = self.next_link.wrapping_add(1).max(1);
        if let Err(e) = self.entities.login(link, joined.player_entity_id) {
            warn!(server = %server.id, "dummy link refused: {e}");
            return Ok(());
        }
        let mut dummy = Link {
            server: server.clone(),
            role: Role::Dummy,
            tx: joined.writer,
            phase: Phase::Play,
            dirty: false,
            sync: LinkSync::new(self.player.uuid),
            registered_at: Some(Instant::now()),
            heard: LastHeard::new(),
            assigned_epoch: None,
            sync_counted: None,
        };
        // Ask the backend to open the sync conversation; a backend without the plugin ignores it.
        dummy.queue(&link_sync::register_packet()[..])?;
        // Stand the dummy where the player stands.
        if let Some(position) = self.position {
            dummy.queue(&routing::move_packet(position)[..])?;
        }
        self.links_dirty = true;
        info!(server = %server.id, "dummy link open");
        self.links.insert(link, dummy);
        self.inputs.add_link(link, joined.reader);
        self.publish_links();
        // The view may have moved on while the link was logging in.
        self.update_links();
        self.flush_links().await?;
        // A swap may have waited for this link (after a re-zoning, the player need not move).
        self.swap_if_due().await
    }

    // ----- backends → client -------------------------------------------------------------

    /// Routes `link`'s frames, `first` then whatever else is buffered, until the batch is over
    /// or a frame needs an `.await` (see [`Stop`]); `None` goes on with the batch after such a
    /// stop. No `.await` here: this runs for nearly every frame a backend sends.
    fn route_link_batch(
        &mut self,
        link: LinkId,
        first: Option<Result<RawFrame, FrameError>>,
        batch: &mut Batch,
    ) -> Result<Stop, SessionError> {
        let mut next = first;
        loop {
            if next.is_none() && self.writers_full {
                return Ok(Stop::Full);
            }
            // A link closed meanwhile (by one of its frames) has no reader any more: `link_now`
            // says `None`, and the batch ends.
            if next.is_none() && !batch.is_full() {
                next = self.inputs.link_now(link);
            }
            let frame = match next.take() {
                None => return Ok(Stop::Drained),
                Some(Ok(frame)) => frame,
                Some(Err(e)) => {
                    self.link_failed(link, e.into())?;
                    return Ok(Stop::Drained);
                }
            };
            batch.add(&frame);
            let stop = self.route_link_frame(link, frame)?;
            if !matches!(stop, Stop::Drained) {
                return Ok(stop);
            }
        }
    }

    /// A peer silent for longer than the read timeout is gone: vanilla servers send a keep-alive
    /// every 15 s and clients answer, so silence means a dead connection, not a quiet player.
    fn check_liveness(&mut self, limit: std::time::Duration) -> Result<(), SessionError> {
        let now = Instant::now();
        let heard = self.inputs.client_heard();
        if self.client_heard.silent_for(now, heard) > limit {
            return Err(ClientError::Timeout("in play: the client sent nothing").into());
        }
        let inputs = &mut self.inputs;
        let silent: Vec<LinkId> = self
            .links
            .iter_mut()
            .filter_map(|(id, l)| {
                (l.heard.silent_for(now, inputs.link_heard(*id)) > limit).then_some(*id)
            })
            .collect();
        for link in silent {
            self.link_failed(link, BackendError::Silent(limit))?;
        }
        Ok(())
    }

    /// A link's connection ended or broke.
    fn link_failed(
        &mut self,
        link: LinkId,
        error: BackendError,
    ) -> Result<Option<End>, SessionError> {
        let server = self
            .links
            .get(&link)
            .map(|l| l.server.id.clone())
            .unwrap_or_default();
        if link == self.primary {
            return Err(SessionError::backend(&server, error));
        }
        warn!(%server, "dummy link lost: {error}");
        self.close_link(link);
        self.publish_links();
        Ok(None)
    }

    /// Routes and queues a backend's frame without an `.await` (this runs for nearly every
    /// frame), unless it needs more than routing: then it comes back `Later`, for
    /// [`Self::on_link_frame`].
    fn route_link_frame(&mut self, link: LinkId, frame: RawFrame) -> Result<Stop, SessionError> {
        let Some(current) = self.links.get(&link) else {
            return Ok(Stop::Drained);
        };
        let (role, phase) = (current.role, current.phase);
        let id = frame.id();
        let later = phase == Phase::Config
            || match id {
                cb::DISCONNECT | cb::START_CONFIGURATION => true,
                cb::LOGIN => role == Role::Primary,
                cb::CUSTOM_PAYLOAD => is_reserved_payload(&frame),
                _ => role == Role::Dummy && routing::answered_for_dummies(id),
            };
        if later {
            return Ok(Stop::Later(frame));
        }
        self.forward_link_frame(link, role, id, frame)?;
        Ok(Stop::Drained)
    }

    /// A backend's frame that needs more than routing (see [`Self::route_link_frame`]).
    async fn on_link_frame(
        &mut self,
        link: LinkId,
        frame: RawFrame,
    ) -> Result<Option<End>, SessionError> {
        let Some(current) = self.links.get(&link) else {
            return Ok(None);
        };
        let (role, phase) = (current.role, current.phase);
        let id = frame.id();
        if phase == Phase::Config {
            // Only a primary is ever in configuration with the client listening.
            return match routing::clientbound(Phase::Config, id) {
                Clientbound::Disconnect => Ok(Some(End::BackendKicked(disconnect_reason(
                    Phase::Config,
                    frame,
                )))),
                Clientbound::ForwardAndEnter(p) => {
                    self.set_link_phase(link, p);
                    self.down_phase = p;
                    self.send_to_client(frame).await.map(|()| None)
                }
                Clientbound::Forward => self.send_to_client(frame).await.map(|()| None),
            };
        }
        match id {
            cb::DISCONNECT => {
                if role == Role::Primary {
                    return Ok(Some(End::BackendKicked(disconnect_reason(
                        Phase::Play,
                        frame,
                    ))));
                }
                warn!(server = %current.server.id, reason = %disconnect_reason(Phase::Play, frame), "dummy link kicked");
                self.close_link(link);
                self.publish_links();
                return Ok(None);
            }
            cb::START_CONFIGURATION => {
                if role == Role::Primary {
                    self.set_link_phase(link, Phase::Config);
                    self.down_phase = Phase::Config;
                    return self.send_to_client(frame).await.map(|()| None);
                }
                debug!(server = %current.server.id, "dummy link asked to reconfigure; closing it");
                self.close_link(link);
                self.publish_links();
                return Ok(None);
            }
            // Only the proxy speaks `meridian:` with a backend; the client never hears it.
            cb::CUSTOM_PAYLOAD if is_reserved_payload(&frame) => {
                let packet = frame
                    .into_packet()
                    .map_err(|e| self.backend_error(link, e))?;
                let fields = &packet[meridian_wire::varint::varint_len(id)..];
                if let Some(payload) = link_sync::sync_payload(fields) {
                    self.on_sync_payload(link, payload).await?;
                }
                return Ok(None);
            }
            cb::LOGIN if role == Role::Primary => {
                let packet = frame
                    .into_packet()
                    .map_err(|e| self.backend_error(link, e))?;
                self.primary_login(link, &packet)?;
                self.send_packet_to(link, &link_sync::register_packet())
                    .await?;
                if let Some(l) = self.links.get_mut(&link) {
                    l.registered_at = Some(Instant::now());
                }
                return self.send_packet_to_client(&packet).await.map(|()| None);
            }
            _ => {}
        }
        if role == Role::Dummy
            && let Some(answer) = routing::dummy_answer(id, frame.head_fields())
        {
            // Keep-alives, pings, teleports and chunk batches of a dummy are the proxy's to answer.
            self.send_packet_to(link, &answer).await?;
            if id == cb::PLAYER_POSITION {
                self.put_dummy_back(link, routing::teleport_position(frame.head_fields()))
                    .await?;
            }
            return Ok(None);
        }
        self.forward_link_frame(link, role, id, frame)?;
        Ok(None)
    }

    /// What the client is shown of a backend's frame: chunks and entities from the backend
    /// that owns their place, everything else from the primary.
    fn forward_link_frame(
        &mut self,
        link: LinkId,
        role: Role,
        id: i32,
        frame: RawFrame,
    ) -> Result<(), SessionError> {
        match id {
            cb::PLAYER_POSITION if role == Role::Primary => {
                if let Some(pos) = routing::teleport_position(frame.head_fields()) {
                    self.place_player(pos);
                }
            }
            cb::KEEP_ALIVE if role == Role::Primary => {
                if let Some(k) = keep_alive_id(frame.head_fields()) {
                    self.keep_alives.insert(k, link);
                }
            }
            _ => {}
        }
        match view::chunk_packet(id, frame.head_fields()) {
            Ok(Some(ChunkPacket::Load(pos))) => {
                if self.shows_chunk_from(link, pos) {
                    self.chunks.loaded(pos, link);
                    return self.queue_to_client(frame);
                }
                return Ok(());
            }
            Ok(Some(ChunkPacket::Unload(pos))) => {
                if self.chunks.unload(pos, link) {
                    return self.queue_to_client(frame);
                }
                return Ok(());
            }
            Ok(Some(ChunkPacket::Update(pos))) => {
                if self.shows_chunk_from(link, pos) {
                    return self.queue_to_client(frame);
                }
                return Ok(());
            }
            Ok(None) => {}
            Err(_) => {
                debug!(packet = id, "dropped: truncated chunk packet");
                return Ok(());
            }
        }
        if entities::clientbound_carries_ids(id) {
            return self.forward_entity_packet(link, role, id, frame);
        }
        if role == Role::Primary {
            if MirrorTracker::reads_clientbound(id) {
                let packet = self
                    .packet_of(&frame)
                    .map_err(|e| self.backend_error(link, e))?;
                self.mirror.on_clientbound(id, &packet);
                self.keep_packet_buffer(packet);
            }
            self.queue_to_client(frame)?;
        }
        Ok(())
    }

    /// The primary's `login`: fix the player's entity id and learn the view distance.
    fn primary_login(&mut self, link: LinkId, packet: &[u8]) -> Result<(), SessionError> {
        let server = self.links[&link].server.id.clone();
        let login = match decode_packet::<game::ClientboundGamePacket>(packet) {
            Ok(game::ClientboundGamePacket::Login(login)) => login,
            _ => {
                return Err(SessionError::backend(
                    &server,
                    BackendError::Protocol("malformed login packet".into()),
                ));
            }
        };
        self.entities
            .login(link, login.player_id.0 as i32)
            .map_err(|e| SessionError::backend(&server, BackendError::Protocol(e.to_string())))?;
        self.view_distance = login.chunk_radius;
        if let Some(own) = self.entities.player() {
            self.mirror.set_own_entity_id(own);
        }
        Ok(())
    }

    /// Whether the client should see `pos` as `link` sends it: from the zone's owner, or from the
    /// primary where no zone says.
    fn shows_chunk_from(&self, link: LinkId, pos: ChunkPos) -> bool {
        match self.zones.map().zone_at_chunk(OVERWORLD, pos) {
            Some(zone) => self
                .links
                .get(&link)
                .is_some_and(|l| l.server.id == zone.owner.as_str()),
            None => link == self.primary,
        }
    }

    /// The open link to the owner of `pos`, if any.
    fn link_owning(&self, pos: ChunkPos) -> Option<LinkId> {
        let owner = &self.zones.map().zone_at_chunk(OVERWORLD, pos)?.owner;
        self.links
            .iter()
            .find(|(_, l)| l.phase == Phase::Play && l.server.id == owner.as_str())
            .map(|(id, _)| *id)
    }

    fn forward_entity_packet(
        &mut self,
        link: LinkId,
        role: Role,
        id: i32,
        frame: RawFrame,
    ) -> Result<(), SessionError> {
        let mut packet = self
            .packet_of(&frame)
            .map_err(|e| self.backend_error(link, e))?;
        // A compressed packet whose ids stay as they are goes out as it came, rather than
        // compressed a second time.
        let original = frame.is_compressed().then_some(frame);
        let result = self.forward_entity(link, role, id, &mut packet, original);
        self.keep_packet_buffer(packet);
        result
    }

    /// `frame`'s whole packet, in the buffer the session keeps for reading and rewriting packets
    /// (entity packets are a good part of the traffic): a small packet costs no allocation.
    /// Hand the buffer back with [`Self::keep_packet_buffer`].
    fn packet_of(&mut self, frame: &RawFrame) -> Result<BytesMut, FrameError> {
        let mut packet = std::mem::take(&mut self.packet_buffer);
        frame.packet_into(&mut packet)?;
        Ok(packet)
    }

    /// Keeps `packet`'s buffer for the next packet, unless a rare large packet grew it: an idle
    /// player holds small buffers.
    fn keep_packet_buffer(&mut self, mut packet: BytesMut) {
        if packet.capacity() <= KEPT_PACKET_BUFFER {
            packet.clear();
            self.packet_buffer = packet;
        }
    }

    fn forward_entity(
        &mut self,
        link: LinkId,
        role: Role,
        id: i32,
        packet: &mut BytesMut,
        original: Option<RawFrame>,
    ) -> Result<(), SessionError> {
        if id == cb::ADD_ENTITY {
            let fields = &packet[meridian_wire::varint::varint_len(id)..];
            let Ok((backend_id, _)) = read_varint(fields) else {
                return Ok(());
            };
            let shown = match view::add_entity_position(fields) {
                Ok([x, _, z]) => self.shows_chunk_from(link, ChunkPos::from_block(x, z)),
                Err(_) => false,
            };
            if !shown {
                self.hidden.insert((link, backend_id));
                return Ok(());
            }
            // Hidden while another backend owned its place, shown again now that this one does.
            self.hidden.remove(&(link, backend_id));
        } else if let Some(backend_id) = leading_entity_id(id, packet) {
            if self.hidden.contains(&(link, backend_id)) {
                return Ok(());
            }
            // A dummy only shows entities it added; anything else of its is not for the client.
            if role == Role::Dummy
                && !self
                    .entities
                    .get(link, backend_id)
                    .is_some_and(|client| self.entities.is_shown(client))
                && Some(backend_id) != self.entities.player_backend_id(link)
            {
                return Ok(());
            }
        }
        if id == cb::REMOVE_ENTITIES {
            for backend_id in removed_ids(packet) {
                self.hidden.remove(&(link, backend_id));
            }
        }
        match entities::rewrite_clientbound(&mut self.entities, link, id, packet) {
            Ok(Rewritten::Drop) => Ok(()),
            Ok(rewritten) => {
                // In client ids, as the tracker knows the player.
                if role == Role::Primary && MirrorTracker::reads_clientbound(id) {
                    self.mirror.on_clientbound(id, packet);
                }
                match original {
                    Some(frame) if rewritten == Rewritten::Unchanged => self.queue_to_client(frame),
                    _ => self.queue_to_client(&packet[..]),
                }
            }
            Err(e) => {
                debug!(packet = id, "dropped: {e}");
                Ok(())
            }
        }
    }

    // ----- the swap ----------------------------------------------------------------------

    /// The link to make primary with the player at `pos`: the owner of that position once the
    /// player is inside its zone by more than the margin, if its dummy link is in play and no
    /// handoff is under way.
    fn swap_target(&self, [x, _, z]: [f64; 3]) -> Option<LinkId> {
        if self.handoff.is_some() {
            return None;
        }
        let primary_server = &self.links[&self.primary].server.key;
        let margin = self.state.config.zones.swap_margin;
        let zone = zoning::swap_target(self.zones.map(), primary_server, OVERWORLD, x, z, margin)?;
        // Not linked yet (still logging in): the swap happens on a later move.
        self.links
            .iter()
            .find(|(_, l)| {
                l.role == Role::Dummy
                    && l.phase == Phase::Play
                    && l.server.id == zone.owner.as_str()
            })
            .map(|(id, _)| *id)
    }

    /// Swaps to `next` (the [`Self::swap_target`]): by a handoff of the player's state when
    /// both backends speak the sync channel and their conversations are open.
    async fn swap_to(&mut self, next: LinkId) -> Result<(), SessionError> {
        let primary_server = self.links[&self.primary].server.key.clone();
        let target = self.links[&next].server.id.clone();
        let readiness = (
            self.links[&self.primary].sync_readiness(),
            self.links[&next].sync_readiness(),
        );
        match readiness {
            (SyncReadiness::Ready, SyncReadiness::Ready) => {}
            // A conversation is still opening: swap once it is (or once it is known absent).
            (SyncReadiness::Pending, _) | (_, SyncReadiness::Pending) => return Ok(()),
            _ => {
                // Without the sync plugin on both sides nothing can carry the player's state;
                // swap the view anyway so the player is not stuck at the border, and say so.
                warn!(
                    from = %primary_server,
                    to = %target,
                    "swapping without a state handoff: a backend lacks the sync channel"
                );
                return self.make_primary(next).await;
            }
        }
        let handoff = Handoff {
            transfer_id: uuid::Uuid::new_v4(),
            from: self.primary,
            to: next,
            epoch: self.role_epoch + 1,
            awaiting: Awaiting::Snapshot,
            deadline: Instant::now() + sync::HANDOFF_TIMEOUT,
            started: Instant::now(),
            queue: Vec::new(),
        };
        let request = Message::StateRequest(sync::StateRequest {
            transfer_id: handoff.transfer_id,
            player: self.player.uuid,
        });
        debug!(from = %primary_server, to = %target, transfer = %handoff.transfer_id, "handoff started");
        self.handoff = Some(handoff);
        self.send_sync(self.primary, &request).await
    }

    /// A dummy's backend teleported it: if that is not where the player is, put it back, so the
    /// dummy keeps standing where the player stands.
    async fn put_dummy_back(
        &mut self,
        link: LinkId,
        moved_to: Option<[f64; 3]>,
    ) -> Result<(), SessionError> {
        let Some([x, y, z]) = self.position else {
            return Ok(());
        };
        let far = moved_to.is_none_or(|[tx, ty, tz]| {
            (tx - x).abs() > 0.5 || (ty - y).abs() > 0.5 || (tz - z).abs() > 0.5
        });
        if !far {
            return Ok(());
        }
        if self
            .links
            .get(&link)
            .is_some_and(|l| l.sync.is_established())
        {
            let location = sync::Location {
                dimension: OVERWORLD.to_owned(),
                x,
                y,
                z,
                yaw: 0.0,
                pitch: 0.0,
            };
            let message = Message::TeleportDummy(sync::TeleportDummy {
                player: self.player.uuid,
                location,
            });
            return self.send_sync(link, &message).await;
        }
        // Without the sync channel, a movement packet is the only way to say where it stands.
        self.send_packet_to(link, &routing::move_packet([x, y, z]))
            .await
    }

    /// Makes `next` the primary: what the client sees of UI, chat and the player now comes from it.
    async fn make_primary(&mut self, next: LinkId) -> Result<(), SessionError> {
        let previous = self.primary;
        if let Some(l) = self.links.get_mut(&previous) {
            l.role = Role::Dummy;
        }
        if let Some(l) = self.links.get_mut(&next) {
            l.role = Role::Primary;
        }
        self.primary = next;
        // The new primary shows the player's inventory and effects afresh; rebuild from those.
        self.mirror.reset();
        let new_server = self.links[&next].server.clone();
        new_server.players.fetch_add(1, Ordering::Relaxed);
        self.on_primary_server = OnServer(new_server.clone());
        info!(to = %new_server.id, "swapped primary");
        self.publish_links();
        self.update_links();
        Ok(())
    }

    async fn on_sync_payload(&mut self, link: LinkId, payload: &[u8]) -> Result<(), SessionError> {
        let Some(l) = self.links.get_mut(&link) else {
            return Ok(());
        };
        match l.sync.receive(payload) {
            Ok(Received::Nothing) => Ok(()),
            Ok(Received::Unreadable(why)) => {
                warn!(server = %l.server.id, "dropped an unreadable sync payload: {why}");
                self.state.metrics.error("backend_sync_unreadable");
                Ok(())
            }
            Ok(Received::Established(reply)) => {
                l.sync_counted = Some(SyncLinkCount::new(l.server.clone()));
                if let Some(reply) = reply {
                    self.send_sync(link, &reply).await?;
                }
                self.send_assignment(link).await?;
                let role = if link == self.primary {
                    sync::Role::Primary
                } else {
                    sync::Role::Dummy
                };
                self.set_role(link, role, self.role_epoch).await?;
                if role == sync::Role::Dummy
                    && let Some([x, y, z]) = self.position
                {
                    let location = sync::Location {
                        dimension: OVERWORLD.to_owned(),
                        x,
                        y,
                        z,
                        yaw: 0.0,
                        pitch: 0.0,
                    };
                    self.send_sync(
                        link,
                        &Message::TeleportDummy(sync::TeleportDummy {
                            player: self.player.uuid,
                            location,
                        }),
                    )
                    .await?;
                }
                if role == sync::Role::Dummy {
                    let look = Message::MirrorState(self.mirror.state());
                    self.send_sync(link, &look).await?;
                }
                // A swap may have waited for this conversation.
                self.swap_if_due().await
            }
            Ok(Received::Message(message)) => self.on_sync_message(link, message).await,
            Err(e) => {
                // The conversation is over on this link; the player plays on without it.
                warn!(server = %l.server.id, "sync channel broken: {e}");
                self.state.metrics.error("backend_sync");
                if self
                    .handoff
                    .as_ref()
                    .is_some_and(|h| h.from == link || h.to == link)
                {
                    self.abandon_handoff("sync channel broken").await?;
                }
                Ok(())
            }
        }
    }

    async fn on_sync_message(
        &mut self,
        link: LinkId,
        message: Message,
    ) -> Result<(), SessionError> {
        match message {
            Message::Heartbeat(_) => {
                if let Some(l) = self.links.get(&link) {
                    l.server.online.store(true, Ordering::Relaxed);
                }
                Ok(())
            }
            Message::ZonesApplied(applied) => {
                if let Some(l) = self.links.get(&link) {
                    debug!(server = %l.server.id, epoch = applied.epoch, "zones applied");
                    self.state.zones.applied(&l.server, applied.epoch);
                }
                Ok(())
            }
            Message::StateSnapshot(snapshot) => {
                let Some(h) = self.handoff.as_mut().filter(|h| {
                    h.from == link
                        && h.awaiting == Awaiting::Snapshot
                        && h.transfer_id == snapshot.transfer_id
                }) else {
                    debug!("ignored a late or unexpected state snapshot");
                    return Ok(());
                };
                h.awaiting = Awaiting::Applied;
                h.deadline = Instant::now() + sync::HANDOFF_TIMEOUT;
                let (to, apply) = (
                    h.to,
                    Message::ApplyState(sync::ApplyState {
                        transfer_id: h.transfer_id,
                        player: self.player.uuid,
                        epoch: h.epoch,
                        state: snapshot.state,
                    }),
                );
                self.send_sync(to, &apply).await
            }
            Message::StateRefused(refused) => {
                if self
                    .handoff
                    .as_ref()
                    .is_some_and(|h| h.from == link && h.transfer_id == refused.transfer_id)
                {
                    self.abandon_handoff(&format!(
                        "refused by the old primary: {}",
                        refused.reason
                    ))
                    .await?;
                }
                Ok(())
            }
            Message::StateApplied(applied) => {
                if !self.handoff.as_ref().is_some_and(|h| {
                    h.to == link
                        && h.awaiting == Awaiting::Applied
                        && h.transfer_id == applied.transfer_id
                }) {
                    debug!("ignored a late or unexpected state acknowledgement");
                    return Ok(());
                }
                match applied.outcome {
                    ApplyOutcome::Applied | ApplyOutcome::AlreadyApplied => {
                        self.complete_handoff().await
                    }
                    ApplyOutcome::Refused { reason } => {
                        self.abandon_handoff(&format!("refused by the new primary: {reason}"))
                            .await
                    }
                }
            }
            // Whatever a dummy's backend did to the ghost is the primary's to apply, once.
            relayed @ (Message::RelayDamage(_)
            | Message::RelayKnockback(_)
            | Message::RelayEffect(_)) => {
                if link != self.primary {
                    self.send_sync(self.primary, &relayed).await?;
                }
                Ok(())
            }
            other => {
                debug!(message = ?other.kind(), "sync message not handled by the proxy");
                Ok(())
            }
        }
    }

    /// The new primary has the player's state: swap roles and deliver what was held back.
    async fn complete_handoff(&mut self) -> Result<(), SessionError> {
        let Some(h) = self.handoff.take() else {
            return Ok(());
        };
        self.role_epoch = h.epoch;
        self.set_role(h.to, sync::Role::Primary, h.epoch).await?;
        self.set_role(h.from, sync::Role::Dummy, h.epoch).await?;
        self.make_primary(h.to).await?;
        self.state.metrics.handoff(true, h.started.elapsed());
        self.route_held(h.queue).await?;
        // The map may have moved the player's zone again while the handoff ran.
        self.swap_if_due().await
    }

    /// The handoff failed: the old primary stays primary, unfrozen, and gets what was held back.
    async fn abandon_handoff(&mut self, why: &str) -> Result<(), SessionError> {
        let Some(h) = self.handoff.take() else {
            return Ok(());
        };
        self.role_epoch = h.epoch;
        let to = self
            .links
            .get(&h.to)
            .map_or("?", |l| l.server.id.as_str())
            .to_owned();
        warn!(to = %to, transfer = %h.transfer_id, "handoff abandoned: {why}");
        self.state.metrics.handoff(false, h.started.elapsed());
        // Unfreeze the old primary: it stays primary.
        self.set_role(h.from, sync::Role::Primary, h.epoch).await?;
        self.route_held(h.queue).await
    }

    /// Sends the primary's look to every dummy whose conversation is open, when it changed.
    async fn mirror_to_dummies(&mut self) -> Result<(), SessionError> {
        let Some(look) = self.mirror.take_if_changed() else {
            return Ok(());
        };
        let message = Message::MirrorState(look);
        let dummies: Vec<LinkId> = self
            .links
            .iter()
            .filter(|(_, l)| l.role == Role::Dummy && l.sync.is_established())
            .map(|(id, _)| *id)
            .collect();
        for link in dummies {
            self.send_sync(link, &message).await?;
        }
        Ok(())
    }

    async fn set_role(
        &mut self,
        link: LinkId,
        role: sync::Role,
        epoch: i64,
    ) -> Result<(), SessionError> {
        let player = self.player.uuid;
        let message = Message::SetRole(sync::SetRole {
            player,
            role,
            epoch,
        });
        self.send_sync(link, &message).await
    }

    /// Sends a sync message on a link whose conversation is established (otherwise drops it).
    async fn send_sync(&mut self, link: LinkId, message: &Message) -> Result<(), SessionError> {
        let Some(l) = self.links.get(&link) else {
            return Ok(());
        };
        let packets = match l.sync.packets(message) {
            Ok(packets) => packets,
            Err(e) => {
                warn!(server = %l.server.id, "cannot send {:?} on the sync channel: {e}", message.kind());
                return Ok(());
            }
        };
        for packet in packets {
            self.send_packet_to(link, &packet).await?;
        }
        Ok(())
    }

    // ----- plumbing ----------------------------------------------------------------------

    fn backend_error(&self, link: LinkId, error: impl Into<BackendError>) -> SessionError {
        let server = self.links.get(&link).map_or("?", |l| l.server.id.as_str());
        SessionError::backend(server, error)
    }

    fn play_links(&self) -> impl Iterator<Item = LinkId> + '_ {
        self.links
            .iter()
            .filter(|(_, l)| l.phase == Phase::Play)
            .map(|(id, _)| *id)
    }

    fn set_link_phase(&mut self, link: LinkId, phase: Phase) {
        if let Some(l) = self.links.get_mut(&link) {
            l.phase = phase;
        }
    }

    /// Closes a dummy link: the client forgets its chunks and entities.
    fn close_link(&mut self, link: LinkId) {
        if link == self.primary {
            return;
        }
        if self.handoff.as_ref().is_some_and(|h| h.to == link) {
            // Its target is gone: the deadline branch abandons it at once.
            if let Some(h) = &mut self.handoff {
                h.deadline = Instant::now();
            }
        }
        self.links.remove(&link);
        self.inputs.remove_link(link);
        self.hidden.retain(|(l, _)| *l != link);
        for pos in self.chunks.drop_link(link) {
            self.client_backlog.push(view::forget_chunk_packet(pos));
        }
        let gone = self.entities.release_link(link);
        if !gone.is_empty() {
            let mut packet = Vec::with_capacity(2 + 5 * gone.len());
            write_varint(&mut packet, cb::REMOVE_ENTITIES);
            write_varint(&mut packet, gone.len() as i32);
            for id in gone {
                write_varint(&mut packet, id);
            }
            self.client_backlog.push(packet);
        }
    }

    /// Shows the links in `/api/players`.
    fn publish_links(&self) {
        let primary = self.links[&self.primary].server.id.clone();
        let mut dummies: Vec<String> = self
            .links
            .values()
            .filter(|l| l.role == Role::Dummy)
            .map(|l| l.server.id.clone())
            .collect();
        dummies.sort();
        self.player.set_links(primary, dummies);
    }

    /// Queues a frame or packet bytes on a link (written out with the batch); a link that has
    /// closed meanwhile gets nothing.
    fn queue_to<I>(&mut self, link: LinkId, item: I) -> Result<(), SessionError>
    where
        FrameCodec: Encoder<I, Error = FrameError>,
    {
        let Some(l) = self.links.get_mut(&link) else {
            return Ok(());
        };
        self.links_dirty = true;
        self.writers_full |= l.queue(item)?;
        Ok(())
    }

    /// Movement and input: every link in play gets a copy, so every dummy stands where the player
    /// stands.
    fn queue_to_all(&mut self, frame: RawFrame) -> Result<(), SessionError> {
        // No list of targets, and the last link takes the frame itself: this runs for every
        // movement packet.
        let mut left = self.play_links().count();
        let mut frame = Some(frame);
        for link in self.links.values_mut() {
            if link.phase != Phase::Play {
                continue;
            }
            left -= 1;
            let copy = if left > 0 {
                frame.clone()
            } else {
                frame.take()
            };
            if let Some(copy) = copy {
                self.links_dirty = true;
                self.writers_full |= link.queue(copy)?;
            }
        }
        Ok(())
    }

    fn queue_to_client<I>(&mut self, item: I) -> Result<(), SessionError>
    where
        FrameCodec: Encoder<I, Error = FrameError>,
    {
        self.client_tx.queue(item).map_err(ClientError::from)?;
        self.writers_full |= self.client_tx.is_full();
        Ok(())
    }

    /// Writes out the queues once one has reached its boundary, so that none grows past it by
    /// more than a frame: the backpressure `feed` would give, checked once per frame.
    async fn relieve(&mut self) -> Result<(), SessionError> {
        if self.writers_full {
            self.write_out().await?;
        }
        Ok(())
    }

    /// Writes out everything queued: the client's queue and every link's.
    async fn write_out(&mut self) -> Result<(), SessionError> {
        std::future::poll_fn(|cx| self.poll_write_out(cx)).await
    }

    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SessionError>> {
        ready!(self.poll_flush_client(cx))?;
        ready!(self.poll_flush_links(cx))?;
        self.writers_full = false;
        Poll::Ready(Ok(()))
    }

    async fn send_packet_to(&mut self, link: LinkId, packet: &[u8]) -> Result<(), SessionError> {
        self.queue_to(link, packet)?;
        self.relieve().await
    }

    async fn send_to_client(&mut self, frame: RawFrame) -> Result<(), SessionError> {
        self.queue_to_client(frame)?;
        self.relieve().await
    }

    async fn send_packet_to_client(&mut self, packet: &[u8]) -> Result<(), SessionError> {
        self.queue_to_client(packet)?;
        self.relieve().await
    }

    async fn flush_client(&mut self) -> Result<(), SessionError> {
        std::future::poll_fn(|cx| self.poll_flush_client(cx)).await
    }

    fn poll_flush_client(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SessionError>> {
        if !self.client_backlog.is_empty() {
            for packet in std::mem::take(&mut self.client_backlog) {
                self.client_tx
                    .queue(&packet[..])
                    .map_err(ClientError::from)?;
            }
        }
        Sink::<RawFrame>::poll_flush(Pin::new(&mut self.client_tx), cx)
            .map_err(|e| ClientError::from(e).into())
    }

    async fn flush_links(&mut self) -> Result<(), SessionError> {
        std::future::poll_fn(|cx| self.poll_flush_links(cx)).await
    }

    /// Writes out every link that has frames queued, side by side. A link whose write fails is
    /// closed (the primary's failure ends the session).
    fn poll_flush_links(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SessionError>> {
        if !self.links_dirty {
            return Poll::Ready(Ok(()));
        }
        let (mut failed, mut pending) = (Vec::new(), false);
        for (id, link) in self.links.iter_mut().filter(|(_, l)| l.dirty) {
            match Sink::<RawFrame>::poll_flush(Pin::new(&mut link.tx), cx) {
                Poll::Ready(Ok(())) => link.dirty = false,
                Poll::Ready(Err(e)) => {
                    link.dirty = false;
                    failed.push((*id, BackendError::from(e)));
                }
                Poll::Pending => pending = true,
            }
        }
        for (link, error) in failed {
            if let Some(end) = self.link_failed(link, error)? {
                debug!(?end, "link failure ended the session");
            }
        }
        if pending {
            return Poll::Pending;
        }
        self.links_dirty = false;
        Poll::Ready(Ok(()))
    }
}

/// The largest packet buffer a session keeps between packets.
const KEPT_PACKET_BUFFER: usize = 4 * 1024;

/// Whether a backend's `custom_payload` is on a channel only the proxy speaks (`meridian:`).
fn is_reserved_payload(frame: &RawFrame) -> bool {
    routing::plugin_channel(frame.head_fields())
        .is_some_and(|c| c.starts_with(routing::RESERVED_NAMESPACE))
}

/// The id of a keep-alive (clientbound or serverbound: the same single long).
fn keep_alive_id(fields: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(fields.get(..8)?.try_into().ok()?))
}

/// The entity id a clientbound packet starts with, for packets whose first field is one.
fn leading_entity_id(id: i32, packet: &BytesMut) -> Option<i32> {
    let fields = &packet[meridian_wire::varint::varint_len(id)..];
    match id {
        cb::ENTITY_EVENT | cb::SET_ENTITY_LINK => {
            Some(i32::from_be_bytes(fields.get(..4)?.try_into().ok()?))
        }
        cb::REMOVE_ENTITIES
        | cb::SET_PASSENGERS
        | cb::TAKE_ITEM_ENTITY
        | cb::PLAYER_COMBAT_KILL
        | cb::SOUND_ENTITY
        | cb::PLAYER_LOOK_AT
        | cb::BLOCK_DESTRUCTION => None,
        _ => read_varint(fields).ok().map(|(v, _)| v),
    }
}

/// The ids in a `remove_entities`.
fn removed_ids(packet: &BytesMut) -> Vec<i32> {
    let mut fields = &packet[meridian_wire::varint::varint_len(cb::REMOVE_ENTITIES)..];
    let Ok((count, n)) = read_varint(fields) else {
        return Vec::new();
    };
    fields = &fields[n..];
    let mut ids = Vec::new();
    for _ in 0..count.clamp(0, 4096) {
        let Ok((id, n)) = read_varint(fields) else {
            break;
        };
        ids.push(id);
        fields = &fields[n..];
    }
    ids
}

/// The plain text of a backend's disconnect packet.
fn disconnect_reason(phase: Phase, frame: RawFrame) -> String {
    let Ok(packet) = frame.into_packet() else {
        return "(unreadable reason)".to_owned();
    };
    let reason = match phase {
        Phase::Play => match decode_packet::<game::ClientboundGamePacket>(&packet) {
            Ok(game::ClientboundGamePacket::Disconnect(p)) => Some(p.reason.to_string()),
            _ => None,
        },
        Phase::Config => match decode_packet::<config::ClientboundConfigPacket>(&packet) {
            Ok(config::ClientboundConfigPacket::Disconnect(p)) => Some(p.reason.to_string()),
            _ => None,
        },
    };
    reason.unwrap_or_else(|| "(unreadable reason)".to_owned())
}
