//! Replaying a pipeline (`Engine::replay`): a running pipeline re-reads the log from the oldest
//! record or from a time, a disabled one from when it is enabled; a replay never moves a cursor
//! forward past unprocessed events, and a task's own acks never undo it.

use std::sync::Arc;

use serde_json::json;
use weir_catalog::ReplayFrom;

use super::{Harness, Targets, eventually, fast_config, now_ms};
use crate::{EngineConfig, ReplayError};

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|id| (*id).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_pipeline_replays_from_earliest_and_from_a_time() {
    let h = Harness::new();
    let start = now_ms();
    h.append_with(&h.source, &["old-1"], start - 60_000, json!({}))
        .await;
    h.append_with(&h.source, &["old-2"], start - 30_000, json!({}))
        .await;
    h.append(&h.source, &["new-1", "new-2"]).await;
    let pipeline = h.pipeline(true, ReplayFrom::Earliest, None);
    let targets = Arc::new(Targets::default());
    let target = targets.of(&pipeline);
    let engine = h.engine(&targets, fast_config());
    let everything = ids(&["old-1", "old-2", "new-1", "new-2"]);
    eventually("the pipeline caught up", || async {
        target.delivered().len() == 4 && h.cursor(&pipeline).await == Some(h.seq("new-2"))
    })
    .await;

    let position = engine
        .replay(&pipeline, ReplayFrom::Earliest)
        .await
        .unwrap();
    assert_eq!(position, h.seq("old-1") - 1);
    eventually("everything is written again", || async {
        target.delivered().len() == 8 && engine.stats(pipeline.id.as_str()).unwrap().lag == 0
    })
    .await;
    assert_eq!(target.delivered()[4..], everything[..]);
    assert_eq!(h.cursor(&pipeline).await, Some(h.seq("new-2")));
    let stats = engine.stats(pipeline.id.as_str()).unwrap();
    assert_eq!((stats.read, stats.written), (8, 8));
    assert!(stats.running);

    // From a time: the first record received at or after it, here old-2.
    let since =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(start - 45_000) * 1_000_000)
            .unwrap();
    let position = engine
        .replay(&pipeline, ReplayFrom::Time(since))
        .await
        .unwrap();
    assert_eq!(position, h.seq("old-1"));
    eventually("the events since then are written again", || async {
        target.delivered().len() == 11 && h.cursor(&pipeline).await == Some(h.seq("new-2"))
    })
    .await;
    assert_eq!(target.delivered()[8..], everything[1..]);
    assert_eq!(target.rows().len(), 4, "an idempotent target keeps 4 rows");
    let stats = engine.stats(pipeline.id.as_str()).unwrap();
    assert_eq!((stats.read, stats.written), (11, 11));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_never_skips_unprocessed_events() {
    let h = Harness::new();
    let pipeline = h.pipeline(true, ReplayFrom::Earliest, None);
    let targets = Arc::new(Targets::default());
    let target = targets.of(&pipeline);
    target.state().retryable_failures = usize::MAX;
    h.append(&h.source, &["a", "b", "c"]).await;
    let engine = h.engine(&targets, fast_config());
    eventually("the pipeline retries its first batch", || async {
        target.state().writes >= 2
    })
    .await;

    // A time after every record would skip a, b and c: the cursor stays before them.
    let later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let position = engine
        .replay(&pipeline, ReplayFrom::Time(later))
        .await
        .unwrap();
    assert_eq!(position, 0);
    assert_eq!(h.cursor(&pipeline).await, Some(0));

    target.state().retryable_failures = 0;
    eventually("every event is written", || async {
        target.has(&["a", "b", "c"]) && h.cursor(&pipeline).await == Some(h.seq("c"))
    })
    .await;
    // Caught up, a replay from a time after everything changes nothing.
    let position = engine
        .replay(&pipeline, ReplayFrom::Time(later))
        .await
        .unwrap();
    assert_eq!(position, h.seq("c"));
    h.append(&h.source, &["d"]).await;
    eventually("the next event is written", || async { target.has(&["d"]) }).await;
    assert_eq!(target.delivered(), ["a", "b", "c", "d"]);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_pipeline_replays_once_enabled() {
    let h = Harness::new();
    let pipeline = h.pipeline(true, ReplayFrom::Now, None);
    let targets = Arc::new(Targets::default());
    let engine = h.engine(&targets, fast_config());
    h.append(&h.source, &["a", "b"]).await;
    eventually("the events are written and acknowledged", || async {
        targets.of(&pipeline).has(&["a", "b"]) && h.cursor(&pipeline).await == Some(h.seq("b"))
    })
    .await;
    // Created disabled after a and b: it never ran and has no cursor.
    let idle = h.pipeline(false, ReplayFrom::Now, None);
    h.set_enabled(&pipeline, false);
    engine.reload();
    eventually("the pipeline stopped", || async {
        engine
            .stats(pipeline.id.as_str())
            .is_some_and(|s| !s.running)
    })
    .await;

    let position = engine
        .replay(&pipeline, ReplayFrom::Earliest)
        .await
        .unwrap();
    assert_eq!(position, 0);
    assert_eq!(h.cursor(&pipeline).await, Some(0));
    assert_eq!(
        engine.stats(pipeline.id.as_str()).unwrap().lag,
        h.seq("b"),
        "the lag counts what the pipeline will read again"
    );
    assert_eq!(engine.replay(&idle, ReplayFrom::Earliest).await.unwrap(), 0);
    assert_eq!(h.cursor(&idle).await, Some(0));
    h.append(&h.source, &["c"]).await;
    assert_eq!(targets.of(&pipeline).delivered(), ["a", "b"]);
    assert!(targets.of(&idle).delivered().is_empty());

    h.set_enabled(&pipeline, true);
    h.set_enabled(&idle, true);
    engine.reload();
    eventually("both read the log from its start", || async {
        targets.of(&pipeline).delivered().len() == 5 && targets.of(&idle).delivered().len() == 3
    })
    .await;
    assert_eq!(targets.of(&pipeline).delivered(), ["a", "b", "a", "b", "c"]);
    assert_eq!(targets.of(&idle).delivered(), ["a", "b", "c"]);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_while_the_pipeline_is_busy_is_not_undone_by_its_acks() {
    let h = Harness::new();
    let pipeline = h.pipeline(true, ReplayFrom::Earliest, None);
    let targets = Arc::new(Targets::default());
    let target = targets.of(&pipeline);
    // One event per batch: the task acknowledges all the time.
    let config = EngineConfig {
        batch_max_events: 1,
        ..fast_config()
    };
    let engine = h.engine(&targets, config);
    let all: Vec<String> = (0..80).map(|i| format!("event-{i}")).collect();
    let append = async {
        for id in &all {
            h.append(&h.source, &[id.as_str()]).await;
        }
    };
    let replay = async {
        eventually("some events are written", || async {
            target.delivered().len() >= 20
        })
        .await;
        let before = target.delivered();
        let position = engine
            .replay(&pipeline, ReplayFrom::Earliest)
            .await
            .unwrap();
        (before, position)
    };
    let ((), (before, position)) = tokio::join!(append, replay);
    assert_eq!(position, 0);
    eventually("every event is written", || async {
        target.rows().len() == all.len() && h.cursor(&pipeline).await == Some(h.seq("event-79"))
    })
    .await;
    let delivered = target.delivered();
    for id in &before {
        let times = delivered.iter().filter(|d| *d == id).count();
        assert!(
            times >= 2,
            "{id}, written before the replay, was not read again"
        );
    }
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_engine_refuses_replays() {
    let h = Harness::new();
    let pipeline = h.pipeline(true, ReplayFrom::Earliest, None);
    h.append(&h.source, &["a"]).await;
    let targets = Arc::new(Targets::default());
    let engine = h.engine(&targets, fast_config());
    eventually("the event is acknowledged", || async {
        h.cursor(&pipeline).await == Some(h.seq("a"))
    })
    .await;
    engine.shutdown().await;
    assert_eq!(
        engine.replay(&pipeline, ReplayFrom::Earliest).await,
        Err(ReplayError::Stopped)
    );
    assert_eq!(h.cursor(&pipeline).await, Some(h.seq("a")));
}
