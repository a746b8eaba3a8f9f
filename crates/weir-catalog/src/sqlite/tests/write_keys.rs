//! Event write keys: the 20-key limit, last-key protection, and the index following every change.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use super::{add_workspace, new_connection, open, webhook_source};
use crate::{Catalog, CatalogError, Connector, MAX_EVENT_WRITE_KEYS, Resource, Role};

#[test]
fn a_source_starts_with_one_key() {
    let (_dir, catalog) = open();
    let (workspace, connection) = webhook_source(&catalog);
    let keys = catalog.list_write_keys(&workspace, &connection.id).unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].as_str().len(), 32);
    let info = catalog.index().lookup(keys[0].as_str()).unwrap();
    assert_eq!(info.connection_id, connection.id);
}

#[test]
fn twenty_first_key_is_refused() {
    let (_dir, catalog) = open();
    let (workspace, connection) = webhook_source(&catalog);
    for _ in 1..MAX_EVENT_WRITE_KEYS {
        catalog
            .create_write_key(&workspace, &connection.id)
            .unwrap();
    }
    let error = catalog
        .create_write_key(&workspace, &connection.id)
        .unwrap_err();
    assert!(
        matches!(error, CatalogError::TooManyEventWriteKeys { .. }),
        "{error:?}"
    );
    assert_eq!(
        (error.status(), error.code()),
        (422, "TooManyEventWriteKeys")
    );
    assert_eq!(
        error.client_message(),
        format!(
            "connection {} already has 20 event write keys",
            connection.id
        )
    );
    let keys = catalog.list_write_keys(&workspace, &connection.id).unwrap();
    assert_eq!(keys.len(), 20);
    let index = catalog.index();
    assert!(keys.iter().all(|key| index.lookup(key.as_str()).is_some()));
}

#[test]
fn last_key_cannot_be_deleted() {
    let (_dir, catalog) = open();
    let (workspace, connection) = webhook_source(&catalog);
    let first = catalog.list_write_keys(&workspace, &connection.id).unwrap()[0].clone();
    let error = catalog
        .delete_write_key(&workspace, &connection.id, first.as_str())
        .unwrap_err();
    assert!(
        matches!(error, CatalogError::SingleEventWriteKey),
        "{error:?}"
    );
    assert_eq!((error.status(), error.code()), (422, "SingleEventWriteKey"));
    assert!(
        catalog.index().lookup(first.as_str()).is_some(),
        "still valid"
    );

    // Rotation: add a key, delete the old one; the new one is then the last.
    let second = catalog
        .create_write_key(&workspace, &connection.id)
        .unwrap();
    catalog
        .delete_write_key(&workspace, &connection.id, first.as_str())
        .unwrap();
    let error = catalog
        .delete_write_key(&workspace, &connection.id, second.as_str())
        .unwrap_err();
    assert!(
        matches!(error, CatalogError::SingleEventWriteKey),
        "{error:?}"
    );
    assert_eq!(
        catalog.list_write_keys(&workspace, &connection.id).unwrap(),
        [second]
    );
}

#[test]
fn deleted_key_is_rejected_by_the_next_lookup() {
    let (_dir, catalog) = open();
    let (workspace, connection) = webhook_source(&catalog);
    let index = catalog.index();
    let key = catalog
        .create_write_key(&workspace, &connection.id)
        .unwrap();
    assert!(
        index.lookup(key.as_str()).is_some(),
        "a new key works at once"
    );
    catalog
        .delete_write_key(&workspace, &connection.id, key.as_str())
        .unwrap();
    assert_eq!(index.lookup(key.as_str()), None);
}

#[test]
fn deleting_a_key_of_another_connection_deletes_nothing() {
    let (_dir, catalog) = open();
    let (workspace, first) = webhook_source(&catalog);
    let second = catalog
        .create_connection(
            &workspace,
            new_connection("Other", Role::Source, Connector::Go),
        )
        .unwrap();
    let key = catalog.create_write_key(&workspace, &second.id).unwrap();
    catalog
        .delete_write_key(&workspace, &first.id, key.as_str())
        .unwrap();
    catalog
        .delete_write_key(&workspace, &first.id, "not a key")
        .unwrap();
    assert_eq!(
        catalog
            .list_write_keys(&workspace, &second.id)
            .unwrap()
            .len(),
        2
    );
    assert!(catalog.index().lookup(key.as_str()).is_some());
}

