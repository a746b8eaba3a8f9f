//! Filter tests: every operator with a positive, a negative and a missing-value case against a
//! richly populated event (`operators`), and every validation message (`validation`).

mod operators;
mod validation;

use serde_json::{Value, json};
use weir_spec::Event;

use super::validate_filter;
use crate::test_support::{event, event_from_text};

/// An event with a value for most property kinds, and JSON members of every kind.
fn rich() -> Event {
    event_from_text(
        r#"{"connectionId":"Conn11111111","anonymousId":"anon-1","channel":"web",
        "context":{"app":{"name":"Shop"},"browser":{"name":"Chrome","version":"120"},
        "consents":{"ads":false,"analytics":true},"device":{"adTrackingEnabled":false},
        "ip":"192.168.1.10","location":{"city":"Rome","latitude":45.5},"os":{"name":"macOS"},
        "screen":{"width":1920,"density":1.5},"session":{"id":1700000000000,"start":true}},
        "event":"Order Completed","messageId":"message-1",
        "properties":{"plan":"Enterprise","price":19.90,"big":123456789012345678901234,
        "items":[{"sku":"a"}],"tags":["red","blue",3],"nested":{"level":{"deep":"yes"}},
        "none":null,"empty":"","emptyList":[],"emptyObject":{},"when":"2025-03-01T10:00:00Z",
        "flag":true,"count":"10"},
        "receivedAt":"2025-03-01T12:00:00.123Z","sentAt":"2025-03-01T12:00:00Z",
        "originalTimestamp":"2025-03-01T11:59:59Z","timestamp":"2025-03-01T11:59:59Z",
        "traits":{"email":"a@example.com"},"type":"track","userId":"user-42"}"#,
    )
}

/// An event with only the members every event has (and empty `properties`).
fn minimal() -> Event {
    event(json!({"event": "Clicked"}))
}

fn condition(property: &str, operator: &str, values: &[&str]) -> Value {
    if values.is_empty() {
        json!({"property": property, "operator": operator})
    } else {
        json!({"property": property, "operator": operator, "values": values})
    }
}

fn holds(event: &Event, property: &str, operator: &str, values: &[&str]) -> bool {
    let filter = json!({"logical": "and", "conditions": [condition(property, operator, values)]});
    match validate_filter(&filter) {
        Ok(filter) => filter.matches(event),
        Err(error) => panic!("{property} {operator} {values:?}: {error}"),
    }
}

/// Checks `(property, operator, values, expected)` rows against `event`.
fn check(event: &Event, rows: &[(&str, &str, &[&str], bool)]) {
    for &(property, operator, values, expected) in rows {
        assert_eq!(
            holds(event, property, operator, values),
            expected,
            "{property} {operator} {values:?}"
        );
    }
}

fn error(filter: Value) -> String {
    match validate_filter(&filter) {
        Ok(_) => panic!("{filter} should not be valid"),
        Err(error) => error.to_string(),
    }
}

fn condition_error(property: &str, operator: &str, values: &[&str]) -> String {
    error(json!({"logical": "and", "conditions": [condition(property, operator, values)]}))
}
