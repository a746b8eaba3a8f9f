//! The writer thread: the only owner of the write connection (the shape of sqlx's SQLite
//! worker). Async callers send commands with a oneshot for the reply. Group commit: block for
//! the first command, drain everything already queued (up to `group_commit_max_events`),
//! optionally wait up to `group_commit_delay` for more, then write the whole group in one
//! transaction, commit with fsync, and answer every waiter. After a group, and between groups,
//! it writes a chunk of the dedup index's memory level to disk when a flush is in progress
//! (see `dedup`), and between groups it runs bounded chunks of maintenance.
//!
//! Each append's events go back to its caller with the answer, so that freeing them costs the
//! caller's task, not the one serial thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot, watch};

use super::checkpoint::Checkpointer;
use super::commit::{self, PreparedAppend};
use super::cursors;
use super::dedup::{DedupIndex, Window};
use super::maintenance;
use super::now_ms;
use crate::{AppendStatus, LogConfig, LogError, LogStats};

pub(crate) type Reply<T> = oneshot::Sender<Result<T, LogError>>;
/// An append's answer: its statuses, and the append given back to be freed by the caller.
pub(crate) type AppendReply = Reply<(Vec<AppendStatus>, PreparedAppend)>;

#[derive(Debug)]
pub(crate) enum Command {
    Append {
        append: PreparedAppend,
        reply: AppendReply,
    },
    Ack {
        consumer: String,
        seq: u64,
        reply: Reply<()>,
    },
    /// Set a consumer's cursor, also backwards (a replay). It ends the group, so the acks
    /// queued before it are committed first and cannot undo it.
    ResetCursor {
        consumer: String,
        seq: u64,
        reply: Reply<()>,
    },
    /// Commit what came before, answer, and stop.
    Close { reply: oneshot::Sender<()> },
    /// Test hook: set `PRAGMA max_page_count` to make commits fail with SQLITE_FULL.
    #[cfg(test)]
    SetMaxPageCount {
        pages: u64,
        reply: oneshot::Sender<()>,
    },
}

/// State the writer shares with its `SqliteLog` handle.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) ready: AtomicBool,
    pub(crate) stats: LogStats,
}

pub(crate) struct Writer {
    pub(crate) conn: Connection,
    pub(crate) config: LogConfig,
    pub(crate) head: u64,
    pub(crate) head_sender: watch::Sender<u64>,
    pub(crate) dedup: DedupIndex,
    pub(crate) shared: Arc<Shared>,
    /// Told after each commit (see `checkpoint`).
    pub(crate) checkpointer: Checkpointer,
    /// A current-thread runtime, only to wait on the command channel with a deadline.
    pub(crate) runtime: Runtime,
}

#[derive(Default)]
struct Group {
    appends: Vec<(PreparedAppend, AppendReply)>,
    acks: Vec<(String, u64, Reply<()>)>,
    events: usize,
}

impl Group {
    /// Adds a command; returns it back if it ends the group instead (close, test hooks).
    fn add(&mut self, command: Command) -> Option<Command> {
        match command {
            Command::Append { append, reply } => {
                self.events += append.len();
                self.appends.push((append, reply));
                None
            }
            Command::Ack {
                consumer,
                seq,
                reply,
            } => {
                self.acks.push((consumer, seq, reply));
                None
            }
            control => Some(control),
        }
    }
}

