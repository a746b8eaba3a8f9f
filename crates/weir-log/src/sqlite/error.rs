//! The backend's internal error and its classification at the boundary: SQLite details are
//! logged here, once, and only a [`LogError`] leaves the crate.

use crate::LogError;

/// Failures inside the backend, turned into a [`LogError`] (and logged) at the boundary.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Unexpected(&'static str),
    #[error("value too large for the log format")]
    TooLarge,
}

impl StoreError {
    /// Logs the details and classifies them: storage that cannot be written or read right now
    /// is [`LogError::Unavailable`]; anything else is [`LogError::Internal`].
    pub(crate) fn into_log_error(self, context: &'static str) -> LogError {
        use rusqlite::ErrorCode;
        let unavailable = match &self {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(failure, _)) => matches!(
                failure.code,
                ErrorCode::DiskFull
                    | ErrorCode::SystemIoFailure
                    | ErrorCode::CannotOpen
                    | ErrorCode::PermissionDenied
                    | ErrorCode::ReadOnly
                    | ErrorCode::DatabaseBusy
                    | ErrorCode::DatabaseLocked
                    | ErrorCode::OutOfMemory
                    | ErrorCode::FileLockingProtocolFailed
            ),
            _ => false,
        };
        if unavailable {
            tracing::error!(error = %self, context, "event log unavailable");
            LogError::Unavailable
        } else {
            tracing::error!(error = %self, context, "event log internal error");
            LogError::Internal
        }
    }
}
