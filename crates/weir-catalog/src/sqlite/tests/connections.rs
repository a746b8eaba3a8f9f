//! Workspaces and connections: CRUD, validation, scoping, and what the index learns of them.

use weir_auth::ResourceId;

use super::{add_workspace, new_connection, open, webhook_source};
use crate::{
    Catalog, CatalogError, ConnectionUpdate, Connector, NewConnection, RateLimit, Resource, Role,
    Strategy, WarehouseSettings, WorkspaceSettings, WorkspaceUpdate,
};

#[test]
fn workspace_crud() {
    let (_dir, catalog) = open();
    let acme = add_workspace(&catalog, "Acme");
    assert_eq!(catalog.workspace(&acme.id).unwrap(), acme);
    assert_eq!(
        catalog.list_workspaces().unwrap(),
        std::slice::from_ref(&acme)
    );
    let settings = WorkspaceSettings {
        warehouse: WarehouseSettings::PostgreSql {
            url: "postgres://db/weir".to_owned(),
        },
        event_rate_limit: Some(RateLimit {
            rate_per_minute: 60_000,
            max_capacity: 20_000,
        }),
    };
    let update = WorkspaceUpdate {
        name: "Acme Inc.".to_owned(),
        settings: settings.clone(),
    };
    let updated = catalog.update_workspace(&acme.id, update).unwrap();
    assert_eq!(updated.settings, settings);
    assert_eq!(catalog.workspace(&acme.id).unwrap(), updated);
    let info = catalog.index().lookup_workspace(&acme.id).unwrap();
    assert_eq!(info.event_rate_limit, settings.event_rate_limit);

    catalog.delete_workspace(&acme.id).unwrap();
    let error = catalog.workspace(&acme.id).unwrap_err();
    assert_eq!(error.status(), 404);
    assert_eq!(
        error.client_message(),
        format!("workspace {} does not exist", acme.id)
    );
    assert!(catalog.delete_workspace(&acme.id).is_err());
}

#[test]
fn workspace_validation_changes_nothing() {
    let (_dir, catalog) = open();
    let acme = add_workspace(&catalog, "Acme");
    let mut update = WorkspaceUpdate {
        name: "Acme".to_owned(),
        settings: WorkspaceSettings {
            event_rate_limit: Some(RateLimit {
                rate_per_minute: 10,
                max_capacity: 1_000,
            }),
            ..WorkspaceSettings::default()
        },
    };
    let error = catalog
        .update_workspace(&acme.id, update.clone())
        .unwrap_err();
    assert!(matches!(
        error,
        CatalogError::Invalid {
            field: "eventsRateLimit.ratePerMinute",
            ..
        }
    ));
    update.settings.event_rate_limit = None;
    for (name, message) in [
        (String::new(), "name cannot be empty"),
        (
            "x".repeat(61),
            "name must be at most 60 characters long, not 61",
        ),
    ] {
        update.name = name;
        let error = catalog
            .update_workspace(&acme.id, update.clone())
            .unwrap_err();
        assert_eq!(error.client_message(), message);
    }
    assert_eq!(catalog.workspace(&acme.id).unwrap(), acme);
}

#[test]
fn connection_crud() {
    let (_dir, catalog) = open();
    let (workspace, connection) = webhook_source(&catalog);
    assert_eq!(connection.strategy, None);
    assert_eq!(
        catalog.connection(&workspace, &connection.id).unwrap(),
        connection
    );
    let update = ConnectionUpdate {
        name: "Renamed".to_owned(),
        strategy: None,
    };
    let renamed = catalog
        .update_connection(&workspace, &connection.id, update)
        .unwrap();
    assert_eq!(renamed.name, "Renamed");
    assert_eq!(catalog.list_connections(&workspace).unwrap(), [renamed]);
    catalog
        .delete_connection(&workspace, &connection.id)
        .unwrap();
    assert!(catalog.list_connections(&workspace).unwrap().is_empty());
    let error = catalog
        .delete_connection(&workspace, &connection.id)
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
fn connection_names_are_validated() {
    let (_dir, catalog) = open();
    let workspace = add_workspace(&catalog, "Acme").id;
    for (name, ok) in [
        ("", false),
        ("x", true),
        (&*"é".repeat(60), true),
        (&*"x".repeat(61), false),
    ] {
        let result = catalog.create_connection(
            &workspace,
            new_connection(name, Role::Source, Connector::Webhook),
        );
        assert_eq!(result.is_ok(), ok, "{name:?}");
        if let Err(error) = result {
            assert!(
                matches!(error, CatalogError::Invalid { field: "name", .. }),
                "{error:?}"
            );
        }
    }
    assert_eq!(catalog.list_connections(&workspace).unwrap().len(), 2);
}

#[test]
fn role_and_connector_must_match() {
    let (_dir, catalog) = open();
    let workspace = add_workspace(&catalog, "Acme").id;
    for (role, connector) in [
        (Role::Source, Connector::Http),
        (Role::Destination, Connector::Segment),
    ] {
        let error = catalog
            .create_connection(&workspace, new_connection("X", role, connector))
            .unwrap_err();
        assert!(
            matches!(
                error,
                CatalogError::Invalid {
                    field: "connector",
                    ..
                }
            ),
            "{error:?}"
        );
    }
    assert!(catalog.list_connections(&workspace).unwrap().is_empty());
}

#[test]
fn sdk_connections_have_a_strategy_the_index_follows() {
    let (_dir, catalog) = open();
    let workspace = add_workspace(&catalog, "Acme").id;
    let browser = catalog
        .create_connection(
            &workspace,
            new_connection("Site", Role::Source, Connector::Javascript),
        )
        .unwrap();
    assert_eq!(browser.strategy, Some(Strategy::Conversion));
    let key = catalog.list_write_keys(&workspace, &browser.id).unwrap()[0].clone();
    let index = catalog.index();
    let info = index.lookup(key.as_str()).unwrap();
    assert!(info.connector.falls_back_to_request_ip());
    assert_eq!(info.strategy, Some(Strategy::Conversion));

    let update = ConnectionUpdate {
        name: "Site".to_owned(),
        strategy: Some(Strategy::Fusion),
    };
    catalog
        .update_connection(&workspace, &browser.id, update)
        .unwrap();
    assert_eq!(
        index.lookup(key.as_str()).unwrap().strategy,
        Some(Strategy::Fusion)
    );

    let with_strategy = NewConnection {
        strategy: Some(Strategy::Isolation),
        ..new_connection("App", Role::Source, Connector::Ios)
    };
    let app = catalog
        .create_connection(&workspace, with_strategy)
        .unwrap();
    assert_eq!(app.strategy, Some(Strategy::Isolation));
}

#[test]
fn connections_are_scoped_to_their_workspace() {
    let (_dir, catalog) = open();
    let (_, connection) = webhook_source(&catalog);
    let other = add_workspace(&catalog, "Other").id;
    assert!(catalog.connection(&other, &connection.id).is_err());
    assert!(catalog.delete_connection(&other, &connection.id).is_err());
    assert!(catalog.list_connections(&other).unwrap().is_empty());
    let missing = ResourceId::generate();
    let error = catalog.list_connections(&missing).unwrap_err();
    assert!(matches!(
        error,
        CatalogError::NotFound {
            resource: Resource::Workspace,
            ..
        }
    ));
    let error = catalog
        .create_connection(
            &missing,
            new_connection("X", Role::Source, Connector::Webhook),
        )
        .unwrap_err();
    assert!(matches!(
        error,
        CatalogError::NotFound {
            resource: Resource::Workspace,
            ..
        }
    ));
}
