//! First-run bootstrap, its idempotence, restarts and the admin key file.

use super::{open, webhook_source};
use crate::{
    Catalog, Connector, NewApiKey, NewPipeline, PipelineTarget, ReplayFrom, Role, SqliteCatalog,
    read_admin_key,
};

#[test]
fn first_run_creates_workspace_webhook_source_key_and_admin_key() {
    let (dir, catalog) = open();
    let boot = catalog.bootstrap().unwrap();
    assert!(boot.created);
    let source = boot.source.unwrap();
    assert_eq!(source.workspace.name, "Default");
    assert_eq!(source.connection.name, "Webhook");
    assert_eq!(source.connection.role, Role::Source);
    assert_eq!(source.connection.connector, Connector::Webhook);
    assert_eq!(source.connection.workspace_id, source.workspace.id);
    let keys = catalog
        .list_write_keys(&source.workspace.id, &source.connection.id)
        .unwrap();
    assert_eq!(keys, std::slice::from_ref(&source.write_key));

    let index = catalog.index();
    let info = index.lookup(source.write_key.as_str()).unwrap();
    assert_eq!(info.connection_id, source.connection.id);
    assert_eq!(info.workspace_id, source.workspace.id);
    assert_eq!(info.connector, Connector::Webhook);

    let admin = boot.admin_key.unwrap();
    let record = catalog.authenticate_api_key(&admin).unwrap();
    assert_eq!(record.name, "Admin");
    assert_eq!(record.workspace, None, "the admin key is instance-wide");
    assert_eq!(read_admin_key(dir.path()).unwrap(), admin);
}

#[cfg(unix)]
#[test]
fn admin_key_file_and_catalog_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, catalog) = open();
    catalog.bootstrap().unwrap();
    for file in ["admin.key", "meta.sqlite"] {
        let mode = std::fs::metadata(dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    let text = std::fs::read_to_string(dir.path().join("admin.key")).unwrap();
    assert!(text.starts_with("api_") && text.ends_with('\n'), "{text:?}");
}

#[test]
fn second_run_creates_nothing_and_reports_the_same_source() {
    let (dir, catalog) = open();
    let first = catalog.bootstrap().unwrap();
    let admin_file = std::fs::read(dir.path().join("admin.key")).unwrap();
    let second = catalog.bootstrap().unwrap();
    assert!(!second.created);
    assert!(second.admin_key.is_none());
    let (first, second) = (first.source.unwrap(), second.source.unwrap());
    assert_eq!(second.workspace, first.workspace);
    assert_eq!(second.connection, first.connection);
    assert_eq!(second.write_key, first.write_key);
    assert_eq!(catalog.list_workspaces().unwrap().len(), 1);
    assert_eq!(
        catalog.list_connections(&first.workspace.id).unwrap().len(),
        1
    );
    assert_eq!(catalog.list_api_keys(None).unwrap().len(), 1);
    let unchanged = std::fs::read(dir.path().join("admin.key")).unwrap();
    assert_eq!(unchanged, admin_file);
}

#[test]
fn restart_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (boot, extra_key, api_key, pipeline) = {
        let catalog = SqliteCatalog::open(dir.path()).unwrap();
        let boot = catalog.bootstrap().unwrap();
        let source = boot.source.clone().unwrap();
        let (workspace, connection) = (&source.workspace.id, &source.connection.id);
        let extra_key = catalog.create_write_key(workspace, connection).unwrap();
        let api_key = catalog
            .create_api_key(NewApiKey {
                name: "CI".to_owned(),
                workspace: Some(workspace.clone()),
            })
            .unwrap();
        let pipeline = catalog
            .create_pipeline(
                workspace,
                NewPipeline {
                    connection_id: connection.clone(),
                    name: "Import events".to_owned(),
                    target: PipelineTarget::Event,
                    enabled: true,
                    filter: None,
                    transformation: None,
                    required_consents: None,
                    replay_from: ReplayFrom::Earliest,
                },
            )
            .unwrap();
        (boot, extra_key, api_key, pipeline)
    };

    let catalog = SqliteCatalog::open(dir.path()).unwrap();
    let again = catalog.bootstrap().unwrap();
    assert!(!again.created);
    let source = boot.source.unwrap();
    assert_eq!(again.source.unwrap().write_key, source.write_key);
    let (workspace, connection) = (&source.workspace.id, &source.connection.id);
    assert_eq!(
        catalog.list_write_keys(workspace, connection).unwrap(),
        [source.write_key.clone(), extra_key.clone()]
    );
    assert_eq!(catalog.list_api_keys(None).unwrap().len(), 2);
    assert_eq!(catalog.pipeline(workspace, &pipeline.id).unwrap(), pipeline);

    // The index is rebuilt from the file: keys and API keys authenticate without re-creation.
    let index = catalog.index();
    for key in [&source.write_key, &extra_key] {
        assert_eq!(
            index.lookup(key.as_str()).unwrap().connection_id,
            *connection
        );
    }
    assert!(
        catalog
            .authenticate_api_key(&boot.admin_key.unwrap())
            .is_some()
    );
    let restricted = catalog.authenticate_api_key(&api_key.key).unwrap();
    assert_eq!(restricted.workspace.as_ref(), Some(workspace));
    assert!(index.lookup_workspace(workspace).is_some());
}

#[test]
fn bootstrap_after_every_source_was_deleted_reports_none() {
    let (_dir, catalog) = open();
    let source = catalog.bootstrap().unwrap().source.unwrap();
    catalog
        .delete_connection(&source.workspace.id, &source.connection.id)
        .unwrap();
    let again = catalog.bootstrap().unwrap();
    assert!(!again.created);
    assert!(again.source.is_none());
    assert_eq!(
        catalog.list_workspaces().unwrap().len(),
        1,
        "nothing re-created"
    );
}

#[test]
fn bootstrap_reports_the_first_source_of_the_oldest_workspace() {
    let (_dir, catalog) = open();
    let boot = catalog.bootstrap().unwrap().source.unwrap();
    webhook_source(&catalog);
    let again = catalog.bootstrap().unwrap().source.unwrap();
    assert_eq!(again.connection.id, boot.connection.id);
}

#[test]
fn migrations_apply_on_a_fresh_file_and_not_again() {
    let dir = tempfile::tempdir().unwrap();
    let version = || -> i64 {
        let db = rusqlite::Connection::open(dir.path().join("meta.sqlite")).unwrap();
        db.query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap()
    };
    drop(SqliteCatalog::open(dir.path()).unwrap());
    let expected = i64::try_from(crate::sqlite::migrations::MIGRATIONS.len()).unwrap();
    assert_eq!(version(), expected);
    // A re-applied migration would fail on its CREATE TABLE statements.
    drop(SqliteCatalog::open(dir.path()).unwrap());
    assert_eq!(version(), expected);
}

#[test]
fn open_refuses_a_catalog_from_a_newer_weir() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteCatalog::open(dir.path()).unwrap());
    let db = rusqlite::Connection::open(dir.path().join("meta.sqlite")).unwrap();
    db.pragma_update(None, "user_version", 1000).unwrap();
    drop(db);
    let error = SqliteCatalog::open(dir.path()).unwrap_err();
    assert_eq!(error.code(), "InternalServerError");
    assert!(error.to_string().contains("newer"), "{error}");
}
