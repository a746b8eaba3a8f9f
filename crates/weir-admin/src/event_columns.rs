//! The event properties stored in the warehouse's `events` table (storage-and-pipelines.md
//! §3.1): for each column, the event property path it holds (`context.os.name` →
//! `context_os_name`), what kind of value it holds, and whether an event may lack it. The events
//! query (`GET /v1/events`) resolves the names in `properties` and `order`, and the properties
//! of filter conditions, with this table.
//!
//! The table follows the warehouse's column order; a test checks it against the columns the
//! warehouse really returns and against the pipeline filter's event schema.

/// What a column holds, as far as filters on it are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Text, including the enum columns (`type`, `context_browser_name`, `context_os_name`).
    Text,
    Uuid,
    Ip,
    Bool,
    /// An integer (`context_screen_*`, `context_session_id`).
    Int,
    /// A floating-point or decimal number.
    Float,
    /// A time, compared by instant.
    Time,
    /// A JSON value (`properties`, `traits`).
    Json,
    /// The consents map (`context_consents`, stored as JSON).
    Map,
}

/// One column of `events`.
#[derive(Debug)]
pub(crate) struct Column {
    /// The event property path (`context.os.name`).
    pub(crate) path: &'static str,
    /// The column name (`context_os_name`).
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    /// Whether an event may lack the property (its column is then NULL).
    pub(crate) optional: bool,
}

const fn optional(path: &'static str, name: &'static str, kind: Kind) -> Column {
    Column {
        path,
        name,
        kind,
        optional: true,
    }
}

const fn required(path: &'static str, name: &'static str, kind: Kind) -> Column {
    Column {
        path,
        name,
        kind,
        optional: false,
    }
}

use Kind::{Bool, Float, Int, Ip, Json, Map, Text, Time, Uuid};

/// Every column of `events`, in table order.
#[rustfmt::skip]
pub(crate) static COLUMNS: [Column; 68] = [
    optional("kpid", "kpid", Uuid),
    required("connectionId", "connection_id", Text),
    required("anonymousId", "anonymous_id", Text),
    optional("channel", "channel", Text),
    optional("category", "category", Text),
    optional("context.app.name", "context_app_name", Text),
    optional("context.app.version", "context_app_version", Text),
    optional("context.app.build", "context_app_build", Text),
    optional("context.app.namespace", "context_app_namespace", Text),
    optional("context.browser.name", "context_browser_name", Text),
    optional("context.browser.other", "context_browser_other", Text),
    optional("context.browser.version", "context_browser_version", Text),
    optional("context.campaign.name", "context_campaign_name", Text),
    optional("context.campaign.source", "context_campaign_source", Text),
    optional("context.campaign.medium", "context_campaign_medium", Text),
    optional("context.campaign.term", "context_campaign_term", Text),
    optional("context.campaign.content", "context_campaign_content", Text),
    optional("context.consents", "context_consents", Map),
    optional("context.device.id", "context_device_id", Text),
    optional("context.device.advertisingId", "context_device_advertising_id", Text),
    optional("context.device.adTrackingEnabled", "context_device_ad_tracking_enabled", Bool),
    optional("context.device.manufacturer", "context_device_manufacturer", Text),
    optional("context.device.model", "context_device_model", Text),
    optional("context.device.name", "context_device_name", Text),
    optional("context.device.type", "context_device_type", Text),
    optional("context.device.token", "context_device_token", Text),
    optional("context.ip", "context_ip", Ip),
    optional("context.library.name", "context_library_name", Text),
    optional("context.library.version", "context_library_version", Text),
    optional("context.locale", "context_locale", Text),
    optional("context.location.city", "context_location_city", Text),
    optional("context.location.country", "context_location_country", Text),
    optional("context.location.latitude", "context_location_latitude", Float),
    optional("context.location.longitude", "context_location_longitude", Float),
    optional("context.location.speed", "context_location_speed", Float),
    optional("context.network.bluetooth", "context_network_bluetooth", Bool),
    optional("context.network.carrier", "context_network_carrier", Text),
    optional("context.network.cellular", "context_network_cellular", Bool),
    optional("context.network.wifi", "context_network_wifi", Bool),
    optional("context.os.name", "context_os_name", Text),
    optional("context.os.other", "context_os_other", Text),
    optional("context.os.version", "context_os_version", Text),
    optional("context.page.path", "context_page_path", Text),
    optional("context.page.referrer", "context_page_referrer", Text),
    optional("context.page.search", "context_page_search", Text),
    optional("context.page.title", "context_page_title", Text),
    optional("context.page.url", "context_page_url", Text),
    optional("context.referrer.id", "context_referrer_id", Text),
    optional("context.referrer.type", "context_referrer_type", Text),
    optional("context.screen.width", "context_screen_width", Int),
    optional("context.screen.height", "context_screen_height", Int),
    optional("context.screen.density", "context_screen_density", Float),
    optional("context.session.id", "context_session_id", Int),
    optional("context.session.start", "context_session_start", Bool),
    optional("context.timezone", "context_timezone", Text),
    optional("context.userAgent", "context_user_agent", Text),
    optional("event", "event", Text),
    optional("groupId", "group_id", Text),
    required("messageId", "message_id", Text),
    optional("name", "name", Text),
    optional("properties", "properties", Json),
    required("receivedAt", "received_at", Time),
    required("sentAt", "sent_at", Time),
    required("timestamp", "timestamp", Time),
    required("traits", "traits", Json),
    required("type", "type", Text),
    optional("previousId", "previous_id", Text),
    optional("userId", "user_id", Text),
];

