//! Workspaces and their settings: the warehouse they write to and the optional event rate limit
//! (storage-and-pipelines.md §10, §12.2, §15).

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};
use weir_auth::ResourceId;

use crate::{CatalogError, validate};

/// A workspace: the scope of connections, pipelines and workspace-restricted API keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Workspace {
    /// 12-character Base58 id.
    #[serde(serialize_with = "crate::ser::id")]
    pub id: ResourceId,
    /// 1..60 characters.
    pub name: String,
    /// Warehouse and rate limit.
    pub settings: WorkspaceSettings,
}

/// What creating a workspace takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWorkspace {
    /// 1..60 characters.
    pub name: String,
    /// Warehouse and rate limit.
    pub settings: WorkspaceSettings,
}

/// A workspace's name and settings, replaced as a whole by an update (the management API merges
/// a partial `PUT` body into the current values first).
pub type WorkspaceUpdate = NewWorkspace;

/// A workspace's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceSettings {
    /// Where the workspace's pipelines write events, identities and profiles.
    pub warehouse: WarehouseSettings,
    /// The event token bucket; `None` (the default) means no limit.
    #[serde(rename = "eventsRateLimit")]
    pub event_rate_limit: Option<RateLimit>,
}

/// The warehouse of a workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "platform")]
pub enum WarehouseSettings {
    /// `<data_dir>/warehouse.sqlite` (the embedded default).
    #[default]
    #[serde(rename = "SQLite")]
    Sqlite,
    /// A PostgreSQL database.
    #[serde(rename = "PostgreSQL")]
    PostgreSql {
        /// Connection URL, `postgres://…` or `postgresql://…`. It may hold a password: don't log
        /// it or send it back to clients.
        url: String,
    },
}

/// A per-workspace event token bucket (storage-and-pipelines.md §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimit {
    /// Refill rate, events per minute: 1,000..=100,000,000.
    pub rate_per_minute: u64,
    /// Bucket size, events: 1,000..=10,000,000.
    pub max_capacity: u64,
}

impl RateLimit {
    /// The allowed `rate_per_minute` values.
    pub const RATE_PER_MINUTE: RangeInclusive<u64> = 1_000..=100_000_000;
    /// The allowed `max_capacity` values.
    pub const MAX_CAPACITY: RangeInclusive<u64> = 1_000..=10_000_000;
}

/// Checks a workspace's name and settings.
pub(crate) fn validate(workspace: &NewWorkspace) -> Result<(), CatalogError> {
    validate::name("name", &workspace.name)?;
    if let WarehouseSettings::PostgreSql { url } = &workspace.settings.warehouse {
        let scheme_ok = ["postgres://", "postgresql://"]
            .iter()
            .any(|scheme| url.starts_with(scheme) && url.len() > scheme.len());
        if !scheme_ok {
            return Err(CatalogError::invalid(
                "warehouse.settings.url",
                "warehouse.settings.url must be a postgres:// or postgresql:// URL",
            ));
        }
    }
    if let Some(limit) = workspace.settings.event_rate_limit {
        in_range(
            "eventsRateLimit.ratePerMinute",
            limit.rate_per_minute,
            &RateLimit::RATE_PER_MINUTE,
        )?;
        in_range(
            "eventsRateLimit.maxCapacity",
            limit.max_capacity,
            &RateLimit::MAX_CAPACITY,
        )?;
    }
    Ok(())
}

fn in_range(
    field: &'static str,
    value: u64,
    range: &RangeInclusive<u64>,
) -> Result<(), CatalogError> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(CatalogError::invalid(
        field,
        format!(
            "{field} must be between {} and {}, not {value}",
            range.start(),
            range.end()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn workspace(settings: WorkspaceSettings) -> NewWorkspace {
        NewWorkspace {
            name: "Acme".to_owned(),
            settings,
        }
    }

    fn limited(rate_per_minute: u64, max_capacity: u64) -> NewWorkspace {
        workspace(WorkspaceSettings {
            event_rate_limit: Some(RateLimit {
                rate_per_minute,
                max_capacity,
            }),
            ..WorkspaceSettings::default()
        })
    }

    fn message(workspace: &NewWorkspace) -> Option<String> {
        validate(workspace).err().map(|e| e.client_message())
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(message(&workspace(WorkspaceSettings::default())), None);
    }

    #[test]
    fn rate_limit_bounds_are_inclusive() {
        assert_eq!(message(&limited(1_000, 1_000)), None);
        assert_eq!(message(&limited(100_000_000, 10_000_000)), None);
    }

    #[test]
    fn rate_limit_out_of_range_names_the_member() {
        assert_eq!(
            message(&limited(999, 1_000)).as_deref(),
            Some("eventsRateLimit.ratePerMinute must be between 1000 and 100000000, not 999")
        );
        assert_eq!(
            message(&limited(1_000, 10_000_001)).as_deref(),
            Some("eventsRateLimit.maxCapacity must be between 1000 and 10000000, not 10000001")
        );
    }

    #[test]
    fn postgres_url_needs_its_scheme() {
        let with_url = |url: &str| {
            workspace(WorkspaceSettings {
                warehouse: WarehouseSettings::PostgreSql {
                    url: url.to_owned(),
                },
                event_rate_limit: None,
            })
        };
        assert_eq!(message(&with_url("postgres://db/weir")), None);
        assert_eq!(message(&with_url("postgresql://u:p@db:5432/weir")), None);
        for bad in ["", "postgres://", "mysql://db", "db/weir"] {
            assert_eq!(
                message(&with_url(bad)).as_deref(),
                Some("warehouse.settings.url must be a postgres:// or postgresql:// URL"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn serialises_in_api_form() {
        let workspace = Workspace {
            id: ResourceId::parse("2Hx9kLmNpQrZ").unwrap(),
            name: "Acme".to_owned(),
            settings: limited(60_000, 20_000).settings,
        };
        assert_eq!(
            serde_json::to_value(&workspace).unwrap(),
            json!({
                "id": "2Hx9kLmNpQrZ",
                "name": "Acme",
                "settings": {
                    "warehouse": {"platform": "SQLite"},
                    "eventsRateLimit": {"ratePerMinute": 60000, "maxCapacity": 20000}
                }
            })
        );
    }
}
