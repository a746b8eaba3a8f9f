//! Counters and fixed-bucket histograms of the log's commits, updated with relaxed atomics by
//! the writer and read by `/metrics` (storage spec §14: `weir_log_append_duration_seconds`,
//! `weir_log_commit_events`). Rendering (cumulative buckets, names) is the server's job.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the commit-duration buckets, in nanoseconds (0.5 ms .. 1 s).
const COMMIT_DURATION_BOUNDS_NANOS: [u64; 11] = [
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
];

/// Upper bounds of the events-per-commit buckets.
const COMMIT_EVENTS_BOUNDS: [u64; 11] = [
    1, 10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 65_536,
];

/// Statistics of one log, shared by its writer and its readers of metrics.
#[derive(Debug)]
pub struct LogStats {
    commits: AtomicU64,
    failed_commits: AtomicU64,
    events_appended: AtomicU64,
    duplicates: AtomicU64,
    last_commit_nanos: AtomicU64,
    dedup_memory_keys: AtomicU64,
    dedup_filter_bytes: AtomicU64,
    dedup_table_lookups: AtomicU64,
    commit_duration: Histogram,
    commit_events: Histogram,
}

impl LogStats {
    pub(crate) fn new() -> Self {
        LogStats {
            commits: AtomicU64::new(0),
            failed_commits: AtomicU64::new(0),
            events_appended: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            last_commit_nanos: AtomicU64::new(0),
            dedup_memory_keys: AtomicU64::new(0),
            dedup_filter_bytes: AtomicU64::new(0),
            dedup_table_lookups: AtomicU64::new(0),
            commit_duration: Histogram::new(&COMMIT_DURATION_BOUNDS_NANOS, 1e-9),
            commit_events: Histogram::new(&COMMIT_EVENTS_BOUNDS, 1.0),
        }
    }

    /// Records a successful commit of a group that held appends.
    pub(crate) fn record_commit(&self, duration: Duration, appended: u64, duplicates: u64) {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.events_appended.fetch_add(appended, Ordering::Relaxed);
        self.duplicates.fetch_add(duplicates, Ordering::Relaxed);
        self.last_commit_nanos.store(nanos, Ordering::Relaxed);
        self.commit_duration.observe(nanos);
        self.commit_events.observe(appended);
    }

    pub(crate) fn record_failed_commit(&self) {
        self.failed_commits.fetch_add(1, Ordering::Relaxed);
    }

    /// Publishes the dedup index's state: keys in memory, the Bloom filter's size, and the
    /// lookups so far that had to read the on-disk table.
    pub(crate) fn set_dedup_index(&self, memory_keys: usize, filter_bytes: u64, lookups: u64) {
        let keys = u64::try_from(memory_keys).unwrap_or(u64::MAX);
        self.dedup_memory_keys.store(keys, Ordering::Relaxed);
        self.dedup_filter_bytes
            .store(filter_bytes, Ordering::Relaxed);
        self.dedup_table_lookups.store(lookups, Ordering::Relaxed);
    }

    /// Successful commits of groups holding at least one append.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Group commits that failed (every waiter got an error, nothing was stored).
    pub fn failed_commits(&self) -> u64 {
        self.failed_commits.load(Ordering::Relaxed)
    }

    /// Events stored.
    pub fn events_appended(&self) -> u64 {
        self.events_appended.load(Ordering::Relaxed)
    }

    /// Events answered [`crate::AppendStatus::Duplicate`].
    pub fn duplicates(&self) -> u64 {
        self.duplicates.load(Ordering::Relaxed)
    }

    /// Dedup keys held in memory, not yet written to the on-disk index.
    pub fn dedup_memory_keys(&self) -> u64 {
        self.dedup_memory_keys.load(Ordering::Relaxed)
    }

    /// Size of the Bloom filter in front of the on-disk dedup index (0 until the first sweep
    /// after opening has built it).
    pub fn dedup_filter_bytes(&self) -> u64 {
        self.dedup_filter_bytes.load(Ordering::Relaxed)
    }

    /// Dedup lookups that read the on-disk index: keys the filter could not rule out (true
    /// duplicates and false positives), and every lookup while there is no filter yet.
    pub fn dedup_table_lookups(&self) -> u64 {
        self.dedup_table_lookups.load(Ordering::Relaxed)
    }

    /// Duration of the last successful commit (transaction begin to fsync'd commit).
    pub fn last_commit_duration(&self) -> Duration {
        Duration::from_nanos(self.last_commit_nanos.load(Ordering::Relaxed))
    }

    /// Histogram of commit durations in seconds.
    pub fn commit_duration(&self) -> HistogramSnapshot {
        self.commit_duration.snapshot()
    }

    /// Histogram of events stored per commit.
    pub fn commit_events(&self) -> HistogramSnapshot {
        self.commit_events.snapshot()
    }
}

/// A point-in-time copy of a histogram. Fields are read one by one, so under concurrent
/// commits `count` may briefly disagree with the sum of `counts` by a commit or two.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// Upper bounds (`le`) of the finite buckets, ascending.
    pub bounds: Vec<f64>,
    /// Per-bucket counts, not cumulative: `counts[i]` counts values in
    /// `(bounds[i-1], bounds[i]]`; the last entry (one more than `bounds`) counts values above
    /// every bound (+Inf).
    pub counts: Vec<u64>,
    /// Sum of observed values.
    pub sum: f64,
    /// Number of observations.
    pub count: u64,
}

/// Fixed buckets over integer raw values; `scale` converts raw values to the reported unit.
#[derive(Debug)]
struct Histogram {
    bounds: &'static [u64],
    scale: f64,
    buckets: Vec<AtomicU64>,
    sum: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [u64], scale: f64) -> Self {
        Histogram {
            bounds,
            scale,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    fn observe(&self, value: u64) {
        let bucket = self.bounds.partition_point(|&bound| bound < value);
        if let Some(counter) = self.buckets.get(bucket) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        self.sum.fetch_add(value, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> HistogramSnapshot {
        // Precision loss is irrelevant for metrics.
        #[allow(clippy::cast_precision_loss)]
        let scaled = |raw: u64| raw as f64 * self.scale;
        HistogramSnapshot {
            bounds: self.bounds.iter().map(|&bound| scaled(bound)).collect(),
            counts: self
                .buckets
                .iter()
                .map(|bucket| bucket.load(Ordering::Relaxed))
                .collect(),
            sum: scaled(self.sum.load(Ordering::Relaxed)),
            count: self.count.load(Ordering::Relaxed),
        }
    }
}
