//! Test events: fully populated canonical events of each type with the rows they must become,
//! and events decoded from requests through the public weir-spec decoder.

use serde_json::{Map, Value, json};
use weir_spec::{Compat, Event, EventScope, EventType, Limits, Outcome, Request, Route, Timestamp};

/// A context with every section and field set (booleans `false` where that must be kept).
const FULL_CONTEXT: &str = r#"{"app":{"name":"Shop","version":"1.2","build":"34","namespace":"com.example.shop"},"browser":{"name":"Other","other":"Netscape","version":"9.0"},"campaign":{"name":"spring","source":"news","medium":"email","term":"shoes","content":"banner"},"consents":{"ads":false,"analytics":true},"device":{"id":"dev-1","advertisingId":"ad-1","adTrackingEnabled":false,"manufacturer":"Apple","model":"iPhone15,2","name":"Ann's phone","type":"ios","token":"tok-1"},"ip":"203.0.113.7","library":{"name":"analytics.js","version":"4.1.0"},"locale":"it-IT","location":{"city":"Rome","country":"IT","latitude":41.9028,"longitude":12.4964,"speed":3.5},"network":{"bluetooth":false,"carrier":"TIM","cellular":true,"wifi":false},"os":{"name":"iOS","version":"17.1"},"page":{"path":"/p","referrer":"https://ref.example/","search":"?q=1","title":"Tab\there","url":"https://shop.example/p?q=1"},"referrer":{"id":"r-1","type":"partner"},"screen":{"width":1170,"height":2532,"density":1.36},"session":{"id":1730385552647,"start":true},"timezone":"Europe/Rome","userAgent":"Mozilla/5.0 (iPhone)"}"#;

/// The columns every fully populated event has in common, as [`crate::EventRows`] shows them.
fn full_context_row() -> Map<String, Value> {
    let row = json!({
        "kpid": null,
        "connection_id": "Conn12345678",
        "anonymous_id": "anon-1",
        "channel": "mobile",
        "context_app_name": "Shop",
        "context_app_version": "1.2",
        "context_app_build": "34",
        "context_app_namespace": "com.example.shop",
        "context_browser_name": "Other",
        "context_browser_other": "Netscape",
        "context_browser_version": "9.0",
        "context_campaign_name": "spring",
        "context_campaign_source": "news",
        "context_campaign_medium": "email",
        "context_campaign_term": "shoes",
        "context_campaign_content": "banner",
        "context_consents": {"ads": false, "analytics": true},
        "context_device_id": "dev-1",
        "context_device_advertising_id": "ad-1",
        "context_device_ad_tracking_enabled": false,
        "context_device_manufacturer": "Apple",
        "context_device_model": "iPhone15,2",
        "context_device_name": "Ann's phone",
        "context_device_type": "ios",
        "context_device_token": "tok-1",
        "context_ip": "203.0.113.7",
        "context_library_name": "analytics.js",
        "context_library_version": "4.1.0",
        "context_locale": "it-IT",
    });
    let rest = json!({
        "context_location_city": "Rome",
        "context_location_country": "IT",
        "context_location_latitude": 41.9028,
        "context_location_longitude": 12.4964,
        "context_location_speed": 3.5,
        "context_network_bluetooth": false,
        "context_network_carrier": "TIM",
        "context_network_cellular": true,
        "context_network_wifi": false,
        "context_os_name": "iOS",
        "context_os_other": null,
        "context_os_version": "17.1",
        "context_page_path": "/p",
        "context_page_referrer": "https://ref.example/",
        "context_page_search": "?q=1",
        "context_page_title": "Tab\there",
        "context_page_url": "https://shop.example/p?q=1",
        "context_referrer_id": "r-1",
        "context_referrer_type": "partner",
        "context_screen_width": 1170,
        "context_screen_height": 2532,
        "context_screen_density": 1.36,
        "context_session_id": 1730385552647_i64,
        "context_session_start": true,
        "context_timezone": "Europe/Rome",
        "context_user_agent": "Mozilla/5.0 (iPhone)",
        "received_at": "2024-10-31T14:39:12.647Z",
        "sent_at": "2024-10-31T14:39:12.000Z",
        "timestamp": "2024-10-31T14:39:06.050Z",
    });
    let mut map = Map::new();
    merge_map(&mut map, row);
    merge_map(&mut map, rest);
    map
}

