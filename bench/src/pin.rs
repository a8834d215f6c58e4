//! CPU pinning with `taskset`.
//!
//! On a 2-vCPU machine, loopback latency is dominated by cross-CPU wake-ups, and a load
//! generator sharing a CPU with the process under test steals its time. So every scenario runs
//! the same way: the load generator and the backends (this process) on one CPU, the proxy or
//! relay under test on the other.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// Set on the re-executed bench so it does not pin itself twice.
const PINNED_ENV: &str = "MERIDIAN_BENCH_PINNED";

/// Where each side runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinning {
    /// The CPU of the load generator and the backends.
    pub generator: usize,
    /// The CPU of the process under test (proxy or relay).
    pub target: usize,
}

impl Pinning {
    /// Generator on CPU 0 and target on CPU 1; both on CPU 0 on a single-CPU machine.
    pub fn plan(nproc: usize) -> Self {
        Self {
            generator: 0,
            target: usize::from(nproc >= 2),
        }
    }

    /// The sentence the output carries.
    pub fn describe(&self) -> String {
        let shared = if self.generator == self.target {
            " (single CPU: generator and target share it, latency figures are pessimistic)"
        } else {
            ""
        };
        format!(
            "taskset: load generator + backends on CPU {}, proxy/relay under test on CPU {}, identical for every scenario{shared}",
            self.generator, self.target
        )
    }
}

/// The `taskset` binary, or why the bench cannot run.
pub fn taskset() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("taskset"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            "taskset not found: install util-linux (apt-get install util-linux); \
             the benchmark refuses to run unpinned"
                .to_owned()
        })
}

/// A command that runs `program` on `cpu`.
pub fn on_cpu(taskset: &Path, cpu: usize, program: &Path) -> Command {
    let mut command = Command::new(taskset);
    command.arg("-c").arg(cpu.to_string()).arg(program);
    command
}

/// Whether this process already runs on exactly `cpu` (its affinity list is that one CPU).
pub fn is_pinned_to(cpu: usize) -> bool {
    crate::proc_stats::own_affinity().is_some_and(|list| list == cpu.to_string())
}

/// If this process is not pinned to `cpu`, runs it again under `taskset -c cpu` and returns its
/// exit code; `None` means "already pinned, carry on".
pub fn reexec_pinned(taskset: &Path, cpu: usize) -> Result<Option<i32>, String> {
    if is_pinned_to(cpu) || std::env::var_os(PINNED_ENV).is_some() {
        return Ok(None);
    }
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let status = on_cpu(taskset, cpu, &exe)
        .args(std::env::args_os().skip(1))
        .env(PINNED_ENV, "1")
        .status()
        .map_err(|e| format!("cannot run taskset: {e}"))?;
    Ok(Some(status.code().unwrap_or(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans() {
        assert_eq!(
            Pinning::plan(2),
            Pinning {
                generator: 0,
                target: 1
            }
        );
        assert_eq!(Pinning::plan(1).target, 0);
        assert!(Pinning::plan(1).describe().contains("single CPU"));
        assert!(Pinning::plan(8).describe().contains("CPU 1"));
    }
}
