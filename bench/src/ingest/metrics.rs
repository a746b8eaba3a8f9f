//! The event log's commit counters, read from the server's `/metrics`: how many events each
//! group commit (one fsync) carried.

use anyhow::Result;

use crate::server::Server;

/// `weir_log_commits_total` and `weir_log_events_appended_total`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CommitCounters {
    pub(crate) commits: u64,
    pub(crate) events: u64,
}

impl CommitCounters {
    /// The counters from `/metrics`, if the server exports them.
    pub(crate) fn read(server: &Server) -> Result<Option<CommitCounters>> {
        let metrics = server.get("/metrics")?;
        let value = |name: &str| -> Option<u64> {
            let value = metrics
                .lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))?;
            value.trim().parse::<f64>().ok().map(|value| value as u64)
        };
        Ok(
            match (
                value("weir_log_commits_total"),
                value("weir_log_events_appended_total"),
            ) {
                (Some(commits), Some(events)) => Some(CommitCounters { commits, events }),
                _ => None,
            },
        )
    }

    /// The commits and events between two readings.
    pub(crate) fn between(
        before: Option<CommitCounters>,
        after: Option<CommitCounters>,
    ) -> Option<CommitCounters> {
        let (before, after) = before.zip(after)?;
        Some(CommitCounters {
            commits: after.commits.saturating_sub(before.commits),
            events: after.events.saturating_sub(before.events),
        })
    }
}
