//! Request bodies (`ingest-api.md` §3–§4): the three body forms of `/v1/events`, the single
//! object of typed paths, envelope members, and the per-event outcomes.
//!
//! Decoding is split in two so the ingest server can authenticate in between:
//! [`Request::parse`] reads the body form and the request-level members (a failure is a 400
//! for the whole request); after authentication [`Request::decode_events`] decodes each
//! event into an [`Outcome`].

use std::borrow::Cow;
use std::net::IpAddr;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

use crate::context::{ContextDraft, decode_context};
use crate::decode::{Geolocator, Memo, Scope, decode_event};
use crate::error::{EventError, RequestError};
use crate::event::{Event, EventType};
use crate::json::{Document, Kind, Value};
use crate::timestamp::{Timestamp, TimestampError};

/// Which family of ingest paths a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compat {
    /// `/v1/events` and `/v1/events/{type}`: Krenalis-strict.
    Krenalis,
    /// `/v1/batch` and `/v1/{type}`: accepts the shapes Segment and RudderStack SDKs send
    /// (`null` members as absent, `properties`/`category` where not permitted ignored).
    Segment,
}

/// The ingest path of a request: its family, and the event type of a typed path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub compat: Compat,
    /// `Some` on typed paths (`/v1/events/track`, `/v1/track`, …).
    pub event_type: Option<EventType>,
}

/// Request-level limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most events in one batch (default 20000).
    pub max_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_events: MAX_EVENTS,
        }
    }
}

/// The spec's bound on events per request.
pub const MAX_EVENTS: usize = 20_000;

/// Rejected events keep at most this much of their raw text for live events.
pub const MAX_RAW_EVENT_BYTES: usize = 16 * 1024;

/// Converts a decompressed body to Unicode NFC before JSON parsing (`ingest-api.md` §3.1).
/// Bytes that are not valid UTF-8 are left as they are (the parser rejects them where they
/// matter); the valid prefix before them is still normalised.
pub fn normalize_body(body: &[u8]) -> Cow<'_, [u8]> {
    if is_valid_nfc(body) {
        return Cow::Borrowed(body);
    }
    let (valid, rest) = match std::str::from_utf8(body) {
        Ok(text) => (text, &[][..]),
        Err(error) => {
            let (head, tail) = body.split_at(error.valid_up_to());
            (std::str::from_utf8(head).unwrap_or(""), tail)
        }
    };
    if is_nfc_quick(valid.chars()) == IsNormalized::Yes {
        return Cow::Borrowed(body);
    }
    let mut normalized: Vec<u8> = valid.nfc().collect::<String>().into_bytes();
    normalized.extend_from_slice(rest);
    Cow::Owned(normalized)
}

/// Whether `body` is valid UTF-8 whose NFC quick check says `Yes`, looking only at its
/// non-ASCII runs: UTF-8 validity is decided within each maximal run of bytes ≥ 0x80, and the
/// quick check treats every ASCII character as a starter that resets its state, so the quick
/// check of the whole text is `Yes` exactly when that of every run is. `false` sends the body
/// to the full (slow) path, which decides exactly.
fn is_valid_nfc(body: &[u8]) -> bool {
    let mut at = 0;
    loop {
        at = find_non_ascii(body, at);
        let Some(rest) = body.get(at..).filter(|rest| !rest.is_empty()) else {
            return true;
        };
        let run_len = rest.iter().position(u8::is_ascii).unwrap_or(rest.len());
        let run = rest.get(..run_len).unwrap_or_default();
        match std::str::from_utf8(run) {
            Ok(text) if is_nfc_quick(text.chars()) == IsNormalized::Yes => {}
            _ => return false,
        }
        at += run_len;
    }
}

/// Index of the first byte ≥ 0x80 at or after `from`, or `bytes.len()`.
fn find_non_ascii(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    const HIGHS: u128 = 0x8080_8080_8080_8080_8080_8080_8080_8080;
    while let Some(chunk) = bytes.get(at..).and_then(<[u8]>::first_chunk::<16>) {
        if u128::from_le_bytes(*chunk) & HIGHS != 0 {
            break;
        }
        at += 16;
    }
    while let Some(byte) = bytes.get(at) {
        if !byte.is_ascii() {
            return at;
        }
        at += 1;
    }
    at
}

