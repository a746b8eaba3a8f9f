//! Loads the credential index from the catalog when it opens.

use rusqlite::Transaction;
use weir_auth::WriteKey;

use super::{api_keys, codec, connections, workspaces};
use crate::index::Entries;
use crate::{CatalogError, WriteKeyIndex};

/// Every workspace, connection, write key and API key, as index entries.
pub(super) fn entries(
    tx: &Transaction<'_>,
    index: &WriteKeyIndex,
) -> Result<Entries, CatalogError> {
    let workspaces = workspaces::list(tx)?;
    let connections = {
        let sql = "SELECT id, workspace_id, name, role, connector, strategy FROM connections";
        let mut statement = tx.prepare(sql)?;
        let rows = statement.query_map([], connections::from_row)?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    let write_keys = {
        let mut statement = tx.prepare("SELECT key, connection_id FROM event_write_keys")?;
        let rows = statement.query_map([], |row| {
            let key: String = row.get("key")?;
            let key = WriteKey::parse(&key).map_err(|error| codec::conversion("key", error))?;
            Ok((key, codec::id(row, "connection_id")?))
        })?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    let api_keys = api_keys::all_with_hashes(tx)?;
    Ok(index.build(|builder| {
        for workspace in &workspaces {
            builder.workspace(workspaces::info(workspace));
        }
        for connection in &connections {
            builder.connection(connections::info(connection));
        }
        for (key, connection) in write_keys {
            builder.write_key(key, connection);
        }
        for (hash, record) in api_keys {
            builder.api_key(hash, record);
        }
    }))
}
