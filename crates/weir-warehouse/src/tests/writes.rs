//! Idempotent writes on both backends: replays never duplicate rows, the first write wins
//! (also within one batch), and `(connection_id, message_id)` is the key.

use std::time::Duration;

use serde_json::json;
use weir_spec::{Event, NameVersion};

use super::events::track;
use super::{all_rows, on_both_backends};
use crate::{Warehouse, WarehouseError};

on_both_backends!(
    replaying_a_batch_changes_nothing,
    a_changed_redelivery_does_not_overwrite,
    the_first_occurrence_in_a_batch_wins,
    the_key_includes_the_connection,
    an_empty_batch_writes_nothing,
    a_large_batch_is_written_in_one_call,
    an_unstorable_event_rejects_the_whole_batch,
    an_unstorable_event_late_in_a_large_batch_rejects_all_of_it,
    check_passes_and_leaves_nothing_behind,
    a_cancelled_write_leaves_the_warehouse_usable,
);

fn batch(count: usize) -> Vec<Event> {
    (0..count)
        .map(|index| {
            let properties = format!(r#"{{"index":{index}}}"#);
            let timestamp = format!(
                "2024-10-31T14:{:02}:{:02}.000Z",
                index / 60 % 60,
                index % 60
            );
            track(&format!("m{index}"), &properties, &timestamp)
        })
        .collect()
}

async fn replaying_a_batch_changes_nothing(warehouse: &dyn Warehouse) {
    let events = batch(120);
    assert_eq!(warehouse.write_events(&events).await.unwrap(), 120);
    let before = all_rows(warehouse).await;
    assert_eq!(warehouse.write_events(&events).await.unwrap(), 0);
    // A replay overlapping new events inserts only the new ones.
    let more = batch(130);
    assert_eq!(warehouse.write_events(&more).await.unwrap(), 10);
    let after = all_rows(warehouse).await;
    assert_eq!(after.len(), 130);
    assert_eq!(&after[..120], &before[..]);
}

async fn a_changed_redelivery_does_not_overwrite(warehouse: &dyn Warehouse) {
    let first = track("m1", r#"{"v":1}"#, "2024-10-31T14:00:00.000Z");
    let mut changed = track("m1", r#"{"v":2}"#, "2024-10-31T15:00:00.000Z");
    changed.user_id = Some("someone".into());
    assert_eq!(warehouse.write_events(&[first]).await.unwrap(), 1);
    assert_eq!(warehouse.write_events(&[changed]).await.unwrap(), 0);
    let rows = all_rows(warehouse).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["properties"], json!({"v": 1}));
    assert_eq!(rows[0]["timestamp"], json!("2024-10-31T14:00:00.000Z"));
    assert_eq!(rows[0]["user_id"], json!(null));
}

async fn the_first_occurrence_in_a_batch_wins(warehouse: &dyn Warehouse) {
    // Enough rows for the SQLite multi-row statements, with duplicates across them.
    let mut events = batch(60);
    for index in [3, 59, 0] {
        events.push(track(
            &format!("m{index}"),
            r#"{"dup":true}"#,
            "2024-10-31T16:00:00.000Z",
        ));
    }
    events.insert(
        0,
        track("m7", r#"{"first":true}"#, "2024-10-31T13:00:00.000Z"),
    );
    assert_eq!(warehouse.write_events(&events).await.unwrap(), 60);
    let rows = all_rows(warehouse).await;
    assert_eq!(rows.len(), 60);
    let m7 = rows.iter().find(|row| row["message_id"] == "m7").unwrap();
    assert_eq!(m7["properties"], json!({"first": true}));
    assert!(
        rows.iter()
            .all(|row| row["properties"] != json!({"dup": true}))
    );
}

async fn the_key_includes_the_connection(warehouse: &dyn Warehouse) {
    let first = track("m1", "{}", "2024-10-31T14:00:00.000Z");
    let mut other_connection = first.clone();
    other_connection.connection_id = "Other1234567".into();
    assert_eq!(
        warehouse
            .write_events(&[first, other_connection])
            .await
            .unwrap(),
        2
    );
}

async fn an_empty_batch_writes_nothing(warehouse: &dyn Warehouse) {
    assert_eq!(warehouse.write_events(&[]).await.unwrap(), 0);
    assert!(all_rows(warehouse).await.is_empty());
}

async fn a_large_batch_is_written_in_one_call(warehouse: &dyn Warehouse) {
    let events = batch(3000);
    assert_eq!(warehouse.write_events(&events).await.unwrap(), 3000);
    assert_eq!(warehouse.write_events(&events).await.unwrap(), 0);
    // Overlapping what is stored (on PostgreSQL each half of the batch then takes the
    // staging path), only the new rows are inserted.
    assert_eq!(warehouse.write_events(&batch(4000)).await.unwrap(), 1000);
    assert_eq!(warehouse.write_events(&batch(4000)).await.unwrap(), 0);
}

async fn an_unstorable_event_rejects_the_whole_batch(warehouse: &dyn Warehouse) {
    let good = track("m1", "{}", "2024-10-31T14:00:00.000Z");
    let mut bad = track("m2", "{}", "2024-10-31T14:00:00.000Z");
    bad.context.browser = Some(NameVersion {
        name: Some("Netscape".into()),
        ..NameVersion::default()
    });
    let error = warehouse.write_events(&[good, bad]).await.unwrap_err();
    assert!(
        matches!(error, WarehouseError::Rejected { .. }),
        "{error:?}"
    );
    assert!(all_rows(warehouse).await.is_empty());
}

async fn an_unstorable_event_late_in_a_large_batch_rejects_all_of_it(warehouse: &dyn Warehouse) {
    // Far beyond the first multi-row statements (SQLite) and the first part of the batch.
    let mut events = batch(1200);
    events[1100].context.os = Some(NameVersion {
        name: Some("BeOS".into()),
        ..NameVersion::default()
    });
    let error = warehouse.write_events(&events).await.unwrap_err();
    assert!(
        matches!(error, WarehouseError::Rejected { .. }),
        "{error:?}"
    );
    assert!(all_rows(warehouse).await.is_empty());
    // The writer is usable afterwards.
    assert_eq!(warehouse.write_events(&batch(1200)).await.unwrap(), 1200);
}

async fn check_passes_and_leaves_nothing_behind(warehouse: &dyn Warehouse) {
    warehouse.check().await.unwrap();
    warehouse.check().await.unwrap();
    assert!(all_rows(warehouse).await.is_empty());
}

async fn a_cancelled_write_leaves_the_warehouse_usable(warehouse: &dyn Warehouse) {
    let events = batch(3000);
    let cancelled =
        tokio::time::timeout(Duration::from_millis(2), warehouse.write_events(&events)).await;
    assert!(
        cancelled.is_err(),
        "the write should still have been running"
    );
    let inserted = warehouse.write_events(&events).await.unwrap();
    assert!(inserted == 0 || inserted == 3000, "{inserted}");
    assert_eq!(all_rows(warehouse).await.len(), 1000);
    assert_eq!(warehouse.write_events(&events).await.unwrap(), 0);
}
