//! `cargo xtask bench ingest`: events per second that a release `weir serve` acknowledges
//! durably over HTTP on loopback, its latency at half that load, its peak memory, and a raw
//! "parse and append to SQLite" baseline measured in the same run.
//!
//! Steps: start `weir serve` on port 0 with a fresh data directory; check with one request
//! (`Weir-Report: true`) that all 100 events of the benchmark body are accepted and that a
//! resend is all duplicates; warm up; **phase 1** drives `--concurrency` keep-alive
//! connections back to back for `--duration` (maximum throughput); **phase 2** offers half of
//! phase 1's rate open-loop for the same time (latency at half load); read the server's
//! `VmHWM`; stop it with SIGTERM; count the log's events with `weir-log` and compare them with
//! the acknowledged ones; finally run the baseline (`baseline.rs`) for the same duration.
//!
//! To say what bounds the result, the run also reports the CPU time of every server thread and
//! of the generator in phase 1 (`procfs.rs`), the machine's CPU and disk use, the group-commit
//! sizes from `/metrics`, and events/s second by second; `--perf FILE` records a `perf`
//! profile of the server during phase 1. Results go to `docs/benchmarks.md`.

mod baseline;
mod client;
mod metrics;
pub(crate) mod procfs;
mod request;

use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};
use weir_log::{EventLog as _, LogConfig, SqliteLog};

use self::client::{Connection, PhaseResult, Sequence};
use self::metrics::CommitCounters;
use self::request::{Body, Template};
use crate::server::Server;

const USAGE: &str = "\
Usage: weir-bench ingest [options]

  --concurrency N   keep-alive connections of the load generator (default 32)
  --duration SECS   length of each phase and of the baseline (default 10; --quick: 3)
  --quick           a short smoke run (3 s phases, 0.5 s warm-up); not for quoting
  --warm-up SECS    closed-loop load before phase 1, not measured (default 2); a long one
                    fills the log and its dedup index as hours of traffic would (at 200k
                    events/s, 60 s is 12 million keys)
  --group N         requests per baseline transaction (default: the concurrency)
  --no-baseline     skip the serde_json + SQLite baseline
  --weir PATH       the weir binary (default: `weir` next to this binary, i.e.
                    target/release/weir; build it with `cargo build --release -p weir`)
  --perf FILE       record `perf record -e cpu-clock --call-graph dwarf` of the server
                    during phase 1 into FILE
";

/// The goals of issue 4 on the 2-core reference machine.
const GOAL_EVENTS_PER_SECOND: f64 = 500_000.0;
const GOAL_RATIO: f64 = 0.60;
const GOAL_P99_HALF_LOAD: Duration = Duration::from_millis(10);
const GOAL_PEAK_RSS: u64 = 200 << 20;

/// Phase 2 offers this share of phase 1's throughput.
const HALF_LOAD: f64 = 0.5;

#[derive(Debug, Clone, PartialEq)]
struct Options {
    quick: bool,
    concurrency: usize,
    duration: Duration,
    warm_up: Duration,
    group: Option<usize>,
    baseline: bool,
    weir: Option<PathBuf>,
    perf: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            quick: false,
            concurrency: 32,
            duration: Duration::from_secs(10),
            warm_up: Duration::from_secs(2),
            group: None,
            baseline: true,
            weir: None,
            perf: None,
        }
    }
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let Some(options) = parse_arguments(args)? else {
        print!("{USAGE}");
        return Ok(());
    };
    let weir = match &options.weir {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("weir"),
    };
    ensure!(
        weir.is_file(),
        "{} does not exist; build it first with `cargo build --release -p weir` \
         (`cargo xtask bench ingest` does) or pass --weir PATH",
        weir.display()
    );
    let body = Body::build()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut server = Server::start(&weir, "ingest")?;
    let report = runtime.block_on(drive(&server, &body, &options));
    let report = match report {
        Ok(report) => report,
        Err(error) => {
            eprintln!("weir serve's log:\n{}", server.log());
            return Err(error);
        }
    };
    let status = server.stop()?;
    ensure!(
        status.success(),
        "weir serve exited with {status} after SIGTERM; its log:\n{}",
        server.log()
    );
    let log_bytes = file_sizes(&server.data_dir(), "log.sqlite");
    let stored = runtime.block_on(count_log(&server.data_dir()))?;
    drop(server);
    let baseline = if options.baseline {
        let settings = baseline::Settings {
            duration: options.duration,
            group: options.group.unwrap_or(options.concurrency),
            parser_threads: std::thread::available_parallelism().map_or(2, usize::from),
        };
        println!(
            "running the baseline for {:.0?} ({} parser threads, 1 writer, {} requests per \
             transaction)…",
            settings.duration, settings.parser_threads, settings.group
        );
        let disk_before = procfs::DiskStats::read();
        let outcome = baseline::run(&body, settings)?;
        let disk = procfs::DiskStats::read().busiest_since(&disk_before);
        Some((settings, outcome, disk))
    } else {
        None
    };
    print_report(&report, (stored, log_bytes), baseline, &options, &body);
    ensure!(
        stored == report.acknowledged_events,
        "the log holds {stored} events but the server acknowledged {}",
        report.acknowledged_events
    );
    Ok(())
}

