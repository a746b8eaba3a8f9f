//! SSE subscriptions: order and ids, scope and filters, backlog overflow, `Last-Event-ID`
//! replay, unregistering and closing.

use std::time::{Duration, Instant};

use super::*;
use crate::{EntryType, StreamSpec, Subscription};

fn all() -> StreamSpec {
    StreamSpec::default()
}

fn subscribe(live: &LiveEvents, spec: StreamSpec) -> Subscription {
    live.subscribe(WORKSPACE, spec).unwrap()
}

#[test]
fn entries_arrive_in_order_with_increasing_ids_and_types() {
    let live = hub();
    let mut stream = subscribe(&live, all());
    live.publish(
        WORKSPACE,
        vec![accepted(SOURCE_A, "m1", 0), rejected(SOURCE_A, 0)],
    );
    live.publish(WORKSPACE, vec![duplicate(SOURCE_A, "m1", 0)]);
    assert_eq!(
        drain(&mut stream),
        [
            "1 event m1",
            "2 rejected rejected: property 'type' is required",
            "3 duplicate m1"
        ]
    );
    assert_eq!(stream.try_next(), None);
}

#[test]
fn ids_are_per_workspace_and_shared_by_its_streams() {
    let live = hub();
    let mut everything = subscribe(&live, all());
    let mut only_b = subscribe(
        &live,
        StreamSpec {
            connections: Some(vec![SOURCE_B.into()]),
            ..all()
        },
    );
    let mut other = live.subscribe(OTHER_WORKSPACE, all()).unwrap();
    live.publish(
        WORKSPACE,
        vec![accepted(SOURCE_A, "a1", 0), accepted(SOURCE_B, "b1", 0)],
    );
    live.publish(OTHER_WORKSPACE, vec![accepted(SOURCE_A, "x1", 0)]);
    assert_eq!(drain(&mut everything), ["1 event a1", "2 event b1"]);
    assert_eq!(drain(&mut only_b), ["2 event b1"]);
    assert_eq!(drain(&mut other), ["1 event x1"]);
}

#[test]
fn predicate_and_include_rejected_apply_to_streams() {
    let live = hub();
    let mut filtered = subscribe(
        &live,
        StreamSpec {
            predicate: predicate(|event| event.event.as_deref() == Some("Paid")),
            ..all()
        },
    );
    let mut no_rejected = subscribe(
        &live,
        StreamSpec {
            include_rejected: false,
            ..all()
        },
    );
    live.publish(
        WORKSPACE,
        vec![
            named(SOURCE_A, "m1", 0, "Clicked"),
            named(SOURCE_A, "m2", 0, "Paid"),
            rejected(SOURCE_A, 0),
            duplicate(SOURCE_A, "m2", 0),
        ],
    );
    assert_eq!(drain(&mut filtered), ["2 event m2"]);
    assert_eq!(drain(&mut no_rejected), ["1 event m1", "2 event m2"]);
}

#[test]
fn falling_behind_the_backlog_drops_the_oldest_and_reports_them() {
    let (live, _clock) = hub_with_clock(LiveConfig {
        sse_backlog: 3,
        ..LiveConfig::default()
    });
    let mut stream = subscribe(&live, all());
    live.publish(
        WORKSPACE,
        (1..=10)
            .map(|i| accepted(SOURCE_A, &format!("m{i}"), 0))
            .collect(),
    );
    assert_eq!(
        drain(&mut stream),
        ["omitted 7", "8 event m8", "9 event m9", "10 event m10"]
    );
    live.publish(WORKSPACE, vec![accepted(SOURCE_A, "m11", 0)]);
    assert_eq!(drain(&mut stream), ["11 event m11"]);
}

#[test]
fn a_never_read_subscriber_never_blocks_publishing() {
    let live = hub();
    let mut stream = subscribe(&live, all());
    let entry = accepted(SOURCE_A, "m", 0);
    let started = Instant::now();
    for _ in 0..1000 {
        live.publish(WORKSPACE, vec![entry.clone(); 1000]);
    }
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
    assert_eq!(
        stream.try_next(),
        Some(StreamItem::Omitted {
            count: 1_000_000 - 1000
        })
    );
    let ids: Vec<u64> = std::iter::from_fn(|| stream.try_next())
        .map(|item| match item {
            StreamItem::Entry { id, .. } => id,
            StreamItem::Omitted { .. } => panic!("second omitted item"),
        })
        .collect();
    assert_eq!(ids, (999_001..=1_000_000).collect::<Vec<_>>());
}

