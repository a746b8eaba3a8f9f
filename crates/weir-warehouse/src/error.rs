//! The warehouse's boundary error: retryable outages, permanent rejections and invalid
//! queries. Backend modules classify their driver errors into these three.

/// Why a warehouse operation failed. Messages are meant for users (they name the server, never
/// a password) and are complete sentences without a trailing period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WarehouseError {
    /// The warehouse cannot be reached or is busy right now (connection refused or lost,
    /// timeout, `SQLITE_BUSY`, disk full). Nothing of the failed write was committed; retry
    /// later with backoff.
    #[error("{message}")]
    Unavailable { message: String },
    /// The warehouse refused the operation and will keep refusing it (bad data, missing
    /// permission, wrong credentials, unknown database). Retrying does not help.
    #[error("{message}")]
    Rejected { message: String },
    /// An [`crate::EventQuery`] is not valid; `field` names the offending part (`columns`,
    /// `order`, `first`, `limit` or `filter`).
    #[error("invalid {field}: {message}")]
    InvalidQuery {
        field: &'static str,
        message: String,
    },
}

impl WarehouseError {
    /// Whether the operation may succeed when retried later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, WarehouseError::Unavailable { .. })
    }

    pub(crate) fn unavailable(message: impl Into<String>) -> WarehouseError {
        WarehouseError::Unavailable {
            message: message.into(),
        }
    }

    pub(crate) fn rejected(message: impl Into<String>) -> WarehouseError {
        WarehouseError::Rejected {
            message: message.into(),
        }
    }

    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> WarehouseError {
        WarehouseError::InvalidQuery {
            field,
            message: message.into(),
        }
    }
}
