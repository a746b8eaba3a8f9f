//! Property tests: arbitrary bytes and arbitrary JSON never panic and always yield a request
//! error or one outcome per event; the canonical form round-trips; and normalisation is
//! idempotent — sending a normalised event again yields the same event.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::{BATCH, SEGMENT_BATCH, decode_with, received_at, typed};
use crate::{
    Compat, Event, EventScope, EventType, Limits, Outcome, Request, Route, normalize_body,
};

fn routes() -> impl Strategy<Value = Route> {
    prop_oneof![
        Just(BATCH),
        Just(SEGMENT_BATCH),
        (0..6usize, any::<bool>()).prop_map(|(t, segment)| Route {
            compat: if segment {
                Compat::Segment
            } else {
                Compat::Krenalis
            },
            event_type: Some(EventType::ALL[t]),
        }),
    ]
}

/// Decoding never panics; a parsed request yields exactly one outcome per counted event.
fn check_total(body: &[u8], route: Route) -> Result<(), TestCaseError> {
    let body = normalize_body(body);
    if let Ok(request) = Request::parse(&body, route, Limits::default()) {
        let outcomes = request.decode_events(&super::scope(received_at()));
        prop_assert_eq!(outcomes.len(), request.event_count());
        for outcome in outcomes {
            if let Outcome::Accepted(event) = outcome {
                let json = event.to_canonical_json();
                let reread = Event::from_canonical_json(&json).ok();
                prop_assert_eq!(reread.as_ref(), Some(&*event));
            }
        }
    }
    Ok(())
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("type".to_string()),
        Just("event".to_string()),
        Just("userId".to_string()),
        Just("anonymousId".to_string()),
        Just("context".to_string()),
        Just("batch".to_string()),
        Just("properties".to_string()),
        Just("traits".to_string()),
        Just("sentAt".to_string()),
        Just("timestamp".to_string()),
        Just("screen".to_string()),
        Just("ip".to_string()),
        "[a-z]{1,6}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        prop_oneof![
            Just("track".to_string()),
            Just("2024-10-31T14:39:06.050Z".to_string()),
            Just("1.2.3.4".to_string()),
            ".{0,12}"
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Events that are mostly valid, covering every context section.
fn event_like() -> impl Strategy<Value = Value> {
    let text = "[A-Za-z0-9 é/_.-]{1,12}";
    let opt_text = proptest::option::of(text);
    let context = (
        proptest::option::of(prop_oneof![
            Just("Chrome"),
            Just("firefox"),
            Just("Other"),
            Just("My Browser"),
            Just("")
        ]),
        proptest::option::of(prop_oneof![
            Just("macos"),
            Just("Linux"),
            Just("chrome os"),
            Just("Other"),
            Just("Plan 9")
        ]),
        opt_text.clone(),
        proptest::option::of(prop_oneof![
            Just(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/117.0.0.0 Safari/537.36"
            ),
            Just(
                "Mozilla/5.0 (iPhone; CPU iPhone OS 14_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.0 Mobile/15E148 Safari/604.1"
            ),
            Just("SomeUnknownAgent/1.0"),
        ]),
        proptest::option::of(prop_oneof![
            Just("it"),
            Just("en-GB"),
            Just("xx"),
            Just("zh")
        ]),
        proptest::option::of((1..5000i64, 1..5000i64, 0.0..9.99f64)),
        proptest::option::of((any::<bool>(), any::<bool>(), opt_text.clone())),
        proptest::option::of((
            -90.0..90.0f64,
            -180.0..180.0f64,
            0.0..100.0f64,
            opt_text.clone(),
        )),
        proptest::option::of(proptest::collection::btree_map(
            "[a-z_]{1,8}",
            any::<bool>(),
            0..4,
        )),
        proptest::option::of((any::<i64>(), any::<bool>())),
        proptest::option::of(prop_oneof![
            Just("10.1.2.3"),
            Just("2001:db8::7"),
            Just("0.0.0.0")
        ]),
        proptest::option::of((opt_text.clone(), opt_text.clone())),
    );
    (0..6usize, opt_text.clone(), opt_text.clone(), opt_text, context, proptest::option::of(any::<i32>()))
        .prop_map(|(t, user_id, anonymous_id, name, ctx, prop)| {
            let event_type = EventType::ALL[t];
            let mut event = Map::new();
            event.insert("type".into(), json!(event_type.as_str()));
            event.insert("userId".into(), json!(user_id.unwrap_or_else(|| "u".into())));
            if let Some(id) = anonymous_id {
                event.insert("anonymousId".into(), json!(id));
            }
            match event_type {
                EventType::Track => {
                    event.insert("event".into(), json!("Clicked"));
                }
                EventType::Page | EventType::Screen => {
                    if let Some(name) = name {
                        event.insert("name".into(), json!(name));
                    }
                }
                EventType::Group => {
                    event.insert("groupId".into(), json!("g-1"));
                }
                EventType::Alias => {
                    event.insert("previousId".into(), json!("p-1"));
                }
                EventType::Identify => {}
            }
            if matches!(event_type, EventType::Track | EventType::Page | EventType::Screen)
                && let Some(value) = prop
            {
                event.insert("properties".into(), json!({"v": value, "s": "x"}));
            }
            let (browser, os, timezone, user_agent, locale, screen, network, location, consents, session, ip, app) = ctx;
            let mut context = Map::new();
            if let Some(name) = browser {
                context.insert("browser".into(), json!({"name": name, "version": "1.2"}));
            }
            if let Some(name) = os {
                context.insert("os".into(), json!({"name": name}));
            }
            if let Some(tz) = timezone {
                context.insert("timezone".into(), json!(tz));
            }
            if let Some(ua) = user_agent {
                context.insert("userAgent".into(), json!(ua));
            }
            if let Some(locale) = locale {
                context.insert("locale".into(), json!(locale));
            }
            if let Some((width, height, density)) = screen {
                context.insert("screen".into(), json!({"width": width, "height": height, "density": density}));
            }
            if let Some((wifi, cellular, carrier)) = network {
                context.insert("network".into(), json!({"wifi": wifi, "cellular": cellular, "carrier": carrier}));
            }
            if let Some((latitude, longitude, speed, city)) = location {
                context.insert("location".into(), json!({"latitude": latitude, "longitude": longitude, "speed": speed, "city": city}));
            }
            if let Some(consents) = consents {
                context.insert("consents".into(), json!(consents));
            }
            if let Some((id, start)) = session {
                context.insert("sessionId".into(), json!(id));
                context.insert("sessionStart".into(), json!(start));
            }
            if let Some(ip) = ip {
                context.insert("ip".into(), json!(ip));
            }
            if let Some((name, version)) = app {
                context.insert("app".into(), json!({"name": name, "version": version}));
            }
            if !context.is_empty() {
                event.insert("context".into(), Value::Object(context));
            }
            Value::Object(event)
        })
}

/// The request form of a normalised event: what a client would send to get it again.
fn as_sent(event: &Event) -> Value {
    let mut value: Value =
        serde_json::from_str(&event.to_canonical_json()).expect("canonical JSON");
    let object = value.as_object_mut().expect("object");
    object.remove("connectionId");
    object.remove("receivedAt");
    if !matches!(event.event_type, EventType::Identify | EventType::Group)
        && let Some(traits) = object.remove("traits")
    {
        let context = object.entry("context").or_insert_with(|| json!({}));
        context
            .as_object_mut()
            .expect("context object")
            .insert("traits".into(), traits);
    }
    value
}

fn decode_one(value: &Value) -> Option<Event> {
    let body = serde_json::to_vec(&json!([value])).expect("serialises");
    let request = Request::parse(&body, BATCH, Limits::default()).ok()?;
    let scope = EventScope {
        ip_fallback: false,
        ..super::scope(received_at())
    };
    match request.decode_events(&scope).pop()? {
        Outcome::Accepted(event) => Some(*event),
        Outcome::Rejected(_) => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512), route in routes()) {
        check_total(&body, route)?;
    }

    #[test]
    fn arbitrary_json_never_panics(value in arbitrary_json(), route in routes()) {
        let body = serde_json::to_vec(&value).expect("serialises");
        check_total(&body, route)?;
        let wrapped = serde_json::to_vec(&json!({"batch": [value.clone(), value]})).expect("serialises");
        check_total(&wrapped, route)?;
    }

    #[test]
    fn normalisation_is_idempotent_on_canonical_output(value in event_like()) {
        if let Some(first) = decode_one(&value) {
            let again = decode_one(&as_sent(&first));
            prop_assert_eq!(again.as_ref(), Some(&first), "re-sent: {}", as_sent(&first));
            let json = first.to_canonical_json();
            let reread = Event::from_canonical_json(&json).expect("reads back");
            prop_assert_eq!(reread.to_canonical_json(), json);
        }
    }
}

#[test]
fn typed_paths_count_one_event() {
    let outcomes =
        decode_with(b"[1,2]", typed(EventType::Page)).expect("typed paths never fail on JSON");
    assert_eq!(outcomes.len(), 1);
}
