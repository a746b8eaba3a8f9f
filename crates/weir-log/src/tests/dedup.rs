//! Dedup (storage spec §2.3): per connection, within the window on `received_at`, decided in
//! the append transaction, surviving restarts.

use std::sync::Arc;
use std::time::Duration;

use super::{
    CONNECTION, DataDir, data_dir, event, event_on, eventually, now_ms, open, open_with, seqs,
};
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
async fn an_entry_is_forgotten_once_its_window_has_passed_by_the_clock() {
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
    // Within the window after the first by `received_at`, but that window ended long before
    // the wall clock's now: the entry counts as purged, wherever it is held.
    let again = log
        .append(vec![event_on(CONNECTION, "a", long_ago + 10)])
        .await
        .unwrap();
    assert_eq!(seqs(&again), [Some(2)]);
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

/// Keys move from memory to the on-disk index after `flush_keys` of them.
fn flushing_every(flush_keys: usize) -> LogConfig {
    LogConfig {
        dedup_flush_keys: flush_keys,
        ..LogConfig::default()
    }
}

fn ids(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}-{i}")).collect()
}

/// Deletes `log-dedup.sqlite` and its WAL files, as if lost.
fn remove_dedup_file(dir: &DataDir) {
    let dedup_file = dir.path.with_file_name("log-dedup.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", dedup_file.display()));
    }
}

/// Appends every id again, each in its own call: whether every one was a duplicate.
async fn all_duplicates(log: &SqliteLog, ids: &[String]) -> bool {
    append_each(log, ids).await.iter().all(|s| *s == Duplicate)
}

/// Appends every id in its own call; returns the statuses.
async fn append_each(log: &SqliteLog, ids: &[String]) -> Vec<AppendStatus> {
    let mut statuses = Vec::new();
    for id in ids {
        statuses.extend(log.append(vec![event(id)]).await.unwrap());
    }
    statuses
}

#[tokio::test]
async fn ids_stay_duplicates_after_moving_to_the_on_disk_index() {
    let dir = data_dir();
    let log = open_with(&dir, flushing_every(3));
    let first = ids("a", 20);
    assert!(
        seqs(&append_each(&log, &first).await)
            .iter()
            .all(Option::is_some)
    );
    assert!(
        all_duplicates(&log, &first).await,
        "duplicates whether their key is in memory, being flushed or on disk"
    );
    log.close().await.unwrap();

    let log = open_with(&dir, flushing_every(3));
    let statuses = log
        .append(
            first
                .iter()
                .map(|id| event(id))
                .chain([event("new")])
                .collect(),
        )
        .await
        .unwrap();
    assert_eq!(statuses.iter().filter(|s| **s == Duplicate).count(), 20);
    assert_eq!(statuses.last().and_then(|s| s.seq()), Some(21));
    log.close().await.unwrap();
}

#[tokio::test]
async fn ids_only_in_memory_are_recovered_from_the_log_after_a_crash() {
    for flush_keys in [1_000_000, 7] {
        let dir = data_dir();
        let log = open_with(&dir, flushing_every(flush_keys));
        let sent = ids("a", 50);
        append_each(&log, &sent).await;
        // Dropping the log without `close` stops the writer without writing what is in
        // memory, as a crash would (what was committed stays).
        drop(log);

        let log = open_with(&dir, flushing_every(flush_keys));
        assert_eq!(log.head(), 50);
        assert!(
            all_duplicates(&log, &sent).await,
            "flush_keys {flush_keys}: every acknowledged id is still known"
        );
        assert_eq!(
            seqs(&log.append(vec![event("b")]).await.unwrap()),
            [Some(51)]
        );
        log.close().await.unwrap();
    }
}

