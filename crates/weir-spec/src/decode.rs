//! Decoding of one event object into a normalised [`Event`] (`event-model.md` §1–§13):
//! phase A scans the members in document order, phase B applies the cross-field rules
//! B1–B19 in their fixed order. The first error met is the event's rejection.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::context::{ContextDraft, decode_context_into, merge_default, raw_object};
use crate::error::{EventError, Member};
use crate::event::{Context, Event, EventType, Location, NameVersion, RawJson, Screen};
use crate::ip::{ContextIpError, ContextIpResolver};
use crate::json::{Kind, Value};
use crate::locale::is_accepted_country;
use crate::timestamp::{Timestamp, TimestampError};
use crate::useragent::{normalize_browser_name, normalize_os_name, parse_user_agent};

/// What a geolocation database returns for an IP (`event-model.md` §9).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GeoRecord {
    /// English city name.
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2 code as the database spells it.
    pub country_code: Option<String>,
    pub latitude: f64,
    pub longitude: f64,
}

/// A geolocation lookup (MaxMind City database or similar); failures are silent (`None`).
pub trait Geolocator: Send + Sync {
    fn locate(&self, ip: IpAddr) -> Option<GeoRecord>;
}

/// Per-request inputs shared by every event of the request.
#[derive(Clone, Copy)]
pub(crate) struct Scope<'c> {
    pub(crate) connection_id: &'c str,
    pub(crate) ip_fallback: bool,
    pub(crate) received_at: Timestamp,
    pub(crate) request_ip: IpAddr,
    /// The request-level `sentAt` (envelope value, else `receivedAt`).
    pub(crate) sent_at: Timestamp,
    pub(crate) default_context: Option<&'c ContextDraft>,
    /// The type of a typed path.
    pub(crate) path_type: Option<EventType>,
    /// A single-event body on `/v1/events` (selects the missing-type message).
    pub(crate) single: bool,
    /// Segment-compatible paths: `null` members count as absent, and members real SDKs
    /// send where the strict paths forbid them are ignored.
    pub(crate) lenient: bool,
    pub(crate) geolocator: Option<&'c dyn Geolocator>,
}

/// Work that repeats across the events of one request, done once per request: the request
/// IP's stored forms, and the browser and OS parsed from each distinct user agent (a batch from
/// one SDK repeats the same user agent).
#[derive(Debug)]
pub(crate) struct Memo {
    ip: ContextIpResolver,
    user_agents: Vec<(String, NameVersion, NameVersion)>,
}

/// At most this many distinct user agents are remembered per request.
const MEMO_USER_AGENTS: usize = 16;

impl Memo {
    pub(crate) fn new(scope: &Scope<'_>) -> Memo {
        Memo {
            ip: ContextIpResolver::new(scope.request_ip, scope.ip_fallback),
            user_agents: Vec::new(),
        }
    }

    /// The browser and OS sections §11.2 derives from `user_agent`.
    fn user_agent(&mut self, user_agent: &str) -> (NameVersion, NameVersion) {
        if let Some((_, browser, os)) = self.user_agents.iter().find(|(ua, ..)| ua == user_agent) {
            return (browser.clone(), os.clone());
        }
        let (browser, os) = parse_user_agent(user_agent);
        let convert = |named: crate::useragent::Named| NameVersion {
            name: Some(named.name.to_string()),
            other: named.other,
            version: named.version,
        };
        let (browser, os) = (convert(browser), convert(os));
        if self.user_agents.len() < MEMO_USER_AGENTS {
            self.user_agents
                .push((user_agent.to_owned(), browser.clone(), os.clone()));
        }
        (browser, os)
    }
}

/// The members phase A collected.
#[derive(Default)]
struct Members {
    anonymous_id: Option<String>,
    category: Option<String>,
    channel: Option<String>,
    context: Option<ContextDraft>,
    event: Option<String>,
    group_id: Option<String>,
    message_id: Option<String>,
    name: Option<String>,
    original_timestamp: Option<Timestamp>,
    previous_id: Option<String>,
    properties: Option<RawJson>,
    sent_at: Option<Timestamp>,
    timestamp: Option<Timestamp>,
    traits: Option<RawJson>,
    event_type: Option<EventType>,
    user_id: Option<String>,
}

