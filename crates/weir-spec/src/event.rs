//! The normalised event (`event-model.md` §13) and its one canonical JSON form (§13.2).
//!
//! The canonical form is what the event log stores and what live events and destinations
//! show. It is written by hand (member order, datetime and number formats are part of the
//! contract) and read back with serde; [`Event::from_canonical_json`] of
//! [`Event::to_canonical_json`] gives back the same event.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer};

use crate::timestamp::Timestamp;

/// The six event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    Track,
    Page,
    Screen,
    Identify,
    Group,
    Alias,
}

impl EventType {
    pub const ALL: [EventType; 6] = [
        EventType::Track,
        EventType::Page,
        EventType::Screen,
        EventType::Identify,
        EventType::Group,
        EventType::Alias,
    ];

    /// The type's name as used in JSON and in paths.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Track => "track",
            EventType::Page => "page",
            EventType::Screen => "screen",
            EventType::Identify => "identify",
            EventType::Group => "group",
            EventType::Alias => "alias",
        }
    }

    /// Parses an exact, lowercase type name.
    pub fn from_name(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A JSON object kept exactly as the client sent it, minus insignificant whitespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawJson(String);

impl RawJson {
    pub(crate) fn from_compact(text: String) -> RawJson {
        RawJson(text)
    }

    pub(crate) fn empty_object() -> RawJson {
        RawJson("{}".to_string())
    }

    /// The compact JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(deserializer)?;
        Ok(RawJson(raw.get().to_string()))
    }
}

/// A normalised event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Event {
    pub connection_id: String,
    pub anonymous_id: String,
    pub channel: Option<String>,
    pub category: Option<String>,
    #[serde(default)]
    pub context: Context,
    pub event: Option<String>,
    pub group_id: Option<String>,
    pub message_id: String,
    pub name: Option<String>,
    pub properties: Option<RawJson>,
    pub received_at: Timestamp,
    pub sent_at: Timestamp,
    pub original_timestamp: Timestamp,
    pub timestamp: Timestamp,
    pub traits: RawJson,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub previous_id: Option<String>,
    pub user_id: Option<String>,
}

/// `context`: every member optional; an all-absent context is omitted from the JSON.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Context {
    pub app: Option<App>,
    pub browser: Option<NameVersion>,
    pub campaign: Option<Campaign>,
    /// Purpose → consent, sorted by byte value.
    pub consents: Option<BTreeMap<String, bool>>,
    pub device: Option<Device>,
    pub ip: Option<String>,
    pub library: Option<Library>,
    pub locale: Option<String>,
    pub location: Option<Location>,
    pub network: Option<Network>,
    pub os: Option<NameVersion>,
    pub page: Option<Page>,
    pub referrer: Option<Referrer>,
    pub screen: Option<Screen>,
    pub session: Option<Session>,
    pub timezone: Option<String>,
    pub user_agent: Option<String>,
}