/// Per-request inputs of event decoding, known after authentication.
#[derive(Clone, Copy)]
pub struct EventScope<'c> {
    /// The authenticated source connection.
    pub connection_id: &'c str,
    /// Whether the connection's connector falls back to the request IP (`event-model.md` §8.2).
    pub ip_fallback: bool,
    /// When the request was received, truncated to milliseconds.
    pub received_at: Timestamp,
    /// The request IP (see [`crate::request_ip`]).
    pub request_ip: IpAddr,
    pub geolocator: Option<&'c dyn Geolocator>,
}

impl std::fmt::Debug for EventScope<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventScope")
            .field("connection_id", &self.connection_id)
            .field("ip_fallback", &self.ip_fallback)
            .field("received_at", &self.received_at)
            .field("request_ip", &self.request_ip)
            .field("geolocator", &self.geolocator.is_some())
            .finish()
    }
}

/// What became of one event of a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Accepted(Box<Event>),
    Rejected(Rejection),
}

/// A rejected event.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// Position in the batch (0 for single-event bodies).
    pub index: usize,
    /// The element's `messageId` when it is a non-empty string.
    pub message_id: Option<String>,
    pub error: EventError,
    /// The element's raw text, cut to at most [`MAX_RAW_EVENT_BYTES`].
    pub raw: String,
    /// Whether `raw` was cut.
    pub raw_truncated: bool,
}

