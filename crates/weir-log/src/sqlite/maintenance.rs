//! Background upkeep, run by the writer between commits in bounded chunks (so appends wait at
//! most one chunk): retention deletes the oldest rows whose events all expired, and the dedup
//! index forgets keys older than the window. Also the write probe that restores readiness.
//!
//! Retention deletes a prefix of the log in seq order and stops at the first row that has not
//! expired. `received_at` is set by the server on arrival, so it rises with seq and the prefix
//! is what expired; after a clock step back a few rows may outlive the retention briefly, but
//! the log never gets holes, so a consumer behind retention sees one gap at its position.

use rusqlite::{Connection, TransactionBehavior, params};

use super::StoreError;

/// Rows inspected per retention chunk (a row is one append call, e.g. 100 events).
const RETENTION_CHUNK_ROWS: i64 = 1_000;
/// Dedup entries deleted per chunk.
const DEDUP_CHUNK_ENTRIES: i64 = 20_000;

/// What one maintenance pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Pass {
    pub(crate) rows_deleted: usize,
    pub(crate) dedup_entries_deleted: usize,
    /// A chunk was full: run again soon.
    pub(crate) more: bool,
}

/// Runs one chunk of retention and one of dedup purging, at wall-clock time `now_ms`.
pub(crate) fn run(
    conn: &mut Connection,
    now_ms: i64,
    retention_ms: i64,
    dedup_window_ms: i64,
) -> Result<Pass, StoreError> {
    let transaction = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (rows_deleted, rows_more) = prune_log(&transaction, now_ms.saturating_sub(retention_ms))?;
    // An entry stops blocking a key once the window after it has passed.
    let dedup_entries_deleted = transaction
        .prepare_cached(
            "DELETE FROM dedup WHERE key IN (
                 SELECT key FROM dedup WHERE received_at <= ?1 ORDER BY received_at LIMIT ?2)",
        )?
        .execute(params![
            now_ms.saturating_sub(dedup_window_ms),
            DEDUP_CHUNK_ENTRIES
        ])?;
    transaction.commit()?;
    let dedup_more = dedup_entries_deleted as i64 == DEDUP_CHUNK_ENTRIES;
    Ok(Pass {
        rows_deleted,
        dedup_entries_deleted,
        more: rows_more || dedup_more,
    })
}

/// Deletes the longest prefix (within one chunk) of rows whose newest event is older than
/// `cutoff_ms`, and remembers the last deleted seq so the head survives an emptied log.
fn prune_log(conn: &Connection, cutoff_ms: i64) -> Result<(usize, bool), StoreError> {
    let mut oldest = conn.prepare_cached(
        "SELECT first_seq + count - 1, received_at FROM batches ORDER BY first_seq LIMIT ?1",
    )?;
    let mut rows = oldest.query([RETENTION_CHUNK_ROWS])?;
    let mut expired_rows = 0usize;
    let mut last_expired_seq = None;
    let mut stopped_early = false;
    while let Some(row) = rows.next()? {
        let (last_seq, received_at): (i64, i64) = (row.get(0)?, row.get(1)?);
        if received_at >= cutoff_ms {
            stopped_early = true;
            break;
        }
        expired_rows += 1;
        last_expired_seq = Some(last_seq);
    }
    drop(rows);
    let Some(last_expired_seq) = last_expired_seq else {
        return Ok((0, false));
    };
    conn.prepare_cached("DELETE FROM batches WHERE first_seq <= ?1")?
        .execute([last_expired_seq])?;
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES ('pruned_through', ?1)
         ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
    )?
    .execute([last_expired_seq])?;
    let more = !stopped_early && expired_rows as i64 == RETENTION_CHUNK_ROWS;
    Ok((expired_rows, more))
}

/// A minimal durable write (its own fsync'd transaction), to learn whether the log is writable
/// again after a failed commit.
pub(crate) fn probe(conn: &Connection, now_ms: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES ('last_probe_ms', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute([now_ms])?;
    Ok(())
}