/// Event properties that are not stored (`event-model.md` §13: `originalTimestamp`).
const NOT_STORED: &[&str] = &["originalTimestamp"];

/// What a name in `properties` or `order` stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// One column, named by its property path or its column name.
    Column(&'static Column),
    /// An object of the event (`context`, `context.os`): the columns inside it, in table order.
    Object(Vec<&'static Column>),
    /// A property of the event that the warehouse does not store.
    NotStored,
    /// Nothing of the event.
    Unknown,
}

impl PartialEq for Column {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Column {}

/// The column whose event property path is `path`.
pub(crate) fn by_path(path: &str) -> Option<&'static Column> {
    COLUMNS.iter().find(|column| column.path == path)
}

/// Resolves a property path (`context.os.name`), a column name (`context_os_name`) or an object
/// path (`context.os`).
pub(crate) fn resolve(name: &str) -> Resolved {
    if let Some(column) =
        by_path(name).or_else(|| COLUMNS.iter().find(|column| column.name == name))
    {
        return Resolved::Column(column);
    }
    if NOT_STORED.contains(&name) {
        return Resolved::NotStored;
    }
    let inside: Vec<&'static Column> = COLUMNS
        .iter()
        .filter(|column| {
            column
                .path
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('.'))
        })
        .collect();
    if inside.is_empty() {
        Resolved::Unknown
    } else {
        Resolved::Object(inside)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;
    use weir_catalog::WarehouseSettings;
    use weir_pipeline::WarehouseTargets;
    use weir_warehouse::EventQuery;

    use super::*;

    /// `context.device.adTrackingEnabled` → `context_device_ad_tracking_enabled`.
    fn snake_case(path: &str) -> String {
        let mut name = String::new();
        for c in path.chars() {
            match c {
                '.' => name.push('_'),
                c if c.is_ascii_uppercase() => {
                    name.push('_');
                    name.push(c.to_ascii_lowercase());
                }
                c => name.push(c),
            }
        }
        name
    }

    #[test]
    fn column_names_follow_the_spec_flattening() {
        for column in &COLUMNS {
            assert_eq!(snake_case(column.path), column.name, "{column:?}");
        }
    }

    #[tokio::test]
    async fn the_table_is_the_warehouse_column_list_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let targets = Arc::new(WarehouseTargets::new(dir.path()));
        let warehouse = targets.warehouse(&WarehouseSettings::Sqlite).await.unwrap();
        let rows = warehouse.query_events(EventQuery::default()).await.unwrap();
        let ours: Vec<&str> = COLUMNS.iter().map(|column| column.name).collect();
        assert_eq!(rows.columns, ours);
    }

    /// The pipeline filter's own schema agrees on every path, on which properties may be
    /// missing (`exists` is only valid on those) and on each kind.
    #[test]
    fn the_table_agrees_with_the_filter_schema() {
        let check = |path: &str, operator: &str| {
            let filter =
                json!({"logical": "and", "conditions": [{"property": path, "operator": operator}]});
            weir_pipeline::validate_filter(&filter).map_err(|error| error.reason().to_owned())
        };
        for column in &COLUMNS {
            let exists = check(column.path, "exists");
            assert_eq!(
                exists.is_ok(),
                column.optional,
                "{}: {exists:?}",
                column.path
            );
            let kind = match check(column.path, "is true") {
                Ok(_) => "boolean".to_owned(),
                Err(reason) => reason
                    .strip_prefix("operator \"is true\" cannot be used with ")
                    .and_then(|rest| rest.strip_suffix(" properties"))
                    .unwrap_or_else(|| panic!("{}: {reason}", column.path))
                    .to_owned(),
            };
            let expected: &[&str] = match column.kind {
                Kind::Text => &["string"],
                Kind::Uuid => &["uuid"],
                Kind::Ip => &["ip"],
                Kind::Bool => &["boolean"],
                Kind::Int => &["int"],
                Kind::Float => &["float", "decimal"],
                Kind::Time => &["datetime"],
                // `is true` applies to JSON properties.
                Kind::Json => &["boolean"],
                Kind::Map => &["map"],
            };
            assert!(expected.contains(&kind.as_str()), "{}: {kind}", column.path);
        }
    }

    #[test]
    fn names_resolve_to_columns_objects_or_nothing() {
        let column = |name: &str| match resolve(name) {
            Resolved::Column(column) => column.name,
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(column("context.os.name"), "context_os_name");
        assert_eq!(column("context_os_name"), "context_os_name");
        assert_eq!(column("anonymousId"), "anonymous_id");
        assert_eq!(column("anonymous_id"), "anonymous_id");
        assert_eq!(column("context.consents"), "context_consents");
        assert_eq!(column("properties"), "properties");
        let Resolved::Object(os) = resolve("context.os") else {
            panic!("context.os is an object");
        };
        let names: Vec<&str> = os.iter().map(|column| column.name).collect();
        assert_eq!(
            names,
            ["context_os_name", "context_os_other", "context_os_version"]
        );
        let Resolved::Object(context) = resolve("context") else {
            panic!("context is an object");
        };
        assert_eq!(context.len(), 51);
        assert_eq!(resolve("originalTimestamp"), Resolved::NotStored);
        for unknown in [
            "",
            "context.",
            "context.os.",
            "Type",
            "properties.plan",
            "cont",
        ] {
            assert_eq!(resolve(unknown), Resolved::Unknown, "{unknown}");
        }
    }
}
