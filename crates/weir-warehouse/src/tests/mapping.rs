//! Column mapping (storage spec §3.1, §3.2) on both backends: fully populated events of every
//! type, the warehouse views of C48, W12 and W13, and U+0000 removal.

use serde_json::{Value, json};
use weir_spec::{Event, EventType};

use super::events::{BATCH, TRACK, decode, full_event, track};
use super::{all_rows, on_both_backends};
use crate::{Condition, EventQuery, Filter, Operator, Warehouse};

on_both_backends!(
    every_column_of_every_event_type,
    c48_warehouse_view,
    w12_false_is_kept,
    w13_chrome_os_without_version,
    nul_is_removed_from_every_string,
    lone_surrogates_become_replacement_characters,
);

async fn every_column_of_every_event_type(warehouse: &dyn Warehouse) {
    let (events, expected): (Vec<_>, Vec<_>) = EventType::ALL.into_iter().map(full_event).unzip();
    assert_eq!(warehouse.write_events(&events).await.unwrap(), 6);
    let rows = all_rows(warehouse).await;
    assert_eq!(rows.len(), 6);
    for expected in expected {
        let row = rows
            .iter()
            .find(|row| row["message_id"] == expected["message_id"])
            .unwrap();
        assert_eq!(row.len(), 68, "every column is returned");
        for (column, value) in &expected {
            assert_eq!(&row[column], value, "{column} of {}", expected["type"]);
        }
        assert_eq!(row.len(), expected.len(), "every column is checked");
    }
}

/// The one row of a webhook request with the given event context (besides `library`).
async fn webhook_row(warehouse: &dyn Warehouse, context: &str) -> serde_json::Map<String, Value> {
    let body = format!(
        r#"{{"batch":[{{"type":"track","anonymousId":"ff8dee31-fd87-45bb-978b-c7b3e2c52128","event":"Test Event","context":{{"library":{{"name":"analytics-go","version":"3.3.0"}},{context}}}}}],"sentAt":"2024-10-31T14:39:12.647Z"}}"#
    );
    let events = decode(BATCH, &body);
    assert_eq!(warehouse.write_events(&events).await.unwrap(), 1);
    let mut rows = all_rows(warehouse).await;
    assert_eq!(rows.len(), 1);
    rows.remove(0)
}

const FIREFOX_47: &str =
    "Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:47.0) Gecko/20100101 Firefox/47.0";

async fn c48_warehouse_view(warehouse: &dyn Warehouse) {
    let context = format!(
        r#""userAgent":"{FIREFOX_47}","os":{{"name":"Linux","version":"1"}},"ip":"255.255.255.0""#
    );
    let row = webhook_row(warehouse, &context).await;
    let expected = json!({
        "event": "Test Event",
        "context_ip": "127.0.0.0",
        "context_os_name": "Linux",
        "context_os_version": "1",
        "context_browser_name": "Firefox",
        "context_browser_version": "47.0.0",
        "context_library_name": "analytics-go",
        "context_library_version": "3.3.0",
        "context_user_agent": FIREFOX_47,
        "connection_id": "SWebhook0001",
        "properties": {},
        "traits": {},
    });
    for (column, value) in expected.as_object().unwrap() {
        assert_eq!(&row[column], value, "{column}");
    }
}

async fn w12_false_is_kept(warehouse: &dyn Warehouse) {
    let events = decode(
        TRACK,
        r#"{"userId":"u","event":"e","context":{"network":{"wifi":false,"cellular":true}}}"#,
    );
    warehouse.write_events(&events).await.unwrap();
    let row = &all_rows(warehouse).await[0];
    assert_eq!(row["context_network_wifi"], json!(false));
    assert_eq!(row["context_network_cellular"], json!(true));
    assert_eq!(row["context_network_bluetooth"], Value::Null);
    assert_eq!(row["context_network_carrier"], Value::Null);
}

async fn w13_chrome_os_without_version(warehouse: &dyn Warehouse) {
    let body = r#"{"anonymousId":"a","event":"e","context":{"userAgent":"Mozilla/5.0 (X11; CrOS x86_64 16181.61.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.6998.198 Safari/537.36"}}"#;
    warehouse.write_events(&decode(TRACK, body)).await.unwrap();
    let row = &all_rows(warehouse).await[0];
    assert_eq!(row["context_os_name"], json!("Chrome OS"));
    assert_eq!(row["context_os_version"], Value::Null);
    assert_eq!(row["context_browser_name"], json!("Chrome"));
    assert_eq!(row["context_browser_version"], json!("134.0.6998"));
}

async fn nul_is_removed_from_every_string(warehouse: &dyn Warehouse) {
    let text = r#"{"connectionId":"Conn\u000012345678","anonymousId":"an\u0000on","context":{"consents":{"a\u0000ds":true},"page":{"title":"\u0000T\u0000"},"userAgent":"U\u0000A"},"event":"e\u0000","messageId":"m\u00001","properties":{"k\u0000ey":"v\u0000al","list":["\u0000",{"\u0000":"\\u0000"}]},"receivedAt":"2024-10-31T14:39:12.647Z","sentAt":"2024-10-31T14:39:12.647Z","originalTimestamp":"2024-10-31T14:39:12.647Z","timestamp":"2024-10-31T14:39:12.647Z","traits":{"n\u0000":"\u0000"},"type":"track","userId":"u\u0000"}"#;
    let event = Event::from_canonical_json(text).unwrap();
    assert!(event.user_id.as_deref().unwrap().contains('\0'));
    assert_eq!(warehouse.write_events(&[event]).await.unwrap(), 1);
    let row = &all_rows(warehouse).await[0];
    let expected = json!({
        "connection_id": "Conn12345678",
        "anonymous_id": "anon",
        "context_consents": {"ads": true},
        "context_page_title": "T",
        "context_user_agent": "UA",
        "event": "e",
        "message_id": "m1",
        "properties": {"key": "val", "list": ["", {"": "\\u0000"}]},
        "traits": {"n": ""},
        "user_id": "u",
    });
    for (column, value) in expected.as_object().unwrap() {
        assert_eq!(&row[column], value, "{column}");
    }
    // The stored key is the cleaned one: a condition on it finds the row.
    let query = EventQuery {
        columns: vec!["message_id".into()],
        filter: Some(Filter::Condition(Condition {
            column: "message_id".into(),
            op: Operator::Eq,
            value: Some(json!("m\u{0}1")),
        })),
        ..EventQuery::default()
    };
    assert_eq!(warehouse.query_events(query).await.unwrap().rows.len(), 1);
}

async fn lone_surrogates_become_replacement_characters(warehouse: &dyn Warehouse) {
    let event = track(
        "m1",
        r#"{"lone":"a\ud800b","low":"\udc00","pair":"\ud83d\ude00"}"#,
        "2024-10-31T14:39:12.647Z",
    );
    assert_eq!(warehouse.write_events(&[event]).await.unwrap(), 1);
    let row = &all_rows(warehouse).await[0];
    assert_eq!(
        row["properties"],
        json!({"lone": "a\u{fffd}b", "low": "\u{fffd}", "pair": "\u{1f600}"})
    );
}
