//! The "Import events into warehouse" target: [`WarehouseTargets`] opens each workspace's
//! warehouse from its settings — SQLite at `<data_dir>/warehouse.sqlite` (the default) or
//! PostgreSQL by URL — once per process, shares the handle between every pipeline (and the
//! management API) using it, and adapts it to [`Target`]. Warehouse writes are idempotent by
//! (connection, message id), which turns the engine's at-least-once delivery into exactly-once
//! rows; `Unavailable` errors are retried by the engine, `Rejected` ones skip the batch.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;
use weir_catalog::{Pipeline, WarehouseSettings, Workspace};
use weir_spec::Event;
use weir_warehouse::{PostgresWarehouse, SqliteWarehouse, Warehouse, WarehouseError};

use crate::target::{BoxFuture, Target, TargetError, TargetFactory, TargetKind};

/// The embedded warehouse's file inside the data directory.
pub const WAREHOUSE_FILE: &str = "warehouse.sqlite";

/// Where a warehouse lives; equal keys share one open handle.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Location {
    Sqlite(PathBuf),
    PostgreSql(String),
}

type Slot = Arc<OnceCell<Arc<dyn Warehouse>>>;

/// Opens and shares the warehouses of every workspace; the engine's [`TargetFactory`].
pub struct WarehouseTargets {
    data_dir: PathBuf,
    open: Mutex<HashMap<Location, Slot>>,
}

impl std::fmt::Debug for WarehouseTargets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The map's keys may hold PostgreSQL URLs with passwords.
        f.debug_struct("WarehouseTargets")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl WarehouseTargets {
    /// Warehouses of workspaces on the embedded default live in `data_dir`.
    pub fn new(data_dir: &Path) -> WarehouseTargets {
        WarehouseTargets {
            data_dir: data_dir.to_path_buf(),
            open: Mutex::new(HashMap::new()),
        }
    }

    /// The warehouse `settings` name, opened on first use and shared afterwards. SQLite files
    /// are opened (and migrated) on the blocking pool; a PostgreSQL warehouse connects on its
    /// first operation, so an unreachable server shows up as retryable write errors.
    pub async fn warehouse(
        &self,
        settings: &WarehouseSettings,
    ) -> Result<Arc<dyn Warehouse>, WarehouseError> {
        let location = match settings {
            WarehouseSettings::Sqlite => Location::Sqlite(self.data_dir.join(WAREHOUSE_FILE)),
            WarehouseSettings::PostgreSql { url } => Location::PostgreSql(url.clone()),
        };
        let slot = self
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(location.clone())
            .or_default()
            .clone();
        let warehouse = slot.get_or_try_init(|| open(location)).await?;
        Ok(warehouse.clone())
    }
}

async fn open(location: Location) -> Result<Arc<dyn Warehouse>, WarehouseError> {
    match location {
        Location::Sqlite(path) => {
            let opened = tokio::task::spawn_blocking(move || SqliteWarehouse::open(&path)).await;
            match opened {
                Ok(warehouse) => Ok(Arc::new(warehouse?)),
                Err(error) => Err(WarehouseError::Unavailable {
                    message: format!("opening the SQLite warehouse failed: {error}"),
                }),
            }
        }
        Location::PostgreSql(url) => Ok(Arc::new(PostgresWarehouse::new(&url)?)),
    }
}

impl TargetFactory for WarehouseTargets {
    fn open<'a>(
        &'a self,
        kind: TargetKind,
        workspace: &'a Workspace,
        _pipeline: &'a Pipeline,
    ) -> BoxFuture<'a, Result<Arc<dyn Target>, TargetError>> {
        Box::pin(async move {
            match kind {
                TargetKind::WarehouseEvents => {
                    let warehouse = self
                        .warehouse(&workspace.settings.warehouse)
                        .await
                        .map_err(target_error)?;
                    let target: Arc<dyn Target> = Arc::new(WarehouseEvents { warehouse });
                    Ok(target)
                }
            }
        })
    }
}

/// Writes a pipeline's events to the `events` table.
struct WarehouseEvents {
    warehouse: Arc<dyn Warehouse>,
}

impl Target for WarehouseEvents {
    fn write<'a>(&'a self, events: &'a [Event]) -> BoxFuture<'a, Result<(), TargetError>> {
        Box::pin(async move {
            self.warehouse
                .write_events(events)
                .await
                .map(|_inserted| ())
                .map_err(target_error)
        })
    }
}

fn target_error(error: WarehouseError) -> TargetError {
    TargetError {
        retryable: error.is_retryable(),
        message: error.to_string(),
    }
}
