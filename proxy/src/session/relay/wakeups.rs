//! Which of the session's sources woke it, so a wake-up polls only those.
//!
//! A session task owns a client socket, a socket per link and a few rare sources (shutdown,
//! commands, zone changes, a timer). Polled the usual way (`select!`, `StreamMap`), every
//! wake-up polls all of them at least twice: once to find the one that is ready, and once more
//! before the task can sleep. Each poll of an idle socket takes its readiness lock, and with one
//! packet per wake-up (a player's movement, 20 a second) those polls cost more than the packet.
//!
//! Here every source is polled with a waker of its own, which raises the source's bit before it
//! wakes the session. A source is polled when its bit is up, until it is pending again (which
//! leaves its waker registered with it); the others are not touched.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Wake, Waker},
};

use futures_util::task::AtomicWaker;

/// A source's number: its bit in the set. Sources past the last bit share it.
pub(super) type Source = u32;

/// The highest source number; higher ones are folded onto it.
pub(super) const LAST_SOURCE: Source = u64::BITS - 1;

#[derive(Debug, Default)]
struct Shared {
    /// Sources that woke since the session last looked.
    raised: AtomicU64,
    session: AtomicWaker,
}

/// The waker a source is polled with.
#[derive(Debug)]
struct SourceWaker {
    shared: Arc<Shared>,
    bit: u64,
}

impl Wake for SourceWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.shared.raised.fetch_or(self.bit, Ordering::Release);
        self.shared.session.wake();
    }
}

/// The session's side: the sources to poll, in turn.
#[derive(Debug)]
pub(super) struct Wakeups {
    shared: Arc<Shared>,
    /// Sources to poll: raised, and not yet seen pending since.
    due: u64,
    /// Where the next turn starts, so a busy source cannot starve the others.
    cursor: Source,
}

impl Wakeups {
    /// Every source due: nothing is registered with any of them yet.
    pub(super) fn new() -> Self {
        Self {
            shared: Arc::default(),
            due: u64::MAX,
            cursor: 0,
        }
    }

    fn bit(source: Source) -> u64 {
        1 << source.min(LAST_SOURCE)
    }

    /// The waker to poll `source` with.
    pub(super) fn waker(&self, source: Source) -> Waker {
        Waker::from(Arc::new(SourceWaker {
            shared: self.shared.clone(),
            bit: Self::bit(source),
        }))
    }

    /// The next source to poll, taking turns; `None` once none is due, with the session's waker
    /// (`cx`) registered so that any source's wake-up wakes it.
    pub(super) fn next(&mut self, cx: &Context<'_>) -> Option<Source> {
        if self.shared.raised.load(Ordering::Relaxed) != 0 {
            self.due |= self.shared.raised.swap(0, Ordering::Acquire);
        }
        if self.due == 0 {
            // Registered before the last look: a wake-up in between is either seen now or
            // wakes the session again.
            self.shared.session.register(cx.waker());
            self.due = self.shared.raised.swap(0, Ordering::Acquire);
            if self.due == 0 {
                return None;
            }
        }
        let source =
            (self.due.rotate_right(self.cursor).trailing_zeros() + self.cursor) % u64::BITS;
        self.cursor = (source + 1) % u64::BITS;
        Some(source)
    }

    /// `source` was polled and is pending: its waker will say when it has more.
    pub(super) fn settled(&mut self, source: Source) {
        self.due &= !Self::bit(source);
    }

    /// Polls `source` at the next turn (a new source, whose waker is not registered yet).
    pub(super) fn raise(&mut self, source: Source) {
        self.due |= Self::bit(source);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wakeups with every source polled once and found pending.
    fn settled_wakeups() -> Wakeups {
        let mut wakeups = Wakeups::new();
        all_due(&mut wakeups, &Context::from_waker(Waker::noop()));
        wakeups
    }

    fn all_due(wakeups: &mut Wakeups, cx: &Context<'_>) -> Vec<Source> {
        let mut seen = Vec::new();
        while let Some(source) = wakeups.next(cx) {
            seen.push(source);
            wakeups.settled(source);
        }
        seen
    }

    #[test]
    fn at_first_every_source_is_due_then_none() {
        let cx = Context::from_waker(Waker::noop());
        let mut wakeups = Wakeups::new();
        assert_eq!(all_due(&mut wakeups, &cx), (0..64).collect::<Vec<_>>());
        assert_eq!(wakeups.next(&cx), None);
    }

    /// Only the sources whose wakers fired are due, each once, and the session is woken.
    #[test]
    fn only_the_sources_that_woke_are_due() {
        let session = Arc::new(Flag::default());
        let session_waker = Waker::from(session.clone());
        let cx = Context::from_waker(&session_waker);
        let mut wakeups = settled_wakeups();
        // Registers the session's waker.
        assert_eq!(wakeups.next(&cx), None);

        wakeups.waker(5).wake_by_ref();
        assert!(session.take());
        wakeups.waker(2).wake();
        wakeups.waker(5).wake_by_ref();
        let mut due = all_due(&mut wakeups, &cx);
        due.sort_unstable();
        assert_eq!(due, [2, 5]);
        assert_eq!(wakeups.next(&cx), None);
    }

    /// A source that stays ready (never settled) does not keep the others waiting.
    #[test]
    fn a_busy_source_takes_turns_with_the_others() {
        let cx = Context::from_waker(Waker::noop());
        let mut wakeups = settled_wakeups();
        wakeups.raise(1);
        wakeups.waker(7).wake_by_ref();
        assert_eq!(wakeups.next(&cx), Some(1));
        // 1 still has frames (not settled); 7 gets the next turn, then 1 again.
        assert_eq!(wakeups.next(&cx), Some(7));
        wakeups.settled(7);
        assert_eq!(wakeups.next(&cx), Some(1));
        wakeups.settled(1);
        assert_eq!(wakeups.next(&cx), None);
    }

    #[test]
    fn sources_past_the_last_bit_share_it() {
        let cx = Context::from_waker(Waker::noop());
        let mut wakeups = settled_wakeups();
        wakeups.waker(LAST_SOURCE + 10).wake_by_ref();
        assert_eq!(wakeups.next(&cx), Some(LAST_SOURCE));
    }

    #[derive(Default)]
    struct Flag(std::sync::atomic::AtomicBool);

    impl Flag {
        fn take(&self) -> bool {
            self.0.swap(false, Ordering::SeqCst)
        }
    }

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}
