//! Medians over runs, ratios against the relay, targets, and the output: markdown tables for
//! people, then one JSON object on the last line for machines.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::{
    proc_stats::Machine,
    scenario::{Kind, SWAP_NOT_RUN, ScenarioRun},
    stats::{Metrics, median, median_metrics, percentile, round},
    swap::{Crossing, Side, SwapRun},
};

/// Below this, the relay's added latency is noise: ratios divide by at least this much (µs).
pub const ADDED_LATENCY_FLOOR_US: f64 = 5.0;

/// Everything measured, with how.
#[derive(Debug, Clone)]
pub struct Results {
    pub quick: bool,
    pub runs: usize,
    pub players: Vec<usize>,
    pub machine: Machine,
    pub pinning: String,
    pub method: Value,
    /// `/proc/loadavg` before and after: other work on the machine skews every figure.
    pub loadavg: [String; 2],
    pub scenarios: BTreeMap<Kind, Vec<ScenarioRun>>,
    /// The first error of each scenario that failed in any run: its figures are void.
    pub failures: BTreeMap<Kind, String>,
    /// The swap scenario, run by run (empty when not run).
    pub swap: Vec<Result<SwapRun, String>>,
}

/// The top-level figures, keys as in the issue.
pub const RATIO_KEYS: [&str; 7] = [
    "latency_p99_vs_relay",
    "throughput_vs_relay",
    "cpu_per_packet_vs_relay",
    "mem_idle_kib_per_player",
    "mem_dummy_kib_per_player",
    "swap_p99_ms",
    "swap_stall_max_ms",
];

/// Each target: the key, how it is judged, the limit.
const TARGETS: [(&str, &str, f64); 7] = [
    ("latency_p99_vs_relay", "<=", 1.5),
    ("throughput_vs_relay", ">=", 0.8),
    ("cpu_per_packet_vs_relay", "<=", 1.0),
    ("mem_idle_kib_per_player", "<=", 64.0),
    ("mem_dummy_kib_per_player", "<=", 192.0),
    ("swap_p99_ms", "<=", 50.0),
    ("swap_stall_max_ms", "<=", 50.0),
];

/// Whether `value` meets a target.
pub fn meets(op: &str, value: f64, limit: f64) -> bool {
    match op {
        "<=" => value <= limit,
        _ => value >= limit,
    }
}

impl Results {
    /// The fleet size for the headline latency: the smallest, one player pinging at 200 Hz in
    /// the default runs. With more players the generator's own scheduling on its CPU (its ping
    /// send lag p99 is ~2 ms at 100 players) dominates every path's p99: at 100 players the
    /// relay's added p99 came out −149, 327 and −47 µs in three runs, so a ratio to it measured
    /// the noise. Every fleet size's latency is still reported.
    pub fn latency_n(&self) -> Option<usize> {
        self.players.iter().copied().min()
    }

    /// The runs of `kind`; none if it failed in any run (a failed run voids the others: the
    /// medians would come from fewer runs than reported, or from a proxy without its links).
    fn runs_of(&self, kind: Kind) -> &[ScenarioRun] {
        if self.failures.contains_key(&kind) {
            return &[];
        }
        self.scenarios.get(&kind).map_or(&[], Vec::as_slice)
    }

    /// Why `kind` has no figures: it failed, or it was not run.
    fn missing(&self, kind: Kind) -> Option<String> {
        if let Some(e) = self.failures.get(&kind) {
            return Some(format!("the {} scenario failed: {e}", kind.name()));
        }
        self.runs_of(kind)
            .is_empty()
            .then(|| format!("the {} scenario was not run", kind.name()))
    }

    fn at(run: &ScenarioRun, n: usize, key: &str) -> Option<f64> {
        run.players.get(&n)?.get(key).copied().flatten()
    }

    fn held(&self, kind: Kind, n: usize) -> bool {
        median(self.runs_of(kind).iter().map(|r| Self::at(r, n, "held"))).is_some_and(|h| h >= 0.5)
    }

    /// The largest fleet size every measured proxy-like scenario held: where CPU per packet and
    /// memory per player are compared.
    pub fn load_n(&self) -> Option<usize> {
        let measured: Vec<Kind> = [Kind::Relay, Kind::Meridian]
            .into_iter()
            .filter(|k| !self.runs_of(*k).is_empty())
            .collect();
        self.players
            .iter()
            .copied()
            .filter(|&n| measured.iter().all(|&k| self.held(k, n)))
            .max()
    }

    /// Per run, `kind`'s latency at `n` minus direct's in the same run; the median over runs.
    fn added(&self, kind: Kind, n: usize, key: &str) -> Option<f64> {
        let direct = self.runs_of(Kind::Direct);
        median(
            self.runs_of(kind)
                .iter()
                .zip(direct)
                .map(|(r, d)| Some(Self::at(r, n, key)? - Self::at(d, n, key)?)),
        )
    }

