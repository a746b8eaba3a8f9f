//! Pipelines: creation with defaults, updates, enabling, deletion, validation and scoping.

use serde_json::json;
use weir_auth::ResourceId;

use super::{add_workspace, new_connection, open, webhook_source};
use crate::{
    Catalog, CatalogError, Connector, NewPipeline, PipelineTarget, PipelineUpdate, ReplayFrom,
    Resource, Role,
};

fn new_pipeline(connection: &ResourceId, target: PipelineTarget) -> NewPipeline {
    NewPipeline {
        connection_id: connection.clone(),
        name: "Import".to_owned(),
        target,
        enabled: false,
        filter: None,
        transformation: None,
        required_consents: None,
        replay_from: ReplayFrom::default(),
    }
}

#[test]
fn pipeline_lifecycle() {
    let (_dir, catalog) = open();
    let (workspace, connection) = webhook_source(&catalog);
    let condition = json!({"property": "type", "operator": "is", "values": ["identify"]});
    let filter = json!({"logical": "or", "conditions": [condition]});
    let new = NewPipeline {
        filter: Some(filter.clone()),
        transformation: Some(json!({"mapping": {"email": "traits.email"}})),
        required_consents: Some(json!({"operator": "and", "purposes": ["analytics"]})),
        ..new_pipeline(&connection.id, PipelineTarget::User)
    };
    let pipeline = catalog.create_pipeline(&workspace, new).unwrap();
    assert!(!pipeline.enabled);
    assert_eq!(pipeline.workspace_id, workspace);
    assert_eq!(pipeline.replay_from, ReplayFrom::Now);
    assert_eq!(pipeline.filter, Some(filter));
    assert_eq!(
        catalog.pipeline(&workspace, &pipeline.id).unwrap(),
        pipeline
    );

    let enabled = catalog
        .set_pipeline_enabled(&workspace, &pipeline.id, true)
        .unwrap();
    assert!(enabled.enabled);
    assert!(enabled.updated_at >= pipeline.updated_at);
    assert_eq!(catalog.pipeline(&workspace, &pipeline.id).unwrap(), enabled);

    let update = PipelineUpdate {
        name: "Users".to_owned(),
        enabled: None,
        filter: None,
        transformation: None,
        required_consents: None,
    };
    let updated = catalog
        .update_pipeline(&workspace, &pipeline.id, update)
        .unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.enabled, &updated.filter),
        ("Users", true, &None)
    );
    assert_eq!(updated.target, PipelineTarget::User, "fixed at creation");
    assert_eq!(catalog.list_pipelines(Some(&workspace)).unwrap(), [updated]);

    catalog.delete_pipeline(&workspace, &pipeline.id).unwrap();
    let error = catalog.pipeline(&workspace, &pipeline.id).unwrap_err();
    assert!(matches!(
        error,
        CatalogError::NotFound {
            resource: Resource::Pipeline,
            ..
        }
    ));
}

#[test]
fn pipelines_go_with_their_connection() {
    let (_dir, catalog) = open();
    let (workspace, connection) = webhook_source(&catalog);
    let pipeline = catalog
        .create_pipeline(
            &workspace,
            new_pipeline(&connection.id, PipelineTarget::Event),
        )
        .unwrap();
    catalog
        .delete_connection(&workspace, &connection.id)
        .unwrap();
    assert!(catalog.pipeline(&workspace, &pipeline.id).is_err());
    assert!(catalog.list_pipelines(None).unwrap().is_empty());
}

#[test]
fn validation() {
    let (_dir, catalog) = open();
    let (workspace, connection) = webhook_source(&catalog);
    let cases = [
        (
            NewPipeline {
                name: String::new(),
                ..new_pipeline(&connection.id, PipelineTarget::Event)
            },
            "name",
        ),
        (
            NewPipeline {
                name: "p".repeat(61),
                ..new_pipeline(&connection.id, PipelineTarget::Event)
            },
            "name",
        ),
        (
            NewPipeline {
                filter: Some(json!("type = track")),
                ..new_pipeline(&connection.id, PipelineTarget::Event)
            },
            "filter",
        ),
        (
            NewPipeline {
                transformation: Some(json!({"mapping": {}})),
                ..new_pipeline(&connection.id, PipelineTarget::Event)
            },
            "transformation",
        ),
    ];
    for (new, field) in cases {
        let error = catalog.create_pipeline(&workspace, new).unwrap_err();
        assert_eq!(error.status(), 400);
        assert!(
            matches!(error, CatalogError::Invalid { field: f, .. } if f == field),
            "{error:?}"
        );
    }
    let destination = catalog
        .create_connection(
            &workspace,
            new_connection("Hook", Role::Destination, Connector::Http),
        )
        .unwrap();
    let error = catalog
        .create_pipeline(
            &workspace,
            new_pipeline(&destination.id, PipelineTarget::User),
        )
        .unwrap_err();
    assert!(
        matches!(
            error,
            CatalogError::Invalid {
                field: "target",
                ..
            }
        ),
        "{error:?}"
    );
    catalog
        .create_pipeline(
            &workspace,
            new_pipeline(&destination.id, PipelineTarget::Event),
        )
        .unwrap();
    assert_eq!(catalog.list_pipelines(Some(&workspace)).unwrap().len(), 1);
}

#[test]
fn pipelines_are_scoped_to_their_workspace() {
    let (_dir, catalog) = open();
    let (workspace, connection) = webhook_source(&catalog);
    let other = add_workspace(&catalog, "Other").id;
    let error = catalog
        .create_pipeline(&other, new_pipeline(&connection.id, PipelineTarget::Event))
        .unwrap_err();
    assert!(matches!(
        error,
        CatalogError::NotFound {
            resource: Resource::Connection,
            ..
        }
    ));
    let pipeline = catalog
        .create_pipeline(
            &workspace,
            new_pipeline(&connection.id, PipelineTarget::Event),
        )
        .unwrap();
    assert!(catalog.pipeline(&other, &pipeline.id).is_err());
    assert!(
        catalog
            .set_pipeline_enabled(&other, &pipeline.id, true)
            .is_err()
    );
    assert!(catalog.delete_pipeline(&other, &pipeline.id).is_err());
    assert!(catalog.list_pipelines(Some(&other)).unwrap().is_empty());
    assert_eq!(catalog.list_pipelines(None).unwrap(), [pipeline]);
}

#[test]
fn replay_from_time_round_trips() {
    let (_dir, catalog) = open();
    let (workspace, connection) = webhook_source(&catalog);
    let at = time::macros::datetime!(2025-06-01 08:00:00.123456 UTC);
    let new = NewPipeline {
        replay_from: ReplayFrom::Time(at),
        ..new_pipeline(&connection.id, PipelineTarget::Event)
    };
    let pipeline = catalog.create_pipeline(&workspace, new).unwrap();
    let stored = catalog.pipeline(&workspace, &pipeline.id).unwrap();
    assert_eq!(stored.replay_from, ReplayFrom::Time(at));
}
