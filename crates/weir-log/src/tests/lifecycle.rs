//! Restart recovery, durable cursors, retention, and closing.

use std::time::Duration;

use super::{data_dir, event, event_on, eventually, now_ms, open, open_with, seqs};
use crate::{EventLog, LogConfig, LogError};

const DAY_MS: i64 = 24 * 60 * 60 * 1_000;

#[tokio::test]
async fn reopening_recovers_the_head_and_the_records() {
    let dir = data_dir();
    let log = open(&dir);
    log.append(vec![event("a"), event("b")]).await.unwrap();
    log.close().await.unwrap();

    let log = open(&dir);
    assert_eq!(log.head(), 2);
    assert_eq!(
        seqs(&log.append(vec![event("c")]).await.unwrap()),
        [Some(3)]
    );
    let ids: Vec<_> = log
        .read(0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|record| record.message_id)
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
    log.close().await.unwrap();
}

#[tokio::test]
async fn cursors_are_durable_and_only_move_forward() {
    let dir = data_dir();
    let log = open(&dir);
    assert_eq!(log.cursor("pipeline-a").await.unwrap(), None);
    log.ack("pipeline-a", 5).await.unwrap();
    log.ack("pipeline-b", 2).await.unwrap();
    log.ack("pipeline-a", 3).await.unwrap();
    assert_eq!(log.cursor("pipeline-a").await.unwrap(), Some(5));
    log.close().await.unwrap();

    let log = open(&dir);
    assert_eq!(log.cursor("pipeline-a").await.unwrap(), Some(5));
    assert_eq!(log.cursor("pipeline-b").await.unwrap(), Some(2));
    log.close().await.unwrap();
}

#[tokio::test]
async fn retention_prunes_the_oldest_records_and_keeps_the_head() {
    let dir = data_dir();
    // Retention keeps the rows whose dedup keys are only in memory; a short flush interval
    // writes them to the on-disk index soon.
    let config = LogConfig {
        maintenance_interval: Duration::from_millis(10),
        dedup_flush_interval: Duration::from_millis(10),
        ..LogConfig::default()
    };
    let log = open_with(&dir, config.clone());
    let now = now_ms();
    log.append(vec![event_on("cnAAAAAAAAAA", "old-1", now - 9 * DAY_MS)])
        .await
        .unwrap();
    log.append(vec![event_on("cnAAAAAAAAAA", "old-2", now - 8 * DAY_MS)])
        .await
        .unwrap();
    log.append(vec![event("new")]).await.unwrap();
    eventually(|| async { log.read(0, 10).await.unwrap().len() == 1 }).await;
    let records = log.read(0, 10).await.unwrap();
    assert_eq!(
        (records[0].seq, records[0].message_id.as_str()),
        (3, "new"),
        "a reader skips the gap"
    );
    log.close().await.unwrap();

    // Even an emptied log keeps its head across a restart.
    let log = open_with(
        &dir,
        LogConfig {
            retention: Duration::from_millis(1),
            dedup_window: Duration::ZERO,
            ..config
        },
    );
    eventually(|| async { log.read(0, 10).await.unwrap().is_empty() }).await;
    log.close().await.unwrap();
    let log = open(&dir);
    assert_eq!(log.head(), 3);
    assert_eq!(
        seqs(&log.append(vec![event("next")]).await.unwrap()),
        [Some(4)]
    );
    log.close().await.unwrap();
}

#[tokio::test]
async fn a_closed_log_refuses_work() {
    let dir = data_dir();
    let log = open(&dir);
    log.append(vec![event("a")]).await.unwrap();
    assert!(log.is_ready());
    log.close().await.unwrap();
    log.close().await.unwrap();
    assert!(!log.is_ready());
    assert_eq!(log.append(vec![event("b")]).await, Err(LogError::Closed));
    assert_eq!(log.read(0, 10).await, Err(LogError::Closed));
    assert_eq!(log.ack("p", 1).await, Err(LogError::Closed));
    assert_eq!(log.head(), 1);
}
