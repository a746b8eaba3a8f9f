//! The body of one log row: every stored event of one append call, length-prefixed, so a row
//! holds many events while each keeps its own seq (`first_seq + index`). Also the dedup key.
//!
//! Layout: `version: u8` (1), then per event in order: `flags: u8` (bit 0: a new source
//! follows; bit 1: the event is not deduplicated, `dedup: false`) · [`workspace_len: u32` ·
//! workspace id · `connection_len: u32` · connection id] ·
//! `received_at_ms: i64` · `message_id_len: u32` · message id · `payload_len: u32` · payload.
//! Integers are little-endian. The source is written only when it differs from the previous
//! event's, so a request from one connection stores it once.
//!
//! A body is stored compressed when that makes it smaller: `version: u8` (2) ·
//! `plain_len: u32` · the LZ4 block of the version 1 body. The events of one request share
//! most of their JSON (keys, context, library), so LZ4 shrinks a body several times for a few
//! tens of microseconds, and the log then writes — to its WAL, then its file — that much less.

use std::borrow::Cow;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::StoreError;
use crate::{AppendEvent, LogRecord};

const VERSION: u8 = 1;
const VERSION_LZ4: u8 = 2;
/// Bodies larger than this are stored plain; a compressed body saying it is larger is damaged
/// (so a damaged length cannot make a reader allocate without bound).
const MAX_COMPRESSED_PLAIN_LEN: usize = 256 << 20;
const NEW_SOURCE: u8 = 1;
/// Set for `dedup: false` events, so that recovering the dedup index from rows (see `dedup`)
/// skips them. Rows written before the flag existed have it clear: recovery then indexes a
/// server-generated id too, which is harmless since it never repeats.
const NO_DEDUP: u8 = 2;
/// Bytes per event besides its strings and payload: flags, received_at, two lengths.
const EVENT_OVERHEAD: usize = 1 + 8 + 4 + 4;

/// The dedup index key: the first 16 bytes of SHA-256(connection id ‖ 0x00 ‖ message id).
///
/// Fixed-size keys keep the on-disk index small whatever ids clients send. With n keys in the
/// window a collision has probability about n²/2¹²⁹: for 4·10¹⁰ keys (500k events/s for 24 h)
/// that is about 3·10⁻¹⁸. Forging a collision with another connection's future id is a
/// 2¹²⁸-work second preimage, since the connection id (fixed by the write key) is hashed in.
pub(crate) type DedupKey = [u8; 16];

pub(crate) fn dedup_key(connection_id: &str, message_id: &str) -> DedupKey {
    let digest = Sha256::new()
        .chain_update(connection_id.as_bytes())
        .chain_update([0u8])
        .chain_update(message_id.as_bytes())
        .finalize();
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

/// Encodes `events` as one row body, compressed when that makes it smaller.
pub(crate) fn encode<'a>(
    events: impl IntoIterator<Item = &'a AppendEvent>,
) -> Result<Vec<u8>, StoreError> {
    let plain = encode_plain(events)?;
    if plain.len() > MAX_COMPRESSED_PLAIN_LEN {
        return Ok(plain);
    }
    let plain_len = u32::try_from(plain.len()).map_err(|_| StoreError::TooLarge)?;
    let mut body = Vec::with_capacity(5 + lz4_flex::block::get_maximum_output_size(plain.len()));
    body.push(VERSION_LZ4);
    body.extend_from_slice(&plain_len.to_le_bytes());
    body.resize(body.capacity(), 0);
    let Some(output) = body.get_mut(5..) else {
        return Ok(plain);
    };
    match lz4_flex::block::compress_into(&plain, output) {
        Ok(written) if 5 + written < plain.len() => {
            body.truncate(5 + written);
            Ok(body)
        }
        Ok(_) | Err(_) => Ok(plain),
    }
}

/// The version 1 body of a stored one: itself, or decompressed.
fn plain(body: Bytes) -> Result<Bytes, StoreError> {
    match body.first() {
        Some(&VERSION_LZ4) => decompress(&body).map(Bytes::from),
        _ => Ok(body),
    }
}

/// [`plain`] for a borrowed body.
fn plain_slice(body: &[u8]) -> Result<Cow<'_, [u8]>, StoreError> {
    match body.first() {
        Some(&VERSION_LZ4) => decompress(body).map(Cow::Owned),
        _ => Ok(Cow::Borrowed(body)),
    }
}

