//! The load figures a `Heartbeat` carries.
//!
//! This server has no game tick, so "milliseconds per tick" is the time connections spent
//! handling packets and events, spread over the 50 ms ticks of the interval: the same
//! question (how much of each tick is busy) asked of an event-driven server. TPS follows from
//! it as vanilla's would: 20 until a tick's work no longer fits in 50 ms.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use tokio::time::Instant;

const TICK: Duration = Duration::from_millis(50);
/// Used where `/proc` is not there to ask: a small JVM's worth, so the numbers stay plausible.
const FALLBACK_USED: i64 = 256 << 20;
const FALLBACK_MAX: i64 = 2 << 30;

/// Busy time, summed over every connection of the backend.
#[derive(Debug, Default)]
pub struct LoadMeter {
    busy_nanos: AtomicU64,
}

impl LoadMeter {
    pub fn add_busy(&self, busy: Duration) {
        let nanos = u64::try_from(busy.as_nanos()).unwrap_or(u64::MAX);
        self.busy_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    fn busy_nanos(&self) -> u64 {
        self.busy_nanos.load(Ordering::Relaxed)
    }
}

/// Where one link's previous heartbeat left the meter.
#[derive(Debug, Clone, Copy)]
pub struct LoadMark {
    busy_nanos: u64,
    at: Instant,
}

impl LoadMark {
    pub fn new(meter: &LoadMeter, now: Instant) -> Self {
        Self {
            busy_nanos: meter.busy_nanos(),
            at: now,
        }
    }

    /// `(tps, mspt)` since the previous sample, and moves the mark to now.
    pub fn sample(&mut self, meter: &LoadMeter, now: Instant) -> (f32, f32) {
        let busy = meter.busy_nanos();
        let busy_ms = busy.saturating_sub(self.busy_nanos) as f64 / 1e6;
        let ticks =
            (now.saturating_duration_since(self.at).as_secs_f64() / TICK.as_secs_f64()).max(1.0);
        *self = Self {
            busy_nanos: busy,
            at: now,
        };
        let mspt = busy_ms / ticks;
        let tps = if mspt <= 50.0 { 20.0 } else { 1000.0 / mspt };
        (tps as f32, mspt as f32)
    }
}

/// `(used, max)` bytes: the process's resident memory and the machine's total, on Linux.
pub fn memory() -> (i64, i64) {
    let used = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<i64>().ok())
        // Pages; 4 KiB on every platform this runs on in practice.
        .map(|pages| pages.saturating_mul(4096));
    let max = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
        let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kib: i64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib.saturating_mul(1024))
    });
    match (used, max) {
        (Some(used), Some(max)) if used > 0 && max >= used => (used, max),
        _ => (FALLBACK_USED, FALLBACK_MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_backend_runs_at_twenty_tps_and_a_busy_one_slower() {
        let meter = LoadMeter::default();
        let start = Instant::now();
        let mut mark = LoadMark::new(&meter, start);
        assert_eq!(
            mark.sample(&meter, start + Duration::from_secs(1)),
            (20.0, 0.0)
        );
        // 2 s of work in 1 s (two connections busy all along): 100 ms per 50 ms tick.
        meter.add_busy(Duration::from_secs(2));
        let (tps, mspt) = mark.sample(&meter, start + Duration::from_secs(2));
        assert_eq!((tps, mspt), (10.0, 100.0));
    }

    #[test]
    fn memory_is_plausible() {
        let (used, max) = memory();
        assert!(used > 0 && max >= used);
    }
}
