//! A failing commit (SQLITE_FULL via `max_page_count`): every waiter of the group gets
//! `Unavailable`, nothing of it is stored (dedup entries included), and the writer recovers.

use std::time::Duration;

use bytes::Bytes;

use super::{data_dir, event, eventually, open_with, seqs};
use crate::{AppendEvent, EventLog, LogConfig, LogError};

/// An event with a 256 KiB payload that does not compress (row bodies are stored LZ4
/// compressed), so that storing it needs new pages.
fn big(message_id: &str) -> AppendEvent {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let noise = (0..256 * 1024)
        .map(|_| {
            // xorshift64
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect::<Vec<u8>>();
    let mut event = event(message_id);
    event.payload = Bytes::from(noise);
    event
}

#[tokio::test]
async fn a_failed_commit_stores_nothing_and_the_writer_recovers() {
    let dir = data_dir();
    // No maintenance (and so no readiness probe) during the test.
    let config = LogConfig {
        maintenance_interval: Duration::from_secs(3_600),
        ..LogConfig::default()
    };
    let log = open_with(&dir, config);
    log.append(vec![event("before")]).await.unwrap();
    assert!(log.is_ready());

    // Clamped by SQLite to the current size: any commit that needs a new page fails.
    log.set_max_page_count(1).await;
    let (first, second) = tokio::join!(
        log.append(vec![event("small"), big("big")]),
        log.append(vec![big("other")]),
    );
    assert_eq!(
        (first, second),
        (Err(LogError::Unavailable), Err(LogError::Unavailable))
    );
    assert!(!log.is_ready(), "readiness reflects the failed write");
    assert_eq!(log.head(), 1);
    assert_eq!(
        log.read(0, 10).await.unwrap().len(),
        1,
        "nothing of the failed appends is stored"
    );
    assert!(log.stats().failed_commits() >= 1);

    log.set_max_page_count(1 << 30).await;
    let statuses = log.append(vec![event("small"), big("big")]).await.unwrap();
    assert!(
        seqs(&statuses).iter().all(Option::is_some),
        "ids of the failed append were not recorded"
    );
    assert!(log.is_ready());
    let records = log.read(0, 10).await.unwrap();
    assert_eq!(
        records.last().map(|record| record.payload.len()),
        Some(256 * 1024)
    );
    log.close().await.unwrap();
}

#[tokio::test]
async fn readiness_recovers_without_appends_once_writes_succeed() {
    let dir = data_dir();
    let config = LogConfig {
        maintenance_interval: Duration::from_millis(10),
        ..LogConfig::default()
    };
    let log = open_with(&dir, config);
    log.set_max_page_count(1).await;
    assert_eq!(
        log.append(vec![big("big")]).await,
        Err(LogError::Unavailable)
    );
    log.set_max_page_count(1 << 30).await;
    eventually(|| async { log.is_ready() }).await;
    assert_eq!(log.head(), 0);
    log.close().await.unwrap();
}
