//! The bounded queue between publishers and one SSE subscriber. Publishing never waits: when
//! the queue is full the oldest undelivered entry is dropped and counted, and the count is
//! delivered as one `omitted` item before the entries that follow the gap.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::entry::Published;
use crate::sync::lock;

/// One subscriber's pending entries.
#[derive(Debug)]
pub(crate) struct StreamQueue {
    capacity: usize,
    state: Mutex<QueueState>,
    ready: Notify,
}

#[derive(Debug, Default)]
struct QueueState {
    entries: VecDeque<Arc<Published>>,
    /// Entries dropped before the first queued one, not yet reported.
    omitted: u64,
    closed: bool,
}

/// What the subscriber finds in its queue.
#[derive(Debug)]
pub(crate) enum Pending {
    Omitted(u64),
    Entry(Arc<Published>),
    Empty,
    Closed,
}

impl StreamQueue {
    /// A queue holding at most `capacity` (≥ 1) entries.
    pub(crate) fn new(capacity: usize) -> StreamQueue {
        StreamQueue {
            capacity: capacity.max(1),
            state: Mutex::new(QueueState::default()),
            ready: Notify::new(),
        }
    }

    /// Appends `entries`, dropping the oldest when full, and wakes the subscriber.
    pub(crate) fn push<'a>(&self, entries: impl IntoIterator<Item = &'a Arc<Published>>) {
        let mut pushed = false;
        {
            let mut state = lock(&self.state);
            if state.closed {
                return;
            }
            for entry in entries {
                if state.entries.len() == self.capacity {
                    state.entries.pop_front();
                    state.omitted += 1;
                }
                state.entries.push_back(Arc::clone(entry));
                pushed = true;
            }
        }
        if pushed {
            self.ready.notify_one();
        }
    }

    /// The next item: the count of dropped entries first, then the oldest entry.
    pub(crate) fn pop(&self) -> Pending {
        let mut state = lock(&self.state);
        if state.omitted > 0 {
            return Pending::Omitted(std::mem::take(&mut state.omitted));
        }
        match state.entries.pop_front() {
            Some(entry) => Pending::Entry(entry),
            None if state.closed => Pending::Closed,
            None => Pending::Empty,
        }
    }

    /// Resolves after the next push or close (immediately if one happened since the last wait).
    pub(crate) async fn wait(&self) {
        self.ready.notified().await;
    }

    /// Ends the stream once the pending items are read.
    pub(crate) fn close(&self) {
        lock(&self.state).closed = true;
        self.ready.notify_one();
    }
}
