//! [`ZoneWatcher`]: every proxy's live copy of the zone map, pushed by `LISTEN/NOTIFY`.
//!
//! The watcher owns one session that `LISTEN`s on [`NOTIFY_CHANNEL`]. Each notification
//! (several arriving together count as one) triggers a reload of the whole map, which is
//! published through a `tokio::sync::watch` channel when it differs from the last one.
//! Reloading rather than patching from the payload keeps the published map exactly what
//! one consistent read of the table returned, whatever order notifications come in.
//!
//! When the session dies the last map stays published, and the watcher reconnects with
//! exponential backoff and jitter. A new session `LISTEN`s *before* it loads, so a change
//! committed while the watcher was away is in the load and one committed after it is
//! notified: nothing is missed. A slow periodic reload doubles as a liveness probe for
//! connections that die without a word (a peer gone behind a firewall).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_postgres::{AsyncMessage, Client, Config};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, trace, warn};
use zoning::ZoneMap;

use crate::error::{Result, StoreError, chain};
use crate::source::ZoneSource;
use crate::zones::{NOTIFY_CHANNEL, connect_raw, load_map, parse_url};

/// Timings of a [`ZoneWatcher`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchOptions {
    /// First delay before reconnecting after the session is lost.
    pub backoff_min: Duration,
    /// Longest delay between reconnection attempts.
    pub backoff_max: Duration,
    /// Reload this often even without notifications; also detects silent dead sessions.
    pub resync_every: Duration,
    /// Longest a reload (or `LISTEN`) may take before the session counts as dead.
    pub query_timeout: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            resync_every: Duration::from_secs(30),
            query_timeout: Duration::from_secs(10),
        }
    }
}

/// A background task keeping the latest zone map from PostgreSQL.
///
/// Stops when `shutdown` is cancelled or when every map receiver (including the one held
/// here) has been dropped.
#[derive(Debug)]
pub struct ZoneWatcher {
    maps: watch::Receiver<Arc<ZoneMap>>,
    connected: watch::Receiver<bool>,
    task: JoinHandle<()>,
}

impl ZoneWatcher {
    /// Connects to `url`, loads the map and starts watching with default timings.
    ///
    /// Fails if the first session cannot be set up: a proxy should not start without a
    /// map. After that, outages only delay updates.
    pub async fn start(url: &str, shutdown: CancellationToken) -> Result<Self> {
        Self::start_with(parse_url(url)?, WatchOptions::default(), shutdown).await
    }

    /// Like [`start`](Self::start), with a prepared configuration and timings.
    pub async fn start_with(
        config: Config,
        options: WatchOptions,
        shutdown: CancellationToken,
    ) -> Result<Self> {
        let (session, loaded) = Session::open(&config, &options).await?;
        let map = loaded?;
        let (map_tx, maps) = watch::channel(Arc::new(map));
        let (connected_tx, connected) = watch::channel(true);
        let task = tokio::spawn(run(
            Watch {
                config,
                options,
                shutdown,
                maps: map_tx,
                connected: connected_tx,
            },
            session,
        ));
        Ok(Self {
            maps,
            connected,
            task,
        })
    }

    /// The map as last loaded.
    pub fn current(&self) -> Arc<ZoneMap> {
        self.maps.borrow().clone()
    }

    /// A receiver of every new map.
    pub fn maps(&self) -> watch::Receiver<Arc<ZoneMap>> {
        self.maps.clone()
    }

    /// A [`ZoneSource`] following this watcher.
    pub fn source(&self) -> ZoneSource {
        ZoneSource::Watched(self.maps.clone())
    }

    /// Whether the watcher has a live session now (false while reconnecting).
    pub fn is_connected(&self) -> bool {
        *self.connected.borrow()
    }

    /// A receiver of the session state, e.g. for a health check.
    pub fn connected(&self) -> watch::Receiver<bool> {
        self.connected.clone()
    }

    /// The map receiver and the task, for callers that manage them separately.
    pub fn into_parts(self) -> (watch::Receiver<Arc<ZoneMap>>, JoinHandle<()>) {
        (self.maps, self.task)
    }

    /// Waits for the task to end (after `shutdown` is cancelled).
    pub async fn join(self) {
        if let Err(error) = self.task.await
            && error.is_panic()
        {
            warn!(%error, "zone watcher panicked");
        }
    }
}