    /// Per run, `f(kind's run) / f(relay's run)`; the median over runs.
    fn vs_relay(&self, kind: Kind, f: impl Fn(&ScenarioRun) -> Option<f64>) -> Option<f64> {
        let relay = self.runs_of(Kind::Relay);
        median(self.runs_of(kind).iter().zip(relay).map(|(r, base)| {
            let (v, b) = (f(r)?, f(base)?);
            (b > 0.0).then(|| v / b)
        }))
    }

    /// The summary of one scenario: medians, and figures derived from several fleet sizes.
    fn summary(&self, kind: Kind) -> (Metrics, BTreeMap<usize, Metrics>) {
        let runs = self.runs_of(kind);
        let mut top = median_metrics(runs.iter().map(|r| &r.metrics));
        let mut players: BTreeMap<usize, Metrics> = BTreeMap::new();
        for &n in &self.players {
            let per: Vec<&Metrics> = runs.iter().filter_map(|r| r.players.get(&n)).collect();
            if !per.is_empty() {
                players.insert(n, median_metrics(per));
            }
        }
        let lat = self.latency_n();
        let load = self.load_n();
        let get = |n: Option<usize>, key: &str| -> Option<f64> {
            players.get(&n?)?.get(key).copied().flatten()
        };
        top.insert("latency_players".into(), lat.map(|n| n as f64));
        top.insert("rtt_p50_us".into(), get(lat, "rtt_p50_us"));
        top.insert("rtt_p99_us".into(), get(lat, "rtt_p99_us"));
        let (a50, a99) = match (kind, lat) {
            (Kind::Direct, Some(_)) => (Some(0.0), Some(0.0)),
            (_, Some(n)) => (
                self.added(kind, n, "rtt_p50_us"),
                self.added(kind, n, "rtt_p99_us"),
            ),
            _ => (None, None),
        };
        top.insert("added_rtt_p50_us".into(), a50);
        top.insert("added_rtt_p99_us".into(), a99);
        top.insert(
            "stall_max_ms_single_200hz".into(),
            players
                .get(&1)
                .and_then(|m| m.get("stall_max_ms").copied().flatten()),
        );
        top.insert("load_players".into(), load.map(|n| n as f64));
        top.insert("cpu_s_per_mpkt".into(), get(load, "cpu_s_per_mpkt"));
        top.insert(
            "target_cpu_util_at_load".into(),
            get(load, "target_cpu_util"),
        );
        let max_n = self.players.iter().copied().max();
        top.insert(
            "mem_idle_kib_per_player".into(),
            get(max_n, "mem_idle_kib_per_player"),
        );
        top.insert(
            "players_max_held".into(),
            self.players
                .iter()
                .copied()
                .filter(|&n| !runs.is_empty() && self.held(kind, n))
                .max()
                .map(|n| n as f64),
        );
        (top, players)
    }

