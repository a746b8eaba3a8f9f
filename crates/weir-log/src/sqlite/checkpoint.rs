//! Checkpoints off the commit path. SQLite's autocheckpoint would copy WAL frames back into
//! `log.sqlite` (and fsync it) inside a writer's COMMIT; measured with 32 appending tasks that
//! costs either p99 (a 64 MiB WAL: 90–180 ms stalls) or throughput (a 4 MiB WAL: frequent
//! fsyncs). Here a checkpointer thread copies frames on its own connection with PASSIVE
//! checkpoints, which block neither the writer nor readers; in the same runs that gave 1.3–2×
//! the events/s of the 4 MiB autocheckpoint at a similar p99.
//!
//! A passive checkpoint alone lets the WAL grow without bound under continuous appends: SQLite
//! restarts the WAL only when a write transaction begins after every frame was copied, and the
//! writer keeps adding frames while the checkpointer copies. So once the WAL is large, the
//! writer itself runs one more passive checkpoint right after answering a group: it copies only
//! the few frames the checkpointer has not, and the next transaction restarts the WAL.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::{StoreError, schema};

/// Minimum time between two background checkpoints, so they do not run once per commit.
const MIN_INTERVAL: Duration = Duration::from_millis(20);
/// WAL size (in frames, 4 KiB each) from which the writer finishes a checkpoint to restart it.
const RESTART_FRAMES: i64 = 4_096;

/// The writer's side. Dropping it stops the thread after its current checkpoint.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    commits: SyncSender<()>,
    /// Frames in the WAL as last seen by a checkpoint; 0 after the writer finished one.
    wal_frames: Arc<AtomicI64>,
}

impl Checkpointer {
    /// Starts the checkpoint thread `name` for the database at `path`.
    pub(crate) fn spawn(
        path: &Path,
        name: &str,
    ) -> Result<(Checkpointer, JoinHandle<()>), StoreError> {
        let conn = schema::open_checkpointer(path)?;
        let wal_frames = Arc::new(AtomicI64::new(0));
        let (commits, notified) = sync_channel(1);
        let seen = wal_frames.clone();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || run(&conn, &notified, &seen))
            .map_err(|_| StoreError::Unexpected("cannot start the log checkpoint thread"))?;
        Ok((
            Checkpointer {
                commits,
                wal_frames,
            },
            thread,
        ))
    }

    /// Called by the writer after each commit, once its waiters have been answered.
    pub(crate) fn after_commit(&self, conn: &Connection) {
        match self.commits.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
        }
        if self.wal_frames.load(Ordering::Relaxed) < RESTART_FRAMES {
            return;
        }
        // Busy while the background checkpoint runs; then retried after the next commit.
        match checkpoint(conn) {
            Ok(Outcome {
                busy: false,
                wal_frames,
                copied,
            }) if copied == wal_frames => {
                self.wal_frames.store(0, Ordering::Relaxed);
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "event log checkpoint failed"),
        }
    }
}

fn run(conn: &Connection, notified: &Receiver<()>, wal_frames: &AtomicI64) {
    while notified.recv().is_ok() {
        let started = Instant::now();
        match checkpoint(conn) {
            Ok(outcome) => wal_frames.store(outcome.wal_frames, Ordering::Relaxed),
            Err(error) => tracing::warn!(%error, "event log checkpoint failed"),
        }
        if let Some(rest) = MIN_INTERVAL.checked_sub(started.elapsed()) {
            std::thread::sleep(rest);
        }
    }
}

/// The result row of `PRAGMA wal_checkpoint`.
struct Outcome {
    /// Another checkpoint was running; nothing was done.
    busy: bool,
    wal_frames: i64,
    copied: i64,
}

fn checkpoint(conn: &Connection) -> Result<Outcome, rusqlite::Error> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok(Outcome {
            busy: row.get::<_, i64>(0)? != 0,
            wal_frames: row.get(1)?,
            copied: row.get(2)?,
        })
    })
}
