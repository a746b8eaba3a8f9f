//! The one column table of the `events` table (storage spec §3.1) that both backends use:
//! names in Krenalis order, the kind that decides each backend's type, and how each column's
//! value is read from a normalised [`Event`] (with the §3.2 conversions already applied).

use std::borrow::Cow;
use std::collections::BTreeMap;

use weir_spec::{Event, RawJson};

use crate::sanitize::{TimeText, clean_json, clean_text, consents_json};

/// An enum type: PostgreSQL `CREATE TYPE … AS ENUM`, SQLite `CHECK (… IN (…))`.
#[derive(Debug)]
pub(crate) struct EnumType {
    pub(crate) name: &'static str,
    pub(crate) values: &'static [&'static str],
}

pub(crate) const BROWSER_NAME: EnumType = EnumType {
    name: "event_browser_name",
    values: &weir_spec::BROWSER_NAMES,
};

pub(crate) const OS_NAME: EnumType = EnumType {
    name: "event_os_name",
    values: &weir_spec::OS_NAMES,
};

pub(crate) const EVENT_TYPE: EnumType = EnumType {
    name: "event_type",
    values: &["alias", "identify", "group", "page", "screen", "track"],
};

pub(crate) const ENUM_TYPES: [&EnumType; 3] = [&BROWSER_NAME, &OS_NAME, &EVENT_TYPE];

/// What a column holds; each backend maps a kind to its type.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Uuid,
    Text,
    /// `character varying(5)`.
    Locale,
    Enum(&'static EnumType),
    Json,
    Bool,
    Float,
    SmallInt,
    BigInt,
    /// `numeric(3,2)`.
    Density,
    Time,
    Inet,
}

/// One value to write, already converted (§3.2).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field<'e> {
    Null,
    /// Text of a text, enum, uuid or inet column.
    Text(Cow<'e, str>),
    /// Compact JSON text.
    Json(Cow<'e, str>),
    Bool(bool),
    Int(i64),
    Float(f64),
    Time(TimeText),
}

/// A column of `events`.
pub(crate) struct Column {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) not_null: bool,
    read: fn(&Event) -> Field<'_>,
}

impl std::fmt::Debug for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Column {
    /// This column's value for `event`.
    pub(crate) fn read<'e>(&self, event: &'e Event) -> Field<'e> {
        (self.read)(event)
    }
}

/// The column named `name`.
pub(crate) fn column(name: &str) -> Option<&'static Column> {
    COLUMNS.iter().find(|column| column.name == name)
}

/// The columns Weir writes: every column but `kpid` (set only by identity resolution).
pub(crate) fn written_columns() -> &'static [Column] {
    &COLUMNS[1..]
}

fn text(value: Option<&str>) -> Field<'_> {
    value.map_or(Field::Null, |text| Field::Text(clean_text(text)))
}

fn json(value: Option<&str>) -> Field<'_> {
    value.map_or(Field::Null, |json| Field::Json(clean_json(json)))
}

fn consents(value: Option<&BTreeMap<String, bool>>) -> Field<'static> {
    value.map_or(Field::Null, |consents| {
        Field::Json(Cow::Owned(consents_json(consents)))
    })
}

fn boolean(value: Option<bool>) -> Field<'static> {
    value.map_or(Field::Null, Field::Bool)
}

fn float(value: Option<f64>) -> Field<'static> {
    value
        .filter(|value| value.is_finite())
        .map_or(Field::Null, Field::Float)
}

fn int(value: Option<i64>) -> Field<'static> {
    value.map_or(Field::Null, Field::Int)
}

/// A string sub-field of a context section: `sub!(event.app.name)` → `Option<&str>`.
macro_rules! sub {
    ($event:ident . $section:ident . $field:ident) => {
        $event
            .context
            .$section
            .as_ref()
            .and_then(|s| s.$field.as_deref())
    };
}

/// A `Copy` sub-field of a context section: `value!(event.network.wifi)` → `Option<T>`.
macro_rules! value {
    ($event:ident . $section:ident . $field:ident) => {
        $event.context.$section.as_ref().and_then(|s| s.$field)
    };
}

const fn col(name: &'static str, kind: Kind, read: fn(&Event) -> Field<'_>) -> Column {
    Column {
        name,
        kind,
        not_null: false,
        read,
    }
}

const fn required(name: &'static str, kind: Kind, read: fn(&Event) -> Field<'_>) -> Column {
    Column {
        name,
        kind,
        not_null: true,
        read,
    }
}

use Kind::{BigInt, Bool, Density, Float, Inet, Json, Locale, SmallInt, Text, Time, Uuid};

