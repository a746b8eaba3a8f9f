//! Listener lifecycle, scope, predicates, rejected and duplicate entries, the limit and idle
//! expiry.

use std::time::Duration;

use super::*;
use crate::{ListenerSpec, LiveError, StreamSpec};

fn spec(size: usize) -> ListenerSpec {
    ListenerSpec {
        size,
        ..ListenerSpec::default()
    }
}

#[test]
fn created_listener_reads_what_was_published_then_nothing() {
    let live = hub();
    let id = live.create(WORKSPACE, spec(10)).unwrap();
    assert_eq!(id.as_str().len(), 12);
    live.publish(
        WORKSPACE,
        vec![accepted(SOURCE_A, "m1", 0), accepted(SOURCE_A, "m2", 0)],
    );
    let read = live.read(WORKSPACE, id.as_str()).unwrap();
    assert_eq!(labels(&read), ["m1", "m2"]);
    assert_eq!(read.omitted, 0);
    assert_eq!(
        live.read(WORKSPACE, id.as_str()).unwrap(),
        ListenerRead::default()
    );
}

#[test]
fn accepted_entries_are_the_canonical_event_json() {
    let live = hub();
    let id = live.create(WORKSPACE, spec(10)).unwrap();
    let entry = accepted(SOURCE_A, "m1", 0);
    let crate::EntryKind::Accepted { json, .. } = &entry.kind else {
        unreachable!()
    };
    let expected = json.clone();
    live.publish(WORKSPACE, vec![entry]);
    assert_eq!(
        live.read(WORKSPACE, id.as_str()).unwrap().events,
        [expected]
    );
}

