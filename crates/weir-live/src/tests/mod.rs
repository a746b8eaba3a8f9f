//! Tests of the hub through its public API, with a manual clock where time matters.

mod listeners;
mod publish;
mod sampling;
mod sse;
mod streams;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use weir_spec::{Event, Timestamp};

use crate::{Clock, Entry, ListenerRead, LiveConfig, LiveEvents, Predicate, StreamItem};

const WORKSPACE: &str = "wsAAAAAAAAAA";
const OTHER_WORKSPACE: &str = "wsBBBBBBBBBB";
const SOURCE_A: &str = "srcAAAAAAAAA";
const SOURCE_B: &str = "srcBBBBBBBBB";
const SOURCE_C: &str = "srcCCCCCCCCC";

/// A clock that moves only when told to.
#[derive(Debug)]
struct ManualClock(Mutex<Instant>);

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *self.0.lock().unwrap()
    }
}

impl ManualClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

fn hub() -> LiveEvents {
    LiveEvents::new(LiveConfig::default())
}

fn hub_with_clock(config: LiveConfig) -> (LiveEvents, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock(Mutex::new(Instant::now())));
    (LiveEvents::with_clock(config, clock.clone()), clock)
}

fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(1_700_000_000_000 + ms).unwrap()
}

fn decoded(connection: &str, message_id: &str, ms: i64, name: &str) -> Event {
    let t = timestamp(ms);
    Event::from_canonical_json(&format!(
        r#"{{"connectionId":"{connection}","anonymousId":"anon","event":"{name}","messageId":"{message_id}","receivedAt":"{t}","sentAt":"{t}","originalTimestamp":"{t}","timestamp":"{t}","traits":{{}},"type":"track"}}"#
    ))
    .unwrap()
}

/// An accepted `track` event named `name`.
fn named(connection: &str, message_id: &str, ms: i64, name: &str) -> Entry {
    let event = decoded(connection, message_id, ms, name);
    let json: Arc<str> = event.to_canonical_json().into();
    Entry::accepted(Arc::new(event), json)
}

/// An accepted `track` event named "Clicked".
fn accepted(connection: &str, message_id: &str, ms: i64) -> Entry {
    named(connection, message_id, ms, "Clicked")
}

fn rejected(connection: &str, ms: i64) -> Entry {
    Entry::rejected(
        connection,
        timestamp(ms),
        "property 'type' is required",
        r#"{"event":"x"}"#,
        false,
    )
}

fn duplicate(connection: &str, message_id: &str, ms: i64) -> Entry {
    let event = decoded(connection, message_id, ms, "Clicked");
    let json: Arc<str> = event.to_canonical_json().into();
    Entry::duplicate(&event, Some(json))
}

fn predicate(f: impl Fn(&Event) -> bool + Send + Sync + 'static) -> Option<Predicate> {
    Some(Arc::new(f))
}

fn parse(json: &str) -> serde_json::Value {
    serde_json::from_str(json).unwrap()
}

/// The `messageId` of each returned entry (accepted and duplicate), or `error` for rejected.
fn labels(read: &ListenerRead) -> Vec<String> {
    read.events.iter().map(|json| label(json)).collect()
}

fn label(json: &str) -> String {
    let value = parse(json);
    match (&value["messageId"], &value["error"]) {
        (serde_json::Value::String(id), _) => id.clone(),
        (_, serde_json::Value::String(error)) => format!("rejected: {error}"),
        _ => panic!("unexpected entry {json}"),
    }
}

/// Every item a subscription has pending, as (`id`, type, label) or ("omitted", count).
fn drain(subscription: &mut crate::Subscription) -> Vec<String> {
    std::iter::from_fn(|| subscription.try_next())
        .map(|item| match item {
            StreamItem::Entry { id, kind, json } => format!("{id} {kind} {}", label(&json)),
            StreamItem::Omitted { count } => format!("omitted {count}"),
        })
        .collect()
}
