//! Errors of the event model: request-level errors (the whole request is answered 400) and
//! per-event rejections (the event is dropped, the request still succeeds). Every message is
//! byte-exact as the spec gives it (`ingest-api.md` §7.2, `event-model.md` §14).

use std::fmt;

use thiserror::Error;

use crate::event::EventType;
use crate::json::{Kind, SyntaxError};

/// An error in a context member, shared by an event's `context` (rejects the event) and the
/// envelope `context` (rejects the request).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ContextError {
    #[error("property 'context.{0}' is not a valid string")]
    NotString(&'static str),
    #[error("property 'context.{0}' is not a valid boolean")]
    NotBoolean(&'static str),
    #[error("property 'context.{0}' is not a valid number")]
    NotNumber(&'static str),
    #[error("property 'context.{0}' is not a 64-bit integer")]
    NotInt64(&'static str),
    #[error("property 'context.{0}' is not a valid object")]
    NotObject(&'static str),
    #[error("property 'context.{0}.{1}' is not a string")]
    FieldNotString(&'static str, &'static str),
    #[error("property 'context.{0}.{1}' is not a boolean")]
    FieldNotBoolean(&'static str, &'static str),
    #[error("property 'context.{0}.{1}' is not a number")]
    FieldNotNumber(&'static str, &'static str),
    #[error("property 'context.{0}.{1}' is not a valid 16-bit integer")]
    FieldNotInt16(&'static str, &'static str),
    #[error("property 'context.{0}.{1}' is not a valid 64-bit integer")]
    FieldNotInt64(&'static str, &'static str),
    #[error("property 'context.{0}.{1}' is not a valid 64-bit floating-point number")]
    FieldNotFloat64(&'static str, &'static str),
    #[error("property 'context.screen.density' exceeds the allowed precision of 3")]
    DensityPrecision,
    #[error("property 'context.session' is specified multiple times")]
    SessionTwice,
    #[error("property 'context.consents' contains an empty purpose")]
    EmptyPurpose,
    #[error("value of {} in 'context.consents' is not a valid boolean", GoQuoted(.0))]
    ConsentNotBoolean(String),
}

/// Why a whole request is rejected with 400 `BadRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RequestError {
    #[error("request's body is empty")]
    EmptyBody,
    #[error("request's content is not a valid JSON object or array")]
    NotObjectOrArray,
    #[error("error parsing the request body as JSON: {0}")]
    Syntax(#[from] SyntaxError),
    #[error("batch must contain at least one event")]
    EmptyBatch,
    #[error("batch contains too many events")]
    TooManyEvents,
    #[error("property 'batch' is not a valid array")]
    BatchNotArray,
    #[error("property 'context' is not a valid object")]
    ContextNotObject,
    #[error(transparent)]
    Context(#[from] ContextError),
    #[error("property 'sentAt' is not a valid string")]
    SentAtNotString,
    #[error("property 'sentAt' is not a valid ISO 8601 timestamp")]
    SentAtInvalid,
    #[error("property 'sentAt' has an invalid year value")]
    SentAtYear,
    #[error("property 'writeKey' is not a valid string")]
    WriteKeyNotString,
    #[error("property 'writeKey' cannot be empty")]
    WriteKeyEmpty,
    #[error("property 'connectionId' is not a string")]
    ConnectionIdNotString,
    #[error("property 'connectionId' is not a valid connection identifier")]
    ConnectionIdInvalid,
}

impl RequestError {
    /// HTTP status: every request-level body error is a 400.
    pub fn status(&self) -> u16 {
        400
    }

    /// The `code` of the JSON error body.
    pub fn code(&self) -> &'static str {
        "BadRequest"
    }
}

/// A top-level event member a message can name.
pub(crate) type Member = &'static str;

/// Why one event was rejected. `Display` is the exact message of `event-model.md` §14.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EventError {
    #[error("expected an object for the event, but found {} instead", found_name(*.0))]
    NotObject(Option<Kind>),
    #[error("unexpected invalid token while decoding an event")]
    InvalidJson,
    #[error("property 'type' is required for a single-event request")]
    MissingTypeSingle,
    #[error("property 'type' is required for a batch request")]
    MissingTypeBatch,
    #[error("property 'type' is not a valid event type")]
    InvalidType,
    #[error("property '{0}' is not a valid string")]
    NotString(Member),
    #[error("property '{0}' is not a valid object")]
    NotObjectMember(Member),
    #[error("property 'context' is not an valid object")]
    ContextNotObject,
    #[error("property '{0}' is not a valid ISO 8601 timestamp")]
    InvalidTimestamp(Member),
    #[error("property '{0}' has an invalid year value")]
    InvalidYear(Member),
    #[error(transparent)]
    Context(#[from] ContextError),
    #[error("screen width value is outside the allowed range [1, 32767]")]
    ScreenWidth,
    #[error("screen height value is outside the allowed range [1, 32767]")]
    ScreenHeight,
    #[error("screen density value must be a positive number")]
    ScreenDensity,
    #[error("{}", missing_identity(*.0))]
    MissingIdentity(EventType),
    #[error("property 'event' is required for a track event")]
    MissingEvent,
    #[error("property 'groupId' is required for a group event")]
    MissingGroupId,
    #[error("property 'previousId' is required for an alias event")]
    MissingPreviousId,
    #[error("property '{0}' is not permitted for a {1} event")]
    NotPermitted(Member, EventType),
    #[error("property 'traits' must be specified as 'context.traits' for a {0} event")]
    TraitsPlacement(EventType),
    #[error("property 'ip' is not a valid IP address")]
    InvalidIp,
    #[error("property 'ip' cannot be a multicast IP address")]
    MulticastIp,
}

impl EventError {
    /// The `reason` label of the rejection metric (`event-model.md` §14).
    pub fn reason(&self) -> &'static str {
        match self {
            EventError::NotObject(_) => "not_object",
            EventError::InvalidJson => "invalid_json",
            EventError::MissingTypeSingle | EventError::MissingTypeBatch => "missing_type",
            EventError::InvalidType => "invalid_type",
            EventError::NotString(_)
            | EventError::NotObjectMember(_)
            | EventError::ContextNotObject => "invalid_member",
            EventError::InvalidTimestamp(_) | EventError::InvalidYear(_) => "invalid_timestamp",
            EventError::Context(_) => "invalid_context",
            EventError::ScreenWidth | EventError::ScreenHeight | EventError::ScreenDensity => {
                "out_of_range"
            }
            EventError::MissingIdentity(_) => "missing_identity",
            EventError::MissingEvent
            | EventError::MissingGroupId
            | EventError::MissingPreviousId => "missing_member",
            EventError::NotPermitted(..) | EventError::TraitsPlacement(_) => "not_permitted",
            EventError::InvalidIp | EventError::MulticastIp => "invalid_ip",
        }
    }
}

fn found_name(kind: Option<Kind>) -> &'static str {
    kind.map_or("invalid", Kind::name)
}

fn missing_identity(event_type: EventType) -> String {
    match event_type {
        EventType::Identify | EventType::Alias => {
            format!("property 'userId' is required for an {event_type} event")
        }
        _ => format!(
            "either 'anonymousId' or 'userId' properties are required for a {event_type} event"
        ),
    }
}

/// Formats a string like Go's `%q`.
struct GoQuoted<'a>(&'a str);

impl fmt::Display for GoQuoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::with_capacity(self.0.len() + 2);
        out.push('"');
        for c in self.0.chars() {
            crate::json::quote_char_into(&mut out, c, '"');
        }
        out.push('"');
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_exact() {
        let check = |error: EventError, expected: &str| assert_eq!(error.to_string(), expected);
        check(
            EventError::NotObject(Some(Kind::Number)),
            "expected an object for the event, but found number instead",
        );
        check(
            EventError::NotObject(None),
            "expected an object for the event, but found invalid instead",
        );
        check(
            EventError::NotPermitted("properties", EventType::Identify),
            "property 'properties' is not permitted for a identify event",
        );
        check(
            EventError::MissingIdentity(EventType::Alias),
            "property 'userId' is required for an alias event",
        );
        check(
            EventError::MissingIdentity(EventType::Track),
            "either 'anonymousId' or 'userId' properties are required for a track event",
        );
        check(
            EventError::Context(ContextError::ConsentNotBoolean("analytics".into())),
            "value of \"analytics\" in 'context.consents' is not a valid boolean",
        );
        check(
            EventError::Context(ContextError::ConsentNotBoolean("a\"b\n".into())),
            "value of \"a\\\"b\\n\" in 'context.consents' is not a valid boolean",
        );
        check(
            EventError::ContextNotObject,
            "property 'context' is not an valid object",
        );
        assert_eq!(
            RequestError::ContextNotObject.to_string(),
            "property 'context' is not a valid object"
        );
    }
}
