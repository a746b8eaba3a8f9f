//! The embedded SQLite warehouse in `<data_dir>/warehouse.sqlite`, separate from the event
//! log. One writer thread owns the write connection; one reader thread answers queries (WAL
//! lets them run while a write is in progress).

mod worker;
mod write;

use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};
use weir_spec::Event;

use self::worker::Worker;
use self::write::{PART_ROWS, Part, Rows};
use crate::plan::{Param, plan};
use crate::query::{Cell, rows_from_cells};
use crate::schema::{Dialect, PROBE, create_events_table};
use crate::{BoxFuture, EventQuery, EventRows, Warehouse, WarehouseError, first_occurrences};

/// How long a statement waits for a lock held by another connection before `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Schema migrations; `PRAGMA user_version` is the number applied.
const MIGRATIONS: [fn() -> String; 1] = [|| create_events_table(Dialect::Sqlite)];

/// The embedded warehouse.
#[derive(Debug)]
pub struct SqliteWarehouse {
    path: Arc<PathBuf>,
    writer: Worker,
    reader: Worker,
}

impl SqliteWarehouse {
    /// Opens (creating if needed) the warehouse file at `path` and migrates it. Blocks; call it
    /// at startup or from `spawn_blocking`.
    pub fn open(path: &Path) -> Result<SqliteWarehouse, WarehouseError> {
        let failed = |action: &'static str| {
            let path = path.display().to_string();
            move |error: rusqlite::Error| classify(&format!("{action} {path}"), &error)
        };
        let mut writer = Connection::open(path).map_err(failed("open the SQLite warehouse at"))?;
        configure(&writer, false).map_err(failed("configure the SQLite warehouse at"))?;
        migrate(&mut writer, path)?;
        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(failed("open the SQLite warehouse at"))?;
        configure(&reader, true).map_err(failed("configure the SQLite warehouse at"))?;
        Ok(SqliteWarehouse {
            path: Arc::new(path.to_path_buf()),
            writer: Worker::spawn("weir-warehouse-writer", writer)?,
            reader: Worker::spawn("weir-warehouse-reader", reader)?,
        })
    }
}

fn configure(connection: &Connection, read_only: bool) -> rusqlite::Result<()> {
    connection.busy_timeout(BUSY_TIMEOUT)?;
    // Both connections: a page cache that holds a whole 5000-event batch.
    connection.pragma_update(None, "cache_size", -32768)?;
    if read_only {
        return connection.pragma_update(None, "query_only", true);
    }
    // Rows are about 1 KB: 16 KB pages (taking effect only when the file is created, before
    // WAL) split less often and imported about 20 % faster than 4 KB pages.
    connection.pragma_update(None, "page_size", 16384)?;
    connection.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
    // The log is the durable record and replayed writes are idempotent, so NORMAL would be
    // safe against process crashes. But after a commit the pipeline makes its cursor durable,
    // and NORMAL may lose the last commits on power loss or an OS crash; those events would
    // then never be replayed. FULL (one fsync per commit, i.e. per batch) measured no slower
    // with 5000-event batches.
    connection.pragma_update(None, "synchronous", "FULL")?;
    // Temporary b-trees in memory; fewer, larger checkpoints (40 MB).
    connection.pragma_update(None, "temp_store", "MEMORY")?;
    connection.pragma_update(None, "wal_autocheckpoint", 2500)?;
    // SQLite evaluates `CHECK (x IN (…))` by building a temporary b-tree of the list for every
    // inserted row; the writer checks the same lists itself before inserting (`write.rs`).
    // This connection writes nothing else (the `check()` probe inserts a valid row).
    connection.pragma_update(None, "ignore_check_constraints", true)?;
    connection.set_prepared_statement_cache_capacity(32);
    Ok(())
}

fn migrate(connection: &mut Connection, path: &Path) -> Result<(), WarehouseError> {
    let failed = |error: rusqlite::Error| {
        classify(
            &format!("migrate the SQLite warehouse at {}", path.display()),
            &error,
        )
    };
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(failed)?;
    let version: usize = transaction
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(failed)?;
    if version > MIGRATIONS.len() {
        return Err(WarehouseError::rejected(format!(
            "the SQLite warehouse at {} has schema version {version}, newer than this Weir \
             knows ({}); upgrade Weir",
            path.display(),
            MIGRATIONS.len()
        )));
    }
    for migration in &MIGRATIONS[version..] {
        transaction.execute_batch(&migration()).map_err(failed)?;
    }
    transaction
        .pragma_update(None, "user_version", MIGRATIONS.len())
        .map_err(failed)?;
    transaction.commit().map_err(failed)
}

