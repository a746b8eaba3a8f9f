//! The dedup index in two levels, so that an append does not dirty a random page of an on-disk
//! b-tree per event (the cost that bounded ingest: 7.5 KB written per event, see
//! docs/benchmarks.md).
//!
//! * **Memory**: the keys accepted since the last flush (`recent`), and the snapshot being
//!   flushed (`frozen`, sorted). The log rows themselves are the durable record of these keys:
//!   every key of an event with a seq after `flushed_through` is rebuilt from the rows when the
//!   log opens. So a key is still recorded exactly when its event is — in the same transaction,
//!   as part of the row — and survives a crash.
//! * **Disk**: `log-dedup.sqlite` beside `log.sqlite`, a derived file with its own connection
//!   and page cache (so the log's large rows do not evict it): the `dedup` table (key →
//!   `received_at`) holds every key accepted at a seq up to `flushed_through` (in its `meta`).
//!   `recent` is frozen once it holds `dedup_flush_keys` keys (or after `dedup_flush_interval`),
//!   then written in key order, in chunks between group commits, so consecutive inserts share
//!   leaf pages; the last chunk advances `flushed_through`.
//!
//! The file needs no fsync of its own (`synchronous=NORMAL`): if a crash loses its last
//! commits, `flushed_through` is older and more keys are rebuilt from the log. Retention keeps
//! every row after the in-memory `flushed_through`; a row retention deleted held keys older
//! than the retention, which is at least the dedup window, so losing them from the file loses
//! nothing. If the file is lost altogether, it is rebuilt from the whole retained log.
//!
//! Lookups go newest first: `recent`, `frozen`, then the table — behind a Bloom filter of the
//! table's keys, so that a new id (nearly every id) costs no page read. Memory is bounded by
//! three flush thresholds of keys plus two filters: chunks grow once `recent` is full again
//! before `frozen` is written, and at twice the threshold the rest of `frozen` is written at
//! once (backpressure on appends). Checkpoints of the file run on a thread of their own.
//!
//! A sweep walks the table in key order, a chunk per maintenance pass: it deletes expired
//! entries and adds the others to a new filter, which replaces the current one when the sweep
//! ends (so purged keys leave the filter). Until the first sweep after opening has ended there
//! is no filter and every lookup reads the table. The filter has a fixed size: with many more
//! keys than it was sized for it answers "maybe" more often and lookups read the table more
//! often — slower, never wrong.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::StoreError;
use super::checkpoint::Checkpointer;
use super::codec::{self, DedupKey};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS dedup (
    key         BLOB PRIMARY KEY,
    received_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
";
const FLUSHED_THROUGH: &str = "flushed_through";

/// Page cache of the file's connection, in KiB: the hot part of the table.
const CACHE_KIB: i64 = 32 * 1024;
/// Keys written per flush chunk at least, whatever the size of the group before it. Chunks
/// are small because the next group waits for them (a 1,000-key chunk takes a few ms).
const MIN_CHUNK_KEYS: usize = 1_024;
/// A chunk writes this many keys per event of the group committed before it, so a frozen set
/// is written well before `recent` fills up again.
const CHUNK_KEYS_PER_EVENT: usize = 2;
/// Entries the sweep inspects per maintenance pass (a few ms; appends wait for it).
const SWEEP_CHUNK_KEYS: i64 = 4_096;
/// Size of one Bloom filter: 2^27 bits (16 MiB). With 4 probes it answers "maybe" for a new key
/// with probability 0.1 % at 3 million keys in the table, 2.5 % at 10 million, 36 % at 50
/// million.
const FILTER_BITS_LOG2: u32 = 27;

/// A Bloom filter of dedup keys. Keys are SHA-256 prefixes, uniformly random, so their own
/// bytes serve as the two hashes of double hashing.
#[derive(Debug)]
struct Filter {
    words: Vec<u64>,
}

impl Filter {
    const PROBES: u64 = 4;

    fn new() -> Filter {
        Filter {
            words: vec![0; 1 << (FILTER_BITS_LOG2 - 6)],
        }
    }

    fn positions(key: &DedupKey) -> impl Iterator<Item = u64> {
        let mut low = [0u8; 8];
        let mut high = [0u8; 8];
        low.copy_from_slice(&key[..8]);
        high.copy_from_slice(&key[8..]);
        let (first, step) = (u64::from_le_bytes(low), u64::from_le_bytes(high) | 1);
        let mask = (1u64 << FILTER_BITS_LOG2) - 1;
        (0..Self::PROBES).map(move |i| first.wrapping_add(i.wrapping_mul(step)) & mask)
    }

    fn insert(&mut self, key: &DedupKey) {
        for bit in Self::positions(key) {
            if let Some(word) = self.words.get_mut((bit >> 6) as usize) {
                *word |= 1 << (bit & 63);
            }
        }
    }

    fn may_contain(&self, key: &DedupKey) -> bool {
        Self::positions(key).all(|bit| {
            self.words
                .get((bit >> 6) as usize)
                .is_some_and(|word| word & (1 << (bit & 63)) != 0)
        })
    }
}

/// The file of the on-disk level for the log at `log_path`.
pub(crate) fn path_for(log_path: &Path) -> PathBuf {
    log_path.with_file_name("log-dedup.sqlite")
}

/// The dedup index of one log; owned by the writer thread.
#[derive(Debug)]
pub(crate) struct DedupIndex {
    conn: Connection,
    checkpointer: Checkpointer,
    /// Keys accepted at seqs after the frozen snapshot's (or `flushed_through`): key →
    /// `received_at` of the latest acceptance.
    recent: HashMap<DedupKey, i64>,
    frozen: Option<Frozen>,
    /// Every key accepted at a seq up to this one is in the table.
    flushed_through: u64,
    flush_keys: usize,
    flush_interval: Duration,
    last_freeze: Instant,
    /// The filter of the keys in the table, once a sweep has ended since opening.
    filter: Option<Filter>,
    /// The sweep in progress, if any.
    sweep: Option<Sweep>,
    /// When the next sweep may start.
    next_sweep: Instant,
}

/// A walk over the table in key order.
#[derive(Debug)]
struct Sweep {
    /// The last key inspected (`None`: none yet).
    after: Option<DedupKey>,
    /// Every live key inspected so far and every key written since the sweep started.
    filter: Filter,
}

/// A snapshot of `recent`, sorted by key, being written to the table.
#[derive(Debug)]
struct Frozen {
    keys: Vec<(DedupKey, i64)>,
    written: usize,
    /// The log head when it was taken: its keys are those of seqs up to here.
    through_seq: u64,
}

impl Frozen {
    fn get(&self, key: &DedupKey) -> Option<i64> {
        self.keys
            .binary_search_by(|(probe, _)| probe.cmp(key))
            .ok()
            .map(|index| self.keys[index].1)
    }
}

/// The dedup window as a group applies it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub(crate) length_ms: i64,
    /// The wall clock when the group is written.
    pub(crate) now_ms: i64,
}

