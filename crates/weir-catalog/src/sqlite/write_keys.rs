//! Event write key rows: at most [`MAX_EVENT_WRITE_KEYS`] per source connection, never fewer than
//! one (storage-and-pipelines.md §12.2, §13). Keys are stored as they are, since the spec has
//! them listable.

use rusqlite::{OptionalExtension, Transaction};
use weir_auth::{ResourceId, WriteKey};

use super::{codec, connections};
use crate::{CatalogError, MAX_EVENT_WRITE_KEYS, Role};

/// Adds a new random key to `connection` without checks (for a connection just created).
pub(super) fn insert(
    tx: &Transaction<'_>,
    connection: &ResourceId,
) -> Result<WriteKey, CatalogError> {
    let key = WriteKey::generate();
    let (_, now) = codec::now()?;
    tx.execute(
        "INSERT INTO event_write_keys (key, connection_id, created_at) VALUES (?1, ?2, ?3)",
        (key.as_str(), connection.as_str(), now),
    )?;
    Ok(key)
}

/// The keys of a source connection of `workspace`, oldest first.
pub(super) fn list(
    tx: &Transaction<'_>,
    workspace: &ResourceId,
    connection: &ResourceId,
) -> Result<Vec<WriteKey>, CatalogError> {
    source(tx, workspace, connection)?;
    let mut statement = tx.prepare(
        "SELECT key FROM event_write_keys WHERE connection_id = ?1 ORDER BY created_at, rowid",
    )?;
    let rows = statement.query_map([connection.as_str()], |row| {
        let key: String = row.get(0)?;
        WriteKey::parse(&key).map_err(|error| codec::conversion("key", error))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Adds a key to a source connection that has fewer than the maximum.
pub(super) fn create(
    tx: &Transaction<'_>,
    workspace: &ResourceId,
    connection: &ResourceId,
) -> Result<WriteKey, CatalogError> {
    source(tx, workspace, connection)?;
    if count(tx, connection)? >= MAX_EVENT_WRITE_KEYS {
        return Err(CatalogError::TooManyEventWriteKeys {
            connection: connection.clone(),
        });
    }
    insert(tx, connection)
}

/// Deletes `key` if it is one of the connection's keys and not its last; returns whether a key
/// was deleted (a key of another connection, or no key at all, deletes nothing).
pub(super) fn delete(
    tx: &Transaction<'_>,
    workspace: &ResourceId,
    connection: &ResourceId,
    key: &str,
) -> Result<bool, CatalogError> {
    source(tx, workspace, connection)?;
    let owned = tx
        .query_row(
            "SELECT 1 FROM event_write_keys WHERE key = ?1 AND connection_id = ?2",
            [key, connection.as_str()],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if !owned {
        return Ok(false);
    }
    if count(tx, connection)? <= 1 {
        return Err(CatalogError::SingleEventWriteKey);
    }
    tx.execute("DELETE FROM event_write_keys WHERE key = ?1", [key])?;
    Ok(true)
}

/// Checks that `connection` is a source connection of `workspace`.
fn source(
    tx: &Transaction<'_>,
    workspace: &ResourceId,
    connection: &ResourceId,
) -> Result<(), CatalogError> {
    match connections::get(tx, workspace, connection)?.role {
        Role::Source => Ok(()),
        Role::Destination => Err(CatalogError::NotASource {
            id: connection.clone(),
        }),
    }
}

fn count(tx: &Transaction<'_>, connection: &ResourceId) -> Result<usize, CatalogError> {
    let count: i64 = tx.query_row(
        "SELECT count(*) FROM event_write_keys WHERE connection_id = ?1",
        [connection.as_str()],
        |row| row.get(0),
    )?;
    Ok(usize::try_from(count).unwrap_or(usize::MAX))
}
