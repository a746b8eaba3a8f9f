//! Per-pipeline metrics (`storage-and-pipelines.md` §14): `weir_pipeline_events_total{pipeline,
//! step, result}` and `weir_pipeline_lag_events{pipeline}`, plus the same numbers as a
//! [`PipelineStats`] snapshot for `GET /v1/pipelines/{id}`.
//!
//! Each pipeline's counters are fetched from the families once, so the per-event path only
//! increments atomics. Steps follow §5.1: `Receive` (a record of the pipeline's connection was
//! read), `InputValidation` (its payload decoded), `Consent`, `Filter`, `Finalize` (written, or
//! failed for good).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// A snapshot of one pipeline's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineStats {
    /// Log records of the pipeline's connection read since the engine started.
    pub read: u64,
    /// Events that failed the required consents or the filter.
    pub filtered_out: u64,
    /// Events the target committed.
    pub written: u64,
    /// Events skipped because their payload could not be decoded or the target rejected them
    /// for good.
    pub failed: u64,
    /// Log records not yet consumed: the log head minus the pipeline's acknowledged cursor
    /// (0 before the pipeline first ran).
    pub lag: u64,
    /// Whether a task is running the pipeline (it is enabled, valid and of a supported target).
    pub running: bool,
    /// The last error recorded for the pipeline (target failures, retention skips, an invalid
    /// filter, an unsupported target), if any.
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StepLabels {
    pipeline: String,
    step: &'static str,
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PipelineLabels {
    pipeline: String,
}

/// The (step, result) series each pipeline has.
const SERIES: [(&str, &str); 8] = [
    ("Receive", "passed"),
    ("InputValidation", "failed"),
    ("Consent", "passed"),
    ("Consent", "failed"),
    ("Filter", "passed"),
    ("Filter", "failed"),
    ("Finalize", "passed"),
    ("Finalize", "failed"),
];

/// The metric families of every pipeline.
#[derive(Debug, Clone, Default)]
pub(crate) struct Metrics {
    events: Family<StepLabels, Counter>,
    lag: Family<PipelineLabels, Gauge>,
}

impl Metrics {
    pub(crate) fn register(&self, registry: &mut Registry) {
        registry.register(
            "weir_pipeline_events",
            "Events per pipeline, step and result",
            self.events.clone(),
        );
        registry.register(
            "weir_pipeline_lag_events",
            "Log records a pipeline has not consumed yet",
            self.lag.clone(),
        );
    }

    /// The counters of pipeline `id`, created at zero.
    pub(crate) fn pipeline(&self, id: &str) -> PipelineCounters {
        let counter = |step: &'static str, result: &'static str| {
            self.events
                .get_or_create(&StepLabels {
                    pipeline: id.to_owned(),
                    step,
                    result,
                })
                .clone()
        };
        PipelineCounters {
            read: counter("Receive", "passed"),
            undecodable: counter("InputValidation", "failed"),
            consent_passed: counter("Consent", "passed"),
            consent_failed: counter("Consent", "failed"),
            filter_passed: counter("Filter", "passed"),
            filter_failed: counter("Filter", "failed"),
            written: counter("Finalize", "passed"),
            write_failed: counter("Finalize", "failed"),
            lag: self
                .lag
                .get_or_create(&PipelineLabels {
                    pipeline: id.to_owned(),
                })
                .clone(),
            position: AtomicU64::new(0),
            has_position: AtomicBool::new(false),
            running: AtomicBool::new(false),
            last_error: Mutex::new(None),
        }
    }

    /// Drops the series of a deleted pipeline.
    pub(crate) fn remove(&self, id: &str) {
        for (step, result) in SERIES {
            self.events.remove(&StepLabels {
                pipeline: id.to_owned(),
                step,
                result,
            });
        }
        self.lag.remove(&PipelineLabels {
            pipeline: id.to_owned(),
        });
    }
}

/// One pipeline's counters, shared by its task (which counts) and the engine (which reads).
#[derive(Debug)]
pub(crate) struct PipelineCounters {
    pub(crate) read: Counter,
    pub(crate) undecodable: Counter,
    pub(crate) consent_passed: Counter,
    pub(crate) consent_failed: Counter,
    pub(crate) filter_passed: Counter,
    pub(crate) filter_failed: Counter,
    pub(crate) written: Counter,
    pub(crate) write_failed: Counter,
    lag: Gauge,
    position: AtomicU64,
    has_position: AtomicBool,
    running: AtomicBool,
    last_error: Mutex<Option<String>>,
}

impl PipelineCounters {
    /// Records the pipeline's acknowledged position (its durable cursor).
    pub(crate) fn set_position(&self, seq: u64, head: u64) {
        self.position.store(seq, Ordering::Relaxed);
        self.has_position.store(true, Ordering::Relaxed);
        self.update_lag(head);
    }

    /// Recomputes the lag gauge against the log head.
    pub(crate) fn update_lag(&self, head: u64) {
        let lag = self.lag_at(head);
        self.lag.set(i64::try_from(lag).unwrap_or(i64::MAX));
    }

    fn lag_at(&self, head: u64) -> u64 {
        if self.has_position.load(Ordering::Relaxed) {
            head.saturating_sub(self.position.load(Ordering::Relaxed))
        } else {
            0
        }
    }

    pub(crate) fn set_running(&self, running: bool) {
        self.running.store(running, Ordering::Relaxed);
    }

    pub(crate) fn record_error(&self, message: String) {
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(message);
    }

    pub(crate) fn snapshot(&self, head: u64) -> PipelineStats {
        PipelineStats {
            read: self.read.get(),
            filtered_out: self.consent_failed.get() + self.filter_failed.get(),
            written: self.written.get(),
            failed: self.undecodable.get() + self.write_failed.get(),
            lag: self.lag_at(head),
            running: self.running.load(Ordering::Relaxed),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }
}