/// Changes a group made to the memory level, undone if its transaction fails.
#[derive(Debug, Default)]
pub(crate) struct Undo(Vec<(DedupKey, Option<i64>)>);

/// How the index is configured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) flush_keys: usize,
    pub(crate) flush_interval: Duration,
}

impl DedupIndex {
    /// Opens (creating if needed) the file at `path` and rebuilds the memory level from the
    /// rows of `log` after the file's `flushed_through`. `legacy` is set for a log of schema
    /// version 1, whose keys are all in its own `dedup` table: they are copied into the file.
    pub(crate) fn open(
        path: &Path,
        log: &Connection,
        head: u64,
        legacy: bool,
        settings: Settings,
    ) -> Result<(DedupIndex, JoinHandle<()>), StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        // Checkpoints (with their fsync) run on a thread of their own, as for the log; this is
        // only a backstop.
        conn.pragma_update(None, "wal_autocheckpoint", 65_536)?;
        conn.execute_batch(SCHEMA)?;
        let (checkpointer, checkpoint_thread) = Checkpointer::spawn(path, "weir-log-dedup-ckpt")?;
        if legacy {
            copy_legacy_keys(&conn, log, head)?;
        }
        let flushed_through: Option<i64> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [FLUSHED_THROUGH],
                |row| row.get(0),
            )
            .optional()?;
        // A file newer than the log (a log restored from a backup, say) cannot be trusted to
        // match it: rebuild what the log holds.
        let flushed_through = u64::try_from(flushed_through.unwrap_or(0))
            .ok()
            .filter(|&seq| seq <= head)
            .unwrap_or(0);
        let mut index = DedupIndex {
            conn,
            checkpointer,
            recent: HashMap::new(),
            frozen: None,
            flushed_through,
            flush_keys: settings.flush_keys,
            flush_interval: settings.flush_interval,
            last_freeze: Instant::now(),
            filter: None,
            sweep: None,
            next_sweep: Instant::now(),
        };
        index.rebuild_recent(log)?;
        Ok((index, checkpoint_thread))
    }

    /// Loads the keys of the rows after `flushed_through` into `recent`.
    fn rebuild_recent(&mut self, log: &Connection) -> Result<(), StoreError> {
        let after = i64::try_from(self.flushed_through).map_err(|_| StoreError::TooLarge)?;
        // The row holding seq `after + 1` starts at or before it.
        let mut rows = log.prepare(
            "SELECT first_seq, body FROM batches WHERE first_seq >= coalesce(
                 (SELECT max(first_seq) FROM batches WHERE first_seq <= ?1 + 1), 0)
             ORDER BY first_seq",
        )?;
        let mut rows = rows.query([after])?;
        while let Some(row) = rows.next()? {
            let first_seq: i64 = row.get(0)?;
            let first_seq = u64::try_from(first_seq)
                .map_err(|_| StoreError::Unexpected("negative seq in log.sqlite"))?;
            let body = row
                .get_ref(1)?
                .as_blob()
                .map_err(|_| StoreError::Unexpected("a log row body is not a blob"))?;
            codec::for_each_dedup_key(first_seq, body, self.flushed_through, |key, at| {
                let latest = self.recent.entry(key).or_insert(at);
                *latest = (*latest).max(at);
            })?;
        }
        if !self.recent.is_empty() {
            tracing::info!(
                keys = self.recent.len(),
                flushed_through = self.flushed_through,
                "dedup index: rebuilt the keys not yet on disk from the log"
            );
        }
        Ok(())
    }

    /// Records `key` as accepted at `received_at_ms` unless it was accepted within the window
    /// before; returns whether it is new.
    ///
    /// An acceptance whose window has passed by the wall clock is forgotten, as if the purge
    /// had already deleted it, wherever it is held.
    pub(crate) fn claim(
        &mut self,
        key: &DedupKey,
        received_at_ms: i64,
        window: Window,
        undo: &mut Undo,
    ) -> Result<bool, StoreError> {
        let previous = match self.recent.get(key) {
            Some(&at) => Some(at),
            None => match self.frozen.as_ref().and_then(|frozen| frozen.get(key)) {
                Some(at) => Some(at),
                None if self.filter.as_ref().is_some_and(|f| !f.may_contain(key)) => None,
                None => self
                    .conn
                    .prepare_cached("SELECT received_at FROM dedup WHERE key = ?1")?
                    .query_row([&key[..]], |row| row.get::<_, i64>(0))
                    .optional()?,
            },
        };
        let blocks = |at: i64| {
            received_at_ms.saturating_sub(at) < window.length_ms
                && window.now_ms.saturating_sub(at) < window.length_ms
        };
        if previous.is_some_and(blocks) {
            return Ok(false);
        }
        let replaced = self.recent.insert(*key, received_at_ms);
        undo.0.push((*key, replaced));
        Ok(true)
    }

    /// Reverts the claims of a group whose transaction failed.
    pub(crate) fn undo(&mut self, undo: Undo) {
        for (key, replaced) in undo.0.into_iter().rev() {
            match replaced {
                Some(at) => self.recent.insert(key, at),
                None => self.recent.remove(&key),
            };
        }
    }

    /// The last seq whose key is on disk; retention must keep the rows after it.
    pub(crate) fn flushed_through(&self) -> u64 {
        self.flushed_through
    }

    /// Keys held in memory.
    pub(crate) fn memory_keys(&self) -> usize {
        self.recent.len() + self.frozen.as_ref().map_or(0, |frozen| frozen.keys.len())
    }

    /// After a commit that left the log at `head` with `group_events` events: freezes `recent`
    /// when due and writes the next chunk of the frozen keys. Returns whether a flush is still
    /// in progress.
    pub(crate) fn after_commit(
        &mut self,
        head: u64,
        group_events: usize,
    ) -> Result<bool, StoreError> {
        let full = self.recent.len() >= self.flush_keys;
        if self.frozen.is_some() && self.recent.len() >= self.flush_keys.saturating_mul(2) {
            // The snapshot is far behind: finish it now, so memory stays bounded.
            self.flush_chunk(usize::MAX)?;
        }
        if self.frozen.is_none() && (full || self.interval_passed()) {
            self.freeze(head);
        }
        // Catch up faster while `recent` is already full.
        let per_event = CHUNK_KEYS_PER_EVENT * if full { 4 } else { 1 };
        let budget = group_events.saturating_mul(per_event).max(MIN_CHUNK_KEYS);
        self.flush_chunk(budget)?;
        Ok(self.frozen.is_some())
    }

    /// Between groups: freezes `recent` after the flush interval and writes a chunk. Returns
    /// whether a flush is still in progress.
    pub(crate) fn idle(&mut self, head: u64) -> Result<bool, StoreError> {
        if self.frozen.is_none() && self.interval_passed() {
            self.freeze(head);
        }
        self.flush_chunk(MIN_CHUNK_KEYS)?;
        Ok(self.frozen.is_some())
    }

    /// Writes every key in memory to the table (on close, so the next open rebuilds nothing).
    pub(crate) fn flush_all(&mut self, head: u64) -> Result<(), StoreError> {
        self.flush_chunk(usize::MAX)?;
        self.freeze(head);
        self.flush_chunk(usize::MAX)
    }

    /// Runs the next chunk of the sweep (starting one when due): deletes the entries whose
    /// window has passed by `now_ms` and adds the others to the sweep's filter. Returns how many
    /// it deleted and whether the sweep goes on.
    ///
    /// A sweep starts a 24th of the window (1 s to 1 h) after the previous one ended, so
    /// entries outlive their window by little more than that while the table is walked only
    /// so often.
    pub(crate) fn sweep(
        &mut self,
        now_ms: i64,
        window: Duration,
    ) -> Result<(usize, bool), StoreError> {
        if self.sweep.is_none() {
            if Instant::now() < self.next_sweep {
                return Ok((0, false));
            }
            self.sweep = Some(Sweep {
                after: None,
                filter: Filter::new(),
            });
        }
        let Some(sweep) = &mut self.sweep else {
            return Ok((0, false));
        };
        let cutoff = now_ms.saturating_sub(i64::try_from(window.as_millis()).unwrap_or(i64::MAX));
        let start = sweep.after.map(|key| key.to_vec()).unwrap_or_default();
        let transaction = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut last = None;
        {
            let mut chunk = transaction.prepare_cached(
                "SELECT key, received_at FROM dedup WHERE key > ?1 ORDER BY key LIMIT ?2",
            )?;
            let mut rows = chunk.query(params![start, SWEEP_CHUNK_KEYS])?;
            while let Some(row) = rows.next()? {
                let key = row
                    .get_ref(0)?
                    .as_blob()
                    .ok()
                    .and_then(|bytes| DedupKey::try_from(bytes).ok())
                    .ok_or(StoreError::Unexpected("a dedup key is not 16 bytes"))?;
                let received_at: i64 = row.get(1)?;
                if received_at > cutoff {
                    sweep.filter.insert(&key);
                }
                last = Some(key);
            }
        }
        let Some(last) = last else {
            // The walk reached the end of the table.
            transaction.commit()?;
            self.filter = self.sweep.take().map(|sweep| sweep.filter);
            let pause = (window / 24).clamp(Duration::from_secs(1), Duration::from_secs(3_600));
            self.next_sweep = Instant::now() + pause;
            return Ok((0, false));
        };
        let deleted = transaction
            .prepare_cached("DELETE FROM dedup WHERE key > ?1 AND key <= ?2 AND received_at <= ?3")?
            .execute(params![start, &last[..], cutoff])?;
        transaction.commit()?;
        self.checkpointer.after_commit(&self.conn);
        sweep.after = Some(last);
        Ok((deleted, true))
    }

    fn interval_passed(&self) -> bool {
        !self.recent.is_empty() && self.last_freeze.elapsed() >= self.flush_interval
    }

    fn freeze(&mut self, head: u64) {
        self.last_freeze = Instant::now();
        if self.recent.is_empty() {
            // Nothing to write, but every seq so far is covered.
            self.flushed_through = head;
            return;
        }
        let mut keys: Vec<(DedupKey, i64)> = self.recent.drain().collect();
        keys.sort_unstable_by_key(|(key, _)| *key);
        self.recent.shrink_to(self.flush_keys);
        self.frozen = Some(Frozen {
            keys,
            written: 0,
            through_seq: head,
        });
    }

    /// Writes up to `max_keys` frozen keys in one transaction; the last chunk also advances
    /// `flushed_through`.
    fn flush_chunk(&mut self, max_keys: usize) -> Result<(), StoreError> {
        let Some(frozen) = &mut self.frozen else {
            return Ok(());
        };
        let end = frozen
            .written
            .saturating_add(max_keys)
            .min(frozen.keys.len());
        let last = end == frozen.keys.len();
        let keys = &frozen.keys[frozen.written..end];
        write_keys(&mut self.conn, keys, last.then_some(frozen.through_seq))?;
        self.checkpointer.after_commit(&self.conn);
        for filter in [
            self.filter.as_mut(),
            self.sweep.as_mut().map(|sweep| &mut sweep.filter),
        ]
        .into_iter()
        .flatten()
        {
            for (key, _) in keys {
                filter.insert(key);
            }
        }
        frozen.written = end;
        if last {
            self.flushed_through = frozen.through_seq;
            self.frozen = None;
        }
        Ok(())
    }
}

