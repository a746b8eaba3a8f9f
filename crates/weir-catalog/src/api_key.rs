//! Management API keys as the catalog keeps them: name, scope and hint, never the token
//! (storage-and-pipelines.md §12.2, §13).

use serde::Serialize;
use time::OffsetDateTime;
use weir_auth::{ApiKey, ResourceId};

/// A management API key, without its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyRecord {
    /// 12-character Base58 id.
    #[serde(serialize_with = "crate::ser::id")]
    pub id: ResourceId,
    /// 1..60 characters.
    pub name: String,
    /// The workspace the key is restricted to; `None` for an instance-wide key.
    #[serde(serialize_with = "crate::ser::option_id")]
    pub workspace: Option<ResourceId>,
    /// `api_` + the first 4 characters after the prefix + `…` + the last 6.
    pub hint: String,
    /// When it was created.
    #[serde(serialize_with = "crate::ser::time")]
    pub created_at: OffsetDateTime,
}

/// What creating an API key takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// 1..60 characters.
    pub name: String,
    /// An existing workspace to restrict the key to, or `None` for an instance-wide key.
    pub workspace: Option<ResourceId>,
}

/// A key just created: its record and its token, which is shown this once and kept nowhere.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    /// What the catalog keeps.
    pub record: ApiKeyRecord,
    /// The key; `key.as_str()` is the token to show.
    pub key: ApiKey,
}
