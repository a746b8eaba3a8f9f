//! Reads on read-only connections, run on tokio's blocking pool so async callers never block on
//! SQLite. WAL lets them read committed data beside the writer; each read is one statement, so
//! it sees one consistent snapshot.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension};

use super::{StoreError, codec, schema};
use crate::{LogError, LogRecord};

/// Idle read connections kept for reuse; more are opened under load and closed afterwards.
const MAX_IDLE_READERS: usize = 4;

/// Read-only connections to one `log.sqlite`.
#[derive(Debug)]
pub(crate) struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReaderPool {
    pub(crate) fn new(path: PathBuf) -> Self {
        ReaderPool {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `work` on a read connection on the blocking pool.
    pub(crate) async fn run<T, F>(
        self: &std::sync::Arc<Self>,
        context: &'static str,
        work: F,
    ) -> Result<T, LogError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let conn = pool.take()?;
            let result = work(&conn);
            pool.give_back(conn);
            result
        })
        .await;
        match joined {
            Ok(result) => result.map_err(|error| error.into_log_error(context)),
            Err(error) => {
                tracing::error!(%error, context, "event log read task failed");
                Err(LogError::Internal)
            }
        }
    }

    fn take(&self) -> Result<Connection, StoreError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => schema::open_reader(&self.path),
        }
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
    }

    /// Drops the idle connections (on close, so the files are released).
    pub(crate) fn clear(&self) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// Up to `max_events` records with `seq > after_seq`: starts at the row holding
/// `after_seq + 1` (or the oldest row after it) and decodes rows in seq order.
pub(crate) fn read_records(
    conn: &Connection,
    after_seq: u64,
    max_events: usize,
) -> Result<Vec<LogRecord>, StoreError> {
    let mut records = Vec::new();
    let Some(start) = after_seq
        .checked_add(1)
        .and_then(|start| i64::try_from(start).ok())
    else {
        return Ok(records);
    };
    if max_events == 0 {
        return Ok(records);
    }
    let mut statement = conn.prepare_cached(
        "SELECT first_seq, body FROM batches
         WHERE first_seq >= coalesce((SELECT max(first_seq) FROM batches WHERE first_seq <= ?1), 0)
         ORDER BY first_seq",
    )?;
    let mut rows = statement.query([start])?;
    while let Some(row) = rows.next()? {
        let first_seq: i64 = row.get(0)?;
        let first_seq = u64::try_from(first_seq)
            .map_err(|_| StoreError::Unexpected("negative seq in log.sqlite"))?;
        let body: Vec<u8> = row.get(1)?;
        codec::decode_into(
            first_seq,
            Bytes::from(body),
            after_seq,
            max_events,
            &mut records,
        )?;
        if records.len() >= max_events {
            break;
        }
    }
    Ok(records)
}

/// The stored cursor of `consumer`.
pub(crate) fn read_cursor(conn: &Connection, consumer: &str) -> Result<Option<u64>, StoreError> {
    let seq: Option<i64> = conn
        .prepare_cached("SELECT seq FROM cursors WHERE consumer = ?1")?
        .query_row([consumer], |row| row.get(0))
        .optional()?;
    seq.map(|seq| {
        u64::try_from(seq).map_err(|_| StoreError::Unexpected("negative cursor in log.sqlite"))
    })
    .transpose()
}
