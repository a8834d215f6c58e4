//! `meridian-bench compare`: CPU per forwarded packet of the relay and of one or more
//! `meridian` builds, measured in windows that take turns, for judging a change.
//!
//! A full run measures each path once per run, a minute apart; on a shared machine the CPU
//! per packet of the same binary then varies by ±20 % from run to run, more than most changes
//! are worth. Here every path keeps its fleet connected (each with its own synthetic source,
//! idle while another path is measured) and the paths take turns at short steady windows,
//! round after round: neighbouring windows see the same machine, and the per-round ratios
//! show the spread.

use std::{path::PathBuf, time::Duration};

use serde_json::{Value, json};

use crate::{
    client::Fleet,
    relay::Framing,
    scenario::{self, BackendRef, Env, Kind, Options, THRESHOLD},
    source::{Mode, Source},
    stats::median,
};

/// One path under comparison: what the clients connect to and everything that feeds it.
struct Path {
    name: String,
    target: scenario::Target,
    source: Source,
    fleet: Fleet,
}

/// Which paths a comparison measures, and how.
#[derive(Debug, Clone, Copy, Default)]
pub struct Paths {
    /// The builds in the same windows, side by side on the proxy's CPU, each with `players`
    /// of its own. Whatever else disturbs the machine then disturbs all of them at once, so
    /// their ratios are far steadier than those of windows taken in turn; they compete for the
    /// CPU, so the figures are not the ones a lone proxy shows. No relay unless `relays`.
    pub together: bool,
    /// The framing relays too ([`Framing::Frames`], [`Framing::Scan`]); with `together`, the
    /// plain relay and both join the builds' windows.
    pub relays: bool,
}

impl Paths {
    /// The relays measured, plain first.
    fn relays(self) -> Vec<Framing> {
        match (self.together, self.relays) {
            (_, true) => vec![Framing::None, Framing::Frames, Framing::Scan],
            (false, false) => vec![Framing::None],
            (true, false) => Vec::new(),
        }
    }
}

/// What a path measures.
enum Under<'a> {
    Relay(Framing),
    Build(&'a PathBuf),
}

