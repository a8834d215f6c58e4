//! CPU time and resident memory of a process, from `/proc`.
//!
//! CPU: `utime + stime` of `/proc/<pid>/stat` (every thread of the process, in clock ticks).
//! Memory: `VmRSS` of `/proc/<pid>/status`.

use std::{fs, io, sync::OnceLock};

/// CPU time and resident set of one process at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcSample {
    /// User + system CPU seconds since the process started.
    pub cpu_secs: f64,
    /// Resident set size, KiB.
    pub rss_kib: u64,
}

/// `utime` and `stime` in clock ticks, and the parent pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatFields {
    pub ppid: u32,
    pub utime_ticks: u64,
    pub stime_ticks: u64,
}

/// Parses `/proc/<pid>/stat`. The command name (field 2) may hold spaces and parentheses, so
/// the fields are counted from the last `)`.
pub fn parse_stat(text: &str) -> Result<StatFields, String> {
    let close = text.rfind(')').ok_or("no ')' in stat")?;
    // Field 3 (state) is the first after the name; utime is field 14, stime 15.
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    let get = |field: usize| -> Result<u64, String> {
        fields
            .get(field - 3)
            .ok_or(format!("stat has no field {field}"))?
            .parse::<u64>()
            .map_err(|e| format!("stat field {field}: {e}"))
    };
    Ok(StatFields {
        ppid: get(4)? as u32,
        utime_ticks: get(14)?,
        stime_ticks: get(15)?,
    })
}

/// `VmRSS` in KiB from `/proc/<pid>/status`.
pub fn parse_status_rss_kib(text: &str) -> Option<u64> {
    status_field(text, "VmRSS")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The value of a `Name:\tvalue` line of `/proc/<pid>/status`.
pub fn status_field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key == name).then_some(value.trim())
    })
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on every Linux we know of).
pub fn clock_ticks() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|&t| t > 0)
            .unwrap_or(100)
    })
}

/// Samples process `pid` (`"self"` works too).
pub fn sample(pid: &str) -> io::Result<ProcSample> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    let fields = parse_stat(&stat).map_err(io::Error::other)?;
    let rss_kib = parse_status_rss_kib(&status).ok_or_else(|| io::Error::other("no VmRSS"))?;
    Ok(ProcSample {
        cpu_secs: (fields.utime_ticks + fields.stime_ticks) as f64 / clock_ticks() as f64,
        rss_kib,
    })
}

/// Busy and total clock ticks of every CPU together, from `/proc/stat`'s `cpu` line (busy is
/// everything but idle and iowait).
pub fn parse_proc_stat_busy(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    if v.len() < 5 {
        return None;
    }
    // Guest time is already counted in user time.
    let total: u64 = v.iter().take(8).sum();
    Some((total - v[3] - v[4], total))
}

/// CPU seconds spent by every process on the machine so far.
pub fn machine_busy_secs() -> Option<f64> {
    let text = fs::read_to_string("/proc/stat").ok()?;
    let (busy, _) = parse_proc_stat_busy(&text)?;
    Some(busy as f64 / clock_ticks() as f64)
}

/// The pids whose parent is `parent` (scans `/proc`).
pub fn children(parent: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| parse_stat(&s).ok())
                .is_some_and(|f| f.ppid == parent)
        })
        .collect()
}

/// The CPUs this process may run on (`Cpus_allowed_list`, e.g. `0` or `0-1`).
pub fn own_affinity() -> Option<String> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    status_field(&status, "Cpus_allowed_list").map(str::to_owned)
}

/// The machine, as `docs/performance.md` reports it.
#[derive(Debug, Clone)]
pub struct Machine {
    pub nproc: usize,
    pub cpu_model: String,
    pub kernel: String,
}

impl Machine {
    pub fn detect() -> Self {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let nproc = cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count()
            .max(1);
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                let (key, value) = l.split_once(':')?;
                (key.trim() == "model name").then(|| value.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| "unknown".into());
        Self {
            nproc,
            cpu_model,
            kernel,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_spaces_and_parens_in_the_name() {
        let text = "4242 (tokio (rt) worker) S 17 4242 4242 0 -1 4194560 1280 0 0 0 \
                    250 75 0 0 20 0 3 0 123456 987654321 2048 18446744073709551615";
        let f = parse_stat(text).unwrap();
        assert_eq!(
            f,
            StatFields {
                ppid: 17,
                utime_ticks: 250,
                stime_ticks: 75
            }
        );
        assert!(parse_stat("12 (x) S 1").is_err());
    }

    #[test]
    fn status_rss_and_affinity() {
        let text = "Name:\tmeridian\nVmPeak:\t  99999 kB\nVmRSS:\t   12345 kB\n\
                    Cpus_allowed_list:\t1\n";
        assert_eq!(parse_status_rss_kib(text), Some(12345));
        assert_eq!(status_field(text, "Cpus_allowed_list"), Some("1"));
        assert_eq!(parse_status_rss_kib("Name:\tx\n"), None);
    }

    #[test]
    fn machine_busy_time() {
        let text = "cpu  100 5 20 300 10 1 2 3 0 0\ncpu0 50 2 10 150 5 0 1 1 0 0\n";
        assert_eq!(parse_proc_stat_busy(text), Some((131, 441)));
        assert_eq!(parse_proc_stat_busy("intr 1 2 3"), None);
    }

    #[test]
    fn samples_this_process() {
        let s = sample("self").unwrap();
        assert!(s.rss_kib > 0);
        assert!(s.cpu_secs >= 0.0);
    }
}
