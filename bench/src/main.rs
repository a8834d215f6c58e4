//! `meridian-bench run [--quick]`: the benchmark; `meridian-bench compare`: CPU per packet of
//! builds side by side; `meridian-bench relay`: the floor they compare against, as its own
//! process.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};
use meridian_bench::{
    compare,
    pin::{self, Pinning},
    proc_stats::Machine,
    relay::Framing,
    scenario::Options,
};

#[derive(Debug, Parser)]
#[command(
    name = "meridian-bench",
    about = "Meridian against a plain TCP relay and against going direct"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every scenario; prints markdown tables, then one JSON object as the last line.
    Run {
        /// Smoke run for CI: one run, few players, short phases (under 60 s).
        #[arg(long)]
        quick: bool,
        /// Fleet sizes (default 1 100 500 1000; quick: 1 20).
        #[arg(long, num_args = 1..)]
        players: Option<Vec<usize>>,
        /// Runs of every scenario; medians are reported (default 3; quick: 1).
        #[arg(long)]
        runs: Option<usize>,
        /// The `meridian` binary (default: next to this one).
        #[arg(long)]
        meridian: Option<PathBuf>,
        /// Average chunk columns per second per player in steady traffic.
        #[arg(long, default_value_t = 4.0, value_parser = rate)]
        chunks_per_sec: f64,
        /// Seconds measured per fleet size (default 5; quick: 1.5).
        #[arg(long, value_parser = window_secs)]
        measure_secs: Option<Duration>,
        /// Border crossings the swap scenario measures, over all runs (default 100; quick:
        /// 20; 0 skips the scenario).
        #[arg(long)]
        swap_crossings: Option<usize>,
        /// Run only the swap scenario.
        #[arg(long)]
        only_swap: bool,
    },
    /// CPU per forwarded packet of the relay and of each `--meridian` build, in short steady
    /// windows taking turns round after round; prints one JSON object. For judging a change:
    /// neighbouring windows see the same machine, where a full run's paths are a minute apart.
    Compare {
        /// The builds to compare (default: the `meridian` next to this binary).
        #[arg(long, num_args = 1..)]
        meridian: Vec<PathBuf>,
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
        players: u32,
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
        rounds: u32,
        /// Seconds per window (default 3).
        #[arg(long, value_parser = window_secs)]
        measure_secs: Option<Duration>,
        #[arg(long, default_value_t = 4.0, value_parser = rate)]
        chunks_per_sec: f64,
        /// Measure the builds side by side in the same windows (no relay unless `--relays`):
        /// steadier ratios between builds, at `--players` each.
        #[arg(long)]
        together: bool,
        /// Also measure the framing relays (`relay --framing frames|scan`) beside the plain
        /// one, splitting the proxy's cost over the relay's into framing and the rest; with
        /// `--together`, the three relays join the builds' windows.
        #[arg(long)]
        relays: bool,
    },
    /// A plain TCP relay (tokio `copy_bidirectional`).
    Relay {
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long)]
        to: SocketAddr,
        /// Stops by itself after this long.
        #[arg(long, default_value_t = 3600)]
        max_seconds: u64,
        /// How the relay treats what it forwards: as bytes (the floor), or as frames it reads
        /// packet ids from (what framing alone costs).
        #[arg(long, value_enum, default_value_t = Framing::None)]
        framing: Framing,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Relay {
            listen,
            to,
            max_seconds,
            framing,
        } => {
            let cpus = std::thread::available_parallelism().map_or(1, usize::from);
            let runtime = match meridian_bench::relay::runtime(framing, cpus) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(meridian_bench::relay::run(
                listen,
                to,
                Duration::from_secs(max_seconds),
                framing,
            )) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("relay: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Run {
            quick,
            players,
            runs,
            meridian,
            chunks_per_sec,
            measure_secs,
            swap_crossings,
            only_swap,
        } => {
            let setup = match Setup::new(meridian.into_iter().collect()) {
                Ok(setup) => setup,
                Err(code) => return code,
            };
            let mut players = players.unwrap_or_else(|| {
                if quick {
                    vec![1, 20]
                } else {
                    vec![1, 100, 500, 1000]
                }
            });
            players.sort_unstable();
            players.dedup();
            players.retain(|&n| n > 0);
            let opts = setup.options(
                quick,
                players,
                runs.unwrap_or(if quick { 1 } else { 3 }),
                chunks_per_sec,
                measure_secs.unwrap_or(secs(if quick { 1.5 } else { 5.0 })),
                swap_crossings.unwrap_or(if quick { 20 } else { 100 }),
                only_swap,
            );
            let started = std::time::Instant::now();
            let result = block_on(meridian_bench::run(&opts, setup.machine.clone()));
            let Some(result) = result else {
                return ExitCode::FAILURE;
            };
            match result {
                Ok(results) => {
                    eprintln!("finished in {:.1} s", started.elapsed().as_secs_f64());
                    println!("{}", results.to_table());
                    println!("{}", results.to_json());
                    // A swap that did not happen, or a meridian-2 without its dummy links, is a
                    // failure, not a missing figure.
                    match results.failure() {
                        Some(e) => setup.failed(&e, ExitCode::from(3)),
                        None => setup.succeeded(),
                    }
                }
                Err(e) => setup.failed(&e, ExitCode::FAILURE),
            }
        }
        Command::Compare {
            meridian,
            players,
            rounds,
            measure_secs,
            chunks_per_sec,
            together,
            relays,
        } => {
            let setup = match Setup::new(meridian) {
                Ok(setup) => setup,
                Err(code) => return code,
            };
            let players = players as usize;
            let opts = setup.options(
                false,
                vec![players],
                1,
                chunks_per_sec,
                measure_secs.unwrap_or(compare::DEFAULT_MEASURE),
                0,
                false,
            );
            let result = block_on(compare::compare(
                &opts,
                &setup.builds,
                players,
                rounds as usize,
                compare::Paths { together, relays },
            ));
            match result {
                Some(Ok(report)) => {
                    println!("{report}");
                    setup.succeeded()
                }
                Some(Err(e)) => setup.failed(&e, ExitCode::FAILURE),
                None => ExitCode::FAILURE,
            }
        }
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// `--measure-secs`: a window of a positive number of seconds, at most an hour.
fn window_secs(arg: &str) -> Result<Duration, String> {
    let s: f64 = arg.parse().map_err(|e| format!("{e}"))?;
    if !(s > 0.0 && s <= 3600.0) {
        return Err(format!("{s} is not between 0 and 3600 seconds"));
    }
    Ok(secs(s))
}

/// `--chunks-per-sec`: a finite rate, zero or more.
fn rate(arg: &str) -> Result<f64, String> {
    let r: f64 = arg.parse().map_err(|e| format!("{e}"))?;
    if !(r.is_finite() && r >= 0.0) {
        return Err(format!("{r} is not a rate of zero or more"));
    }
    Ok(r)
}

/// Runs `future` on a current-thread runtime (the generator's one CPU); `None` if there is
/// none to be had.
fn block_on<F: std::future::Future>(future: F) -> Option<F::Output> {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("runtime: {e}");
            return None;
        }
    };
    let out = runtime.block_on(future);
    // Connections still closing must not outlive the report.
    runtime.shutdown_timeout(Duration::from_secs(2));
    Some(out)
}

