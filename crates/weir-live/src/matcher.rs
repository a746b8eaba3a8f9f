//! Which entries a listener or stream receives: its connection scope, its predicate (the
//! caller's compiled filter and required consents) and whether it wants rejected entries.

use std::collections::HashSet;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use weir_spec::Event;

use crate::entry::{EntryType, Published};

/// A compiled filter: `true` keeps the event. Called while publishing, under the workspace
/// lock, so it must be quick; a panic counts as `false` (ingest never unwinds through it).
pub type Predicate = Arc<dyn Fn(&Event) -> bool + Send + Sync>;

/// The delivery rule of one listener or stream.
pub(crate) struct Matcher {
    /// `None`: the whole workspace.
    connections: Option<HashSet<String>>,
    predicate: Option<Predicate>,
    include_rejected: bool,
}

impl Matcher {
    pub(crate) fn new(
        connections: Option<Vec<String>>,
        predicate: Option<Predicate>,
        include_rejected: bool,
    ) -> Matcher {
        Matcher {
            connections: connections.map(|ids| ids.into_iter().collect()),
            predicate,
            include_rejected,
        }
    }

    /// Accepted events in scope that pass the predicate; rejected and duplicate entries in
    /// scope only without a predicate and with `include_rejected`.
    pub(crate) fn matches(&self, entry: &Published) -> bool {
        if let Some(connections) = &self.connections
            && !connections.contains(&entry.connection_id)
        {
            return false;
        }
        match (entry.entry_type, &entry.event, &self.predicate) {
            (EntryType::Event, Some(event), Some(predicate)) => {
                panic::catch_unwind(AssertUnwindSafe(|| predicate(event))).unwrap_or(false)
            }
            (EntryType::Event, _, None) => true,
            (EntryType::Event, None, Some(_)) => false,
            (EntryType::Rejected | EntryType::Duplicate, _, predicate) => {
                predicate.is_none() && self.include_rejected
            }
        }
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Matcher")
            .field("connections", &self.connections)
            .field("predicate", &self.predicate.as_ref().map(|_| "…"))
            .field("include_rejected", &self.include_rejected)
            .finish()
    }
}
