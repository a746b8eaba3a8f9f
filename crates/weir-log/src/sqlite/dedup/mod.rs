//! The dedup index in two levels, so that an append does not dirty a random page of an on-disk
//! b-tree per event (the cost that bounded ingest: 7.5 KB written per event, see
//! docs/benchmarks.md).
//!
//! * **Memory**: the keys accepted since the last flush (`recent`), and the snapshot being
//!   flushed (`frozen`). The log rows themselves are the durable record of these keys:
//!   every key of an event with a seq after `flushed_through` is rebuilt from the rows when the
//!   log opens. So a key is still recorded exactly when its event is — in the same transaction,
//!   as part of the row — and survives a crash.
//! * **Disk**: `log-dedup.sqlite` beside `log.sqlite`, a derived file (its own connections and
//!   page cache, so the log's large rows do not evict it): the `dedup` table (segment, key →
//!   `received_at`) holds every key accepted at a seq up to `flushed_through` (in its `meta`).
//!   `recent` is frozen once it holds `dedup_flush_keys` keys (or after `dedup_flush_interval`)
//!   and handed to the flusher thread (`flusher`), which sorts it and writes it in key order, so
//!   consecutive inserts share leaf pages, and advances `flushed_through` with the last chunk.
//! * **Segments**: snapshots go into the newest *segment* until it holds
//!   [`SEGMENT_FLUSHES`] thresholds of keys, then into a new one. Keys are random, so a
//!   snapshot written into one key-ordered table would touch nearly every leaf page of it:
//!   each flush would rewrite the whole table, whose size grows with the window (24 h of keys).
//!   Within a segment it rewrites at most the segment. A lookup the filter below cannot rule
//!   out probes the segments (`segments` lists them) newest first and stops at the first that
//!   holds the key, so a client's retry costs a probe or two; a false "maybe" probes all.
//!
//! The file needs no fsync of its own (`synchronous=NORMAL`): if a crash loses its last
//! commits, `flushed_through` is older and more keys are rebuilt from the log. Retention keeps
//! every row after the in-memory `flushed_through`; a row retention deleted held keys older
//! than the retention, which is at least the dedup window, so losing them from the file loses
//! nothing. If the file is lost, or SQLite finds it damaged when the log opens, it is started
//! afresh and rebuilt from the retained log — only the keys still inside the window, written to
//! the file whenever they reach the flush threshold, so a rebuild too keeps memory bounded.
//!
//! Lookups go newest first: `recent`, `frozen`, then the table — behind a Bloom filter
//! (`filter`) of the table's keys, so that a new id (nearly every id) reads no page. The
//! flusher inserts a snapshot's keys into it before reporting the snapshot written (until
//! then the snapshot answers lookups), and its sweep rebuilds the filter from the table now
//! and then, so purged keys leave it. The flusher saves the filter when it stops and the next
//! open loads it (`log-dedup.filter`); after a crash there is none, and until the first sweep
//! has ended every lookup reads the table (probing every segment). Memory is bounded by three flush thresholds of keys plus two filters: when `recent`
//! reaches twice the threshold before the flusher has written `frozen`, the log writer waits
//! for it (backpressure on appends).

mod filter;
mod flusher;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use self::filter::Filter;
use self::flusher::{Done, Job};
use super::codec::{self, DedupKey};
use super::{StoreError, now_ms};

