//! The session's rare events — shutdown, commands, zone changes and the liveness tick — as one
//! source. [`super::inputs`] polls it with a waker of its own, so a wake-up for traffic does not
//! touch it: each of these takes a lock or several atomic operations to poll.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use futures_util::StreamExt;
use tokio::{sync::mpsc, time::Interval};
use tokio_stream::wrappers::WatchStream;
use tokio_util::sync::WaitForCancellationFutureOwned;

use crate::{state::SessionCommand, zones::ZoneView};

/// What woke the session, other than traffic.
#[derive(Debug)]
pub(super) enum Control {
    Shutdown,
    /// A command, or `None` when every handle to the session is gone.
    Command(Option<SessionCommand>),
    Zones(Arc<ZoneView>),
    LivenessTick,
}

pub(super) struct Controls {
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    commands: mpsc::Receiver<SessionCommand>,
    zones: WatchStream<Arc<ZoneView>>,
    liveness: Interval,
}

impl Controls {
    pub(super) fn new(
        shutdown: WaitForCancellationFutureOwned,
        commands: mpsc::Receiver<SessionCommand>,
        zones: WatchStream<Arc<ZoneView>>,
        liveness: Interval,
    ) -> Self {
        Self {
            shutdown: Box::pin(shutdown),
            commands,
            zones,
            liveness,
        }
    }

    /// The next event, if one of the sources has one.
    pub(super) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Control> {
        if self.shutdown.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Control::Shutdown);
        }
        if let Poll::Ready(command) = self.commands.poll_recv(cx) {
            return Poll::Ready(Control::Command(command));
        }
        // A finished stream (the zones' sender gone) simply has nothing more to say.
        if let Poll::Ready(Some(view)) = self.zones.poll_next_unpin(cx) {
            return Poll::Ready(Control::Zones(view));
        }
        if self.liveness.poll_tick(cx).is_ready() {
            return Poll::Ready(Control::LivenessTick);
        }
        Poll::Pending
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::time::Duration;

    use tokio::sync::watch;
    use tokio_util::sync::CancellationToken;

    use super::*;

    /// Controls over fresh sources, with the handles that make them fire.
    pub(in super::super) fn sources(
        liveness: Duration,
    ) -> (
        Controls,
        CancellationToken,
        mpsc::Sender<SessionCommand>,
        watch::Sender<Arc<ZoneView>>,
    ) {
        let shutdown = CancellationToken::new();
        let (commands_tx, commands) = mpsc::channel(4);
        let (zones_tx, zones_rx) = watch::channel(view());
        let mut liveness = tokio::time::interval(liveness);
        liveness.reset();
        let controls = Controls::new(
            shutdown.clone().cancelled_owned(),
            commands,
            WatchStream::from_changes(zones_rx),
            liveness,
        );
        (controls, shutdown, commands_tx, zones_tx)
    }

    fn view() -> Arc<ZoneView> {
        Arc::new(ZoneView::settled(Arc::new(zoning::ZoneMap::default())))
    }

    fn next(controls: &mut Controls) -> impl Future<Output = Control> + '_ {
        std::future::poll_fn(|cx| controls.poll_next(cx))
    }

    async fn within<T>(f: impl Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(5), f)
            .await
            .expect("a control event")
    }

    /// Every source reaches the session, including two that fire before it looks: the second
    /// is not lost behind the first.
    #[tokio::test]
    async fn every_source_wakes_the_session_and_none_is_lost() {
        let (mut controls, shutdown, commands, zones) = sources(Duration::from_secs(3600));
        assert!(futures_util::poll!(next(&mut controls)).is_pending());

        commands
            .send(SessionCommand::Kick("bye".into()))
            .await
            .unwrap();
        zones.send(view()).unwrap();
        assert!(matches!(
            within(next(&mut controls)).await,
            Control::Command(Some(SessionCommand::Kick(m))) if m == "bye"
        ));
        assert!(matches!(
            within(next(&mut controls)).await,
            Control::Zones(_)
        ));
        assert!(futures_util::poll!(next(&mut controls)).is_pending());

        shutdown.cancel();
        assert!(matches!(
            within(next(&mut controls)).await,
            Control::Shutdown
        ));

        let (mut controls, _, commands, _) = sources(Duration::from_secs(3600));
        drop(commands);
        assert!(matches!(
            within(next(&mut controls)).await,
            Control::Command(None)
        ));
    }

    #[tokio::test]
    async fn the_liveness_tick_fires() {
        let (mut controls, _shutdown, _commands, _zones) = sources(Duration::from_millis(20));
        assert!(futures_util::poll!(next(&mut controls)).is_pending());
        assert!(matches!(
            within(next(&mut controls)).await,
            Control::LivenessTick
        ));
    }
}
