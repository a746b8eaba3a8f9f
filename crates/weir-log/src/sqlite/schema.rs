//! The tables of `log.sqlite`, how its connections are opened, and what `open` recovers.
//!
//! * `batches`: one row per append call (its stored events, see `codec`), keyed by the seq of
//!   its first event; `received_at` is the newest `received_at` in the row, so retention never
//!   deletes an event before it expired.
//! * `cursors`: durable consumer positions.
//! * `meta`: `pruned_through`, the last seq retention deleted, so the head survives even when
//!   retention emptied the log.
//!
//! Schema versions: 1 also held the dedup index (`dedup`), written in every append
//! transaction; 2 (now) keeps it in `log-dedup.sqlite` (see `dedup`). Opening a version 1 log
//! copies its keys there, then drops the table ([`finish_legacy`]).

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::StoreError;

const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE batches (
    first_seq   INTEGER PRIMARY KEY,
    count       INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    body        BLOB NOT NULL
);
CREATE TABLE cursors (
    consumer TEXT PRIMARY KEY,
    seq      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Page cache of the write connection (negative: KiB).
const WRITER_CACHE_KIB: i64 = 16 * 1024;
/// Page cache of each read connection, in KiB.
const READER_CACHE_KIB: i64 = 8 * 1024;
/// WAL pages after which a commit checkpoints by itself: only a backstop, since the
/// checkpointer (see `checkpoint`) keeps the WAL far smaller.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 65_536;
/// Size the WAL file is truncated to when it restarts after having grown beyond it.
const JOURNAL_SIZE_LIMIT_BYTES: i64 = 64 * 1024 * 1024;
/// How long a connection waits for a lock before failing with SQLITE_BUSY.
const BUSY_TIMEOUT_MS: i64 = 5_000;

/// Opens (creating if needed) the write connection: WAL, `synchronous=FULL`, schema migrated.
/// Also says whether the log is a version 1 log, whose dedup keys must be moved out before
/// [`finish_legacy`].
pub(crate) fn open_writer(path: &Path) -> Result<(Connection, bool), StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.pragma_update(None, "busy_timeout", BUSY_TIMEOUT_MS)?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Unexpected(
            "log.sqlite cannot use WAL journal mode",
        ));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
    conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT_BYTES)?;
    let legacy = migrate(&conn)?;
    Ok((conn, legacy))
}

/// Opens the checkpointer's connection to an existing log (no schema work).
pub(crate) fn open_checkpointer(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.pragma_update(None, "busy_timeout", BUSY_TIMEOUT_MS)?;
    conn.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
    Ok(conn)
}

/// Opens a read-only connection; WAL lets it read beside the writer.
pub(crate) fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.pragma_update(None, "busy_timeout", BUSY_TIMEOUT_MS)?;
    conn.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
    Ok(conn)
}

/// Creates the schema of a new log; returns whether it is a version 1 log.
fn migrate(conn: &Connection) -> Result<bool, StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    match version {
        0 => {
            conn.execute_batch(&format!(
                "BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            ))?;
            Ok(false)
        }
        1 => Ok(true),
        SCHEMA_VERSION => Ok(false),
        _ => Err(StoreError::Unexpected(
            "log.sqlite has an unknown schema version (written by a newer Weir?)",
        )),
    }
}

/// Completes the move of a version 1 log to version 2, once its dedup keys are in
/// `log-dedup.sqlite`.
pub(crate) fn finish_legacy(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(&format!(
        "BEGIN; DROP TABLE IF EXISTS dedup; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
    ))?;
    Ok(())
}

/// The seq of the last event ever appended: the end of the newest row, or what retention last
/// deleted when it emptied the log.
pub(crate) fn recover_head(conn: &Connection) -> Result<u64, StoreError> {
    let newest: Option<i64> = conn.query_row(
        "SELECT max(first_seq + count - 1) FROM batches",
        [],
        |row| row.get(0),
    )?;
    let pruned: Option<i64> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'pruned_through'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    let head = newest.unwrap_or(0).max(pruned.unwrap_or(0));
    u64::try_from(head).map_err(|_| StoreError::Unexpected("negative seq in log.sqlite"))
}
