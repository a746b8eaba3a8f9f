//! Pipelines as stored (storage-and-pipelines.md §5.1): which connection's events they read, their
//! target, whether they run, and their filter, consents and transformation kept as JSON objects
//! whose meaning the pipeline crate checks.

use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use weir_auth::ResourceId;

use crate::{CatalogError, Role, validate};

/// A pipeline of a connection.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pipeline {
    /// 12-character Base58 id.
    #[serde(serialize_with = "crate::ser::id")]
    pub id: ResourceId,
    /// The workspace of its connection.
    #[serde(serialize_with = "crate::ser::id")]
    pub workspace_id: ResourceId,
    /// The connection whose events it reads (fixed at creation).
    #[serde(rename = "connection", serialize_with = "crate::ser::id")]
    pub connection_id: ResourceId,
    /// 1..60 characters.
    pub name: String,
    /// Fixed at creation.
    pub target: PipelineTarget,
    /// Whether it consumes events; new pipelines start disabled unless asked otherwise.
    pub enabled: bool,
    /// A filter (§6) as a JSON object, or `None`.
    pub filter: Option<Value>,
    /// A transformation (§7) as a JSON object (`User` pipelines only), or `None`.
    pub transformation: Option<Value>,
    /// `{"operator":…,"purposes":[…]}` as a JSON object, or `None`.
    pub required_consents: Option<Value>,
    /// Where the pipeline's cursor starts (fixed at creation).
    pub replay_from: ReplayFrom,
    /// When it was created.
    #[serde(serialize_with = "crate::ser::time")]
    pub created_at: OffsetDateTime,
    /// When it was last changed (including enabling and disabling).
    #[serde(serialize_with = "crate::ser::time")]
    pub updated_at: OffsetDateTime,
}

/// What creating a pipeline takes.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPipeline {
    /// A connection of the same workspace.
    pub connection_id: ResourceId,
    /// 1..60 characters.
    pub name: String,
    /// `Event` or `User` for sources; `Event` only for destinations.
    pub target: PipelineTarget,
    /// Usually `false`: users enable a pipeline once it is set up.
    pub enabled: bool,
    /// A JSON object or `None` (JSON `null` counts as `None`).
    pub filter: Option<Value>,
    /// A JSON object or `None`; only `User` pipelines may have one.
    pub transformation: Option<Value>,
    /// A JSON object or `None`.
    pub required_consents: Option<Value>,
    /// Where the cursor starts.
    pub replay_from: ReplayFrom,
}

/// What a pipeline update replaces (the management API merges a partial body first).
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineUpdate {
    /// 1..60 characters.
    pub name: String,
    /// The new state, or `None` to keep the current one.
    pub enabled: Option<bool>,
    /// As in [`NewPipeline`].
    pub filter: Option<Value>,
    /// As in [`NewPipeline`].
    pub transformation: Option<Value>,
    /// As in [`NewPipeline`].
    pub required_consents: Option<Value>,
}

/// What a pipeline produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PipelineTarget {
    /// "Import events into warehouse", or sending events to a destination.
    Event,
    /// "Import users into warehouse" (source connections only).
    User,
}

/// Where a new pipeline starts reading the event log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReplayFrom {
    /// At the log's tail: only events received from now on (the default).
    #[default]
    Now,
    /// At the oldest record still in the log.
    Earliest,
    /// At the first record received at or after this time.
    Time(OffsetDateTime),
}

impl ReplayFrom {
    /// `now`, `earliest` or RFC 3339 text, as the management API and the catalog write it.
    pub fn to_text(self) -> Result<String, time::error::Format> {
        match self {
            Self::Now => Ok("now".to_owned()),
            Self::Earliest => Ok("earliest".to_owned()),
            Self::Time(time) => time.format(&Rfc3339),
        }
    }

    /// Reads [`ReplayFrom::to_text`]'s forms back; `None` for anything else.
    pub fn from_text(text: &str) -> Option<Self> {
        match text {
            "now" => Some(Self::Now),
            "earliest" => Some(Self::Earliest),
            _ => OffsetDateTime::parse(text, &Rfc3339).ok().map(Self::Time),
        }
    }
}

impl Serialize for ReplayFrom {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.to_text().map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }
}

/// The checked JSON members of a pipeline, ready to store.
#[derive(Debug)]
pub(crate) struct CheckedJson {
    pub(crate) filter: Option<Value>,
    pub(crate) transformation: Option<Value>,
    pub(crate) required_consents: Option<Value>,
}

/// Checks a pipeline's name, target and JSON members for a connection of `role`.
pub(crate) fn validate(
    role: Role,
    name: &str,
    target: PipelineTarget,
    filter: Option<Value>,
    transformation: Option<Value>,
    required_consents: Option<Value>,
) -> Result<CheckedJson, CatalogError> {
    validate::name("name", name)?;
    if role == Role::Destination && target != PipelineTarget::Event {
        return Err(CatalogError::invalid(
            "target",
            "target must be Event for a pipeline of a destination connection",
        ));
    }
    let checked = CheckedJson {
        filter: validate::json_object("filter", filter)?,
        transformation: validate::json_object("transformation", transformation)?,
        required_consents: validate::json_object("requiredConsents", required_consents)?,
    };
    if checked.transformation.is_some() && target != PipelineTarget::User {
        return Err(CatalogError::invalid(
            "transformation",
            "transformation can only be set for User pipelines",
        ));
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn check(role: Role, target: PipelineTarget, transformation: Option<Value>) -> Option<String> {
        validate(role, "Import", target, None, transformation, None)
            .err()
            .map(|e| e.client_message())
    }

    #[test]
    fn targets_by_role() {
        assert_eq!(check(Role::Source, PipelineTarget::Event, None), None);
        assert_eq!(check(Role::Source, PipelineTarget::User, None), None);
        assert_eq!(check(Role::Destination, PipelineTarget::Event, None), None);
        assert_eq!(
            check(Role::Destination, PipelineTarget::User, None).as_deref(),
            Some("target must be Event for a pipeline of a destination connection")
        );
    }

    #[test]
    fn transformation_only_on_user_pipelines() {
        let mapping = || Some(json!({"mapping": {"email": "traits.email"}}));
        assert_eq!(check(Role::Source, PipelineTarget::User, mapping()), None);
        assert_eq!(
            check(Role::Source, PipelineTarget::Event, mapping()).as_deref(),
            Some("transformation can only be set for User pipelines")
        );
        assert_eq!(
            check(Role::Source, PipelineTarget::Event, Some(Value::Null)),
            None
        );
    }

    #[test]
    fn json_members_must_be_objects() {
        let error = validate(
            Role::Source,
            "Import",
            PipelineTarget::Event,
            None,
            None,
            Some(json!(["a"])),
        )
        .unwrap_err();
        assert!(matches!(
            error,
            CatalogError::Invalid {
                field: "requiredConsents",
                ..
            }
        ));
        assert_eq!(
            error.client_message(),
            "requiredConsents must be a JSON object or null"
        );
    }

    #[test]
    fn replay_from_text() {
        let at = datetime!(2025-03-01 12:30:00.5 UTC);
        for (value, text) in [
            (ReplayFrom::Now, "now"),
            (ReplayFrom::Earliest, "earliest"),
            (ReplayFrom::Time(at), "2025-03-01T12:30:00.5Z"),
        ] {
            assert_eq!(value.to_text().unwrap(), text);
            assert_eq!(ReplayFrom::from_text(text), Some(value));
            assert_eq!(serde_json::to_value(value).unwrap(), json!(text));
        }
        assert_eq!(ReplayFrom::from_text("later"), None);
    }
}
