//! What the engine runs and reports: unsupported targets, invalid stored rules, deleted
//! pipelines, the metrics families.

use std::sync::Arc;

use prometheus_client::registry::Registry;
use serde_json::json;
use weir_catalog::{Catalog, PipelineTarget, ReplayFrom};

use super::{Harness, Targets, eventually, fast_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_pipelines_are_skipped_with_a_reason() {
    let h = Harness::new();
    let users = h.pipeline_on(
        &h.source,
        PipelineTarget::User,
        true,
        ReplayFrom::Earliest,
        None,
    );
    h.append(&h.source, &["a"]).await;
    let targets = Arc::new(Targets::default());
    let engine = h.engine(&targets, fast_config());
    eventually("the engine saw the pipeline", || async {
        engine.stats(users.id.as_str()).is_some()
    })
    .await;
    let stats = engine.stats(users.id.as_str()).unwrap();
    assert!(!stats.running);
    assert_eq!(
        stats.last_error.as_deref(),
        Some("\"Import users into warehouse\" pipelines are not supported yet")
    );
    assert_eq!(h.cursor(&users).await, None);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_stored_filter_stops_the_pipeline_with_the_reason() {
    let h = Harness::new();
    // The catalog only checks that a filter is a JSON object.
    let filter =
        json!({"logical": "and", "conditions": [{"property": "userId", "operator": "is true"}]});
    let pipeline = h.pipeline(true, ReplayFrom::Earliest, Some(filter));
    h.append(&h.source, &["a"]).await;
    let targets = Arc::new(Targets::default());
    let engine = h.engine(&targets, fast_config());
    eventually("the engine saw the pipeline", || async {
        engine.stats(pipeline.id.as_str()).is_some()
    })
    .await;
    let stats = engine.stats(pipeline.id.as_str()).unwrap();
    assert!(!stats.running);
    assert_eq!(
        stats.last_error.as_deref(),
        Some(r#"filter is not valid: operator "is true" cannot be used with string properties"#)
    );
    assert_eq!(h.cursor(&pipeline).await, None);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_registered_and_deleted_pipelines_forgotten() {
    let h = Harness::new();
    let pipeline = h.pipeline(true, ReplayFrom::Earliest, None);
    let targets = Arc::new(Targets::default());
    let engine = h.engine(&targets, fast_config());
    let mut registry = Registry::default();
    engine.register_metrics(&mut registry);
    h.append(&h.source, &["a", "b"]).await;
    eventually("the events are written and acknowledged", || async {
        targets.of(&pipeline).has(&["a", "b"]) && h.cursor(&pipeline).await == Some(h.seq("b"))
    })
    .await;
    let render = |registry: &Registry| {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
        text
    };
    let id = pipeline.id.as_str();
    let expected = [
        format!(
            r#"weir_pipeline_events_total{{pipeline="{id}",step="Receive",result="passed"}} 2"#
        ),
        format!(
            r#"weir_pipeline_events_total{{pipeline="{id}",step="Finalize",result="passed"}} 2"#
        ),
        format!(r#"weir_pipeline_lag_events{{pipeline="{id}"}} 0"#),
    ];
    eventually("the metrics show the written events", || async {
        let text = render(&registry);
        expected.iter().all(|line| text.contains(line))
    })
    .await;
    assert_eq!(engine.stats("unknown12345"), None);

    h.catalog
        .delete_pipeline(&h.workspace.id, &pipeline.id)
        .unwrap();
    engine.reload();
    eventually("the pipeline is forgotten", || async {
        engine.stats(id).is_none()
    })
    .await;
    assert!(!render(&registry).contains(id));
    engine.shutdown().await;
}
