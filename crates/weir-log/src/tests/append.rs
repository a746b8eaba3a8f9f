//! Appending and reading back: order, seqs, paging, concurrency and group commit, tailing.

use std::sync::Arc;

use super::{CONNECTION, WORKSPACE, data_dir, event, event_on, now_ms, open, seqs};
use crate::{AppendEvent, AppendStatus, EventLog};

#[tokio::test]
async fn append_then_read_back_in_order() {
    let dir = data_dir();
    let log = open(&dir);
    assert_eq!(log.head(), 0);
    let first = log.append(vec![event("a"), event("b")]).await.unwrap();
    let second = log.append(vec![event("c")]).await.unwrap();
    assert_eq!(seqs(&first), [Some(1), Some(2)]);
    assert_eq!(seqs(&second), [Some(3)]);
    assert_eq!(log.head(), 3);

    let records = log.read(0, 100).await.unwrap();
    let ids: Vec<_> = records
        .iter()
        .map(|record| (record.seq, record.message_id.as_str()))
        .collect();
    assert_eq!(ids, [(1, "a"), (2, "b"), (3, "c")]);
    let expected = event("a");
    assert_eq!(records[0].workspace_id, WORKSPACE);
    assert_eq!(records[0].connection_id, CONNECTION);
    assert_eq!(records[0].payload, expected.payload);
    log.close().await.unwrap();
}

#[tokio::test]
async fn reads_page_through_rows_by_seq() {
    let dir = data_dir();
    let log = open(&dir);
    log.append((0..5).map(|i| event(&format!("a{i}"))).collect())
        .await
        .unwrap();
    log.append((0..5).map(|i| event(&format!("b{i}"))).collect())
        .await
        .unwrap();

    let page = |after, max| {
        let log = &log;
        async move {
            log.read(after, max)
                .await
                .unwrap()
                .iter()
                .map(|r| r.seq)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(page(0, 3).await, [1, 2, 3]);
    assert_eq!(
        page(3, 4).await,
        [4, 5, 6, 7],
        "continues mid-row and crosses rows"
    );
    assert_eq!(page(7, 100).await, [8, 9, 10]);
    assert_eq!(page(10, 100).await, Vec::<u64>::new());
    assert_eq!(page(0, 0).await, Vec::<u64>::new());
    assert_eq!(page(u64::MAX, 10).await, Vec::<u64>::new());
    log.close().await.unwrap();
}

#[tokio::test]
async fn events_of_several_sources_in_one_append_keep_their_fields() {
    let dir = data_dir();
    let log = open(&dir);
    let now = now_ms();
    let mut other = event_on("cnBBBBBBBBBB", "x", now + 42);
    other.workspace_id = "wsBBBBBBBBBB".to_owned();
    let events = vec![
        event_on(CONNECTION, "a", now + 7),
        other,
        event_on(CONNECTION, "b", now - 9),
    ];
    log.append(events.clone()).await.unwrap();
    let records = log.read(0, 10).await.unwrap();
    let as_events: Vec<AppendEvent> = records
        .into_iter()
        .map(|record| AppendEvent {
            workspace_id: record.workspace_id,
            connection_id: record.connection_id,
            message_id: record.message_id,
            received_at_ms: record.received_at_ms,
            payload: record.payload,
            dedup: true,
        })
        .collect();
    assert_eq!(as_events, events);
    log.close().await.unwrap();
}

#[tokio::test]
async fn an_empty_append_stores_nothing() {
    let dir = data_dir();
    let log = open(&dir);
    assert_eq!(log.append(Vec::new()).await.unwrap(), Vec::new());
    assert_eq!(log.head(), 0);
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_are_durable_unique_and_never_interleaved() {
    const TASKS: usize = 32;
    const APPENDS: usize = 50;
    const EVENTS: usize = 3;
    let dir = data_dir();
    let log: Arc<dyn EventLog> = Arc::new(open(&dir));
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut appended = Vec::new();
            for append in 0..APPENDS {
                let events = (0..EVENTS)
                    .map(|i| event(&format!("{task}-{append}-{i}")))
                    .collect();
                let statuses = log.append(events).await.unwrap();
                let seqs: Vec<u64> = statuses
                    .iter()
                    .map(|status| status.seq().unwrap())
                    .collect();
                assert!(
                    seqs.windows(2).all(|pair| pair[1] == pair[0] + 1),
                    "one append is contiguous: {seqs:?}"
                );
                appended.push((format!("{task}-{append}"), seqs));
            }
            appended
        }));
    }
    let mut by_seq = std::collections::BTreeMap::new();
    for task in tasks {
        for (prefix, seqs) in task.await.unwrap() {
            for (i, seq) in seqs.into_iter().enumerate() {
                assert!(
                    by_seq.insert(seq, format!("{prefix}-{i}")).is_none(),
                    "seq {seq} given twice"
                );
            }
        }
    }
    let total = (TASKS * APPENDS * EVENTS) as u64;
    assert_eq!(
        by_seq.keys().copied().collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>()
    );
    assert_eq!(log.head(), total);

    let records = log.read(0, usize::MAX).await.unwrap();
    assert_eq!(records.len() as u64, total);
    for record in &records {
        assert_eq!(
            by_seq[&record.seq], record.message_id,
            "the log holds what each append was told"
        );
    }

    let stats = log.stats();
    assert_eq!(stats.events_appended(), total);
    assert!(
        stats.commits() < (TASKS * APPENDS) as u64,
        "group commit groups appends: {} commits",
        stats.commits()
    );
    let events_per_commit = stats.commit_events();
    assert_eq!(events_per_commit.count, stats.commits());
    assert!(events_per_commit.sum / events_per_commit.count as f64 > EVENTS as f64);
    assert_eq!(stats.commit_duration().count, stats.commits());
    log.close().await.unwrap();
}

#[tokio::test]
async fn subscribers_wake_on_append() {
    let dir = data_dir();
    let log = Arc::new(open(&dir));
    let mut head = log.subscribe();
    assert_eq!(*head.borrow_and_update(), 0);
    let writer = {
        let log = log.clone();
        tokio::spawn(async move { log.append(vec![event("a"), event("b")]).await.unwrap() })
    };
    head.changed().await.unwrap();
    assert_eq!(*head.borrow_and_update(), 2);
    writer.await.unwrap();
    log.close().await.unwrap();
    assert!(
        head.changed().await.is_err(),
        "closing the log ends the subscription"
    );
}

#[tokio::test]
async fn seqs_continue_after_duplicates_without_gaps() {
    let dir = data_dir();
    let log = open(&dir);
    let statuses = log
        .append(vec![event("a"), event("a"), event("b")])
        .await
        .unwrap();
    assert_eq!(
        statuses,
        [
            AppendStatus::Appended { seq: 1 },
            AppendStatus::Duplicate,
            AppendStatus::Appended { seq: 2 }
        ]
    );
    let records = log.read(0, 10).await.unwrap();
    let ids: Vec<_> = records
        .iter()
        .map(|record| (record.seq, record.message_id.as_str()))
        .collect();
    assert_eq!(ids, [(1, "a"), (2, "b")]);
    log.close().await.unwrap();
}
