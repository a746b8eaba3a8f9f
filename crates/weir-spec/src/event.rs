//! The normalised event (`event-model.md` §13) and its one canonical JSON form (§13.2).
//!
//! The canonical form is what the event log stores and what live events and destinations
//! show. It is written by hand (member order, datetime and number formats are part of the
//! contract) and read back with serde; [`Event::from_canonical_json`] of
//! [`Event::to_canonical_json`] gives back the same event.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer};

use crate::json::{find_json_special, has_json_special};
use crate::timestamp::Timestamp;

/// The text that starts a member with a constant name: `,"name":` (no name needs escaping).
macro_rules! key {
    ($name:literal) => {
        concat!(",\"", $name, "\":")
    };
}

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

/// A normalised event. Two events are equal when their canonical forms are: equality ignores
/// `message_id_generated`, which is not part of it.
#[derive(Debug, Clone, Deserialize)]
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
    /// Whether Weir generated `message_id` because the event had none (`weir-` + UUIDv4):
    /// unique by construction, such an id takes no part in duplicate detection
    /// (`event-model.md` §5). Not part of the canonical form (an event read back from it says
    /// `false`) nor of equality.
    #[serde(skip)]
    pub message_id_generated: bool,
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

impl PartialEq for Event {
    fn eq(&self, other: &Event) -> bool {
        // Destructured, so that a new field cannot be left out unnoticed.
        let Event {
            connection_id,
            anonymous_id,
            channel,
            category,
            context,
            event,
            group_id,
            message_id,
            message_id_generated: _,
            name,
            properties,
            received_at,
            sent_at,
            original_timestamp,
            timestamp,
            traits,
            event_type,
            previous_id,
            user_id,
        } = self;
        *connection_id == other.connection_id
            && *anonymous_id == other.anonymous_id
            && *channel == other.channel
            && *category == other.category
            && *context == other.context
            && *event == other.event
            && *group_id == other.group_id
            && *message_id == other.message_id
            && *name == other.name
            && *properties == other.properties
            && *received_at == other.received_at
            && *sent_at == other.sent_at
            && *original_timestamp == other.original_timestamp
            && *timestamp == other.timestamp
            && *traits == other.traits
            && *event_type == other.event_type
            && *previous_id == other.previous_id
            && *user_id == other.user_id
    }
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
        // Typical events serialise to 600–900 bytes; one allocation covers them.
        let mut out = String::with_capacity(1024);
        self.write_canonical_json(&mut out);
        out
    }

    /// Appends the canonical JSON form to `out`.
    pub fn write_canonical_json(&self, out: &mut String) {
        let mut w = ObjectWriter::open(out);
        w.string(key!("connectionId"), &self.connection_id);
        w.string(key!("anonymousId"), &self.anonymous_id);
        w.opt_string(key!("channel"), self.channel.as_deref());
        w.opt_string(key!("category"), self.category.as_deref());
        if !self.context.is_empty() {
            w.key(key!("context"));
            self.context.write(w.out);
        }
        w.opt_string(key!("event"), self.event.as_deref());
        w.opt_string(key!("groupId"), self.group_id.as_deref());
        w.string(key!("messageId"), &self.message_id);
        w.opt_string(key!("name"), self.name.as_deref());
        if let Some(properties) = &self.properties {
            w.raw(key!("properties"), properties.as_str());
        }
        w.timestamp(key!("receivedAt"), self.received_at);
        w.timestamp(key!("sentAt"), self.sent_at);
        w.timestamp(key!("originalTimestamp"), self.original_timestamp);
        w.timestamp(key!("timestamp"), self.timestamp);
        w.raw(key!("traits"), self.traits.as_str());
        w.key(key!("type"));
        w.out.push('"');
        w.out.push_str(self.event_type.as_str());
        w.out.push('"');
        w.opt_string(key!("previousId"), self.previous_id.as_deref());
        w.opt_string(key!("userId"), self.user_id.as_deref());
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
            w.section(key!("app"), |s| {
                s.opt_string(key!("name"), app.name.as_deref());
                s.opt_string(key!("version"), app.version.as_deref());
                s.opt_string(key!("build"), app.build.as_deref());
                s.opt_string(key!("namespace"), app.namespace.as_deref());
            });
        }
        if let Some(browser) = &self.browser {
            w.section(key!("browser"), |s| browser.write(s));
        }
        if let Some(campaign) = &self.campaign {
            w.section(key!("campaign"), |s| {
                s.opt_string(key!("name"), campaign.name.as_deref());
                s.opt_string(key!("source"), campaign.source.as_deref());
                s.opt_string(key!("medium"), campaign.medium.as_deref());
                s.opt_string(key!("term"), campaign.term.as_deref());
                s.opt_string(key!("content"), campaign.content.as_deref());
            });
        }
        if let Some(consents) = &self.consents {
            w.section(key!("consents"), |s| {
                for (purpose, granted) in consents {
                    s.dynamic_key(purpose);
                    s.out.push_str(if *granted { "true" } else { "false" });
                }
            });
        }
        if let Some(device) = &self.device {
            w.section(key!("device"), |s| {
                s.opt_string(key!("id"), device.id.as_deref());
                s.opt_string(key!("advertisingId"), device.advertising_id.as_deref());
                s.opt_bool(key!("adTrackingEnabled"), device.ad_tracking_enabled);
                s.opt_string(key!("manufacturer"), device.manufacturer.as_deref());
                s.opt_string(key!("model"), device.model.as_deref());
                s.opt_string(key!("name"), device.name.as_deref());
                s.opt_string(key!("type"), device.device_type.as_deref());
                s.opt_string(key!("token"), device.token.as_deref());
            });
        }
        w.opt_string(key!("ip"), self.ip.as_deref());
        if let Some(library) = &self.library {
            w.section(key!("library"), |s| {
                s.opt_string(key!("name"), library.name.as_deref());
                s.opt_string(key!("version"), library.version.as_deref());
            });
        }
        w.opt_string(key!("locale"), self.locale.as_deref());
        if let Some(location) = &self.location {
            w.section(key!("location"), |s| {
                s.opt_string(key!("city"), location.city.as_deref());
                s.opt_string(key!("country"), location.country.as_deref());
                s.opt_float(key!("latitude"), location.latitude);
                s.opt_float(key!("longitude"), location.longitude);
                s.opt_float(key!("speed"), location.speed);
            });
        }
        if let Some(network) = &self.network {
            w.section(key!("network"), |s| {
                s.opt_bool(key!("bluetooth"), network.bluetooth);
                s.opt_string(key!("carrier"), network.carrier.as_deref());
                s.opt_bool(key!("cellular"), network.cellular);
                s.opt_bool(key!("wifi"), network.wifi);
            });
        }
        if let Some(os) = &self.os {
            w.section(key!("os"), |s| os.write(s));
        }
        if let Some(page) = &self.page {
            w.section(key!("page"), |s| {
                s.opt_string(key!("path"), page.path.as_deref());
                s.opt_string(key!("referrer"), page.referrer.as_deref());
                s.opt_string(key!("search"), page.search.as_deref());
                s.opt_string(key!("title"), page.title.as_deref());
                s.opt_string(key!("url"), page.url.as_deref());
            });
        }
        if let Some(referrer) = &self.referrer {
            w.section(key!("referrer"), |s| {
                s.opt_string(key!("id"), referrer.id.as_deref());
                s.opt_string(key!("type"), referrer.referrer_type.as_deref());
            });
        }
        if let Some(screen) = &self.screen {
            w.section(key!("screen"), |s| {
                s.opt_int(key!("width"), screen.width.map(i64::from));
                s.opt_int(key!("height"), screen.height.map(i64::from));
                s.opt_float(key!("density"), screen.density);
            });
        }
        if let Some(session) = &self.session {
            w.section(key!("session"), |s| {
                s.opt_int(key!("id"), session.id);
                s.opt_bool(key!("start"), session.start);
            });
        }
        w.opt_string(key!("timezone"), self.timezone.as_deref());
        w.opt_string(key!("userAgent"), self.user_agent.as_deref());
        w.close();
    }
}

