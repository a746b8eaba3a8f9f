//! Fuzz target `decode`: any bytes, as any ingest route, through the whole request decoder.
//!
//! The first input byte picks the route (bit 0: Krenalis or Segment paths; the rest, modulo
//! 7: the batch path or one of the six typed paths) and the connector's IP fallback (bit 7);
//! the remaining bytes are the request body. The body goes through `normalize_body`,
//! `Request::parse` and `decode_events`, which must not panic, and must give one outcome per
//! counted event. Every accepted event must survive its canonical JSON form:
//! `Event::from_canonical_json(&event.to_canonical_json())` is the same event, and writing
//! that again gives the same text.

#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use libfuzzer_sys::fuzz_target;
use weir_spec::{
    Compat, Event, EventScope, EventType, Limits, Outcome, Request, Route, Timestamp,
    normalize_body,
};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let route = Route {
        compat: if selector & 1 == 0 {
            Compat::Krenalis
        } else {
            Compat::Segment
        },
        event_type: match usize::from(selector >> 1) % 7 {
            0 => None,
            n => Some(EventType::ALL[n - 1]),
        },
    };
    let body = normalize_body(body);
    let Ok(request) = Request::parse(&body, route, Limits::default()) else {
        return;
    };
    let scope = EventScope {
        connection_id: "Bn3kQ8vRt2Xa",
        ip_fallback: selector & 0x80 != 0,
        // A fixed clock keeps every run reproducible: 2026-03-14T09:26:53.589Z.
        received_at: Timestamp::from_unix_millis(1_773_480_413_589).expect("a valid time"),
        request_ip: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 23)),
        geolocator: None,
    };
    let outcomes = request.decode_events(&scope);
    assert_eq!(
        outcomes.len(),
        request.event_count(),
        "one outcome per counted event"
    );
    for outcome in outcomes {
        let Outcome::Accepted(event) = outcome else {
            continue;
        };
        let canonical = event.to_canonical_json();
        let read_back = Event::from_canonical_json(&canonical).unwrap_or_else(|error| {
            panic!("the canonical JSON does not read back ({error}):\n{canonical}")
        });
        assert_eq!(
            read_back, *event,
            "the canonical JSON reads back as a different event:\n{canonical}"
        );
        assert_eq!(
            read_back.to_canonical_json(),
            canonical,
            "the canonical JSON is not stable"
        );
    }
});
