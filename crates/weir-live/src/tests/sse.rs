//! The SSE wire form.

use crate::{EntryType, SSE_PING, format_sse, parse_last_event_id, write_sse};

use super::*;

fn entry(id: u64, kind: EntryType, json: &str) -> StreamItem {
    StreamItem::Entry {
        id,
        kind,
        json: json.into(),
    }
}

#[test]
fn entries_are_id_event_and_one_data_line() {
    assert_eq!(
        format_sse(&entry(7, EntryType::Event, r#"{"a":1}"#)),
        "id: 7\nevent: event\ndata: {\"a\":1}\n\n"
    );
    assert_eq!(
        format_sse(&entry(8, EntryType::Rejected, "{}")),
        "id: 8\nevent: rejected\ndata: {}\n\n"
    );
    assert_eq!(
        format_sse(&entry(9, EntryType::Duplicate, "{}")),
        "id: 9\nevent: duplicate\ndata: {}\n\n"
    );
}

#[test]
fn omitted_items_have_no_id() {
    assert_eq!(
        format_sse(&StreamItem::Omitted { count: 42 }),
        "event: omitted\ndata: {\"omitted\":42}\n\n"
    );
}

#[test]
fn line_breaks_in_json_whitespace_stay_on_one_line() {
    assert_eq!(
        format_sse(&entry(1, EntryType::Event, "{\r\n\"a\":\n1}")),
        "id: 1\nevent: event\ndata: {  \"a\": 1}\n\n"
    );
}

#[test]
fn items_can_be_batched_into_one_buffer() {
    let mut out = String::from(SSE_PING);
    write_sse(&StreamItem::Omitted { count: 1 }, &mut out);
    write_sse(&entry(2, EntryType::Event, "{}"), &mut out);
    assert_eq!(
        out,
        ": ping\n\nevent: omitted\ndata: {\"omitted\":1}\n\nid: 2\nevent: event\ndata: {}\n\n"
    );
}

#[test]
fn last_event_id_is_a_decimal_counter() {
    assert_eq!(parse_last_event_id("42"), Some(42));
    assert_eq!(parse_last_event_id(" 7 "), Some(7));
    for bad in ["", "-1", "+1", "1.5", "abc", "99999999999999999999"] {
        assert_eq!(parse_last_event_id(bad), None, "{bad:?}");
    }
}