/// The task's fixed state.
struct Watch {
    config: Config,
    options: WatchOptions,
    shutdown: CancellationToken,
    maps: watch::Sender<Arc<ZoneMap>>,
    connected: watch::Sender<bool>,
}

impl Watch {
    /// Runs `fut` unless the watcher should stop first; `None` means stop.
    async fn or_stop<T>(&self, fut: impl Future<Output = T>) -> Option<T> {
        tokio::select! {
            biased;
            () = self.shutdown.cancelled() => None,
            () = self.maps.closed() => None,
            value = fut => Some(value),
        }
    }

    /// Wakes receivers of the session state only when it actually changes.
    fn set_connected(&self, up: bool) {
        self.connected
            .send_if_modified(|current| std::mem::replace(current, up) != up);
    }

    /// Publishes `map` if it differs from the current one, so receivers wake only for news.
    fn publish(&self, map: ZoneMap) {
        self.maps.send_if_modified(|current| {
            if current.zones() == map.zones() {
                return false;
            }
            for zone in map.zones() {
                if let Some(old) = current.zone(&zone.id)
                    && old.epoch > zone.epoch
                {
                    // The database went back in time (restored backup, lagging replica);
                    // it is still the authority, but backends will refuse the old epoch.
                    warn!(zone = %zone.id, from = old.epoch, to = zone.epoch, "zone epoch went backwards");
                }
            }
            debug!(zones = map.len(), "zone map updated");
            *current = Arc::new(map);
            true
        });
    }
}

async fn run(watch: Watch, first: Session) {
    let mut session = Some(first);
    let mut backoff = Backoff::new(watch.options.backoff_min, watch.options.backoff_max);
    let mut outage: Option<Outage> = None;
    loop {
        let live = match session.take() {
            Some(live) => live,
            None => {
                let Some(opened) = watch
                    .or_stop(Session::open(&watch.config, &watch.options))
                    .await
                else {
                    return;
                };
                match opened {
                    Ok((live, loaded)) => {
                        // Loaded after LISTEN: covers every change made while away.
                        match loaded {
                            Ok(map) => watch.publish(map),
                            Err(error) => {
                                warn!(%error, "ignoring an invalid zone map; keeping the last good one")
                            }
                        }
                        live
                    }
                    Err(error) => {
                        if let Some(outage) = outage.as_mut() {
                            outage.attempts += 1;
                        }
                        let delay = backoff.next_delay();
                        debug!(%error, ?delay, "zone store still unreachable");
                        if watch.or_stop(tokio::time::sleep(delay)).await.is_none() {
                            return;
                        }
                        continue;
                    }
                }
            }
        };
        if let Some(outage) = outage.take() {
            info!(
                down_for = ?outage.since.elapsed(),
                failed_attempts = outage.attempts,
                "zone store connection restored; map reloaded"
            );
        }
        watch.set_connected(true);
        backoff.reset();

        let Some(error) = live.serve(&watch).await else {
            return;
        };
        watch.set_connected(false);
        warn!(%error, "lost the zone store connection; serving the last known zone map while reconnecting");
        outage = Some(Outage {
            since: Instant::now(),
            attempts: 0,
        });
        // The first retry waits too: a server that just dropped us is likely restarting.
        let delay = backoff.next_delay();
        if watch.or_stop(tokio::time::sleep(delay)).await.is_none() {
            return;
        }
    }
}

struct Outage {
    since: Instant,
    attempts: u32,
}

