//! Failing, rejecting and stuck targets, and retention overtaking a cursor.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use weir_catalog::ReplayFrom;
use weir_log::{EventLog, LogConfig};

use super::{Harness, Targets, eventually, fast_config, now_ms};
use crate::EngineConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_writes_deliver_every_event_once_and_the_cursor_never_runs_ahead() {
    let h = Harness::new();
    let pipeline = h.pipeline(true, ReplayFrom::Earliest, None);
    let targets = Arc::new(Targets::default());
    let target = targets.of(&pipeline);
    target.state().retryable_failures = 5;
    let config = EngineConfig {
        batch_max_events: 3,
        ..fast_config()
    };
    let engine = h.engine(&targets, config);
    let ids: Vec<String> = (0..12).map(|i| format!("event-{i}")).collect();
    for group in ids.chunks(4) {
        let group: Vec<&str> = group.iter().map(String::as_str).collect();
        h.append(&h.source, &group).await;
    }
    eventually("every event is delivered", || async {
        // The cursor is read first: whatever it covers must already be in the target.
        let cursor = h.cursor(&pipeline).await.unwrap_or(0);
        let rows = target.rows();
        for id in &ids {
            assert!(
                h.seq(id) > cursor || rows.contains(id),
                "cursor {cursor} passed undelivered {id}"
            );
        }
        rows.len() == ids.len()
    })
    .await;
    assert_eq!(
        target.delivered().len(),
        ids.len(),
        "no event was written twice"
    );
    assert!(target.state().writes >= 4 + 5);
    let stats = engine.stats(pipeline.id.as_str()).unwrap();
    assert_eq!((stats.written, stats.failed), (12, 0));
    assert_eq!(
        stats.last_error.as_deref(),
        Some("warehouse is unreachable")
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_grows_the_lag_until_the_target_is_back() {
    let h = Harness::new();
    let pipeline = h.pipeline(true, ReplayFrom::Earliest, None);
    let targets = Arc::new(Targets::default());
    let target = targets.of(&pipeline);
    target.state().retryable_failures = usize::MAX;
    let engine = h.engine(&targets, fast_config());
    h.append(&h.source, &["a", "b", "c", "d", "e"]).await;
    eventually("the pipeline retries with its lag visible", || async {
        let lag = engine.stats(pipeline.id.as_str()).map(|stats| stats.lag);
        lag == Some(5) && target.state().writes >= 3
    })
    .await;
    assert_eq!(h.cursor(&pipeline).await, Some(0));
    // Ingestion is unaffected.
    h.append(&h.source, &["f"]).await;

    target.state().retryable_failures = 0;
    eventually("everything lands once the target is back", || async {
        target.has(&["a", "b", "c", "d", "e", "f"])
            && engine.stats(pipeline.id.as_str()).unwrap().lag == 0
    })
    .await;
    assert_eq!(target.rows().len(), 6);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_batch_is_counted_as_failed_and_skipped() {
    let h = Harness::new();
    let pipeline = h.pipeline(true, ReplayFrom::Earliest, None);
    let targets = Arc::new(Targets::default());
    let target = targets.of(&pipeline);
    target.state().permanent_failures = 1;
    h.append(&h.source, &["bad-1", "bad-2"]).await;
    let engine = h.engine(&targets, fast_config());
    eventually("the batch is given up", || async {
        engine
            .stats(pipeline.id.as_str())
            .is_some_and(|s| s.failed == 2)
    })
    .await;
    h.append(&h.source, &["good"]).await;
    eventually("later events are written", || async {
        target.has(&["good"])
    })
    .await;
    assert_eq!(target.delivered(), ["good"]);
    let stats = engine.stats(pipeline.id.as_str()).unwrap();
    assert_eq!((stats.written, stats.failed), (1, 2));
    assert_eq!(
        stats.last_error.as_deref(),
        Some("warehouse rejected the rows")
    );
    eventually("the cursor moved past everything", || async {
        h.cursor(&pipeline).await == Some(h.seq("good"))
    })
    .await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_target_does_not_stop_other_pipelines() {
    let h = Harness::new();
    let stuck = h.pipeline(true, ReplayFrom::Earliest, None);
    let healthy = h.pipeline_on(
        &h.other,
        weir_catalog::PipelineTarget::Event,
        true,
        ReplayFrom::Earliest,
        None,
    );
    let targets = Arc::new(Targets::default());
    targets.of(&stuck).state().stuck = true;
    let engine = h.engine(&targets, fast_config());
    h.append(&h.source, &["s-1", "s-2"]).await;
    h.append(&h.other, &["o-1", "o-2"]).await;
    h.append(&h.source, &["s-3"]).await;
    h.append(&h.other, &["o-3"]).await;
    eventually("the healthy pipeline delivered everything", || async {
        targets.of(&healthy).has(&["o-1", "o-2", "o-3"])
            && h.cursor(&healthy).await == Some(h.seq("o-3"))
            && targets.of(&stuck).state().writes == 1
    })
    .await;
    // Ingestion goes on; the stuck pipeline only falls further behind.
    h.append(&h.other, &["o-4"]).await;
    eventually("the healthy pipeline keeps up", || async {
        targets.of(&healthy).has(&["o-4"])
    })
    .await;
    assert_eq!(targets.of(&stuck).state().writes, 1);
    assert_eq!(h.cursor(&stuck).await, Some(0));
    let stats = engine.stats(stuck.id.as_str()).unwrap();
    assert_eq!(stats.lag, 7);
    assert!(stats.running);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_hangs_times_out_and_is_retried() {
    let h = Harness::new();
    let pipeline = h.pipeline(true, ReplayFrom::Earliest, None);
    let targets = Arc::new(Targets::default());
    let target = targets.of(&pipeline);
    target.state().stuck = true;
    let config = EngineConfig {
        write_timeout: Duration::from_millis(30),
        ..fast_config()
    };
    let engine = h.engine(&targets, config);
    h.append(&h.source, &["a"]).await;
    eventually("the hanging write is abandoned and retried", || async {
        target.state().writes >= 2
    })
    .await;
    let error = engine
        .stats(pipeline.id.as_str())
        .unwrap()
        .last_error
        .unwrap();
    assert!(error.starts_with("target write timed out after"), "{error}");
    target.state().stuck = false;
    eventually("the retry succeeds", || async { target.has(&["a"]) }).await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_overtaking_the_cursor_is_reported_and_skipped() {
    // Retention keeps rows whose dedup keys are only in memory: flush them soon.
    let h = Harness::with_log_config(LogConfig {
        maintenance_interval: Duration::from_millis(10),
        dedup_flush_interval: Duration::from_millis(10),
        ..LogConfig::default()
    });
    let pipeline = h.pipeline(true, ReplayFrom::Earliest, None);
    // The pipeline ran once long ago and acknowledged nothing since.
    h.log
        .ack(&format!("pipeline:{}", pipeline.id), 0)
        .await
        .unwrap();
    let eight_days_ago = now_ms() - 8 * 24 * 60 * 60 * 1000;
    h.append_with(
        &h.source,
        &["old-1", "old-2", "old-3"],
        eight_days_ago,
        json!({}),
    )
    .await;
    eventually("retention deleted the old events", || async {
        h.log.read(0, 10).await.unwrap().is_empty()
    })
    .await;
    h.append(&h.source, &["new-1", "new-2"]).await;
    let targets = Arc::new(Targets::default());
    let engine = h.engine(&targets, fast_config());
    eventually("the remaining events are written", || async {
        targets.of(&pipeline).has(&["new-1", "new-2"])
    })
    .await;
    let stats = engine.stats(pipeline.id.as_str()).unwrap();
    assert_eq!(
        stats.last_error.as_deref(),
        Some("log retention exceeded; 3 events skipped")
    );
    assert_eq!(stats.written, 2);
    engine.shutdown().await;
}