/// Decompresses a version 2 body.
fn decompress(body: &[u8]) -> Result<Vec<u8>, StoreError> {
    let damaged = || StoreError::Unexpected("a compressed row body is damaged");
    let len: [u8; 4] = body
        .get(1..5)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(damaged)?;
    let len = usize::try_from(u32::from_le_bytes(len)).map_err(|_| damaged())?;
    if len > MAX_COMPRESSED_PLAIN_LEN {
        return Err(damaged());
    }
    let mut plain = vec![0; len];
    match lz4_flex::block::decompress_into(body.get(5..).unwrap_or_default(), &mut plain) {
        Ok(written) if written == len => Ok(plain),
        Ok(_) | Err(_) => Err(damaged()),
    }
}

/// Encodes `events` as one version 1 (uncompressed) row body.
fn encode_plain<'a>(
    events: impl IntoIterator<Item = &'a AppendEvent>,
) -> Result<Vec<u8>, StoreError> {
    let events = events.into_iter();
    let mut body = Vec::with_capacity(1 + events.size_hint().0 * 256);
    body.push(VERSION);
    let mut previous_source: Option<(&str, &str)> = None;
    for event in events {
        let source = (event.workspace_id.as_str(), event.connection_id.as_str());
        let dedup_flag = if event.dedup { 0 } else { NO_DEDUP };
        if previous_source == Some(source) {
            body.push(dedup_flag);
        } else {
            body.push(NEW_SOURCE | dedup_flag);
            put_bytes(&mut body, source.0.as_bytes())?;
            put_bytes(&mut body, source.1.as_bytes())?;
            previous_source = Some(source);
        }
        body.reserve(EVENT_OVERHEAD + event.message_id.len() + event.payload.len());
        body.extend_from_slice(&event.received_at_ms.to_le_bytes());
        put_bytes(&mut body, event.message_id.as_bytes())?;
        put_bytes(&mut body, &event.payload)?;
    }
    Ok(body)
}

fn put_bytes(body: &mut Vec<u8>, bytes: &[u8]) -> Result<(), StoreError> {
    let len = u32::try_from(bytes.len()).map_err(|_| StoreError::TooLarge)?;
    body.extend_from_slice(&len.to_le_bytes());
    body.extend_from_slice(bytes);
    Ok(())
}

/// Decodes the row starting at `first_seq` and appends its records with `seq > after_seq` to
/// `out` until `out` holds `max_events`. Payloads share `body`'s buffer.
pub(crate) fn decode_into(
    first_seq: u64,
    body: Bytes,
    after_seq: u64,
    max_events: usize,
    out: &mut Vec<LogRecord>,
) -> Result<(), StoreError> {
    let body = plain(body)?;
    let mut cursor = Cursor {
        body: &body,
        position: 0,
    };
    if cursor.take(1)? != [VERSION] {
        return Err(StoreError::Unexpected("unknown row body version"));
    }
    let mut source: Option<(String, String)> = None;
    let mut seq = first_seq;
    while cursor.position < body.len() && out.len() < max_events {
        let flags = cursor.take(1)?[0];
        if flags & NEW_SOURCE != 0 {
            let workspace_id = cursor.take_str()?;
            let connection_id = cursor.take_str()?;
            source = Some((workspace_id.to_owned(), connection_id.to_owned()));
        }
        let received_at_ms = cursor.take_i64()?;
        let message_id = cursor.take_str()?;
        let payload = cursor.take_range()?;
        if seq > after_seq {
            let Some((workspace_id, connection_id)) = &source else {
                return Err(StoreError::Unexpected("row body event without a source"));
            };
            out.push(LogRecord {
                seq,
                workspace_id: workspace_id.clone(),
                connection_id: connection_id.clone(),
                message_id: message_id.to_owned(),
                received_at_ms,
                payload: body.slice(payload),
            });
        }
        seq += 1;
    }
    Ok(())
}

/// Calls `found(key, received_at_ms)` for every deduplicated event of the row starting at
/// `first_seq` whose seq is greater than `after_seq` (rebuilding the dedup index's memory level).
pub(crate) fn for_each_dedup_key(
    first_seq: u64,
    body: &[u8],
    after_seq: u64,
    mut found: impl FnMut(DedupKey, i64),
) -> Result<(), StoreError> {
    let body = plain_slice(body)?;
    let body = &body[..];
    let mut cursor = Cursor { body, position: 0 };
    if cursor.take(1)? != [VERSION] {
        return Err(StoreError::Unexpected("unknown row body version"));
    }
    let mut connection_id: Option<&str> = None;
    let mut seq = first_seq;
    while cursor.position < body.len() {
        let flags = cursor.take(1)?[0];
        if flags & NEW_SOURCE != 0 {
            cursor.take_str()?;
            connection_id = Some(cursor.take_str()?);
        }
        let received_at_ms = cursor.take_i64()?;
        let message_id = cursor.take_str()?;
        cursor.take_range()?;
        if seq > after_seq && flags & NO_DEDUP == 0 {
            let connection_id =
                connection_id.ok_or(StoreError::Unexpected("row body event without a source"))?;
            found(dedup_key(connection_id, message_id), received_at_ms);
        }
        seq += 1;
    }
    Ok(())
}

