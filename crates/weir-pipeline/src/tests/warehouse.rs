//! The "Import events into warehouse" target on a real SQLite warehouse, and the error mapping
//! of an unreachable PostgreSQL one.

use std::sync::Arc;

use serde_json::json;
use weir_catalog::{ReplayFrom, WarehouseSettings};
use weir_spec::Event;
use weir_warehouse::{EventQuery, Warehouse};

use super::{Harness, eventually, fast_config, now_ms};
use crate::{Engine, TargetFactory, TargetKind, WarehouseTargets};

async fn message_ids(warehouse: &Arc<dyn Warehouse>) -> Vec<String> {
    let query = EventQuery {
        columns: vec!["message_id".to_owned()],
        limit: 1000,
        ..EventQuery::default()
    };
    let mut ids: Vec<String> = warehouse
        .query_events(query)
        .await
        .unwrap()
        .rows
        .iter()
        .map(|row| row["message_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_land_once_in_the_sqlite_warehouse() {
    let h = Harness::new();
    let filter = json!({"logical": "and", "conditions": [
        {"property": "properties.plan", "operator": "is not", "values": ["free"]},
    ]});
    // Two pipelines importing the same events: the warehouse keeps one row per event.
    let first = h.pipeline(true, ReplayFrom::Earliest, Some(filter.clone()));
    let second = h.pipeline(true, ReplayFrom::Earliest, Some(filter));
    h.append_with(
        &h.source,
        &["a", "b"],
        now_ms(),
        json!({"properties": {"plan": "pro"}}),
    )
    .await;
    h.append_with(
        &h.source,
        &["free"],
        now_ms(),
        json!({"properties": {"plan": "free"}}),
    )
    .await;
    h.append(&h.source, &["c"]).await;

    let targets = Arc::new(WarehouseTargets::new(h.dir.path()));
    let engine = Engine::start(
        h.log.clone(),
        h.catalog.clone(),
        targets.clone(),
        fast_config(),
    )
    .unwrap();
    let warehouse = targets.warehouse(&WarehouseSettings::Sqlite).await.unwrap();
    eventually("both pipelines wrote everything", || async {
        [&first, &second].iter().all(|p| {
            engine
                .stats(p.id.as_str())
                .is_some_and(|s| s.written == 3 && s.lag == 0)
        })
    })
    .await;
    assert_eq!(message_ids(&warehouse).await, ["a", "b", "c"]);
    assert!(h.dir.path().join(crate::WAREHOUSE_FILE).exists());
    let again = targets.warehouse(&WarehouseSettings::Sqlite).await.unwrap();
    assert!(Arc::ptr_eq(&warehouse, &again), "one handle per warehouse");
    engine.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_postgresql_warehouse_gives_retryable_errors() {
    let h = Harness::new();
    let mut workspace = h.workspace.clone();
    workspace.settings.warehouse = WarehouseSettings::PostgreSql {
        url: "postgres://weir:secret@127.0.0.1:1/weir".to_owned(),
    };
    let pipeline = h.pipeline(true, ReplayFrom::Now, None);
    let targets = WarehouseTargets::new(h.dir.path());
    let target = targets
        .open(TargetKind::WarehouseEvents, &workspace, &pipeline)
        .await
        .unwrap();
    let event =
        Event::from_canonical_json(&super::payload(&h.source, "a", now_ms(), &json!({}))).unwrap();
    let error = target.write(&[event]).await.unwrap_err();
    assert!(error.retryable, "{error:?}");
    assert!(!error.message.contains("secret"), "{}", error.message);
}
