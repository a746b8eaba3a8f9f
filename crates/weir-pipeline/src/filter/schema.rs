//! The event schema that filter paths resolve against (`event-model.md` §13.1, §6.3): every
//! property of the normalised event with its type, whether it may be absent ("read-optional",
//! what `exists` needs), its fixed value set if any, and how to read it from an [`Event`].

use std::collections::BTreeMap;

use weir_spec::{Event, Timestamp};

/// A property's type, named as the validation messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    String,
    Int,
    Float,
    Decimal,
    DateTime,
    Uuid,
    Ip,
    Boolean,
    Json,
    Object,
    Map,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::Decimal => "decimal",
            Kind::DateTime => "datetime",
            Kind::Uuid => "uuid",
            Kind::Ip => "ip",
            Kind::Boolean => "boolean",
            Kind::Json => "json",
            Kind::Object => "object",
            Kind::Map => "map",
        }
    }
}

/// A property's value in one event.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Field<'a> {
    /// `string`, `ip` and `uuid` properties (their text).
    Text(&'a str),
    Int(i64),
    /// `float` and `decimal` properties.
    Float(f64),
    Bool(bool),
    Time(Timestamp),
    /// A present `object` property.
    Object,
    Map(&'a BTreeMap<String, bool>),
    /// A `json` property: its compact JSON text.
    Json(&'a str),
}

type Getter = for<'a> fn(&'a Event) -> Option<Field<'a>>;

/// One property of the event schema.
#[derive(Debug)]
pub(crate) struct Property {
    pub(crate) path: &'static str,
    pub(crate) kind: Kind,
    pub(crate) read_optional: bool,
    pub(crate) allowed: Option<&'static [&'static str]>,
    pub(crate) get: Getter,
}

const OPTIONAL: bool = true;
const REQUIRED: bool = false;

const TYPES: &[&str] = &["alias", "identify", "group", "page", "screen", "track"];
const BROWSERS: &[&str] = &weir_spec::BROWSER_NAMES;
const OPERATING_SYSTEMS: &[&str] = &weir_spec::OS_NAMES;

const fn property(path: &'static str, kind: Kind, read_optional: bool, get: Getter) -> Property {
    Property {
        path,
        kind,
        read_optional,
        allowed: None,
        get,
    }
}

const fn fixed(
    path: &'static str,
    read_optional: bool,
    allowed: &'static [&'static str],
    get: Getter,
) -> Property {
    Property {
        path,
        kind: Kind::String,
        read_optional,
        allowed: Some(allowed),
        get,
    }
}

fn text(value: Option<&str>) -> Option<Field<'_>> {
    value.map(Field::Text)
}

fn present<T>(section: Option<&T>) -> Option<Field<'static>> {
    section.map(|_| Field::Object)
}