/// Where the events of a parsed body are.
#[derive(Debug)]
enum Body<'a> {
    /// `/v1/events` and `/v1/batch`: a root array, an envelope, or one event object.
    Batch { doc: Document<'a>, form: BatchForm },
    /// A typed path whose body is a syntactically valid object.
    TypedObject(Document<'a>),
    /// A typed path whose body is not an object: the kind of its first token, if it has one.
    TypedOther { kind: Option<Kind>, raw: &'a [u8] },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum BatchForm {
    Array,
    Envelope,
    Single,
}

/// A request body whose form and request-level members are valid.
#[derive(Debug)]
pub struct Request<'a> {
    body: Body<'a>,
    route: Route,
    sent_at: Option<Timestamp>,
    default_context: Option<ContextDraft>,
    /// The body `writeKey`; on typed paths its errors are kept until asked for.
    write_key: Result<Option<String>, RequestError>,
    connection_id: Option<String>,
    event_count: usize,
}

impl<'a> Request<'a> {
    /// Reads the body form and the request-level members. `body` is decompressed and
    /// NFC-normalised ([`normalize_body`]).
    pub fn parse(
        body: &'a [u8],
        route: Route,
        limits: Limits,
    ) -> Result<Request<'a>, RequestError> {
        if body.is_empty() {
            return Err(RequestError::EmptyBody);
        }
        let first = body
            .iter()
            .copied()
            .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
        let mut request = Request {
            body: Body::TypedOther {
                kind: None,
                raw: body,
            },
            route,
            sent_at: None,
            default_context: None,
            write_key: Ok(None),
            connection_id: None,
            event_count: 1,
        };
        if route.event_type.is_some() {
            request.body = match first {
                Some(b'{') => match Document::parse(body) {
                    Ok(doc) => {
                        request.write_key =
                            doc.root().member("writeKey").map(write_key).transpose();
                        Body::TypedObject(doc)
                    }
                    Err(_) => Body::TypedOther {
                        kind: None,
                        raw: body,
                    },
                },
                Some(b'[') => Body::TypedOther {
                    kind: Some(Kind::Array),
                    raw: body,
                },
                _ => Body::TypedOther {
                    kind: Document::parse(body).ok().map(|doc| doc.root().kind()),
                    raw: body,
                },
            };
            return Ok(request);
        }
        if !matches!(first, Some(b'{' | b'[')) {
            return Err(RequestError::NotObjectOrArray);
        }
        let doc = Document::parse(body)?;
        let root = doc.root();
        let form = if root.kind() == Kind::Array {
            BatchForm::Array
        } else if root.members().any(|(name, _)| name == "batch") {
            BatchForm::Envelope
        } else {
            BatchForm::Single
        };
        match form {
            BatchForm::Array => {
                request.event_count = root.len();
                check_count(request.event_count, limits)?;
            }
            BatchForm::Envelope | BatchForm::Single => {
                request.read_envelope(root, form, limits)?;
            }
        }
        request.body = Body::Batch { doc, form };
        Ok(request)
    }

    /// Envelope members in document order; the first error wins, the empty-batch check last.
    fn read_envelope(
        &mut self,
        root: Value<'_, '_>,
        form: BatchForm,
        limits: Limits,
    ) -> Result<(), RequestError> {
        let lenient = self.route.compat == Compat::Segment;
        for (name, value) in root.members() {
            match name.as_ref() {
                "batch" if form == BatchForm::Envelope => {
                    if value.kind() != Kind::Array {
                        return Err(RequestError::BatchNotArray);
                    }
                    self.event_count = value.len();
                    if self.event_count > limits.max_events {
                        return Err(RequestError::TooManyEvents);
                    }
                }
                "context" => {
                    if value.kind() != Kind::Object {
                        return Err(RequestError::ContextNotObject);
                    }
                    self.default_context = Some(decode_context(value, lenient)?);
                }
                "sentAt" => {
                    let text = value.as_str().ok_or(RequestError::SentAtNotString)?;
                    self.sent_at = Some(Timestamp::parse(&text).map_err(|error| match error {
                        TimestampError::Syntax => RequestError::SentAtInvalid,
                        TimestampError::Year => RequestError::SentAtYear,
                    })?);
                }
                "writeKey" => self.write_key = Ok(Some(write_key(value)?)),
                "connectionId" => {
                    let id = value.as_str().ok_or(RequestError::ConnectionIdNotString)?;
                    if !is_resource_id(&id) {
                        return Err(RequestError::ConnectionIdInvalid);
                    }
                    self.connection_id = Some(id.into_owned());
                }
                _ => {}
            }
        }
        check_count(self.event_count, limits)
    }

    /// The body `writeKey` (authentication mode C). On typed paths it is read only here, so
    /// its errors surface only when the caller needs it (no `Authorization` header).
    pub fn body_write_key(&self) -> Result<Option<&str>, RequestError> {
        self.write_key
            .as_ref()
            .map(Option::as_deref)
            .map_err(Clone::clone)
    }

    /// The body `connectionId` (authentication mode D; never read on typed paths).
    pub fn connection_id(&self) -> Option<&str> {
        self.connection_id.as_deref()
    }

    /// Number of events (batch elements; 1 for single-event bodies), as charged to the rate
    /// limiter.
    pub fn event_count(&self) -> usize {
        self.event_count
    }

    /// Decodes, validates and normalises every event, in order.
    pub fn decode_events(&self, scope: &EventScope<'_>) -> Vec<Outcome> {
        let mut decode_scope = Scope {
            connection_id: scope.connection_id,
            ip_fallback: scope.ip_fallback,
            received_at: scope.received_at,
            request_ip: scope.request_ip,
            sent_at: self.sent_at.unwrap_or(scope.received_at),
            default_context: self.default_context.as_ref(),
            path_type: self.route.event_type,
            single: false,
            lenient: self.route.compat == Compat::Segment,
            geolocator: scope.geolocator,
        };
        let mut memo = Memo::new(&decode_scope);
        match &self.body {
            Body::Batch { doc, form } => {
                let root = doc.root();
                let elements = match form {
                    BatchForm::Array => root.elements(),
                    BatchForm::Envelope => root.member("batch").unwrap_or(root).elements(),
                    BatchForm::Single => {
                        decode_scope.single = true;
                        return vec![decode_element(0, root, &decode_scope, &mut memo)];
                    }
                };
                let mut outcomes = Vec::with_capacity(self.event_count);
                outcomes.extend(
                    elements
                        .enumerate()
                        .map(|(i, e)| decode_element(i, e, &decode_scope, &mut memo)),
                );
                outcomes
            }
            Body::TypedObject(doc) => vec![decode_element(0, doc.root(), &decode_scope, &mut memo)],
            Body::TypedOther { kind, raw } => vec![Outcome::Rejected(Rejection {
                index: 0,
                message_id: None,
                error: match kind {
                    None if raw.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') => {
                        EventError::InvalidJson
                    }
                    kind => EventError::NotObject(*kind),
                },
                raw: truncate_raw(&String::from_utf8_lossy(raw)),
                raw_truncated: raw.len() > MAX_RAW_EVENT_BYTES,
            })],
        }
    }
}

