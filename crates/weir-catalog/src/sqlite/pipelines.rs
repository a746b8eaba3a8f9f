//! Pipeline rows, scoped to a workspace through their connection.

use rusqlite::{OptionalExtension, Row, Transaction};
use weir_auth::ResourceId;

use super::{codec, connections, workspaces};
use crate::pipeline::{CheckedJson, validate};
use crate::{
    CatalogError, NewPipeline, Pipeline, PipelineUpdate, ReplayFrom, Resource, StorageError,
};

const SELECT: &str = "SELECT p.id, c.workspace_id, p.connection_id, p.name, p.target, \
     p.enabled, p.filter, p.transformation, p.required_consents, p.replay_from, p.created_at, \
     p.updated_at FROM pipelines p JOIN connections c ON c.id = p.connection_id";

pub(super) fn create(
    tx: &Transaction<'_>,
    workspace: &ResourceId,
    new: NewPipeline,
) -> Result<Pipeline, CatalogError> {
    let connection = connections::get(tx, workspace, &new.connection_id)?;
    let json = validate(
        connection.role,
        &new.name,
        new.target,
        new.filter,
        new.transformation,
        new.required_consents,
    )?;
    let replay_from = new.replay_from.to_text().map_err(|error| {
        CatalogError::invalid(
            "replayFrom",
            format!("replayFrom cannot be stored: {error}"),
        )
    })?;
    let (now, micros) = codec::now()?;
    let pipeline = Pipeline {
        id: ResourceId::generate(),
        workspace_id: workspace.clone(),
        connection_id: new.connection_id,
        name: new.name,
        target: new.target,
        enabled: new.enabled,
        filter: json.filter,
        transformation: json.transformation,
        required_consents: json.required_consents,
        replay_from: new.replay_from,
        created_at: now,
        updated_at: now,
    };
    tx.execute(
        "INSERT INTO pipelines (id, connection_id, name, target, enabled, filter, \
         transformation, required_consents, replay_from, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
        (
            pipeline.id.as_str(),
            pipeline.connection_id.as_str(),
            &pipeline.name,
            pipeline.target,
            pipeline.enabled,
            codec::json_text(pipeline.filter.as_ref()),
            codec::json_text(pipeline.transformation.as_ref()),
            codec::json_text(pipeline.required_consents.as_ref()),
            replay_from,
            micros,
        ),
    )?;
    Ok(pipeline)
}

/// The pipelines of `workspace`, or of every workspace for `None`, oldest first.
pub(super) fn list(
    tx: &Transaction<'_>,
    workspace: Option<&ResourceId>,
) -> Result<Vec<Pipeline>, CatalogError> {
    if let Some(workspace) = workspace {
        workspaces::get(tx, workspace)?;
    }
    let sql =
        format!("{SELECT} WHERE ?1 IS NULL OR c.workspace_id = ?1 ORDER BY p.created_at, p.rowid");
    let mut statement = tx.prepare(&sql)?;
    let rows = statement.query_map([workspace.map(ResourceId::as_str)], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn get(
    tx: &Transaction<'_>,
    workspace: &ResourceId,
    id: &ResourceId,
) -> Result<Pipeline, CatalogError> {
    let sql = format!("{SELECT} WHERE p.id = ?1 AND c.workspace_id = ?2");
    tx.query_row(&sql, [id.as_str(), workspace.as_str()], from_row)
        .optional()?
        .ok_or_else(|| CatalogError::not_found(Resource::Pipeline, id))
}

pub(super) fn update(
    tx: &Transaction<'_>,
    workspace: &ResourceId,
    id: &ResourceId,
    update: PipelineUpdate,
) -> Result<Pipeline, CatalogError> {
    let current = get(tx, workspace, id)?;
    let role = connections::get(tx, workspace, &current.connection_id)?.role;
    let CheckedJson {
        filter,
        transformation,
        required_consents,
    } = validate(
        role,
        &update.name,
        current.target,
        update.filter,
        update.transformation,
        update.required_consents,
    )?;
    let updated = Pipeline {
        name: update.name,
        enabled: update.enabled.unwrap_or(current.enabled),
        filter,
        transformation,
        required_consents,
        updated_at: codec::now()?.0,
        ..current
    };
    tx.execute(
        "UPDATE pipelines SET name = ?2, enabled = ?3, filter = ?4, transformation = ?5, \
         required_consents = ?6, updated_at = ?7 WHERE id = ?1",
        (
            id.as_str(),
            &updated.name,
            updated.enabled,
            codec::json_text(updated.filter.as_ref()),
            codec::json_text(updated.transformation.as_ref()),
            codec::json_text(updated.required_consents.as_ref()),
            codec::micros(updated.updated_at)?,
        ),
    )?;
    Ok(updated)
}

pub(super) fn set_enabled(
    tx: &Transaction<'_>,
    workspace: &ResourceId,
    id: &ResourceId,
    enabled: bool,
) -> Result<Pipeline, CatalogError> {
    let current = get(tx, workspace, id)?;
    let (now, micros) = codec::now()?;
    tx.execute(
        "UPDATE pipelines SET enabled = ?2, updated_at = ?3 WHERE id = ?1",
        (id.as_str(), enabled, micros),
    )?;
    Ok(Pipeline {
        enabled,
        updated_at: now,
        ..current
    })
}

pub(super) fn delete(
    tx: &Transaction<'_>,
    workspace: &ResourceId,
    id: &ResourceId,
) -> Result<(), CatalogError> {
    get(tx, workspace, id)?;
    tx.execute("DELETE FROM pipelines WHERE id = ?1", [id.as_str()])?;
    Ok(())
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Pipeline> {
    let replay_from: String = row.get("replay_from")?;
    let replay_from = ReplayFrom::from_text(&replay_from)
        .ok_or_else(|| codec::conversion("replay_from", StorageError::new(replay_from.clone())))?;
    Ok(Pipeline {
        id: codec::id(row, "id")?,
        workspace_id: codec::id(row, "workspace_id")?,
        connection_id: codec::id(row, "connection_id")?,
        name: row.get("name")?,
        target: row.get("target")?,
        enabled: row.get("enabled")?,
        filter: codec::json(row, "filter")?,
        transformation: codec::json(row, "transformation")?,
        required_consents: codec::json(row, "required_consents")?,
        replay_from,
        created_at: codec::time(row, "created_at")?,
        updated_at: codec::time(row, "updated_at")?,
    })
}
