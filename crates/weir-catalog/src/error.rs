//! The catalog's error type: each variant knows the management API's status code, error `code`
//! and client-facing message (storage-and-pipelines.md §12); storage details stay internal.

use std::fmt;

use weir_auth::ResourceId;

/// Why a catalog operation failed.
///
/// `Display` is for logs and includes internal details; answer clients with [`status`],
/// [`code`] and [`client_message`], which never reveal them.
///
/// [`status`]: CatalogError::status
/// [`code`]: CatalogError::code
/// [`client_message`]: CatalogError::client_message
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The resource does not exist (or not in the caller's workspace).
    #[error("{resource} {id} does not exist")]
    NotFound {
        /// What was looked for.
        resource: Resource,
        /// The id (or key) that names no such resource.
        id: String,
    },
    /// Event write keys were asked of a connection that is not a source (as Krenalis: 404).
    #[error("connection {id} is not a source")]
    NotASource {
        /// The connection.
        id: ResourceId,
    },
    /// The connection already has the maximum number of event write keys.
    #[error("connection {connection} already has 20 event write keys")]
    TooManyEventWriteKeys {
        /// The connection.
        connection: ResourceId,
    },
    /// The key is the connection's only one and cannot be deleted.
    #[error("key cannot be deleted as it is the connection\u{2019}s only key")]
    SingleEventWriteKey,
    /// A value is not acceptable; `message` names the field and says what is wrong.
    #[error("{message}")]
    Invalid {
        /// The offending field, as the management API names it (`name`,
        /// `eventsRateLimit.ratePerMinute`, …).
        field: &'static str,
        /// The whole message, starting with the field's name.
        message: String,
    },
    /// The catalog's storage failed; the detail is for logs only.
    #[error("catalog storage failed: {0}")]
    Storage(#[from] StorageError),
}

/// The kinds of resources the catalog holds, as messages name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// A workspace.
    Workspace,
    /// A source or destination connection.
    Connection,
    /// A pipeline.
    Pipeline,
    /// A management API key.
    ApiKey,
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Workspace => "workspace",
            Self::Connection => "connection",
            Self::Pipeline => "pipeline",
            Self::ApiKey => "API key",
        })
    }
}

/// A failure of the underlying store (SQLite, the file system). Opaque: its text is logged, never
/// sent to clients.
#[derive(Debug)]
pub struct StorageError(String);

impl StorageError {
    /// An error whose log text is `detail`.
    pub(crate) fn new(detail: impl Into<String>) -> Self {
        Self(detail.into())
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StorageError {}

impl From<rusqlite::Error> for CatalogError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Storage(StorageError::new(format!("SQLite: {error}")))
    }
}

impl CatalogError {
    /// A [`CatalogError::NotFound`] for `id`.
    pub(crate) fn not_found(resource: Resource, id: impl fmt::Display) -> Self {
        Self::NotFound {
            resource,
            id: id.to_string(),
        }
    }

    /// A [`CatalogError::Invalid`] for `field`.
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }

    /// The HTTP status the management API answers with.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotFound { .. } | Self::NotASource { .. } => 404,
            Self::TooManyEventWriteKeys { .. } | Self::SingleEventWriteKey => 422,
            Self::Invalid { .. } => 400,
            Self::Storage(_) => 500,
        }
    }

    /// The `code` member of the error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } | Self::NotASource { .. } => "NotFound",
            Self::TooManyEventWriteKeys { .. } => "TooManyEventWriteKeys",
            Self::SingleEventWriteKey => "SingleEventWriteKey",
            Self::Invalid { .. } => "BadRequest",
            Self::Storage(_) => "InternalServerError",
        }
    }

    /// The `message` member of the error body: the `Display` text, except for storage failures,
    /// whose details are replaced by `Internal Server Error`.
    pub fn client_message(&self) -> String {
        match self {
            Self::Storage(_) => "Internal Server Error".to_owned(),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(error: CatalogError, status: u16, code: &str, message: &str) {
        assert_eq!(error.status(), status, "{error:?}");
        assert_eq!(error.code(), code, "{error:?}");
        assert_eq!(error.client_message(), message, "{error:?}");
    }

    fn id() -> ResourceId {
        ResourceId::parse("2Hx9kLmNpQrZ").unwrap()
    }

    #[test]
    fn not_found() {
        let error = CatalogError::not_found(Resource::Workspace, id());
        check(
            error,
            404,
            "NotFound",
            "workspace 2Hx9kLmNpQrZ does not exist",
        );
        let error = CatalogError::not_found(Resource::ApiKey, id());
        check(
            error,
            404,
            "NotFound",
            "API key 2Hx9kLmNpQrZ does not exist",
        );
    }

    #[test]
    fn not_a_source() {
        let error = CatalogError::NotASource { id: id() };
        check(
            error,
            404,
            "NotFound",
            "connection 2Hx9kLmNpQrZ is not a source",
        );
    }

    #[test]
    fn write_key_limits() {
        let error = CatalogError::TooManyEventWriteKeys { connection: id() };
        check(
            error,
            422,
            "TooManyEventWriteKeys",
            "connection 2Hx9kLmNpQrZ already has 20 event write keys",
        );
        check(
            CatalogError::SingleEventWriteKey,
            422,
            "SingleEventWriteKey",
            "key cannot be deleted as it is the connection’s only key",
        );
    }

    #[test]
    fn invalid() {
        let error = CatalogError::invalid("name", "name cannot be empty");
        check(error, 400, "BadRequest", "name cannot be empty");
    }

    #[test]
    fn storage_detail_is_logged_but_not_shown() {
        let error = CatalogError::from(rusqlite::Error::InvalidQuery);
        assert!(
            error
                .to_string()
                .starts_with("catalog storage failed: SQLite: ")
        );
        check(error, 500, "InternalServerError", "Internal Server Error");
    }
}
