//! API key rows: the HMAC of the key's payload and its hint, never the token. A `scope` of
//! `Some(workspace)` limits an operation to the keys restricted to that workspace (what a
//! workspace-restricted caller may see); `None` reaches every key.

use rusqlite::{OptionalExtension, Row, Transaction};
use weir_auth::{ApiKey, ApiKeyHasher, ResourceId};

use super::{codec, workspaces};
use crate::{ApiKeyRecord, CatalogError, CreatedApiKey, NewApiKey, Resource, validate};

const COLUMNS: &str = "id, name, workspace_id, hint, created_at";

/// A new key and the hash stored for it.
pub(super) fn create(
    tx: &Transaction<'_>,
    hasher: &ApiKeyHasher,
    new: NewApiKey,
) -> Result<(CreatedApiKey, [u8; 32]), CatalogError> {
    validate::name("name", &new.name)?;
    if let Some(workspace) = &new.workspace {
        workspaces::get(tx, workspace)?;
    }
    let key = ApiKey::generate();
    let hash = hasher.hash(&key);
    let (created_at, now) = codec::now()?;
    let record = ApiKeyRecord {
        id: ResourceId::generate(),
        name: new.name,
        workspace: new.workspace,
        hint: key.hint(),
        created_at,
    };
    tx.execute(
        "INSERT INTO api_keys (id, name, workspace_id, hash, hint, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        (
            record.id.as_str(),
            &record.name,
            record.workspace.as_ref().map(ResourceId::as_str),
            &hash[..],
            &record.hint,
            now,
        ),
    )?;
    Ok((CreatedApiKey { record, key }, hash))
}

pub(super) fn list(
    tx: &Transaction<'_>,
    scope: Option<&ResourceId>,
) -> Result<Vec<ApiKeyRecord>, CatalogError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM api_keys WHERE ?1 IS NULL OR workspace_id = ?1 \
         ORDER BY created_at, rowid"
    );
    let mut statement = tx.prepare(&sql)?;
    let rows = statement.query_map([scope.map(ResourceId::as_str)], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn get(
    tx: &Transaction<'_>,
    scope: Option<&ResourceId>,
    id: &ResourceId,
) -> Result<ApiKeyRecord, CatalogError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM api_keys WHERE id = ?1 AND (?2 IS NULL OR workspace_id = ?2)"
    );
    tx.query_row(&sql, (id.as_str(), scope.map(ResourceId::as_str)), from_row)
        .optional()?
        .ok_or_else(|| CatalogError::not_found(Resource::ApiKey, id))
}

/// Renames a key; returns the record and its stored hash (to update the index).
pub(super) fn rename(
    tx: &Transaction<'_>,
    scope: Option<&ResourceId>,
    id: &ResourceId,
    name: String,
) -> Result<(ApiKeyRecord, [u8; 32]), CatalogError> {
    validate::name("name", &name)?;
    let current = get(tx, scope, id)?;
    tx.execute(
        "UPDATE api_keys SET name = ?2 WHERE id = ?1",
        (id.as_str(), &name),
    )?;
    let hash = hash(tx, id)?;
    Ok((ApiKeyRecord { name, ..current }, hash))
}

pub(super) fn delete(
    tx: &Transaction<'_>,
    scope: Option<&ResourceId>,
    id: &ResourceId,
) -> Result<(), CatalogError> {
    let deleted = tx.execute(
        "DELETE FROM api_keys WHERE id = ?1 AND (?2 IS NULL OR workspace_id = ?2)",
        (id.as_str(), scope.map(ResourceId::as_str)),
    )?;
    if deleted == 0 {
        return Err(CatalogError::not_found(Resource::ApiKey, id));
    }
    Ok(())
}

/// Every key with its stored hash (to load the index).
pub(super) fn all_with_hashes(
    db: &rusqlite::Connection,
) -> Result<Vec<([u8; 32], ApiKeyRecord)>, CatalogError> {
    let sql = format!("SELECT {COLUMNS}, hash FROM api_keys");
    let mut statement = db.prepare(&sql)?;
    let rows = statement.query_map([], |row| Ok((hash_column(row)?, from_row(row)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn hash(tx: &Transaction<'_>, id: &ResourceId) -> Result<[u8; 32], CatalogError> {
    Ok(tx.query_row(
        "SELECT hash FROM api_keys WHERE id = ?1",
        [id.as_str()],
        hash_column,
    )?)
}

fn hash_column(row: &Row<'_>) -> rusqlite::Result<[u8; 32]> {
    // The schema's CHECK keeps every hash exactly 32 bytes long.
    row.get("hash")
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: codec::id(row, "id")?,
        name: row.get("name")?,
        workspace: codec::option_id(row, "workspace_id")?,
        hint: row.get("hint")?,
        created_at: codec::time(row, "created_at")?,
    })
}