/// Every column of `events`, in table order.
#[rustfmt::skip]
pub(crate) static COLUMNS: [Column; 68] = [
    col("kpid", Uuid, |_| Field::Null),
    required("connection_id", Text, |e| text(Some(&e.connection_id))),
    required("anonymous_id", Text, |e| text(Some(&e.anonymous_id))),
    col("channel", Text, |e| text(e.channel.as_deref())),
    col("category", Text, |e| text(e.category.as_deref())),
    col("context_app_name", Text, |e| text(sub!(e.app.name))),
    col("context_app_version", Text, |e| text(sub!(e.app.version))),
    col("context_app_build", Text, |e| text(sub!(e.app.build))),
    col("context_app_namespace", Text, |e| text(sub!(e.app.namespace))),
    col("context_browser_name", Kind::Enum(&BROWSER_NAME), |e| text(sub!(e.browser.name))),
    col("context_browser_other", Text, |e| text(sub!(e.browser.other))),
    col("context_browser_version", Text, |e| text(sub!(e.browser.version))),
    col("context_campaign_name", Text, |e| text(sub!(e.campaign.name))),
    col("context_campaign_source", Text, |e| text(sub!(e.campaign.source))),
    col("context_campaign_medium", Text, |e| text(sub!(e.campaign.medium))),
    col("context_campaign_term", Text, |e| text(sub!(e.campaign.term))),
    col("context_campaign_content", Text, |e| text(sub!(e.campaign.content))),
    col("context_consents", Json, |e| consents(e.context.consents.as_ref())),
    col("context_device_id", Text, |e| text(sub!(e.device.id))),
    col("context_device_advertising_id", Text, |e| text(sub!(e.device.advertising_id))),
    col("context_device_ad_tracking_enabled", Bool, |e| boolean(value!(e.device.ad_tracking_enabled))),
    col("context_device_manufacturer", Text, |e| text(sub!(e.device.manufacturer))),
    col("context_device_model", Text, |e| text(sub!(e.device.model))),
    col("context_device_name", Text, |e| text(sub!(e.device.name))),
    col("context_device_type", Text, |e| text(sub!(e.device.device_type))),
    col("context_device_token", Text, |e| text(sub!(e.device.token))),
    col("context_ip", Inet, |e| text(e.context.ip.as_deref())),
    col("context_library_name", Text, |e| text(sub!(e.library.name))),
    col("context_library_version", Text, |e| text(sub!(e.library.version))),
    col("context_locale", Locale, |e| text(e.context.locale.as_deref())),
    col("context_location_city", Text, |e| text(sub!(e.location.city))),
    col("context_location_country", Text, |e| text(sub!(e.location.country))),
    col("context_location_latitude", Float, |e| float(value!(e.location.latitude))),
    col("context_location_longitude", Float, |e| float(value!(e.location.longitude))),
    col("context_location_speed", Float, |e| float(value!(e.location.speed))),
    col("context_network_bluetooth", Bool, |e| boolean(value!(e.network.bluetooth))),
    col("context_network_carrier", Text, |e| text(sub!(e.network.carrier))),
    col("context_network_cellular", Bool, |e| boolean(value!(e.network.cellular))),
    col("context_network_wifi", Bool, |e| boolean(value!(e.network.wifi))),
    col("context_os_name", Kind::Enum(&OS_NAME), |e| text(sub!(e.os.name))),
    col("context_os_other", Text, |e| text(sub!(e.os.other))),
    col("context_os_version", Text, |e| text(sub!(e.os.version))),
    col("context_page_path", Text, |e| text(sub!(e.page.path))),
    col("context_page_referrer", Text, |e| text(sub!(e.page.referrer))),
    col("context_page_search", Text, |e| text(sub!(e.page.search))),
    col("context_page_title", Text, |e| text(sub!(e.page.title))),
    col("context_page_url", Text, |e| text(sub!(e.page.url))),
    col("context_referrer_id", Text, |e| text(sub!(e.referrer.id))),
    col("context_referrer_type", Text, |e| text(sub!(e.referrer.referrer_type))),
    col("context_screen_width", SmallInt, |e| int(value!(e.screen.width).map(i64::from))),
    col("context_screen_height", SmallInt, |e| int(value!(e.screen.height).map(i64::from))),
    col("context_screen_density", Density, |e| float(value!(e.screen.density))),
    col("context_session_id", BigInt, |e| int(value!(e.session.id))),
    col("context_session_start", Bool, |e| boolean(value!(e.session.start))),
    col("context_timezone", Text, |e| text(e.context.timezone.as_deref())),
    col("context_user_agent", Text, |e| text(e.context.user_agent.as_deref())),
    col("event", Text, |e| text(e.event.as_deref())),
    col("group_id", Text, |e| text(e.group_id.as_deref())),
    required("message_id", Text, |e| text(Some(&e.message_id))),
    col("name", Text, |e| text(e.name.as_deref())),
    col("properties", Json, |e| json(e.properties.as_ref().map(RawJson::as_str))),
    required("received_at", Time, |e| Field::Time(TimeText::new(e.received_at))),
    required("sent_at", Time, |e| Field::Time(TimeText::new(e.sent_at))),
    required("timestamp", Time, |e| Field::Time(TimeText::new(e.timestamp))),
    required("traits", Json, |e| json(Some(e.traits.as_str()))),
    required("type", Kind::Enum(&EVENT_TYPE), |e| Field::Text(Cow::Borrowed(e.event_type.as_str()))),
    col("previous_id", Text, |e| text(e.previous_id.as_deref())),
    col("user_id", Text, |e| text(e.user_id.as_deref())),
];
