//! meridian-bench: Meridian measured against the floor (a plain TCP relay) and against going
//! direct, all on loopback, every scenario in one run so the ratios are fair on a noisy machine.
//!
//! # Layout
//! - [`scenario`]: the scenarios (`direct`, `relay`, `meridian`, `meridian-2`) and their phases.
//! - [`client`]: the lightweight client (meridian-wire login, raw sockets in play) and the fleet.
//! - [`source`]: the synthetic traffic source, a minimal backend behind the proxy.
//! - [`swap`](mod@swap): the swap scenario: one player walking across a zone border, timed by pings.
//! - [`frames`]: pre-encoded frames and the client's frame scanner.
//! - [`relay`]: the `copy_bidirectional` relay (`meridian-bench relay`).
//! - [`proc_stats`]: CPU time and RSS from `/proc`; [`pin`]: `taskset`.
//! - [`stats`], [`report`]: percentiles, medians, ratios, the tables and the JSON line.

pub mod client;
pub mod compare;
pub mod frames;
pub mod pin;
pub mod proc_stats;
pub mod relay;
pub mod report;
pub mod scenario;
pub mod source;
pub mod stats;
pub mod swap;

use std::collections::BTreeMap;

use serde_json::json;

use crate::{
    frames::{CHUNK_PACKET_BYTES, CHUNKS_PER_BATCH},
    proc_stats::Machine,
    report::Results,
    scenario::{Env, Kind, Options, THRESHOLD},
    swap::SWAP_MARGIN,
};

/// Runs every scenario `opts.runs` times, rotating their order from run to run so that drift on
/// the machine hits each alike. A scenario that fails is recorded (its figures are void) and
/// the others go on, so that one failure still leaves a report to read.
pub async fn run(opts: &Options, machine: Machine) -> Result<Results, String> {
    let loadavg = || {
        std::fs::read_to_string("/proc/loadavg")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    let load_before = loadavg();
    let env = Env::start().await?;
    let kinds: Vec<Kind> = Kind::ALL.into_iter().filter(|_| !opts.only_swap).collect();
    let mut scenarios: BTreeMap<Kind, Vec<scenario::ScenarioRun>> = BTreeMap::new();
    let mut failures: BTreeMap<Kind, String> = BTreeMap::new();
    let mut swaps = Vec::new();
    for run in 0..opts.runs {
        for i in 0..kinds.len() {
            let kind = kinds[(i + run) % kinds.len()];
            eprintln!("run {}/{}: {}", run + 1, opts.runs, kind.name());
            match scenario::run(opts, &env, kind, run).await {
                Ok(result) => scenarios.entry(kind).or_default().push(result),
                Err(e) => {
                    eprintln!("  [{}] ERROR: {e}", kind.name());
                    failures.entry(kind).or_insert(e);
                }
            }
        }
        if opts.swap_crossings > 0 {
            eprintln!(
                "run {}/{}: swap ({} crossings)",
                run + 1,
                opts.runs,
                opts.swap_crossings_per_run()
            );
            let result = scenario::swap(opts, &env, run).await;
            if let Err(e) = &result {
                eprintln!("  [swap] ERROR: {e}");
            }
            swaps.push(result);
        }
    }
    env.shutdown.cancel();
    let frames = &env.compressed.frames;
    let method = json!({
        "traffic_source": "synthetic backend inside meridian-bench (accepts the forwarded login, \
            configuration in one packet, then pre-encoded traffic); the reference backend serves \
            the login-time phase",
        "login": format!("{} sequential logins to the reference backend (registries, tags), \
            connect → play login packet", opts.logins),
        "steady": format!("per player: move_player_pos every tick (20/s); ping_request open-loop \
            (send time in the payload) every max(5 ms, N ms); from the backend: one \
            move_entity_pos per tick and chunk batches of {CHUNKS_PER_BATCH} at {} chunks/s",
            opts.chunks_per_sec),
        "warmup_s": opts.warmup.as_secs_f64(),
        "measure_s": opts.measure.as_secs_f64(),
        "chunk_packet_bytes": CHUNK_PACKET_BYTES,
        "chunk_frame_bytes_compressed": frames.chunk_wire_bytes().round(),
        "compression_threshold": THRESHOLD,
        "throughput": format!("{} clients read chunk frames as fast as the path carries them, \
            {} s measured after the warm-up; compressed (threshold {THRESHOLD} at both ends, \
            the proxy passes frames through) and uncompressed (-1)",
            opts.flood_players, opts.flood_measure.as_secs_f64()),
        "cpu": "utime+stime of /proc/<pid>/stat of the proxy/relay process over the window, \
            divided by the packets forwarded both ways (counted at the endpoints)",
        "memory": "VmRSS of the proxy/relay process: (idle with N players − at start) / N",
        "meridian_2": format!("meridian with two synthetic backends, west (chunk x < 0, every \
            player's primary) and east (chunk x >= 0), and the players placed at x = -8.5 by \
            the backend's teleport after the play login, view distance {}: the proxy opens a \
            dummy link to east per player. Before the idle memory at each N, and again after \
            the steady window, GET /api/players must list every player with primary west and \
            dummies [east] (and the east backend count them in play), else the scenario fails. \
            Both backends stream steady traffic; the login and throughput phases are not run \
            (the same path as meridian). mem_dummy_kib_per_player is its memory per idle \
            player", source::VIEW_DISTANCE),
        "noise": format!("CPU used by other processes (from /proc/stat, minus generator and \
            target) is recorded per window; a window where it exceeds 0.2 cores is measured \
            again, up to {} more times, and the quietest is kept", opts.noisy_retries),
        "added_latency": "per run, scenario RTT percentile minus direct's at the same N; \
            median over runs",
        "swap": format!("meridian (admin API on) in front of two reference backends, west \
            (chunk x < 0) and east (chunk x >= 0); one player, after the sync handshakes and \
            {} warm-up crossings, walks between x = -4.5 and 4.5 in one-block move_player_pos \
            steps at 20 Hz, {} crossings in all (pooled over runs), sending ping_request at \
            200 Hz plus one right after each crossing move. Swap latency: the move past the \
            margin ({SWAP_MARGIN} blocks) sent -> first pong_response of a ping sent at or \
            after it (the proxy queues primary-bound packets during the handoff and delivers \
            them to the new primary). Stall: longest gap between pong arrivals overlapping \
            +-{} s of a crossing. Each swap is verified (backends' roles at each turn, the \
            proxy's completed-handoff count and /api/players at the end)",
            swap::WARMUP_CROSSINGS,
            opts.swap_crossings_per_run() * opts.runs,
            swap::STALL_WINDOW.as_secs_f64()),
    });
    Ok(Results {
        quick: opts.quick,
        runs: opts.runs,
        players: opts.players.clone(),
        machine,
        pinning: opts.pinning.describe(),
        failures,
        method,
        loadavg: [load_before, loadavg()],
        scenarios,
        swap: swaps,
    })
}
