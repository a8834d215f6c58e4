//! The session's rare events — shutdown, commands, zone changes and the liveness tick — as one
//! source that costs next to nothing on the wake-ups they did not cause.
//!
//! A session wakes for every packet its peers send, and `select!` polls every branch on every
//! wake-up: the cancellation token, the command channel, the zone watch and the timer each take
//! a lock or several atomic operations to be polled, which made them a noticeable share of the
//! proxy's CPU per forwarded packet at 1,000 players. So they are polled with a waker of their
//! own that raises a flag before it wakes the session, and they are polled again only once the
//! flag is up.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
};

use futures_util::{StreamExt, task::AtomicWaker};
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

/// Raised by any of the rare sources' wake-ups; then wakes the session.
#[derive(Debug, Default)]
struct Signal {
    raised: AtomicBool,
    session: AtomicWaker,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.raised.store(true, Ordering::Release);
        self.session.wake();
    }
}

pub(super) struct Controls {
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    commands: mpsc::Receiver<SessionCommand>,
    zones: WatchStream<Arc<ZoneView>>,
    liveness: Interval,
    signal: Arc<Signal>,
    /// Wakes through `signal`.
    waker: Waker,
}

impl Controls {
    pub(super) fn new(
        shutdown: WaitForCancellationFutureOwned,
        commands: mpsc::Receiver<SessionCommand>,
        zones: WatchStream<Arc<ZoneView>>,
        liveness: Interval,
    ) -> Self {
        let signal = Arc::new(Signal::default());
        // Raised at first, so the first poll registers every source.
        signal.raised.store(true, Ordering::Relaxed);
        Self {
            shutdown: Box::pin(shutdown),
            commands,
            zones,
            liveness,
            waker: Waker::from(signal.clone()),
            signal,
        }
    }

    /// The next event; pending without touching the sources unless one of them has woken us.
    pub(super) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Control> {
        // Registered before the flag is read: a wake-up in between raises it and wakes us again.
        self.signal.session.register(cx.waker());
        if !self.signal.raised.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let event = self.poll_sources();
        if event.is_ready() {
            // The sources after the one that fired were not polled: look again next time.
            self.signal.raised.store(true, Ordering::Release);
        }
        event
    }

    /// The next event, for `select!`.
    pub(super) fn next(&mut self) -> impl Future<Output = Control> + '_ {
        std::future::poll_fn(|cx| self.poll_next(cx))
    }

    fn poll_sources(&mut self) -> Poll<Control> {
        let mut cx = Context::from_waker(&self.waker);
        if self.shutdown.as_mut().poll(&mut cx).is_ready() {
            return Poll::Ready(Control::Shutdown);
        }
        if let Poll::Ready(command) = self.commands.poll_recv(&mut cx) {
            return Poll::Ready(Control::Command(command));
        }
        // A finished stream (the zones' sender gone) simply has nothing more to say.
        if let Poll::Ready(Some(view)) = self.zones.poll_next_unpin(&mut cx) {
            return Poll::Ready(Control::Zones(view));
        }
        if self.liveness.poll_tick(&mut cx).is_ready() {
            return Poll::Ready(Control::LivenessTick);
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::watch;
    use tokio_util::sync::CancellationToken;

    use super::*;

    fn sources(
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
        assert!(futures_util::poll!(controls.next()).is_pending());

        commands
            .send(SessionCommand::Kick("bye".into()))
            .await
            .unwrap();
        zones.send(view()).unwrap();
        assert!(matches!(
            within(controls.next()).await,
            Control::Command(Some(SessionCommand::Kick(m))) if m == "bye"
        ));
        assert!(matches!(within(controls.next()).await, Control::Zones(_)));
        assert!(futures_util::poll!(controls.next()).is_pending());

        shutdown.cancel();
        assert!(matches!(within(controls.next()).await, Control::Shutdown));

        let (mut controls, _, commands, _) = sources(Duration::from_secs(3600));
        drop(commands);
        assert!(matches!(
            within(controls.next()).await,
            Control::Command(None)
        ));
    }

    #[tokio::test]
    async fn the_liveness_tick_fires() {
        let (mut controls, _shutdown, _commands, _zones) = sources(Duration::from_millis(20));
        assert!(futures_util::poll!(controls.next()).is_pending());
        assert!(matches!(
            within(controls.next()).await,
            Control::LivenessTick
        ));
    }
}
