//! Zone ownership as the proxy's sessions see it, and how it changes.
//!
//! The map comes from the config (the static store: moves made through the admin API live in
//! memory until the proxy stops) or from PostgreSQL (a move is a fenced transaction and a
//! [`ZoneWatcher`](meridian_store::ZoneWatcher) publishes every commit to every proxy). Either
//! way [`coordinate`] turns each new map into a [`ZoneView`] in two steps, so that no zone is
//! simulated by two backends at once:
//!
//! 1. *Release.* Sessions keep routing by the old map; every backend is told its zones under
//!    the new epoch (`ZoneAssignment`) except those gaining a zone, which are held back.
//! 2. *Grant.* Once every backend losing a zone has answered `ZonesApplied` for the new epoch
//!    on some link of this proxy (or has no sync link here, or [`RELEASE_TIMEOUT`] passed),
//!    sessions route by the new map and the gaining backends get their assignments; each
//!    session then swaps players standing in a moved zone to its new owner and asks that
//!    owner to resend what the client had from the old one (`ResendChunks`).
//!
//! Sessions hold an `Arc<ZoneView>` and look zones up without locking; a new view reaches
//! them through a `watch` channel.

use std::{
    sync::{Arc, OnceLock, atomic::Ordering},
    time::Duration,
};

use meridian_store::{PgZoneStore, StoreError};
use serde::Serialize;
use sync_plugin_protocol as sync;
use tokio::{
    sync::{Notify, mpsc, oneshot, watch},
    time::{Instant, sleep_until, timeout},
};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};
use zoning::{OwnerError, ServerId, Zone, ZoneMap};

use crate::state::ProxyState;

/// How long a grant waits for the old owners to confirm they let go; a backend that never
/// answers must not freeze the map.
pub const RELEASE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one move may take in the database, reconnection included.
const STORE_TIMEOUT: Duration = Duration::from_secs(10);

/// The zones as sessions use them at one moment.
#[derive(Debug, Clone)]
pub struct ZoneView {
    /// What sessions route by.
    map: Arc<ZoneMap>,
    /// What backends are told (ahead of `map` while old owners let go).
    target: Arc<ZoneMap>,
    /// The assignments' epoch: the target map's [`version`](ZoneMap::version).
    epoch: i64,
    /// Backends gaining a zone in `target` whose assignment waits for the old owners.
    held: Vec<ServerId>,
}

impl ZoneView {
    /// A view with nothing in flight: routing and assignments agree.
    pub fn settled(map: Arc<ZoneMap>) -> Self {
        Self {
            epoch: epoch_of(&map),
            target: map.clone(),
            map,
            held: Vec::new(),
        }
    }

    /// The map to route by.
    pub fn map(&self) -> &Arc<ZoneMap> {
        &self.map
    }

    /// The newest map known (the one the admin API reports).
    pub fn target(&self) -> &Arc<ZoneMap> {
        &self.target
    }

    /// The epoch of the assignments this view sends.
    pub fn epoch(&self) -> i64 {
        self.epoch
    }

    /// Whether routing has caught up with the newest map.
    pub fn is_settled(&self) -> bool {
        self.held.is_empty()
    }

    /// What `server` is to be told now: its zones under this view's epoch, or `None` while
    /// its grant waits for old owners (or when no zones are configured: a proxy without
    /// zones leaves its backends alone).
    pub fn assignment_for(&self, server: &str) -> Option<sync::ZoneAssignment> {
        if self.target.is_empty() || self.held.iter().any(|h| h.as_str() == server) {
            return None;
        }
        let zones = self
            .target
            .zones()
            .iter()
            .filter(|z| z.owner.as_str() == server)
            .map(|z| sync::Zone {
                zone_id: z.id.as_str().to_owned(),
                dimension: z.dimension.as_str().to_owned(),
                min_chunk_x: z.area.min_x,
                max_chunk_x: z.area.max_x,
                min_chunk_z: z.area.min_z,
                max_chunk_z: z.area.max_z,
            })
            .collect();
        Some(sync::ZoneAssignment {
            epoch: self.epoch,
            zones,
        })
    }
}

/// A map's epoch on the sync channel (which carries a signed VarLong).
fn epoch_of(map: &ZoneMap) -> i64 {
    i64::try_from(map.version()).unwrap_or(i64::MAX)
}

