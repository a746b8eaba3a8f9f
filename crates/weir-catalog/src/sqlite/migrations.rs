//! Versioned schema migrations of `meta.sqlite`. `PRAGMA user_version` holds how many of
//! [`MIGRATIONS`] have been applied; at open each missing one runs in its own transaction together
//! with the version bump, so a crash leaves the schema at a whole version. Never edit a released
//! migration: append a new one.

use rusqlite::{Connection, TransactionBehavior};

use crate::{CatalogError, StorageError};

/// The migrations in order; migration `i` takes the schema from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    "
    CREATE TABLE secrets (
        name  TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) STRICT;

    CREATE TABLE meta (
        name  TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;

    CREATE TABLE workspaces (
        id                 TEXT PRIMARY KEY,
        name               TEXT NOT NULL,
        warehouse_platform TEXT NOT NULL CHECK (warehouse_platform IN ('SQLite', 'PostgreSQL')),
        warehouse_url      TEXT,
        rate_per_minute    INTEGER,
        max_capacity       INTEGER,
        created_at         INTEGER NOT NULL,
        CHECK ((warehouse_platform = 'PostgreSQL') = (warehouse_url IS NOT NULL)),
        CHECK ((rate_per_minute IS NULL) = (max_capacity IS NULL))
    ) STRICT;

    CREATE TABLE connections (
        id           TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
        name         TEXT NOT NULL,
        role         TEXT NOT NULL CHECK (role IN ('Source', 'Destination')),
        connector    TEXT NOT NULL,
        strategy     TEXT,
        created_at   INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX connections_by_workspace ON connections (workspace_id);

    CREATE TABLE event_write_keys (
        key           TEXT PRIMARY KEY,
        connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
        created_at    INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX event_write_keys_by_connection ON event_write_keys (connection_id);

    CREATE TABLE api_keys (
        id           TEXT PRIMARY KEY,
        name         TEXT NOT NULL,
        workspace_id TEXT REFERENCES workspaces (id) ON DELETE CASCADE,
        hash         BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
        hint         TEXT NOT NULL,
        created_at   INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE pipelines (
        id                TEXT PRIMARY KEY,
        connection_id     TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
        name              TEXT NOT NULL,
        target            TEXT NOT NULL CHECK (target IN ('Event', 'User')),
        enabled           INTEGER NOT NULL CHECK (enabled IN (0, 1)),
        filter            TEXT,
        transformation    TEXT,
        required_consents TEXT,
        replay_from       TEXT NOT NULL,
        created_at        INTEGER NOT NULL,
        updated_at        INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX pipelines_by_connection ON pipelines (connection_id);
    ",
];

/// Brings the schema up to date; returns how many migrations ran.
pub(crate) fn apply(db: &mut Connection) -> Result<usize, CatalogError> {
    let mut ran = 0;
    loop {
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Read inside the write transaction: another process may have migrated meanwhile.
        let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        let version = usize::try_from(version)
            .map_err(|_| StorageError::new(format!("negative catalog schema version {version}")))?;
        let Some(script) = MIGRATIONS.get(version) else {
            if version > MIGRATIONS.len() {
                return Err(StorageError::new(format!(
                    "catalog schema version {version} is newer than this Weir knows ({}); \
                     use a newer Weir",
                    MIGRATIONS.len()
                ))
                .into());
            }
            return Ok(ran);
        };
        tx.execute_batch(script)?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
        ran += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(db: &Connection) -> i64 {
        db.query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn fresh_database_gets_every_migration_once() {
        let mut db = Connection::open_in_memory().unwrap();
        assert_eq!(apply(&mut db).unwrap(), MIGRATIONS.len());
        assert_eq!(version(&db), MIGRATIONS.len() as i64);
        // Running again applies nothing (a re-applied CREATE TABLE would fail).
        assert_eq!(apply(&mut db).unwrap(), 0);
        assert_eq!(version(&db), MIGRATIONS.len() as i64);
    }

    #[test]
    fn newer_schema_is_refused() {
        let mut db = Connection::open_in_memory().unwrap();
        db.pragma_update(None, "user_version", 99).unwrap();
        let error = apply(&mut db).unwrap_err();
        assert!(
            error.to_string().contains("schema version 99 is newer"),
            "{error}"
        );
    }

    #[test]
    fn failed_migration_leaves_the_version_alone() {
        let mut db = Connection::open_in_memory().unwrap();
        // A table the first migration creates already exists: its script fails midway.
        db.execute_batch("CREATE TABLE connections (x INTEGER)")
            .unwrap();
        assert!(apply(&mut db).is_err());
        assert_eq!(version(&db), 0);
        let tables: i64 = db
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'workspaces'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0, "the partial migration was rolled back");
    }
}