fn decode_element(
    index: usize,
    element: Value<'_, '_>,
    scope: &Scope<'_>,
    memo: &mut Memo,
) -> Outcome {
    let result = if element.kind() == Kind::Object {
        decode_event(element, scope, memo)
    } else {
        Err(EventError::NotObject(Some(element.kind())))
    };
    match result {
        Ok(event) => Outcome::Accepted(event),
        Err(error) => Outcome::Rejected(Rejection {
            index,
            message_id: element
                .member("messageId")
                .and_then(|v| v.as_str())
                .filter(|id| !id.is_empty())
                .map(Cow::into_owned),
            error,
            raw: truncate_raw(element.raw_text()),
            raw_truncated: element.raw_text().len() > MAX_RAW_EVENT_BYTES,
        }),
    }
}

fn truncate_raw(text: &str) -> String {
    if text.len() <= MAX_RAW_EVENT_BYTES {
        return text.to_string();
    }
    let mut end = MAX_RAW_EVENT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

fn check_count(count: usize, limits: Limits) -> Result<(), RequestError> {
    match count {
        0 => Err(RequestError::EmptyBatch),
        n if n > limits.max_events => Err(RequestError::TooManyEvents),
        _ => Ok(()),
    }
}

fn write_key(value: Value<'_, '_>) -> Result<String, RequestError> {
    match value.as_str() {
        None => Err(RequestError::WriteKeyNotString),
        Some(key) if key.is_empty() => Err(RequestError::WriteKeyEmpty),
        Some(key) => Ok(key.into_owned()),
    }
}

/// The resource-id format (12 characters of Base58), used for `connectionId`.
pub fn is_resource_id(text: &str) -> bool {
    const BASE58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    text.len() == 12 && text.bytes().all(|b| BASE58.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition `is_valid_nfc` must match: UTF-8, and a `Yes` from the quick check of
    /// the whole text.
    fn whole_text_check(body: &[u8]) -> bool {
        std::str::from_utf8(body).is_ok_and(|text| is_nfc_quick(text.chars()) == IsNormalized::Yes)
    }

    fn pieces() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(b"a".to_vec()),
            Just(b"e".to_vec()),
            Just(b" ".to_vec()),
            Just("\u{301}".as_bytes().to_vec()),
            Just("\u{327}".as_bytes().to_vec()),
            Just("\u{e9}".as_bytes().to_vec()),
            Just("\u{212b}".as_bytes().to_vec()),
            Just("\u{1100}\u{1161}".as_bytes().to_vec()),
            Just("\u{ac00}".as_bytes().to_vec()),
            Just("\u{1f600}".as_bytes().to_vec()),
            Just(vec![0xff]),
            Just(vec![0xc3]),
            any::<char>().prop_map(|c| c.to_string().into_bytes()),
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #[test]
        fn fast_nfc_check_matches_the_whole_text_check(body in pieces()) {
            prop_assert_eq!(is_valid_nfc(&body), whole_text_check(&body));
        }
    }

    #[test]
    fn non_ascii_runs_are_found_at_any_alignment() {
        for len in 0..40 {
            for at in 0..len {
                let mut bytes = vec![b'x'; len];
                bytes[at] = 0xc3;
                assert_eq!(find_non_ascii(&bytes, 0), at);
                assert_eq!(find_non_ascii(&bytes, at + 1), len);
            }
        }
    }
}
