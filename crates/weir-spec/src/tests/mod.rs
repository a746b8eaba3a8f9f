//! Crate-level tests through the public API: the field matrix and phase-B order
//! (`rules`), and property tests (`properties`).

mod properties;
mod rules;

use crate::{
    Compat, EventScope, EventType, Limits, Outcome, Request, RequestError, Route, Timestamp,
    normalize_body,
};

pub(super) const RECEIVED_AT: &str = "2024-10-31T14:39:15.123Z";

pub(super) fn received_at() -> Timestamp {
    Timestamp::parse(RECEIVED_AT).expect("valid")
}

pub(super) fn scope(received_at: Timestamp) -> EventScope<'static> {
    EventScope {
        connection_id: "Conn12345678",
        ip_fallback: true,
        received_at,
        request_ip: "192.168.1.1".parse().expect("ip"),
        geolocator: None,
    }
}

/// Decodes `body` as sent to `/v1/events` (or the typed/Segment path given by `route`).
pub(super) fn decode_with(body: &[u8], route: Route) -> Result<Vec<Outcome>, RequestError> {
    let body = normalize_body(body);
    let request = Request::parse(&body, route, Limits::default())?;
    Ok(request.decode_events(&scope(received_at())))
}

pub(super) const BATCH: Route = Route {
    compat: Compat::Krenalis,
    event_type: None,
};
pub(super) const SEGMENT_BATCH: Route = Route {
    compat: Compat::Segment,
    event_type: None,
};

pub(super) fn typed(event_type: EventType) -> Route {
    Route {
        compat: Compat::Krenalis,
        event_type: Some(event_type),
    }
}

/// The one outcome of a one-event batch: `Ok(canonical JSON)` or `Err(message)`.
pub(super) fn one(event_json: &str) -> Result<String, String> {
    let outcomes = decode_with(format!("[{event_json}]").as_bytes(), BATCH)
        .map_err(|e| format!("request: {e}"))?;
    match outcomes.into_iter().next() {
        Some(Outcome::Accepted(event)) => Ok(event.to_canonical_json()),
        Some(Outcome::Rejected(rejection)) => Err(rejection.error.to_string()),
        None => Err("no outcome".into()),
    }
}