#[tokio::test]
async fn a_version_1_log_is_migrated_with_its_keys() {
    let dir = data_dir();
    let sent = ids("a", 3);
    let log = open(&dir);
    append_each(&log, &sent).await;
    log.close().await.unwrap();
    // Make it what a version 1 log looked like: its keys in its own `dedup` table and no
    // `log-dedup.sqlite`. The rows are deleted (as retention would), so that only the table
    // can tell the ids.
    let dedup_file = dir.path.with_file_name("log-dedup.sqlite");
    {
        let conn = rusqlite::Connection::open(&dir.path).unwrap();
        conn.execute("ATTACH ?1 AS d", [dedup_file.to_str().unwrap()])
            .unwrap();
        conn.execute_batch(
            "CREATE TABLE dedup (key BLOB PRIMARY KEY, received_at INTEGER NOT NULL) WITHOUT ROWID;
             INSERT INTO dedup SELECT key, received_at FROM d.dedup;
             DETACH d;
             DELETE FROM batches;
             INSERT INTO meta (key, value) VALUES ('pruned_through', 3);
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    remove_dedup_file(&dir);

    let log = open(&dir);
    assert_eq!(log.head(), 3);
    assert!(all_duplicates(&log, &sent).await);
    log.close().await.unwrap();
    let conn = rusqlite::Connection::open(&dir.path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'dedup'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!((version, tables), (2, 0));
}

#[tokio::test]
async fn a_lost_dedup_file_is_rebuilt_from_the_log() {
    let dir = data_dir();
    let sent = ids("a", 30);
    let log = open_with(&dir, flushing_every(4));
    append_each(&log, &sent).await;
    log.close().await.unwrap();
    remove_dedup_file(&dir);
    let log = open_with(&dir, flushing_every(4));
    assert!(all_duplicates(&log, &sent).await);
    log.close().await.unwrap();
}

#[tokio::test]
async fn ids_are_duplicates_while_their_keys_are_written_in_chunks() {
    let dir = data_dir();
    // Frozen sets of 5,000 keys are written a few thousand keys after each 100-event commit,
    // so later commits look keys up in a partly written set.
    let log = open_with(&dir, flushing_every(5_000));
    let sent = ids("a", 12_000);
    for chunk in sent.chunks(100) {
        let statuses = log
            .append(chunk.iter().map(|id| event(id)).collect())
            .await
            .unwrap();
        assert!(statuses.iter().all(|s| s.seq().is_some()));
    }
    for chunk in sent.chunks(100) {
        let statuses = log
            .append(chunk.iter().map(|id| event(id)).collect())
            .await
            .unwrap();
        assert!(statuses.iter().all(|s| *s == Duplicate));
    }
    assert!(log.stats().dedup_memory_keys() < 12_000);
    log.close().await.unwrap();
}

#[tokio::test]
async fn the_sweep_deletes_expired_keys_from_the_dedup_file() {
    let dir = data_dir();
    // Sweeps start a second apart with a window this short.
    let config = LogConfig {
        dedup_window: Duration::from_secs(20),
        dedup_flush_interval: Duration::from_millis(10),
        maintenance_interval: Duration::from_millis(10),
        ..LogConfig::default()
    };
    let log = open_with(&dir, config);
    let long_ago = now_ms() - 60_000;
    let fresh = event("fresh");
    log.append(vec![event_on(CONNECTION, "old", long_ago), fresh.clone()])
        .await
        .unwrap();
    let dedup_file = dir.path.with_file_name("log-dedup.sqlite");
    let keys_on_disk = || {
        let conn = rusqlite::Connection::open_with_flags(
            &dedup_file,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        conn.query_row("SELECT count(*) FROM dedup", [], |row| row.get::<_, i64>(0))
            .unwrap()
    };
    // Both keys reach the file, then a sweep (at most a second later) deletes the expired one.
    eventually(|| async { keys_on_disk() == 1 && log.stats().dedup_memory_keys() == 0 }).await;
    assert_eq!(log.append(vec![fresh]).await.unwrap(), [Duplicate]);
    log.close().await.unwrap();
}

#[tokio::test]
async fn a_damaged_dedup_file_is_replaced_and_rebuilt_from_the_log() {
    let dir = data_dir();
    let sent = ids("a", 10);
    let log = open(&dir);
    append_each(&log, &sent).await;
    log.close().await.unwrap();
    remove_dedup_file(&dir);
    let dedup_file = dir.path.with_file_name("log-dedup.sqlite");
    std::fs::write(
        &dedup_file,
        b"this is not a SQLite database, just damaged bytes....",
    )
    .unwrap();

    let log = open(&dir);
    assert!(all_duplicates(&log, &sent).await);
    assert_eq!(
        seqs(&log.append(vec![event("b")]).await.unwrap()),
        [Some(11)]
    );
    log.close().await.unwrap();
}

/// Runs `sql` on a read-only connection to the dedup file; its single integer result.
fn dedup_file_value(dir: &DataDir, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open_with_flags(
        dir.path.with_file_name("log-dedup.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    conn.query_row(sql, [], |row| row.get(0)).unwrap()
}

#[tokio::test]
async fn ids_stay_duplicates_across_many_segments() {
    let dir = data_dir();
    // Every snapshot of 3 keys, each in a segment of its own.
    let sent = ids("a", 60);
    let log = open_with(&dir, flushing_every(3));
    append_each(&log, &sent).await;
    log.close().await.unwrap();
    assert!(
        dedup_file_value(&dir, "SELECT count(*) FROM segments") >= 4,
        "60 keys in segments of at most 12 (and single snapshots)"
    );
    assert_eq!(
        dedup_file_value(&dir, "SELECT count(DISTINCT key) FROM dedup"),
        60
    );

    let log = open_with(&dir, flushing_every(3));
    // The first sweep after opening builds the filter; until then every lookup reads the file.
    eventually(|| async { log.stats().dedup_filter_bytes() > 0 }).await;
    let lookups = log.stats().dedup_table_lookups();
    assert!(
        all_duplicates(&log, &sent).await,
        "keys in every segment are found"
    );
    let fresh = ids("b", 100);
    assert!(
        seqs(&append_each(&log, &fresh).await)
            .iter()
            .all(Option::is_some)
    );
    let lookups = log.stats().dedup_table_lookups() - lookups;
    assert!(
        (60..70).contains(&lookups),
        "the 60 duplicates read the file; of 100 new ids, the filter rules out nearly all: {lookups}"
    );
    log.close().await.unwrap();
}

#[tokio::test]
async fn a_dedup_file_without_segments_is_migrated_with_its_keys() {
    let dir = data_dir();
    let sent = ids("a", 10);
    let log = open(&dir);
    append_each(&log, &sent).await;
    log.close().await.unwrap();
    // Make the file what it was before segments: one table keyed by `key`, user_version 0.
    // The log covers every key already (its `flushed_through` is the head), so after the
    // migration only the file can tell the ids.
    {
        let conn = rusqlite::Connection::open(dir.path.with_file_name("log-dedup.sqlite")).unwrap();
        conn.execute_batch(
            "CREATE TABLE old (key BLOB PRIMARY KEY, received_at INTEGER NOT NULL) WITHOUT ROWID;
             INSERT INTO old SELECT key, max(received_at) FROM dedup GROUP BY key;
             DROP TABLE dedup;
             DROP TABLE segments;
             ALTER TABLE old RENAME TO dedup;
             PRAGMA user_version = 0;",
        )
        .unwrap();
    }

    let log = open(&dir);
    assert!(all_duplicates(&log, &sent).await);
    log.close().await.unwrap();
    assert_eq!(dedup_file_value(&dir, "PRAGMA user_version"), 2);
    assert_eq!(
        dedup_file_value(&dir, "SELECT count(*) FROM dedup WHERE segment = 0"),
        10
    );
}

#[tokio::test]
async fn the_sweep_forgets_segments_whose_keys_all_expired() {
    let dir = data_dir();
    let config = LogConfig {
        dedup_window: Duration::from_secs(20),
        dedup_flush_keys: 1,
        dedup_flush_interval: Duration::from_millis(10),
        maintenance_interval: Duration::from_millis(10),
        ..LogConfig::default()
    };
    let log = open_with(&dir, config.clone());
    let long_ago = now_ms() - 60_000;
    for id in ids("old", 12) {
        log.append(vec![event_on(CONNECTION, &id, long_ago)])
            .await
            .unwrap();
    }
    log.append(vec![event("fresh")]).await.unwrap();
    // Snapshots of a key or two, each in a segment of its own: the old keys filled several.
    eventually(|| async {
        log.stats().dedup_memory_keys() == 0
            && dedup_file_value(&dir, "SELECT count(*) FROM dedup") == 1
            && dedup_file_value(
                &dir,
                "SELECT count(*) FROM segments WHERE segment < (SELECT max(segment) FROM segments)
                 AND NOT EXISTS (SELECT 1 FROM dedup WHERE dedup.segment = segments.segment)",
            ) == 0
    })
    .await;
    assert!(dedup_file_value(&dir, "SELECT max(segment) FROM segments") >= 2);
    assert!(dedup_file_value(&dir, "SELECT count(*) FROM segments") <= 2);
    assert_eq!(log.append(vec![event("fresh")]).await.unwrap(), [Duplicate]);
    log.close().await.unwrap();
}

#[tokio::test]
async fn the_filter_grows_with_the_keys_on_disk() {
    let dir = data_dir();
    let log = open_with(&dir, flushing_every(10_000));
    eventually(|| async { log.stats().dedup_filter_bytes() > 0 }).await;
    let first = log.stats().dedup_filter_bytes();
    // The smallest filter is planned for about 100,000 keys; 250,000 outgrow it.
    for batch in 0..250 {
        let events = ids(&format!("k{batch}"), 1_000)
            .iter()
            .map(|id| event(id))
            .collect();
        log.append(events).await.unwrap();
    }
    eventually(|| async { log.stats().dedup_filter_bytes() > first }).await;
    log.close().await.unwrap();
}

/// `dedup_filter_max_bytes` caps the filter: past its planned keys it says "maybe" more often,
/// which costs table lookups, never a wrong answer.
#[tokio::test]
async fn a_capped_filter_stays_at_its_cap_and_still_finds_every_key() {
    let dir = data_dir();
    let log = open_with(
        &dir,
        LogConfig {
            dedup_filter_max_bytes: crate::DEDUP_FILTER_MIN_BYTES,
            ..flushing_every(10_000)
        },
    );
    // The smallest filter is planned for about 100,000 keys; 250,000 would outgrow it.
    let sent: Vec<Vec<String>> = (0..250)
        .map(|batch| ids(&format!("k{batch}"), 1_000))
        .collect();
    for batch in &sent {
        log.append(batch.iter().map(|id| event(id)).collect())
            .await
            .unwrap();
    }
    // Every key is on disk, and a sweep planned for all of them has ended.
    eventually(|| async {
        dedup_file_value(&dir, "SELECT count(*) FROM dedup") == 250_000
            && log.stats().dedup_memory_keys() == 0
    })
    .await;
    log.close().await.unwrap();
    let log = open_with(
        &dir,
        LogConfig {
            dedup_filter_max_bytes: crate::DEDUP_FILTER_MIN_BYTES,
            ..flushing_every(10_000)
        },
    );
    eventually(|| async { log.stats().dedup_filter_bytes() > 0 }).await;
    assert_eq!(
        log.stats().dedup_filter_bytes(),
        crate::DEDUP_FILTER_MIN_BYTES
    );
    for batch in sent.iter().step_by(25) {
        let statuses = log
            .append(batch.iter().map(|id| event(id)).collect())
            .await
            .unwrap();
        assert!(statuses.iter().all(|s| *s == Duplicate), "{statuses:?}");
    }
    let fresh = ids("fresh", 1_000);
    let statuses = log
        .append(fresh.iter().map(|id| event(id)).collect())
        .await
        .unwrap();
    assert!(statuses.iter().all(|s| *s != Duplicate), "{statuses:?}");
    assert_eq!(
        log.stats().dedup_filter_bytes(),
        crate::DEDUP_FILTER_MIN_BYTES
    );
    log.close().await.unwrap();
}

#[test]
fn the_filter_cap_is_validated() {
    for bytes in [
        0,
        crate::DEDUP_FILTER_MIN_BYTES - 1,
        crate::DEDUP_FILTER_LIMIT_BYTES + 1,
    ] {
        let config = LogConfig {
            dedup_filter_max_bytes: bytes,
            ..LogConfig::default()
        };
        assert_eq!(
            config.validate(),
            Err(LogError::Config(
                "dedup filter max bytes must be between 131072 (128 KiB) and 8589934592 (8 GiB)"
            ))
        );
    }
}

#[tokio::test]
async fn a_clean_stop_saves_the_filter_for_the_next_open() {
    let dir = data_dir();
    let sent = ids("a", 30);
    let log = open_with(&dir, flushing_every(4));
    append_each(&log, &sent).await;
    eventually(|| async { log.stats().dedup_filter_bytes() > 0 }).await;
    log.close().await.unwrap();
    let saved = dir.path.with_file_name("log-dedup.filter");
    assert!(saved.exists());

    let log = open_with(&dir, flushing_every(4));
    assert!(!saved.exists(), "read once, then removed");
    let statuses = log.append(vec![event("new")]).await.unwrap();
    assert_eq!(seqs(&statuses), [Some(31)]);
    assert!(
        log.stats().dedup_filter_bytes() > 0,
        "the filter is there at once, without a sweep"
    );
    assert_eq!(log.stats().dedup_table_lookups(), 0);
    assert!(all_duplicates(&log, &sent).await);
    log.close().await.unwrap();
}

#[tokio::test]
async fn a_saved_filter_from_another_state_of_the_file_is_not_used() {
    let dir = data_dir();
    let saved = dir.path.with_file_name("log-dedup.filter");
    // A filter saved when the file was empty ...
    let log = open_with(&dir, flushing_every(4));
    eventually(|| async { log.stats().dedup_filter_bytes() > 0 }).await;
    log.close().await.unwrap();
    let empty_filter = std::fs::read(&saved).unwrap();
    // ... put back after 30 keys went into the file: using it would miss them all.
    let sent = ids("a", 30);
    let log = open_with(&dir, flushing_every(4));
    append_each(&log, &sent).await;
    log.close().await.unwrap();
    std::fs::write(&saved, empty_filter).unwrap();

    let log = open_with(&dir, flushing_every(4));
    assert!(!saved.exists());
    assert!(all_duplicates(&log, &sent).await);
    log.close().await.unwrap();
}

#[tokio::test]
async fn the_latest_acceptance_of_an_id_counts_across_segments() {
    let dir = data_dir();
    let window_ms = 3_600_000;
    let config = LogConfig {
        dedup_window: Duration::from_millis(window_ms as u64),
        ..flushing_every(1)
    };
    let log = open_with(&dir, config);
    let on_disk = || async { log.stats().dedup_memory_keys() == 0 };
    let append = |received_at| log.append(vec![event_on(CONNECTION, "a", received_at)]);
    // Accepted at t, and again a window later (by `received_at`): two segments hold the id.
    let t = now_ms();
    append(t).await.unwrap();
    eventually(on_disk).await;
    assert_eq!(seqs(&append(t + window_ms).await.unwrap()), [Some(2)]);
    eventually(on_disk).await;
    assert_eq!(
        dedup_file_value(&dir, "SELECT count(DISTINCT segment) FROM dedup"),
        2
    );
    assert_eq!(
        append(t + window_ms + 1).await.unwrap(),
        [Duplicate],
        "within the window of the newer acceptance, in the newer segment"
    );
    log.close().await.unwrap();
}
