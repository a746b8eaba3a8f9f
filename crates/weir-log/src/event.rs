//! What goes into the log and what comes out: the append input, its per-event status, and the
//! logical record consumers read (storage spec §2.1).

use bytes::Bytes;

/// One event to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendEvent {
    pub workspace_id: String,
    pub connection_id: String,
    /// The event's `messageId`.
    pub message_id: String,
    /// The event's `receivedAt`, unix milliseconds; dedup window and retention are measured on it.
    pub received_at_ms: i64,
    /// The canonical event JSON, stored as is.
    pub payload: Bytes,
    /// Whether to check and record (connection, message id) in the dedup index. `false` for
    /// server-generated message ids, which cannot repeat.
    pub dedup: bool,
}

/// The outcome of one [`AppendEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppendStatus {
    /// Stored durably at `seq`.
    Appended { seq: u64 },
    /// Its (connection, message id) was accepted within the dedup window; not stored.
    Duplicate,
}

impl AppendStatus {
    /// The seq of an appended event.
    pub fn seq(self) -> Option<u64> {
        match self {
            AppendStatus::Appended { seq } => Some(seq),
            AppendStatus::Duplicate => None,
        }
    }
}

/// One stored event, as consumers read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub seq: u64,
    pub workspace_id: String,
    pub connection_id: String,
    pub message_id: String,
    pub received_at_ms: i64,
    pub payload: Bytes,
}