/// How a string member treats `null`.
#[derive(Clone, Copy, PartialEq)]
enum NullIs {
    Absent,
    Error,
}

pub(crate) fn decode_event(
    object: Value<'_, '_>,
    scope: &Scope<'_>,
    memo: &mut Memo,
) -> Result<Box<Event>, EventError> {
    // The members are collected and the rules applied in place: the context draft and the
    // event are large, and moving them costs more than most rules.
    let mut members = Members::default();
    scan_members(object, scope.lenient, &mut members)?;
    apply_rules(&mut members, scope, memo)
}

/// Phase A (§3), into `m` (empty).
fn scan_members(object: Value<'_, '_>, lenient: bool, m: &mut Members) -> Result<(), EventError> {
    let strict_null = if lenient {
        NullIs::Absent
    } else {
        NullIs::Error
    };
    for (key, value) in object.members() {
        match key.as_ref() {
            "anonymousId" => m.anonymous_id = string(value, "anonymousId", NullIs::Absent)?,
            "category" => m.category = string(value, "category", NullIs::Absent)?,
            "groupId" => m.group_id = string(value, "groupId", NullIs::Absent)?,
            "messageId" => m.message_id = string(value, "messageId", NullIs::Absent)?,
            "userId" => m.user_id = string(value, "userId", NullIs::Absent)?,
            "name" => m.name = string(value, "name", NullIs::Absent)?,
            "channel" => m.channel = string(value, "channel", strict_null)?,
            "event" => m.event = string(value, "event", strict_null)?,
            "previousId" => m.previous_id = string(value, "previousId", strict_null)?,
            "originalTimestamp" => {
                m.original_timestamp = timestamp(value, "originalTimestamp", NullIs::Absent)?
            }
            "timestamp" => m.timestamp = timestamp(value, "timestamp", NullIs::Absent)?,
            "sentAt" => m.sent_at = timestamp(value, "sentAt", strict_null)?,
            "type" => {
                m.event_type = match str_member(value, "type", strict_null)? {
                    None => None,
                    Some(name) => Some(EventType::from_name(&name).ok_or(EventError::InvalidType)?),
                }
            }
            "traits" => m.traits = object_member(value, "traits")?,
            "properties" => m.properties = object_member(value, "properties")?,
            "context" => match value.kind() {
                Kind::Object => {
                    let draft = m.context.insert(ContextDraft::default());
                    decode_context_into(value, lenient, draft)?;
                }
                Kind::Null if lenient => m.context = None,
                _ => return Err(EventError::ContextNotObject),
            },
            _ => {}
        }
    }
    Ok(())
}

fn string(value: Value<'_, '_>, key: Member, null: NullIs) -> Result<Option<String>, EventError> {
    Ok(str_member(value, key, null)?.map(Cow::into_owned))
}

/// A string member, borrowed from the body where it has no escapes; empty is absent.
fn str_member<'a>(
    value: Value<'_, 'a>,
    key: Member,
    null: NullIs,
) -> Result<Option<Cow<'a, str>>, EventError> {
    match value.as_str() {
        Some(text) if text.is_empty() => Ok(None),
        Some(text) => Ok(Some(text)),
        None if value.is_null() && null == NullIs::Absent => Ok(None),
        None => Err(EventError::NotString(key)),
    }
}

fn timestamp(
    value: Value<'_, '_>,
    key: Member,
    null: NullIs,
) -> Result<Option<Timestamp>, EventError> {
    let Some(text) = str_member(value, key, null)? else {
        return Ok(None);
    };
    match Timestamp::parse(&text) {
        Ok(parsed) => Ok(Some(parsed)),
        Err(TimestampError::Syntax) => Err(EventError::InvalidTimestamp(key)),
        Err(TimestampError::Year) => Err(EventError::InvalidYear(key)),
    }
}

fn object_member(value: Value<'_, '_>, key: Member) -> Result<Option<RawJson>, EventError> {
    match value.kind() {
        Kind::Object => Ok(Some(raw_object(value))),
        Kind::Null => Ok(None),
        _ => Err(EventError::NotObjectMember(key)),
    }
}

