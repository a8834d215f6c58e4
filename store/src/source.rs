//! [`ZoneSource`]: the zone map a proxy routes by, static or watched, behind one type.

use std::sync::Arc;

use tokio::sync::watch;
use zoning::ZoneMap;

/// Where a proxy gets its zone map: fixed from config, or kept current by a
/// [`ZoneWatcher`](crate::ZoneWatcher).
#[derive(Clone, Debug)]
pub enum ZoneSource {
    /// A map that never changes (the single-proxy default).
    Static(Arc<ZoneMap>),
    /// The maps a watcher publishes.
    Watched(watch::Receiver<Arc<ZoneMap>>),
}

impl ZoneSource {
    /// The map to route by now. Cheap: one reference-count increment.
    pub fn current(&self) -> Arc<ZoneMap> {
        match self {
            ZoneSource::Static(map) => Arc::clone(map),
            ZoneSource::Watched(maps) => Arc::clone(&maps.borrow()),
        }
    }

    /// Waits for a map newer than the last one this returned (or, the first time, than
    /// the one the source started with) and returns it.
    ///
    /// Never returns for a static source or once the watcher has stopped, so it can sit
    /// in a `select!` loop without special cases.
    pub async fn changed(&mut self) -> Arc<ZoneMap> {
        match self {
            ZoneSource::Static(_) => std::future::pending().await,
            ZoneSource::Watched(maps) => {
                if maps.changed().await.is_err() {
                    return std::future::pending().await;
                }
                Arc::clone(&maps.borrow_and_update())
            }
        }
    }
}

impl From<ZoneMap> for ZoneSource {
    fn from(map: ZoneMap) -> Self {
        ZoneSource::Static(Arc::new(map))
    }
}

impl From<Arc<ZoneMap>> for ZoneSource {
    fn from(map: Arc<ZoneMap>) -> Self {
        ZoneSource::Static(map)
    }
}

impl From<watch::Receiver<Arc<ZoneMap>>> for ZoneSource {
    fn from(maps: watch::Receiver<Arc<ZoneMap>>) -> Self {
        ZoneSource::Watched(maps)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use zoning::{ChunkRect, Zone};

    use super::*;

    fn map(owner: &str, epoch: u64) -> ZoneMap {
        ZoneMap::new([Zone::new("all", owner, ChunkRect::ALL).with_epoch(epoch)]).unwrap()
    }

    #[tokio::test]
    async fn static_source_never_changes() {
        let mut source = ZoneSource::from(map("a", 1));
        assert_eq!(source.current().zone("all").unwrap().owner, "a");
        let waited = tokio::time::timeout(Duration::from_millis(20), source.changed()).await;
        assert!(waited.is_err());
    }

    #[tokio::test]
    async fn watched_source_follows_the_sender_and_parks_when_it_stops() {
        let (tx, rx) = watch::channel(Arc::new(map("a", 1)));
        let mut source = ZoneSource::from(rx);
        assert_eq!(source.current().zone("all").unwrap().epoch, 1);
        tx.send_replace(Arc::new(map("b", 2)));
        let next = tokio::time::timeout(Duration::from_secs(5), source.changed())
            .await
            .unwrap();
        assert_eq!(next.zone("all").unwrap().owner, "b");
        assert_eq!(source.current().zone("all").unwrap().epoch, 2);
        drop(tx);
        let waited = tokio::time::timeout(Duration::from_millis(20), source.changed()).await;
        assert!(waited.is_err(), "a stopped watcher must not spin");
    }
}