/// Retryable: busy, locked, I/O, full disk, out of memory. Everything else is permanent.
fn classify(action: &str, error: &rusqlite::Error) -> WarehouseError {
    let message = format!("cannot {action}: {error}");
    match error.sqlite_error_code() {
        Some(
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull
            | ErrorCode::OutOfMemory
            | ErrorCode::OperationInterrupted
            | ErrorCode::SchemaChanged,
        ) => WarehouseError::unavailable(message),
        Some(ErrorCode::ReadOnly | ErrorCode::PermissionDenied) => {
            WarehouseError::rejected(format!("permission denied: {message}"))
        }
        _ => WarehouseError::rejected(message),
    }
}

impl Warehouse for SqliteWarehouse {
    fn write_events<'a>(
        &'a self,
        events: &'a [Event],
    ) -> BoxFuture<'a, Result<usize, WarehouseError>> {
        Box::pin(async move {
            let unique = first_occurrences(events);
            if unique.is_empty() {
                return Ok(0);
            }
            let path = Arc::clone(&self.path);
            let (parts, received) = mpsc::channel();
            let written = self.writer.submit(move |connection| {
                match Rows::insert_parts(connection, &received) {
                    Ok(Some(inserted)) => Ok(inserted),
                    Ok(None) => Err(WarehouseError::unavailable(
                        "the write to the SQLite warehouse was abandoned",
                    )),
                    Err(error) => Err(classify(
                        &format!("write events to the SQLite warehouse at {}", path.display()),
                        &error,
                    )),
                }
            })?;
            // Encoding is synchronous, so this future cannot be dropped between parts: the
            // writer gets the end unless the batch is rejected here, and then rolls back.
            for part in unique.chunks(PART_ROWS) {
                let rows = Rows::encode(part.iter().copied()).map_err(|message| {
                    WarehouseError::rejected(format!(
                        "cannot write events to the SQLite warehouse at {}: {message}",
                        self.path.display()
                    ))
                })?;
                if parts.send(Part::Rows(rows)).is_err() {
                    // The writer stopped early; `written` says why.
                    break;
                }
            }
            let _ = parts.send(Part::End);
            written.await
        })
    }

    fn check(&self) -> BoxFuture<'_, Result<(), WarehouseError>> {
        let path = Arc::clone(&self.path);
        Box::pin(self.writer.run(move |connection| {
            let transaction = connection.transaction().map_err(|error| {
                classify(
                    &format!("use the SQLite warehouse at {}", path.display()),
                    &error,
                )
            })?;
            for (right, sql) in PROBE {
                let step = || -> rusqlite::Result<()> {
                    let mut statement = transaction.prepare(sql)?;
                    let mut rows = statement.query([])?;
                    while rows.next()?.is_some() {}
                    Ok(())
                };
                step().map_err(|error| {
                    classify(
                        &format!("{right} in the SQLite warehouse at {}", path.display()),
                        &error,
                    )
                })?;
            }
            // Dropping the transaction rolls the probe back.
            Ok(())
        }))
    }

    fn query_events(&self, query: EventQuery) -> BoxFuture<'_, Result<EventRows, WarehouseError>> {
        Box::pin(async move {
            let plan = plan(&query, Dialect::Sqlite)?;
            let path = Arc::clone(&self.path);
            self.reader
                .run(move |connection| {
                    let read = || -> rusqlite::Result<Vec<Vec<Cell>>> {
                        let mut statement = connection.prepare_cached(&plan.sql)?;
                        let params = plan.params.iter().map(sql_value);
                        let mut rows = statement.query(rusqlite::params_from_iter(params))?;
                        let mut cells = Vec::new();
                        while let Some(row) = rows.next()? {
                            let row = (0..plan.columns.len())
                                .map(|index| row.get_ref(index).map(cell))
                                .collect::<rusqlite::Result<Vec<Cell>>>()?;
                            cells.push(row);
                        }
                        Ok(cells)
                    };
                    let cells = read().map_err(|error| {
                        classify(
                            &format!("query the SQLite warehouse at {}", path.display()),
                            &error,
                        )
                    })?;
                    Ok(rows_from_cells(&plan.columns, cells))
                })
                .await
        })
    }
}

fn sql_value(param: &Param) -> SqlValue {
    match param {
        Param::Text(text) => SqlValue::Text(text.clone()),
        Param::Int(value) => SqlValue::Integer(*value),
        Param::Float(value) => SqlValue::Real(*value),
        Param::Bool(value) => SqlValue::Integer(i64::from(*value)),
    }
}

fn cell(value: ValueRef<'_>) -> Cell {
    match value {
        ValueRef::Null | ValueRef::Blob(_) => Cell::Null,
        ValueRef::Integer(value) => Cell::Int(value),
        ValueRef::Real(value) => Cell::Float(value),
        ValueRef::Text(text) => Cell::Text(String::from_utf8_lossy(text).into_owned()),
    }
}
