//! Management API keys: verification by token, scopes, revocation, and only the hash at rest.

use weir_auth::{ApiKey, ResourceId};

use super::{add_workspace, all_file_bytes, contains, open};
use crate::{Catalog, CatalogError, NewApiKey, Resource};

fn new_key(name: &str, workspace: Option<&ResourceId>) -> NewApiKey {
    NewApiKey {
        name: name.to_owned(),
        workspace: workspace.cloned(),
    }
}

#[test]
fn created_key_verifies_by_its_token() {
    let (_dir, catalog) = open();
    let created = catalog.create_api_key(new_key("CLI", None)).unwrap();
    let token = created.key.as_str().to_owned();
    assert_eq!(created.record.hint, created.key.hint());

    // What a request carries: the token text, parsed again.
    let presented = ApiKey::parse(&token).unwrap();
    let record = catalog.authenticate_api_key(&presented).unwrap();
    assert_eq!(record, created.record);
    assert_eq!(catalog.index().lookup_api_key(&presented), Some(record));
}

#[test]
fn wrong_token_fails() {
    let (_dir, catalog) = open();
    catalog.create_api_key(new_key("CLI", None)).unwrap();
    assert_eq!(catalog.authenticate_api_key(&ApiKey::generate()), None);
}

#[test]
fn only_the_hash_is_stored() {
    let (dir, catalog) = open();
    let created = catalog.create_api_key(new_key("CLI", None)).unwrap();
    let token = created.key.as_str();
    // Also the payload alone (the token without `api_`), in case it were stored split.
    let payload = &token[4..];
    let files = all_file_bytes(dir.path());
    assert!(files.iter().any(|(name, _)| name.ends_with("meta.sqlite")));
    for (name, bytes) in &files {
        assert!(!contains(bytes, token.as_bytes()), "token found in {name}");
        assert!(
            !contains(bytes, payload.as_bytes()),
            "payload found in {name}"
        );
    }
    drop(catalog);
    for (name, bytes) in all_file_bytes(dir.path()) {
        assert!(
            !contains(&bytes, payload.as_bytes()),
            "payload found in {name}"
        );
    }
}

#[test]
fn deleted_key_stops_authenticating_at_once() {
    let (_dir, catalog) = open();
    let created = catalog.create_api_key(new_key("CLI", None)).unwrap();
    catalog.delete_api_key(None, &created.record.id).unwrap();
    assert_eq!(catalog.authenticate_api_key(&created.key), None);
    let error = catalog.api_key(None, &created.record.id).unwrap_err();
    assert!(matches!(
        error,
        CatalogError::NotFound {
            resource: Resource::ApiKey,
            ..
        }
    ));
}

#[test]
fn rename_keeps_the_key_valid() {
    let (_dir, catalog) = open();
    let created = catalog.create_api_key(new_key("CLI", None)).unwrap();
    let renamed = catalog
        .rename_api_key(None, &created.record.id, "Deploys".to_owned())
        .unwrap();
    assert_eq!(renamed.name, "Deploys");
    assert_eq!(
        catalog.authenticate_api_key(&created.key),
        Some(renamed.clone())
    );
    assert_eq!(catalog.api_key(None, &created.record.id).unwrap(), renamed);
    let error = catalog
        .rename_api_key(None, &created.record.id, String::new())
        .unwrap_err();
    assert_eq!(error.client_message(), "name cannot be empty");
}

#[test]
fn scopes_limit_what_a_workspace_sees() {
    let (_dir, catalog) = open();
    let acme = add_workspace(&catalog, "Acme").id;
    let other = add_workspace(&catalog, "Other").id;
    let instance = catalog.create_api_key(new_key("Admin", None)).unwrap();
    let restricted = catalog
        .create_api_key(new_key("Acme CI", Some(&acme)))
        .unwrap();

    assert_eq!(catalog.list_api_keys(None).unwrap().len(), 2);
    assert_eq!(
        catalog.list_api_keys(Some(&acme)).unwrap(),
        std::slice::from_ref(&restricted.record)
    );
    assert!(catalog.list_api_keys(Some(&other)).unwrap().is_empty());
    assert!(catalog.api_key(Some(&acme), &instance.record.id).is_err());
    assert!(
        catalog
            .delete_api_key(Some(&other), &restricted.record.id)
            .is_err()
    );
    assert!(catalog.authenticate_api_key(&restricted.key).is_some());
}

#[test]
fn restricted_key_needs_an_existing_workspace_and_dies_with_it() {
    let (_dir, catalog) = open();
    let missing = ResourceId::generate();
    let error = catalog
        .create_api_key(new_key("CI", Some(&missing)))
        .unwrap_err();
    assert!(matches!(
        error,
        CatalogError::NotFound {
            resource: Resource::Workspace,
            ..
        }
    ));

    let acme = add_workspace(&catalog, "Acme").id;
    let restricted = catalog.create_api_key(new_key("CI", Some(&acme))).unwrap();
    let instance = catalog.create_api_key(new_key("Admin", None)).unwrap();
    catalog.delete_workspace(&acme).unwrap();
    assert_eq!(catalog.authenticate_api_key(&restricted.key), None);
    assert!(catalog.authenticate_api_key(&instance.key).is_some());
    assert_eq!(catalog.list_api_keys(None).unwrap(), [instance.record]);
}

#[test]
fn key_names_are_validated() {
    let (_dir, catalog) = open();
    let error = catalog
        .create_api_key(new_key(&"k".repeat(61), None))
        .unwrap_err();
    assert_eq!(error.status(), 400);
    assert!(matches!(error, CatalogError::Invalid { field: "name", .. }));
}
