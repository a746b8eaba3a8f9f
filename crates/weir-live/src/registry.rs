//! The hub's state: workspaces by id, registration under the listener limit, replay grace
//! periods and the sweep.
//!
//! Lock order: the workspace map, then one workspace. Publishing holds the map's read lock only
//! for the lookup; registration holds it until the listener or stream is in place, so the sweep
//! (which takes the write lock) never drops a workspace that is gaining a watcher.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::SmallRng;

use crate::clock::Clock;
use crate::config::LiveConfig;
use crate::error::LiveError;
use crate::sync::{lock, read, write};
use crate::workspace::{Workspace, WorkspaceState};

pub(crate) struct Registry {
    pub(crate) config: LiveConfig,
    clock: Arc<dyn Clock>,
    epoch: Instant,
    workspaces: RwLock<HashMap<String, Arc<Workspace>>>,
    /// `workspaces.len()`, readable without the lock.
    workspace_count: AtomicUsize,
    /// Seeds the sampling RNG of new listeners when set (tests); entropy otherwise.
    sampling_seeds: Mutex<Option<SmallRng>>,
}

impl Registry {
    pub(crate) fn new(config: LiveConfig, clock: Arc<dyn Clock>) -> Registry {
        Registry {
            config,
            epoch: clock.now(),
            clock,
            workspaces: RwLock::new(HashMap::new()),
            workspace_count: AtomicUsize::new(0),
            sampling_seeds: Mutex::new(None),
        }
    }

    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    pub(crate) fn workspace_count(&self) -> usize {
        self.workspace_count.load(Ordering::Acquire)
    }

    pub(crate) fn workspace(&self, id: &str) -> Option<Arc<Workspace>> {
        read(&self.workspaces).get(id).cloned()
    }

    /// The workspace if publishing into it would reach anything.
    pub(crate) fn watched(&self, id: &str) -> Option<Arc<Workspace>> {
        if self.workspace_count() == 0 {
            return None;
        }
        let workspace = self.workspace(id)?;
        (workspace.watchers() > 0 || self.in_replay_grace(&workspace, None)).then_some(workspace)
    }

    /// Whether the ring records entries: while streams are open or within the grace period
    /// after the last one left (a finished grace period is cleared here).
    pub(crate) fn records_replay(&self, workspace: &Workspace, state: &WorkspaceState) -> bool {
        if state.has_streams() || self.in_replay_grace(workspace, None) {
            return true;
        }
        workspace.replay_until.store(0, Ordering::Release);
        false
    }

    /// Within the replay grace period (the clock is read only when one was set).
    fn in_replay_grace(&self, workspace: &Workspace, now: Option<Instant>) -> bool {
        let until = workspace.replay_until.load(Ordering::Acquire);
        until != 0 && self.stamp(now.unwrap_or_else(|| self.clock.now())) < until
    }

    /// Nanoseconds since the registry was created (≥ 1 so that 0 can mean "none").
    fn stamp(&self, at: Instant) -> u64 {
        let nanos = at.saturating_duration_since(self.epoch).as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX).max(1)
    }

    pub(crate) fn seed_sampling(&self, seed: u64) {
        *lock(&self.sampling_seeds) = Some(SmallRng::seed_from_u64(seed));
    }

    pub(crate) fn sampling_rng(&self) -> SmallRng {
        match lock(&self.sampling_seeds).as_mut() {
            Some(seeds) => SmallRng::from_rng(seeds),
            None => SmallRng::from_rng(&mut rand::rng()),
        }
    }

    /// Runs `add` on the workspace (created if needed) after expiring its idle listeners and
    /// checking the limit, holding the map lock so the sweep cannot drop the workspace.
    pub(crate) fn register<R>(
        &self,
        workspace_id: &str,
        now: Instant,
        add: impl FnOnce(&Arc<Workspace>, &mut WorkspaceState) -> R,
    ) -> Result<R, LiveError> {
        let checked_add = |workspace: &Arc<Workspace>| {
            let mut state = workspace.lock();
            state.expire_listeners(now, self.config.idle_ttl);
            workspace.sync_watchers(&state);
            if state.watcher_count() >= self.config.max_listeners_per_workspace {
                return Err(LiveError::TooManyListeners {
                    limit: self.config.max_listeners_per_workspace,
                });
            }
            Ok(add(workspace, &mut state))
        };
        {
            let workspaces = read(&self.workspaces);
            if let Some(workspace) = workspaces.get(workspace_id) {
                return checked_add(workspace);
            }
        }
        let mut workspaces = write(&self.workspaces);
        let workspace = Arc::clone(workspaces.entry(workspace_id.to_owned()).or_default());
        self.workspace_count
            .store(workspaces.len(), Ordering::Release);
        checked_add(&workspace)
    }

    /// Unregisters a dropped stream; the last one to leave opens the replay grace period.
    pub(crate) fn unsubscribe(&self, workspace: &Workspace, key: u64) {
        let mut state = workspace.lock();
        state.remove_stream(key);
        workspace.sync_watchers(&state);
        if state.has_streams() {
            return;
        }
        let grace = self.config.replay_grace;
        if self.config.replay_capacity == 0 || grace.is_zero() {
            state.clear_ring();
            return;
        }
        let until = self.stamp(self.clock.now() + grace);
        workspace.replay_until.store(until, Ordering::Release);
    }

    /// Expires idle listeners and finished grace periods, forgets unwatched workspaces; returns
    /// how many listeners were deleted.
    pub(crate) fn sweep(&self, now: Instant) -> usize {
        let mut expired = 0;
        let mut workspaces = write(&self.workspaces);
        workspaces.retain(|_, workspace| {
            let mut state = workspace.lock();
            expired += state.expire_listeners(now, self.config.idle_ttl);
            workspace.sync_watchers(&state);
            let replaying = state.has_streams() || self.in_replay_grace(workspace, Some(now));
            if !replaying {
                state.clear_ring();
                workspace.replay_until.store(0, Ordering::Release);
            }
            replaying || state.watcher_count() > 0
        });
        self.workspace_count
            .store(workspaces.len(), Ordering::Release);
        if expired > 0 {
            tracing::debug!(expired, "deleted idle event listeners");
        }
        expired
    }

    pub(crate) fn close_streams(&self) {
        for workspace in read(&self.workspaces).values() {
            workspace.lock().close_streams();
        }
    }
}
