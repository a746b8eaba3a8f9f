//! The event log: the durable, ordered record of every accepted event (storage spec §2).
//!
//! Ingest appends a request's accepted events and answers only after [`EventLog::append`]
//! resolved, i.e. after the events are committed with fsync. Pipelines read the log by sequence
//! number from their own durable cursor. Payloads are opaque bytes (the canonical event JSON);
//! this crate depends on no other weir crate.
//!
//! API:
//! * [`EventLog`], the backend-neutral trait (embedded SQLite now, NATS JetStream later), with
//!   [`AppendEvent`] → [`AppendStatus`] per event, [`LogRecord`] for readers, and [`LogError`];
//! * [`SqliteLog`], the embedded backend in `log.sqlite`, configured by [`LogConfig`];
//! * [`LogStats`] and [`HistogramSnapshot`]: counters and histograms for `/metrics`.
//!
//! Invariants: an append resolves `Ok` only once its events are durable; log order is commit
//! order and a request's events are never interleaved with another's; a message id is recorded
//! for dedup only together with its stored event; memory stays bounded (the dedup index lives on
//! disk). Async callers never block on SQLite: one writer thread owns the write connection.

mod config;
mod error;
mod event;
mod sqlite;
mod stats;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::pin::Pin;

pub use config::{DEDUP_FILTER_LIMIT_BYTES, DEDUP_FILTER_MIN_BYTES, LogConfig};
pub use error::LogError;
pub use event::{AppendEvent, AppendStatus, LogRecord};
pub use sqlite::SqliteLog;
pub use stats::{HistogramSnapshot, LogStats};

/// A boxed, `Send` future borrowing the log; keeps [`EventLog`] dyn-compatible.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A durable, ordered event log with dedup and durable consumer cursors.
///
/// Sequence numbers start at 1, are strictly increasing and contiguous, except that retention
/// deletes the oldest records: a reader whose position was pruned continues at the oldest
/// remaining record and can count the skipped events from the gap.
pub trait EventLog: Send + Sync + 'static {
    /// Appends `events` in order as one unit (never interleaved with another append) and
    /// resolves after they are durable, with one status per event in the same order. An event
    /// with `dedup: true` whose (connection, message id) was accepted within the dedup window
    /// (earlier in this call included) is a [`AppendStatus::Duplicate`] and is not stored.
    ///
    /// On error none of the events are stored. Dropping the future does not undo an append the
    /// writer already took: its events may be stored without the caller learning their seqs.
    fn append(
        &self,
        events: Vec<AppendEvent>,
    ) -> BoxFuture<'_, Result<Vec<AppendStatus>, LogError>>;

    /// Up to `max_events` records with `seq > after_seq`, in seq order. Records of one append
    /// may be split across reads; the next read continues from the last returned seq.
    fn read(
        &self,
        after_seq: u64,
        max_events: usize,
    ) -> BoxFuture<'_, Result<Vec<LogRecord>, LogError>>;

    /// The seq of the last durably appended event (0 while the log is empty).
    fn head(&self) -> u64;

    /// A receiver of [`EventLog::head`] updates, so consumers can tail without polling. Its
    /// `changed()` fails once the log is closed.
    fn subscribe(&self) -> tokio::sync::watch::Receiver<u64>;

    /// Durably records that `consumer` has processed every event up to `seq`. Cursors only move
    /// forward: acknowledging a lower seq than the stored one keeps the stored one.
    fn ack<'a>(&'a self, consumer: &'a str, seq: u64) -> BoxFuture<'a, Result<(), LogError>>;

    /// Durably sets `consumer`'s cursor to `seq`, also below the stored one: a replay makes the
    /// consumer read again what follows `seq`. Acks handed to the log before this call (a
    /// stopped consumer's last ack may still be queued) are applied before it, so they cannot
    /// undo the reset; the caller makes sure the consumer sends no ack after it has called this
    /// until it resolved.
    fn reset_cursor<'a>(
        &'a self,
        consumer: &'a str,
        seq: u64,
    ) -> BoxFuture<'a, Result<(), LogError>>;

    /// The last seq acknowledged by `consumer`, or `None` if it never acknowledged.
    fn cursor<'a>(&'a self, consumer: &'a str) -> BoxFuture<'a, Result<Option<u64>, LogError>>;

    /// Whether the log is writable: the writer is alive and its last write succeeded.
    fn is_ready(&self) -> bool;

    /// Counters and histograms of the log's commits.
    fn stats(&self) -> &LogStats;

    /// Finishes every append queued so far, then stops the writer. Later calls fail with
    /// [`LogError::Closed`]; closing twice is fine.
    fn close(&self) -> BoxFuture<'_, Result<(), LogError>>;
}