#[test]
fn reconnect_with_last_event_id_replays_what_was_missed() {
    let (live, clock) = hub_with_clock(LiveConfig::default());
    let mut first = subscribe(&live, all());
    live.publish(
        WORKSPACE,
        (1..=3)
            .map(|i| accepted(SOURCE_A, &format!("m{i}"), 0))
            .collect(),
    );
    assert_eq!(drain(&mut first).len(), 3);
    live.publish(WORKSPACE, vec![accepted(SOURCE_A, "m4", 0)]);
    drop(first);
    clock.advance(Duration::from_secs(30));
    assert!(
        live.is_watched(WORKSPACE),
        "the ring records during the grace period"
    );
    live.publish(WORKSPACE, vec![accepted(SOURCE_A, "m5", 0)]);
    let mut second = subscribe(
        &live,
        StreamSpec {
            last_event_id: Some(3),
            ..all()
        },
    );
    live.publish(WORKSPACE, vec![accepted(SOURCE_A, "m6", 0)]);
    assert_eq!(
        drain(&mut second),
        ["4 event m4", "5 event m5", "6 event m6"]
    );
}

#[test]
fn replay_applies_the_new_streams_rules() {
    let live = hub();
    let recorder = subscribe(&live, all());
    live.publish(
        WORKSPACE,
        vec![
            accepted(SOURCE_A, "a1", 0),
            accepted(SOURCE_B, "b1", 0),
            rejected(SOURCE_B, 0),
        ],
    );
    let mut only_b = subscribe(
        &live,
        StreamSpec {
            connections: Some(vec![SOURCE_B.into()]),
            include_rejected: false,
            last_event_id: Some(0),
            ..all()
        },
    );
    assert_eq!(drain(&mut only_b), ["2 event b1"]);
    drop(recorder);
}

#[test]
fn replay_is_limited_to_the_ring() {
    let (live, _clock) = hub_with_clock(LiveConfig {
        replay_capacity: 2,
        ..LiveConfig::default()
    });
    let recorder = subscribe(&live, all());
    live.publish(
        WORKSPACE,
        (1..=5)
            .map(|i| accepted(SOURCE_A, &format!("m{i}"), 0))
            .collect(),
    );
    let mut late = subscribe(
        &live,
        StreamSpec {
            last_event_id: Some(1),
            ..all()
        },
    );
    assert_eq!(drain(&mut late), ["4 event m4", "5 event m5"]);
    drop(recorder);
}

#[test]
fn no_replay_after_the_grace_period() {
    let (live, clock) = hub_with_clock(LiveConfig::default());
    drop(subscribe(&live, all()));
    live.publish(WORKSPACE, vec![accepted(SOURCE_A, "m1", 0)]);
    clock.advance(LiveConfig::default().replay_grace);
    assert!(!live.is_watched(WORKSPACE));
    live.publish(WORKSPACE, vec![accepted(SOURCE_A, "m2", 0)]);
    live.sweep(clock.now());
    let mut late = subscribe(
        &live,
        StreamSpec {
            last_event_id: Some(0),
            ..all()
        },
    );
    assert_eq!(drain(&mut late), Vec::<String>::new());
    live.publish(WORKSPACE, vec![accepted(SOURCE_A, "m3", 0)]);
    assert_eq!(
        drain(&mut late),
        ["1 event m3"],
        "the forgotten workspace starts over"
    );
}

#[test]
fn a_panicking_predicate_drops_the_event_instead_of_unwinding_into_ingest() {
    let live = hub();
    let mut stream = subscribe(
        &live,
        StreamSpec {
            predicate: predicate(|event| {
                assert_ne!(event.message_id, "boom", "predicate bug");
                true
            }),
            ..all()
        },
    );
    live.publish(
        WORKSPACE,
        vec![accepted(SOURCE_A, "boom", 0), accepted(SOURCE_A, "m2", 0)],
    );
    assert_eq!(drain(&mut stream), ["2 event m2"]);
}

#[test]
fn dropping_a_subscription_unregisters_it() {
    let live = hub();
    let stream = subscribe(&live, all());
    assert_eq!(live.watcher_count(WORKSPACE), 1);
    drop(stream);
    assert_eq!(live.watcher_count(WORKSPACE), 0);
}

#[test]
fn entry_kinds_name_the_sse_event_types() {
    assert_eq!(EntryType::Event.as_str(), "event");
    assert_eq!(EntryType::Rejected.to_string(), "rejected");
    assert_eq!(EntryType::Duplicate.as_str(), "duplicate");
}

#[tokio::test]
async fn next_waits_for_a_publish_from_another_task() {
    let live = hub();
    let mut stream = subscribe(&live, all());
    let publisher = live.clone();
    let task = tokio::spawn(async move {
        tokio::task::yield_now().await;
        publisher.publish(WORKSPACE, vec![accepted(SOURCE_A, "m1", 0)]);
    });
    let item = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap();
    assert!(
        matches!(item, Some(StreamItem::Entry { id: 1, .. })),
        "{item:?}"
    );
    task.await.unwrap();
}

#[tokio::test]
async fn closed_streams_end_after_their_pending_items() {
    let live = hub();
    let mut stream = subscribe(&live, all());
    live.publish(WORKSPACE, vec![accepted(SOURCE_A, "m1", 0)]);
    live.close_streams();
    live.publish(WORKSPACE, vec![accepted(SOURCE_A, "m2", 0)]);
    assert!(matches!(
        stream.next().await,
        Some(StreamItem::Entry { id: 1, .. })
    ));
    assert_eq!(stream.next().await, None);
}