/// The file's layout, as its `user_version`: 0 (never set) had no segments (a `dedup` table
/// keyed by `key` alone), 2 has them.
const FILE_VERSION: i64 = 2;
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS dedup (
    segment     INTEGER NOT NULL,
    key         BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (segment, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS segments (
    segment INTEGER PRIMARY KEY,
    keys    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
";
const FLUSHED_THROUGH: &str = "flushed_through";
/// Records a key in a segment; one already there keeps the later of the two acceptance times.
const INSERT_KEY: &str = "INSERT INTO dedup (segment, key, received_at) VALUES (?1, ?2, ?3)
     ON CONFLICT (segment, key) DO UPDATE SET received_at = max(received_at, excluded.received_at)";
/// The latest acceptance of a key: the one in the newest segment that holds it, since
/// snapshots go into segments in the order they were taken. Probing stops at the first
/// segment that holds the key, so a recent duplicate (a client's retry) costs one probe or
/// two, however many segments there are.
const LOOKUP_KEY: &str = "SELECT received_at FROM dedup
     WHERE segment IN (SELECT segment FROM segments) AND key = ?1
     ORDER BY segment DESC LIMIT 1";
/// A segment takes snapshots until it holds this many flush thresholds of keys: larger
/// segments mean fewer probes per lookup, smaller ones less rewriting per flush. At 1 a full
/// snapshot goes into a fresh segment, written in key order at the end of the b-tree (only
/// its own pages); at 4 (tried) a flush rewrote up to a million keys' pages, and the disk took
/// 12–15 % more writes per event.
pub(crate) const SEGMENT_FLUSHES: usize = 1;

/// Page cache of each of the file's two connections, in KiB. Small: a flush appends to a fresh
/// segment, a sweep reads in order, and the filter spares nearly every lookup; at 16 MiB the
/// caches filled as the file grew and held 55–65 MiB more of the server's peak RSS after a
/// minute of load (`cargo xtask bench ingest --warm-up 60`), for no measurable speed.
const CACHE_KIB: i64 = 4 * 1024;
/// Keys written per transaction when writing a snapshot.
const WRITE_CHUNK_KEYS: usize = 16_384;
/// How long closing waits for the flusher to write what is in memory (the next open would
/// rebuild it from the log otherwise).
const CLOSE_WAIT: Duration = Duration::from_secs(60);

/// The file of the on-disk level for the log at `log_path`.
pub(crate) fn path_for(log_path: &Path) -> PathBuf {
    log_path.with_file_name("log-dedup.sqlite")
}

/// Where the flusher saves the filter when it stops, beside the file at `dedup_path`: the
/// next open loads it instead of walking the file to rebuild it (seconds per ten million keys,
/// during which every lookup of a new key would probe every segment). It is used only if it
/// was saved at the file's current `flushed_through`, and removed once read, so a crash never
/// leaves one behind that misses keys written later.
pub(crate) fn filter_path_for(dedup_path: &Path) -> PathBuf {
    dedup_path.with_file_name("log-dedup.filter")
}

/// A filter read back from [`filter_path_for`]: it holds every key of the file.
#[derive(Debug)]
pub(crate) struct SavedFilter {
    pub(crate) filter: Arc<Filter>,
    /// The keys it was planned for, and the room it had left.
    pub(crate) planned: u64,
    pub(crate) room: u64,
}

/// Reads and removes the saved filter; keeps it only if it was saved at `flushed_through`.
fn take_saved_filter(dedup_path: &Path, flushed_through: u64) -> Option<SavedFilter> {
    let path = filter_path_for(dedup_path);
    let file = std::fs::File::open(&path).ok()?;
    let loaded = Filter::load(&mut std::io::BufReader::new(file));
    if let Err(error) = std::fs::remove_file(&path) {
        tracing::warn!(%error, path = %path.display(), "cannot remove the saved dedup filter");
        return None;
    }
    match loaded {
        Some((filter, [saved_at, planned, room])) if saved_at == flushed_through => {
            Some(SavedFilter {
                filter: Arc::new(filter),
                planned,
                room,
            })
        }
        _ => None,
    }
}

/// How the index is configured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) flush_keys: usize,
    pub(crate) flush_interval: Duration,
    pub(crate) window: Duration,
    /// The Bloom filter's cap ([`LogConfig::dedup_filter_max_bytes`](crate::LogConfig)).
    pub(crate) filter_max_bytes: u64,
}

impl Settings {
    /// Keys a segment takes before the next snapshot starts a new one.
    pub(crate) fn segment_keys(&self) -> u64 {
        u64::try_from(self.flush_keys.saturating_mul(SEGMENT_FLUSHES)).unwrap_or(u64::MAX)
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

/// A snapshot of `recent` for the flusher (which sorts it: not the log writer's work).
#[derive(Debug)]
pub(crate) struct Frozen {
    keys: HashMap<DedupKey, i64>,
    /// The log head when it was taken: its keys are those of seqs up to here.
    through_seq: u64,
}

/// The dedup index of one log; owned by the writer thread.
#[derive(Debug)]
pub(crate) struct DedupIndex {
    /// Read-only: lookups in the table (the flusher owns the write connection).
    conn: Connection,
    jobs: Sender<Job>,
    done: Receiver<Done>,
    /// Keys accepted at seqs after the frozen snapshot's (or `flushed_through`): key →
    /// `received_at` of the latest acceptance.
    recent: HashMap<DedupKey, i64>,
    frozen: Option<Arc<Frozen>>,
    /// Whether `frozen` is with the flusher (false after it failed to write it).
    frozen_sent: bool,
    /// Every key accepted at a seq up to this one is in the table.
    flushed_through: u64,
    flush_keys: usize,
    flush_interval: Duration,
    last_freeze: Instant,
    /// The flusher's filter of the keys in the table, once a sweep has ended since opening.
    filter: Option<Arc<Filter>>,
    /// Lookups that read the table.
    table_lookups: u64,
}

impl DedupIndex {
    /// Opens (creating if needed) the file at `path`, rebuilds the memory level from the rows
    /// of `log` after the file's `flushed_through`, and starts the flusher. `legacy` is set for
    /// a log of schema version 1, whose keys are all in its own `dedup` table: they are copied
    /// into the file first. Returns the threads to join on close.
    pub(crate) fn open(
        path: &Path,
        log: &Connection,
        head: u64,
        legacy: bool,
        settings: Settings,
    ) -> Result<(DedupIndex, Vec<JoinHandle<()>>), StoreError> {
        let (mut writer, flushed_through) = match open_file(path, log, head, legacy) {
            Err(StoreError::Sqlite(error)) if is_damaged(&error) => {
                // The file is derived: start it afresh and rebuild it from the log.
                tracing::warn!(%error, path = %path.display(), "the dedup index file is damaged; rebuilding it from the log");
                for suffix in ["", "-wal", "-shm"] {
                    let file = format!("{}{suffix}", path.display());
                    if let Err(error) = std::fs::remove_file(&file)
                        && error.kind() != std::io::ErrorKind::NotFound
                    {
                        tracing::warn!(%error, file, "cannot remove a damaged dedup index file");
                    }
                }
                open_file(path, log, head, legacy)?
            }
            opened => opened?,
        };
        let saved = take_saved_filter(path, flushed_through);
        let mut index_keys = HashMap::new();
        let flushed_through = rebuild_recent(
            &mut writer,
            log,
            flushed_through,
            settings,
            &mut index_keys,
            saved.as_ref().map(|saved| &*saved.filter),
        )?;
        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        reader.pragma_update(None, "cache_size", -CACHE_KIB)?;
        let filter = saved.as_ref().map(|saved| saved.filter.clone());
        let flusher = flusher::spawn(writer, path, settings, saved)?;
        let index = DedupIndex {
            conn: reader,
            jobs: flusher.jobs,
            done: flusher.done,
            recent: index_keys,
            frozen: None,
            frozen_sent: false,
            flushed_through,
            flush_keys: settings.flush_keys,
            flush_interval: settings.flush_interval,
            last_freeze: Instant::now(),
            filter,
            table_lookups: 0,
        };
        Ok((index, flusher.threads))
    }

    /// Records `key` as accepted at `received_at_ms` unless it was accepted within the window
    /// before; returns whether it is new.
    ///
    /// An acceptance whose window has passed by the wall clock is forgotten, as if the sweep
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
            None => match self.frozen.as_ref().and_then(|frozen| frozen.keys.get(key)) {
                Some(&at) => Some(at),
                None if self.filter.as_ref().is_some_and(|f| !f.may_contain(key)) => None,
                None => {
                    self.table_lookups += 1;
                    self.conn
                        .prepare_cached(LOOKUP_KEY)?
                        .query_row([&key[..]], |row| row.get::<_, i64>(0))
                        .optional()?
                }
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

    /// Size of the filter in use (0: none yet).
    pub(crate) fn filter_bytes(&self) -> u64 {
        self.filter.as_ref().map_or(0, |filter| filter.bytes())
    }

    /// Lookups so far that read the table.
    pub(crate) fn table_lookups(&self) -> u64 {
        self.table_lookups
    }

    /// Keys held in memory.
    pub(crate) fn memory_keys(&self) -> usize {
        self.recent.len() + self.frozen.as_ref().map_or(0, |frozen| frozen.keys.len())
    }

    /// After a commit that left the log at `head`, or between groups: takes the flusher's
    /// news, hands it a snapshot when one is due, and waits for it while `recent` has reached
    /// twice the threshold with the previous snapshot still unwritten.
    pub(crate) fn tick(&mut self, head: u64) {
        self.take_news();
        if self.frozen.is_some() && self.recent.len() >= self.flush_keys.saturating_mul(2) {
            let started = Instant::now();
            while self.frozen.is_some() && self.wait_for_news(Duration::from_secs(1)) {}
            tracing::debug!(elapsed = ?started.elapsed(), "dedup index: waited for the flusher");
        }
        let due = self.recent.len() >= self.flush_keys
            || (!self.recent.is_empty() && self.last_freeze.elapsed() >= self.flush_interval);
        if self.frozen.is_none() && due {
            self.freeze(head);
        }
        self.send_frozen();
    }

    /// Hands everything in memory to the flusher and waits until it is written (on close, so
    /// the next open rebuilds nothing).
    pub(crate) fn flush_all(&mut self, head: u64) {
        let deadline = Instant::now() + CLOSE_WAIT;
        for _ in 0..2 {
            self.take_news();
            if self.frozen.is_none() {
                self.freeze(head);
            }
            self.send_frozen();
            while self.frozen.is_some() && Instant::now() < deadline {
                self.wait_for_news(deadline.saturating_duration_since(Instant::now()));
            }
        }
    }

    fn send_frozen(&mut self) {
        if let Some(frozen) = &self.frozen
            && !self.frozen_sent
        {
            self.frozen_sent = self.jobs.send(Job::Write(frozen.clone())).is_ok();
        }
    }

    fn take_news(&mut self) {
        while let Ok(done) = self.done.try_recv() {
            self.apply(done);
        }
    }

    /// Waits up to `timeout` for one piece of news; false if none came (or the flusher is
    /// gone).
    fn wait_for_news(&mut self, timeout: Duration) -> bool {
        match self.done.recv_timeout(timeout) {
            Ok(done) => {
                self.apply(done);
                true
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => false,
        }
    }

    fn apply(&mut self, done: Done) {
        match done {
            Done::Written { through_seq } => {
                if self
                    .frozen
                    .as_ref()
                    .is_some_and(|frozen| frozen.through_seq == through_seq)
                {
                    self.frozen = None;
                    self.frozen_sent = false;
                }
                self.flushed_through = self.flushed_through.max(through_seq);
            }
            Done::Failed { through_seq } => {
                if self
                    .frozen
                    .as_ref()
                    .is_some_and(|frozen| frozen.through_seq == through_seq)
                {
                    self.frozen_sent = false;
                }
            }
            Done::Filter(filter) => self.filter = Some(filter),
        }
    }

    fn freeze(&mut self, head: u64) {
        self.last_freeze = Instant::now();
        if self.recent.is_empty() {
            // Nothing to write, but every seq so far is covered.
            self.flushed_through = self.flushed_through.max(head);
            return;
        }
        // Sized up front: growing by rehashing would stall a commit now and then.
        let keys = std::mem::replace(&mut self.recent, HashMap::with_capacity(self.flush_keys));
        self.frozen = Some(Arc::new(Frozen {
            keys,
            through_seq: head,
        }));
        self.frozen_sent = false;
    }
}

/// Opens (creating if needed) the file's write connection and reads its `flushed_through`
/// (0 if the file is ahead of the log: a log restored from a backup, say).
fn open_file(
    path: &Path,
    log: &Connection,
    head: u64,
    legacy: bool,
) -> Result<(Connection, u64), StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let writer = Connection::open_with_flags(path, flags)?;
    writer.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
    writer.pragma_update(None, "synchronous", "NORMAL")?;
    writer.pragma_update(None, "cache_size", -CACHE_KIB)?;
    // Checkpoints run on a thread of their own, as for the log; this is only a backstop.
    writer.pragma_update(None, "wal_autocheckpoint", 65_536)?;
    migrate_file(&writer)?;
    if legacy {
        copy_legacy_keys(&writer, log, head)?;
    }
    let flushed_through = Some(file_flushed_through(&writer)?)
        .filter(|&seq| seq <= head)
        .unwrap_or(0);
    Ok((writer, flushed_through))
}

/// Whether SQLite says the file is not a database or is corrupt.
fn is_damaged(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

/// Loads into `keys` the unexpired keys of the log rows after `flushed_through`; whenever
/// they reach the flush threshold they are written to the file at once (so memory stays
/// bounded however much there is to rebuild), and into `filter` if there is one. Returns the
/// new `flushed_through`.
fn rebuild_recent(
    writer: &mut Connection,
    log: &Connection,
    mut flushed_through: u64,
    settings: Settings,
    keys: &mut HashMap<DedupKey, i64>,
    filter: Option<&Filter>,
) -> Result<u64, StoreError> {
    let after = i64::try_from(flushed_through).map_err(|_| StoreError::TooLarge)?;
    let cutoff = window_cutoff(settings.window);
    // The row holding seq `after + 1` starts at or before it.
    let mut rows = log.prepare(
        "SELECT first_seq, count, body FROM batches WHERE first_seq >= coalesce(
             (SELECT max(first_seq) FROM batches WHERE first_seq <= ?1 + 1), 0)
         ORDER BY first_seq",
    )?;
    let mut rows = rows.query([after])?;
    let mut rebuilt = 0usize;
    while let Some(row) = rows.next()? {
        let (first_seq, count): (i64, i64) = (row.get(0)?, row.get(1)?);
        let unexpected = || StoreError::Unexpected("negative seq in log.sqlite");
        let first_seq = u64::try_from(first_seq).map_err(|_| unexpected())?;
        let last_seq = first_seq + u64::try_from(count).map_err(|_| unexpected())? - 1;
        let body = row
            .get_ref(2)?
            .as_blob()
            .map_err(|_| StoreError::Unexpected("a log row body is not a blob"))?;
        codec::for_each_dedup_key(first_seq, body, flushed_through, |key, at| {
            if at > cutoff {
                let latest = keys.entry(key).or_insert(at);
                *latest = (*latest).max(at);
            }
        })?;
        if keys.len() >= settings.flush_keys {
            rebuilt += keys.len();
            let mut sorted: Vec<(DedupKey, i64)> = keys.drain().collect();
            sorted.sort_unstable_by_key(|(key, _)| *key);
            write_sorted(writer, &sorted, last_seq, settings.segment_keys(), |_| {})?;
            if let Some(filter) = filter {
                for (key, _) in &sorted {
                    filter.insert(key);
                }
            }
            flushed_through = last_seq;
        }
    }
    rebuilt += keys.len();
    if rebuilt > 0 {
        tracing::info!(
            keys = rebuilt,
            flushed_through,
            "dedup index: rebuilt the keys not yet on disk from the log"
        );
    }
    Ok(flushed_through)
}

/// Writes `keys` (sorted) into the newest segment — a new one if they would take it past
/// `segment_keys` — in transactions of [`WRITE_CHUNK_KEYS`]; the last one also sets
/// `flushed_through` to `through_seq`, so a write interrupted halfway is simply done again
/// (upserts). `after_chunk` runs after each commit.
fn write_sorted(
    conn: &mut Connection,
    keys: &[(DedupKey, i64)],
    through_seq: u64,
    segment_keys: u64,
    mut after_chunk: impl FnMut(&Connection),
) -> Result<(), StoreError> {
    let chunks = keys.chunks(WRITE_CHUNK_KEYS);
    let count = chunks.len();
    let segment = if keys.is_empty() {
        0
    } else {
        segment_for(conn, keys.len(), segment_keys)?
    };
    for (index, keys) in chunks.enumerate() {
        let transaction = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut insert = transaction.prepare_cached(INSERT_KEY)?;
            for (key, received_at) in keys {
                insert.execute(params![segment, &key[..], received_at])?;
            }
            let added = i64::try_from(keys.len()).map_err(|_| StoreError::TooLarge)?;
            transaction
                .prepare_cached(
                    "INSERT INTO segments (segment, keys) VALUES (?1, ?2)
                     ON CONFLICT (segment) DO UPDATE SET keys = keys + excluded.keys",
                )?
                .execute(params![segment, added])?;
        }
        if index + 1 == count {
            set_flushed_through(&transaction, through_seq)?;
        }
        transaction.commit()?;
        after_chunk(conn);
    }
    if count == 0 {
        set_flushed_through(conn, through_seq)?;
    }
    Ok(())
}

/// The segment `adding` keys go into: the newest, unless they would take it past
/// `segment_keys`; then one numbered after every segment that still has rows.
fn segment_for(conn: &Connection, adding: usize, segment_keys: u64) -> Result<i64, StoreError> {
    let newest: Option<(i64, i64)> = conn
        .prepare_cached("SELECT segment, keys FROM segments ORDER BY segment DESC LIMIT 1")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let adding = u64::try_from(adding).unwrap_or(u64::MAX);
    if let Some((segment, keys)) = newest
        && u64::try_from(keys).unwrap_or(0).saturating_add(adding) <= segment_keys
    {
        return Ok(segment);
    }
    // Rows of a segment no longer listed may still be being purged: never reuse its number.
    let next = conn
        .prepare_cached(
            "SELECT max(coalesce((SELECT max(segment) FROM dedup), -1),
                        coalesce((SELECT max(segment) FROM segments), -1)) + 1",
        )?
        .query_row([], |row| row.get(0))?;
    Ok(next)
}

/// Acceptances at or before this time (unix ms) are outside a `window` ending now.
fn window_cutoff(window: Duration) -> i64 {
    now_ms().saturating_sub(i64::try_from(window.as_millis()).unwrap_or(i64::MAX))
}

/// The file's `flushed_through` (0 when unset).
fn file_flushed_through(conn: &Connection) -> Result<u64, StoreError> {
    let seq: Option<i64> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [FLUSHED_THROUGH],
            |row| row.get(0),
        )
        .optional()?;
    Ok(u64::try_from(seq.unwrap_or(0)).unwrap_or(0))
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
    let segment = segment_for(&transaction, usize::MAX, 0)?;
    let mut copied = 0i64;
    {
        let mut insert = transaction.prepare(INSERT_KEY)?;
        let mut keys = log.prepare("SELECT key, received_at FROM dedup ORDER BY key")?;
        let mut keys = keys.query([])?;
        while let Some(row) = keys.next()? {
            let key: Vec<u8> = row.get(0)?;
            let received_at: i64 = row.get(1)?;
            insert.execute(params![segment, key, received_at])?;
            copied += 1;
        }
    }
    if copied > 0 {
        transaction.execute(
            "INSERT INTO segments (segment, keys) VALUES (?1, ?2)",
            params![segment, copied],
        )?;
    }
    set_flushed_through(&transaction, head)?;
    transaction.commit()?;
    Ok(())
}

/// Creates the file's tables, or brings a file of an older layout to [`FILE_VERSION`]: the
/// keys of a version 1 file (no segments) become segment 0, in one transaction.
fn migrate_file(conn: &Connection) -> Result<(), StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version == FILE_VERSION {
        return Ok(());
    }
    let transaction = conn.unchecked_transaction()?;
    if version > FILE_VERSION {
        // Written by a later Weir: the file is derived, so start it afresh (its
        // `flushed_through` goes too, and the keys are rebuilt from the log).
        tracing::warn!(
            version,
            "dedup index: the file has a newer layout; rebuilding it"
        );
        transaction.execute_batch(
            "DROP TABLE IF EXISTS dedup; DROP TABLE IF EXISTS segments; DROP TABLE IF EXISTS meta;",
        )?;
    }
    let unsegmented = version < FILE_VERSION
        && transaction
            .prepare("SELECT 1 FROM pragma_table_info('dedup') WHERE name = 'key'")?
            .exists([])?
        && !transaction
            .prepare("SELECT 1 FROM pragma_table_info('dedup') WHERE name = 'segment'")?
            .exists([])?;
    if unsegmented {
        transaction.execute_batch("ALTER TABLE dedup RENAME TO dedup_v1")?;
    }
    transaction.execute_batch(SCHEMA)?;
    if unsegmented {
        let copied = transaction.execute(
            "INSERT INTO dedup (segment, key, received_at)
             SELECT 0, key, received_at FROM dedup_v1 ORDER BY key",
            [],
        )?;
        if copied > 0 {
            transaction.execute(
                "INSERT INTO segments (segment, keys) VALUES (0, ?1)",
                [i64::try_from(copied).map_err(|_| StoreError::TooLarge)?],
            )?;
        }
        transaction.execute_batch("DROP TABLE dedup_v1")?;
        tracing::info!(
            keys = copied,
            "dedup index: moved the keys of the file into segment 0"
        );
    }
    transaction.pragma_update(None, "user_version", FILE_VERSION)?;
    transaction.commit()?;
    Ok(())
}
