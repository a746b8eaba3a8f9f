//! What `/proc` says about a process: CPU time per thread (`task/*/stat`), peak resident
//! memory (`VmHWM` in `status`), the whole machine's CPU split (`/proc/stat`), and what the
//! disks wrote (`/proc/diskstats`).
//!
//! Thread CPU times are how the benchmark attributes the server's work without a profiler:
//! the tokio workers do HTTP, decoding and canonical JSON; `weir-log-writer` does SQLite and
//! the fsyncs. User time is the process's own code, system time its system calls (socket IO,
//! `fdatasync`).

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, Result};

/// CPU time of one thread.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ThreadTimes {
    pub(crate) name: String,
    pub(crate) user: Duration,
    pub(crate) system: Duration,
    /// Time spent runnable but waiting for a CPU (`schedstat`; zero if unavailable): how much
    /// the thread was held up by other threads and processes.
    pub(crate) runqueue: Duration,
}

/// Every thread of `pid` by thread id. Threads that ended since are missing; their time is
/// lost, which is why the benchmark reads this right before and after a phase.
pub(crate) fn threads(pid: &str, clock_ticks: u64) -> Result<BTreeMap<u32, ThreadTimes>> {
    let mut threads = BTreeMap::new();
    let tasks = format!("/proc/{pid}/task");
    for entry in std::fs::read_dir(&tasks).with_context(|| format!("reading {tasks}"))? {
        let entry = entry?;
        let Some(tid) = entry.file_name().to_str().and_then(|tid| tid.parse().ok()) else {
            continue;
        };
        // A thread may end between read_dir and here.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some(mut times) = parse_stat(&stat, clock_ticks) {
            times.runqueue = std::fs::read_to_string(entry.path().join("schedstat"))
                .ok()
                .and_then(|schedstat| {
                    let nanos = schedstat.split_whitespace().nth(1)?.parse().ok()?;
                    Some(Duration::from_nanos(nanos))
                })
                .unwrap_or_default();
            threads.insert(tid, times);
        }
    }
    Ok(threads)
}

/// CPU time (user + system) of this whole process so far, threads that ended included.
pub(crate) fn process_cpu(clock_ticks: u64) -> Result<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    let times = parse_stat(&stat, clock_ticks).context("parsing /proc/self/stat")?;
    Ok(times.user + times.system)
}

/// `pid (comm) state … utime stime …`: fields 14 and 15, in clock ticks.
fn parse_stat(stat: &str, clock_ticks: u64) -> Option<ThreadTimes> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    let mut fields = stat.get(close + 1..)?.split_whitespace().skip(11);
    let ticks = |field: Option<&str>| -> Option<Duration> {
        let ticks: u64 = field?.parse().ok()?;
        Some(Duration::from_secs_f64(ticks as f64 / clock_ticks as f64))
    };
    let user = ticks(fields.next())?;
    let system = ticks(fields.next())?;
    Some(ThreadTimes {
        name,
        user,
        system,
        runqueue: Duration::ZERO,
    })
}

/// CPU time per thread name between two [`threads`] readings, summed over threads of the same
/// name (tokio names all its workers alike), with the number of such threads.
pub(crate) fn difference(
    before: &BTreeMap<u32, ThreadTimes>,
    after: &BTreeMap<u32, ThreadTimes>,
) -> Vec<(String, usize, ThreadTimes)> {
    let mut by_name: BTreeMap<String, (usize, ThreadTimes)> = BTreeMap::new();
    for (tid, now) in after {
        let then = before.get(tid).cloned().unwrap_or_default();
        let entry = by_name.entry(now.name.clone()).or_default();
        entry.0 += 1;
        entry.1.user += now.user.saturating_sub(then.user);
        entry.1.system += now.system.saturating_sub(then.system);
        entry.1.runqueue += now.runqueue.saturating_sub(then.runqueue);
    }
    let mut rows: Vec<_> = by_name
        .into_iter()
        .map(|(name, (count, mut times))| {
            times.name.clone_from(&name);
            (name, count, times)
        })
        .collect();
    rows.sort_by_key(|(_, _, times)| std::cmp::Reverse(times.user + times.system));
    rows
}

/// `VmHWM` of `pid` in bytes: the peak resident set size.
pub(crate) fn peak_rss(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().strip_suffix("kB"))
        .and_then(|value| value.trim().parse::<u64>().ok())
        .with_context(|| format!("no VmHWM in {path}"))?;
    Ok(kib * 1024)
}

/// `getconf CLK_TCK`, the unit of `/proc/*/stat` times (100 on Linux unless told otherwise).
pub(crate) fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .filter(|&ticks| ticks > 0)
        .unwrap_or(100)
}

/// The machine's CPU time by state (the `cpu` line of `/proc/stat`), in ticks.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MachineTimes {
    pub(crate) busy: u64,
    pub(crate) idle: u64,
    pub(crate) iowait: u64,
}

