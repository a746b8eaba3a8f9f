//! [`LiveEvents`], the per-process hub: what ingest calls (publish) and what the management
//! API calls (listeners and streams).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::clock::{Clock, SystemClock};
use crate::config::{LiveConfig, MAX_LISTENER_SIZE};
use crate::entry::{Entry, Published};
use crate::error::LiveError;
use crate::id::ListenerId;
use crate::listener::{Listener, ListenerRead, ListenerSpec};
use crate::matcher::Matcher;
use crate::queue::StreamQueue;
use crate::registry::Registry;
use crate::stream::{StreamSpec, Subscription};

/// The live events hub. Cheap to clone (one `Arc`); share one per process.
#[derive(Clone)]
pub struct LiveEvents {
    registry: Arc<Registry>,
}

impl LiveEvents {
    /// A hub on the system clock.
    pub fn new(config: LiveConfig) -> LiveEvents {
        LiveEvents::with_clock(config, Arc::new(SystemClock))
    }

    /// A hub on `clock` (idle expiry and replay grace read it).
    pub fn with_clock(config: LiveConfig, clock: Arc<dyn Clock>) -> LiveEvents {
        LiveEvents {
            registry: Arc::new(Registry::new(config, clock)),
        }
    }

    /// Makes the sampling of listeners created from now on deterministic (for tests).
    pub fn seed_sampling(&self, seed: u64) {
        self.registry.seed_sampling(seed);
    }

    /// The configuration.
    pub fn config(&self) -> &LiveConfig {
        &self.registry.config
    }

    /// Whether anything would receive entries published into `workspace_id` now: a listener, a
    /// stream, or the replay ring of a stream that just disconnected. An atomic load when no
    /// workspace is watched, else a map lookup; ingest checks it before building entries.
    pub fn is_watched(&self, workspace_id: &str) -> bool {
        self.registry.watched(workspace_id).is_some()
    }

    /// Listeners plus streams currently registered in `workspace_id`.
    pub fn watcher_count(&self, workspace_id: &str) -> usize {
        self.registry
            .workspace(workspace_id)
            .map_or(0, |workspace| workspace.watchers())
    }

    /// Hands the entries of one ingest request, in request order, to every matching listener
    /// and stream of the workspace. Never waits on a subscriber: full stream queues drop their
    /// oldest entries, listeners sample. A no-op when [`LiveEvents::is_watched`] is false.
    pub fn publish(&self, workspace_id: &str, entries: Vec<Entry>) {
        if entries.is_empty() {
            return;
        }
        let Some(workspace) = self.registry.watched(workspace_id) else {
            return;
        };
        let batch: Vec<Published> = entries.into_iter().map(Published::render).collect();
        let mut state = workspace.lock();
        let ring_capacity = if self.registry.records_replay(&workspace, &state) {
            self.registry.config.replay_capacity
        } else {
            0
        };
        if ring_capacity == 0 && state.watcher_count() == 0 {
            state.clear_ring();
            return;
        }
        state.deliver(batch, ring_capacity);
    }

    /// Creates a listener (`POST /v1/events/listeners`).
    pub fn create(&self, workspace_id: &str, spec: ListenerSpec) -> Result<ListenerId, LiveError> {
        if !(1..=MAX_LISTENER_SIZE).contains(&spec.size) {
            return Err(LiveError::InvalidSize { size: spec.size });
        }
        let rng = self.registry.sampling_rng();
        let now = self.registry.now();
        self.registry
            .register(workspace_id, now, |workspace, state| {
                let id = loop {
                    let id = ListenerId::generate();
                    if !state.listeners.contains_key(id.as_str()) {
                        break id;
                    }
                };
                state
                    .listeners
                    .insert(id.to_string(), Listener::new(spec, rng, now));
                workspace.sync_watchers(state);
                id
            })
    }

    /// Returns and clears a listener's buffer (`GET /v1/events/listeners/{id}`). A listener
    /// idle for `idle_ttl` is deleted here rather than read.
    pub fn read(&self, workspace_id: &str, id: &str) -> Result<ListenerRead, LiveError> {
        let not_found = || LiveError::NotFound { id: id.to_owned() };
        let workspace = self
            .registry
            .workspace(workspace_id)
            .ok_or_else(not_found)?;
        let now = self.registry.now();
        let mut state = workspace.lock();
        let listener = state.listeners.get_mut(id).ok_or_else(not_found)?;
        if !listener.is_idle(now, self.registry.config.idle_ttl) {
            return Ok(listener.drain(now));
        }
        state.listeners.remove(id);
        workspace.sync_watchers(&state);
        Err(not_found())
    }

    /// Deletes a listener (`DELETE /v1/events/listeners/{id}`); unknown ids are fine.
    pub fn delete(&self, workspace_id: &str, id: &str) {
        if let Some(workspace) = self.registry.workspace(workspace_id) {
            let mut state = workspace.lock();
            state.listeners.remove(id);
            workspace.sync_watchers(&state);
        }
    }

    /// Opens a stream (`GET /v1/events/stream`); it counts as a listener until dropped.
    pub fn subscribe(
        &self,
        workspace_id: &str,
        spec: StreamSpec,
    ) -> Result<Subscription, LiveError> {
        let queue = Arc::new(StreamQueue::new(self.registry.config.sse_backlog));
        let matcher = Matcher::new(spec.connections, spec.predicate, spec.include_rejected);
        let now = self.registry.now();
        let (workspace, key) = self
            .registry
            .register(workspace_id, now, |workspace, state| {
                let key = state.add_stream(matcher, Arc::clone(&queue), spec.last_event_id);
                workspace.sync_watchers(state);
                workspace.replay_until.store(0, Ordering::Release);
                (Arc::clone(workspace), key)
            })?;
        Ok(Subscription::new(
            Arc::clone(&self.registry),
            workspace,
            key,
            queue,
        ))
    }

    /// Deletes listeners idle for `idle_ttl` as of `now`, ends finished replay grace periods
    /// and forgets workspaces nobody watches. Returns how many listeners were deleted.
    pub fn sweep(&self, now: Instant) -> usize {
        self.registry.sweep(now)
    }

    /// Runs [`LiveEvents::sweep`] every `every` on `runtime` until the hub is dropped.
    pub fn spawn_sweeper(
        &self,
        runtime: &tokio::runtime::Handle,
        every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let registry = Arc::downgrade(&self.registry);
        let every = every.max(Duration::from_millis(1));
        runtime.spawn(async move {
            let mut interval = tokio::time::interval(every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            interval.tick().await;
            loop {
                interval.tick().await;
                let Some(registry) = registry.upgrade() else {
                    break;
                };
                registry.sweep(registry.now());
            }
        })
    }

    /// Ends every open stream after its pending items (graceful shutdown): each
    /// [`Subscription::next`] then returns `None`.
    pub fn close_streams(&self) {
        self.registry.close_streams();
    }
}

impl fmt::Debug for LiveEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveEvents")
            .field("config", &self.registry.config)
            .field("workspaces", &self.registry.workspace_count())
            .finish_non_exhaustive()
    }
}