/// A fully populated event of `event_type` (every field its type allows) and its expected row.
pub(super) fn full_event(event_type: EventType) -> (Event, Map<String, Value>) {
    let message_id = format!("msg-{}", event_type.as_str());
    let context: Value = serde_json::from_str(FULL_CONTEXT).unwrap();
    let mut event = json!({
        "connectionId": "Conn12345678",
        "anonymousId": "anon-1",
        "channel": "mobile",
        "context": context,
        "messageId": message_id,
        "receivedAt": "2024-10-31T14:39:12.647Z",
        "sentAt": "2024-10-31T14:39:12Z",
        "originalTimestamp": "2024-10-31T14:39:06.050999Z",
        "timestamp": "2024-10-31T14:39:06.050999Z",
        "traits": {},
        "type": event_type.as_str(),
        "userId": "user-1",
    });
    let (members, columns) = match event_type {
        EventType::Track => (
            json!({"event": "Order Completed", "properties": {"total": 12.5, "items": [{"sku": "a\"b\\c"}], "note": "é\n"}, "traits": {"plan": "pro"}}),
            json!({"event": "Order Completed", "properties": {"total": 12.5, "items": [{"sku": "a\"b\\c"}], "note": "é\n"}, "traits": {"plan": "pro"}}),
        ),
        EventType::Page => (
            json!({"category": "Docs", "name": "Home", "properties": {"path": "/"}}),
            json!({"category": "Docs", "name": "Home", "properties": {"path": "/"}}),
        ),
        EventType::Screen => (
            json!({"name": "Cart", "properties": {"step": 2}}),
            json!({"name": "Cart", "properties": {"step": 2}}),
        ),
        EventType::Identify => (
            json!({"traits": {"email": "ann@example.com", "age": 41}}),
            json!({"traits": {"email": "ann@example.com", "age": 41}}),
        ),
        EventType::Group => (
            json!({"groupId": "acme", "traits": {"name": "Acme", "employees": 12}}),
            json!({"group_id": "acme", "traits": {"name": "Acme", "employees": 12}}),
        ),
        EventType::Alias => (
            json!({"previousId": "old-user"}),
            json!({"previous_id": "old-user"}),
        ),
    };
    merge(&mut event, members);
    let event = Event::from_canonical_json(&event.to_string()).unwrap();
    let mut row = full_context_row();
    row.insert("message_id".into(), Value::String(message_id));
    row.insert("type".into(), Value::String(event_type.as_str().into()));
    row.insert("user_id".into(), "user-1".into());
    row.insert("traits".into(), json!({}));
    for name in [
        "category",
        "event",
        "group_id",
        "name",
        "properties",
        "previous_id",
    ] {
        row.insert(name.into(), Value::Null);
    }
    merge_map(&mut row, columns);
    (event, row)
}

fn merge(target: &mut Value, extra: Value) {
    if let Value::Object(target) = target {
        merge_map(target, extra);
    }
}

fn merge_map(target: &mut Map<String, Value>, extra: Value) {
    if let Value::Object(extra) = extra {
        target.extend(extra);
    }
}

/// A minimal track event with the given ids, properties and timestamp.
pub(super) fn track(message_id: &str, properties: &str, timestamp: &str) -> Event {
    let text = format!(
        r#"{{"connectionId":"Conn12345678","anonymousId":"anon-1","event":"e","messageId":"{message_id}","properties":{properties},"receivedAt":"{timestamp}","sentAt":"{timestamp}","originalTimestamp":"{timestamp}","timestamp":"{timestamp}","traits":{{}},"type":"track"}}"#
    );
    Event::from_canonical_json(&text).unwrap_or_else(|error| panic!("{error}: {text}"))
}

/// The events a request decodes to on the webhook connection `S_WH` (no IP fallback) from
/// socket peer 127.0.0.1; panics on a rejected request or event.
pub(super) fn decode(route: Route, body: &str) -> Vec<Event> {
    let request = Request::parse(body.as_bytes(), route, Limits::default()).unwrap();
    let scope = EventScope {
        connection_id: "SWebhook0001",
        ip_fallback: false,
        received_at: Timestamp::parse("2024-10-31T14:39:12.647Z").unwrap(),
        request_ip: "127.0.0.1".parse().unwrap(),
        geolocator: None,
    };
    request
        .decode_events(&scope)
        .into_iter()
        .map(|outcome| match outcome {
            Outcome::Accepted(event) => *event,
            Outcome::Rejected(rejection) => panic!("rejected: {rejection:?}"),
        })
        .collect()
}

pub(super) const BATCH: Route = Route {
    compat: Compat::Krenalis,
    event_type: None,
};

pub(super) const TRACK: Route = Route {
    compat: Compat::Krenalis,
    event_type: Some(EventType::Track),
};