/// Who gains and who loses zones between two maps.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct OwnershipChanges {
    /// Owners of a zone in `to` that they did not own in `from`.
    pub gaining: Vec<ServerId>,
    /// Owners in `from` of a zone that someone else owns in `to` (or that `to` lacks).
    pub losing: Vec<ServerId>,
}

/// Compares the owners of every zone of two maps.
pub fn ownership_changes(from: &ZoneMap, to: &ZoneMap) -> OwnershipChanges {
    let mut changes = OwnershipChanges::default();
    for zone in to.zones() {
        let before = from.zone(zone.id.as_str());
        if before.is_some_and(|b| b.owner == zone.owner && b.area == zone.area) {
            continue;
        }
        push_unique(&mut changes.gaining, &zone.owner);
        if let Some(before) = before {
            push_unique(&mut changes.losing, &before.owner);
        }
    }
    for zone in from.zones() {
        if to.zone(zone.id.as_str()).is_none() {
            push_unique(&mut changes.losing, &zone.owner);
        }
    }
    changes
}

fn push_unique(list: &mut Vec<ServerId>, server: &ServerId) {
    if !list.contains(server) {
        list.push(server.clone());
    }
}

/// Why a zone could not be moved.
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error("no zone named {0:?}")]
    UnknownZone(String),
    #[error("{0:?} is not a configured server")]
    UnknownOwner(String),
    #[error("zone {zone:?} is at epoch {current}, not {expected}")]
    StaleEpoch {
        zone: String,
        current: u64,
        expected: u64,
    },
    #[error("zone store: {0}")]
    Store(#[source] StoreError),
    #[error("the zone store did not answer within {0:?}")]
    StoreTimeout(Duration),
    #[error("the proxy is not running")]
    NotRunning,
}

/// The zone as the admin API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ZoneInfo {
    pub id: String,
    pub owner: String,
    pub epoch: u64,
    pub dimension: String,
    pub min_chunk_x: Option<i32>,
    pub max_chunk_x: Option<i32>,
    pub min_chunk_z: Option<i32>,
    pub max_chunk_z: Option<i32>,
}

impl From<&Zone> for ZoneInfo {
    fn from(z: &Zone) -> Self {
        Self {
            id: z.id.as_str().to_owned(),
            owner: z.owner.as_str().to_owned(),
            epoch: z.epoch,
            dimension: z.dimension.as_str().to_owned(),
            min_chunk_x: z.area.min_x,
            max_chunk_x: z.area.max_x,
            min_chunk_z: z.area.min_z,
            max_chunk_z: z.area.max_z,
        }
    }
}

/// Where moves go.
#[derive(Debug)]
enum Mover {
    /// The static store: the map lives in this channel, which [`coordinate`] follows.
    Memory(watch::Sender<Arc<ZoneMap>>),
    /// The database, through the task that owns the store's session.
    Store {
        requests: mpsc::Sender<MoveRequest>,
        connected: watch::Receiver<bool>,
    },
}

#[derive(Debug)]
struct MoveRequest {
    zone: String,
    owner: String,
    expected_epoch: Option<u64>,
    reply: oneshot::Sender<Result<Zone, StoreError>>,
}

/// The proxy's zones: the current view, its subscribers, and how to move a zone.
#[derive(Debug)]
pub struct Zones {
    views: watch::Sender<Arc<ZoneView>>,
    /// Pinged when a backend confirms an assignment, to wake a grant waiting for it.
    applied: Notify,
    mover: OnceLock<Mover>,
}

impl Zones {
    /// Zones starting from `map` (the config's), settled.
    pub fn new(map: ZoneMap) -> Self {
        Self {
            views: watch::Sender::new(Arc::new(ZoneView::settled(Arc::new(map)))),
            applied: Notify::new(),
            mover: OnceLock::new(),
        }
    }

    /// The view now.
    pub fn current(&self) -> Arc<ZoneView> {
        self.views.borrow().clone()
    }

    /// A receiver of every new view (marked as having seen the current one).
    pub fn subscribe(&self) -> watch::Receiver<Arc<ZoneView>> {
        self.views.subscribe()
    }

    fn publish(&self, view: ZoneView) {
        debug!(
            epoch = view.epoch,
            settled = view.is_settled(),
            "zone view published"
        );
        self.views.send_replace(Arc::new(view));
    }

    /// Records that a backend now simulates the zones of `epoch`.
    pub fn applied(&self, server: &crate::state::Server, epoch: i64) {
        server.zones_applied.fetch_max(epoch, Ordering::AcqRel);
        self.applied.notify_waiters();
    }

