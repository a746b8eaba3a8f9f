//! Ingest metrics (`storage-and-pipelines.md` §14), registered in a Prometheus registry
//! that `/metrics` renders in the OpenMetrics text format.

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use weir_log::{HistogramSnapshot, LogStats};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    path_family: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    workspace: String,
    connection: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectionLabels {
    workspace: String,
    connection: String,
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkspaceLabels {
    workspace: String,
}

/// The ingest server's metrics and the registry they live in.
#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    events: Family<EventLabels, Counter>,
    rejected: Family<RejectionLabels, Counter>,
    rate_limited: Family<WorkspaceLabels, Counter>,
    bytes_in: Counter,
    append_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "weir_ingest_requests",
            "Ingest requests by path family and status",
            requests.clone(),
        );
        let events = Family::<EventLabels, Counter>::default();
        registry.register(
            "weir_ingest_events",
            "Events by outcome (accepted, rejected, duplicate)",
            events.clone(),
        );
        let rejected = Family::<RejectionLabels, Counter>::default();
        registry.register(
            "weir_ingest_rejected_events",
            "Rejected events by reason",
            rejected.clone(),
        );
        let rate_limited = Family::<WorkspaceLabels, Counter>::default();
        registry.register(
            "weir_rate_limited_requests",
            "Requests refused by the event rate limit",
            rate_limited.clone(),
        );
        let bytes_in = Counter::default();
        registry.register(
            "weir_ingest_bytes",
            "Request body bytes received (after decompression)",
            bytes_in.clone(),
        );
        let append_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
        registry.register(
            "weir_ingest_append_duration_seconds",
            "Time from handing a request's events to the log until they are durable",
            append_seconds.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            requests,
            events,
            rejected,
            rate_limited,
            bytes_in,
            append_seconds,
        }
    }

    /// Lets other components (the event log, pipelines) register their own metrics.
    pub fn with_registry<T>(&self, f: impl FnOnce(&mut Registry) -> T) -> T {
        let mut registry = self
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut registry)
    }

    /// The OpenMetrics text of every registered metric, plus the event log's statistics.
    pub fn render(&self, log: &LogStats) -> String {
        let mut text = String::new();
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if prometheus_client::encoding::text::encode(&mut text, &registry).is_err() {
            tracing::error!("metrics could not be encoded");
        }
        // The log keeps its own atomics; render them before the closing `# EOF`.
        let eof = text.rfind("# EOF").unwrap_or(text.len());
        text.truncate(eof);
        render_log_stats(log, &mut text);
        text.push_str("# EOF\n");
        text
    }

    pub(crate) fn request(&self, path_family: &'static str, status: u16) {
        self.requests
            .get_or_create(&RequestLabels {
                path_family,
                status,
            })
            .inc();
    }

    pub(crate) fn events(
        &self,
        workspace: &str,
        connection: &str,
        outcome: &'static str,
        count: u64,
    ) {
        if count > 0 {
            let labels = EventLabels {
                workspace: workspace.to_string(),
                connection: connection.to_string(),
                outcome,
            };
            self.events.get_or_create(&labels).inc_by(count);
        }
    }

    pub(crate) fn rejected(&self, workspace: &str, connection: &str, reason: &'static str) {
        let labels = RejectionLabels {
            workspace: workspace.to_string(),
            connection: connection.to_string(),
            reason,
        };
        self.rejected.get_or_create(&labels).inc();
    }

    pub(crate) fn rate_limited(&self, workspace: &str) {
        self.rate_limited
            .get_or_create(&WorkspaceLabels {
                workspace: workspace.to_string(),
            })
            .inc();
    }

    pub(crate) fn bytes_in(&self, bytes: usize) {
        self.bytes_in.inc_by(bytes as u64);
    }

    pub(crate) fn append_duration(&self, seconds: f64) {
        self.append_seconds.observe(seconds);
    }
}

/// `weir_log_*` (storage spec §14): commits, events and duplicates, and the two histograms
/// of group commits (duration, events per commit).
fn render_log_stats(stats: &LogStats, out: &mut String) {
    use std::fmt::Write;
    let counters = [
        (
            "weir_log_commits",
            "Group commits of the event log",
            stats.commits(),
        ),
        (
            "weir_log_failed_commits",
            "Group commits that failed (nothing stored)",
            stats.failed_commits(),
        ),
        (
            "weir_log_events_appended",
            "Events stored in the event log",
            stats.events_appended(),
        ),
        (
            "weir_log_duplicates",
            "Events found to be duplicates at append",
            stats.duplicates(),
        ),
    ];
    for (name, help, value) in counters {
        let _ = write!(
            out,
            "# HELP {name} {help}.\n# TYPE {name} counter\n{name}_total {value}\n"
        );
    }
    let gauges = [
        (
            "weir_log_dedup_memory_keys",
            "Dedup keys held in memory, not yet in the on-disk index",
            stats.dedup_memory_keys(),
        ),
        (
            "weir_log_dedup_filter_bytes",
            "Size of the Bloom filter in front of the on-disk dedup index",
            stats.dedup_filter_bytes(),
        ),
    ];
    for (name, help, value) in gauges {
        let _ = write!(
            out,
            "# HELP {name} {help}.\n# TYPE {name} gauge\n{name} {value}\n"
        );
    }
    let name = "weir_log_dedup_table_lookups";
    let _ = write!(
        out,
        "# HELP {name} Dedup lookups that read the on-disk index (the filter could not rule \
         the key out).\n# TYPE {name} counter\n{name}_total {}\n",
        stats.dedup_table_lookups()
    );
    histogram(
        out,
        "weir_log_append_duration_seconds",
        "Duration of each group commit, begin to fsync",
        &stats.commit_duration(),
    );
    histogram(
        out,
        "weir_log_commit_events",
        "Events stored per group commit",
        &stats.commit_events(),
    );
}

fn histogram(out: &mut String, name: &str, help: &str, snapshot: &HistogramSnapshot) {
    use std::fmt::Write;
    let _ = write!(out, "# HELP {name} {help}.\n# TYPE {name} histogram\n");
    let _ = writeln!(out, "{name}_sum {}", snapshot.sum);
    let _ = writeln!(out, "{name}_count {}", snapshot.count);
    let mut cumulative = 0;
    for (bound, count) in snapshot.bounds.iter().zip(&snapshot.counts) {
        cumulative += count;
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound:?}\"}} {cumulative}");
    }
    let _ = writeln!(
        out,
        "{name}_bucket{{le=\"+Inf\"}} {}",
        snapshot.count.max(cumulative)
    );
}
