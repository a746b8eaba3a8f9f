//! Publishing into workspaces nobody watches, and the hub's bookkeeping of watched workspaces.

use std::time::Duration;

use super::*;
use crate::{ListenerSpec, StreamSpec};

#[test]
fn publishing_with_no_listeners_is_a_no_op() {
    let live = hub();
    assert!(!live.is_watched(WORKSPACE));
    live.publish(WORKSPACE, vec![accepted(SOURCE_A, "m1", 0)]);
    live.publish(WORKSPACE, Vec::new());
    let mut stream = live
        .subscribe(
            WORKSPACE,
            StreamSpec {
                last_event_id: Some(0),
                ..StreamSpec::default()
            },
        )
        .unwrap();
    assert_eq!(
        drain(&mut stream),
        Vec::<String>::new(),
        "nothing was recorded"
    );
    live.publish(WORKSPACE, vec![accepted(SOURCE_A, "m2", 0)]);
    assert_eq!(drain(&mut stream), ["1 event m2"], "no id was consumed");
}

#[test]
fn a_listener_in_another_workspace_does_not_watch_this_one() {
    let live = hub();
    live.create(OTHER_WORKSPACE, ListenerSpec::default())
        .unwrap();
    assert!(live.is_watched(OTHER_WORKSPACE));
    assert!(!live.is_watched(WORKSPACE));
}

#[test]
fn listeners_created_after_a_publish_do_not_see_it() {
    let live = hub();
    let early = live.create(WORKSPACE, ListenerSpec::default()).unwrap();
    live.publish(WORKSPACE, vec![accepted(SOURCE_A, "m1", 0)]);
    let late = live.create(WORKSPACE, ListenerSpec::default()).unwrap();
    assert_eq!(
        live.read(WORKSPACE, early.as_str()).unwrap().events.len(),
        1
    );
    assert_eq!(live.read(WORKSPACE, late.as_str()).unwrap().events.len(), 0);
}

#[test]
fn sweep_forgets_workspaces_nobody_watches() {
    let (live, clock) = hub_with_clock(LiveConfig::default());
    let id = live.create(WORKSPACE, ListenerSpec::default()).unwrap();
    live.delete(WORKSPACE, id.as_str());
    drop(
        live.subscribe(OTHER_WORKSPACE, StreamSpec::default())
            .unwrap(),
    );
    live.sweep(clock.now());
    assert!(!live.is_watched(WORKSPACE));
    assert!(
        live.is_watched(OTHER_WORKSPACE),
        "still in its replay grace period"
    );
    live.sweep(clock.now() + Duration::from_secs(3600));
    assert!(!live.is_watched(OTHER_WORKSPACE));
    assert!(format!("{live:?}").contains("workspaces: 0"), "{live:?}");
}

#[tokio::test]
async fn the_spawned_sweeper_expires_idle_listeners_and_stops_with_the_hub() {
    let (live, clock) = hub_with_clock(LiveConfig::default());
    live.create(WORKSPACE, ListenerSpec::default()).unwrap();
    let sweeper = live.spawn_sweeper(&tokio::runtime::Handle::current(), Duration::from_millis(1));
    clock.advance(LiveConfig::default().idle_ttl);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while live.watcher_count(WORKSPACE) > 0 {
        assert!(tokio::time::Instant::now() < deadline, "listener not swept");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    drop(live);
    tokio::time::timeout(Duration::from_secs(5), sweeper)
        .await
        .unwrap()
        .unwrap();
}
