//! The flusher thread: the only writer of `log-dedup.sqlite`. It writes each frozen snapshot
//! the log writer hands it (in key order, in a few transactions; the last one advances
//! `flushed_through`), and in between it sweeps the table: a walk in (segment, key) order that
//! deletes expired entries and collects the live ones into a new Bloom filter for the log
//! writer, planned for the keys the table holds; at its end, segments left empty are
//! forgotten. A sweep starts a 24th of the window after the last, or at once when the filter
//! in use has taken the keys it was planned for.
//! So neither the table's writes nor their checkpoints (on a thread of their own) delay a
//! group commit.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior, params};

use super::filter::Filter;
use super::{
    DedupKey, Frozen, SavedFilter, Settings, file_flushed_through, filter_path_for, window_cutoff,
    write_sorted,
};
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
    settings: Settings,
    saved: Option<SavedFilter>,
) -> Result<Started, StoreError> {
    let (checkpointer, checkpoint_thread) = Checkpointer::spawn(path, "weir-log-dedup-ckpt")?;
    let (jobs, job_receiver) = std::sync::mpsc::channel();
    let (done_sender, done) = std::sync::mpsc::channel();
    let mut flusher = Flusher {
        conn,
        checkpointer,
        window: settings.window,
        segment_keys: settings.segment_keys(),
        filter_max_bytes: settings.filter_max_bytes,
        filter: saved.as_ref().map(|saved| saved.filter.clone()),
        filter_planned: saved.as_ref().map_or(0, |saved| saved.planned),
        filter_room: saved.as_ref().map_or(0, |saved| saved.room),
        sweep: None,
        // With a saved filter, the first sweep can wait its turn.
        next_sweep: if saved.is_some() {
            Instant::now() + sweep_pause(settings.window)
        } else {
            Instant::now()
        },
        filter_path: filter_path_for(path),
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
    /// Keys a segment takes before snapshots go into a new one.
    segment_keys: u64,
    /// The largest filter a sweep builds.
    filter_max_bytes: u64,
    /// The filter the log writer uses, once a sweep has ended.
    filter: Option<Arc<Filter>>,
    /// The keys `filter` was planned for, and those it can still take before it is past that
    /// load; at 0 the next sweep starts at once, to plan a larger one.
    filter_planned: u64,
    filter_room: u64,
    /// Where `filter` is saved when the flusher stops.
    filter_path: PathBuf,
    sweep: Option<Sweep>,
    /// When the next sweep may start.
    next_sweep: Instant,
    done: Sender<Done>,
}

/// A walk over the table in (segment, key) order.
struct Sweep {
    /// The last entry inspected (`None`: none yet).
    after: Option<(i64, DedupKey)>,
    /// The live keys inspected so far and every key written since the sweep started.
    filter: Filter,
    /// The keys `filter` was planned for, and those inserted into it so far.
    planned: u64,
    inserted: u64,
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
        self.save_filter();
    }

    /// Saves the filter (which holds every key of the file) with the file's `flushed_through`,
    /// for the next open; written to a temporary file and renamed, so a crash halfway leaves
    /// no partial one.
    fn save_filter(&self) {
        let Some(filter) = &self.filter else {
            return;
        };
        let saved_at = match file_flushed_through(&self.conn) {
            Ok(seq) => seq,
            Err(error) => {
                error.into_log_error("saving the dedup filter");
                return;
            }
        };
        let temporary = self.filter_path.with_extension("filter.tmp");
        let written = std::fs::File::create(&temporary).and_then(|file| {
            let mut out = std::io::BufWriter::new(file);
            filter.save(&mut out, [saved_at, self.filter_planned, self.filter_room])?;
            out.into_inner()
                .map_err(|error| error.into_error())?
                .sync_all()?;
            std::fs::rename(&temporary, &self.filter_path)
        });
        if let Err(error) = written {
            tracing::warn!(%error, "cannot save the dedup filter; the next open rebuilds it");
            let _ = std::fs::remove_file(&temporary);
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
                    let written = u64::try_from(keys.len()).unwrap_or(u64::MAX);
                    if let Some(sweep) = self.sweep.as_mut() {
                        sweep.inserted = sweep.inserted.saturating_add(written);
                    }
                    self.filter_room = self.filter_room.saturating_sub(written);
                    if self.filter.is_some() && self.filter_room == 0 && self.sweep.is_none() {
                        self.next_sweep = Instant::now();
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
        write_sorted(
            &mut self.conn,
            keys,
            through_seq,
            self.segment_keys,
            |conn| {
                checkpointer.after_commit(conn);
            },
        )
    }

    /// Runs the next chunk of the sweep, starting one if none runs. A sweep starts a 24th of
    /// the window (1 s to 1 h) after the previous one ended, so entries outlive their window
    /// by little more than that while the table is walked only so often.
    fn sweep_chunk(&mut self) -> Result<(), StoreError> {
        if self.sweep.is_none() {
            // Planned for the keys written so far (expired ones included: an overestimate),
            // half as many again and a segment's worth: room for the keys written before the
            // next sweep, and for growth, so that a table growing steadily is walked only
            // every time it has grown by half.
            let written: i64 =
                self.conn
                    .query_row("SELECT coalesce(sum(keys), 0) FROM segments", [], |row| {
                        row.get(0)
                    })?;
            let written = u64::try_from(written).unwrap_or(0);
            let planned = written
                .saturating_add(written / 2)
                .saturating_add(self.segment_keys);
            self.sweep = Some(Sweep {
                after: None,
                filter: Filter::for_keys(planned, self.filter_max_bytes),
                planned,
                inserted: 0,
            });
        }
        let Some(sweep) = self.sweep.as_mut() else {
            return Ok(());
        };
        let cutoff = window_cutoff(self.window);
        let (start_segment, start_key) = sweep
            .after
            .map_or((-1, Vec::new()), |(segment, key)| (segment, key.to_vec()));
        let transaction = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut last = None;
        let mut expired = 0usize;
        {
            let mut chunk = transaction.prepare_cached(
                "SELECT segment, key, received_at FROM dedup WHERE (segment, key) > (?1, ?2)
                 ORDER BY segment, key LIMIT ?3",
            )?;
            let mut rows = chunk.query(params![start_segment, start_key, SWEEP_CHUNK_KEYS])?;
            while let Some(row) = rows.next()? {
                let segment: i64 = row.get(0)?;
                let key = row
                    .get_ref(1)?
                    .as_blob()
                    .ok()
                    .and_then(|bytes| DedupKey::try_from(bytes).ok())
                    .ok_or(StoreError::Unexpected("a dedup key is not 16 bytes"))?;
                let received_at: i64 = row.get(2)?;
                if received_at > cutoff {
                    sweep.filter.insert(&key);
                    sweep.inserted += 1;
                } else {
                    expired += 1;
                }
                last = Some((segment, key));
            }
        }
        let Some(last) = last else {
            // The walk reached the end of the table: forget the segments it left empty (but
            // the newest, which takes the next snapshot).
            transaction.execute(
                "DELETE FROM segments WHERE segment < (SELECT max(segment) FROM segments)
                 AND NOT EXISTS (SELECT 1 FROM dedup WHERE dedup.segment = segments.segment)",
                [],
            )?;
            transaction.commit()?;
            if let Some(sweep) = self.sweep.take() {
                let filter = Arc::new(sweep.filter);
                self.filter = Some(filter.clone());
                self.filter_planned = sweep.planned;
                self.filter_room = sweep.planned.saturating_sub(sweep.inserted);
                let _ = self.done.send(Done::Filter(filter));
            }
            self.next_sweep = Instant::now() + sweep_pause(self.window);
            return Ok(());
        };
        // Most chunks hold nothing expired (a sweep for a larger filter comes long before the
        // window ends): those are only read.
        let deleted = if expired == 0 {
            0
        } else {
            transaction
                .prepare_cached(
                    "DELETE FROM dedup WHERE (segment, key) > (?1, ?2)
                     AND (segment, key) <= (?3, ?4) AND received_at <= ?5",
                )?
                .execute(params![
                    start_segment,
                    start_key,
                    last.0,
                    &last.1[..],
                    cutoff
                ])?
        };
        transaction.commit()?;
        self.checkpointer.after_commit(&self.conn);
        if deleted > 0 {
            tracing::debug!(deleted, "dedup index: purged expired entries");
        }
        sweep.after = Some(last);
        Ok(())
    }
}

/// The rest between two sweeps: a 24th of the window, 1 s to 1 h.
fn sweep_pause(window: Duration) -> Duration {
    (window / 24).clamp(Duration::from_secs(1), Duration::from_secs(3_600))
}
