//! Retry delays (`storage-and-pipelines.md` §3.3): exponential from a base (1 s) up to a cap
//! (10 s), each delay spread by ±25 % jitter so pipelines failing together do not retry in step.

use std::time::Duration;

use rand::Rng;

/// The relative spread of a delay around its nominal value.
const JITTER: f64 = 0.25;

/// The delays of one run of consecutive failures.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    pub(crate) fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff {
            base,
            cap,
            failures: 0,
        }
    }

    /// The delay before the next attempt; each call doubles the nominal delay up to the cap.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let nominal = nominal_delay(self.base, self.cap, self.failures);
        self.failures = self.failures.saturating_add(1);
        jittered(nominal, rand::rng().random_range(-1.0..=1.0))
    }
}

/// `base · 2^failures`, at most `cap`.
fn nominal_delay(base: Duration, cap: Duration, failures: u32) -> Duration {
    let factor = 2u32.checked_pow(failures.min(31)).unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(cap).min(cap)
}

/// `nominal` moved by `unit · 25 %`, with `unit` in `-1.0..=1.0`.
fn jittered(nominal: Duration, unit: f64) -> Duration {
    nominal.mul_f64(1.0 + JITTER * unit.clamp(-1.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn doubles_from_the_base_up_to_the_cap() {
        let cap = 10 * SECOND;
        let nominal: Vec<u64> = (0..8)
            .map(|failures| nominal_delay(SECOND, cap, failures).as_secs())
            .collect();
        assert_eq!(nominal, [1, 2, 4, 8, 10, 10, 10, 10]);
        assert_eq!(nominal_delay(SECOND, cap, u32::MAX), cap);
    }

    #[test]
    fn jitter_stays_within_a_quarter() {
        assert_eq!(jittered(4 * SECOND, -1.0), 3 * SECOND);
        assert_eq!(jittered(4 * SECOND, 1.0), 5 * SECOND);
        assert_eq!(jittered(4 * SECOND, 0.0), 4 * SECOND);
        assert_eq!(jittered(4 * SECOND, 7.0), 5 * SECOND);
        let mut backoff = Backoff::new(SECOND, 10 * SECOND);
        for expected in [1.0, 2.0, 4.0, 8.0, 10.0, 10.0] {
            let delay = backoff.next_delay().as_secs_f64();
            assert!(
                (expected * 0.75..=expected * 1.25).contains(&delay),
                "{delay} is not within 25 % of {expected}"
            );
        }
    }
}
