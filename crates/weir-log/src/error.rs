//! The log's boundary error. Storage details never cross it: they are logged with `tracing`
//! where they happen.

/// Why a log operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// The log cannot be written or read right now (I/O error, disk full, writer gone); nothing
    /// of the failed append was stored. Ingest answers 503 with `Retry-After`.
    #[error("the event log is unavailable")]
    Unavailable,
    /// An unexpected failure (corrupt data, a bug); ingest answers 500.
    #[error("internal event log error")]
    Internal,
    /// The log was closed by [`crate::EventLog::close`].
    #[error("the event log is closed")]
    Closed,
    /// [`crate::LogConfig`] is invalid; the message says which rule it breaks.
    #[error("invalid event log configuration: {0}")]
    Config(&'static str),
}
