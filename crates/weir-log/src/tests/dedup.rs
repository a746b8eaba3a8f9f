//! Dedup (storage spec §2.3): per connection, within the window on `received_at`, decided in
//! the append transaction, surviving restarts.

use std::sync::Arc;
use std::time::Duration;

use super::{CONNECTION, data_dir, event, event_on, eventually, now_ms, open, open_with, seqs};
use crate::{AppendStatus, EventLog, LogConfig, LogError, SqliteLog};

use AppendStatus::Duplicate;

#[tokio::test]
async fn a_repeated_id_within_one_call_is_a_duplicate_of_the_first() {
    let dir = data_dir();
    let log = open(&dir);
    let statuses = log
        .append(vec![event("a"), event("b"), event("a")])
        .await
        .unwrap();
    assert_eq!(seqs(&statuses), [Some(1), Some(2), None]);
    assert_eq!(log.stats().duplicates(), 1);
    log.close().await.unwrap();
}

#[tokio::test]
async fn a_repeated_id_across_calls_and_restarts_is_a_duplicate() {
    let dir = data_dir();
    let log = open(&dir);
    log.append(vec![event("a")]).await.unwrap();
    assert_eq!(
        log.append(vec![event("a"), event("b")]).await.unwrap()[0],
        Duplicate
    );
    log.close().await.unwrap();

    let log = open(&dir);
    assert_eq!(log.head(), 2);
    let statuses = log
        .append(vec![event("b"), event("a"), event("c")])
        .await
        .unwrap();
    assert_eq!(seqs(&statuses), [None, None, Some(3)]);
    log.close().await.unwrap();
}

#[tokio::test]
async fn the_same_id_on_another_connection_is_not_a_duplicate() {
    let dir = data_dir();
    let log = open(&dir);
    let now = now_ms();
    let statuses = log
        .append(vec![
            event_on(CONNECTION, "a", now),
            event_on("cnBBBBBBBBBB", "a", now),
        ])
        .await
        .unwrap();
    assert_eq!(seqs(&statuses), [Some(1), Some(2)]);
    log.close().await.unwrap();
}

#[tokio::test]
async fn an_id_is_accepted_again_once_its_window_has_passed() {
    let dir = data_dir();
    let config = LogConfig {
        dedup_window: Duration::from_secs(1),
        ..LogConfig::default()
    };
    let log = open_with(&dir, config);
    let t = now_ms();
    let append = |received_at| log.append(vec![event_on(CONNECTION, "a", received_at)]);
    assert_eq!(
        append(t).await.unwrap(),
        [AppendStatus::Appended { seq: 1 }]
    );
    assert_eq!(append(t + 999).await.unwrap(), [Duplicate]);
    assert_eq!(
        append(t + 1_000).await.unwrap(),
        [AppendStatus::Appended { seq: 2 }]
    );
    assert_eq!(
        append(t + 1_500).await.unwrap(),
        [Duplicate],
        "the window restarts at the accepted event"
    );
    log.close().await.unwrap();
}

#[tokio::test]
async fn expired_entries_are_purged_from_the_index() {
    let dir = data_dir();
    let config = LogConfig {
        dedup_window: Duration::from_secs(1),
        maintenance_interval: Duration::from_millis(10),
        ..LogConfig::default()
    };
    let log = open_with(&dir, config);
    let long_ago = now_ms() - 60_000;
    log.append(vec![event_on(CONNECTION, "a", long_ago)])
        .await
        .unwrap();
    // Within the window of the stored entry, so a duplicate until maintenance purges the
    // entry (its window ended long before the wall clock's now).
    let again = || log.append(vec![event_on(CONNECTION, "a", long_ago + 10)]);
    eventually(|| async { again().await.unwrap() != [Duplicate] }).await;
    log.close().await.unwrap();
}

#[tokio::test]
async fn events_without_dedup_are_never_checked_nor_recorded() {
    let dir = data_dir();
    let log = open(&dir);
    let mut generated = event("weir-1");
    generated.dedup = false;
    let statuses = log
        .append(vec![generated.clone(), generated.clone()])
        .await
        .unwrap();
    assert_eq!(seqs(&statuses), [Some(1), Some(2)]);
    let checked = event("weir-1");
    assert_eq!(
        seqs(&log.append(vec![checked.clone(), generated]).await.unwrap()),
        [Some(3), Some(4)]
    );
    assert_eq!(log.append(vec![checked]).await.unwrap(), [Duplicate]);
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_one_of_concurrent_appends_of_one_key_wins() {
    let dir = data_dir();
    let log = Arc::new(open(&dir));
    let attempts: Vec<_> = (0..32)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move {
                log.append(vec![event(&format!("other-{i}")), event("same")])
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut winners = 0;
    for attempt in attempts {
        let statuses = attempt.await.unwrap();
        assert!(statuses[0].seq().is_some());
        winners += usize::from(statuses[1].seq().is_some());
    }
    assert_eq!(winners, 1);
    let stored = log.read(0, 1_000).await.unwrap();
    assert_eq!(
        stored
            .iter()
            .filter(|record| record.message_id == "same")
            .count(),
        1
    );
    log.close().await.unwrap();
}

#[test]
fn a_window_longer_than_the_retention_is_a_configuration_error() {
    let dir = data_dir();
    let config = LogConfig {
        retention: Duration::from_secs(3_600),
        dedup_window: Duration::from_secs(3_601),
        ..LogConfig::default()
    };
    let opened = SqliteLog::open(&dir.path, config);
    assert!(matches!(opened, Err(LogError::Config(_))), "{opened:?}");
    assert!(
        !dir.path.exists(),
        "nothing is created for an invalid configuration"
    );
}