    /// `"static"` or `"postgres"`, and whether the store is reachable now.
    pub fn store(&self) -> (&'static str, bool) {
        match self.mover.get() {
            Some(Mover::Store { connected, .. }) => ("postgres", *connected.borrow()),
            _ => ("static", true),
        }
    }

    /// Hands zone `zone` to `owner` (a configured server); with `expected_epoch`, only if the
    /// zone is still at that epoch. Returns the zone as it now is and whether it moved
    /// (handing a zone to its owner changes nothing).
    pub async fn move_zone(
        &self,
        servers: &[Arc<crate::state::Server>],
        zone: &str,
        owner: &str,
        expected_epoch: Option<u64>,
    ) -> Result<(ZoneInfo, bool), MoveError> {
        if !servers.iter().any(|s| s.id == owner) {
            return Err(MoveError::UnknownOwner(owner.to_owned()));
        }
        let known = self.current();
        let current = known
            .target()
            .zone(zone)
            .ok_or_else(|| MoveError::UnknownZone(zone.to_owned()))?;
        if let Some(expected) = expected_epoch
            && expected != current.epoch
        {
            return Err(MoveError::StaleEpoch {
                zone: zone.to_owned(),
                current: current.epoch,
                expected,
            });
        }
        if current.owner.as_str() == owner {
            return Ok((ZoneInfo::from(current), false));
        }
        // Compare-and-set against what the caller saw, or else against what this proxy saw.
        let expected = expected_epoch.unwrap_or(current.epoch);
        match self.mover.get().ok_or(MoveError::NotRunning)? {
            Mover::Memory(maps) => {
                let mut outcome = Err(MoveError::UnknownZone(zone.to_owned()));
                maps.send_if_modified(|map| {
                    outcome = move_in_memory(map, zone, owner, expected);
                    outcome.is_ok()
                });
                let moved = outcome?;
                info!(zone = %moved.id, owner = %moved.owner, epoch = moved.epoch, "moved zone (in memory)");
                Ok((moved, true))
            }
            Mover::Store { requests, .. } => {
                let (reply, answer) = oneshot::channel();
                let request = MoveRequest {
                    zone: zone.to_owned(),
                    owner: owner.to_owned(),
                    expected_epoch: Some(expected),
                    reply,
                };
                requests
                    .send(request)
                    .await
                    .map_err(|_| MoveError::NotRunning)?;
                match timeout(STORE_TIMEOUT, answer).await {
                    Err(_) => Err(MoveError::StoreTimeout(STORE_TIMEOUT)),
                    Ok(Err(_)) => Err(MoveError::NotRunning),
                    Ok(Ok(Ok(zone))) => Ok((ZoneInfo::from(&zone), true)),
                    Ok(Ok(Err(StoreError::UnknownZone(id)))) => {
                        Err(MoveError::UnknownZone(id.as_str().to_owned()))
                    }
                    Ok(Ok(Err(StoreError::StaleEpoch {
                        zone,
                        current,
                        expected,
                    }))) => Err(MoveError::StaleEpoch {
                        zone: zone.as_str().to_owned(),
                        current,
                        expected,
                    }),
                    Ok(Ok(Err(e))) => Err(MoveError::Store(e)),
                }
            }
        }
    }
}

/// Hands `zone` to `owner` in a map kept in memory if the zone is still at epoch `expected`.
fn move_in_memory(
    map: &mut Arc<ZoneMap>,
    zone: &str,
    owner: &str,
    expected: u64,
) -> Result<ZoneInfo, MoveError> {
    let current = map
        .zone(zone)
        .ok_or_else(|| MoveError::UnknownZone(zone.to_owned()))?
        .epoch;
    if current != expected {
        return Err(MoveError::StaleEpoch {
            zone: zone.to_owned(),
            current,
            expected,
        });
    }
    let mut next = ZoneMap::clone(map);
    let moved = next
        .set_owner(zone, ServerId::from(owner), current + 1)
        .map(ZoneInfo::from)
        .map_err(|e| match e {
            OwnerError::UnknownZone(_) => MoveError::UnknownZone(zone.to_owned()),
            // The epoch was checked above; what is left is an owner the map refuses.
            _ => MoveError::UnknownOwner(owner.to_owned()),
        })?;
    *map = Arc::new(next);
    Ok(moved)
}

