//! Connection rows. Every lookup is scoped to a workspace: a connection of another workspace is
//! reported as not existing. A new source connection gets its first event write key here, in the
//! same transaction.

use rusqlite::{OptionalExtension, Row, Transaction};
use weir_auth::{ResourceId, WriteKey};

use super::{codec, workspaces, write_keys};
use crate::connection::{validate_new, validate_update};
use crate::{
    CatalogError, Connection, ConnectionUpdate, NewConnection, Resource, Role, SourceInfo,
};

const COLUMNS: &str = "id, workspace_id, name, role, connector, strategy";

/// Creates a connection and, for a source, its first write key.
pub(super) fn create(
    tx: &Transaction<'_>,
    workspace: &ResourceId,
    new: NewConnection,
) -> Result<(Connection, Option<WriteKey>), CatalogError> {
    workspaces::get(tx, workspace)?;
    let strategy = validate_new(&new)?;
    let connection = Connection {
        id: ResourceId::generate(),
        workspace_id: workspace.clone(),
        name: new.name,
        role: new.role,
        connector: new.connector,
        strategy,
    };
    let (_, now) = codec::now()?;
    tx.execute(
        "INSERT INTO connections (id, workspace_id, name, role, connector, strategy, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        (
            connection.id.as_str(),
            workspace.as_str(),
            &connection.name,
            connection.role,
            connection.connector,
            connection.strategy,
            now,
        ),
    )?;
    let key = match connection.role {
        Role::Source => Some(write_keys::insert(tx, &connection.id)?),
        Role::Destination => None,
    };
    Ok((connection, key))
}

/// The connections of `workspace`, oldest first.
pub(super) fn list(
    tx: &Transaction<'_>,
    workspace: &ResourceId,
) -> Result<Vec<Connection>, CatalogError> {
    workspaces::get(tx, workspace)?;
    let sql = format!(
        "SELECT {COLUMNS} FROM connections WHERE workspace_id = ?1 ORDER BY created_at, rowid"
    );
    let mut statement = tx.prepare(&sql)?;
    let rows = statement.query_map([workspace.as_str()], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The connection `id` of `workspace`.
pub(super) fn get(
    tx: &Transaction<'_>,
    workspace: &ResourceId,
    id: &ResourceId,
) -> Result<Connection, CatalogError> {
    let sql = format!("SELECT {COLUMNS} FROM connections WHERE id = ?1 AND workspace_id = ?2");
    tx.query_row(&sql, [id.as_str(), workspace.as_str()], from_row)
        .optional()?
        .ok_or_else(|| CatalogError::not_found(Resource::Connection, id))
}

/// The first source connection of the oldest workspace that has one.
pub(super) fn first_source(tx: &Transaction<'_>) -> Result<Option<Connection>, CatalogError> {
    let sql = "SELECT c.id, c.workspace_id, c.name, c.role, c.connector, c.strategy \
               FROM connections c JOIN workspaces w ON w.id = c.workspace_id \
               WHERE c.role = 'Source' \
               ORDER BY w.created_at, w.rowid, c.created_at, c.rowid LIMIT 1";
    Ok(tx.query_row(sql, [], from_row).optional()?)
}

pub(super) fn update(
    tx: &Transaction<'_>,
    workspace: &ResourceId,
    id: &ResourceId,
    update: ConnectionUpdate,
) -> Result<Connection, CatalogError> {
    let current = get(tx, workspace, id)?;
    let strategy = validate_update(current.connector, current.strategy, &update)?;
    tx.execute(
        "UPDATE connections SET name = ?2, strategy = ?3 WHERE id = ?1",
        (id.as_str(), &update.name, strategy),
    )?;
    Ok(Connection {
        name: update.name,
        strategy,
        ..current
    })
}

/// Deletes a connection with its write keys and pipelines.
pub(super) fn delete(
    tx: &Transaction<'_>,
    workspace: &ResourceId,
    id: &ResourceId,
) -> Result<(), CatalogError> {
    let deleted = tx.execute(
        "DELETE FROM connections WHERE id = ?1 AND workspace_id = ?2",
        [id.as_str(), workspace.as_str()],
    )?;
    if deleted == 0 {
        return Err(CatalogError::not_found(Resource::Connection, id));
    }
    Ok(())
}

/// What the credential index keeps of `connection`.
pub(super) fn info(connection: &Connection) -> SourceInfo {
    SourceInfo {
        connection_id: connection.id.clone(),
        workspace_id: connection.workspace_id.clone(),
        role: connection.role,
        connector: connection.connector,
        strategy: connection.strategy,
    }
}

pub(super) fn from_row(row: &Row<'_>) -> rusqlite::Result<Connection> {
    Ok(Connection {
        id: codec::id(row, "id")?,
        workspace_id: codec::id(row, "workspace_id")?,
        name: row.get("name")?,
        role: row.get("role")?,
        connector: row.get("connector")?,
        strategy: row.get("strategy")?,
    })
}
