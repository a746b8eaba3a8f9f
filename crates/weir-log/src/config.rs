//! Configuration of the log (storage spec §15: `log.retention`, `log.group_commit_delay`,
//! `log.group_commit_max_events`, `dedup.window`). The server's loader owns the file and
//! environment names; this struct owns the defaults and their validation.

use std::time::Duration;

use crate::LogError;

/// The range of [`LogConfig::dedup_filter_max_bytes`]: 128 KiB (the smallest filter) to 8 GiB.
pub const DEDUP_FILTER_MIN_BYTES: u64 = 128 * 1024;
pub const DEDUP_FILTER_LIMIT_BYTES: u64 = 8 * 1024 * 1024 * 1024;

/// How the log keeps, deduplicates and commits events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// Records older than this (by `received_at`) are deleted in the background. Default 7 days.
    pub retention: Duration,
    /// A (connection, message id) accepted within this window makes later events with that key
    /// duplicates. Default 24 h; must not exceed `retention`.
    pub dedup_window: Duration,
    /// How long the writer may wait for more appends before committing a group that is not yet
    /// full. Default 0 (the spec table says 2 ms): measured with 32 concurrent appenders, a
    /// 2 ms delay gave no more events/s, since appends queued during one commit already form
    /// the next group, and it added latency.
    pub group_commit_delay: Duration,
    /// A group stops collecting appends once it holds this many events. Default 65536.
    pub group_commit_max_events: usize,
    /// How often the writer purges expired records and dedup entries when there is nothing
    /// left over from the previous pass. Default 1 s; a tuning knob, not a documented setting.
    pub maintenance_interval: Duration,
    /// Dedup keys the writer keeps in memory before writing them, sorted, to the on-disk index
    /// (see the `dedup` module). Memory holds up to three times this many keys (~40 bytes
    /// each; plus the filters below); a restart after a crash re-reads the log rows of up to
    /// that many events. Default 262,144; a tuning knob, not a documented setting.
    pub dedup_flush_keys: usize,
    /// The largest Bloom filter in front of the on-disk dedup index, in bytes. A filter is
    /// sized for the keys in the window (1.25 bytes a key), so this only matters past
    /// 0.8 × this many keys; beyond, new ids read the on-disk index more often. A rebuild holds
    /// two filters. Default 256 MiB (215 million keys: 2,500 events/s for a 24 h window),
    /// between 128 KiB and 8 GiB.
    pub dedup_filter_max_bytes: u64,
    /// Keys in memory are written to the on-disk index at least this often, so that restarts
    /// re-read little and retention is not held back. Default 60 s; a tuning knob.
    pub dedup_flush_interval: Duration,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            retention: Duration::from_secs(7 * 24 * 60 * 60),
            dedup_window: Duration::from_secs(24 * 60 * 60),
            group_commit_delay: Duration::ZERO,
            group_commit_max_events: 65_536,
            maintenance_interval: Duration::from_secs(1),
            dedup_flush_keys: 262_144,
            dedup_flush_interval: Duration::from_secs(60),
            dedup_filter_max_bytes: 256 * 1024 * 1024,
        }
    }
}

impl LogConfig {
    /// Checks the rules between the settings.
    pub fn validate(&self) -> Result<(), LogError> {
        if self.retention.is_zero() {
            return Err(LogError::Config("log retention must be greater than zero"));
        }
        if self.dedup_window > self.retention {
            return Err(LogError::Config(
                "dedup window must not exceed the log retention",
            ));
        }
        if self.group_commit_max_events == 0 {
            return Err(LogError::Config(
                "group commit max events must be at least 1",
            ));
        }
        if self.dedup_flush_keys == 0 {
            return Err(LogError::Config("dedup flush keys must be at least 1"));
        }
        let filter = DEDUP_FILTER_MIN_BYTES..=DEDUP_FILTER_LIMIT_BYTES;
        if !filter.contains(&self.dedup_filter_max_bytes) {
            return Err(LogError::Config(
                "dedup filter max bytes must be between 131072 (128 KiB) and 8589934592 (8 GiB)",
            ));
        }
        if self.maintenance_interval.is_zero() {
            return Err(LogError::Config(
                "maintenance interval must be greater than zero",
            ));
        }
        Ok(())
    }

    pub(crate) fn retention_ms(&self) -> i64 {
        millis(self.retention)
    }

    pub(crate) fn dedup_window_ms(&self) -> i64 {
        millis(self.dedup_window)
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
