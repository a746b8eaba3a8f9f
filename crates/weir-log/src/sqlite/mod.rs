//! The embedded backend: an append-only log in `log.sqlite` (WAL, `synchronous=FULL`) written by
//! one writer thread with group commit, read through read-only connections. Layout in `schema`,
//! row bodies in `codec`, the transaction in `commit`, the thread in `writer`, WAL checkpoints in
//! `checkpoint`, upkeep in `maintenance`, reads in `reader`, error classification in `error`.
//!
//! `group_commit_delay` defaults to 0: on the 2-core reference machine, 32 tasks appending
//! 100-event requests reached the same events/s with and without a 2 ms delay (within noise),
//! because the appends that arrive during one commit's fsync already form the next group
//! (about 2,000 events per commit without a delay); the delay only added latency.

mod checkpoint;
mod codec;
mod commit;
mod cursors;
mod dedup;
mod error;
mod maintenance;
mod reader;
mod schema;
mod writer;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot, watch};

use self::checkpoint::Checkpointer;
use self::commit::PreparedAppend;
use self::dedup::DedupIndex;
pub(crate) use self::error::StoreError;
use self::reader::ReaderPool;
use self::writer::{Command, Shared, Writer};
use crate::{
    AppendEvent, AppendStatus, BoxFuture, EventLog, LogConfig, LogError, LogRecord, LogStats,
};

/// The wall clock in unix milliseconds (0 before 1970).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

/// Commands that may wait for the writer; senders beyond this wait (backpressure).
const COMMAND_QUEUE: usize = 1024;

/// The embedded event log in one SQLite file. Open one per file and process.
#[derive(Debug)]
pub struct SqliteLog {
    commands: mpsc::Sender<Command>,
    head: watch::Receiver<u64>,
    shared: Arc<Shared>,
    readers: Arc<ReaderPool>,
    closed: AtomicBool,
    /// The writer and checkpointer threads, joined by `close`.
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl SqliteLog {
    /// Opens or creates the log at `path` (`<data_dir>/log.sqlite`; the directory must exist),
    /// recovers its head and starts the writer thread.
    pub fn open(path: &Path, config: LogConfig) -> Result<SqliteLog, LogError> {
        config.validate()?;
        let (conn, legacy) = schema::open_writer(path)
            .map_err(|error| error.into_log_error("opening log.sqlite"))?;
        let head = schema::recover_head(&conn)
            .map_err(|error| error.into_log_error("recovering the log head"))?;
        let settings = dedup::Settings {
            flush_keys: config.dedup_flush_keys,
            flush_interval: config.dedup_flush_interval,
            window: config.dedup_window,
            filter_max_bytes: config.dedup_filter_max_bytes,
        };
        let (dedup, dedup_threads) =
            DedupIndex::open(&dedup::path_for(path), &conn, head, legacy, settings)
                .map_err(|error| error.into_log_error("opening the dedup index"))?;
        if legacy {
            schema::finish_legacy(&conn)
                .map_err(|error| error.into_log_error("migrating log.sqlite"))?;
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|error| {
                tracing::error!(%error, "cannot build the event log writer's runtime");
                LogError::Internal
            })?;
        let (checkpointer, checkpoint_thread) = Checkpointer::spawn(path, "weir-log-checkpoint")
            .map_err(|error| error.into_log_error("starting the checkpointer"))?;
        let (head_sender, head_receiver) = watch::channel(head);
        let (command_sender, command_receiver) = mpsc::channel(COMMAND_QUEUE);
        let shared = Arc::new(Shared {
            ready: AtomicBool::new(true),
            stats: LogStats::new(),
        });
        let writer = Writer {
            conn,
            config,
            head,
            head_sender,
            dedup,
            shared: shared.clone(),
            checkpointer,
            runtime,
        };
        let thread = std::thread::Builder::new()
            .name("weir-log-writer".to_owned())
            .spawn(move || writer.run(command_receiver))
            .map_err(|error| {
                tracing::error!(%error, "cannot start the event log writer thread");
                LogError::Internal
            })?;
        tracing::info!(path = %path.display(), head, "event log opened");
        Ok(SqliteLog {
            commands: command_sender,
            head: head_receiver,
            shared,
            readers: Arc::new(ReaderPool::new(path.to_path_buf())),
            closed: AtomicBool::new(false),
            threads: Mutex::new(
                [thread, checkpoint_thread]
                    .into_iter()
                    .chain(dedup_threads)
                    .collect(),
            ),
        })
    }

    /// Sends `command` built around a reply channel and waits for the writer's answer.
    async fn call<T>(
        &self,
        command: impl FnOnce(writer::Reply<T>) -> Command,
    ) -> Result<T, LogError> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(LogError::Closed);
        }
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| self.writer_gone())?;
        answer.await.map_err(|_| self.writer_gone())?
    }

    fn writer_gone(&self) -> LogError {
        if self.closed.load(Ordering::Relaxed) {
            LogError::Closed
        } else {
            tracing::error!("the event log writer thread is gone");
            LogError::Unavailable
        }
    }

    fn ensure_open(&self) -> Result<(), LogError> {
        if self.closed.load(Ordering::Relaxed) {
            Err(LogError::Closed)
        } else {
            Ok(())
        }
    }

    /// Test hook: sets `PRAGMA max_page_count` on the write connection (clamped by SQLite to
    /// the current size), so the next growing commit fails with SQLITE_FULL.
    #[cfg(test)]
    pub(crate) async fn set_max_page_count(&self, pages: u64) {
        let (reply, done) = oneshot::channel();
        if self
            .commands
            .send(Command::SetMaxPageCount { pages, reply })
            .await
            .is_ok()
        {
            let _ = done.await;
        }
    }
}

