//! `meridian-bench run [--quick]`: the benchmark; `meridian-bench relay`: the floor it compares
//! against, as its own process.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};
use meridian_bench::{
    pin::{self, Pinning},
    proc_stats::Machine,
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
        #[arg(long, default_value_t = 4.0)]
        chunks_per_sec: f64,
        /// Seconds measured per fleet size (default 5; quick: 1.5).
        #[arg(long)]
        measure_secs: Option<f64>,
        /// Border crossings the swap scenario measures, over all runs (default 100; quick:
        /// 20; 0 skips the scenario).
        #[arg(long)]
        swap_crossings: Option<usize>,
        /// Run only the swap scenario.
        #[arg(long)]
        only_swap: bool,
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
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Relay {
            listen,
            to,
            max_seconds,
        } => {
            // The same runtime as `meridian run`: multi-threaded, one worker per allowed CPU.
            let runtime = match tokio::runtime::Runtime::new() {
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
            let taskset = match pin::taskset() {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("meridian-bench: {e}");
                    return ExitCode::from(2);
                }
            };
            let machine = Machine::detect();
            let pinning = Pinning::plan(machine.nproc);
            match pin::reexec_pinned(&taskset, pinning.generator) {
                Ok(None) => {}
                Ok(Some(code)) => return ExitCode::from(code.clamp(0, 255) as u8),
                Err(e) => {
                    eprintln!("meridian-bench: {e}");
                    return ExitCode::from(2);
                }
            }
            let Ok(bench_exe) = std::env::current_exe() else {
                eprintln!("meridian-bench: cannot find its own executable");
                return ExitCode::FAILURE;
            };
            let meridian = meridian.unwrap_or_else(|| bench_exe.with_file_name("meridian"));
            if !meridian.is_file() {
                eprintln!(
                    "meridian-bench: no meridian binary at {} (cargo build --release -p meridian)",
                    meridian.display()
                );
                return ExitCode::FAILURE;
            }
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
            let secs = Duration::from_secs_f64;
            let work_dir =
                std::env::temp_dir().join(format!("meridian-bench-{}", std::process::id()));
            if let Err(e) = std::fs::create_dir_all(&work_dir) {
                eprintln!("meridian-bench: {}: {e}", work_dir.display());
                return ExitCode::FAILURE;
            }
            // Others may rebuild target/release while this runs: every scenario must use the
            // same binaries, so they run from copies.
            let copy = |from: &PathBuf, name: &str| -> Result<PathBuf, String> {
                let to = work_dir.join(name);
                std::fs::copy(from, &to)
                    .map(|_| to)
                    .map_err(|e| format!("copy {}: {e}", from.display()))
            };
            let (meridian, bench_exe) = match (
                copy(&meridian, "meridian"),
                copy(&bench_exe, "meridian-bench"),
            ) {
                (Ok(m), Ok(b)) => (m, b),
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("meridian-bench: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let opts = Options {
                quick,
                runs: runs.unwrap_or(if quick { 1 } else { 3 }).max(1),
                players,
                warmup: secs(if quick { 0.5 } else { 1.0 }),
                measure: secs(measure_secs.unwrap_or(if quick { 1.5 } else { 5.0 })),
                logins: if quick { 5 } else { 20 },
                flood_players: if quick { 4 } else { 16 },
                flood_measure: secs(if quick { 1.5 } else { 4.0 }),
                noisy_retries: if quick { 0 } else { 2 },
                chunks_per_sec,
                swap_crossings: swap_crossings.unwrap_or(if quick { 20 } else { 100 }),
                only_swap,
                meridian,
                bench_exe,
                taskset,
                pinning,
                work_dir: work_dir.clone(),
            };
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let started = std::time::Instant::now();
            let result = runtime.block_on(meridian_bench::run(&opts, machine));
            // Connections still closing must not outlive the report.
            runtime.shutdown_timeout(Duration::from_secs(2));
            match result {
                Ok(results) => {
                    eprintln!("finished in {:.1} s", started.elapsed().as_secs_f64());
                    println!("{}", results.to_table());
                    println!("{}", results.to_json());
                    // A swap that did not happen, or a meridian-2 without its dummy links, is a
                    // failure, not a missing figure.
                    if let Some(e) = results.failure() {
                        eprintln!("meridian-bench: {e} (logs kept in {})", work_dir.display());
                        return ExitCode::from(3);
                    }
                    let _ = std::fs::remove_dir_all(&work_dir);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("meridian-bench: {e} (logs kept in {})", work_dir.display());
                    ExitCode::FAILURE
                }
            }
        }
    }
}
