//! Polling listeners (storage spec §11.1, Krenalis-compatible): a reservoir-sampled buffer per
//! listener, drained by each read.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;

use crate::entry::Published;
use crate::matcher::{Matcher, Predicate};
use crate::reservoir::Reservoir;

/// What a new listener receives.
#[derive(Clone)]
pub struct ListenerSpec {
    /// The scope, resolved by the caller: a source's id, or the sources linked to a
    /// destination when the listener is created; `None` for the whole workspace.
    pub connections: Option<Vec<String>>,
    /// Buffer capacity, 1..=[`crate::MAX_LISTENER_SIZE`].
    pub size: usize,
    /// The compiled `filter` and `requiredConsents`; `None` keeps every event.
    pub predicate: Option<Predicate>,
    /// Whether rejected and duplicate entries are delivered (only without a predicate).
    pub include_rejected: bool,
}

impl Default for ListenerSpec {
    /// The whole workspace, 10 entries, no filter, rejected entries included (the API's
    /// defaults).
    fn default() -> Self {
        Self {
            connections: None,
            size: crate::DEFAULT_LISTENER_SIZE,
            predicate: None,
            include_rejected: true,
        }
    }
}

impl fmt::Debug for ListenerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListenerSpec")
            .field("connections", &self.connections)
            .field("size", &self.size)
            .field("predicate", &self.predicate.as_ref().map(|_| "…"))
            .field("include_rejected", &self.include_rejected)
            .finish()
    }
}

/// The result of reading a listener: its buffer and how many entries it did not keep.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListenerRead {
    /// Entry JSON texts, sorted by `receivedAt` (stable over the buffer's slot order).
    pub events: Vec<Arc<str>>,
    /// Entries the listener received since the last read but did not return.
    pub omitted: u64,
}

impl ListenerRead {
    /// The response body of `GET /v1/events/listeners/{id}`: `{"events":[…],"omitted":n}`.
    pub fn to_json(&self) -> String {
        let length: usize = self.events.iter().map(|e| e.len() + 1).sum();
        let mut out = String::with_capacity(length + 32);
        out.push_str("{\"events\":[");
        for (i, event) in self.events.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(event);
        }
        out.push_str("],\"omitted\":");
        out.push_str(&self.omitted.to_string());
        out.push('}');
        out
    }
}

/// One listener's state, kept in its workspace.
#[derive(Debug)]
pub(crate) struct Listener {
    matcher: Matcher,
    reservoir: Reservoir<Arc<Published>>,
    rng: SmallRng,
    last_read: Instant,
}

impl Listener {
    pub(crate) fn new(spec: ListenerSpec, rng: SmallRng, now: Instant) -> Listener {
        Listener {
            matcher: Matcher::new(spec.connections, spec.predicate, spec.include_rejected),
            reservoir: Reservoir::new(spec.size),
            rng,
            last_read: now,
        }
    }

    /// Offers every matching entry of a published batch to the reservoir.
    pub(crate) fn offer(&mut self, batch: &[Arc<Published>]) {
        for entry in batch {
            if self.matcher.matches(entry) {
                self.reservoir.offer(Arc::clone(entry), &mut self.rng);
            }
        }
    }

    /// Not read (or created) for `ttl` as of `now`.
    pub(crate) fn is_idle(&self, now: Instant, ttl: Duration) -> bool {
        now.saturating_duration_since(self.last_read) >= ttl
    }

    /// Returns and clears the buffer; restarts the idle timer.
    pub(crate) fn drain(&mut self, now: Instant) -> ListenerRead {
        self.last_read = now;
        let (mut entries, omitted) = self.reservoir.take();
        entries.sort_by_key(|entry| entry.received_at);
        ListenerRead {
            events: entries
                .iter()
                .map(|entry| Arc::clone(&entry.json))
                .collect(),
            omitted,
        }
    }
}
