//! One small test per rule of `event-model.md` §2–§5 and §13: the field matrix, phase-A
//! member types, the phase-B order, identifiers, timestamps and the canonical form.

use super::{SEGMENT_BATCH, decode_with, one, received_at, typed};
use crate::{Event, EventType, Outcome};

fn reject(event_json: &str, expected: &str) {
    assert_eq!(
        one(event_json).expect_err(event_json),
        expected,
        "event: {event_json}"
    );
}

fn accept(event_json: &str) -> Event {
    let json = one(event_json).unwrap_or_else(|e| panic!("{event_json}: rejected: {e}"));
    Event::from_canonical_json(&json).expect("canonical JSON reads back")
}

/// Minimal valid members for each type, to which one member under test is added.
fn base(event_type: EventType) -> String {
    let extra = match event_type {
        EventType::Track => r#","event":"e""#,
        EventType::Group => r#","groupId":"g""#,
        EventType::Alias => r#","previousId":"p""#,
        _ => "",
    };
    format!(r#""type":"{event_type}","userId":"u"{extra}"#)
}

#[test]
fn field_matrix_forbidden_members() {
    let forbidden: [(&str, &str, &[EventType]); 6] = [
        (
            "event",
            r#""e""#,
            &[
                EventType::Page,
                EventType::Screen,
                EventType::Identify,
                EventType::Group,
                EventType::Alias,
            ],
        ),
        (
            "name",
            r#""n""#,
            &[
                EventType::Track,
                EventType::Identify,
                EventType::Group,
                EventType::Alias,
            ],
        ),
        (
            "category",
            r#""c""#,
            &[
                EventType::Track,
                EventType::Screen,
                EventType::Identify,
                EventType::Group,
                EventType::Alias,
            ],
        ),
        (
            "groupId",
            r#""g""#,
            &[
                EventType::Track,
                EventType::Page,
                EventType::Screen,
                EventType::Identify,
                EventType::Alias,
            ],
        ),
        (
            "previousId",
            r#""p""#,
            &[
                EventType::Track,
                EventType::Page,
                EventType::Screen,
                EventType::Identify,
                EventType::Group,
            ],
        ),
        (
            "properties",
            "{}",
            &[EventType::Identify, EventType::Group, EventType::Alias],
        ),
    ];
    for (member, value, types) in forbidden {
        for event_type in types {
            let json = format!(r#"{{{},"{member}":{value}}}"#, base(*event_type));
            reject(
                &json,
                &format!("property '{member}' is not permitted for a {event_type} event"),
            );
        }
    }
}

#[test]
fn field_matrix_allowed_members() {
    accept(r#"{"type":"page","userId":"u","name":"n","category":"c","properties":{"a":1}}"#);
    accept(r#"{"type":"screen","userId":"u","name":"n","properties":{}}"#);
    accept(r#"{"type":"track","userId":"u","event":"e","properties":{}}"#);
    accept(r#"{"type":"identify","userId":"u","traits":{"a":1}}"#);
    accept(r#"{"type":"group","userId":"u","groupId":"g","traits":{"a":1}}"#);
    accept(r#"{"type":"alias","userId":"u","previousId":"p"}"#);
    for event_type in EventType::ALL {
        let event = accept(&format!(r#"{{{},"channel":"web"}}"#, base(event_type)));
        assert_eq!(event.channel.as_deref(), Some("web"));
    }
}

#[test]
fn required_members() {
    reject(
        r#"{"type":"track","userId":"u"}"#,
        "property 'event' is required for a track event",
    );
    reject(
        r#"{"type":"group","userId":"u"}"#,
        "property 'groupId' is required for a group event",
    );
    reject(
        r#"{"type":"alias","userId":"u"}"#,
        "property 'previousId' is required for an alias event",
    );
    reject(
        r#"{"type":"track","event":""}"#,
        "either 'anonymousId' or 'userId' properties are required for a track event",
    );
    reject(
        r#"{"type":"group","groupId":"g"}"#,
        "either 'anonymousId' or 'userId' properties are required for a group event",
    );
    reject(
        r#"{"type":"identify","userId":null}"#,
        "property 'userId' is required for an identify event",
    );
    reject(
        r#"{"type":"alias","previousId":"p"}"#,
        "property 'userId' is required for an alias event",
    );
    // identify and alias with only anonymousId are accepted.
    accept(r#"{"type":"identify","anonymousId":"a"}"#);
    accept(r#"{"type":"alias","anonymousId":"a","previousId":"p"}"#);
}

#[test]
fn traits_placement() {
    for event_type in [
        EventType::Track,
        EventType::Page,
        EventType::Screen,
        EventType::Alias,
    ] {
        reject(
            &format!(r#"{{{},"traits":{{}}}}"#, base(event_type)),
            &format!(
                "property 'traits' must be specified as 'context.traits' for a {event_type} event"
            ),
        );
        let event = accept(&format!(
            r#"{{{},"context":{{"traits":{{"a":1}}}}}}"#,
            base(event_type)
        ));
        assert_eq!(event.traits.as_str(), r#"{"a":1}"#);
    }
    let event =
        accept(r#"{"type":"group","userId":"u","groupId":"g","context":{"traits":{"a":1}}}"#);
    assert_eq!(
        event.traits.as_str(),
        "{}",
        "context.traits is dropped on group"
    );
    assert!(event.context.is_empty() || event.context.ip.is_some());
}

#[test]
fn member_types() {
    // Wrong JSON type: the member comes first so its error is the first one met.
    for key in [
        "anonymousId",
        "category",
        "groupId",
        "messageId",
        "userId",
        "name",
        "channel",
        "event",
        "previousId",
        "type",
        "sentAt",
        "timestamp",
        "originalTimestamp",
    ] {
        reject(
            &format!(r#"{{"{key}":5}}"#),
            &format!("property '{key}' is not a valid string"),
        );
    }
    // null is an error for these members (on the strict paths), absent for the others.
    for key in ["channel", "event", "previousId", "sentAt", "type"] {
        reject(
            &format!(r#"{{"{key}":null}}"#),
            &format!("property '{key}' is not a valid string"),
        );
    }
    for key in [
        "anonymousId",
        "category",
        "groupId",
        "messageId",
        "name",
        "timestamp",
        "originalTimestamp",
    ] {
        reject(
            &format!(r#"{{"{key}":null}}"#),
            "property 'type' is required for a batch request",
        );
    }
    for key in ["traits", "properties"] {
        reject(
            &format!(r#"{{"type":"track","userId":"u","event":"e","{key}":""}}"#),
            &format!("property '{key}' is not a valid object"),
        );
    }
    reject(
        r#"{"type":"track","userId":"u","event":"e","context":[]}"#,
        "property 'context' is not an valid object",
    );
    reject(
        r#"{"type":"Track","userId":"u","event":"e"}"#,
        "property 'type' is not a valid event type",
    );
    reject(
        r#"{"type":"track","userId":"u","event":"e","timestamp":"yesterday"}"#,
        "property 'timestamp' is not a valid ISO 8601 timestamp",
    );
    reject(
        r#"{"type":"track","userId":"u","event":"e","originalTimestamp":"0000-01-01"}"#,
        "property 'originalTimestamp' has an invalid year value",
    );
    // Ids are any non-empty string; numbers are not coerced.
    reject(
        r#"{"type":"track","userId":12,"event":"e"}"#,
        "property 'userId' is not a valid string",
    );
    // Unknown members are ignored, and null/"" ids count as absent.
    let event = accept(
        r#"{"type":"track","userId":"u","event":"e","integrations":{},"kpid":"x","receivedAt":"z","groupId":"","anonymousId":null}"#,
    );
    assert!(event.group_id.is_none());
}

#[test]
fn the_first_error_in_document_order_wins() {
    reject(
        r#"{"userId":5,"event":7,"type":"track"}"#,
        "property 'userId' is not a valid string",
    );
    reject(
        r#"{"event":7,"userId":5,"type":"track"}"#,
        "property 'event' is not a valid string",
    );
    // Phase A errors beat every phase B rule.
    reject(
        r#"{"type":"identify","event":"x","timestamp":"no"}"#,
        "property 'timestamp' is not a valid ISO 8601 timestamp",
    );
    // Phase B order: identity (B3) before category (B4) before IP (B6) before screen (B8) before event (B9).
    reject(
        r#"{"type":"screen","category":"c"}"#,
        "either 'anonymousId' or 'userId' properties are required for a screen event",
    );
    reject(
        r#"{"type":"screen","userId":"u","category":"c","context":{"ip":"x"}}"#,
        "property 'category' is not permitted for a screen event",
    );
    reject(
        r#"{"type":"track","userId":"u","context":{"ip":"x","screen":{"width":-1}}}"#,
        "property 'ip' is not a valid IP address",
    );
    reject(
        r#"{"type":"track","userId":"u","context":{"screen":{"width":-1}}}"#,
        "screen width value is outside the allowed range [1, 32767]",
    );
    reject(
        r#"{"type":"page","userId":"u","event":"e","groupId":"g"}"#,
        "property 'event' is not permitted for a page event",
    );
    reject(
        r#"{"type":"page","userId":"u","groupId":"g","previousId":"p"}"#,
        "property 'groupId' is not permitted for a page event",
    );
    reject(
        r#"{"type":"track","event":"e","userId":"u","name":"n","previousId":"p"}"#,
        "property 'name' is not permitted for a track event",
    );
    reject(
        r#"{"type":"identify","userId":"u","previousId":"p","properties":{}}"#,
        "property 'previousId' is not permitted for a identify event",
    );
    reject(
        r#"{"type":"identify","userId":"u","properties":{},"traits":5}"#,
        "property 'traits' is not a valid object",
    );
}

#[test]
fn screen_ranges() {
    reject(
        r#"{"type":"track","userId":"u","event":"e","context":{"screen":{"width":32768}}}"#,
        "screen width value is outside the allowed range [1, 32767]",
    );
    reject(
        r#"{"type":"track","userId":"u","event":"e","context":{"screen":{"height":-3}}}"#,
        "screen height value is outside the allowed range [1, 32767]",
    );
    reject(
        r#"{"type":"track","userId":"u","event":"e","context":{"screen":{"density":-1.5}}}"#,
        "screen density value must be a positive number",
    );
    let event = accept(
        r#"{"type":"track","userId":"u","event":"e","context":{"screen":{"width":32767,"height":1,"density":2.0}}}"#,
    );
    let screen = event.context.screen.expect("screen");
    assert_eq!(
        (screen.width, screen.height, screen.density),
        (Some(32767), Some(1), Some(2.0))
    );
    // An out-of-range value inherited from the envelope rejects each event that took it.
    let outcomes = decode_with(br#"{"batch":[{"type":"track","userId":"u","event":"e"},{"type":"track","userId":"u","event":"e","context":{"screen":{"width":5}}}],"context":{"screen":{"width":0.0,"height":40000}}}"#, super::BATCH).expect("request ok");
    assert!(outcomes.iter().all(|o| matches!(o, Outcome::Rejected(r) if r.error.to_string() == "screen height value is outside the allowed range [1, 32767]")));
}

#[test]
fn identifiers_are_generated_when_missing() {
    let event = accept(r#"{"type":"track","userId":"u","event":"e"}"#);
    let anonymous = uuid::Uuid::parse_str(&event.anonymous_id).expect("uuid");
    assert_eq!(anonymous.get_version_num(), 4);
    assert_eq!(event.anonymous_id, anonymous.hyphenated().to_string());
    let message = event
        .message_id
        .strip_prefix("weir-")
        .expect("weir- prefix");
    assert_eq!(
        uuid::Uuid::parse_str(message)
            .expect("uuid")
            .get_version_num(),
        4
    );
    let other = accept(r#"{"type":"track","userId":"u","event":"e"}"#);
    assert_ne!(event.message_id, other.message_id);
    assert_eq!(event.connection_id, "Conn12345678");
}

#[test]
fn timestamps_follow_the_skew_table() {
    let r = received_at();
    let event = accept(r#"{"type":"track","userId":"u","event":"e"}"#);
    assert_eq!(
        (
            event.received_at,
            event.sent_at,
            event.original_timestamp,
            event.timestamp
        ),
        (r, r, r, r)
    );
    // Both sent: kept as sent, full precision.
    let event = accept(
        r#"{"type":"track","userId":"u","event":"e","originalTimestamp":"2024-01-01T00:00:00.123456789Z","timestamp":"2024-01-02T00:00:00Z","sentAt":"2024-01-03"}"#,
    );
    assert_eq!(
        event.original_timestamp.to_string(),
        "2024-01-01T00:00:00.123456789Z"
    );
    assert_eq!(event.timestamp.to_string(), "2024-01-02T00:00:00Z");
    assert_eq!(event.sent_at.to_string(), "2024-01-03T00:00:00Z");
    // Worked example of §4.2: the client clock ran 5 s slow.
    let outcomes = decode_with(br#"{"batch":[{"type":"track","userId":"u","event":"e","timestamp":"2024-10-31T14:39:00.123Z"}],"sentAt":"2024-10-31T14:39:10.123Z"}"#, super::BATCH).expect("ok");
    let Some(Outcome::Accepted(event)) = outcomes.first() else {
        panic!("accepted")
    };
    assert_eq!(event.timestamp.to_string(), "2024-10-31T14:39:05.123Z");
    // A corrected year outside 1..9999 falls back to receivedAt.
    let event = accept(
        r#"{"type":"track","userId":"u","event":"e","timestamp":"9999-12-31T23:59:59Z","sentAt":"0001-01-01T00:00:00Z"}"#,
    );
    assert_eq!(event.timestamp, r);
    // Sub-millisecond client precision is truncated in the corrected value.
    let event = accept(
        r#"{"type":"track","userId":"u","event":"e","timestamp":"2024-10-31T14:39:15.1239Z","sentAt":"2024-10-31T14:39:15.123Z"}"#,
    );
    assert_eq!(
        event.original_timestamp.to_string(),
        "2024-10-31T14:39:15.123900Z"
    );
    assert_eq!(event.timestamp.to_string(), "2024-10-31T14:39:15.123Z");
}

#[test]
fn segment_paths_are_lenient_only_where_specified() {
    let outcomes = decode_with(br#"{"batch":[{"type":"alias","userId":"u","previousId":"p","properties":{"x":1},"event":null}]}"#, SEGMENT_BATCH).expect("ok");
    assert!(matches!(&outcomes[0], Outcome::Accepted(e) if e.properties.is_none()));
    let outcomes = decode_with(
        br#"{"batch":[{"type":"track","userId":"u","event":"e","context":{"ip":null}}]}"#,
        SEGMENT_BATCH,
    )
    .expect("ok");
    assert!(
        matches!(&outcomes[0], Outcome::Rejected(r) if r.error.to_string() == "property 'context.ip' is not a valid string")
    );
    let outcomes = decode_with(
        br#"{"userId":"u","event":"e","name":"x"}"#,
        typed(EventType::Track),
    )
    .expect("ok");
    assert!(matches!(&outcomes[0], Outcome::Rejected(r) if r.error.reason() == "not_permitted"));
}

#[test]
fn canonical_json_order_and_round_trip() {
    let json = one(r#"{"userId":"u","type":"page","properties":{"b":1,"a":2},"name":"n","category":"c","channel":"web","messageId":"m","anonymousId":"a","context":{"userAgent":"SomeUnknownAgent/1.0","timezone":"Europe/Rome","session":{"id":1},"screen":{"density":2},"referrer":{"type":"t","id":"i"},"page":{"url":"u","title":"t","search":"s","referrer":"r","path":"p"},"os":{"version":"1","name":"linux"},"network":{"wifi":true,"cellular":false,"carrier":"c","bluetooth":true},"location":{"speed":1.5,"longitude":2,"latitude":3,"country":"IT","city":"Rome"},"locale":"it","library":{"version":"1","name":"l"},"ip":"1.2.3.4","device":{"token":"t","type":"y","name":"n","model":"m","manufacturer":"f","adTrackingEnabled":false,"advertisingId":"ad","id":"d"},"consents":{"z":true,"a":false},"campaign":{"content":"c","term":"t","medium":"m","source":"s","name":"n"},"app":{"namespace":"ns","build":"b","version":"v","name":"n"}}}"#).expect("accepted");
    let expected = concat!(
        r#"{"connectionId":"Conn12345678","anonymousId":"a","channel":"web","category":"c","context":{"#,
        r#""app":{"name":"n","version":"v","build":"b","namespace":"ns"},"browser":{"name":"Other","other":"Unknown"},"#,
        r#""campaign":{"name":"n","source":"s","medium":"m","term":"t","content":"c"},"consents":{"a":false,"z":true},"#,
        r#""device":{"id":"d","advertisingId":"ad","adTrackingEnabled":false,"manufacturer":"f","model":"m","name":"n","type":"y","token":"t"},"#,
        r#""ip":"1.2.3.4","library":{"name":"l","version":"1"},"locale":"it-IT","#,
        r#""location":{"city":"Rome","country":"IT","latitude":3,"longitude":2,"speed":1.5},"#,
        r#""network":{"bluetooth":true,"carrier":"c","cellular":false,"wifi":true},"os":{"name":"Linux","version":"1"},"#,
        r#""page":{"path":"p","referrer":"r","search":"s","title":"t","url":"u"},"referrer":{"id":"i","type":"t"},"#,
        r#""screen":{"density":2},"session":{"id":1},"timezone":"Europe/Rome","userAgent":"SomeUnknownAgent/1.0"},"#,
        r#""messageId":"m","name":"n","properties":{"b":1,"a":2},"receivedAt":"2024-10-31T14:39:15.123Z","#,
        r#""sentAt":"2024-10-31T14:39:15.123Z","originalTimestamp":"2024-10-31T14:39:15.123Z","timestamp":"2024-10-31T14:39:15.123Z","#,
        r#""traits":{},"type":"page","userId":"u"}"#
    );
    assert_eq!(json, expected);
    let event = Event::from_canonical_json(&json).expect("reads back");
    assert_eq!(event.to_canonical_json(), json);
}

#[test]
fn strings_are_escaped_as_json() {
    let json = one(r#"{"type":"track","userId":"a\"b\\c\u0001\n<&>é","event":"e","messageId":"m","anonymousId":"x"}"#).expect("accepted");
    assert!(json.contains(r#""userId":"a\"b\\c\u0001\n<&>é""#), "{json}");
    let event = Event::from_canonical_json(&json).expect("reads back");
    assert_eq!(event.user_id.as_deref(), Some("a\"b\\c\u{1}\n<&>é"));
}

#[test]
fn rejection_reasons_and_raw_text() {
    let outcomes = decode_with(
        br#"[ {"type":"track" , "messageId":"m-9"} , 7 ]"#,
        super::BATCH,
    )
    .expect("ok");
    let Outcome::Rejected(first) = &outcomes[0] else {
        panic!("rejected")
    };
    assert_eq!(first.error.reason(), "missing_identity");
    assert_eq!(first.raw, r#"{"type":"track" , "messageId":"m-9"}"#);
    assert_eq!(first.message_id.as_deref(), Some("m-9"));
    let Outcome::Rejected(second) = &outcomes[1] else {
        panic!("rejected")
    };
    assert_eq!(
        (second.index, second.error.reason(), second.raw.as_str()),
        (1, "not_object", "7")
    );
    // Raw text is cut to 16 KiB on a character boundary.
    let long = format!(
        r#"[{{"type":"track","userId":"u","p":"{}"}}]"#,
        "é".repeat(20_000)
    );
    let outcomes = decode_with(long.as_bytes(), super::BATCH).expect("ok");
    let Outcome::Rejected(rejection) = &outcomes[0] else {
        panic!("rejected")
    };
    assert!(rejection.raw.len() <= crate::MAX_RAW_EVENT_BYTES && rejection.raw.len() > 16_000);
    assert!(rejection.raw_truncated);
    assert!(!first.raw_truncated);
}