struct Cursor<'a> {
    body: &'a [u8],
    position: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], StoreError> {
        let end = self
            .position
            .checked_add(len)
            .filter(|&end| end <= self.body.len());
        let end = end.ok_or(StoreError::Unexpected("truncated row body"))?;
        let bytes = &self.body[self.position..end];
        self.position = end;
        Ok(bytes)
    }

    fn take_array<const N: usize>(&mut self) -> Result<[u8; N], StoreError> {
        let mut array = [0u8; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    fn take_i64(&mut self) -> Result<i64, StoreError> {
        Ok(i64::from_le_bytes(self.take_array()?))
    }

    fn take_range(&mut self) -> Result<std::ops::Range<usize>, StoreError> {
        let len = usize::try_from(u32::from_le_bytes(self.take_array()?))
            .map_err(|_| StoreError::Unexpected("row body length overflows usize"))?;
        let start = self.position;
        self.take(len)?;
        Ok(start..self.position)
    }

    fn take_str(&mut self) -> Result<&'a str, StoreError> {
        let range = self.take_range()?;
        std::str::from_utf8(&self.body[range])
            .map_err(|_| StoreError::Unexpected("row body string is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn append(message_id: &str, payload: Vec<u8>, dedup: bool) -> AppendEvent {
        AppendEvent {
            workspace_id: "w".to_owned(),
            connection_id: "c".to_owned(),
            message_id: message_id.to_owned(),
            received_at_ms: 1_700_000_000_000,
            payload: Bytes::from(payload),
            dedup,
        }
    }

    fn decode_all(body: Vec<u8>) -> Result<Vec<LogRecord>, StoreError> {
        let mut out = Vec::new();
        decode_into(1, Bytes::from(body), 0, usize::MAX, &mut out)?;
        Ok(out)
    }

    fn noise(len: usize) -> Vec<u8> {
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            })
            .collect()
    }

    #[test]
    fn similar_events_are_stored_compressed_and_read_back_unchanged() {
        let events: Vec<AppendEvent> = (0..100)
            .map(|i| {
                let json = format!(
                    r#"{{"type":"track","event":"Viewed","messageId":"m-{i}","properties":{{"page":"/a"}}}}"#
                );
                append(&format!("m-{i}"), json.into_bytes(), i % 2 == 0)
            })
            .collect();
        let body = encode(&events).unwrap();
        let plain = encode_plain(&events).unwrap();
        assert_eq!(body[0], VERSION_LZ4);
        assert!(
            body.len() * 3 < plain.len(),
            "{} vs {}",
            body.len(),
            plain.len()
        );

        let records = decode_all(body.clone()).unwrap();
        assert_eq!(records.len(), 100);
        for (index, (record, event)) in records.iter().zip(&events).enumerate() {
            assert_eq!(record.seq, index as u64 + 1);
            assert_eq!(record.message_id, event.message_id);
            assert_eq!(record.payload, event.payload);
        }
        let mut keys = Vec::new();
        for_each_dedup_key(1, &body, 0, |key, _| keys.push(key)).unwrap();
        assert_eq!(keys.len(), 50, "the dedup: false events are skipped");
    }

    #[test]
    fn incompressible_bodies_and_old_rows_are_stored_plain() {
        let events = [append("m", noise(4096), true)];
        let body = encode(&events).unwrap();
        assert_eq!(body[0], VERSION);
        assert_eq!(body, encode_plain(&events).unwrap());
        assert_eq!(decode_all(body).unwrap()[0].payload, events[0].payload);
    }

    #[test]
    fn a_damaged_compressed_body_is_an_error() {
        let events: Vec<AppendEvent> = (0..10)
            .map(|i| append(&format!("m-{i}"), vec![b'a'; 200], true))
            .collect();
        let body = encode(&events).unwrap();
        assert_eq!(body[0], VERSION_LZ4);
        let mut truncated = body.clone();
        truncated.truncate(body.len() / 2);
        let mut huge = body.clone();
        huge[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut short = body;
        short[1..5].copy_from_slice(&3u32.to_le_bytes());
        for damaged in [truncated, huge, short, vec![VERSION_LZ4, 1]] {
            assert!(decode_all(damaged.clone()).is_err());
            assert!(for_each_dedup_key(1, &damaged, 0, |_, _| {}).is_err());
        }
    }
}