impl EventLog for SqliteLog {
    fn append(
        &self,
        events: Vec<AppendEvent>,
    ) -> BoxFuture<'_, Result<Vec<AppendStatus>, LogError>> {
        Box::pin(async move {
            self.ensure_open()?;
            if events.is_empty() {
                return Ok(Vec::new());
            }
            let append = PreparedAppend::new(events)
                .map_err(|error| error.into_log_error("encoding an append"))?;
            let (statuses, spent) = self.call(|reply| Command::Append { append, reply }).await?;
            drop(spent);
            Ok(statuses)
        })
    }

    fn read(
        &self,
        after_seq: u64,
        max_events: usize,
    ) -> BoxFuture<'_, Result<Vec<LogRecord>, LogError>> {
        Box::pin(async move {
            self.ensure_open()?;
            self.readers
                .run("reading the log", move |conn| {
                    reader::read_records(conn, after_seq, max_events)
                })
                .await
        })
    }

    fn head(&self) -> u64 {
        *self.head.borrow()
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.head.clone()
    }

    fn ack<'a>(&'a self, consumer: &'a str, seq: u64) -> BoxFuture<'a, Result<(), LogError>> {
        Box::pin(async move {
            let consumer = consumer.to_owned();
            self.call(|reply| Command::Ack {
                consumer,
                seq,
                reply,
            })
            .await
        })
    }

    fn reset_cursor<'a>(
        &'a self,
        consumer: &'a str,
        seq: u64,
    ) -> BoxFuture<'a, Result<(), LogError>> {
        Box::pin(async move {
            let consumer = consumer.to_owned();
            self.call(|reply| Command::ResetCursor {
                consumer,
                seq,
                reply,
            })
            .await
        })
    }

    fn cursor<'a>(&'a self, consumer: &'a str) -> BoxFuture<'a, Result<Option<u64>, LogError>> {
        Box::pin(async move {
            self.ensure_open()?;
            let consumer = consumer.to_owned();
            self.readers
                .run("reading a cursor", move |conn| {
                    reader::read_cursor(conn, &consumer)
                })
                .await
        })
    }

    fn is_ready(&self) -> bool {
        !self.closed.load(Ordering::Relaxed)
            && !self.commands.is_closed()
            && self.shared.ready.load(Ordering::Relaxed)
    }

    fn stats(&self) -> &LogStats {
        &self.shared.stats
    }

    fn close(&self) -> BoxFuture<'_, Result<(), LogError>> {
        Box::pin(async move {
            if self.closed.swap(true, Ordering::Relaxed) {
                return Ok(());
            }
            let (reply, done) = oneshot::channel();
            if self.commands.send(Command::Close { reply }).await.is_ok() {
                let _ = done.await;
            }
            // The writer stops first; dropping its checkpointer handle stops the checkpointer.
            let threads =
                std::mem::take(&mut *self.threads.lock().unwrap_or_else(PoisonError::into_inner));
            let joined = tokio::task::spawn_blocking(move || {
                let failed = threads
                    .into_iter()
                    .map(JoinHandle::join)
                    .filter(Result::is_err);
                failed.count() == 0
            })
            .await;
            if !matches!(joined, Ok(true)) {
                tracing::error!("an event log thread ended abnormally");
            }
            self.readers.clear();
            tracing::info!(head = self.head(), "event log closed");
            Ok(())
        })
    }
}
