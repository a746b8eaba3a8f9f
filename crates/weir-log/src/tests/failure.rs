//! A failing commit (SQLITE_FULL via `max_page_count`): every waiter of the group gets
//! `Unavailable`, nothing of it is stored (dedup entries included), and the writer recovers.

use bytes::Bytes;

use super::{data_dir, event, open, seqs};
use crate::{EventLog, LogError};

#[tokio::test]
async fn a_failed_commit_stores_nothing_and_the_writer_recovers() {
    let dir = data_dir();
    let log = open(&dir);
    log.append(vec![event("before")]).await.unwrap();
    assert!(log.is_ready());

    // Clamped by SQLite to the current size: any commit that needs a new page fails.
    log.set_max_page_count(1).await;
    let mut big = event("big");
    big.payload = Bytes::from(vec![b'x'; 256 * 1024]);
    let failed = log.append(vec![event("small"), big.clone()]).await;
    assert_eq!(failed, Err(LogError::Unavailable));
    assert!(!log.is_ready(), "readiness reflects the failed write");
    assert_eq!(log.head(), 1);
    assert_eq!(
        log.read(0, 10).await.unwrap().len(),
        1,
        "nothing of the failed append is stored"
    );
    assert_eq!(log.stats().failed_commits(), 1);

    log.set_max_page_count(1 << 30).await;
    let statuses = log.append(vec![event("small"), big]).await.unwrap();
    assert_eq!(
        seqs(&statuses),
        [Some(2), Some(3)],
        "ids of the failed append were not recorded"
    );
    assert!(log.is_ready());
    let records = log.read(1, 10).await.unwrap();
    assert_eq!(records[1].payload.len(), 256 * 1024);
    log.close().await.unwrap();
}
