//! Workspace rows: creation, reading, updating and deletion (which cascades to the workspace's
//! connections, keys, pipelines and restricted API keys).

use rusqlite::{OptionalExtension, Row, Transaction};
use weir_auth::ResourceId;

use super::codec;
use crate::workspace::validate;
use crate::{
    CatalogError, NewWorkspace, RateLimit, Resource, StorageError, WarehouseSettings, Workspace,
    WorkspaceInfo, WorkspaceSettings, WorkspaceUpdate,
};

const COLUMNS: &str = "id, name, warehouse_platform, warehouse_url, rate_per_minute, max_capacity";

pub(super) fn create(tx: &Transaction<'_>, new: NewWorkspace) -> Result<Workspace, CatalogError> {
    validate(&new)?;
    let workspace = Workspace {
        id: ResourceId::generate(),
        name: new.name,
        settings: new.settings,
    };
    let (_, now) = codec::now()?;
    let (platform, url) = warehouse_columns(&workspace.settings.warehouse);
    let (rate, capacity) = rate_limit_columns(workspace.settings.event_rate_limit)?;
    tx.execute(
        "INSERT INTO workspaces (id, name, warehouse_platform, warehouse_url, rate_per_minute, \
         max_capacity, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        (
            workspace.id.as_str(),
            &workspace.name,
            platform,
            url,
            rate,
            capacity,
            now,
        ),
    )?;
    Ok(workspace)
}

pub(super) fn list(tx: &Transaction<'_>) -> Result<Vec<Workspace>, CatalogError> {
    let sql = format!("SELECT {COLUMNS} FROM workspaces ORDER BY created_at, rowid");
    let mut statement = tx.prepare(&sql)?;
    let rows = statement.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn get(tx: &Transaction<'_>, id: &ResourceId) -> Result<Workspace, CatalogError> {
    let sql = format!("SELECT {COLUMNS} FROM workspaces WHERE id = ?1");
    tx.query_row(&sql, [id.as_str()], from_row)
        .optional()?
        .ok_or_else(|| CatalogError::not_found(Resource::Workspace, id))
}

pub(super) fn update(
    tx: &Transaction<'_>,
    id: &ResourceId,
    update: WorkspaceUpdate,
) -> Result<Workspace, CatalogError> {
    validate(&update)?;
    let (platform, url) = warehouse_columns(&update.settings.warehouse);
    let (rate, capacity) = rate_limit_columns(update.settings.event_rate_limit)?;
    let changed = tx.execute(
        "UPDATE workspaces SET name = ?2, warehouse_platform = ?3, warehouse_url = ?4, \
         rate_per_minute = ?5, max_capacity = ?6 WHERE id = ?1",
        (id.as_str(), &update.name, platform, url, rate, capacity),
    )?;
    if changed == 0 {
        return Err(CatalogError::not_found(Resource::Workspace, id));
    }
    Ok(Workspace {
        id: id.clone(),
        name: update.name,
        settings: update.settings,
    })
}

pub(super) fn delete(tx: &Transaction<'_>, id: &ResourceId) -> Result<(), CatalogError> {
    let deleted = tx.execute("DELETE FROM workspaces WHERE id = ?1", [id.as_str()])?;
    if deleted == 0 {
        return Err(CatalogError::not_found(Resource::Workspace, id));
    }
    Ok(())
}

/// What the credential index keeps of `workspace`.
pub(super) fn info(workspace: &Workspace) -> WorkspaceInfo {
    WorkspaceInfo {
        workspace_id: workspace.id.clone(),
        event_rate_limit: workspace.settings.event_rate_limit,
    }
}

pub(super) fn from_row(row: &Row<'_>) -> rusqlite::Result<Workspace> {
    let platform: String = row.get("warehouse_platform")?;
    let warehouse = match (platform.as_str(), row.get("warehouse_url")?) {
        ("PostgreSQL", Some(url)) => WarehouseSettings::PostgreSql { url },
        _ => WarehouseSettings::Sqlite,
    };
    let rate = codec::count(row, "rate_per_minute")?;
    let capacity = codec::count(row, "max_capacity")?;
    let event_rate_limit = match (rate, capacity) {
        (Some(rate_per_minute), Some(max_capacity)) => Some(RateLimit {
            rate_per_minute,
            max_capacity,
        }),
        _ => None,
    };
    Ok(Workspace {
        id: codec::id(row, "id")?,
        name: row.get("name")?,
        settings: WorkspaceSettings {
            warehouse,
            event_rate_limit,
        },
    })
}

fn warehouse_columns(warehouse: &WarehouseSettings) -> (&'static str, Option<&str>) {
    match warehouse {
        WarehouseSettings::Sqlite => ("SQLite", None),
        WarehouseSettings::PostgreSql { url } => ("PostgreSQL", Some(url)),
    }
}

fn rate_limit_columns(
    limit: Option<RateLimit>,
) -> Result<(Option<i64>, Option<i64>), CatalogError> {
    let Some(limit) = limit else {
        return Ok((None, None));
    };
    // Validation bounds both far below i64::MAX; the conversion only guards against misuse.
    let column = |value: u64| {
        i64::try_from(value).map_err(|_| StorageError::new(format!("rate limit {value} too large")))
    };
    Ok((
        Some(column(limit.rate_per_minute)?),
        Some(column(limit.max_capacity)?),
    ))
}