/// Starts following the zone store the config names, before any player is accepted: the
/// static map, or the database (migrated, seeded with the config's zones where it has none,
/// and watched). Background tasks stop with `shutdown`.
pub async fn start(
    state: &Arc<ProxyState>,
    shutdown: &CancellationToken,
) -> Result<(), StoreError> {
    let url = match &state.config.zones.store {
        crate::config::ZoneStore::Postgres(url) => url.expose().to_owned(),
        _ => {
            let maps = watch::Sender::new(state.zones.current().target().clone());
            let source = meridian_store::ZoneSource::Watched(maps.subscribe());
            if state.zones.mover.set(Mover::Memory(maps)).is_err() {
                warn!("zones already started");
                return Ok(());
            }
            tokio::spawn(coordinate(state.clone(), source, shutdown.clone()));
            return Ok(());
        }
    };
    let owners: Vec<String> = state.servers.iter().map(|s| s.id.clone()).collect();
    let mut store = PgZoneStore::connect(&url).await?.with_known_owners(owners);
    let seeded = store.seed(&state.config.zones.map).await?;
    let watcher = store.watch(shutdown.clone()).await?;
    let map = watcher.current();
    info!(
        zones = map.len(),
        seeded,
        epoch = map.version(),
        "zones from PostgreSQL"
    );
    state.zones.publish(ZoneView::settled(map));
    let (requests, incoming) = mpsc::channel(16);
    let mover = Mover::Store {
        requests,
        connected: watcher.connected(),
    };
    if state.zones.mover.set(mover).is_err() {
        warn!("zones already started");
        return Ok(());
    }
    tokio::spawn(serve_moves(store, incoming, shutdown.clone()));
    tokio::spawn(coordinate(
        state.clone(),
        watcher.source(),
        shutdown.clone(),
    ));
    Ok(())
}

/// Owns the store's session and carries out moves one at a time (a transaction needs the
/// session to itself).
async fn serve_moves(
    mut store: PgZoneStore,
    mut requests: mpsc::Receiver<MoveRequest>,
    shutdown: CancellationToken,
) {
    loop {
        let request = tokio::select! {
            () = shutdown.cancelled() => return,
            request = requests.recv() => match request {
                Some(request) => request,
                None => return,
            },
        };
        let result = match timeout(
            STORE_TIMEOUT,
            store.move_zone(&request.zone, &request.owner, request.expected_epoch),
        )
        .await
        {
            Ok(result) => result,
            // The caller has given up too; the session may be wedged, and the next move
            // reconnects if it died.
            Err(_) => continue,
        };
        let _ = request.reply.send(result);
    }
}

/// Turns every map `source` publishes into views, releasing before granting (see the module
/// documentation), until `shutdown`.
pub async fn coordinate(
    state: Arc<ProxyState>,
    mut source: meridian_store::ZoneSource,
    shutdown: CancellationToken,
) {
    let mut newer: Option<Arc<ZoneMap>> = None;
    loop {
        let next = match newer.take() {
            Some(map) => map,
            None => tokio::select! {
                () = shutdown.cancelled() => return,
                map = source.changed() => map,
            },
        };
        let routing = state.zones.current().map().clone();
        let changes = ownership_changes(&routing, &next);
        if changes.gaining.is_empty() {
            state.zones.publish(ZoneView::settled(next));
            continue;
        }
        let epoch = epoch_of(&next);
        info!(
            epoch,
            gaining = ?changes.gaining,
            losing = ?changes.losing,
            "zones changing hands: old owners first"
        );
        state.zones.publish(ZoneView {
            map: routing,
            target: next.clone(),
            epoch,
            held: changes.gaining.clone(),
        });
        let deadline = Instant::now() + RELEASE_TIMEOUT;
        loop {
            let notified = state.zones.applied.notified();
            tokio::pin!(notified);
            // Registered before checking, so a confirmation between check and wait wakes us.
            notified.as_mut().enable();
            let waiting: Vec<&str> = changes
                .losing
                .iter()
                .filter_map(|id| state.server(id.as_str()))
                .filter(|s| {
                    s.sync_links.load(Ordering::Acquire) > 0
                        && s.zones_applied.load(Ordering::Acquire) < epoch
                })
                .map(|s| s.id.as_str())
                .collect();
            if waiting.is_empty() {
                break;
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = &mut notified => {}
                () = sleep_until(deadline) => {
                    warn!(epoch, ?waiting, "old owners did not confirm within {RELEASE_TIMEOUT:?}; granting anyway");
                    break;
                }
                map = source.changed() => {
                    // Start over from the newest map; routing still follows the old one.
                    newer = Some(map);
                    break;
                }
            }
        }
        if newer.is_none() {
            state.zones.publish(ZoneView::settled(next));
        }
    }
}

