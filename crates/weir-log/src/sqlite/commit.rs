//! One group commit: the appends and acks of a group in one transaction. Dedup is decided here,
//! by the single writer, in append order and inside the transaction that stores the events, so
//! an id is recorded exactly when its event is (the memory level of the index is rebuilt from
//! the stored rows, see `dedup`, and a failed transaction undoes its claims).

use rusqlite::{Connection, Transaction, TransactionBehavior, params};

use super::StoreError;
use super::codec::{self, DedupKey};
use super::dedup::{DedupIndex, Undo, Window};
use crate::{AppendEvent, AppendStatus};

/// An append prepared on the caller's task (hashing and encoding run there, in parallel, so the
/// writer thread only does SQLite work).
#[derive(Debug)]
pub(crate) struct PreparedAppend {
    events: Vec<AppendEvent>,
    /// One per event: its dedup key, or `None` for `dedup: false`.
    keys: Vec<Option<DedupKey>>,
    /// Every event encoded, used as is when none is a duplicate.
    body: Vec<u8>,
}

impl PreparedAppend {
    pub(crate) fn new(events: Vec<AppendEvent>) -> Result<Self, StoreError> {
        let keys = events
            .iter()
            .map(|event| {
                event
                    .dedup
                    .then(|| codec::dedup_key(&event.connection_id, &event.message_id))
            })
            .collect();
        let body = codec::encode(&events)?;
        Ok(PreparedAppend { events, keys, body })
    }

    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }
}

/// What a successful group commit decided.
#[derive(Debug)]
pub(crate) struct GroupOutcome {
    /// Per append of the group, in order: one status per event.
    pub(crate) statuses: Vec<Vec<AppendStatus>>,
    /// The seq of the last stored event after this group.
    pub(crate) head: u64,
    pub(crate) appended: u64,
    pub(crate) duplicates: u64,
}

/// Stores `appends` after `head` and records `acks`, all in one transaction. On error nothing
/// of the group is stored (the transaction rolls back when dropped) and `index` is as before.
pub(crate) fn write_group<'a>(
    conn: &mut Connection,
    index: &mut DedupIndex,
    head: u64,
    dedup_window: Window,
    appends: impl IntoIterator<Item = &'a PreparedAppend>,
    acks: impl IntoIterator<Item = (&'a str, u64)>,
) -> Result<GroupOutcome, StoreError> {
    let mut undo = Undo::default();
    let result = write_group_in(conn, index, &mut undo, head, dedup_window, appends, acks);
    if result.is_err() {
        index.undo(undo);
    }
    result
}

fn write_group_in<'a>(
    conn: &mut Connection,
    index: &mut DedupIndex,
    undo: &mut Undo,
    head: u64,
    dedup_window: Window,
    appends: impl IntoIterator<Item = &'a PreparedAppend>,
    acks: impl IntoIterator<Item = (&'a str, u64)>,
) -> Result<GroupOutcome, StoreError> {
    let transaction = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcome = GroupOutcome {
        statuses: Vec::new(),
        head,
        appended: 0,
        duplicates: 0,
    };
    for append in appends {
        let statuses = write_append(
            &transaction,
            index,
            undo,
            &mut outcome,
            dedup_window,
            append,
        )?;
        outcome.statuses.push(statuses);
    }
    for (consumer, seq) in acks {
        let seq = i64::try_from(seq).map_err(|_| StoreError::TooLarge)?;
        transaction
            .prepare_cached(
                "INSERT INTO cursors (consumer, seq) VALUES (?1, ?2)
                 ON CONFLICT (consumer) DO UPDATE SET seq = max(seq, excluded.seq)",
            )?
            .execute(params![consumer, seq])?;
    }
    transaction.commit()?;
    Ok(outcome)
}

fn write_append(
    transaction: &Transaction<'_>,
    index: &mut DedupIndex,
    undo: &mut Undo,
    outcome: &mut GroupOutcome,
    dedup_window: Window,
    append: &PreparedAppend,
) -> Result<Vec<AppendStatus>, StoreError> {
    let mut accepted = Vec::with_capacity(append.len());
    for (event, key) in append.events.iter().zip(&append.keys) {
        let is_new = match key {
            Some(key) => index.claim(key, event.received_at_ms, dedup_window, undo)?,
            None => true,
        };
        accepted.push(is_new);
    }
    let stored = accepted.iter().filter(|&&is_new| is_new).count();
    let mut statuses = Vec::with_capacity(append.len());
    let mut next_seq = outcome.head + 1;
    for is_new in &accepted {
        if *is_new {
            statuses.push(AppendStatus::Appended { seq: next_seq });
            next_seq += 1;
        } else {
            statuses.push(AppendStatus::Duplicate);
        }
    }
    outcome.duplicates += (append.len() - stored) as u64;
    if stored == 0 {
        return Ok(statuses);
    }

    let stored_events = || {
        append
            .events
            .iter()
            .zip(&accepted)
            .filter(|(_, is_new)| **is_new)
            .map(|(event, _)| event)
    };
    let reencoded;
    let body = if stored == append.len() {
        &append.body
    } else {
        reencoded = codec::encode(stored_events())?;
        &reencoded
    };
    let newest_received_at = stored_events()
        .map(|event| event.received_at_ms)
        .max()
        .unwrap_or(i64::MIN);
    let first_seq = i64::try_from(outcome.head + 1).map_err(|_| StoreError::TooLarge)?;
    transaction
        .prepare_cached(
            "INSERT INTO batches (first_seq, count, received_at, body) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![first_seq, stored as i64, newest_received_at, body])?;
    outcome.head += stored as u64;
    outcome.appended += stored as u64;
    Ok(statuses)
}