/// Phase B (§1 table), in order.
fn apply_rules(
    m: &mut Members,
    scope: &Scope<'_>,
    memo: &mut Memo,
) -> Result<Box<Event>, EventError> {
    use EventType::{Alias, Group, Identify, Page, Screen as ScreenType, Track};

    // B1: batch default context.
    if let Some(default) = scope.default_context {
        match m.context.as_mut() {
            Some(own) => merge_default(own, default),
            None => m.context = Some(default.clone()),
        }
    }
    let context = m.context.get_or_insert_with(ContextDraft::default);

    // B2: type.
    let event_type = match m.event_type.or(scope.path_type) {
        Some(t) => t,
        None if scope.single => return Err(EventError::MissingTypeSingle),
        None => return Err(EventError::MissingTypeBatch),
    };

    // B3: identity.
    if m.user_id.is_none() && m.anonymous_id.is_none() {
        return Err(EventError::MissingIdentity(event_type));
    }
    let anonymous_id = m.anonymous_id.take().unwrap_or_else(|| new_uuid(""));

    // B4: category.
    if event_type != Page && m.category.is_some() {
        if !scope.lenient {
            return Err(EventError::NotPermitted("category", event_type));
        }
        m.category = None;
    }

    // B5: browser and OS.
    normalize_browser_and_os(context, memo);

    // B6: IP.
    let ip = memo
        .ip
        .resolve(context.ip.as_deref())
        .map_err(|error| match error {
            ContextIpError::Invalid => EventError::InvalidIp,
            ContextIpError::Multicast => EventError::MulticastIp,
        })?;
    context.ip = ip.stored;

    // B7: geolocation.
    if let (None, Some(geo_ip), Some(geolocator)) =
        (&context.location, ip.geolocation, scope.geolocator)
    {
        context.location = geolocator.locate(geo_ip).and_then(location_from);
    }

    // B8: screen ranges.
    let screen = match context.screen.take() {
        None => None,
        Some(draft) => {
            let in_range = |v: i64| (1..=32767).contains(&v);
            let width = checked_dimension(draft.width, in_range, EventError::ScreenWidth)?;
            let height = checked_dimension(draft.height, in_range, EventError::ScreenHeight)?;
            if draft.density.is_some_and(|d| d < 0.0) {
                return Err(EventError::ScreenDensity);
            }
            Some(Screen {
                width,
                height,
                density: draft.density,
            })
        }
    };

    // B9: event.
    match (event_type, &m.event) {
        (Track, None) => return Err(EventError::MissingEvent),
        (Track, Some(_)) | (_, None) => {}
        (_, Some(_)) => return Err(EventError::NotPermitted("event", event_type)),
    }
    // B10: groupId.
    match (event_type, &m.group_id) {
        (Group, None) => return Err(EventError::MissingGroupId),
        (Group, Some(_)) | (_, None) => {}
        (_, Some(_)) => return Err(EventError::NotPermitted("groupId", event_type)),
    }
    // B11: messageId.
    let message_id_generated = m.message_id.is_none();
    let message_id = m.message_id.take().unwrap_or_else(|| new_uuid("weir-"));
    // B12: name.
    if !matches!(event_type, Page | ScreenType) && m.name.is_some() {
        return Err(EventError::NotPermitted("name", event_type));
    }
    // B13: previousId.
    match (event_type, &m.previous_id) {
        (Alias, None) => return Err(EventError::MissingPreviousId),
        (Alias, Some(_)) | (_, None) => {}
        (_, Some(_)) => return Err(EventError::NotPermitted("previousId", event_type)),
    }
    // B14: properties.
    let properties = match event_type {
        Track | Page | ScreenType => {
            Some(m.properties.take().unwrap_or_else(RawJson::empty_object))
        }
        _ if m.properties.is_none() || scope.lenient => None,
        _ => return Err(EventError::NotPermitted("properties", event_type)),
    };

    // B15–B17: times.
    let received_at = scope.received_at;
    let sent_at = m.sent_at.unwrap_or(scope.sent_at);
    let skew = |t| Timestamp::skew_corrected(t, received_at, sent_at);
    let (original_timestamp, timestamp) = match (m.original_timestamp, m.timestamp) {
        (Some(original), Some(timestamp)) => (original, timestamp),
        (None, Some(timestamp)) => (timestamp, skew(timestamp)),
        (Some(original), None) => (original, skew(original)),
        (None, None) => (received_at, received_at),
    };

    // B18: traits.
    let context_traits = context.traits.take();
    let traits = match event_type {
        Identify | Group => match m.traits.take() {
            Some(traits) => traits,
            // Weir: RudderStack SDKs send identify traits only in `context.traits`.
            None if scope.lenient => context_traits.unwrap_or_else(RawJson::empty_object),
            None => RawJson::empty_object(),
        },
        _ if m.traits.is_some() => return Err(EventError::TraitsPlacement(event_type)),
        _ => context_traits.unwrap_or_else(RawJson::empty_object),
    };

    // B19: the stored context.
    let context = Context {
        app: context.app.take(),
        browser: context.browser.take(),
        campaign: context.campaign.take(),
        consents: context.consents.take(),
        device: context.device.take(),
        ip: context.ip.take(),
        library: context.library.take(),
        locale: context.locale.map(str::to_string),
        location: context.location.take(),
        network: context.network.take(),
        os: context.os.take(),
        page: context.page.take(),
        referrer: context.referrer.take(),
        screen,
        session: context.session.take(),
        timezone: context.timezone.take(),
        user_agent: context.user_agent.take(),
    };

    Ok(Box::new(Event {
        connection_id: scope.connection_id.to_string(),
        anonymous_id,
        channel: m.channel.take(),
        category: m.category.take(),
        context,
        event: m.event.take(),
        group_id: m.group_id.take(),
        message_id,
        message_id_generated,
        name: m.name.take(),
        properties,
        received_at,
        sent_at,
        original_timestamp,
        timestamp,
        traits,
        event_type,
        previous_id: m.previous_id.take(),
        user_id: m.user_id.take(),
    }))
}