impl Context {
    pub fn is_empty(&self) -> bool {
        *self == Context::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct App {
    pub name: Option<String>,
    pub version: Option<String>,
    pub build: Option<String>,
    pub namespace: Option<String>,
}

/// `context.browser` and `context.os`: `other` is set by the server when `name` is `Other`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameVersion {
    pub name: Option<String>,
    pub other: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Campaign {
    pub name: Option<String>,
    pub source: Option<String>,
    pub medium: Option<String>,
    pub term: Option<String>,
    pub content: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Device {
    pub id: Option<String>,
    pub advertising_id: Option<String>,
    pub ad_tracking_enabled: Option<bool>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub device_type: Option<String>,
    pub token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Library {
    pub name: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub city: Option<String>,
    pub country: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub speed: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub bluetooth: Option<bool>,
    pub carrier: Option<String>,
    pub cellular: Option<bool>,
    pub wifi: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    pub path: Option<String>,
    pub referrer: Option<String>,
    pub search: Option<String>,
    pub title: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Referrer {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub referrer_type: Option<String>,
}

/// `context.screen`; width and height are in 1..=32767, density is positive with at most
/// two decimals and below 10.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Screen {
    pub width: Option<i16>,
    pub height: Option<i16>,
    pub density: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    pub id: Option<i64>,
    pub start: Option<bool>,
}

impl Event {
    /// The canonical JSON form (`event-model.md` §13.2).
    pub fn to_canonical_json(&self) -> String {
        let mut out = String::with_capacity(512);
        self.write_canonical_json(&mut out);
        out
    }

    /// Appends the canonical JSON form to `out`.
    pub fn write_canonical_json(&self, out: &mut String) {
        let mut w = ObjectWriter::open(out);
        w.string("connectionId", &self.connection_id);
        w.string("anonymousId", &self.anonymous_id);
        w.opt_string("channel", self.channel.as_deref());
        w.opt_string("category", self.category.as_deref());
        if !self.context.is_empty() {
            w.key("context");
            self.context.write(w.out);
        }
        w.opt_string("event", self.event.as_deref());
        w.opt_string("groupId", self.group_id.as_deref());
        w.string("messageId", &self.message_id);
        w.opt_string("name", self.name.as_deref());
        if let Some(properties) = &self.properties {
            w.raw("properties", properties.as_str());
        }
        w.timestamp("receivedAt", self.received_at);
        w.timestamp("sentAt", self.sent_at);
        w.timestamp("originalTimestamp", self.original_timestamp);
        w.timestamp("timestamp", self.timestamp);
        w.raw("traits", self.traits.as_str());
        w.string("type", self.event_type.as_str());
        w.opt_string("previousId", self.previous_id.as_deref());
        w.opt_string("userId", self.user_id.as_deref());
        w.close();
    }

    /// Reads the canonical JSON form back.
    pub fn from_canonical_json(text: &str) -> Result<Event, serde_json::Error> {
        serde_json::from_str(text)
    }
}

impl Context {
    fn write(&self, out: &mut String) {
        let mut w = ObjectWriter::open(out);
        if let Some(app) = &self.app {
            w.section("app", |s| {
                s.opt_string("name", app.name.as_deref());
                s.opt_string("version", app.version.as_deref());
                s.opt_string("build", app.build.as_deref());
                s.opt_string("namespace", app.namespace.as_deref());
            });
        }
        if let Some(browser) = &self.browser {
            w.section("browser", |s| browser.write(s));
        }
        if let Some(campaign) = &self.campaign {
            w.section("campaign", |s| {
                s.opt_string("name", campaign.name.as_deref());
                s.opt_string("source", campaign.source.as_deref());
                s.opt_string("medium", campaign.medium.as_deref());
                s.opt_string("term", campaign.term.as_deref());
                s.opt_string("content", campaign.content.as_deref());
            });
        }
        if let Some(consents) = &self.consents {
            w.section("consents", |s| {
                for (purpose, granted) in consents {
                    s.boolean(purpose, *granted);
                }
            });
        }
        if let Some(device) = &self.device {
            w.section("device", |s| {
                s.opt_string("id", device.id.as_deref());
                s.opt_string("advertisingId", device.advertising_id.as_deref());
                if let Some(enabled) = device.ad_tracking_enabled {
                    s.boolean("adTrackingEnabled", enabled);
                }
                s.opt_string("manufacturer", device.manufacturer.as_deref());
                s.opt_string("model", device.model.as_deref());
                s.opt_string("name", device.name.as_deref());
                s.opt_string("type", device.device_type.as_deref());
                s.opt_string("token", device.token.as_deref());
            });
        }
        w.opt_string("ip", self.ip.as_deref());
        if let Some(library) = &self.library {
            w.section("library", |s| {
                s.opt_string("name", library.name.as_deref());
                s.opt_string("version", library.version.as_deref());
            });
        }
        w.opt_string("locale", self.locale.as_deref());
        if let Some(location) = &self.location {
            w.section("location", |s| {
                s.opt_string("city", location.city.as_deref());
                s.opt_string("country", location.country.as_deref());
                s.opt_float("latitude", location.latitude);
                s.opt_float("longitude", location.longitude);
                s.opt_float("speed", location.speed);
            });
        }
        if let Some(network) = &self.network {
            w.section("network", |s| {
                s.opt_bool("bluetooth", network.bluetooth);
                s.opt_string("carrier", network.carrier.as_deref());
                s.opt_bool("cellular", network.cellular);
                s.opt_bool("wifi", network.wifi);
            });
        }
        if let Some(os) = &self.os {
            w.section("os", |s| os.write(s));
        }
        if let Some(page) = &self.page {
            w.section("page", |s| {
                s.opt_string("path", page.path.as_deref());
                s.opt_string("referrer", page.referrer.as_deref());
                s.opt_string("search", page.search.as_deref());
                s.opt_string("title", page.title.as_deref());
                s.opt_string("url", page.url.as_deref());
            });
        }
        if let Some(referrer) = &self.referrer {
            w.section("referrer", |s| {
                s.opt_string("id", referrer.id.as_deref());
                s.opt_string("type", referrer.referrer_type.as_deref());
            });
        }
        if let Some(screen) = &self.screen {
            w.section("screen", |s| {
                s.opt_int("width", screen.width.map(i64::from));
                s.opt_int("height", screen.height.map(i64::from));
                s.opt_float("density", screen.density);
            });
        }
        if let Some(session) = &self.session {
            w.section("session", |s| {
                s.opt_int("id", session.id);
                s.opt_bool("start", session.start);
            });
        }
        w.opt_string("timezone", self.timezone.as_deref());
        w.opt_string("userAgent", self.user_agent.as_deref());
        w.close();
    }
}

impl NameVersion {
    fn write(&self, s: &mut ObjectWriter<'_>) {
        s.opt_string("name", self.name.as_deref());
        s.opt_string("other", self.other.as_deref());
        s.opt_string("version", self.version.as_deref());
    }
}

/// Writes one JSON object member by member.
struct ObjectWriter<'o> {
    out: &'o mut String,
    first: bool,
}

impl<'o> ObjectWriter<'o> {
    fn open(out: &'o mut String) -> ObjectWriter<'o> {
        out.push('{');
        ObjectWriter { out, first: true }
    }

    fn close(self) {
        self.out.push('}');
    }

    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        write_json_string(self.out, key);
        self.out.push(':');
    }

    fn string(&mut self, key: &str, value: &str) {
        self.key(key);
        write_json_string(self.out, value);
    }

    fn opt_string(&mut self, key: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.string(key, value);
        }
    }

    fn boolean(&mut self, key: &str, value: bool) {
        self.key(key);
        self.out.push_str(if value { "true" } else { "false" });
    }

    fn opt_bool(&mut self, key: &str, value: Option<bool>) {
        if let Some(value) = value {
            self.boolean(key, value);
        }
    }

    fn opt_int(&mut self, key: &str, value: Option<i64>) {
        if let Some(value) = value {
            self.key(key);
            self.out.push_str(itoa::Buffer::new().format(value));
        }
    }

    /// Floats in shortest round-trip form; integral values print without a fraction.
    fn opt_float(&mut self, key: &str, value: Option<f64>) {
        if let Some(value) = value.filter(|v| v.is_finite()) {
            self.key(key);
            use std::fmt::Write;
            let _ = write!(self.out, "{value}");
        }
    }

    fn raw(&mut self, key: &str, json: &str) {
        self.key(key);
        self.out.push_str(json);
    }

    fn timestamp(&mut self, key: &str, value: Timestamp) {
        self.key(key);
        self.out.push('"');
        value.write_canonical(self.out);
        self.out.push('"');
    }

    fn section(&mut self, key: &str, body: impl FnOnce(&mut ObjectWriter<'_>)) {
        self.key(key);
        let mut section = ObjectWriter::open(self.out);
        body(&mut section);
        section.close();
    }
}

/// Appends `value` as a JSON string: `"`, `\` and control characters escaped, nothing else.
pub(crate) fn write_json_string(out: &mut String, value: &str) {
    out.push('"');
    let bytes = value.as_bytes();
    let mut copied_from = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(value.get(copied_from..index).unwrap_or(""));
        if escape.is_empty() {
            out.push_str(&format!("\\u{byte:04x}"));
        } else {
            out.push_str(escape);
        }
        copied_from = index + 1;
    }
    out.push_str(value.get(copied_from..).unwrap_or(""));
    out.push('"');
}