#[test]
fn read_body_is_events_and_omitted() {
    let read = ListenerRead {
        events: vec![r#"{"a":1}"#.into(), r#"{"b":2}"#.into()],
        omitted: 3,
    };
    assert_eq!(
        read.to_json(),
        r#"{"events":[{"a":1},{"b":2}],"omitted":3}"#
    );
    assert_eq!(
        ListenerRead::default().to_json(),
        r#"{"events":[],"omitted":0}"#
    );
}

#[test]
fn scope_of_one_connection() {
    let live = hub();
    let id = live
        .create(
            WORKSPACE,
            ListenerSpec {
                connections: Some(vec![SOURCE_A.into()]),
                ..spec(10)
            },
        )
        .unwrap();
    live.publish(
        WORKSPACE,
        vec![
            accepted(SOURCE_A, "a1", 0),
            accepted(SOURCE_B, "b1", 0),
            rejected(SOURCE_B, 0),
            accepted(SOURCE_A, "a2", 0),
        ],
    );
    assert_eq!(
        labels(&live.read(WORKSPACE, id.as_str()).unwrap()),
        ["a1", "a2"]
    );
}

#[test]
fn scope_of_a_destination_is_its_linked_sources() {
    let live = hub();
    let id = live
        .create(
            WORKSPACE,
            ListenerSpec {
                connections: Some(vec![SOURCE_A.into(), SOURCE_C.into()]),
                ..spec(10)
            },
        )
        .unwrap();
    live.publish(
        WORKSPACE,
        vec![
            accepted(SOURCE_A, "a1", 0),
            accepted(SOURCE_B, "b1", 0),
            accepted(SOURCE_C, "c1", 0),
        ],
    );
    assert_eq!(
        labels(&live.read(WORKSPACE, id.as_str()).unwrap()),
        ["a1", "c1"]
    );
}

#[test]
fn workspaces_are_isolated() {
    let live = hub();
    let id = live.create(WORKSPACE, spec(10)).unwrap();
    live.publish(OTHER_WORKSPACE, vec![accepted(SOURCE_A, "m1", 0)]);
    assert_eq!(live.read(WORKSPACE, id.as_str()).unwrap().events.len(), 0);
    assert!(matches!(
        live.read(OTHER_WORKSPACE, id.as_str()),
        Err(LiveError::NotFound { .. })
    ));
}

#[test]
fn predicate_selects_accepted_events() {
    let live = hub();
    let id = live
        .create(
            WORKSPACE,
            ListenerSpec {
                predicate: predicate(|event| event.event.as_deref() == Some("Signed Up")),
                ..spec(10)
            },
        )
        .unwrap();
    live.publish(
        WORKSPACE,
        vec![
            named(SOURCE_A, "m1", 0, "Clicked"),
            named(SOURCE_A, "m2", 0, "Signed Up"),
            named(SOURCE_B, "m3", 0, "Signed Up"),
        ],
    );
    let read = live.read(WORKSPACE, id.as_str()).unwrap();
    assert_eq!(labels(&read), ["m2", "m3"]);
    assert_eq!(read.omitted, 0, "filtered-out events are not omitted");
}

#[test]
fn rejected_and_duplicate_entries_only_reach_unfiltered_listeners_that_include_them() {
    let live = hub();
    let unfiltered = live.create(WORKSPACE, spec(10)).unwrap();
    let excluding = live
        .create(
            WORKSPACE,
            ListenerSpec {
                include_rejected: false,
                ..spec(10)
            },
        )
        .unwrap();
    let filtered = live
        .create(
            WORKSPACE,
            ListenerSpec {
                predicate: predicate(|_| true),
                ..spec(10)
            },
        )
        .unwrap();
    live.publish(
        WORKSPACE,
        vec![
            accepted(SOURCE_A, "m1", 0),
            rejected(SOURCE_A, 0),
            duplicate(SOURCE_A, "m1", 0),
        ],
    );
    assert_eq!(
        labels(&live.read(WORKSPACE, unfiltered.as_str()).unwrap()),
        ["m1", "rejected: property 'type' is required", "m1"]
    );
    assert_eq!(
        labels(&live.read(WORKSPACE, excluding.as_str()).unwrap()),
        ["m1"]
    );
    assert_eq!(
        labels(&live.read(WORKSPACE, filtered.as_str()).unwrap()),
        ["m1"]
    );
}

#[test]
fn rejected_entry_json() {
    let live = hub();
    let id = live.create(WORKSPACE, spec(10)).unwrap();
    live.publish(
        WORKSPACE,
        vec![
            Entry::rejected(SOURCE_A, timestamp(5), "bad \"x\"", "{\"a\":\n1}", false),
            Entry::rejected(SOURCE_A, timestamp(6), "e", "{\"a\":", true),
        ],
    );
    let read = live.read(WORKSPACE, id.as_str()).unwrap();
    assert_eq!(
        &*read.events[0],
        r#"{"connectionId":"srcAAAAAAAAA","receivedAt":"2023-11-14T22:13:20.005Z","error":"bad \"x\"","raw":"{\"a\":\n1}"}"#
    );
    assert_eq!(
        &*read.events[1],
        r#"{"connectionId":"srcAAAAAAAAA","receivedAt":"2023-11-14T22:13:20.006Z","error":"e","raw":"{\"a\":","rawTruncated":true}"#
    );
}

#[test]
fn over_long_raw_text_is_cut_and_marked() {
    let live = hub();
    let id = live.create(WORKSPACE, spec(10)).unwrap();
    let raw = "é".repeat(weir_spec::MAX_RAW_EVENT_BYTES);
    live.publish(
        WORKSPACE,
        vec![Entry::rejected(SOURCE_A, timestamp(0), "e", raw, false)],
    );
    let value = parse(&live.read(WORKSPACE, id.as_str()).unwrap().events[0]);
    assert_eq!(
        value["raw"].as_str().unwrap().len(),
        weir_spec::MAX_RAW_EVENT_BYTES
    );
    assert_eq!(value["rawTruncated"], true);
}

#[test]
fn duplicate_entry_json() {
    let live = hub();
    let id = live.create(WORKSPACE, spec(10)).unwrap();
    let event = decoded(SOURCE_A, "m1", 0, "Clicked");
    live.publish(
        WORKSPACE,
        vec![
            Entry::duplicate(&event, Some(event.to_canonical_json().into())),
            Entry::duplicate(&event, None),
        ],
    );
    let read = live.read(WORKSPACE, id.as_str()).unwrap();
    assert_eq!(
        &*read.events[0],
        format!(
            r#"{{"connectionId":"srcAAAAAAAAA","receivedAt":"2023-11-14T22:13:20Z","duplicate":true,"messageId":"m1","event":{}}}"#,
            event.to_canonical_json()
        )
    );
    assert_eq!(
        &*read.events[1],
        r#"{"connectionId":"srcAAAAAAAAA","receivedAt":"2023-11-14T22:13:20Z","duplicate":true,"messageId":"m1"}"#
    );
}

#[test]
fn unknown_listener_is_not_found_and_delete_is_idempotent() {
    let live = hub();
    let error = live.read(WORKSPACE, "2Hx9kLmNpQrZ").unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"event listener "2Hx9kLmNpQrZ" does not exist"#
    );
    assert_eq!(error.code(), "NotFound");
    live.delete(WORKSPACE, "2Hx9kLmNpQrZ");
    let id = live.create(WORKSPACE, spec(10)).unwrap();
    live.delete(WORKSPACE, id.as_str());
    live.delete(WORKSPACE, id.as_str());
    assert!(live.read(WORKSPACE, id.as_str()).is_err());
    assert_eq!(live.watcher_count(WORKSPACE), 0);
}

