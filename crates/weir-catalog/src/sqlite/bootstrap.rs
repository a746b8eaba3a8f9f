//! First-run bootstrap in one transaction: the default workspace, its Webhook source with a
//! write key, and the instance-wide admin API key, marked done in the `meta` table so that later
//! runs create nothing, even after the user deleted what was created.

use rusqlite::{OptionalExtension, Transaction};

use super::{SqliteCatalog, api_keys, codec, connections, workspaces, write_keys};
use crate::bootstrap::write_admin_key;
use crate::{
    ADMIN_KEY_NAME, ApiKeyRecord, Bootstrap, BootstrapSource, CatalogError, Connector,
    DEFAULT_SOURCE_NAME, DEFAULT_WORKSPACE_NAME, NewApiKey, NewConnection, NewWorkspace, Role,
    StorageError, WorkspaceSettings,
};

/// The `meta` row that records the bootstrap.
const BOOTSTRAPPED_AT: &str = "bootstrapped_at";

/// What the transaction did, with what the index needs.
struct Outcome {
    bootstrap: Bootstrap,
    admin_key: Option<([u8; 32], ApiKeyRecord)>,
}

pub(super) fn run(catalog: &SqliteCatalog) -> Result<Bootstrap, CatalogError> {
    let outcome = catalog.write(
        |tx| {
            let done: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM meta WHERE name = ?1",
                    [BOOTSTRAPPED_AT],
                    |row| row.get(0),
                )
                .optional()?;
            match done {
                Some(_) => existing(tx),
                None => create(catalog, tx),
            }
        },
        |outcome, index| {
            let Some(source) = outcome.bootstrap.source.as_ref() else {
                return;
            };
            if !outcome.bootstrap.created {
                return;
            }
            index.put_workspace(workspaces::info(&source.workspace));
            index.put_connection(connections::info(&source.connection));
            index.insert_write_key(source.write_key.clone(), source.connection.id.clone());
            if let Some((hash, record)) = &outcome.admin_key {
                index.put_api_key(*hash, record.clone());
            }
        },
    )?;
    Ok(outcome.bootstrap)
}

fn existing(tx: &Transaction<'_>) -> Result<Outcome, CatalogError> {
    let source = match connections::first_source(tx)? {
        None => None,
        Some(connection) => {
            let workspace = workspaces::get(tx, &connection.workspace_id)?;
            let keys = write_keys::list(tx, &workspace.id, &connection.id)?;
            keys.into_iter().next().map(|write_key| BootstrapSource {
                workspace,
                connection,
                write_key,
            })
        }
    };
    Ok(Outcome {
        bootstrap: Bootstrap {
            created: false,
            source,
            admin_key: None,
        },
        admin_key: None,
    })
}

fn create(catalog: &SqliteCatalog, tx: &Transaction<'_>) -> Result<Outcome, CatalogError> {
    let workspace = workspaces::create(
        tx,
        NewWorkspace {
            name: DEFAULT_WORKSPACE_NAME.to_owned(),
            settings: WorkspaceSettings::default(),
        },
    )?;
    let new_source = NewConnection {
        name: DEFAULT_SOURCE_NAME.to_owned(),
        role: Role::Source,
        connector: Connector::Webhook,
        strategy: None,
    };
    let (connection, key) = connections::create(tx, &workspace.id, new_source)?;
    let write_key = key.ok_or_else(|| StorageError::new("source created without a write key"))?;
    let new_key = NewApiKey {
        name: ADMIN_KEY_NAME.to_owned(),
        workspace: None,
    };
    let (admin, hash) = api_keys::create(tx, catalog.index.hasher(), new_key)?;
    let (_, now) = codec::now()?;
    tx.execute(
        "INSERT INTO meta (name, value) VALUES (?1, ?2)",
        (BOOTSTRAPPED_AT, now.to_string()),
    )?;
    // Written before the commit: if writing fails nothing is created and the next start tries
    // again; if the commit fails the file holds a key that never existed and is replaced then.
    write_admin_key(catalog.data_dir(), &admin.key)
        .map_err(|error| StorageError::new(format!("writing the admin key file: {error}")))?;
    Ok(Outcome {
        bootstrap: Bootstrap {
            created: true,
            source: Some(BootstrapSource {
                workspace,
                connection,
                write_key,
            }),
            admin_key: Some(admin.key),
        },
        admin_key: Some((hash, admin.record)),
    })
}
