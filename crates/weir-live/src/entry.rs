//! What ingest publishes ([`Entry`]) and the one JSON form of each entry that listeners and
//! streams deliver (the shapes are listed in the crate documentation), rendered once per entry.

use std::fmt;
use std::sync::Arc;

use weir_spec::{Event, MAX_RAW_EVENT_BYTES, Timestamp};

/// One outcome of one event of an ingest request, published after the durable append.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The source connection that received the event.
    pub connection_id: String,
    /// When the request was received (the events' `receivedAt`).
    pub received_at: Timestamp,
    /// What happened to the event.
    pub kind: EntryKind,
}

/// What happened to an event.
#[derive(Debug, Clone)]
pub enum EntryKind {
    /// Stored in the event log.
    Accepted {
        /// The normalised event (input of listener predicates).
        event: Arc<Event>,
        /// Its canonical JSON ([`Event::to_canonical_json`]).
        json: Arc<str>,
    },
    /// Valid, but not stored: its `messageId` was already accepted within the dedup window.
    Duplicate {
        /// The duplicated `messageId`.
        message_id: String,
        /// The event's canonical JSON, shown under `"event"` when given.
        json: Option<Arc<str>>,
    },
    /// Dropped by validation.
    Rejected {
        /// The exact per-event error message.
        error: String,
        /// The element's text as received; longer text is cut to 16384 bytes here.
        raw: String,
        /// Whether `raw` was already cut by the caller.
        raw_truncated: bool,
    },
}

impl Entry {
    /// An accepted event; connection and `receivedAt` are the event's own.
    pub fn accepted(event: Arc<Event>, json: Arc<str>) -> Entry {
        Entry {
            connection_id: event.connection_id.clone(),
            received_at: event.received_at,
            kind: EntryKind::Accepted { event, json },
        }
    }

    /// A duplicate of an already accepted event, shown with its canonical JSON.
    pub fn duplicate(event: &Event, json: Option<Arc<str>>) -> Entry {
        Entry {
            connection_id: event.connection_id.clone(),
            received_at: event.received_at,
            kind: EntryKind::Duplicate {
                message_id: event.message_id.clone(),
                json,
            },
        }
    }

    /// A rejected event.
    pub fn rejected(
        connection_id: impl Into<String>,
        received_at: Timestamp,
        error: impl Into<String>,
        raw: impl Into<String>,
        raw_truncated: bool,
    ) -> Entry {
        Entry {
            connection_id: connection_id.into(),
            received_at,
            kind: EntryKind::Rejected {
                error: error.into(),
                raw: raw.into(),
                raw_truncated,
            },
        }
    }
}

/// The `event:` type of an SSE entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryType {
    /// An accepted event: `event`.
    Event,
    /// A rejected event: `rejected`.
    Rejected,
    /// A duplicate: `duplicate`.
    Duplicate,
}

impl EntryType {
    /// The SSE `event:` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Event => "event",
            Self::Rejected => "rejected",
            Self::Duplicate => "duplicate",
        }
    }
}

impl fmt::Display for EntryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An entry as delivered: rendered once, shared by every listener, stream and the replay ring.
#[derive(Debug)]
pub(crate) struct Published {
    /// Per-workspace counter, assigned under the workspace lock (the SSE `id`).
    pub(crate) id: u64,
    pub(crate) connection_id: String,
    pub(crate) received_at: Timestamp,
    pub(crate) entry_type: EntryType,
    /// The event, for predicates; `None` for rejected and duplicate entries.
    pub(crate) event: Option<Arc<Event>>,
    pub(crate) json: Arc<str>,
}

impl Published {
    /// Renders `entry`; the id is assigned later.
    pub(crate) fn render(entry: Entry) -> Published {
        let Entry {
            connection_id,
            received_at,
            kind,
        } = entry;
        let (entry_type, event, json) = match kind {
            EntryKind::Accepted { event, json } => (EntryType::Event, Some(event), json),
            EntryKind::Duplicate { message_id, json } => {
                let mut out = header(&connection_id, received_at);
                out.push_str(",\"duplicate\":true,\"messageId\":");
                weir_spec::write_json_string(&mut out, &message_id);
                if let Some(json) = json {
                    out.push_str(",\"event\":");
                    out.push_str(&json);
                }
                out.push('}');
                (EntryType::Duplicate, None, out.into())
            }
            EntryKind::Rejected {
                error,
                raw,
                raw_truncated,
            } => {
                let (raw, cut) = cut_raw(&raw);
                let mut out = header(&connection_id, received_at);
                out.push_str(",\"error\":");
                weir_spec::write_json_string(&mut out, &error);
                out.push_str(",\"raw\":");
                weir_spec::write_json_string(&mut out, raw);
                if raw_truncated || cut {
                    out.push_str(",\"rawTruncated\":true");
                }
                out.push('}');
                (EntryType::Rejected, None, out.into())
            }
        };
        Published {
            id: 0,
            connection_id,
            received_at,
            entry_type,
            event,
            json,
        }
    }
}

/// `{"connectionId":"…","receivedAt":"…"`, the common start of rejected and duplicate entries.
fn header(connection_id: &str, received_at: Timestamp) -> String {
    let mut out = String::with_capacity(128);
    out.push_str("{\"connectionId\":");
    weir_spec::write_json_string(&mut out, connection_id);
    out.push_str(",\"receivedAt\":\"");
    received_at.write_canonical(&mut out);
    out.push('"');
    out
}

/// `raw` cut at a UTF-8 boundary to at most [`MAX_RAW_EVENT_BYTES`], and whether it was cut.
fn cut_raw(raw: &str) -> (&str, bool) {
    if raw.len() <= MAX_RAW_EVENT_BYTES {
        return (raw, false);
    }
    let mut end = MAX_RAW_EVENT_BYTES;
    while !raw.is_char_boundary(end) {
        end -= 1;
    }
    (&raw[..end], true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_quotes_backslashes_and_controls() {
        let mut out = String::new();
        weir_spec::write_json_string(&mut out, "a\"b\\c\nd\te\u{1}f\u{1f}é");
        assert_eq!(out, r#""a\"b\\c\nd\te\u0001f\u001fé""#);
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, "a\"b\\c\nd\te\u{1}f\u{1f}é");
    }

    #[test]
    fn raw_is_cut_at_a_char_boundary() {
        let raw = format!("{}é", "x".repeat(MAX_RAW_EVENT_BYTES - 1));
        let (cut, was_cut) = cut_raw(&raw);
        assert!(was_cut);
        assert_eq!(cut.len(), MAX_RAW_EVENT_BYTES - 1);
        assert_eq!(cut_raw("short"), ("short", false));
    }
}