#[cfg(test)]
mod tests {
    use zoning::ChunkRect;

    use super::*;

    fn map(owners: &[(&str, &str, u64)]) -> ZoneMap {
        ZoneMap::new(owners.iter().enumerate().map(|(i, (id, owner, epoch))| {
            let x = i as i32 * 10;
            let area = ChunkRect {
                min_x: Some(x),
                max_x: Some(x + 10),
                min_z: None,
                max_z: None,
            };
            Zone::new(*id, *owner, area).with_epoch(*epoch)
        }))
        .unwrap()
    }

    fn ids(list: &[ServerId]) -> Vec<&str> {
        list.iter().map(|s| s.as_str()).collect()
    }

    #[test]
    fn a_move_has_one_gainer_and_one_loser() {
        let from = map(&[("a", "west", 1), ("b", "east", 1)]);
        let to = map(&[("a", "west", 1), ("b", "west", 2)]);
        let changes = ownership_changes(&from, &to);
        assert_eq!(ids(&changes.gaining), ["west"]);
        assert_eq!(ids(&changes.losing), ["east"]);
    }

    #[test]
    fn an_unchanged_map_and_a_new_zone() {
        let from = map(&[("a", "west", 1)]);
        assert_eq!(ownership_changes(&from, &from), OwnershipChanges::default());
        let to = map(&[("a", "west", 1), ("b", "east", 1)]);
        let changes = ownership_changes(&from, &to);
        assert_eq!(ids(&changes.gaining), ["east"]);
        assert!(changes.losing.is_empty());
        let back = ownership_changes(&to, &from);
        assert!(back.gaining.is_empty());
        assert_eq!(ids(&back.losing), ["east"]);
    }

    #[test]
    fn a_swap_of_two_zones_makes_both_gain_and_lose() {
        let from = map(&[("a", "west", 1), ("b", "east", 1)]);
        let to = map(&[("a", "east", 2), ("b", "west", 2)]);
        let changes = ownership_changes(&from, &to);
        assert_eq!(ids(&changes.gaining), ["east", "west"]);
        assert_eq!(ids(&changes.losing), ["west", "east"]);
    }

    #[test]
    fn assignments_list_each_owner_zones_under_the_map_version() {
        let view = ZoneView::settled(Arc::new(map(&[("a", "west", 3), ("b", "east", 1)])));
        assert_eq!(view.epoch(), 4);
        let west = view.assignment_for("west").unwrap();
        assert_eq!(west.epoch, 4);
        assert_eq!(west.zones.len(), 1);
        assert_eq!(west.zones[0].zone_id, "a");
        assert_eq!(west.zones[0].min_chunk_x, Some(0));
        assert_eq!(west.zones[0].max_chunk_x, Some(10));
        assert_eq!(west.zones[0].min_chunk_z, None);
        // A server owning nothing is told so: it must stop simulating what it had.
        assert_eq!(view.assignment_for("north").unwrap().zones, Vec::new());
    }

    #[test]
    fn held_backends_and_zoneless_proxies_are_told_nothing() {
        let old = Arc::new(map(&[("a", "west", 1), ("b", "east", 1)]));
        let new = Arc::new(map(&[("a", "west", 1), ("b", "west", 2)]));
        let view = ZoneView {
            map: old,
            epoch: epoch_of(&new),
            target: new,
            held: vec![ServerId::from("west")],
        };
        assert!(!view.is_settled());
        assert!(view.assignment_for("west").is_none());
        assert_eq!(view.assignment_for("east").unwrap().zones, Vec::new());
        let empty = ZoneView::settled(Arc::new(ZoneMap::default()));
        assert!(empty.assignment_for("west").is_none());
    }