/// What both `run` and `compare` need before anything starts: the bench pinned to the
/// generator's CPU, and private copies of the binaries.
struct Setup {
    machine: Machine,
    pinning: Pinning,
    taskset: PathBuf,
    bench_exe: PathBuf,
    /// The `meridian` builds, each named by its file name (made unique), as copied.
    builds: Vec<(String, PathBuf)>,
    work_dir: PathBuf,
}

impl Setup {
    /// `meridian`: the builds to measure; none means the one next to this executable.
    fn new(meridian: Vec<PathBuf>) -> Result<Self, ExitCode> {
        let taskset = pin::taskset().map_err(|e| {
            eprintln!("meridian-bench: {e}");
            ExitCode::from(2)
        })?;
        let machine = Machine::detect();
        let pinning = Pinning::plan(machine.nproc);
        match pin::reexec_pinned(&taskset, pinning.generator) {
            Ok(None) => {}
            Ok(Some(code)) => return Err(ExitCode::from(code.clamp(0, 255) as u8)),
            Err(e) => {
                eprintln!("meridian-bench: {e}");
                return Err(ExitCode::from(2));
            }
        }
        let Ok(bench_exe) = std::env::current_exe() else {
            eprintln!("meridian-bench: cannot find its own executable");
            return Err(ExitCode::FAILURE);
        };
        let meridian = if meridian.is_empty() {
            vec![bench_exe.with_file_name("meridian")]
        } else {
            meridian
        };
        if let Some(missing) = meridian.iter().find(|m| !m.is_file()) {
            eprintln!(
                "meridian-bench: no meridian binary at {} (cargo build --release -p meridian)",
                missing.display()
            );
            return Err(ExitCode::FAILURE);
        }
        let work_dir = std::env::temp_dir().join(format!("meridian-bench-{}", std::process::id()));
        if let Err(e) = std::fs::create_dir_all(&work_dir) {
            eprintln!("meridian-bench: {}: {e}", work_dir.display());
            return Err(ExitCode::FAILURE);
        }
        // Others may rebuild target/release while this runs: every scenario must use the
        // same binaries, so they run from copies.
        let copy = |from: &PathBuf, name: &str| -> Result<PathBuf, ExitCode> {
            let to = work_dir.join(name);
            std::fs::copy(from, &to).map(|_| to).map_err(|e| {
                eprintln!("meridian-bench: copy {}: {e}", from.display());
                ExitCode::FAILURE
            })
        };
        let bench_exe = copy(&bench_exe, "meridian-bench")?;
        let mut builds: Vec<(String, PathBuf)> = Vec::new();
        for from in &meridian {
            let base = from
                .file_name()
                .map_or_else(|| "meridian".into(), |n| n.to_string_lossy().into_owned());
            let mut name = base.clone();
            let mut n = 1;
            while name == "relay"
                || name == "meridian-bench"
                || builds.iter().any(|(b, _)| *b == name)
            {
                n += 1;
                name = format!("{base}-{n}");
            }
            let to = copy(from, &name)?;
            builds.push((name, to));
        }
        Ok(Self {
            machine,
            pinning,
            taskset,
            bench_exe,
            builds,
            work_dir,
        })
    }

