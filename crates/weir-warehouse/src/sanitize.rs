//! Value conversion of storage spec §3.2 shared by both backends: U+0000 removed from every
//! string and every JSON string, JSON text PostgreSQL's `jsonb` accepts, the sorted consents
//! object, and times as `YYYY-MM-DDTHH:MM:SS.sssZ` truncated to milliseconds.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use weir_spec::Timestamp;

/// `text` without U+0000 (PostgreSQL cannot store it; SQLite gets the same for identical
/// results).
pub(crate) fn clean_text(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', ""))
    } else {
        Cow::Borrowed(text)
    }
}

/// Compact JSON text without U+0000 in any string (member names included): `\u0000` escapes
/// are dropped. Lone UTF-16 surrogate escapes, which the event decoder keeps verbatim but
/// `jsonb` rejects, become `\ufffd` (what the decoder itself reads them as).
pub(crate) fn clean_json(json: &str) -> Cow<'_, str> {
    if !json.contains("\\u") && !json.contains('\0') {
        return Cow::Borrowed(json);
    }
    let bytes = json.as_bytes();
    let mut out = String::with_capacity(json.len());
    let mut copied = 0;
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            0 => {
                out.push_str(&json[copied..index]);
                index += 1;
                copied = index;
            }
            b'\\' if bytes.get(index + 1) == Some(&b'u') => {
                let Some(unit) = hex4(bytes, index + 2) else {
                    index += 2;
                    continue;
                };
                let replacement = match unit {
                    0 => Some(""),
                    0xD800..=0xDBFF => match hex4_escape(bytes, index + 6) {
                        Some(0xDC00..=0xDFFF) => {
                            index += 12;
                            continue;
                        }
                        _ => Some("\\ufffd"),
                    },
                    0xDC00..=0xDFFF => Some("\\ufffd"),
                    _ => None,
                };
                if let Some(replacement) = replacement {
                    out.push_str(&json[copied..index]);
                    out.push_str(replacement);
                    index += 6;
                    copied = index;
                } else {
                    index += 6;
                }
            }
            // Any other escape: skip both bytes so an escaped backslash is never read as the
            // start of an escape.
            b'\\' => index += 2,
            _ => index += 1,
        }
    }
    out.push_str(json.get(copied..).unwrap_or(""));
    Cow::Owned(out)
}

/// The four hex digits at `at`, if there are four.
fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at..at + 4)?;
    let text = std::str::from_utf8(digits).ok()?;
    u32::from_str_radix(text, 16).ok()
}

/// The code unit of a `\uXXXX` escape starting at `at`.
fn hex4_escape(bytes: &[u8], at: usize) -> Option<u32> {
    (bytes.get(at..at + 2)? == b"\\u").then(|| hex4(bytes, at + 2))?
}

/// The consents map as a compact JSON object with keys sorted by byte value (after U+0000
/// removal, which may reorder or merge keys; the later key wins on a merge).
pub(crate) fn consents_json(consents: &BTreeMap<String, bool>) -> String {
    let mut out = String::with_capacity(16 * consents.len() + 2);
    if consents.keys().any(|key| key.contains('\0')) {
        let cleaned: BTreeMap<Cow<'_, str>, bool> = consents
            .iter()
            .map(|(key, granted)| (clean_text(key), *granted))
            .collect();
        write_consents(&mut out, cleaned.iter().map(|(k, v)| (k.as_ref(), *v)));
    } else {
        write_consents(&mut out, consents.iter().map(|(k, v)| (k.as_str(), *v)));
    }
    out
}

fn write_consents<'a>(out: &mut String, entries: impl Iterator<Item = (&'a str, bool)>) {
    out.push('{');
    for (index, (purpose, granted)) in entries.enumerate() {
        if index > 0 {
            out.push(',');
        }
        weir_spec::write_json_string(out, purpose);
        out.push(':');
        out.push_str(if granted { "true" } else { "false" });
    }
    out.push('}');
}

/// A time as stored: `YYYY-MM-DDTHH:MM:SS.sssZ`, truncated to milliseconds, always three
/// fraction digits (so text order is time order). PostgreSQL reads the same text into a
/// `timestamp(3)` (it ignores the `Z` of a zone-less type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimeText([u8; 24]);

impl TimeText {
    pub(crate) fn new(time: Timestamp) -> TimeText {
        // The canonical form of a millisecond-truncated time is `…:SSZ` or `…:SS.sssZ`.
        let mut canonical = Canonical::default();
        let _ = write!(canonical, "{}", time.truncate_to_millis());
        let mut text = *b"0000-00-00T00:00:00.000Z";
        text[..19].copy_from_slice(&canonical.buf[..19]);
        if canonical.len == 24 {
            text[20..23].copy_from_slice(&canonical.buf[20..23]);
        }
        TimeText(text)
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

/// A stack buffer for the canonical text (at most 30 bytes).
#[derive(Default)]
struct Canonical {
    buf: [u8; 32],
    len: usize,
}

impl std::fmt::Write for Canonical {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_json_drops_nul_escapes_and_fixes_lone_surrogates() {
        let check = |input: &str, expected: &str| assert_eq!(clean_json(input), expected);
        check(r#"{"a":1}"#, r#"{"a":1}"#);
        check(r#"{"a\u0000b":"x\u0000y"}"#, r#"{"ab":"xy"}"#);
        check(r#"{"a":"\\u0000"}"#, r#"{"a":"\\u0000"}"#);
        check(r#"{"a":"\\\u0000"}"#, r#"{"a":"\\"}"#);
        check(r#"{"a":"\ud83d\ude00"}"#, r#"{"a":"\ud83d\ude00"}"#);
        check(r#"{"a":"\ud83d"}"#, r#"{"a":"\ufffd"}"#);
        check(r#"{"a":"\ude00x"}"#, r#"{"a":"\ufffdx"}"#);
        check(r#"{"a":"\ud83d\u0041"}"#, r#"{"a":"\ufffd\u0041"}"#);
        check(r#"{"a":"\u00e9"}"#, r#"{"a":"\u00e9"}"#);
    }

    #[test]
    fn consents_are_sorted_and_cleaned() {
        let consents: BTreeMap<String, bool> = [("b", true), ("a\0", false), ("\"q", true)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(
            consents_json(&consents),
            r#"{"\"q":true,"a":false,"b":true}"#
        );
    }

    #[test]
    fn time_text_always_has_three_digits() {
        let check = |input: &str, expected: &str| {
            let time = Timestamp::parse(input).expect("valid time");
            assert_eq!(TimeText::new(time).as_str(), expected);
        };
        check("2024-10-31T14:39:12Z", "2024-10-31T14:39:12.000Z");
        check("2024-10-31T14:39:12.5Z", "2024-10-31T14:39:12.500Z");
        check("2024-10-31T14:39:12.647999999Z", "2024-10-31T14:39:12.647Z");
        check("0001-01-01T00:00:00.000001Z", "0001-01-01T00:00:00.000Z");
        check("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z");
    }
}
