//! Where pipelines start, what they let through, and resuming after disable and restart.

use std::sync::Arc;

use serde_json::json;
use weir_catalog::{Catalog, PipelineUpdate, ReplayFrom};
use weir_log::{EventLog, LogConfig, SqliteLog};

use super::{Harness, Targets, eventually, fast_config, now_ms};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_pipelines_start_now_earliest_or_at_a_time() {
    let h = Harness::new();
    let start = now_ms();
    h.append_with(&h.source, &["old-1"], start - 60_000, json!({}))
        .await;
    h.append_with(&h.source, &["old-2"], start - 30_000, json!({}))
        .await;
    h.append_with(&h.source, &["old-3"], start - 10_000, json!({}))
        .await;
    let since = time::OffsetDateTime::now_utc() - time::Duration::seconds(20);
    let now = h.pipeline(true, ReplayFrom::Now, None);
    let earliest = h.pipeline(true, ReplayFrom::Earliest, None);
    let from_time = h.pipeline(true, ReplayFrom::Time(since), None);
    // Appended right after creation, before the engine even runs: "now" still includes them.
    h.append(&h.source, &["new-1", "new-2"]).await;

    let targets = Arc::new(Targets::default());
    let engine = h.engine(&targets, fast_config());
    eventually("every pipeline caught up", || async {
        targets.of(&now).rows().len() == 2
            && targets.of(&earliest).rows().len() == 5
            && targets.of(&from_time).rows().len() == 3
    })
    .await;
    assert_eq!(targets.of(&now).delivered(), ["new-1", "new-2"]);
    assert_eq!(
        targets.of(&earliest).delivered(),
        ["old-1", "old-2", "old-3", "new-1", "new-2"]
    );
    assert_eq!(
        targets.of(&from_time).delivered(),
        ["old-3", "new-1", "new-2"]
    );

    h.append(&h.source, &["new-3"]).await;
    eventually("the newest event reached all three", || async {
        [&now, &earliest, &from_time]
            .iter()
            .all(|p| targets.of(p).has(&["new-3"]))
    })
    .await;
    let stats = engine.stats(now.id.as_str()).unwrap();
    assert_eq!(
        (stats.read, stats.written, stats.filtered_out, stats.failed),
        (3, 3, 0, 0)
    );
    assert!(stats.running);
    eventually("the cursor is acknowledged", || async {
        h.cursor(&now).await == Some(h.seq("new-3"))
    })
    .await;
    eventually("the lag is back to zero", || async {
        engine.stats(now.id.as_str()).unwrap().lag == 0
    })
    .await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_and_consents_decide_what_is_written() {
    let h = Harness::new();
    let filter = json!({"logical": "and", "conditions": [
        {"property": "properties.plan", "operator": "is", "values": ["pro"]},
    ]});
    let pipeline = h.pipeline(true, ReplayFrom::Earliest, Some(filter));
    h.catalog
        .update_pipeline(
            &h.workspace.id,
            &pipeline.id,
            PipelineUpdate {
                name: pipeline.name.clone(),
                enabled: None,
                filter: pipeline.filter.clone(),
                transformation: None,
                required_consents: Some(json!({"operator": "and", "purposes": ["analytics"]})),
            },
        )
        .unwrap();
    let pro = json!({"properties": {"plan": "pro"}, "context": {"consents": {"analytics": true}}});
    let free =
        json!({"properties": {"plan": "free"}, "context": {"consents": {"analytics": true}}});
    let refused =
        json!({"properties": {"plan": "pro"}, "context": {"consents": {"analytics": false}}});
    h.append_with(&h.source, &["pro-1", "pro-2"], now_ms(), pro.clone())
        .await;
    h.append_with(&h.source, &["free-1"], now_ms(), free).await;
    h.append_with(&h.source, &["refused-1"], now_ms(), refused)
        .await;
    h.append_with(&h.other, &["elsewhere-1"], now_ms(), pro)
        .await;

    let targets = Arc::new(Targets::default());
    let engine = h.engine(&targets, fast_config());
    eventually("the pipeline read its connection's events", || async {
        engine
            .stats(pipeline.id.as_str())
            .is_some_and(|s| s.read == 4 && s.lag == 0)
    })
    .await;
    eventually("the batch was written", || async {
        targets.of(&pipeline).rows().len() == 2
    })
    .await;
    assert_eq!(targets.of(&pipeline).delivered(), ["pro-1", "pro-2"]);
    let stats = engine.stats(pipeline.id.as_str()).unwrap();
    assert_eq!((stats.read, stats.filtered_out, stats.written), (4, 2, 2));
    eventually(
        "other connections' records are acknowledged too",
        || async { h.cursor(&pipeline).await == Some(h.seq("elsewhere-1")) },
    )
    .await;

    // A changed filter applies to the running pipeline without a restart.
    let everything = json!({"logical": "or", "conditions": [
        {"property": "type", "operator": "is", "values": ["track"]},
    ]});
    h.catalog
        .update_pipeline(
            &h.workspace.id,
            &pipeline.id,
            PipelineUpdate {
                name: pipeline.name.clone(),
                enabled: None,
                filter: Some(everything),
                transformation: None,
                required_consents: None,
            },
        )
        .unwrap();
    engine.reload();
    let mut probes = 0;
    eventually("the new rules are in force", || {
        probes += 1;
        let probe = format!("probe-{probes}");
        let (h, targets, pipeline) = (&h, &targets, &pipeline);
        async move {
            h.append(&h.source, &[probe.as_str()]).await;
            targets
                .of(pipeline)
                .rows()
                .iter()
                .any(|id| id.starts_with("probe-"))
        }
    })
    .await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_pipeline_consumes_nothing_and_resumes_where_it_stopped() {
    let h = Harness::new();
    let pipeline = h.pipeline(true, ReplayFrom::Now, None);
    let idle = h.pipeline(false, ReplayFrom::Now, None);
    let targets = Arc::new(Targets::default());
    let engine = h.engine(&targets, fast_config());
    h.append(&h.source, &["a", "b"]).await;
    eventually("the first events are written and acknowledged", || async {
        targets.of(&pipeline).has(&["a", "b"]) && h.cursor(&pipeline).await == Some(h.seq("b"))
    })
    .await;

    h.set_enabled(&pipeline, false);
    engine.reload();
    eventually("the pipeline stopped", || async {
        engine
            .stats(pipeline.id.as_str())
            .is_some_and(|s| !s.running)
    })
    .await;
    h.append(&h.source, &["c", "d", "e"]).await;
    assert_eq!(h.cursor(&pipeline).await, Some(h.seq("b")));
    assert_eq!(targets.of(&pipeline).delivered(), ["a", "b"]);
    // A pipeline created disabled never started: no cursor, nothing written.
    let stats = engine.stats(idle.id.as_str()).unwrap();
    assert!(!stats.running);
    assert_eq!((stats.read, stats.written), (0, 0));
    assert_eq!(h.cursor(&idle).await, None);
    assert!(targets.of(&idle).delivered().is_empty());

    h.set_enabled(&pipeline, true);
    engine.reload();
    eventually("the events received while disabled are written", || async {
        targets.of(&pipeline).has(&["c", "d", "e"])
    })
    .await;
    assert_eq!(targets.of(&pipeline).delivered(), ["a", "b", "c", "d", "e"]);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_engine_resumes_from_the_durable_cursor() {
    let h = Harness::new();
    let pipeline = h.pipeline(true, ReplayFrom::Earliest, None);
    h.append(&h.source, &["a", "b", "c"]).await;
    let first = Arc::new(Targets::default());
    let engine = h.engine(&first, fast_config());
    eventually("the events are written and acknowledged", || async {
        first.of(&pipeline).rows().len() == 3 && h.cursor(&pipeline).await == Some(h.seq("c"))
    })
    .await;
    engine.shutdown().await;
    h.log.close().await.unwrap();

    // A new process: the log reopened, a new engine, a new target.
    let log =
        Arc::new(SqliteLog::open(&h.dir.path().join("log.sqlite"), LogConfig::default()).unwrap());
    h.append_to(&log, &["d", "e"]).await;
    let second = Arc::new(Targets::default());
    let engine = crate::Engine::start(
        log.clone(),
        h.catalog.clone(),
        second.clone(),
        fast_config(),
    )
    .unwrap();
    eventually("the new events are written", || async {
        second.of(&pipeline).rows().len() == 2
    })
    .await;
    assert_eq!(second.of(&pipeline).delivered(), ["d", "e"]);
    assert_eq!(first.of(&pipeline).delivered(), ["a", "b", "c"]);
    engine.shutdown().await;
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_batch_is_written_again_and_nothing_is_lost() {
    let h = Harness::new();
    let pipeline = h.pipeline(true, ReplayFrom::Earliest, None);
    let targets = Arc::new(Targets::default());
    targets.of(&pipeline).state().stuck = true;
    h.append(&h.source, &["a", "b"]).await;
    let engine = h.engine(&targets, fast_config());
    eventually("the write is in flight", || async {
        targets.of(&pipeline).state().writes == 1
    })
    .await;
    // Stopped mid-write: the batch was never acknowledged.
    engine.shutdown().await;
    assert_eq!(h.cursor(&pipeline).await, Some(0));

    let again = Arc::new(Targets::default());
    h.append(&h.source, &["c"]).await;
    let engine = h.engine(&again, fast_config());
    eventually("every event is written", || async {
        again.of(&pipeline).has(&["a", "b", "c"])
    })
    .await;
    engine.shutdown().await;
}