    /// Reports `error`, keeping the work directory (the processes' logs) for a look.
    fn failed(&self, error: &str, code: ExitCode) -> ExitCode {
        eprintln!(
            "meridian-bench: {error} (logs kept in {})",
            self.work_dir.display()
        );
        code
    }

    fn succeeded(&self) -> ExitCode {
        let _ = std::fs::remove_dir_all(&self.work_dir);
        ExitCode::SUCCESS
    }

    #[allow(clippy::too_many_arguments)]
    fn options(
        &self,
        quick: bool,
        players: Vec<usize>,
        runs: usize,
        chunks_per_sec: f64,
        measure: Duration,
        swap_crossings: usize,
        only_swap: bool,
    ) -> Options {
        Options {
            quick,
            runs: runs.max(1),
            players,
            warmup: secs(if quick { 0.5 } else { 1.0 }),
            measure,
            logins: if quick { 5 } else { 20 },
            flood_players: if quick { 4 } else { 16 },
            flood_measure: secs(if quick { 1.5 } else { 4.0 }),
            noisy_retries: if quick { 0 } else { 2 },
            chunks_per_sec,
            swap_crossings,
            only_swap,
            meridian: self.builds[0].1.clone(),
            bench_exe: self.bench_exe.clone(),
            taskset: self.taskset.clone(),
            pinning: self.pinning.clone(),
            work_dir: self.work_dir.clone(),
            relay_framing: Framing::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_rates_out_of_range_are_refused() {
        assert_eq!(window_secs("1.5"), Ok(Duration::from_millis(1500)));
        for bad in ["0", "-1", "nan", "inf", "7200", "soon"] {
            assert!(window_secs(bad).is_err(), "{bad} accepted as a window");
        }
        assert_eq!(rate("0"), Ok(0.0));
        assert_eq!(rate("4"), Ok(4.0));
        for bad in ["-0.5", "nan", "inf", "many"] {
            assert!(rate(bad).is_err(), "{bad} accepted as a rate");
        }
    }
}
