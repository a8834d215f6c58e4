//! Prometheus metrics. Hot paths count per batch of packets, not per packet.

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

/// Which way traffic flows.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectionLabel {
    pub direction: Direction,
}

#[derive(
    Debug, Clone, Copy, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelValue,
)]
#[allow(non_camel_case_types)]
pub enum Direction {
    /// Backend to client.
    clientbound,
    /// Client to backend.
    serverbound,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: &'static str,
}

/// Every metric the proxy exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub connections: Counter,
    pub connections_active: Gauge,
    pub connections_refused: Counter,
    pub players_online: Gauge,
    pub bytes: Family<DirectionLabel, Counter>,
    pub packets: Family<DirectionLabel, Counter>,
    pub errors: Family<KindLabel, Counter>,
    pub handoffs: Family<OutcomeLabel, Counter>,
    pub handoff_seconds: Histogram,
    /// The hot path's counters, resolved once: `Family::get_or_create` takes a lock and hashes
    /// the label on every call, and `forwarded` runs once per batch of every session.
    traffic: [Traffic; 2],
}

/// One direction's packet and byte counters (handles into their families).
#[derive(Debug, Clone)]
struct Traffic {
    packets: Counter,
    bytes: Counter,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: &'static str,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("meridian");
        let connections = Counter::default();
        let connections_active = Gauge::default();
        let connections_refused = Counter::default();
        let players_online = Gauge::default();
        let bytes = Family::<DirectionLabel, Counter>::default();
        let packets = Family::<DirectionLabel, Counter>::default();
        let errors = Family::<KindLabel, Counter>::default();
        let handoffs = Family::<OutcomeLabel, Counter>::default();
        let handoff_seconds =
            Histogram::new([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]);
        registry.register(
            "connections",
            "TCP connections accepted",
            connections.clone(),
        );
        registry.register(
            "connections_active",
            "TCP connections open now",
            connections_active.clone(),
        );
        registry.register(
            "connections_refused",
            "Connections closed on accept because the connection limit was reached",
            connections_refused.clone(),
        );
        registry.register(
            "players_online",
            "Players in play through this proxy",
            players_online.clone(),
        );
        registry.register(
            "bytes",
            "Packet bytes forwarded (uncompressed size)",
            bytes.clone(),
        );
        registry.register("packets", "Packets forwarded", packets.clone());
        registry.register(
            "errors",
            "Sessions ended by an error, by kind",
            errors.clone(),
        );
        registry.register(
            "handoffs",
            "Player-state handoffs between backends, by outcome",
            handoffs.clone(),
        );
        registry.register(
            "handoff_seconds",
            "Time from a handoff's start to its end",
            handoff_seconds.clone(),
        );
        let traffic = [Direction::clientbound, Direction::serverbound].map(|direction| {
            let label = DirectionLabel { direction };
            Traffic {
                packets: packets.get_or_create(&label).clone(),
                bytes: bytes.get_or_create(&label).clone(),
            }
        });
        Self {
            traffic,
            registry,
            connections,
            connections_active,
            connections_refused,
            players_online,
            bytes,
            packets,
            errors,
            handoffs,
            handoff_seconds,
        }
    }

    /// Adds one batch of forwarded traffic.
    pub fn forwarded(&self, direction: Direction, packets: u64, bytes: u64) {
        let traffic = &self.traffic[direction as usize];
        traffic.packets.inc_by(packets);
        traffic.bytes.inc_by(bytes);
    }

    /// Records a finished handoff.
    pub fn handoff(&self, succeeded: bool, took: std::time::Duration) {
        let outcome = if succeeded { "completed" } else { "failed" };
        self.handoffs.get_or_create(&OutcomeLabel { outcome }).inc();
        self.handoff_seconds.observe(took.as_secs_f64());
    }

    pub fn error(&self, kind: &'static str) {
        self.errors.get_or_create(&KindLabel { kind }).inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_traffic_lands_on_its_own_direction() {
        let metrics = Metrics::new();
        metrics.forwarded(Direction::clientbound, 3, 300);
        metrics.forwarded(Direction::serverbound, 2, 20);
        metrics.forwarded(Direction::clientbound, 1, 100);
        let text = metrics.render();
        for line in [
            "meridian_packets_total{direction=\"clientbound\"} 4",
            "meridian_packets_total{direction=\"serverbound\"} 2",
            "meridian_bytes_total{direction=\"clientbound\"} 400",
            "meridian_bytes_total{direction=\"serverbound\"} 20",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }
}
