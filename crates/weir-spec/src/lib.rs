//! Weir's event model: decodes, validates and normalises ingest request bodies
//! (`shared/spec/event-model.md` and the body parts of `ingest-api.md`).
//!
//! No IO, no async, never panics. The flow for one request:
//!
//! 1. [`normalize_body`] (Unicode NFC of the decompressed body);
//! 2. [`Request::parse`]: body form and request-level members, or a [`RequestError`] (400);
//! 3. the caller authenticates (possibly with [`Request::body_write_key`]);
//! 4. [`Request::decode_events`]: one [`Outcome`] per event, in order — a normalised
//!    [`Event`] or a [`Rejection`] with its exact message.
//!
//! [`Event::to_canonical_json`] is the one serialisation every later stage uses.

mod context;
mod decode;
mod error;
mod event;
mod ip;
mod json;
mod locale;
mod request;
#[cfg(test)]
mod tests;
mod timestamp;
mod useragent;

pub use decode::{GeoRecord, Geolocator};
pub use error::{ContextError, EventError, RequestError};
pub use event::{
    App, Campaign, Context, Device, Event, EventType, Library, Location, NameVersion, Network,
    Page, RawJson, Referrer, Screen, Session, write_json_string,
};
pub use ip::{InvalidForwardedFor, request_ip};
pub use json::{Kind as JsonKind, Place, QuotedChar, SyntaxError};
pub use request::{
    Compat, EventScope, Limits, MAX_EVENTS, MAX_RAW_EVENT_BYTES, Outcome, Rejection, Request,
    Route, is_resource_id, normalize_body,
};
pub use timestamp::{Timestamp, TimestampError};
pub use useragent::{BROWSER_NAMES, OS_NAMES};