#[test]
fn deleting_a_connection_removes_its_keys_from_the_index() {
    let (_dir, catalog) = open();
    let (workspace, connection) = webhook_source(&catalog);
    let index = catalog.index();
    let mut keys = catalog.list_write_keys(&workspace, &connection.id).unwrap();
    keys.push(
        catalog
            .create_write_key(&workspace, &connection.id)
            .unwrap(),
    );
    catalog
        .delete_connection(&workspace, &connection.id)
        .unwrap();
    for key in &keys {
        assert_eq!(index.lookup(key.as_str()), None);
    }
    assert_eq!(index.lookup_connection(&connection.id), None);
    let error = catalog
        .list_write_keys(&workspace, &connection.id)
        .unwrap_err();
    assert!(matches!(
        error,
        CatalogError::NotFound {
            resource: Resource::Connection,
            ..
        }
    ));
}

#[test]
fn deleting_a_workspace_removes_its_keys_and_connections_from_the_index() {
    let (_dir, catalog) = open();
    let (workspace, connection) = webhook_source(&catalog);
    let key = catalog.list_write_keys(&workspace, &connection.id).unwrap()[0].clone();
    let (other_workspace, other) = webhook_source(&catalog);
    let other_key = catalog
        .list_write_keys(&other_workspace, &other.id)
        .unwrap()[0]
        .clone();
    catalog.delete_workspace(&workspace).unwrap();
    let index = catalog.index();
    assert_eq!(index.lookup(key.as_str()), None);
    assert_eq!(index.lookup_connection(&connection.id), None);
    assert_eq!(index.lookup_workspace(&workspace), None);
    assert!(index.lookup(other_key.as_str()).is_some());
}

#[test]
fn destinations_have_no_write_keys() {
    let (_dir, catalog) = open();
    let workspace = add_workspace(&catalog, "Acme").id;
    let destination = catalog
        .create_connection(
            &workspace,
            new_connection("Hook", Role::Destination, Connector::Http),
        )
        .unwrap();
    for error in [
        catalog
            .list_write_keys(&workspace, &destination.id)
            .unwrap_err(),
        catalog
            .create_write_key(&workspace, &destination.id)
            .unwrap_err(),
    ] {
        assert!(
            matches!(error, CatalogError::NotASource { .. }),
            "{error:?}"
        );
        assert_eq!(error.status(), 404);
    }
    // Mode D ingestion finds it by id, without a role check.
    let info = catalog.index().lookup_connection(&destination.id).unwrap();
    assert_eq!(info.role, Role::Destination);
}

#[test]
fn keys_are_scoped_to_the_workspace() {
    let (_dir, catalog) = open();
    let (_, connection) = webhook_source(&catalog);
    let stranger = add_workspace(&catalog, "Other").id;
    let error = catalog
        .create_write_key(&stranger, &connection.id)
        .unwrap_err();
    assert_eq!(
        error.client_message(),
        format!("connection {} does not exist", connection.id)
    );
}

#[test]
fn lookups_run_concurrently_with_changes() {
    let (_dir, catalog) = open();
    let (workspace, connection) = webhook_source(&catalog);
    let stable = catalog.list_write_keys(&workspace, &connection.id).unwrap()[0].clone();
    let index = catalog.index();
    let stop = AtomicBool::new(false);
    thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    assert!(index.lookup(stable.as_str()).is_some());
                }
            });
        }
        for _ in 0..50 {
            let key = catalog
                .create_write_key(&workspace, &connection.id)
                .unwrap();
            let observer = index.clone();
            // Another thread sees the deletion as soon as the call returned.
            catalog
                .delete_write_key(&workspace, &connection.id, key.as_str())
                .unwrap();
            let seen = thread::spawn(move || observer.lookup(key.as_str()))
                .join()
                .unwrap();
            assert_eq!(seen, None);
        }
        stop.store(true, Ordering::Relaxed);
    });
}
