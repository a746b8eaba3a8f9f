//! Cursor writes outside a group commit: a reset, which may move a consumer's cursor back
//! (acks, which only move it forward, are part of the group commit in `commit`).

use rusqlite::{Connection, params};

use super::StoreError;

/// Sets `consumer`'s cursor to `seq`, whatever it was (creating it if needed), in its own
/// fsync'd transaction.
pub(crate) fn reset(conn: &Connection, consumer: &str, seq: u64) -> Result<(), StoreError> {
    let seq = i64::try_from(seq).map_err(|_| StoreError::TooLarge)?;
    conn.prepare_cached(
        "INSERT INTO cursors (consumer, seq) VALUES (?1, ?2)
         ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq",
    )?
    .execute(params![consumer, seq])?;
    Ok(())
}