fn parse_arguments(args: &[String]) -> Result<Option<Options>> {
    let mut options = Options::default();
    let mut duration = None;
    let mut warm_up = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |option: &str| {
            args.next()
                .with_context(|| format!("{option} needs a value\n\n{USAGE}"))
        };
        match arg.as_str() {
            "--quick" => {
                options.quick = true;
                options.duration = Duration::from_secs(3);
                options.warm_up = Duration::from_millis(500);
            }
            "--concurrency" => {
                let text = value("--concurrency")?;
                options.concurrency = text
                    .parse()
                    .ok()
                    .filter(|&count| count > 0)
                    .with_context(|| format!("--concurrency takes a count, got '{text}'"))?;
            }
            "--duration" => {
                let text = value("--duration")?;
                let seconds: f64 = text
                    .parse()
                    .ok()
                    .filter(|&seconds: &f64| seconds > 0.0 && seconds.is_finite())
                    .with_context(|| format!("--duration takes seconds, got '{text}'"))?;
                duration = Some(Duration::from_secs_f64(seconds));
            }
            "--warm-up" => {
                let text = value("--warm-up")?;
                let seconds: f64 = text
                    .parse()
                    .ok()
                    .filter(|&seconds: &f64| seconds >= 0.0 && seconds.is_finite())
                    .with_context(|| format!("--warm-up takes seconds, got '{text}'"))?;
                warm_up = Some(Duration::from_secs_f64(seconds));
            }
            "--group" => {
                let text = value("--group")?;
                options.group = Some(
                    text.parse()
                        .ok()
                        .filter(|&count| count > 0)
                        .with_context(|| format!("--group takes a count, got '{text}'"))?,
                );
            }
            "--no-baseline" => options.baseline = false,
            "--weir" => options.weir = Some(PathBuf::from(value("--weir")?)),
            "--perf" => options.perf = Some(PathBuf::from(value("--perf")?)),
            "-h" | "--help" => return Ok(None),
            other => bail!("unknown option '{other}'\n\n{USAGE}"),
        }
    }
    if let Some(duration) = duration {
        options.duration = duration;
    }
    if let Some(warm_up) = warm_up {
        options.warm_up = warm_up;
    }
    Ok(Some(options))
}

/// Everything measured against the running server.
#[derive(Debug)]
struct Report {
    address: String,
    max_load: PhaseResult,
    half_load: PhaseResult,
    half_load_offered: f64,
    /// Commits in phase 1 and phase 2, if the server exports them in `/metrics`.
    commits: [Option<CommitCounters>; 2],
    cpu: Vec<(String, usize, procfs::ThreadTimes)>,
    generator_cpu: Duration,
    machine: (f64, f64, f64),
    /// What the busiest disk wrote in phase 1 and phase 2.
    disk_max_load: Option<procfs::DiskWrites>,
    disk_half_load: Option<procfs::DiskWrites>,
    peak_rss: u64,
    acknowledged_events: u64,
}