    /// The ratios and absolute figures the targets are judged on.
    pub fn ratios(&self) -> Metrics {
        let mut r = Metrics::new();
        let lat = self.latency_n();
        let load = self.load_n();
        let added = |kind: Kind, key: &str| lat.and_then(|n| self.added(kind, n, key));
        let ratio = |m: Option<f64>, base: Option<f64>| match (m, base) {
            (Some(m), Some(b)) => Some(m / b.max(ADDED_LATENCY_FLOOR_US)),
            _ => None,
        };
        r.insert(
            "latency_p99_vs_relay".into(),
            ratio(
                added(Kind::Meridian, "rtt_p99_us"),
                added(Kind::Relay, "rtt_p99_us"),
            ),
        );
        r.insert(
            "latency_p50_vs_relay".into(),
            ratio(
                added(Kind::Meridian, "rtt_p50_us"),
                added(Kind::Relay, "rtt_p50_us"),
            ),
        );
        let tput = |label: &'static str| {
            self.vs_relay(Kind::Meridian, move |run| {
                run.metrics
                    .get(&format!("throughput_{label}_mb_per_s"))
                    .copied()
                    .flatten()
            })
        };
        let (tc, tp) = (tput("compressed"), tput("plain"));
        r.insert("throughput_compressed_vs_relay".into(), tc);
        r.insert("throughput_plain_vs_relay".into(), tp);
        r.insert(
            "throughput_vs_relay".into(),
            match (tc, tp) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        );
        r.insert(
            "cpu_per_packet_vs_relay".into(),
            load.and_then(|n| {
                self.vs_relay(Kind::Meridian, |run| Self::at(run, n, "cpu_s_per_mpkt"))
            }),
        );
        let max_n = self.players.iter().copied().max();
        let mem = |kind: Kind| {
            let n = max_n?;
            median(
                self.runs_of(kind)
                    .iter()
                    .map(|run| Self::at(run, n, "mem_idle_kib_per_player")),
            )
        };
        r.insert("mem_idle_kib_per_player".into(), mem(Kind::Meridian));
        r.insert("mem_dummy_kib_per_player".into(), mem(Kind::Meridian2));
        // Pooled over every crossing of every run; none if any run failed.
        let swap = self.swap_summary().filter(|_| self.swap_error().is_none());
        let get = |key: &str| swap.as_ref().and_then(|m| m.get(key).copied().flatten());
        r.insert("swap_p99_ms".into(), get("latency_ms_p99"));
        r.insert("swap_stall_max_ms".into(), get("stall_max_ms"));
        r
    }

    /// The first failure of any scenario, if any: the bench then exits with an error.
    pub fn failure(&self) -> Option<String> {
        self.failures
            .iter()
            .map(|(kind, e)| format!("the {} scenario failed: {e}", kind.name()))
            .chain(
                self.swap_error()
                    .map(|e| format!("the swap scenario failed: {e}")),
            )
            .next()
    }

    /// The first failure of the swap scenario, if any: a swap that did not happen.
    pub fn swap_error(&self) -> Option<&str> {
        self.swap
            .iter()
            .find_map(|r| r.as_ref().err().map(String::as_str))
    }

    /// The swap figures pooled over all measured crossings of the runs that succeeded.
    pub fn swap_summary(&self) -> Option<Metrics> {
        let runs: Vec<&SwapRun> = self.swap.iter().filter_map(|r| r.as_ref().ok()).collect();
        let crossings: Vec<_> = runs.iter().flat_map(|r| r.crossings.iter()).collect();
        if crossings.is_empty() {
            return None;
        }
        let ms = |v: Option<u64>| v.map(|ns| ns as f64 / 1e6);
        let sorted = |side: Option<Side>, f: fn(&Crossing) -> u64| {
            let mut v: Vec<u64> = crossings
                .iter()
                .filter(|c| side.is_none_or(|s| c.to == s))
                .map(|c| f(c))
                .collect();
            v.sort_unstable();
            v
        };
        let latency = sorted(None, |c| c.latency_ns);
        let stall = sorted(None, |c| c.stall_ns);
        let send_gap = sorted(None, |c| c.send_gap_ns);
        let mut m = Metrics::new();
        m.insert("runs".into(), Some(runs.len() as f64));
        m.insert("crossings".into(), Some(crossings.len() as f64));
        m.insert("latency_ms_min".into(), ms(latency.first().copied()));
        m.insert("latency_ms_p50".into(), ms(percentile(&latency, 0.5)));
        m.insert("latency_ms_p99".into(), ms(percentile(&latency, 0.99)));
        m.insert("latency_ms_max".into(), ms(latency.last().copied()));
        for side in [Side::East, Side::West] {
            m.insert(
                format!("latency_ms_p50_to_{}", side.id()),
                ms(percentile(&sorted(Some(side), |c| c.latency_ns), 0.5)),
            );
        }
        m.insert("stall_ms_p50".into(), ms(percentile(&stall, 0.5)));
        m.insert("stall_max_ms".into(), ms(stall.last().copied()));
        m.insert("ping_send_gap_max_ms".into(), ms(send_gap.last().copied()));
        m.insert(
            "proxy_handoff_ms_mean".into(),
            median(runs.iter().map(|r| r.proxy_handoff_ms_mean)),
        );
        for key in ["proxy_cpu_util", "other_cpu_util"] {
            let f = |r: &&SwapRun| match key {
                "proxy_cpu_util" => r.proxy_cpu_util,
                _ => r.other_cpu_util,
            };
            m.insert(key.into(), median(runs.iter().map(f)));
        }
        let (sent, pongs) = runs
            .iter()
            .fold((0, 0), |(s, p), r| (s + r.pings_sent, p + r.pongs));
        m.insert(
            "pong_ratio".into(),
            (sent > 0).then(|| pongs as f64 / sent as f64),
        );
        let sum = |f: fn(&SwapRun) -> u64| Some(runs.iter().map(|r| f(r)).sum::<u64>() as f64);
        m.insert("handoffs_completed".into(), sum(|r| r.handoffs_completed));
        m.insert(
            "keep_alives_answered".into(),
            sum(|r| r.keep_alives_answered),
        );
        m.insert("teleports_received".into(), sum(|r| r.teleports));
        m.insert(
            "walk_seconds".into(),
            Some(runs.iter().map(|r| r.walk_seconds).sum()),
        );
        Some(m)
    }

    /// The swap scenario's JSON: pooled figures, run by run, and every crossing.
    fn swap_json(&self) -> Value {
        let mut s = Map::new();
        s.insert("available".into(), json!(!self.swap.is_empty()));
        s.insert(
            "reason".into(),
            if self.swap.is_empty() {
                json!(SWAP_NOT_RUN)
            } else {
                Value::Null
            },
        );
        s.insert("error".into(), json!(self.swap_error()));
        for (k, v) in self.swap_summary().unwrap_or_default() {
            s.insert(k, num(v));
        }
        let runs: Vec<Option<&SwapRun>> = self.swap.iter().map(|r| r.as_ref().ok()).collect();
        let series = |f: &dyn Fn(&SwapRun) -> Option<f64>| -> Value {
            runs.iter().map(|r| num(r.and_then(f))).collect()
        };
        let max_ms = |r: &SwapRun, f: fn(&Crossing) -> u64| {
            r.crossings.iter().map(f).max().map(|ns| ns as f64 / 1e6)
        };
        s.insert(
            "per_run".into(),
            json!({
                "crossings": series(&|r| Some(r.crossings.len() as f64)),
                "latency_ms_p99": series(&|r| {
                    let mut v: Vec<u64> = r.crossings.iter().map(|c| c.latency_ns).collect();
                    v.sort_unstable();
                    percentile(&v, 0.99).map(|ns| ns as f64 / 1e6)
                }),
                "latency_ms_max": series(&|r| max_ms(r, |c| c.latency_ns)),
                "stall_max_ms": series(&|r| max_ms(r, |c| c.stall_ns)),
                "proxy_handoff_ms_mean": series(&|r| r.proxy_handoff_ms_mean),
            }),
        );
        let all: Vec<_> = runs.iter().flatten().flat_map(|r| &r.crossings).collect();
        s.insert(
            "raw".into(),
            json!({
                "to": all.iter().map(|c| c.to.id()).collect::<Vec<_>>(),
                "latency_ms": all.iter().map(|c| num(Some(c.latency_ns as f64 / 1e6))).collect::<Vec<_>>(),
                "stall_ms": all.iter().map(|c| num(Some(c.stall_ns as f64 / 1e6))).collect::<Vec<_>>(),
                "stall_at_ms": all.iter().map(|c| num(Some(c.stall_at_ns as f64 / 1e6))).collect::<Vec<_>>(),
                "ping_send_gap_ms": all.iter().map(|c| num(Some(c.send_gap_ns as f64 / 1e6))).collect::<Vec<_>>(),
            }),
        );
        Value::Object(s)
    }

    /// Why a figure is missing.
    fn pending(&self, key: &str) -> Option<String> {
        // The scenarios each figure is taken from.
        let from: &[Kind] = match key {
            "swap_p99_ms" | "swap_stall_max_ms" => {
                return Some(match self.swap_error() {
                    Some(e) => format!("the swap scenario failed: {e}"),
                    None if self.swap.is_empty() => SWAP_NOT_RUN.to_owned(),
                    None => "no crossing measured".to_owned(),
                });
            }
            "mem_dummy_kib_per_player" => &[Kind::Meridian2],
            "mem_idle_kib_per_player" => &[Kind::Meridian],
            "throughput_vs_relay" | "cpu_per_packet_vs_relay" => &[Kind::Meridian, Kind::Relay],
            _ => &[Kind::Meridian, Kind::Relay, Kind::Direct],
        };
        from.iter().find_map(|&k| self.missing(k))
    }

    /// A few headline figures run by run, to show the spread behind the medians.
    fn per_run(&self, kind: Kind) -> Value {
        let runs = self.runs_of(kind);
        let direct = self.runs_of(Kind::Direct);
        let lat = self.latency_n();
        let load = self.load_n();
        let mut out = Map::new();
        let mut series = |name: &str, f: &dyn Fn(usize, &ScenarioRun) -> Option<f64>| {
            let values: Vec<Value> = runs.iter().enumerate().map(|(i, r)| num(f(i, r))).collect();
            out.insert(name.into(), Value::Array(values));
        };
        series("added_rtt_p99_us", &|i, r| {
            let n = lat?;
            Some(Self::at(r, n, "rtt_p99_us")? - Self::at(direct.get(i)?, n, "rtt_p99_us")?)
        });
        series("cpu_s_per_mpkt", &|_, r| {
            Self::at(r, load?, "cpu_s_per_mpkt")
        });
        series("other_cpu_util_at_load", &|_, r| {
            Self::at(r, load?, "other_cpu_util")
        });
        for key in [
            "throughput_compressed_mb_per_s",
            "throughput_plain_mb_per_s",
        ] {
            series(key, &|_, r| r.metrics.get(key).copied().flatten());
        }
        Value::Object(out)
    }

    /// The whole report as JSON.
    pub fn to_json(&self) -> Value {
        let mut scenarios = Map::new();
        let meridian_keys: Vec<String> = self.summary(Kind::Meridian).0.into_keys().collect();
        for kind in Kind::ALL {
            let mut s = Map::new();
            s.insert("error".into(), json!(self.failures.get(&kind)));
            match self.missing(kind) {
                None => {
                    let (top, players) = self.summary(kind);
                    s.insert("available".into(), json!(true));
                    s.insert("reason".into(), Value::Null);
                    for (k, v) in top {
                        s.insert(k, num(v));
                    }
                    let mut per = Map::new();
                    for (n, m) in players {
                        per.insert(n.to_string(), metrics_json(&m));
                    }
                    s.insert("players".into(), Value::Object(per));
                    s.insert("per_run".into(), self.per_run(kind));
                }
                Some(reason) => {
                    s.insert("available".into(), json!(false));
                    s.insert("reason".into(), json!(reason));
                    for k in &meridian_keys {
                        s.insert(k.clone(), Value::Null);
                    }
                    s.insert("players".into(), json!({}));
                }
            }
            scenarios.insert(kind.name().into(), Value::Object(s));
        }
        scenarios.insert("swap".into(), self.swap_json());
        let ratios = self.ratios();
        let mut targets = Map::new();
        for (key, op, limit) in TARGETS {
            let value = ratios.get(key).copied().flatten();
            let mut t = Map::new();
            t.insert("target".into(), json!(format!("{op} {limit}")));
            t.insert("value".into(), num(value));
            t.insert(
                "met".into(),
                value.map_or(Value::Null, |v| json!(meets(op, v, limit))),
            );
            if value.is_none() {
                t.insert(
                    "reason".into(),
                    json!(
                        self.pending(key)
                            .unwrap_or_else(|| "not measured in this run".to_owned())
                    ),
                );
            }
            targets.insert(key.into(), Value::Object(t));
        }
        json!({
            "bench": "meridian-bench",
            "quick": self.quick,
            "machine": {
                "nproc": self.machine.nproc,
                "cpu_model": self.machine.cpu_model,
                "kernel": self.machine.kernel,
                "loadavg_before": self.loadavg[0],
                "loadavg_after": self.loadavg[1],
            },
            "pinning": self.pinning,
            "runs": self.runs,
            "players": self.players,
            "method": self.method,
            "scenarios": scenarios,
            "ratios": metrics_json(&ratios),
            "targets": targets,
        })
    }

    /// Markdown tables.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let kinds: Vec<Kind> = Kind::ALL.to_vec();
        let summaries: Vec<Option<(Metrics, BTreeMap<usize, Metrics>)>> = kinds
            .iter()
            .map(|&k| (!self.runs_of(k).is_empty()).then(|| self.summary(k)))
            .collect();
        let header = |out: &mut String, first: &str| {
            out.push_str(&format!("| {first} |"));
            for k in &kinds {
                out.push_str(&format!(" {} |", k.name()));
            }
            out.push_str("\n|---|");
            for _ in &kinds {
                out.push_str("---:|");
            }
            out.push('\n');
        };
        let cell = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{}", round(v)));
        out.push_str(&format!(
            "### Scenarios (median of {} run{})\n\n",
            self.runs,
            if self.runs == 1 { "" } else { "s" }
        ));
        header(&mut out, "figure");
        let rows: [(&str, &str); 19] = [
            ("login_ms_p50", "login ms p50 (reference backend)"),
            ("login_ms_p99", "login ms p99"),
            ("latency_players", "latency measured at N players"),
            ("rtt_p50_us", "ping RTT µs p50"),
            ("rtt_p99_us", "ping RTT µs p99"),
            ("added_rtt_p50_us", "added RTT µs p50 (vs direct)"),
            ("added_rtt_p99_us", "added RTT µs p99 (vs direct)"),
            (
                "stall_max_ms_single_200hz",
                "longest pong gap ms, 1 player @200 Hz",
            ),
            (
                "throughput_compressed_mb_per_s",
                "throughput MB/s, compressed",
            ),
            (
                "throughput_compressed_pkt_per_s",
                "throughput pkt/s, compressed",
            ),
            ("throughput_plain_mb_per_s", "throughput MB/s, uncompressed"),
            (
                "throughput_plain_pkt_per_s",
                "throughput pkt/s, uncompressed",
            ),
            (
                "throughput_compressed_target_cpu_util",
                "target CPU during compressed flood",
            ),
            (
                "throughput_compressed_generator_cpu_util",
                "generator CPU during compressed flood",
            ),
            ("load_players", "CPU compared at N players"),
            ("cpu_s_per_mpkt", "CPU s per million forwarded packets"),
            ("rss_baseline_kib", "RSS at start, KiB"),
            ("mem_idle_kib_per_player", "RSS KiB per idle player (max N)"),
            ("players_max_held", "most players held"),
        ];
        for (key, label) in rows {
            out.push_str(&format!("| {label} |"));
            for s in &summaries {
                let v = s.as_ref().and_then(|(m, _)| m.get(key).copied().flatten());
                out.push_str(&format!(" {} |", cell(v)));
            }
            out.push('\n');
        }
        let per_rows: [(&str, &str); 18] = [
            ("joined", "players joined"),
            ("dummy_links", "players with a dummy link (admin API)"),
            (
                "dummy_link_seconds",
                "s from joined to every dummy link open",
            ),
            ("rtt_p50_us", "ping RTT µs p50"),
            ("rtt_p99_us", "ping RTT µs p99"),
            ("rtt_max_us", "ping RTT µs max"),
            ("stall_max_ms", "longest pong gap ms"),
            ("pong_ratio", "pongs / pings due"),
            ("clientbound_pkt_per_s", "clientbound pkt/s"),
            ("clientbound_mb_per_s", "clientbound MB/s"),
            ("serverbound_pkt_per_s", "serverbound pkt/s"),
            ("target_cpu_util", "target CPU (1 = one core)"),
            ("cpu_s_per_mpkt", "CPU s per million packets"),
            ("mem_idle_kib_per_player", "RSS KiB per idle player"),
            ("generator_cpu_util", "generator CPU"),
            ("ping_send_lag_p99_us", "ping send lag µs p99 (generator)"),
            ("other_cpu_util", "other processes' CPU (noise)"),
            ("noisy_windows", "windows re-measured for noise"),
        ];
        for &n in &self.players {
            out.push_str(&format!(
                "\n### {n} player{}, steady traffic\n\n",
                if n == 1 { "" } else { "s" }
            ));
            header(&mut out, "figure");
            for (key, label) in per_rows {
                out.push_str(&format!("| {label} |"));
                for s in &summaries {
                    let v = s
                        .as_ref()
                        .and_then(|(_, p)| p.get(&n)?.get(key).copied().flatten());
                    out.push_str(&format!(" {} |", cell(v)));
                }
                out.push('\n');
            }
        }
        if let Some(m) = self.swap_summary() {
            out.push_str(&format!(
                "\n### Swap (meridian, west ↔ east, 1 player, pooled over {} run{})\n\n\
                 | figure | value |\n|---|---:|\n",
                self.swap.len(),
                if self.swap.len() == 1 { "" } else { "s" }
            ));
            for (key, label) in [
                ("crossings", "crossings measured"),
                (
                    "latency_ms_p50",
                    "swap latency ms p50 (crossing move → first pong)",
                ),
                ("latency_ms_p99", "swap latency ms p99"),
                ("latency_ms_max", "swap latency ms max"),
                ("latency_ms_p50_to_east", "swap latency ms p50, west → east"),
                ("latency_ms_p50_to_west", "swap latency ms p50, east → west"),
                ("proxy_handoff_ms_mean", "proxy's handoff ms, mean"),
                ("stall_ms_p50", "longest pong gap ms within ±1 s, p50"),
                ("stall_max_ms", "longest pong gap ms within ±1 s, max"),
                (
                    "ping_send_gap_max_ms",
                    "longest gap between ping sends ms (generator), max",
                ),
                ("pong_ratio", "pongs / pings sent"),
                ("proxy_cpu_util", "proxy CPU (1 = one core)"),
                ("other_cpu_util", "other processes' CPU (noise)"),
            ] {
                let v = m.get(key).copied().flatten();
                out.push_str(&format!("| {label} | {} |\n", cell(v)));
            }
        }
        if let Some(e) = self.swap_error() {
            out.push_str(&format!("\n**The swap scenario failed**: {e}\n"));
        }
        out.push_str("\n### Targets\n\n| figure | value | target | met |\n|---|---:|---:|---|\n");
        let ratios = self.ratios();
        for (key, op, limit) in TARGETS {
            let value = ratios.get(key).copied().flatten();
            let met = match value {
                Some(v) if meets(op, v, limit) => "yes".to_owned(),
                Some(_) => "**no**".to_owned(),
                None => format!(
                    "not measured: {}",
                    self.pending(key)
                        .unwrap_or_else(|| "no figure in this run".to_owned())
                ),
            };
            out.push_str(&format!(
                "| {key} | {} | {op} {limit} | {met} |\n",
                cell(value)
            ));
        }
        for key in [
            "latency_p50_vs_relay",
            "throughput_compressed_vs_relay",
            "throughput_plain_vs_relay",
        ] {
            let value = ratios.get(key).copied().flatten();
            out.push_str(&format!("| {key} | {} | | (detail) |\n", cell(value)));
        }
        for kind in kinds {
            if let Some(reason) = self.missing(kind) {
                out.push_str(&format!("\n**`{}` not measured**: {reason}\n", kind.name()));
            }
        }
        out
    }
}

