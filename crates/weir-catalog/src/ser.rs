//! Serialisation helpers for foreign types the entities hold: resource ids (as their text) and
//! times (as RFC 3339).

use serde::Serializer;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use weir_auth::ResourceId;

/// A resource id as its 12 characters.
pub(crate) fn id<S: Serializer>(id: &ResourceId, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(id.as_str())
}

/// An optional resource id as its 12 characters or `null`.
pub(crate) fn option_id<S: Serializer>(
    id: &Option<ResourceId>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match id {
        Some(id) => serializer.serialize_str(id.as_str()),
        None => serializer.serialize_none(),
    }
}

/// A time as RFC 3339 text.
pub(crate) fn time<S: Serializer>(time: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
    let text = time.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
    serializer.serialize_str(&text)
}