async fn drive(server: &Server, body: &Body, options: &Options) -> Result<Report> {
    let events = body.events() as u64;
    let host = server.address.to_string();
    let template = Template::new(body, &host, &server.write_key, "");
    let sequence = Sequence::default();
    let mut acknowledged_events = check_acceptance(server, body, &sequence).await?;

    let mut connections = Vec::with_capacity(options.concurrency);
    for _ in 0..options.concurrency {
        connections.push(Connection::open(server.address, &template).await?);
    }
    println!(
        "weir serve on {host} (pid {}); {} keep-alive connections; warming up for {:.1?}…",
        server.pid(),
        options.concurrency,
        options.warm_up
    );
    let (connections, warm_up) =
        client::closed_loop(connections, &sequence, options.warm_up).await?;
    ensure_all_ok(&warm_up, "warm-up")?;
    acknowledged_events += warm_up.ok * events;

    println!("phase 1: maximum throughput for {:.1?}…", options.duration);
    let clock_ticks = procfs::clock_ticks();
    let pid = server.pid().to_string();
    let counters_before = CommitCounters::read(server)?;
    let perf = match &options.perf {
        Some(path) => Some(start_perf(server.pid(), path)?),
        None => None,
    };
    let threads_before = procfs::threads(&pid, clock_ticks)?;
    let generator_before = procfs::threads("self", clock_ticks)?;
    let machine_before = procfs::MachineTimes::read()?;
    let disk_before = procfs::DiskStats::read();
    let (connections, max_load) =
        client::closed_loop(connections, &sequence, options.duration).await?;
    let disk_max_load = procfs::DiskStats::read().busiest_since(&disk_before);
    let machine = procfs::MachineTimes::read()?.shares_since(&machine_before);
    let cpu = procfs::difference(&threads_before, &procfs::threads(&pid, clock_ticks)?);
    let generator_cpu =
        procfs::difference(&generator_before, &procfs::threads("self", clock_ticks)?)
            .iter()
            .map(|(_, _, times)| times.user + times.system)
            .sum();
    if let Some(perf) = perf {
        stop_perf(perf)?;
    }
    let counters_after = CommitCounters::read(server)?;
    ensure_all_ok(&max_load, "phase 1")?;
    acknowledged_events += max_load.ok * events;

    let half_load_offered = max_load.requests_per_second() * HALF_LOAD;
    println!(
        "phase 2: {:.0} requests/s ({:.0}% of phase 1) open-loop for {:.1?}…",
        half_load_offered,
        HALF_LOAD * 100.0,
        options.duration
    );
    let disk_before = procfs::DiskStats::read();
    let (connections, half_load) =
        client::open_loop(connections, &sequence, options.duration, half_load_offered).await?;
    let disk_half_load = procfs::DiskStats::read().busiest_since(&disk_before);
    let counters_end = CommitCounters::read(server)?;
    ensure_all_ok(&half_load, "phase 2")?;
    acknowledged_events += half_load.ok * events;
    drop(connections);

    Ok(Report {
        address: host,
        max_load,
        half_load,
        half_load_offered,
        commits: [
            CommitCounters::between(counters_before, counters_after),
            CommitCounters::between(counters_after, counters_end),
        ],
        cpu,
        generator_cpu,
        machine,
        disk_max_load,
        disk_half_load,
        peak_rss: procfs::peak_rss(server.pid())?,
        acknowledged_events,
    })
}

/// Sends one request with `Weir-Report: true` twice: the first must accept every event, the
/// resend must find them all duplicates. Returns the events stored (one body's worth).
async fn check_acceptance(server: &Server, body: &Body, sequence: &Sequence) -> Result<u64> {
    let template = Template::new(
        body,
        &server.address.to_string(),
        &server.write_key,
        "Weir-Report: true\r\n",
    );
    let mut connection = Connection::open(server.address, &template).await?;
    let request = sequence.next();
    let report = |connection: &Connection, response: client::Response| -> Result<_> {
        let text = String::from_utf8_lossy(connection.body(response)).into_owned();
        ensure!(
            response.status == 200,
            "the benchmark request got {}: {text}",
            response.status
        );
        let value: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("the Weir-Report body is not JSON: {text}"))?;
        let count = |member: &str| value[member].as_array().map_or(0, Vec::len);
        Ok((
            value["accepted"].as_u64().unwrap_or(0),
            count("rejected"),
            count("duplicates"),
            text,
        ))
    };
    let first = connection.send(request).await?;
    let (accepted, rejected, _, text) = report(&connection, first)?;
    ensure!(
        accepted == body.events() as u64 && rejected == 0,
        "the server did not accept every event of the benchmark body: {text}"
    );
    let again = connection.send(request).await?;
    let (accepted, _, duplicates, text) = report(&connection, again)?;
    ensure!(
        accepted == 0 && duplicates == body.events(),
        "a resent body was not recognised as duplicates: {text}"
    );
    Ok(body.events() as u64)
}