impl MachineTimes {
    pub(crate) fn read() -> Result<MachineTimes> {
        let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
        let line = stat
            .lines()
            .find(|line| line.starts_with("cpu "))
            .context("no cpu line in /proc/stat")?;
        let values: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|value| value.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal (guest times are inside user).
        let get = |index: usize| values.get(index).copied().unwrap_or(0);
        Ok(MachineTimes {
            busy: get(0) + get(1) + get(2) + get(5) + get(6) + get(7),
            idle: get(3),
            iowait: get(4),
        })
    }

    /// Shares of busy, idle and iowait time since `before`.
    pub(crate) fn shares_since(&self, before: &MachineTimes) -> (f64, f64, f64) {
        let busy = self.busy.saturating_sub(before.busy) as f64;
        let idle = self.idle.saturating_sub(before.idle) as f64;
        let iowait = self.iowait.saturating_sub(before.iowait) as f64;
        let total = (busy + idle + iowait).max(1.0);
        (busy / total, idle / total, iowait / total)
    }
}

/// Per block device: (sectors written, write requests completed, flushes completed).
#[derive(Debug, Clone, Default)]
pub(crate) struct DiskStats(BTreeMap<String, [u64; 3]>);

/// What the busiest disk wrote between two [`DiskStats`] readings.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DiskWrites {
    pub(crate) device: String,
    pub(crate) bytes: u64,
    pub(crate) writes: u64,
    pub(crate) flushes: u64,
}

impl DiskStats {
    /// Reads `/proc/diskstats`; empty if it cannot be read.
    pub(crate) fn read() -> DiskStats {
        std::fs::read_to_string("/proc/diskstats")
            .map(|text| DiskStats::parse(&text))
            .unwrap_or_default()
    }

    fn parse(text: &str) -> DiskStats {
        let mut devices = BTreeMap::new();
        for line in text.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let number = |index: usize| -> u64 {
                fields
                    .get(index)
                    .and_then(|field| field.parse().ok())
                    .unwrap_or(0)
            };
            if let Some(name) = fields.get(2) {
                devices.insert((*name).to_owned(), [number(9), number(7), number(18)]);
            }
        }
        DiskStats(devices)
    }

    /// The device that wrote the most since `before` (sectors are 512 bytes).
    pub(crate) fn busiest_since(&self, before: &DiskStats) -> Option<DiskWrites> {
        self.0
            .iter()
            .map(|(device, now)| {
                let then = before.0.get(device).copied().unwrap_or_default();
                DiskWrites {
                    device: device.clone(),
                    bytes: now[0].saturating_sub(then[0]) * 512,
                    writes: now[1].saturating_sub(then[1]),
                    flushes: now[2].saturating_sub(then[2]),
                }
            })
            .max_by_key(|writes| writes.bytes)
            .filter(|writes| writes.bytes > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_thread_times_even_with_spaces_in_the_name() {
        let stat = "4242 (tokio runtime) S 1 4242 4242 0 -1 4194560 2311 0 0 0 250 75 0 0 20 0 \
                    3 0 1234 0 0";
        let times = parse_stat(stat, 100).unwrap();
        assert_eq!(times.name, "tokio runtime");
        assert_eq!(times.user, Duration::from_millis(2500));
        assert_eq!(times.system, Duration::from_millis(750));
    }

    #[test]
    fn differences_are_summed_by_name_and_new_threads_count_from_zero() {
        let times = |name: &str, user: u64, system: u64| ThreadTimes {
            name: name.to_owned(),
            user: Duration::from_secs(user),
            system: Duration::from_secs(system),
            runqueue: Duration::from_secs(user),
        };
        let before = BTreeMap::from([(1, times("worker", 1, 1)), (2, times("worker", 2, 0))]);
        let after = BTreeMap::from([
            (1, times("worker", 3, 2)),
            (2, times("worker", 4, 0)),
            (3, times("writer", 1, 5)),
        ]);
        let rows = difference(&before, &after);
        assert_eq!(rows[0].0, "writer");
        assert_eq!(rows[1].0, "worker");
        assert_eq!(rows[1].1, 2);
        assert_eq!(rows[1].2.user, Duration::from_secs(4));
        assert_eq!(rows[1].2.system, Duration::from_secs(1));
        assert_eq!(rows[1].2.runqueue, Duration::from_secs(4));
    }

    #[test]
    fn disk_writes_come_from_the_busiest_device() {
        let line = |name: &str, sectors: u64, writes: u64, flushes: u64| {
            format!(
                " 254 0 {name} 1 2 3 4 {writes} 6 {sectors} 8 9 10 11 12 13 14 15 {flushes} 17\n"
            )
        };
        let before = DiskStats::parse(&(line("vda", 100, 10, 1) + &line("vdb", 5, 1, 0)));
        let after = DiskStats::parse(&(line("vda", 300, 15, 4) + &line("vdb", 50, 2, 0)));
        let writes = after.busiest_since(&before).unwrap();
        assert_eq!(
            writes,
            DiskWrites {
                device: "vda".to_owned(),
                bytes: 200 * 512,
                writes: 5,
                flushes: 3,
            }
        );
        assert_eq!(before.busiest_since(&before), None);
    }

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        assert!(peak_rss(pid).unwrap() > 0);
        assert!(!threads("self", clock_ticks()).unwrap().is_empty());
        assert!(MachineTimes::read().is_ok());
    }
}