fn write_keys(
    conn: &mut Connection,
    keys: &[(DedupKey, i64)],
    flushed_through: Option<u64>,
) -> Result<(), StoreError> {
    let transaction = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        // A key already on disk keeps the later of the two acceptance times.
        let mut insert = transaction.prepare_cached(
            "INSERT INTO dedup (key, received_at) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET received_at = max(received_at, excluded.received_at)",
        )?;
        for (key, received_at) in keys {
            insert.execute(params![&key[..], received_at])?;
        }
    }
    if let Some(seq) = flushed_through {
        set_flushed_through(&transaction, seq)?;
    }
    transaction.commit()?;
    Ok(())
}

fn set_flushed_through(conn: &Connection, seq: u64) -> Result<(), StoreError> {
    let seq = i64::try_from(seq).map_err(|_| StoreError::TooLarge)?;
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![FLUSHED_THROUGH, seq])?;
    Ok(())
}

/// Copies the keys of a schema version 1 log (all in its `dedup` table) into the file, which
/// then covers every seq up to `head`.
fn copy_legacy_keys(conn: &Connection, log: &Connection, head: u64) -> Result<(), StoreError> {
    let transaction = conn.unchecked_transaction()?;
    {
        let mut insert = transaction.prepare(
            "INSERT INTO dedup (key, received_at) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET received_at = max(received_at, excluded.received_at)",
        )?;
        let mut keys = log.prepare("SELECT key, received_at FROM dedup ORDER BY key")?;
        let mut keys = keys.query([])?;
        while let Some(row) = keys.next()? {
            let key: Vec<u8> = row.get(0)?;
            let received_at: i64 = row.get(1)?;
            insert.execute(params![key, received_at])?;
        }
    }
    set_flushed_through(&transaction, head)?;
    transaction.commit()?;
    Ok(())
}
