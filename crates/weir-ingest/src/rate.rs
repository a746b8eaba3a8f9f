//! Per-workspace event rate limiting (`ingest-api.md` §9): a token bucket charged with the
//! request's event count; capacity taken for rejected events is given back.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::directory::RateLimit;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

/// Token buckets by workspace. Buckets start full.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// The request cannot be covered now; retry after this many seconds (`None` when the
/// request is larger than the bucket can ever hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limited {
    pub(crate) retry_after: Option<u64>,
}

impl RateLimiter {
    pub(crate) fn take(
        &self,
        workspace: &str,
        limit: RateLimit,
        events: u64,
        now: Instant,
    ) -> Result<(), Limited> {
        let per_second = limit.events_per_minute as f64 / 60.0;
        let capacity = limit.capacity as f64;
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = buckets.entry(workspace.to_string()).or_insert(Bucket {
            tokens: capacity,
            refilled_at: now,
        });
        let elapsed = now
            .saturating_duration_since(bucket.refilled_at)
            .as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.refilled_at = now;
        let wanted = events as f64;
        if bucket.tokens >= wanted {
            bucket.tokens -= wanted;
            return Ok(());
        }
        if wanted > capacity || per_second <= 0.0 {
            return Err(Limited { retry_after: None });
        }
        let seconds = ((wanted - bucket.tokens) / per_second).ceil().max(1.0);
        Err(Limited {
            retry_after: Some(seconds as u64),
        })
    }

    /// Gives back capacity (rejected events).
    pub(crate) fn refund(&self, workspace: &str, limit: RateLimit, events: u64) {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(bucket) = buckets.get_mut(workspace) {
            bucket.tokens = (bucket.tokens + events as f64).min(limit.capacity as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bucket_charges_refills_and_refunds() {
        let limiter = RateLimiter::default();
        let limit = RateLimit {
            events_per_minute: 6000,
            capacity: 1000,
        };
        let start = Instant::now();
        assert_eq!(limiter.take("w", limit, 1000, start), Ok(()));
        assert_eq!(
            limiter.take("w", limit, 100, start),
            Err(Limited {
                retry_after: Some(1)
            })
        );
        // 100 events/s: after one second there are 100 tokens.
        assert_eq!(
            limiter.take("w", limit, 100, start + Duration::from_secs(1)),
            Ok(())
        );
        assert_eq!(
            limiter.take("w", limit, 500, start + Duration::from_secs(1)),
            Err(Limited {
                retry_after: Some(5)
            })
        );
        limiter.refund("w", limit, 500);
        assert_eq!(
            limiter.take("w", limit, 500, start + Duration::from_secs(1)),
            Ok(())
        );
        // Other workspaces have their own bucket; a request larger than capacity never fits.
        assert_eq!(
            limiter.take("v", limit, 1001, start),
            Err(Limited { retry_after: None })
        );
    }
}
