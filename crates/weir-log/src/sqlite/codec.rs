//! The body of one log row: every stored event of one append call, length-prefixed, so a row
//! holds many events while each keeps its own seq (`first_seq + index`). Also the dedup key.
//!
//! Layout: `version: u8` (1), then per event in order: `flags: u8` (bit 0: a new source
//! follows; bit 1: the event is not deduplicated, `dedup: false`) · [`workspace_len: u32` ·
//! workspace id · `connection_len: u32` · connection id] ·
//! `received_at_ms: i64` · `message_id_len: u32` · message id · `payload_len: u32` · payload.
//! Integers are little-endian. The source is written only when it differs from the previous
//! event's, so a request from one connection stores it once.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::StoreError;
use crate::{AppendEvent, LogRecord};

const VERSION: u8 = 1;
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

/// Encodes `events` as one row body.
pub(crate) fn encode<'a>(
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