/// One `LISTEN`ing session.
struct Session {
    client: Client,
    /// Drives the connection, forwarding notifications; ends when the connection does.
    connection: JoinHandle<Result<(), tokio_postgres::Error>>,
    notified: Arc<Notify>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

impl Session {
    /// Connects, listens, then loads: in that order, so no change falls between them.
    ///
    /// Invalid data fails only the inner result: the session is fine, and reconnecting
    /// would not fix the data.
    async fn open(config: &Config, options: &WatchOptions) -> Result<(Self, Result<ZoneMap>)> {
        let (client, mut connection) = connect_raw(config).await?;
        let notified = Arc::new(Notify::new());
        let notify = Arc::clone(&notified);
        let connection = tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(|cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                match message? {
                    AsyncMessage::Notification(note) => {
                        trace!(payload = note.payload(), "zone change notified");
                        // Stores one permit when nobody waits, so a burst causes one reload
                        // and a change during a reload causes one more.
                        notify.notify_one();
                    }
                    AsyncMessage::Notice(notice) => debug!(%notice, "zone store notice"),
                    _ => {}
                }
            }
            Ok(())
        });
        let session = Self {
            client,
            connection,
            notified,
        };
        with_timeout(
            "listen",
            options.query_timeout,
            session
                .client
                .batch_execute(&format!("LISTEN {NOTIFY_CHANNEL}")),
        )
        .await?
        .map_err(StoreError::query("listen"))?;
        let loaded = with_timeout(
            "load zones",
            options.query_timeout,
            load_map(&session.client),
        )
        .await?;
        match loaded {
            Err(error) if !is_data_error(&error) => Err(error),
            loaded => Ok((session, loaded)),
        }
    }

    /// Reloads on every notification until the session dies (`Some(why)`) or the watcher
    /// stops (`None`).
    async fn serve(mut self, watch: &Watch) -> Option<Lost> {
        let period = watch.options.resync_every;
        let mut resync = tokio::time::interval_at(Instant::now() + period, period);
        resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = watch.shutdown.cancelled() => return None,
                () = watch.maps.closed() => return None,
                ended = &mut self.connection => return Some(Lost::Connection(ended)),
                () = self.notified.notified() => {}
                _ = resync.tick() => {}
            }
            let loaded = with_timeout(
                "load zones",
                watch.options.query_timeout,
                load_map(&self.client),
            )
            .await
            .and_then(|loaded| loaded);
            match loaded {
                Ok(map) => watch.publish(map),
                // Bad data is not cured by reconnecting; keep the last good map until it is
                // fixed (the fix notifies, or the next resync finds it).
                Err(error) if is_data_error(&error) => {
                    warn!(%error, "ignoring an invalid zone map; keeping the last good one");
                }
                Err(error) => return Some(Lost::Query(error)),
            }
        }
    }
}

fn is_data_error(error: &StoreError) -> bool {
    matches!(error, StoreError::InvalidMap(_) | StoreError::BadRow { .. })
}

async fn with_timeout<T>(
    what: &'static str,
    after: Duration,
    fut: impl Future<Output = T>,
) -> Result<T> {
    tokio::time::timeout(after, fut)
        .await
        .map_err(|_| StoreError::Timeout { what, after })
}

/// Why a session ended.
enum Lost {
    Connection(Result<Result<(), tokio_postgres::Error>, tokio::task::JoinError>),
    Query(StoreError),
}

impl fmt::Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lost::Connection(Ok(Ok(()))) => f.write_str("connection closed"),
            Lost::Connection(Ok(Err(error))) => write!(f, "connection failed: {}", chain(error)),
            Lost::Connection(Err(error)) => write!(f, "connection task ended: {error}"),
            Lost::Query(error) => error.fmt(f),
        }
    }
}

/// Exponential backoff with "equal jitter": each delay is between half and all of the
/// current step, so proxies that lost the server together do not return in lockstep.
#[derive(Debug)]
struct Backoff {
    min: Duration,
    max: Duration,
    step: Duration,
}

impl Backoff {
    fn new(min: Duration, max: Duration) -> Self {
        let max = max.max(min);
        Self {
            min,
            max,
            step: min,
        }
    }

    fn reset(&mut self) {
        self.step = self.min;
    }

    fn next_delay(&mut self) -> Duration {
        let step = self.step;
        self.step = step.saturating_mul(2).min(self.max);
        let half = step / 2;
        half + half.mul_f64(rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_with_jitter_and_resets() {
        let min = Duration::from_millis(100);
        let max = Duration::from_secs(5);
        let mut backoff = Backoff::new(min, max);
        let mut step = min;
        for _ in 0..12 {
            let delay = backoff.next_delay();
            assert!(
                delay >= step / 2 && delay <= step,
                "{delay:?} for step {step:?}"
            );
            step = (step * 2).min(max);
        }
        assert_eq!(backoff.step, max);
        backoff.reset();
        assert!(backoff.next_delay() <= min);
    }

    #[test]
    fn backoff_tolerates_inverted_bounds() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::ZERO);
        assert!(backoff.next_delay() <= Duration::from_secs(1));
        assert_eq!(backoff.step, Duration::from_secs(1));
    }
}