impl NameVersion {
    fn write(&self, s: &mut ObjectWriter<'_>) {
        s.opt_string(key!("name"), self.name.as_deref());
        s.opt_string(key!("other"), self.other.as_deref());
        s.opt_string(key!("version"), self.version.as_deref());
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

    /// Starts a member with a constant name: `key` is the text of [`key!`] (`,"name":`); the
    /// first member drops its comma.
    fn key(&mut self, key: &'static str) {
        let text = if self.first {
            self.first = false;
            key.get(1..).unwrap_or(key)
        } else {
            key
        };
        self.out.push_str(text);
    }

    /// Starts a member whose name comes from the data (escaped as needed).
    fn dynamic_key(&mut self, name: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        write_json_string(self.out, name);
        self.out.push(':');
    }

    fn string(&mut self, key: &'static str, value: &str) {
        self.key(key);
        write_json_string(self.out, value);
    }

    fn opt_string(&mut self, key: &'static str, value: Option<&str>) {
        if let Some(value) = value {
            self.string(key, value);
        }
    }

    fn opt_bool(&mut self, key: &'static str, value: Option<bool>) {
        if let Some(value) = value {
            self.key(key);
            self.out.push_str(if value { "true" } else { "false" });
        }
    }

    fn opt_int(&mut self, key: &'static str, value: Option<i64>) {
        if let Some(value) = value {
            self.key(key);
            self.out.push_str(itoa::Buffer::new().format(value));
        }
    }

    /// Floats in shortest round-trip form; integral values print without a fraction.
    fn opt_float(&mut self, key: &'static str, value: Option<f64>) {
        if let Some(value) = value.filter(|v| v.is_finite()) {
            self.key(key);
            use std::fmt::Write;
            let _ = write!(self.out, "{value}");
        }
    }

    fn raw(&mut self, key: &'static str, json: &str) {
        self.key(key);
        self.out.push_str(json);
    }

    fn timestamp(&mut self, key: &'static str, value: Timestamp) {
        self.key(key);
        self.out.push('"');
        value.write_canonical(self.out);
        self.out.push('"');
    }

    fn section(&mut self, key: &'static str, body: impl FnOnce(&mut ObjectWriter<'_>)) {
        self.key(key);
        let mut section = ObjectWriter::open(self.out);
        body(&mut section);
        section.close();
    }
}

/// Appends `value` as a JSON string: `"`, `\` and control characters escaped, nothing else.
pub fn write_json_string(out: &mut String, value: &str) {
    out.reserve(value.len() + 2);
    out.push('"');
    let bytes = value.as_bytes();
    if !has_json_special(bytes) {
        out.push_str(value);
        out.push('"');
        return;
    }
    let mut copied_from = 0;
    let mut index = find_json_special(bytes, 0);
    while let Some(&byte) = bytes.get(index) {
        out.push_str(value.get(copied_from..index).unwrap_or(""));
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(byte >> 4)]));
                out.push(char::from(HEX[usize::from(byte & 0xf)]));
            }
        }
        copied_from = index + 1;
        index = find_json_special(bytes, copied_from);
    }
    out.push_str(value.get(copied_from..).unwrap_or(""));
    out.push('"');
}
