//! The `text/event-stream` wire form of stream items (storage spec §11.2).

use std::time::Duration;

use crate::stream::StreamItem;

/// The keep-alive comment, sent every [`SSE_PING_INTERVAL`].
pub const SSE_PING: &str = ": ping\n\n";

/// How often [`SSE_PING`] is sent.
pub const SSE_PING_INTERVAL: Duration = Duration::from_secs(15);

/// One item as an SSE event: `id: <n>\nevent: <type>\ndata: <json>\n\n`, or
/// `event: omitted\ndata: {"omitted":<n>}\n\n`.
pub fn format_sse(item: &StreamItem) -> String {
    let mut out = String::new();
    write_sse(item, &mut out);
    out
}

/// Appends [`format_sse`] of `item` to `out`, to batch several items into one write.
pub fn write_sse(item: &StreamItem, out: &mut String) {
    match item {
        StreamItem::Entry { id, kind, json } => {
            out.reserve(json.len() + 40);
            out.push_str("id: ");
            out.push_str(&id.to_string());
            out.push_str("\nevent: ");
            out.push_str(kind.as_str());
            out.push_str("\ndata: ");
            // A line break in JSON text can only be insignificant whitespace (strings escape
            // them), so replacing it keeps the value and the data on one line.
            if json.contains(['\n', '\r']) {
                out.push_str(&json.replace(['\n', '\r'], " "));
            } else {
                out.push_str(json);
            }
            out.push_str("\n\n");
        }
        StreamItem::Omitted { count } => {
            out.push_str("event: omitted\ndata: {\"omitted\":");
            out.push_str(&count.to_string());
            out.push_str("}\n\n");
        }
    }
}

/// The value of a `Last-Event-ID` request header, if it is one of our ids (a decimal counter);
/// anything else means no replay.
pub fn parse_last_event_id(header: &str) -> Option<u64> {
    let header = header.trim();
    if header.is_empty() || !header.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    header.parse().ok()
}
