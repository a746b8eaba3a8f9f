//! Tests of the SQLite catalog through the crate's public API: the [`Catalog`] trait,
//! [`SqliteCatalog::open`] and the [`WriteKeyIndex`] it maintains.

mod api_keys;
mod bootstrap;
mod connections;
mod pipelines;
mod write_keys;

use tempfile::TempDir;
use weir_auth::ResourceId;

use crate::{
    Catalog, Connection, Connector, NewConnection, NewWorkspace, Role, SqliteCatalog, Workspace,
    WorkspaceSettings,
};

/// A catalog in a fresh temporary data directory (removed when the `TempDir` drops).
fn open() -> (TempDir, SqliteCatalog) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = SqliteCatalog::open(dir.path()).unwrap();
    (dir, catalog)
}

fn add_workspace(catalog: &SqliteCatalog, name: &str) -> Workspace {
    catalog
        .create_workspace(NewWorkspace {
            name: name.to_owned(),
            settings: WorkspaceSettings::default(),
        })
        .unwrap()
}

fn new_connection(name: &str, role: Role, connector: Connector) -> NewConnection {
    NewConnection {
        name: name.to_owned(),
        role,
        connector,
        strategy: None,
    }
}

/// A workspace with one Webhook source connection.
fn webhook_source(catalog: &SqliteCatalog) -> (ResourceId, Connection) {
    let workspace = add_workspace(catalog, "Acme");
    let connection = catalog
        .create_connection(
            &workspace.id,
            new_connection("My app", Role::Source, Connector::Webhook),
        )
        .unwrap();
    (workspace.id, connection)
}

/// Every byte of every file in `dir` (the database, its WAL, …).
fn all_file_bytes(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .map(|path| (path.display().to_string(), std::fs::read(&path).unwrap()))
        .collect();
    files.sort();
    files
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}
