//! Server-Sent-Events subscriptions (storage spec §11.2): every matching entry, unsampled, in
//! publish order, through a bounded queue per subscriber.

use std::fmt;
use std::sync::Arc;

use crate::entry::EntryType;
use crate::matcher::Predicate;
use crate::queue::{Pending, StreamQueue};
use crate::registry::Registry;
use crate::workspace::Workspace;

/// What a new stream receives; the same rules as [`crate::ListenerSpec`], without sampling.
#[derive(Clone)]
pub struct StreamSpec {
    /// The scope, resolved by the caller; `None` for the whole workspace.
    pub connections: Option<Vec<String>>,
    /// The compiled `filter` and `requiredConsents`; `None` keeps every event.
    pub predicate: Option<Predicate>,
    /// Whether rejected and duplicate entries are delivered (only without a predicate).
    pub include_rejected: bool,
    /// The client's `Last-Event-ID`: matching entries after it that the workspace still holds
    /// are replayed first.
    pub last_event_id: Option<u64>,
}

impl Default for StreamSpec {
    /// The whole workspace, no filter, rejected entries included, no replay (the API's
    /// defaults).
    fn default() -> Self {
        Self {
            connections: None,
            predicate: None,
            include_rejected: true,
            last_event_id: None,
        }
    }
}

impl fmt::Debug for StreamSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamSpec")
            .field("connections", &self.connections)
            .field("predicate", &self.predicate.as_ref().map(|_| "…"))
            .field("include_rejected", &self.include_rejected)
            .field("last_event_id", &self.last_event_id)
            .finish()
    }
}

/// One item of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamItem {
    /// An entry, with its per-workspace counter id.
    Entry {
        /// The SSE `id`; strictly increasing within a workspace.
        id: u64,
        /// The SSE `event` type.
        kind: EntryType,
        /// The entry JSON (one line).
        json: Arc<str>,
    },
    /// This many entries were dropped because the subscriber fell too far behind.
    Omitted {
        /// How many.
        count: u64,
    },
}

/// A registered stream. Dropping it unregisters it (it stops counting toward the listener
/// limit).
pub struct Subscription {
    registry: Arc<Registry>,
    workspace: Arc<Workspace>,
    key: u64,
    queue: Arc<StreamQueue>,
}

impl Subscription {
    pub(crate) fn new(
        registry: Arc<Registry>,
        workspace: Arc<Workspace>,
        key: u64,
        queue: Arc<StreamQueue>,
    ) -> Subscription {
        Subscription {
            registry,
            workspace,
            key,
            queue,
        }
    }

    /// The next item, waiting for one; `None` once the hub closed the stream
    /// ([`crate::LiveEvents::close_streams`]) and every pending item was read. Cancel safe.
    pub async fn next(&mut self) -> Option<StreamItem> {
        loop {
            match self.pop() {
                Ok(item) => return item,
                Err(Empty) => self.queue.wait().await,
            }
        }
    }

    /// The next item if one is pending, without waiting (e.g. to batch writes): `None` when
    /// nothing is pending or the stream is closed.
    pub fn try_next(&mut self) -> Option<StreamItem> {
        self.pop().ok().flatten()
    }

    fn pop(&self) -> Result<Option<StreamItem>, Empty> {
        match self.queue.pop() {
            Pending::Omitted(count) => Ok(Some(StreamItem::Omitted { count })),
            Pending::Entry(entry) => Ok(Some(StreamItem::Entry {
                id: entry.id,
                kind: entry.entry_type,
                json: Arc::clone(&entry.json),
            })),
            Pending::Closed => Ok(None),
            Pending::Empty => Err(Empty),
        }
    }
}

/// Nothing pending yet.
struct Empty;

impl Drop for Subscription {
    fn drop(&mut self) {
        self.registry.unsubscribe(&self.workspace, self.key);
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}