/// Every property of the normalised event, in the order of `event-model.md` §13.1.
pub(crate) static PROPERTIES: &[Property] = &[
    // Set by identity resolution in the warehouse; never present on a pipeline's event.
    property("kpid", Kind::Uuid, OPTIONAL, |_| None),
    property("connectionId", Kind::String, REQUIRED, |e| {
        Some(Field::Text(&e.connection_id))
    }),
    property("anonymousId", Kind::String, REQUIRED, |e| {
        Some(Field::Text(&e.anonymous_id))
    }),
    property("channel", Kind::String, OPTIONAL, |e| {
        text(e.channel.as_deref())
    }),
    property("category", Kind::String, OPTIONAL, |e| {
        text(e.category.as_deref())
    }),
    property("context", Kind::Object, OPTIONAL, |e| {
        (!e.context.is_empty()).then_some(Field::Object)
    }),
    property("context.app", Kind::Object, OPTIONAL, |e| {
        present(e.context.app.as_ref())
    }),
    property("context.app.name", Kind::String, OPTIONAL, |e| {
        text(e.context.app.as_ref()?.name.as_deref())
    }),
    property("context.app.version", Kind::String, OPTIONAL, |e| {
        text(e.context.app.as_ref()?.version.as_deref())
    }),
    property("context.app.build", Kind::String, OPTIONAL, |e| {
        text(e.context.app.as_ref()?.build.as_deref())
    }),
    property("context.app.namespace", Kind::String, OPTIONAL, |e| {
        text(e.context.app.as_ref()?.namespace.as_deref())
    }),
    property("context.browser", Kind::Object, OPTIONAL, |e| {
        present(e.context.browser.as_ref())
    }),
    fixed("context.browser.name", OPTIONAL, BROWSERS, |e| {
        text(e.context.browser.as_ref()?.name.as_deref())
    }),
    property("context.browser.other", Kind::String, OPTIONAL, |e| {
        text(e.context.browser.as_ref()?.other.as_deref())
    }),
    property("context.browser.version", Kind::String, OPTIONAL, |e| {
        text(e.context.browser.as_ref()?.version.as_deref())
    }),
    property("context.campaign", Kind::Object, OPTIONAL, |e| {
        present(e.context.campaign.as_ref())
    }),
    property("context.campaign.name", Kind::String, OPTIONAL, |e| {
        text(e.context.campaign.as_ref()?.name.as_deref())
    }),
    property("context.campaign.source", Kind::String, OPTIONAL, |e| {
        text(e.context.campaign.as_ref()?.source.as_deref())
    }),
    property("context.campaign.medium", Kind::String, OPTIONAL, |e| {
        text(e.context.campaign.as_ref()?.medium.as_deref())
    }),
    property("context.campaign.term", Kind::String, OPTIONAL, |e| {
        text(e.context.campaign.as_ref()?.term.as_deref())
    }),
    property("context.campaign.content", Kind::String, OPTIONAL, |e| {
        text(e.context.campaign.as_ref()?.content.as_deref())
    }),
    property("context.consents", Kind::Map, OPTIONAL, |e| {
        e.context.consents.as_ref().map(Field::Map)
    }),
    property("context.device", Kind::Object, OPTIONAL, |e| {
        present(e.context.device.as_ref())
    }),
    property("context.device.id", Kind::String, OPTIONAL, |e| {
        text(e.context.device.as_ref()?.id.as_deref())
    }),
    property(
        "context.device.advertisingId",
        Kind::String,
        OPTIONAL,
        |e| text(e.context.device.as_ref()?.advertising_id.as_deref()),
    ),
    property(
        "context.device.adTrackingEnabled",
        Kind::Boolean,
        OPTIONAL,
        |e| {
            e.context
                .device
                .as_ref()?
                .ad_tracking_enabled
                .map(Field::Bool)
        },
    ),
    property("context.device.manufacturer", Kind::String, OPTIONAL, |e| {
        text(e.context.device.as_ref()?.manufacturer.as_deref())
    }),
    property("context.device.model", Kind::String, OPTIONAL, |e| {
        text(e.context.device.as_ref()?.model.as_deref())
    }),
    property("context.device.name", Kind::String, OPTIONAL, |e| {
        text(e.context.device.as_ref()?.name.as_deref())
    }),
    property("context.device.type", Kind::String, OPTIONAL, |e| {
        text(e.context.device.as_ref()?.device_type.as_deref())
    }),
    property("context.device.token", Kind::String, OPTIONAL, |e| {
        text(e.context.device.as_ref()?.token.as_deref())
    }),
    property("context.ip", Kind::Ip, OPTIONAL, |e| {
        text(e.context.ip.as_deref())
    }),
    property("context.library", Kind::Object, OPTIONAL, |e| {
        present(e.context.library.as_ref())
    }),
    property("context.library.name", Kind::String, OPTIONAL, |e| {
        text(e.context.library.as_ref()?.name.as_deref())
    }),
    property("context.library.version", Kind::String, OPTIONAL, |e| {
        text(e.context.library.as_ref()?.version.as_deref())
    }),
    property("context.locale", Kind::String, OPTIONAL, |e| {
        text(e.context.locale.as_deref())
    }),
    property("context.location", Kind::Object, OPTIONAL, |e| {
        present(e.context.location.as_ref())
    }),
    property("context.location.city", Kind::String, OPTIONAL, |e| {
        text(e.context.location.as_ref()?.city.as_deref())
    }),
    property("context.location.country", Kind::String, OPTIONAL, |e| {
        text(e.context.location.as_ref()?.country.as_deref())
    }),
    property("context.location.latitude", Kind::Float, OPTIONAL, |e| {
        e.context.location.as_ref()?.latitude.map(Field::Float)
    }),
    property("context.location.longitude", Kind::Float, OPTIONAL, |e| {
        e.context.location.as_ref()?.longitude.map(Field::Float)
    }),
    property("context.location.speed", Kind::Float, OPTIONAL, |e| {
        e.context.location.as_ref()?.speed.map(Field::Float)
    }),
    property("context.network", Kind::Object, OPTIONAL, |e| {
        present(e.context.network.as_ref())
    }),
    property("context.network.bluetooth", Kind::Boolean, OPTIONAL, |e| {
        e.context.network.as_ref()?.bluetooth.map(Field::Bool)
    }),
    property("context.network.carrier", Kind::String, OPTIONAL, |e| {
        text(e.context.network.as_ref()?.carrier.as_deref())
    }),
    property("context.network.cellular", Kind::Boolean, OPTIONAL, |e| {
        e.context.network.as_ref()?.cellular.map(Field::Bool)
    }),
    property("context.network.wifi", Kind::Boolean, OPTIONAL, |e| {
        e.context.network.as_ref()?.wifi.map(Field::Bool)
    }),
    property("context.os", Kind::Object, OPTIONAL, |e| {
        present(e.context.os.as_ref())
    }),
    fixed("context.os.name", OPTIONAL, OPERATING_SYSTEMS, |e| {
        text(e.context.os.as_ref()?.name.as_deref())
    }),
    property("context.os.other", Kind::String, OPTIONAL, |e| {
        text(e.context.os.as_ref()?.other.as_deref())
    }),
    property("context.os.version", Kind::String, OPTIONAL, |e| {
        text(e.context.os.as_ref()?.version.as_deref())
    }),
    property("context.page", Kind::Object, OPTIONAL, |e| {
        present(e.context.page.as_ref())
    }),
    property("context.page.path", Kind::String, OPTIONAL, |e| {
        text(e.context.page.as_ref()?.path.as_deref())
    }),
    property("context.page.referrer", Kind::String, OPTIONAL, |e| {
        text(e.context.page.as_ref()?.referrer.as_deref())
    }),
    property("context.page.search", Kind::String, OPTIONAL, |e| {
        text(e.context.page.as_ref()?.search.as_deref())
    }),
    property("context.page.title", Kind::String, OPTIONAL, |e| {
        text(e.context.page.as_ref()?.title.as_deref())
    }),
    property("context.page.url", Kind::String, OPTIONAL, |e| {
        text(e.context.page.as_ref()?.url.as_deref())
    }),
    property("context.referrer", Kind::Object, OPTIONAL, |e| {
        present(e.context.referrer.as_ref())
    }),
    property("context.referrer.id", Kind::String, OPTIONAL, |e| {
        text(e.context.referrer.as_ref()?.id.as_deref())
    }),
    property("context.referrer.type", Kind::String, OPTIONAL, |e| {
        text(e.context.referrer.as_ref()?.referrer_type.as_deref())
    }),
    property("context.screen", Kind::Object, OPTIONAL, |e| {
        present(e.context.screen.as_ref())
    }),
    property("context.screen.width", Kind::Int, OPTIONAL, |e| {
        e.context
            .screen
            .as_ref()?
            .width
            .map(|v| Field::Int(v.into()))
    }),
    property("context.screen.height", Kind::Int, OPTIONAL, |e| {
        e.context
            .screen
            .as_ref()?
            .height
            .map(|v| Field::Int(v.into()))
    }),
    property("context.screen.density", Kind::Decimal, OPTIONAL, |e| {
        e.context.screen.as_ref()?.density.map(Field::Float)
    }),
    property("context.session", Kind::Object, OPTIONAL, |e| {
        present(e.context.session.as_ref())
    }),
    property("context.session.id", Kind::Int, OPTIONAL, |e| {
        e.context.session.as_ref()?.id.map(Field::Int)
    }),
    property("context.session.start", Kind::Boolean, OPTIONAL, |e| {
        e.context.session.as_ref()?.start.map(Field::Bool)
    }),
    property("context.timezone", Kind::String, OPTIONAL, |e| {
        text(e.context.timezone.as_deref())
    }),
    property("context.userAgent", Kind::String, OPTIONAL, |e| {
        text(e.context.user_agent.as_deref())
    }),
    property("event", Kind::String, OPTIONAL, |e| {
        text(e.event.as_deref())
    }),
    property("groupId", Kind::String, OPTIONAL, |e| {
        text(e.group_id.as_deref())
    }),
    property("messageId", Kind::String, REQUIRED, |e| {
        Some(Field::Text(&e.message_id))
    }),
    property("name", Kind::String, OPTIONAL, |e| text(e.name.as_deref())),
    property("properties", Kind::Json, OPTIONAL, |e| {
        e.properties.as_ref().map(|json| Field::Json(json.as_str()))
    }),
    property("receivedAt", Kind::DateTime, REQUIRED, |e| {
        Some(Field::Time(e.received_at))
    }),
    property("sentAt", Kind::DateTime, REQUIRED, |e| {
        Some(Field::Time(e.sent_at))
    }),
    property("originalTimestamp", Kind::DateTime, REQUIRED, |e| {
        Some(Field::Time(e.original_timestamp))
    }),
    property("timestamp", Kind::DateTime, REQUIRED, |e| {
        Some(Field::Time(e.timestamp))
    }),
    property("traits", Kind::Json, REQUIRED, |e| {
        Some(Field::Json(e.traits.as_str()))
    }),
    fixed("type", REQUIRED, TYPES, |e| {
        Some(Field::Text(e.event_type.as_str()))
    }),
    property("previousId", Kind::String, OPTIONAL, |e| {
        text(e.previous_id.as_deref())
    }),
    property("userId", Kind::String, OPTIONAL, |e| {
        text(e.user_id.as_deref())
    }),
];

/// The schema property at exactly `path`.
pub(crate) fn lookup(path: &str) -> Option<&'static Property> {
    PROPERTIES.iter().find(|property| property.path == path)
}

/// Whether `path` is a dot path of identifiers (`[A-Za-z_][A-Za-z0-9_]*` segments).
pub(crate) fn is_valid_path(path: &str) -> bool {
    !path.is_empty()
        && path.split('.').all(|segment| {
            let mut bytes = segment.bytes();
            bytes
                .next()
                .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
                && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}