    /// A proxy with west and east, east owning zone "b", and the coordinator following a
    /// channel of maps the test controls.
    async fn coordinated() -> (
        Arc<ProxyState>,
        watch::Sender<Arc<ZoneMap>>,
        watch::Receiver<Arc<ZoneView>>,
        CancellationToken,
    ) {
        let config = crate::Config::parse(
            r#"
            [[servers]]
            id = "west"
            address = "127.0.0.1:1"
            [[servers]]
            id = "east"
            address = "127.0.0.1:2"
            [forwarding]
            secret = "s3cret"
            [[zones.map]]
            id = "a"
            owner = "west"
            max_chunk_x = 0
            [[zones.map]]
            id = "b"
            owner = "east"
            min_chunk_x = 0
            "#,
        )
        .unwrap();
        let state = crate::Proxy::new(config).unwrap().state().clone();
        let (maps, source) = watch::channel(state.zones.current().target().clone());
        let views = state.zones.subscribe();
        let shutdown = CancellationToken::new();
        tokio::spawn(coordinate(
            state.clone(),
            meridian_store::ZoneSource::Watched(source),
            shutdown.clone(),
        ));
        (state, maps, views, shutdown)
    }

    fn moved(state: &ProxyState, zone: &str, owner: &str) -> Arc<ZoneMap> {
        let mut map = ZoneMap::clone(state.zones.current().target());
        let epoch = map.zone(zone).unwrap().epoch + 1;
        map.set_owner(zone, ServerId::from(owner), epoch).unwrap();
        Arc::new(map)
    }

    async fn next_view(views: &mut watch::Receiver<Arc<ZoneView>>) -> Arc<ZoneView> {
        tokio::time::timeout(Duration::from_secs(5), views.changed())
            .await
            .expect("a new view")
            .expect("coordinator running");
        views.borrow_and_update().clone()
    }

    #[tokio::test]
    async fn a_grant_waits_until_the_old_owner_lets_go() {
        let (state, maps, mut views, shutdown) = coordinated().await;
        let east = state.server("east").unwrap().clone();
        east.sync_links.fetch_add(1, Ordering::AcqRel);
        maps.send_replace(moved(&state, "b", "west"));

        let releasing = next_view(&mut views).await;
        assert!(!releasing.is_settled());
        assert_eq!(releasing.epoch(), 3);
        // Routing still follows the old owner; east is told it owns nothing; west must wait.
        assert_eq!(releasing.map().zone("b").unwrap().owner, "east");
        assert_eq!(releasing.assignment_for("east").unwrap().zones, Vec::new());
        assert!(releasing.assignment_for("west").is_none());
        // A confirmation of an older epoch does not count.
        state.zones.applied(&east, 2);
        assert!(
            tokio::time::timeout(Duration::from_millis(100), views.changed())
                .await
                .is_err(),
            "granted before east let go"
        );

        state.zones.applied(&east, 3);
        let granted = next_view(&mut views).await;
        assert!(granted.is_settled());
        assert_eq!(granted.map().zone("b").unwrap().owner, "west");
        assert_eq!(granted.assignment_for("west").unwrap().zones.len(), 2);
        shutdown.cancel();
    }

    #[tokio::test]
    async fn an_old_owner_this_proxy_cannot_reach_does_not_hold_the_grant() {
        let (state, maps, mut views, shutdown) = coordinated().await;
        // No sync link to east here: nobody to wait for.
        maps.send_replace(moved(&state, "b", "west"));
        let mut view = next_view(&mut views).await;
        if !view.is_settled() {
            view = next_view(&mut views).await;
        }
        assert!(view.is_settled());
        assert_eq!(view.map().zone("b").unwrap().owner, "west");
        shutdown.cancel();
    }

    #[tokio::test]
    async fn moves_in_memory_are_fenced_and_checked() {
        let (state, _maps, _views, shutdown) = coordinated().await;
        let memory = watch::Sender::new(state.zones.current().target().clone());
        state.zones.mover.set(Mover::Memory(memory)).unwrap();
        let servers = &state.servers;
        let zones = &state.zones;
        assert!(matches!(
            zones.move_zone(servers, "b", "north", None).await,
            Err(MoveError::UnknownOwner(_))
        ));
        assert!(matches!(
            zones.move_zone(servers, "c", "west", None).await,
            Err(MoveError::UnknownZone(_))
        ));
        assert!(matches!(
            zones.move_zone(servers, "b", "west", Some(5)).await,
            Err(MoveError::StaleEpoch {
                current: 1,
                expected: 5,
                ..
            })
        ));
        let (same, moved) = zones.move_zone(servers, "b", "east", None).await.unwrap();
        assert!(!moved);
        assert_eq!(same.epoch, 1);
        let (zone, moved) = zones
            .move_zone(servers, "b", "west", Some(1))
            .await
            .unwrap();
        assert!(moved);
        assert_eq!((zone.owner.as_str(), zone.epoch), ("west", 2));
        shutdown.cancel();
    }
}