fn num(v: Option<f64>) -> Value {
    match v {
        Some(v) if v.is_finite() => json!(round(v)),
        _ => Value::Null,
    }
}

fn metrics_json(m: &Metrics) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), num(*v))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rtt99: f64, cpu: f64, tput: f64) -> ScenarioRun {
        let mut r = ScenarioRun::default();
        r.metrics
            .insert("throughput_compressed_mb_per_s".into(), Some(tput));
        r.metrics
            .insert("throughput_plain_mb_per_s".into(), Some(tput * 2.0));
        r.metrics.insert("login_ms_p50".into(), Some(3.0));
        let mut m = Metrics::new();
        m.insert("rtt_p50_us".into(), Some(rtt99 / 2.0));
        m.insert("rtt_p99_us".into(), Some(rtt99));
        m.insert("cpu_s_per_mpkt".into(), Some(cpu));
        m.insert("mem_idle_kib_per_player".into(), Some(40.0));
        m.insert("held".into(), Some(1.0));
        r.players.insert(10, m);
        r
    }

    fn results() -> Results {
        let mut scenarios = BTreeMap::new();
        scenarios.insert(Kind::Direct, vec![run(100.0, 0.0, 500.0); 3]);
        scenarios.insert(Kind::Relay, vec![run(120.0, 2.0, 400.0); 3]);
        scenarios.insert(
            Kind::Meridian,
            vec![
                run(130.0, 3.0, 300.0),
                run(150.0, 3.0, 300.0),
                run(200.0, 3.0, 300.0),
            ],
        );
        Results {
            quick: true,
            runs: 3,
            players: vec![10],
            machine: Machine {
                nproc: 2,
                cpu_model: "test".into(),
                kernel: "test".into(),
            },
            pinning: "test".into(),
            method: json!({}),
            loadavg: [String::new(), String::new()],
            scenarios,
            failures: BTreeMap::new(),
            swap: Vec::new(),
        }
    }

    #[test]
    fn ratios_against_the_relay() {
        let r = results().ratios();
        // Added p99: meridian median of 30, 50, 100 = 50; relay 20.
        assert_eq!(r["latency_p99_vs_relay"], Some(2.5));
        assert_eq!(r["throughput_vs_relay"], Some(0.75));
        assert_eq!(r["cpu_per_packet_vs_relay"], Some(1.5));
        assert_eq!(r["mem_idle_kib_per_player"], Some(40.0));
        assert_eq!(r["mem_dummy_kib_per_player"], None);
        assert_eq!(r["swap_p99_ms"], None);
    }

    #[test]
    fn memory_with_a_dummy_link_comes_from_meridian_2_and_a_failure_voids_it() {
        let mut r = results();
        let with_dummy = |kib: f64| {
            let mut run = run(180.0, 4.0, 300.0);
            if let Some(m) = run.players.get_mut(&10) {
                m.insert("mem_idle_kib_per_player".into(), Some(kib));
                m.insert("dummy_links".into(), Some(10.0));
            }
            run
        };
        r.scenarios.insert(
            Kind::Meridian2,
            vec![with_dummy(150.0), with_dummy(100.0), with_dummy(170.0)],
        );
        assert_eq!(r.ratios()["mem_dummy_kib_per_player"], Some(150.0));
        assert_eq!(r.failure(), None);
        let v = r.to_json();
        assert_eq!(v["scenarios"]["meridian-2"]["available"], json!(true));
        assert!(v["scenarios"]["meridian-2"]["error"].is_null());
        assert_eq!(
            v["scenarios"]["meridian-2"]["mem_idle_kib_per_player"],
            json!(150.0)
        );
        assert_eq!(
            v["scenarios"]["meridian-2"]["players"]["10"]["dummy_links"],
            json!(10.0)
        );
        assert_eq!(v["targets"]["mem_dummy_kib_per_player"]["met"], json!(true));
        let table = r.to_table();
        assert!(table.contains("| mem_dummy_kib_per_player | 150 | <= 192 | yes |"));
        assert!(table.contains("| players with a dummy link (admin API) | – | – | – | 10 |"));

        // One run without its dummy links voids the scenario: no figure, the reason, an error.
        r.failures
            .insert(Kind::Meridian2, "not every player has a dummy link".into());
        assert_eq!(r.ratios()["mem_dummy_kib_per_player"], None);
        assert!(r.failure().unwrap().contains("meridian-2 scenario failed"));
        let v = r.to_json();
        assert_eq!(v["scenarios"]["meridian-2"]["available"], json!(false));
        assert_eq!(
            v["scenarios"]["meridian-2"]["error"],
            json!("not every player has a dummy link")
        );
        assert!(
            v["targets"]["mem_dummy_kib_per_player"]["reason"]
                .as_str()
                .unwrap()
                .contains("not every player has a dummy link")
        );
        // The other figures stand.
        assert_eq!(r.ratios()["mem_idle_kib_per_player"], Some(40.0));
        let table = r.to_table();
        assert!(table.contains("**`meridian-2` not measured**"));
        assert!(
            table
                .contains("| mem_dummy_kib_per_player | – | <= 192 | not measured: the meridian-2")
        );
    }

    #[test]
    fn swap_figures_are_pooled_over_runs_and_a_failure_voids_them() {
        let ms = 1_000_000;
        let run = |latencies: &[u64]| SwapRun {
            crossings: latencies
                .iter()
                .enumerate()
                .map(|(i, &l)| Crossing {
                    to: if i % 2 == 0 { Side::East } else { Side::West },
                    latency_ns: l * ms,
                    stall_ns: (l + 5) * ms,
                    stall_at_ns: 0,
                    send_gap_ns: 5 * ms,
                })
                .collect(),
            pings_sent: 100,
            pongs: 99,
            proxy_handoff_ms_mean: Some(3.0),
            ..SwapRun::default()
        };
        let mut r = results();
        r.swap = vec![Ok(run(&[10, 20, 30])), Ok(run(&[40, 12, 14]))];
        let ratios = r.ratios();
        assert_eq!(ratios["swap_p99_ms"], Some(40.0));
        assert_eq!(ratios["swap_stall_max_ms"], Some(45.0));
        let m = r.swap_summary().unwrap();
        assert_eq!(m["crossings"], Some(6.0));
        assert_eq!(m["latency_ms_p50"], Some(14.0));
        // East: 10, 30, 40, 14 → p50 (nearest rank) 14; west: 20, 12 → 12.
        assert_eq!(m["latency_ms_p50_to_east"], Some(14.0));
        assert_eq!(m["latency_ms_p50_to_west"], Some(12.0));
        let v = r.to_json();
        assert_eq!(v["scenarios"]["swap"]["available"], json!(true));
        assert_eq!(v["scenarios"]["swap"]["raw"]["latency_ms"][3], json!(40.0));
        assert_eq!(v["targets"]["swap_p99_ms"]["met"], json!(true));
        assert!(r.to_table().contains("| swap latency ms p99 | 40 |"));

        r.swap.push(Err("no swap to east".into()));
        assert_eq!(r.swap_error(), Some("no swap to east"));
        assert_eq!(r.ratios()["swap_p99_ms"], None);
        let v = r.to_json();
        assert_eq!(v["scenarios"]["swap"]["error"], json!("no swap to east"));
        assert!(
            v["targets"]["swap_p99_ms"]["reason"]
                .as_str()
                .unwrap()
                .contains("failed")
        );
    }

    #[test]
    fn json_has_the_agreed_shape() {
        let v = results().to_json();
        assert!(v["pinning"].is_string());
        assert_eq!(v["runs"], json!(3));
        for name in ["direct", "relay", "meridian", "meridian-2"] {
            assert!(v["scenarios"][name].is_object(), "{name}");
            assert!(v["scenarios"][name]["available"].is_boolean(), "{name}");
        }
        // Not run here: reported as such, with every key of a measured scenario.
        assert_eq!(v["scenarios"]["meridian-2"]["available"], json!(false));
        assert!(
            v["scenarios"]["meridian-2"]["reason"]
                .as_str()
                .unwrap()
                .contains("not run")
        );
        assert!(
            v["scenarios"]["meridian-2"]
                .as_object()
                .unwrap()
                .contains_key("mem_idle_kib_per_player")
        );
        assert!(v["scenarios"]["meridian-2"]["rtt_p99_us"].is_null());
        assert_eq!(v["scenarios"]["meridian"]["added_rtt_p99_us"], json!(50.0));
        for key in RATIO_KEYS {
            assert!(v["ratios"].get(key).is_some(), "{key}");
        }
        assert!(v["ratios"]["swap_p99_ms"].is_null());
        assert_eq!(v["scenarios"]["swap"]["available"], json!(false));
        assert_eq!(v["targets"]["throughput_vs_relay"]["met"], json!(false));
        assert_eq!(v["targets"]["mem_idle_kib_per_player"]["met"], json!(true));
        assert!(v["targets"]["swap_p99_ms"]["reason"].is_string());
        // One line of JSON, as the last line of the output must be.
        assert!(!serde_json::to_string(&v).unwrap().contains('\n'));
        let table = results().to_table();
        assert!(table.contains("| throughput_vs_relay | 0.75 | >= 0.8 | **no** |"));
    }
}
