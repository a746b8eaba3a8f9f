//! Background upkeep, run by the writer between commits in bounded chunks (so appends wait at
//! most one chunk): retention deletes the oldest rows whose events all expired (the dedup
//! index purges its own entries, see `dedup`). Also the write probe that restores readiness.
//!
//! Retention deletes a prefix of the log in seq order and stops at the first row that has not
//! expired, or that holds events after the dedup index's `flushed_through` (their keys live
//! only in memory and in those rows). `received_at` is set by the server on arrival, so it rises with seq and the prefix
//! is what expired; after a clock step back a few rows may outlive the retention briefly, but
//! the log never gets holes, so a consumer behind retention sees one gap at its position.

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// Rows inspected per retention chunk (a row is one append call, e.g. 100 events).
const RETENTION_CHUNK_ROWS: i64 = 1_000;

/// Runs one chunk of retention at wall-clock time `now_ms`, keeping the rows after
/// `dedup_flushed_through`; returns the rows deleted and whether a chunk was full (run again
/// soon).
pub(crate) fn run(
    conn: &mut Connection,
    now_ms: i64,
    retention_ms: i64,
    dedup_flushed_through: u64,
) -> Result<(usize, bool), StoreError> {
    let transaction = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let keep_after = i64::try_from(dedup_flushed_through).map_err(|_| StoreError::TooLarge)?;
    let pruned = prune_log(
        &transaction,
        now_ms.saturating_sub(retention_ms),
        keep_after,
    )?;
    transaction.commit()?;
    Ok(pruned)
}

/// Deletes the longest prefix (within one chunk) of rows whose newest event is older than
/// `cutoff_ms` and whose last seq is at most `keep_after`, and remembers the last deleted seq
/// so the head survives an emptied log.
fn prune_log(
    conn: &Connection,
    cutoff_ms: i64,
    keep_after: i64,
) -> Result<(usize, bool), StoreError> {
    let mut oldest = conn.prepare_cached(
        "SELECT first_seq + count - 1, received_at FROM batches ORDER BY first_seq LIMIT ?1",
    )?;
    let mut rows = oldest.query([RETENTION_CHUNK_ROWS])?;
    let mut expired_rows = 0usize;
    let mut last_expired_seq = None;
    let mut stopped_early = false;
    while let Some(row) = rows.next()? {
        let (last_seq, received_at): (i64, i64) = (row.get(0)?, row.get(1)?);
        if received_at >= cutoff_ms || last_seq > keep_after {
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