#[test]
fn size_must_be_1_to_1000() {
    let live = hub();
    for size in [0, 1001] {
        let error = live.create(WORKSPACE, spec(size)).unwrap_err();
        assert_eq!(error, LiveError::InvalidSize { size });
        assert_eq!(error.to_string(), format!("size {size} is not valid"));
    }
    assert!(live.create(WORKSPACE, spec(1)).is_ok());
    assert!(live.create(WORKSPACE, spec(1000)).is_ok());
}

#[test]
fn at_most_100_listeners_and_streams_per_workspace() {
    let live = hub();
    let ids: Vec<_> = (0..60)
        .map(|_| live.create(WORKSPACE, spec(1)).unwrap())
        .collect();
    let mut streams: Vec<_> = (0..40)
        .map(|_| live.subscribe(WORKSPACE, StreamSpec::default()).unwrap())
        .collect();
    let error = live.create(WORKSPACE, spec(1)).unwrap_err();
    assert_eq!(error, LiveError::TooManyListeners { limit: 100 });
    assert_eq!(error.to_string(), "there are already 100 listeners");
    assert_eq!(error.code(), "TooManyListeners");
    assert!(live.subscribe(WORKSPACE, StreamSpec::default()).is_err());
    assert!(live.create(OTHER_WORKSPACE, spec(1)).is_ok());

    live.delete(WORKSPACE, ids[0].as_str());
    let replacement = live.create(WORKSPACE, spec(1)).unwrap();
    assert!(live.create(WORKSPACE, spec(1)).is_err());
    streams.pop();
    assert_eq!(live.watcher_count(WORKSPACE), 99);
    assert!(live.subscribe(WORKSPACE, StreamSpec::default()).is_ok());
    assert!(live.read(WORKSPACE, replacement.as_str()).is_ok());
}

#[test]
fn sweep_deletes_listeners_idle_for_the_ttl() {
    let (live, clock) = hub_with_clock(LiveConfig::default());
    let idle = live.create(WORKSPACE, spec(10)).unwrap();
    let busy = live.create(WORKSPACE, spec(10)).unwrap();
    clock.advance(Duration::from_secs(9 * 60));
    live.read(WORKSPACE, busy.as_str()).unwrap();
    let start = clock.now();
    assert_eq!(live.sweep(start + Duration::from_secs(59)), 0);
    assert_eq!(live.sweep(start + Duration::from_secs(60)), 1);
    assert!(matches!(
        live.read(WORKSPACE, idle.as_str()),
        Err(LiveError::NotFound { .. })
    ));
    assert!(live.read(WORKSPACE, busy.as_str()).is_ok());
    assert_eq!(live.sweep(start + Duration::from_secs(10 * 60)), 1);
    assert_eq!(live.watcher_count(WORKSPACE), 0);
    assert!(!live.is_watched(WORKSPACE));
}

#[test]
fn idle_listener_is_deleted_when_read() {
    let (live, clock) = hub_with_clock(LiveConfig::default());
    let id = live.create(WORKSPACE, spec(10)).unwrap();
    clock.advance(Duration::from_secs(10 * 60));
    assert!(matches!(
        live.read(WORKSPACE, id.as_str()),
        Err(LiveError::NotFound { .. })
    ));
    assert_eq!(live.watcher_count(WORKSPACE), 0);
}

#[test]
fn idle_listeners_do_not_count_toward_the_limit() {
    let config = LiveConfig {
        max_listeners_per_workspace: 2,
        ..LiveConfig::default()
    };
    let (live, clock) = hub_with_clock(config);
    live.create(WORKSPACE, spec(1)).unwrap();
    live.create(WORKSPACE, spec(1)).unwrap();
    assert!(live.create(WORKSPACE, spec(1)).is_err());
    clock.advance(Duration::from_secs(10 * 60));
    assert!(live.create(WORKSPACE, spec(1)).is_ok());
    assert_eq!(live.watcher_count(WORKSPACE), 1);
}
