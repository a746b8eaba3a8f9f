//! Rows in PostgreSQL's COPY text format (tab-separated, `\N` for NULL, backslash escapes),
//! built from the shared column table. PostgreSQL parses each value into the staging table's
//! real column type (`jsonb`, `inet`, enums, `timestamp(3)`, `numeric(3,2)`).

use std::io::Write as _;

use bytes::Bytes;
use weir_spec::Event;

use crate::columns::{Field, written_columns};

/// The `COPY … FROM STDIN` payload of `events`.
pub(crate) fn encode(events: &[&Event]) -> Bytes {
    let mut out: Vec<u8> = Vec::with_capacity(events.len() * 768);
    for event in events {
        for (index, column) in written_columns().iter().enumerate() {
            if index > 0 {
                out.push(b'\t');
            }
            match column.read(event) {
                Field::Null => out.extend_from_slice(b"\\N"),
                Field::Text(text) | Field::Json(text) => escape(&mut out, &text),
                Field::Time(time) => out.extend_from_slice(time.as_str().as_bytes()),
                Field::Bool(value) => out.push(if value { b't' } else { b'f' }),
                Field::Int(value) => {
                    let _ = write!(out, "{value}");
                }
                // Display is the shortest text that reads back as the same f64.
                Field::Float(value) => {
                    let _ = write!(out, "{value}");
                }
            }
        }
        out.push(b'\n');
    }
    Bytes::from(out)
}

/// Appends `text` with the COPY text escapes for backslash, tab, newline and carriage return.
fn escape(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let mut copied = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let escaped: &[u8] = match byte {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => continue,
        };
        out.extend_from_slice(&bytes[copied..index]);
        out.extend_from_slice(escaped);
        copied = index + 1;
    }
    out.extend_from_slice(&bytes[copied..]);
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_copy_specials() {
        let mut out = Vec::new();
        super::escape(&mut out, "a\\b\tc\nd\re\u{1}f");
        assert_eq!(out, b"a\\\\b\\tc\\nd\\re\x01f");
    }
}
