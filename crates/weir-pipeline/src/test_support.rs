//! Helpers shared by the crate's unit tests: events built from JSON with sensible defaults.

use serde_json::{Value, json};
use weir_spec::Event;

/// A track event whose canonical JSON is the defaults with `overrides`' members replacing them
/// (a `null` override removes the member).
pub(crate) fn event(overrides: Value) -> Event {
    let mut object = json!({
        "connectionId": "Conn11111111",
        "anonymousId": "anon-1",
        "event": "Clicked",
        "messageId": "message-1",
        "properties": {},
        "receivedAt": "2025-03-01T12:00:00Z",
        "sentAt": "2025-03-01T12:00:00Z",
        "originalTimestamp": "2025-03-01T12:00:00Z",
        "timestamp": "2025-03-01T12:00:00Z",
        "traits": {},
        "type": "track",
    });
    if let (Some(base), Value::Object(overrides)) = (object.as_object_mut(), overrides) {
        for (key, value) in overrides {
            if value.is_null() {
                base.remove(&key);
            } else {
                base.insert(key, value);
            }
        }
    }
    event_from_text(&object.to_string())
}

/// The event of a canonical JSON text, for members whose exact spelling matters.
pub(crate) fn event_from_text(text: &str) -> Event {
    match Event::from_canonical_json(text) {
        Ok(event) => event,
        Err(error) => panic!("test event {text} does not decode: {error}"),
    }
}