fn ensure_all_ok(result: &PhaseResult, phase: &str) -> Result<()> {
    ensure!(
        result.failed == 0,
        "{phase}: {} of {} requests failed (last status {:?})",
        result.failed,
        result.failed + result.ok,
        result.last_failure
    );
    Ok(())
}

fn start_perf(pid: u32, output: &Path) -> Result<Child> {
    let child = Command::new("perf")
        .args([
            "record",
            "-e",
            "cpu-clock",
            "-F",
            "499",
            "--call-graph",
            "dwarf,16384",
            "-p",
            &pid.to_string(),
            "-o",
        ])
        .arg(output)
        .stdout(Stdio::null())
        .spawn()
        .context("starting perf record (is perf installed?)")?;
    // perf needs a moment to attach before the phase starts.
    std::thread::sleep(Duration::from_millis(500));
    Ok(child)
}

fn stop_perf(mut perf: Child) -> Result<()> {
    crate::server::signal(perf.id(), "INT")?;
    let status = perf.wait()?;
    // perf writes its file on SIGINT and then exits by that signal.
    ensure!(
        status.success() || status.signal() == Some(2),
        "perf record failed ({status})"
    );
    Ok(())
}

/// Reads the whole log after the server stopped and returns how many events it holds.
async fn count_log(data_dir: &Path) -> Result<u64> {
    let log = SqliteLog::open(&data_dir.join("log.sqlite"), LogConfig::default())
        .context("opening the server's log")?;
    let mut count = 0;
    let mut after = 0;
    loop {
        let records = log.read(after, 10_000).await?;
        let Some(last) = records.last() else { break };
        ensure!(
            last.seq == after + records.len() as u64,
            "the log's sequence numbers have a gap before {}",
            last.seq
        );
        count += records.len() as u64;
        after = last.seq;
    }
    ensure!(
        log.head() == count,
        "the log's head is {} but it holds {count} events",
        log.head()
    );
    log.close().await?;
    Ok(count)
}

/// The total size of the files in `directory` whose names start with `prefix` (a SQLite
/// database with its `-wal` and `-shm`).
fn file_sizes(directory: &Path, prefix: &str) -> u64 {
    std::fs::read_dir(directory)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(prefix))
        .filter_map(|entry| entry.metadata().ok())
        .map(|metadata| metadata.len())
        .sum()
}

