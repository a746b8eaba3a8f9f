//! One workspace's listeners, streams, entry counter and replay ring.
//!
//! `watchers` and `replay_until` mirror the locked state in atomics so that publishing into a
//! workspace nobody watches costs two atomic loads.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::entry::Published;
use crate::listener::Listener;
use crate::matcher::Matcher;
use crate::queue::StreamQueue;
use crate::sync::lock;

#[derive(Debug, Default)]
pub(crate) struct Workspace {
    /// Listeners plus streams.
    watchers: AtomicUsize,
    /// While streams are gone: until when (hub-relative nanoseconds) the ring keeps
    /// recording; 0 when not in a grace period.
    pub(crate) replay_until: AtomicU64,
    state: Mutex<WorkspaceState>,
}

#[derive(Debug, Default)]
pub(crate) struct WorkspaceState {
    /// The id of the last published entry.
    last_id: u64,
    next_stream_key: u64,
    pub(crate) listeners: HashMap<String, Listener>,
    streams: HashMap<u64, Stream>,
    ring: VecDeque<Arc<Published>>,
}

#[derive(Debug)]
struct Stream {
    matcher: Matcher,
    queue: Arc<StreamQueue>,
}

impl Workspace {
    pub(crate) fn lock(&self) -> MutexGuard<'_, WorkspaceState> {
        lock(&self.state)
    }

    pub(crate) fn watchers(&self) -> usize {
        self.watchers.load(Ordering::Acquire)
    }

    /// Publishes the counts after a change of `state` (call with the lock held).
    pub(crate) fn sync_watchers(&self, state: &WorkspaceState) {
        self.watchers.store(
            state.listeners.len() + state.streams.len(),
            Ordering::Release,
        );
    }
}

impl WorkspaceState {
    pub(crate) fn watcher_count(&self) -> usize {
        self.listeners.len() + self.streams.len()
    }

    pub(crate) fn has_streams(&self) -> bool {
        !self.streams.is_empty()
    }

    /// Deletes listeners not read for `ttl`; returns how many.
    pub(crate) fn expire_listeners(&mut self, now: Instant, ttl: Duration) -> usize {
        let before = self.listeners.len();
        self.listeners
            .retain(|_, listener| !listener.is_idle(now, ttl));
        before - self.listeners.len()
    }

    /// Numbers `batch`, hands it to every listener and stream, and records it in the ring when
    /// `ring_capacity` > 0 (the ring is emptied otherwise).
    pub(crate) fn deliver(&mut self, batch: Vec<Published>, ring_capacity: usize) {
        let batch: Vec<Arc<Published>> = batch
            .into_iter()
            .map(|mut entry| {
                self.last_id += 1;
                entry.id = self.last_id;
                Arc::new(entry)
            })
            .collect();
        for listener in self.listeners.values_mut() {
            listener.offer(&batch);
        }
        for stream in self.streams.values() {
            stream
                .queue
                .push(batch.iter().filter(|entry| stream.matcher.matches(entry)));
        }
        if ring_capacity == 0 {
            self.ring = VecDeque::new();
            return;
        }
        let skip = batch.len().saturating_sub(ring_capacity);
        for entry in batch.into_iter().skip(skip) {
            if self.ring.len() >= ring_capacity {
                self.ring.pop_front();
            }
            self.ring.push_back(entry);
        }
    }

    /// Registers a stream, first queueing the matching ring entries after `last_event_id`.
    pub(crate) fn add_stream(
        &mut self,
        matcher: Matcher,
        queue: Arc<StreamQueue>,
        last_event_id: Option<u64>,
    ) -> u64 {
        if let Some(after) = last_event_id {
            queue.push(
                self.ring
                    .iter()
                    .filter(|entry| entry.id > after && matcher.matches(entry)),
            );
        }
        self.next_stream_key += 1;
        let key = self.next_stream_key;
        self.streams.insert(key, Stream { matcher, queue });
        key
    }

    pub(crate) fn remove_stream(&mut self, key: u64) {
        self.streams.remove(&key);
    }

    pub(crate) fn clear_ring(&mut self) {
        self.ring = VecDeque::new();
    }

    /// Ends every stream once its pending items are read.
    pub(crate) fn close_streams(&self) {
        for stream in self.streams.values() {
            stream.queue.close();
        }
    }
}
