//! A tiny timing harness shared by the benchmarks: warm up, then time several rounds of each
//! case and report the median, with no external benchmark framework.
//!
//! Cases are timed interleaved (round 1 of every case, then round 2, …) so that a slow
//! period of the machine (another process, frequency scaling) hits every case alike rather
//! than distorting the one that happened to run during it.

use std::time::{Duration, Instant};

/// How long and how often to measure.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// Time spent running each case untimed first, which also calibrates the round size.
    pub(crate) warm_up: Duration,
    /// Number of timed rounds per case; the median round is reported.
    pub(crate) rounds: usize,
    /// Minimum duration of one timed round.
    pub(crate) round_time: Duration,
}

impl Settings {
    /// The reference settings `docs/benchmarks.md` quotes: 7 rounds of ≥ 0.5 s per case.
    pub(crate) const FULL: Settings = Settings {
        warm_up: Duration::from_secs(1),
        rounds: 7,
        round_time: Duration::from_millis(500),
    };

    /// `--quick`: a smoke run that checks the benchmark works, not a measurement to quote.
    pub(crate) const QUICK: Settings = Settings {
        warm_up: Duration::from_millis(100),
        rounds: 3,
        round_time: Duration::from_millis(100),
    };
}

/// One named unit of work; each call of `work` is one iteration.
pub(crate) struct Case<'a> {
    pub(crate) name: &'static str,
    pub(crate) work: Box<dyn FnMut() + 'a>,
}

impl std::fmt::Debug for Case<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case").field("name", &self.name).finish()
    }
}

/// The timing of one case: time per iteration of each round, sorted ascending.
#[derive(Debug, Clone)]
pub(crate) struct Measurement {
    pub(crate) name: &'static str,
    pub(crate) per_iteration: Vec<Duration>,
}

impl Measurement {
    /// The median round's time per iteration.
    pub(crate) fn median(&self) -> Duration {
        self.per_iteration[self.per_iteration.len() / 2]
    }

    /// Spread of the rounds around the median, as a fraction of it: (max − min) / median.
    pub(crate) fn spread(&self) -> f64 {
        let (Some(first), Some(last)) = (self.per_iteration.first(), self.per_iteration.last())
        else {
            return 0.0;
        };
        (*last - *first).as_secs_f64() / self.median().as_secs_f64()
    }
}

/// Warms up and calibrates every case, then times `settings.rounds` interleaved rounds.
pub(crate) fn measure(settings: Settings, cases: &mut [Case<'_>]) -> Vec<Measurement> {
    let iterations_per_round: Vec<u64> = cases
        .iter_mut()
        .map(|case| {
            let per_iteration = warm_up(&mut case.work, settings.warm_up);
            let wanted = settings.round_time.as_secs_f64() / per_iteration.as_secs_f64();
            (wanted.ceil() as u64).max(1)
        })
        .collect();
    let mut measurements: Vec<Measurement> = cases
        .iter()
        .map(|case| Measurement {
            name: case.name,
            per_iteration: Vec::with_capacity(settings.rounds),
        })
        .collect();
    for _ in 0..settings.rounds {
        for ((case, measurement), &iterations) in cases
            .iter_mut()
            .zip(&mut measurements)
            .zip(&iterations_per_round)
        {
            let elapsed = time(&mut case.work, iterations);
            let per_iteration = elapsed.div_f64(iterations as f64);
            measurement.per_iteration.push(per_iteration);
        }
    }
    for measurement in &mut measurements {
        measurement.per_iteration.sort();
    }
    measurements
}

/// Runs `work` for about `duration` and returns the observed time per iteration.
fn warm_up(work: &mut dyn FnMut(), duration: Duration) -> Duration {
    let start = Instant::now();
    let mut iterations: u64 = 0;
    while iterations == 0 || start.elapsed() < duration {
        work();
        iterations += 1;
    }
    start
        .elapsed()
        .div_f64(iterations as f64)
        .max(Duration::from_nanos(1))
}

fn time(work: &mut dyn FnMut(), iterations: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iterations {
        work();
    }
    start.elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_spread_come_from_the_sorted_rounds() {
        let measurement = Measurement {
            name: "case",
            per_iteration: [10, 20, 30].map(Duration::from_nanos).to_vec(),
        };
        assert_eq!(measurement.median(), Duration::from_nanos(20));
        assert!((measurement.spread() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn measure_runs_every_case_in_every_round() {
        let mut calls = [0_u64; 2];
        let (first, second) = calls.split_at_mut(1);
        let settings = Settings {
            warm_up: Duration::from_millis(1),
            rounds: 3,
            round_time: Duration::from_millis(1),
        };
        let mut cases = [
            Case {
                name: "a",
                work: Box::new(|| first[0] += 1),
            },
            Case {
                name: "b",
                work: Box::new(|| second[0] += 1),
            },
        ];
        let measurements = measure(settings, &mut cases);
        drop(cases);
        assert_eq!(measurements.len(), 2);
        assert!(measurements.iter().all(|m| m.per_iteration.len() == 3));
        assert!(calls.iter().all(|&count| count >= 3));
    }
}