fn print_report(
    report: &Report,
    (stored, log_bytes): (u64, u64),
    baseline: Option<(
        baseline::Settings,
        baseline::Outcome,
        Option<procfs::DiskWrites>,
    )>,
    options: &Options,
    body: &Body,
) {
    let events = body.events() as f64;
    let max = &report.max_load;
    let half = &report.half_load;
    let events_per_second = max.requests_per_second() * events;
    let ms = |duration: Duration| duration.as_secs_f64() * 1e3;
    println!();
    println!(
        "body: POST /v1/events, {} events, {} bytes ({} bytes/event), fresh messageIds per \
         request; weir serve on {}",
        body.events(),
        body.bytes.len(),
        body.bytes.len() / body.events(),
        report.address
    );
    println!();
    println!(
        "{:<34} {:>10} {:>8} {:>8} {:>8} {:>8}",
        "phase", "events/s", "req/s", "p50 ms", "p99 ms", "p999 ms"
    );
    for (label, result) in [
        (
            format!("max load ({} connections)", options.concurrency),
            max,
        ),
        (
            format!("half load (offered {:.0} req/s)", report.half_load_offered),
            half,
        ),
    ] {
        println!(
            "{label:<34} {:>10.0} {:>8.0} {:>8.2} {:>8.2} {:>8.2}",
            result.requests_per_second() * events,
            result.requests_per_second(),
            ms(result.percentile(0.50)),
            ms(result.percentile(0.99)),
            ms(result.percentile(0.999)),
        );
    }
    for (label, result) in [("max load", max), ("half load", half)] {
        let timeline: Vec<String> = result
            .per_second
            .iter()
            .map(|&requests| format!("{:.0}k", requests as f64 * events / 1e3))
            .collect();
        println!("{label} events/s, second by second: {}", timeline.join(" "));
    }
    println!();
    println!("server peak RSS (VmHWM): {:.1} MiB", mib(report.peak_rss));
    for (label, disk, result) in [
        ("max load", &report.disk_max_load, max),
        ("half load", &report.disk_half_load, half),
    ] {
        if let Some(disk) = disk {
            print_disk(
                label,
                disk,
                result.elapsed,
                result.ok * body.events() as u64,
            );
        }
    }
    for (label, commits, result) in [
        ("max load", report.commits[0], max),
        ("half load", report.commits[1], half),
    ] {
        let Some(commits) = commits.filter(|commits| commits.commits > 0) else {
            continue;
        };
        println!(
            "group commit in {label}: {} commits ({:.0}/s), {:.0} events ({:.1} requests) per \
             commit",
            commits.commits,
            commits.commits as f64 / result.elapsed.as_secs_f64(),
            commits.events as f64 / commits.commits as f64,
            commits.events as f64 / commits.commits as f64 / events
        );
    }
    print_cpu(report);
    println!(
        "durability: SIGTERM → exit 0; the log holds {stored} events, the server acknowledged {} — {}",
        report.acknowledged_events,
        if stored == report.acknowledged_events {
            "equal"
        } else {
            "MISMATCH"
        }
    );
    println!(
        "log.sqlite after shutdown: {:.1} MiB, {:.0} bytes per stored event (payload, dedup index)",
        mib(log_bytes),
        log_bytes as f64 / stored.max(1) as f64
    );
    let ratio = baseline.as_ref().map(|(settings, outcome, disk)| {
        println!(
            "baseline (serde_json::Value + SQLite WAL, synchronous=FULL, {} parser threads, \
             1 writer, {} requests/transaction): {:.0} events/s in {} transactions",
            settings.parser_threads,
            settings.group,
            outcome.events_per_second(),
            outcome.transactions
        );
        if let Some(disk) = disk {
            print_disk("baseline", disk, outcome.elapsed, outcome.events);
        }
        let wall = outcome.elapsed.as_secs_f64();
        let threads: Vec<String> = outcome
            .cpu
            .iter()
            .filter(|(_, _, times)| !(times.user + times.system).is_zero())
            .map(|(name, count, times)| {
                format!(
                    "{name} ({count}) {:.2} user + {:.2} system",
                    times.user.as_secs_f64() / wall,
                    times.system.as_secs_f64() / wall
                )
            })
            .collect();
        println!(
            "baseline CPU in cores: {}; machine {:.0}% busy",
            threads.join(", "),
            outcome.machine_busy * 100.0
        );
        let ratio = events_per_second / outcome.events_per_second();
        println!("ratio weir ÷ baseline: {ratio:.2}");
        ratio
    });
    println!();
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    println!(
        "goals (2-core reference machine){}:",
        if options.quick {
            "; --quick is a smoke run, not for quoting"
        } else {
            ""
        }
    );
    println!(
        "  >= {:.0} events/s acknowledged durably: {:.0} — {}",
        GOAL_EVENTS_PER_SECOND,
        events_per_second,
        verdict(events_per_second >= GOAL_EVENTS_PER_SECOND)
    );
    if let Some(ratio) = ratio {
        println!(
            "  >= {:.0}% of the baseline: {:.0}% — {}",
            GOAL_RATIO * 100.0,
            ratio * 100.0,
            verdict(ratio >= GOAL_RATIO)
        );
    }
    println!(
        "  p99 <= {:.0} ms at half load: {:.2} ms — {}",
        ms(GOAL_P99_HALF_LOAD),
        ms(half.percentile(0.99)),
        verdict(half.percentile(0.99) <= GOAL_P99_HALF_LOAD)
    );
    println!(
        "  peak RSS <= {:.0} MiB: {:.1} MiB — {}",
        mib(GOAL_PEAK_RSS),
        mib(report.peak_rss),
        verdict(report.peak_rss <= GOAL_PEAK_RSS)
    );
}

