//! The embedded catalog: `<data_dir>/meta.sqlite` behind one mutex (management traffic is light),
//! in WAL mode with foreign keys on and `synchronous = FULL` (a created key survives a crash once
//! returned). Each write is one immediate transaction; the credential index is updated after the
//! commit while the mutex is still held, so index changes happen in commit order.

mod api_keys;
mod bootstrap;
mod catalog;
mod codec;
mod connections;
mod load;
mod migrations;
mod pipelines;
mod workspaces;
mod write_keys;

#[cfg(test)]
mod tests;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rand::RngCore;
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior};
use weir_auth::ApiKeyHasher;

use crate::{CatalogError, META_FILE, StorageError, WriteKeyIndex};

/// How long a statement waits for another process's lock on the file before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The `secrets` row holding the HMAC key of stored API keys.
const API_KEY_SECRET: &str = "api_key_hmac";

/// The SQLite catalog. See [`SqliteCatalog::open`].
#[derive(Debug)]
pub struct SqliteCatalog {
    db: Mutex<rusqlite::Connection>,
    index: WriteKeyIndex,
    data_dir: PathBuf,
}

impl SqliteCatalog {
    /// Opens (creating it and `data_dir` if needed) `<data_dir>/meta.sqlite`, applies pending
    /// schema migrations and loads the credential index.
    ///
    /// The server secret that API keys are hashed with (HMAC-SHA-256) is 32 CSPRNG bytes created
    /// on first open and kept in the catalog's `secrets` table, so every process sharing the
    /// catalog verifies keys alike and nothing needs configuring. The hashes protect the tokens
    /// against a leaked *backup of rows*; whoever has the whole file has the secret too, which is
    /// why the file is created readable by its owner only (0600 on Unix).
    pub fn open(data_dir: &Path) -> Result<Self, CatalogError> {
        fs::create_dir_all(data_dir).map_err(|error| {
            StorageError::new(format!("creating {}: {error}", data_dir.display()))
        })?;
        let path = data_dir.join(META_FILE);
        create_private_file(&path)?;
        let mut db = rusqlite::Connection::open(&path)?;
        db.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String = db.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StorageError::new(format!("journal mode {mode} instead of WAL")).into());
        }
        db.pragma_update(None, "synchronous", "FULL")?;
        db.pragma_update(None, "foreign_keys", true)?;
        migrations::apply(&mut db)?;
        let secret = server_secret(&mut db)?;
        let index = WriteKeyIndex::new(ApiKeyHasher::new(&secret));
        {
            let tx = db.transaction()?;
            index.replace(load::entries(&tx, &index)?);
        }
        Ok(Self {
            db: Mutex::new(db),
            index,
            data_dir: data_dir.to_owned(),
        })
    }

    /// The data directory the catalog lives in.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Runs `op` in an immediate transaction and, once it committed, `publish` with its result
    /// to update the index, both under the catalog mutex.
    fn write<T>(
        &self,
        op: impl FnOnce(&Transaction<'_>) -> Result<T, CatalogError>,
        publish: impl FnOnce(&T, &WriteKeyIndex),
    ) -> Result<T, CatalogError> {
        let mut db = self.lock();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = op(&tx)?;
        tx.commit()?;
        publish(&value, &self.index);
        Ok(value)
    }

    /// Runs `op` in a read transaction (one consistent snapshot).
    fn read<T>(
        &self,
        op: impl FnOnce(&Transaction<'_>) -> Result<T, CatalogError>,
    ) -> Result<T, CatalogError> {
        let mut db = self.lock();
        let tx = db.transaction_with_behavior(TransactionBehavior::Deferred)?;
        op(&tx)
    }

    fn lock(&self) -> MutexGuard<'_, rusqlite::Connection> {
        // A panic inside a transaction rolled it back when the `Transaction` was dropped, so the
        // connection behind a poisoned mutex is still consistent.
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Creates `path` empty and private (0600 on Unix) unless it exists, so SQLite (which copies the
/// database file's permissions to its `-wal` and `-shm` files) never makes it world-readable.
fn create_private_file(path: &Path) -> Result<(), CatalogError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => {
            Err(StorageError::new(format!("creating {}: {error}", path.display())).into())
        }
    }
}

/// The API-key HMAC secret, created on first use.
fn server_secret(db: &mut rusqlite::Connection) -> Result<Vec<u8>, CatalogError> {
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let query = "SELECT value FROM secrets WHERE name = ?1";
    let stored: Option<Vec<u8>> = tx
        .query_row(query, [API_KEY_SECRET], |row| row.get(0))
        .optional()?;
    if let Some(secret) = stored {
        return Ok(secret);
    }
    let mut secret = vec![0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    tx.execute(
        "INSERT INTO secrets (name, value) VALUES (?1, ?2)",
        (API_KEY_SECRET, &secret),
    )?;
    tx.commit()?;
    Ok(secret)
}
