//! The hub's boundary error. Messages are the spec's (§11.1); the management API maps each
//! variant to its status and `code`.

/// Why a listener or stream operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LiveError {
    /// The workspace already has the maximum of listeners and streams: 422
    /// `TooManyListeners`.
    #[error("there are already {limit} listeners")]
    TooManyListeners {
        /// The per-workspace limit.
        limit: usize,
    },
    /// No such listener in this workspace (never created, deleted, or expired): 404
    /// `NotFound`.
    #[error("event listener \"{id}\" does not exist")]
    NotFound {
        /// The id as the client sent it.
        id: String,
    },
    /// A listener `size` outside 1..=1000: 400 `BadRequest`.
    #[error("size {size} is not valid")]
    InvalidSize {
        /// The size requested.
        size: usize,
    },
}

impl LiveError {
    /// The `code` member of the management API's error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooManyListeners { .. } => "TooManyListeners",
            Self::NotFound { .. } => "NotFound",
            Self::InvalidSize { .. } => "BadRequest",
        }
    }
}