fn checked_dimension(
    value: Option<i64>,
    in_range: impl Fn(i64) -> bool,
    error: EventError,
) -> Result<Option<i16>, EventError> {
    match value {
        None => Ok(None),
        Some(v) if in_range(v) => Ok(i16::try_from(v).ok()),
        Some(_) => Err(error),
    }
}

/// B5 (§11): normalise client names; fill a missing section from the user agent.
fn normalize_browser_and_os(context: &mut ContextDraft, memo: &mut Memo) {
    fn normalize(
        section: &mut NameVersion,
        normalize_name: fn(&str, Option<&str>) -> (&'static str, Option<String>),
    ) {
        let client_other = section.other.take();
        if let Some(name) = section.name.as_deref() {
            let (name, other) = normalize_name(name, client_other.as_deref());
            section.name = Some(name.to_string());
            section.other = other;
        }
    }
    if let Some(browser) = context.browser.as_mut() {
        normalize(browser, normalize_browser_name);
    }
    if let Some(os) = context.os.as_mut() {
        normalize(os, normalize_os_name);
    }
    if let Some(user_agent) = context.user_agent.as_deref()
        && (context.browser.is_none() || context.os.is_none())
    {
        let (browser, os) = memo.user_agent(user_agent);
        if context.browser.is_none() {
            context.browser = Some(browser);
        }
        if context.os.is_none() {
            context.os = Some(os);
        }
    }
}

/// `prefix` followed by a new random (version 4) UUID in lowercase hyphenated form.
fn new_uuid(prefix: &str) -> String {
    let mut buffer = uuid::Uuid::encode_buffer();
    let id = uuid::Uuid::new_v4();
    let text = id.hyphenated().encode_lower(&mut buffer);
    let mut out = String::with_capacity(prefix.len() + text.len());
    out.push_str(prefix);
    out.push_str(text);
    out
}

/// B7 (§9): a location from a database record; `None` when no field survives.
fn location_from(record: GeoRecord) -> Option<Location> {
    let location = Location {
        city: record.city.filter(|c| !c.is_empty()),
        country: record.country_code.filter(|c| is_accepted_country(c)),
        latitude: (record.latitude != 0.0).then_some(record.latitude),
        longitude: (record.longitude != 0.0).then_some(record.longitude),
        speed: None,
    };
    (location != Location::default()).then_some(location)
}