/// Measures the relays and every binary in `builds` (each named as given; the first is the one
/// the others' `cpu_vs_first_build` ratios are taken against) at `players` players for
/// `rounds` rounds; returns the JSON report.
pub async fn compare(
    opts: &Options,
    builds: &[(String, PathBuf)],
    players: usize,
    rounds: usize,
    which: Paths,
) -> Result<Value, String> {
    let env = Env::start().await?;
    let mut paths = Vec::new();
    let together = which.together;
    let relays = which.relays();
    let relay_paths = relays.len();
    let relays = relays
        .into_iter()
        .map(|framing| (framing.path_name().to_owned(), Under::Relay(framing)));
    let meridians = builds
        .iter()
        .map(|(name, bin)| (name.clone(), Under::Build(bin)));
    for (name, under) in relays.chain(meridians) {
        let source = Source::start(
            env.secret.as_bytes(),
            Some(THRESHOLD),
            env.shutdown.child_token(),
        )
        .await
        .map_err(|e| e.to_string())?;
        source.control.set_chunks_per_sec(opts.chunks_per_sec);
        source.control.set_mode(Mode::Idle);
        let backend = [BackendRef {
            id: scenario::PRIMARY_ID,
            addr: source.addr,
        }];
        let (kind, opts) = match under {
            Under::Relay(relay_framing) => (
                Kind::Relay,
                Options {
                    relay_framing,
                    ..opts.clone()
                },
            ),
            Under::Build(bin) => (
                Kind::Meridian,
                Options {
                    meridian: bin.clone(),
                    ..opts.clone()
                },
            ),
        };
        let label = format!("cmp-{name}");
        let target = scenario::target(&opts, &env, kind, &label, &backend, Some(THRESHOLD)).await?;
        eprintln!("  [{name}] {players} players");
        let mut fleet = Fleet::new();
        fleet
            .grow_to(
                players,
                target.addr,
                env.secret.as_bytes(),
                &format!("c{}x", paths.len()),
                32,
            )
            .await;
        if fleet.len() != players {
            let e = fleet.join_failures.first().cloned().unwrap_or_default();
            return Err(format!("{name}: {} of {players} joined: {e}", fleet.len()));
        }
        fleet.set_active(false);
        fleet.set_ping_period(Options::ping_period(players));
        paths.push(Path {
            name,
            target,
            source,
            fleet,
        });
    }

    let mut cpu: Vec<Vec<Option<f64>>> = vec![Vec::new(); paths.len()];
    let mut noise: Vec<Vec<Option<f64>>> = vec![Vec::new(); paths.len()];
    for round in 0..rounds {
        let mut line = format!("  round {}/{rounds}:", round + 1);
        // Side by side: one window for every path. In turn: a window per path, in an order
        // rotated from round to round, so that no path always follows the same other one.
        let windows: Vec<Vec<usize>> = if together {
            vec![(0..paths.len()).collect()]
        } else {
            (0..paths.len())
                .map(|i| vec![(i + round) % paths.len()])
                .collect()
        };
        for window in windows {
            for &k in &window {
                paths[k].source.control.set_mode(Mode::Steady);
                paths[k].fleet.set_active(true);
            }
            tokio::time::sleep(opts.warmup).await;
            let sources: Vec<[&Source; 1]> = window.iter().map(|&k| [&paths[k].source]).collect();
            let measured =
                futures_util::future::join_all(window.iter().zip(&sources).map(|(&k, source)| {
                    let path = &paths[k];
                    scenario::steady_window(opts, &path.target, &path.fleet, source, players)
                }))
                .await;
            for (&k, m) in window.iter().zip(measured) {
                let path = &paths[k];
                path.fleet.set_active(false);
                path.source.control.set_mode(Mode::Idle);
                let value = m.get("cpu_s_per_mpkt").copied().flatten();
                cpu[k].push(value);
                noise[k].push(m.get("other_cpu_util").copied().flatten());
                line.push_str(&format!(
                    " {} {}",
                    path.name,
                    value.map_or("–".into(), |v| format!("{v:.2}"))
                ));
            }
        }
        eprintln!("{line}");
    }

    // Per round, path `k`'s figure over path `base`'s; the plain relay, when measured, is
    // path 0, and the builds follow the relays.
    let first_build = relay_paths;
    let ratios = |k: usize, base: usize| -> Vec<Option<f64>> {
        cpu[k]
            .iter()
            .zip(&cpu[base])
            .map(|(a, r)| a.zip(*r).map(|(a, r)| a / r))
            .collect()
    };
    let mut report = serde_json::Map::new();
    for (k, path) in paths.iter().enumerate() {
        let mut entry = json!({
            "cpu_s_per_mpkt": cpu[k],
            "cpu_s_per_mpkt_median": median(cpu[k].iter().copied()),
            "other_cpu_util": noise[k],
        });
        if k > 0 && relay_paths > 0 {
            let r = ratios(k, 0);
            entry["cpu_vs_relay_median"] = json!(median(r.iter().copied()));
            entry["cpu_vs_relay"] = json!(r);
        }
        if k > first_build {
            let r = ratios(k, first_build);
            entry["cpu_vs_first_build_median"] = json!(median(r.iter().copied()));
            entry["cpu_vs_first_build"] = json!(r);
        }
        report.insert(path.name.clone(), entry);
    }
    for path in paths {
        path.fleet.shutdown().await;
        path.target.stop().await;
    }
    env.shutdown.cancel();
    Ok(json!({
        "players": players,
        "rounds": rounds,
        "measure_s": opts.measure.as_secs_f64(),
        "together": together,
        "relays": which.relays,
        "paths": report,
    }))
}

/// How long one window is by default: short, so that the paths' windows are close in time.
pub const DEFAULT_MEASURE: Duration = Duration::from_secs(3);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_relays_are_measured() {
        let relays = |together, relays| Paths { together, relays }.relays();
        assert_eq!(relays(false, false), [Framing::None]);
        assert_eq!(relays(true, false), []);
        let all = [Framing::None, Framing::Frames, Framing::Scan];
        assert_eq!(relays(false, true), all);
        assert_eq!(relays(true, true), all);
    }
}
