//! The flusher thread: the only writer of `log-dedup.sqlite`. It writes each frozen snapshot
//! the log writer hands it (in key order, in a few transactions; the last one advances
//! `flushed_through`), and in between it sweeps the table: a walk in key order that deletes
//! expired entries and collects the live ones into a new Bloom filter for the log writer.
//! So neither the table's writes nor their checkpoints (on a thread of their own) delay a
//! group commit.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior, params};

use super::filter::Filter;
use super::{DedupKey, Frozen, window_cutoff, write_sorted};
use crate::sqlite::StoreError;
use crate::sqlite::checkpoint::Checkpointer;

/// Entries the sweep inspects per transaction; jobs are checked between chunks.
const SWEEP_CHUNK_KEYS: i64 = 4_096;
/// How often a failed snapshot write is tried again before the log writer is told.
const WRITE_ATTEMPTS: u32 = 5;

/// From the log writer.
#[derive(Debug)]
pub(crate) enum Job {
    Write(Arc<Frozen>),
}

/// To the log writer.
#[derive(Debug)]
pub(crate) enum Done {
    /// The snapshot taken at this head is in the table.
    Written { through_seq: u64 },
    /// Writing the snapshot failed; the log writer sends it again later.
    Failed { through_seq: u64 },
    /// A sweep ended: the filter of the keys in the table, which the flusher keeps current.
    Filter(Arc<Filter>),
}

/// The log writer's ends of a started flusher, and its threads (to join on close).
pub(crate) struct Started {
    pub(crate) jobs: Sender<Job>,
    pub(crate) done: Receiver<Done>,
    pub(crate) threads: Vec<JoinHandle<()>>,
}

/// Starts the flusher on `conn` (the file's write connection) for the file at `path`.
pub(crate) fn spawn(
    conn: Connection,
    path: &Path,
    window: Duration,
) -> Result<Started, StoreError> {
    let (checkpointer, checkpoint_thread) = Checkpointer::spawn(path, "weir-log-dedup-ckpt")?;
    let (jobs, job_receiver) = std::sync::mpsc::channel();
    let (done_sender, done) = std::sync::mpsc::channel();
    let mut flusher = Flusher {
        conn,
        checkpointer,
        window,
        filter: None,
        sweep: None,
        next_sweep: Instant::now(),
        done: done_sender,
    };
    let thread = std::thread::Builder::new()
        .name("weir-log-dedup".to_owned())
        .spawn(move || flusher.run(&job_receiver))
        .map_err(|_| StoreError::Unexpected("cannot start the dedup flusher thread"))?;
    Ok(Started {
        jobs,
        done,
        threads: vec![thread, checkpoint_thread],
    })
}

struct Flusher {
    conn: Connection,
    checkpointer: Checkpointer,
    window: Duration,
    /// The filter the log writer uses, once a sweep has ended.
    filter: Option<Arc<Filter>>,
    sweep: Option<Sweep>,
    /// When the next sweep may start.
    next_sweep: Instant,
    done: Sender<Done>,
}

/// A walk over the table in key order.
struct Sweep {
    /// The last key inspected (`None`: none yet).
    after: Option<DedupKey>,
    /// The live keys inspected so far and every key written since the sweep started.
    filter: Filter,
}

impl Flusher {
    fn run(&mut self, jobs: &Receiver<Job>) {
        loop {
            let wait = if self.sweep.is_some() {
                Duration::ZERO
            } else {
                self.next_sweep.saturating_duration_since(Instant::now())
            };
            match jobs.recv_timeout(wait) {
                Ok(Job::Write(frozen)) => self.write(&frozen),
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(error) = self.sweep_chunk() {
                        error.into_log_error("sweeping the dedup index");
                        self.sweep = None;
                        self.next_sweep = Instant::now() + Duration::from_secs(1);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
    }

    fn write(&mut self, frozen: &Frozen) {
        // In key order, consecutive inserts share leaf pages.
        let mut keys: Vec<(DedupKey, i64)> =
            frozen.keys.iter().map(|(key, at)| (*key, *at)).collect();
        keys.sort_unstable_by_key(|(key, _)| *key);
        let mut delay = Duration::from_millis(100);
        for attempt in 1..=WRITE_ATTEMPTS {
            match self.write_all(&keys, frozen.through_seq) {
                Ok(()) => {
                    let filters = [
                        self.filter.as_deref(),
                        self.sweep.as_ref().map(|sweep| &sweep.filter),
                    ];
                    for filter in filters.into_iter().flatten() {
                        for (key, _) in &keys {
                            filter.insert(key);
                        }
                    }
                    let _ = self.done.send(Done::Written {
                        through_seq: frozen.through_seq,
                    });
                    return;
                }
                Err(error) => {
                    error.into_log_error("writing dedup keys");
                    if attempt < WRITE_ATTEMPTS {
                        std::thread::sleep(delay);
                        delay *= 2;
                    }
                }
            }
        }
        let _ = self.done.send(Done::Failed {
            through_seq: frozen.through_seq,
        });
    }

    fn write_all(&mut self, keys: &[(DedupKey, i64)], through_seq: u64) -> Result<(), StoreError> {
        let checkpointer = &self.checkpointer;
        write_sorted(&mut self.conn, keys, through_seq, |conn| {
            checkpointer.after_commit(conn);
        })
    }

    /// Runs the next chunk of the sweep, starting one if none runs. A sweep starts a 24th of
    /// the window (1 s to 1 h) after the previous one ended, so entries outlive their window
    /// by little more than that while the table is walked only so often.
    fn sweep_chunk(&mut self) -> Result<(), StoreError> {
        let sweep = self.sweep.get_or_insert_with(|| Sweep {
            after: None,
            filter: Filter::new(),
        });
        let cutoff = window_cutoff(self.window);
        let start = sweep.after.map(|key| key.to_vec()).unwrap_or_default();
        let transaction = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut last = None;
        {
            let mut chunk = transaction.prepare_cached(
                "SELECT key, received_at FROM dedup WHERE key > ?1 ORDER BY key LIMIT ?2",
            )?;
            let mut rows = chunk.query(params![start, SWEEP_CHUNK_KEYS])?;
            while let Some(row) = rows.next()? {
                let key = row
                    .get_ref(0)?
                    .as_blob()
                    .ok()
                    .and_then(|bytes| DedupKey::try_from(bytes).ok())
                    .ok_or(StoreError::Unexpected("a dedup key is not 16 bytes"))?;
                let received_at: i64 = row.get(1)?;
                if received_at > cutoff {
                    sweep.filter.insert(&key);
                }
                last = Some(key);
            }
        }
        let Some(last) = last else {
            // The walk reached the end of the table.
            transaction.commit()?;
            if let Some(sweep) = self.sweep.take() {
                let filter = Arc::new(sweep.filter);
                self.filter = Some(filter.clone());
                let _ = self.done.send(Done::Filter(filter));
            }
            let pause =
                (self.window / 24).clamp(Duration::from_secs(1), Duration::from_secs(3_600));
            self.next_sweep = Instant::now() + pause;
            return Ok(());
        };
        let deleted = transaction
            .prepare_cached("DELETE FROM dedup WHERE key > ?1 AND key <= ?2 AND received_at <= ?3")?
            .execute(params![start, &last[..], cutoff])?;
        transaction.commit()?;
        self.checkpointer.after_commit(&self.conn);
        if deleted > 0 {
            tracing::debug!(deleted, "dedup index: purged expired entries");
        }
        sweep.after = Some(last);
        Ok(())
    }
}
