//! The raw baseline: what a bare "parse and durably append" costs on the same machine, with
//! no HTTP, no validation, no dedup.
//!
//! Parser threads take the benchmark's request bodies (stamped with fresh ids like the load
//! generator's), parse each with `serde_json::from_slice::<serde_json::Value>` and serialise
//! every event of its `batch` back to JSON bytes (the baseline's "canonical form"); one writer
//! thread appends the events, one row per event, to a fresh SQLite file in WAL mode with
//! `synchronous=FULL` and the same WAL checkpoint interval as Weir's log, committing (with
//! fsync) one transaction per group of requests — like the server's group commit.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use rusqlite::Connection;

use super::procfs;
use super::request::{self, Body};

/// How the baseline runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) duration: Duration,
    /// Requests (of 100 events) per transaction.
    pub(crate) group: usize,
    pub(crate) parser_threads: usize,
}

/// What the baseline achieved.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) events: u64,
    pub(crate) transactions: u64,
    pub(crate) elapsed: Duration,
    /// CPU time of the parser threads and of the writer (this thread), by thread name.
    pub(crate) cpu: Vec<(String, usize, procfs::ThreadTimes)>,
    /// Busy share of the whole machine during the run.
    pub(crate) machine_busy: f64,
}

impl Outcome {
    pub(crate) fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }
}

/// The events of one request, serialised.
type Parsed = Vec<Vec<u8>>;

/// Runs the baseline in a temporary directory for `settings.duration`.
pub(crate) fn run(body: &Body, settings: Settings) -> Result<Outcome> {
    let clock_ticks = procfs::clock_ticks();
    let threads_before = procfs::threads("self", clock_ticks)?;
    let machine_before = procfs::MachineTimes::read()?;
    let directory = tempfile::Builder::new()
        .prefix("weir-bench-baseline-")
        .tempdir()?;
    let mut conn = open(&directory.path().join("baseline.sqlite"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let sequence = Arc::new(AtomicU64::new(0));
    let (sender, receiver) = mpsc::sync_channel::<Parsed>(settings.group * 2);
    let parsers: Vec<_> = (0..settings.parser_threads.max(1))
        .map(|_| {
            let (body, stop, sequence, sender) =
                (body.clone(), stop.clone(), sequence.clone(), sender.clone());
            std::thread::Builder::new()
                .name("baseline-parser".to_owned())
                .spawn(move || parse_loop(body, &stop, &sequence, &sender))
        })
        .collect::<Result<_, _>>()?;
    drop(sender);

    let start = Instant::now();
    let end = start + settings.duration;
    let mut outcome = Outcome {
        events: 0,
        transactions: 0,
        elapsed: Duration::ZERO,
        cpu: Vec::new(),
        machine_busy: 0.0,
    };
    let mut group = Vec::with_capacity(settings.group);
    let written = loop {
        if Instant::now() >= end {
            break Ok(());
        }
        group.clear();
        while group.len() < settings.group {
            match receiver.recv() {
                Ok(parsed) => group.push(parsed),
                Err(_) => break,
            }
        }
        if group.len() < settings.group {
            break Err(anyhow::anyhow!("a baseline parser thread stopped early"));
        }
        match append(&mut conn, &group) {
            Ok(events) => {
                outcome.events += events;
                outcome.transactions += 1;
            }
            Err(error) => break Err(error),
        }
    };
    outcome.elapsed = start.elapsed();
    // Read before the parsers end: a finished thread's times are gone from /proc.
    outcome.cpu = procfs::difference(&threads_before, &procfs::threads("self", clock_ticks)?);
    outcome.machine_busy = procfs::MachineTimes::read()?
        .shares_since(&machine_before)
        .0;
    stop.store(true, Ordering::Relaxed);
    drop(receiver); // unblocks parsers waiting to send
    for parser in parsers {
        match parser.join() {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(error),
            Err(_) => bail!("a baseline parser thread panicked"),
        }
    }
    written?;
    Ok(outcome)
}

fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).context("opening the baseline database")?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        bail!("the baseline database cannot use WAL");
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Weir's log checkpoints every 16,384 pages; the baseline gets the same.
    conn.pragma_update(None, "wal_autocheckpoint", 16_384)?;
    conn.execute_batch("CREATE TABLE events (seq INTEGER PRIMARY KEY, body BLOB NOT NULL)")?;
    Ok(conn)
}

/// One transaction: every event of every request of the group; returns the event count.
fn append(conn: &mut Connection, group: &[Parsed]) -> Result<u64> {
    let transaction = conn.transaction()?;
    let mut events = 0;
    {
        let mut insert = transaction.prepare_cached("INSERT INTO events (body) VALUES (?1)")?;
        for event in group.iter().flatten() {
            insert.execute([event])?;
            events += 1;
        }
    }
    transaction.commit()?;
    Ok(events)
}

fn parse_loop(
    mut body: Body,
    stop: &AtomicBool,
    sequence: &AtomicU64,
    sender: &mpsc::SyncSender<Parsed>,
) -> Result<()> {
    while !stop.load(Ordering::Relaxed) {
        request::stamp(
            &mut body.bytes,
            &body.stamps,
            sequence.fetch_add(1, Ordering::Relaxed),
        );
        let parsed = parse(&body.bytes)?;
        if sender.send(parsed).is_err() {
            break;
        }
    }
    Ok(())
}

/// `serde_json::Value` of the body, then every event of its batch as JSON bytes.
fn parse(body: &[u8]) -> Result<Parsed> {
    let value: serde_json::Value = serde_json::from_slice(body)?;
    let Some(events) = value.get("batch").and_then(serde_json::Value::as_array) else {
        bail!("the benchmark body has no batch array");
    };
    events
        .iter()
        .map(|event| serde_json::to_vec(event).map_err(Into::into))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_event_of_the_body() {
        let body = Body::build().unwrap();
        let parsed = parse(&body.bytes).unwrap();
        assert_eq!(parsed.len(), body.events());
        assert!(parsed.iter().all(|event| event.starts_with(b"{")));
    }

    #[test]
    fn appends_whole_groups_durably() {
        let body = Body::build().unwrap();
        let settings = Settings {
            duration: Duration::from_millis(50),
            group: 2,
            parser_threads: 2,
        };
        let outcome = run(&body, settings).unwrap();
        assert!(outcome.transactions >= 1);
        assert_eq!(
            outcome.events,
            outcome.transactions * 2 * body.events() as u64
        );
    }
}