fn print_disk(label: &str, disk: &procfs::DiskWrites, elapsed: Duration, events: u64) {
    let seconds = elapsed.as_secs_f64();
    println!(
        "disk {} in {label}: {:.0} MB/s written, {:.0} writes/s, {:.0} flushes/s, {:.0} bytes \
         per event",
        disk.device,
        disk.bytes as f64 / seconds / 1e6,
        disk.writes as f64 / seconds,
        disk.flushes as f64 / seconds,
        disk.bytes as f64 / events.max(1) as f64
    );
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

fn print_cpu(report: &Report) {
    let wall = report.max_load.elapsed.as_secs_f64();
    let (busy, idle, iowait) = report.machine;
    println!(
        "CPU in phase 1 ({wall:.1} s; machine {:.0}% busy, {:.0}% idle, {:.0}% iowait), in \
         cores (seconds per second of the phase), per thread name:",
        busy * 100.0,
        idle * 100.0,
        iowait * 100.0
    );
    println!(
        "  {:<24} {:>7} {:>7} {:>7} {:>9} {:>9}",
        "thread (count)", "user", "system", "on CPU", "CPU wait", "off CPU"
    );
    let mut total = 0.0;
    for (name, count, times) in &report.cpu {
        let (user, system) = (times.user.as_secs_f64(), times.system.as_secs_f64());
        let runqueue = times.runqueue.as_secs_f64();
        if user + system == 0.0 {
            continue;
        }
        total += user + system;
        // Off CPU: blocked in IO or idle, whatever is neither running nor runnable.
        let off = (*count as f64 * wall - user - system - runqueue).max(0.0);
        println!(
            "  {:<24} {:>7.2} {:>7.2} {:>7.2} {:>9.2} {:>9.2}",
            format!("{name} ({count})"),
            user / wall,
            system / wall,
            (user + system) / wall,
            runqueue / wall,
            off / wall
        );
    }
    println!(
        "  {:<24} {:>7} {:>7} {:>7.2}",
        "server total",
        "",
        "",
        total / wall
    );
    let generator = report.generator_cpu.as_secs_f64() / wall;
    println!(
        "  {:<24} {:>7} {:>7} {:>7.2}",
        "load generator", "", "", generator
    );
    // Whatever else ran on the machine (other processes, kernel threads): a noise indicator.
    let cores = std::thread::available_parallelism().map_or(2, usize::from) as f64;
    let others = (busy * cores - total / wall - generator).max(0.0);
    println!(
        "  {:<24} {:>7} {:>7} {:>7.2}",
        "everything else", "", "", others
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Options>> {
        let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
        parse_arguments(&args)
    }

    #[test]
    fn options_have_defaults_and_overrides() {
        assert_eq!(parse(&[]).unwrap(), Some(Options::default()));
        let quick = parse(&["--quick", "--concurrency", "8"]).unwrap().unwrap();
        assert_eq!(quick.duration, Duration::from_secs(3));
        assert_eq!(quick.concurrency, 8);
        let explicit = parse(&["--duration", "1.5", "--quick"]).unwrap().unwrap();
        assert_eq!(explicit.duration, Duration::from_millis(1500));
        let long = parse(&["--warm-up", "60", "--quick"]).unwrap().unwrap();
        assert_eq!(long.warm_up, Duration::from_secs(60));
        let other = parse(&["--no-baseline", "--group", "4", "--weir", "/bin/weir"])
            .unwrap()
            .unwrap();
        assert!(!other.baseline);
        assert_eq!(other.group, Some(4));
        assert_eq!(other.weir, Some(PathBuf::from("/bin/weir")));
        assert_eq!(parse(&["--help"]).unwrap(), None);
    }

    #[test]
    fn bad_options_are_rejected() {
        for args in [
            &["--concurrency", "0"][..],
            &["--concurrency"],
            &["--duration", "-1"],
            &["--warm-up", "soon"],
            &["--group", "x"],
            &["--bogus"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }
}
