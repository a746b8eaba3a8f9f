//! The engine's settings (`storage-and-pipelines.md` §3.3 batching and retries). The server's
//! configuration loader owns file and environment names; this struct owns the defaults and
//! their validation.

use std::time::Duration;

/// The hard cap on buffered events per batch (§3.3).
pub const MAX_BATCH_EVENTS: usize = 25_000;

/// How the engine batches, retries and notices catalog changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// A batch is written once it holds this many events. Default 5000, at most 25000.
    pub batch_max_events: usize,
    /// …or this long after its first event was buffered. Default 1 s.
    pub batch_max_age: Duration,
    /// Log records read at a time (of every connection; a pipeline keeps its own). Default 5000.
    pub read_max_events: usize,
    /// How often the catalog is re-read when nobody calls `Engine::reload`. Default 500 ms.
    pub reload_interval: Duration,
    /// First delay after a failed write (or log or target error); doubles per failure.
    /// Default 1 s.
    pub retry_base: Duration,
    /// Longest delay between retries, before ±25 % jitter. Default 10 s.
    pub retry_cap: Duration,
    /// A write that has not finished after this long is abandoned and retried. Default 60 s.
    pub write_timeout: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            batch_max_events: 5_000,
            batch_max_age: Duration::from_secs(1),
            read_max_events: 5_000,
            reload_interval: Duration::from_millis(500),
            retry_base: Duration::from_secs(1),
            retry_cap: Duration::from_secs(10),
            write_timeout: Duration::from_secs(60),
        }
    }
}

/// Why the engine could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// [`EngineConfig`] breaks a rule; the message says which.
    #[error("invalid pipeline engine configuration: {0}")]
    Config(&'static str),
}

impl EngineConfig {
    /// Checks the settings' ranges.
    pub fn validate(&self) -> Result<(), EngineError> {
        if self.batch_max_events == 0 || self.batch_max_events > MAX_BATCH_EVENTS {
            return Err(EngineError::Config(
                "batch max events must be between 1 and 25000",
            ));
        }
        if self.read_max_events == 0 {
            return Err(EngineError::Config("read max events must be at least 1"));
        }
        for (value, message) in [
            (
                self.batch_max_age,
                "batch max age must be greater than zero",
            ),
            (
                self.reload_interval,
                "reload interval must be greater than zero",
            ),
            (self.retry_base, "retry base must be greater than zero"),
            (
                self.write_timeout,
                "write timeout must be greater than zero",
            ),
        ] {
            if value.is_zero() {
                return Err(EngineError::Config(message));
            }
        }
        if self.retry_cap < self.retry_base {
            return Err(EngineError::Config(
                "retry cap must not be less than the retry base",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_spec_values_and_valid() {
        let config = EngineConfig::default();
        assert_eq!(config.batch_max_events, 5000);
        assert_eq!(config.batch_max_age, Duration::from_secs(1));
        assert_eq!(config.retry_base, Duration::from_secs(1));
        assert_eq!(config.retry_cap, Duration::from_secs(10));
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn out_of_range_settings_are_rejected() {
        let check = |change: fn(&mut EngineConfig)| {
            let mut config = EngineConfig::default();
            change(&mut config);
            config.validate().unwrap_err().to_string()
        };
        assert_eq!(
            check(|c| c.batch_max_events = 25_001),
            "invalid pipeline engine configuration: batch max events must be between 1 and 25000"
        );
        assert!(check(|c| c.batch_max_age = Duration::ZERO).contains("batch max age"));
        assert!(check(|c| c.retry_cap = Duration::from_millis(1)).contains("retry cap"));
        assert!(check(|c| c.read_max_events = 0).contains("read max events"));
    }
}