impl Writer {
    pub(crate) fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut next_maintenance = Instant::now();
        loop {
            let deadline = tokio::time::Instant::from_std(next_maintenance);
            let first = self
                .runtime
                .block_on(async { tokio::time::timeout_at(deadline, commands.recv()).await });
            let first = match first {
                Err(_elapsed) => None,
                Ok(None) => break,
                Ok(Some(command)) => Some(command),
            };
            if let Some(first) = first {
                let (group, control) = self.gather(&mut commands, first);
                if self.commit(group) {
                    self.dedup_step(|dedup, head| dedup.tick(head));
                }
                match control {
                    Some(Command::Close { reply }) => {
                        self.dedup_step(DedupIndex::flush_all);
                        let _ = reply.send(());
                        break;
                    }
                    Some(Command::ResetCursor {
                        consumer,
                        seq,
                        reply,
                    }) => {
                        let reset = cursors::reset(&self.conn, &consumer, seq)
                            .map_err(|error| error.into_log_error("resetting a cursor"));
                        let _ = reply.send(reset);
                    }
                    #[cfg(test)]
                    Some(Command::SetMaxPageCount { pages, reply }) => {
                        let set = self.conn.pragma_update(None, "max_page_count", pages);
                        if let Err(error) = set {
                            tracing::error!(%error, "setting max_page_count failed");
                        }
                        let _ = reply.send(());
                    }
                    _ => {}
                }
            } else {
                self.dedup_step(DedupIndex::tick);
            }
            if Instant::now() >= next_maintenance {
                next_maintenance = Instant::now() + self.maintain();
            }
        }
        tracing::debug!(head = self.head, "event log writer stopped");
    }

    /// Collects a group starting with `first`: what is queued, then (with a delay configured)
    /// what arrives before the deadline, until the group is full or a control command comes.
    fn gather(
        &self,
        commands: &mut mpsc::Receiver<Command>,
        first: Command,
    ) -> (Group, Option<Command>) {
        let started = Instant::now();
        let max_events = self.config.group_commit_max_events;
        let mut group = Group::default();
        if let Some(control) = group.add(first) {
            return (group, Some(control));
        }
        while group.events < max_events {
            let Ok(command) = commands.try_recv() else {
                break;
            };
            if let Some(control) = group.add(command) {
                return (group, Some(control));
            }
        }
        let delay = self.config.group_commit_delay;
        if delay.is_zero() {
            return (group, None);
        }
        let deadline = tokio::time::Instant::from_std(started + delay);
        while group.events < max_events {
            let wait = async { tokio::time::timeout_at(deadline, commands.recv()).await };
            let Ok(Some(command)) = self.runtime.block_on(wait) else {
                break;
            };
            if let Some(control) = group.add(command) {
                return (group, Some(control));
            }
        }
        (group, None)
    }

    /// Runs a step of the dedup index (handing snapshots to its flusher) and publishes how
    /// many keys it holds in memory.
    fn dedup_step(&mut self, step: impl FnOnce(&mut DedupIndex, u64)) {
        let started = Instant::now();
        step(&mut self.dedup, self.head);
        let elapsed = started.elapsed();
        if elapsed > Duration::from_millis(20) {
            tracing::debug!(?elapsed, "slow dedup index step");
        }
        self.publish_dedup_stats();
    }

    fn publish_dedup_stats(&self) {
        self.shared.stats.set_dedup_index(
            self.dedup.memory_keys(),
            self.dedup.filter_bytes(),
            self.dedup.table_lookups(),
        );
    }

    /// Commits a group and answers its waiters; returns whether the commit succeeded.
    fn commit(&mut self, group: Group) -> bool {
        if group.appends.is_empty() && group.acks.is_empty() {
            return false;
        }
        let started = Instant::now();
        let result = commit::write_group(
            &mut self.conn,
            &mut self.dedup,
            self.head,
            Window {
                length_ms: self.config.dedup_window_ms(),
                now_ms: now_ms(),
            },
            group.appends.iter().map(|(append, _)| append),
            group
                .acks
                .iter()
                .map(|(consumer, seq, _)| (consumer.as_str(), *seq)),
        );
        let elapsed = started.elapsed();
        if elapsed > Duration::from_millis(20) {
            tracing::debug!(?elapsed, events = group.events, "slow group commit");
        }
        match result {
            Ok(outcome) => {
                self.shared.ready.store(true, Ordering::Relaxed);
                if !group.appends.is_empty() {
                    self.shared
                        .stats
                        .record_commit(elapsed, outcome.appended, outcome.duplicates);
                }
                self.publish_dedup_stats();
                if outcome.head != self.head {
                    self.head = outcome.head;
                    self.head_sender.send_replace(outcome.head);
                }
                for ((append, reply), statuses) in group.appends.into_iter().zip(outcome.statuses) {
                    let _ = reply.send(Ok((statuses, append)));
                }
                for (_, _, reply) in group.acks {
                    let _ = reply.send(Ok(()));
                }
                self.checkpointer.after_commit(&self.conn);
                true
            }
            Err(error) => {
                self.shared.ready.store(false, Ordering::Relaxed);
                self.shared.stats.record_failed_commit();
                let error = error.into_log_error("group commit");
                for (_, reply) in group.appends {
                    let _ = reply.send(Err(error));
                }
                for (_, _, reply) in group.acks {
                    let _ = reply.send(Err(error));
                }
                false
            }
        }
    }

    /// Runs one maintenance chunk, and a probe write while the log is not ready (so readiness
    /// recovers when no appends arrive, e.g. behind a load balancer); returns when the next
    /// maintenance is due.
    fn maintain(&mut self) -> Duration {
        let now_ms = now_ms();
        if !self.shared.ready.load(Ordering::Relaxed) {
            match maintenance::probe(&self.conn, now_ms) {
                Ok(()) => self.shared.ready.store(true, Ordering::Relaxed),
                Err(error) => {
                    error.into_log_error("log write probe");
                }
            }
        }
        let retention = maintenance::run(
            &mut self.conn,
            now_ms,
            self.config.retention_ms(),
            self.dedup.flushed_through(),
        );
        match retention {
            Ok((deleted, more)) => {
                if deleted > 0 {
                    tracing::debug!(deleted, "event log retention");
                }
                if more {
                    return Duration::ZERO;
                }
            }
            Err(error) => {
                error.into_log_error("log retention");
            }
        }
        self.config.maintenance_interval
    }
}
