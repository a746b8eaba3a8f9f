//! The load generator's requests: the spec benchmark's 100-event batch, serialised once as a
//! complete HTTP/1.1 request, with every event's `messageId` stamped per request.
//!
//! The server deduplicates by (connection, `messageId`), so every request must carry fresh ids.
//! Rather than building a body per request, the template remembers where each id ends and
//! overwrites its last [`STAMP_LEN`] characters in place with `{request:010x}{event:02x}`: no
//! allocation, 12 bytes per event, and ids unique across the whole run. The ids keep their
//! SDK shapes (`ajs-next-<hex>`, a UUID, `node-next-<uuid>`), all of which end in hex digits.

use anyhow::{Result, bail, ensure};

use crate::spec::batch;

/// Characters at the end of each `messageId` replaced by the per-request stamp.
pub(crate) const STAMP_LEN: usize = 12;

/// The benchmark body plus where its message ids are stamped.
#[derive(Debug, Clone)]
pub(crate) struct Body {
    pub(crate) bytes: Vec<u8>,
    /// Per event, in order: the offset in `bytes` of the last [`STAMP_LEN`] characters of its
    /// `messageId`.
    pub(crate) stamps: Vec<usize>,
}

impl Body {
    /// The spec benchmark's deterministic batch.
    pub(crate) fn build() -> Result<Body> {
        Body::from_bytes(batch::build())
    }

    fn from_bytes(bytes: Vec<u8>) -> Result<Body> {
        const MEMBER: &[u8] = br#""messageId":""#;
        let mut stamps = Vec::with_capacity(batch::EVENTS);
        let mut from = 0;
        while let Some(found) = find(&bytes[from..], MEMBER) {
            let start = from + found + MEMBER.len();
            let Some(length) = bytes[start..].iter().position(|&byte| byte == b'"') else {
                bail!("unterminated messageId in the benchmark body");
            };
            let end = start + length;
            ensure!(
                length >= STAMP_LEN
                    && bytes[end - STAMP_LEN..end]
                        .iter()
                        .all(u8::is_ascii_hexdigit),
                "messageId {:?} does not end in {STAMP_LEN} hex digits",
                String::from_utf8_lossy(&bytes[start..end])
            );
            stamps.push(end - STAMP_LEN);
            from = end;
        }
        ensure!(
            stamps.len() == batch::EVENTS,
            "expected {} messageIds in the benchmark body, found {}",
            batch::EVENTS,
            stamps.len()
        );
        Ok(Body { bytes, stamps })
    }

    pub(crate) fn events(&self) -> usize {
        self.stamps.len()
    }
}

/// A complete `POST /v1/events` request (head and body) ready to write to a socket.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    pub(crate) bytes: Vec<u8>,
    /// [`Body::stamps`] shifted by the length of the head.
    pub(crate) stamps: Vec<usize>,
}

impl Template {
    /// `extra_headers` are complete header lines, each ending in `\r\n`.
    pub(crate) fn new(body: &Body, host: &str, write_key: &str, extra_headers: &str) -> Template {
        let head = format!(
            "POST /v1/events HTTP/1.1\r\n\
             Host: {host}\r\n\
             Content-Type: application/json\r\n\
             Authorization: Bearer {write_key}\r\n\
             {extra_headers}\
             Content-Length: {}\r\n\r\n",
            body.bytes.len()
        );
        let mut bytes = Vec::with_capacity(head.len() + body.bytes.len());
        bytes.extend_from_slice(head.as_bytes());
        bytes.extend_from_slice(&body.bytes);
        let stamps = body
            .stamps
            .iter()
            .map(|offset| offset + head.len())
            .collect();
        Template { bytes, stamps }
    }
}

/// Writes the ids of request number `request` (below 16¹⁰) into `bytes` at `stamps`.
pub(crate) fn stamp(bytes: &mut [u8], stamps: &[usize], request: u64) {
    let mut prefix = [0u8; 10];
    write_hex(&mut prefix, request);
    for (event, &offset) in stamps.iter().enumerate() {
        let target = &mut bytes[offset..offset + STAMP_LEN];
        target[..10].copy_from_slice(&prefix);
        write_hex(&mut target[10..], event as u64);
    }
}

/// Lower-case hex of `value`, right-aligned and zero-padded to `out.len()` digits (the high
/// digits are dropped if it does not fit).
fn write_hex(out: &mut [u8], mut value: u64) {
    for digit in out.iter_mut().rev() {
        *digit = b"0123456789abcdef"[(value & 0xf) as usize];
        value >>= 4;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn message_ids(body: &[u8]) -> Vec<String> {
        let value: serde_json::Value = serde_json::from_slice(body).unwrap();
        value["batch"]
            .as_array()
            .unwrap()
            .iter()
            .map(|event| event["messageId"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn finds_every_message_id_of_the_batch() {
        let body = Body::build().unwrap();
        assert_eq!(body.events(), batch::EVENTS);
    }

    #[test]
    fn stamped_ids_are_unique_across_requests_and_keep_the_json_valid() {
        let body = Body::build().unwrap();
        let mut bytes = body.bytes.clone();
        let mut seen = HashSet::new();
        for request in [0, 1, 0xff_ffff_ffff] {
            stamp(&mut bytes, &body.stamps, request);
            for id in message_ids(&bytes) {
                assert!(seen.insert(id.clone()), "{id} repeats");
            }
        }
        stamp(&mut bytes, &body.stamps, 0x2a);
        let ids = message_ids(&bytes);
        assert!(ids[0].ends_with("000000002a00"), "{}", ids[0]);
        assert!(ids[99].ends_with("000000002a63"), "{}", ids[99]);
    }

    #[test]
    fn the_template_is_a_complete_request_with_stamps_in_the_body() {
        let body = Body::build().unwrap();
        let mut template = Template::new(&body, "127.0.0.1:9", "KEY", "Weir-Report: true\r\n");
        stamp(&mut template.bytes, &template.stamps, 7);
        let text = String::from_utf8(template.bytes.clone()).unwrap();
        let (head, sent) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("POST /v1/events HTTP/1.1\r\n"));
        assert!(head.contains("Authorization: Bearer KEY\r\n"));
        assert!(head.contains("Weir-Report: true\r\n"));
        assert!(head.contains(&format!("Content-Length: {}", body.bytes.len())));
        assert!(message_ids(sent.as_bytes())[5].ends_with("000000000705"));
    }

    #[test]
    fn rejects_ids_that_cannot_be_stamped() {
        let short = br#"{"batch":[{"messageId":"abc"}]}"#.to_vec();
        assert!(Body::from_bytes(short).is_err());
    }
}
