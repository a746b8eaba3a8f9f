//! The engine: a reconciler task re-reads the catalog's pipelines (every `reload_interval`, or at
//! once after [`Engine::reload`]) and keeps exactly one task running per enabled, valid pipeline
//! of a supported target; filter and consent edits reach running tasks without a restart, a
//! changed warehouse restarts them. Each pipeline's counters live as long as the pipeline.
//!
//! Which target a pipeline gets is decided here (`route`): `Event` pipelines of source
//! connections import events into the warehouse; "Import users into warehouse" (`User`) and
//! destination pipelines are not built yet and are skipped with a log line and a pipeline error.
//!
//! A replay ([`Engine::replay`]) is also done by the reconciler, between two reconciliations, so
//! no task of the pipeline runs while its cursor moves back: it stops the pipeline's task and
//! waits until it is gone (an ack the task had already handed to the log is ordered before the
//! reset, see [`EventLog::reset_cursor`]), resets the durable cursor, and the reconciliation
//! that follows starts the task again, which resumes from the reset cursor. Events the task had
//! buffered but not written are simply read again.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use prometheus_client::registry::Registry;
use serde_json::Value;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use weir_catalog::{
    Catalog, CatalogError, Pipeline, PipelineTarget, ReplayFrom, Role, WarehouseSettings, Workspace,
};
use weir_log::{EventLog, LogError};

use crate::config::{EngineConfig, EngineError};
use crate::consents::validate_required_consents;
use crate::cursor;
use crate::filter::validate_filter;
use crate::metrics::{Metrics, PipelineCounters, PipelineStats};
use crate::target::{TargetFactory, TargetKind};
use crate::task::{PipelineTask, Rules, consumer_name};

/// Replay requests that may wait for the reconciler; callers beyond this wait.
const REPLAY_QUEUE: usize = 16;

/// The pipeline engine. Start it once per process inside a tokio runtime.
#[derive(Debug)]
pub struct Engine {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    replays: mpsc::Sender<ReplayRequest>,
    reconciler: Mutex<Option<JoinHandle<()>>>,
}

/// Why [`Engine::replay`] failed; the pipeline's cursor is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// The event log could not be read or written.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The engine was shut down.
    #[error("the pipeline engine is stopped")]
    Stopped,
}

impl ReplayError {
    /// Whether trying again later may succeed (the log was unavailable or closed, the engine is
    /// shutting down), as opposed to an internal failure.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Log(error) => matches!(error, LogError::Unavailable | LogError::Closed),
            Self::Stopped => true,
        }
    }
}

/// A replay for the reconciler, with the channel for its answer.
#[derive(Debug)]
struct ReplayRequest {
    pipeline: Pipeline,
    from: ReplayFrom,
    reply: oneshot::Sender<Result<u64, ReplayError>>,
}

struct Shared {
    log: Arc<dyn EventLog>,
    catalog: Arc<dyn Catalog>,
    targets: Arc<dyn TargetFactory>,
    config: EngineConfig,
    metrics: Metrics,
    pipelines: RwLock<HashMap<String, Arc<PipelineCounters>>>,
    wake: Notify,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn counters(&self, id: &str) -> Arc<PipelineCounters> {
        if let Some(counters) = self.read_pipelines().get(id) {
            return counters.clone();
        }
        self.pipelines
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(id.to_owned())
            .or_insert_with(|| Arc::new(self.metrics.pipeline(id)))
            .clone()
    }

    fn read_pipelines(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<PipelineCounters>>> {
        self.pipelines
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Engine {
    /// Starts the engine: the reconciler reads the catalog at once and starts the pipelines.
    /// Must be called inside a tokio runtime.
    pub fn start(
        log: Arc<dyn EventLog>,
        catalog: Arc<dyn Catalog>,
        targets: Arc<dyn TargetFactory>,
        config: EngineConfig,
    ) -> Result<Engine, EngineError> {
        config.validate()?;
        let shared = Arc::new(Shared {
            log,
            catalog,
            targets,
            config,
            metrics: Metrics::default(),
            pipelines: RwLock::new(HashMap::new()),
            wake: Notify::new(),
        });
        let (stop, stopped) = watch::channel(false);
        let (replays, replay_requests) = mpsc::channel(REPLAY_QUEUE);
        let reconciler = Reconciler {
            shared: shared.clone(),
            running: HashMap::new(),
            roles: HashMap::new(),
            notes: HashMap::new(),
        };
        let handle = tokio::spawn(reconciler.run(stopped, replay_requests));
        Ok(Engine {
            shared,
            stop,
            replays,
            reconciler: Mutex::new(Some(handle)),
        })
    }

    /// Re-reads the catalog now instead of at the next interval. The management API calls it
    /// after creating, changing, enabling, disabling or deleting a pipeline.
    pub fn reload(&self) {
        self.shared.wake.notify_one();
    }

    /// Makes `pipeline` read the event log again from `from`, by the rules of its creation's
    /// `replayFrom` (`earliest`: the oldest record still in the log; a time: the first record
    /// received at or after it; `now`: the first record received at or after the pipeline's
    /// creation), and returns the seq after which it now reads.
    ///
    /// The durable cursor moves back only: if the pipeline has not yet got as far as `from`, it
    /// stays where it is, so no unprocessed event is ever skipped. A running pipeline is stopped
    /// for the reset and started again from the new cursor; a disabled one keeps the reset
    /// cursor and starts from it when it is enabled. Re-delivered events are written again;
    /// warehouse writes are idempotent, so no row is duplicated.
    pub async fn replay(&self, pipeline: &Pipeline, from: ReplayFrom) -> Result<u64, ReplayError> {
        let (reply, answer) = oneshot::channel();
        let request = ReplayRequest {
            pipeline: pipeline.clone(),
            from,
            reply,
        };
        self.replays
            .send(request)
            .await
            .map_err(|_| ReplayError::Stopped)?;
        answer.await.map_err(|_| ReplayError::Stopped)?
    }

    /// The counters of a pipeline the engine has seen (enabled or not), for
    /// `GET /v1/pipelines/{id}`; `None` for an unknown id or one created since the last reload.
    pub fn stats(&self, pipeline_id: &str) -> Option<PipelineStats> {
        let counters = self.shared.read_pipelines().get(pipeline_id).cloned()?;
        Some(counters.snapshot(self.shared.log.head()))
    }

    /// Registers `weir_pipeline_events_total` and `weir_pipeline_lag_events` in `registry`.
    pub fn register_metrics(&self, registry: &mut Registry) {
        self.shared.metrics.register(registry);
    }

    /// Stops every pipeline task and the reconciler, and waits for them. Unwritten batches are
    /// dropped; they are read again from the durable cursors at the next start.
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let handle = self
            .reconciler
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            let _ = handle.await;
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// A running pipeline task and what it was started with.
struct Running {
    handle: JoinHandle<()>,
    rules: watch::Sender<Arc<Rules>>,
    rules_json: (Option<Value>, Option<Value>),
    warehouse: WarehouseSettings,
}

/// Owns the running tasks; only it starts and stops them.
struct Reconciler {
    shared: Arc<Shared>,
    running: HashMap<String, Running>,
    /// Connection roles never change, so each is looked up once.
    roles: HashMap<String, Role>,
    /// Why a pipeline is not running, so the reason is logged once, not at every reload.
    notes: HashMap<String, String>,
}

impl Reconciler {
    async fn run(
        mut self,
        mut stop: watch::Receiver<bool>,
        mut replays: mpsc::Receiver<ReplayRequest>,
    ) {
        loop {
            if let Err(error) = self.reconcile().await {
                tracing::warn!(%error, "cannot read the pipelines from the catalog; retrying");
            }
            let head = self.shared.log.head();
            for counters in self.shared.read_pipelines().values() {
                counters.update_lag(head);
            }
            let replay = tokio::select! {
                () = self.shared.wake.notified() => None,
                () = tokio::time::sleep(self.shared.config.reload_interval) => None,
                Some(request) = replays.recv() => Some(request),
                changed = stop.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    None
                }
            };
            if *stop.borrow() {
                break;
            }
            // The next reconciliation starts the replayed pipeline again.
            if let Some(request) = replay {
                self.replay(request).await;
            }
        }
        for (id, running) in self.running.drain() {
            running.handle.abort();
            let _ = running.handle.await;
            self.shared.counters(&id).set_running(false);
        }
    }

    async fn reconcile(&mut self) -> Result<(), CatalogError> {
        let catalog = self.shared.catalog.clone();
        let known: HashSet<String> = self.roles.keys().cloned().collect();
        let listed = tokio::task::spawn_blocking(move || -> Result<_, CatalogError> {
            let pipelines = catalog.list_pipelines(None)?;
            let workspaces = catalog.list_workspaces()?;
            let mut roles = Vec::new();
            for pipeline in &pipelines {
                let connection = pipeline.connection_id.as_str();
                if !known.contains(connection) {
                    match catalog.connection(&pipeline.workspace_id, &pipeline.connection_id) {
                        Ok(found) => roles.push((connection.to_owned(), found.role)),
                        // Deleted since the list was read: the next reload drops the pipeline.
                        Err(CatalogError::NotFound { .. }) => {}
                        Err(error) => return Err(error),
                    }
                }
            }
            Ok((pipelines, workspaces, roles))
        })
        .await;
        let (pipelines, workspaces, roles) = match listed {
            Ok(listed) => listed?,
            Err(error) => {
                tracing::error!(%error, "catalog read task failed");
                return Ok(());
            }
        };
        self.roles.extend(roles);
        let workspaces: HashMap<&str, &Workspace> =
            workspaces.iter().map(|w| (w.id.as_str(), w)).collect();
        let mut seen = HashSet::new();
        for pipeline in pipelines {
            let id = pipeline.id.as_str().to_owned();
            seen.insert(id.clone());
            let counters = self.shared.counters(&id);
            let workspace = workspaces.get(pipeline.workspace_id.as_str()).copied();
            match self.route(&pipeline, workspace) {
                Ok(Some((kind, workspace))) => {
                    self.keep_running(pipeline, workspace, kind, &counters)
                }
                Ok(None) => self.stop(&id, &counters),
                Err(reason) => {
                    self.stop(&id, &counters);
                    if self.notes.get(&id) != Some(&reason) {
                        tracing::info!(pipeline = %id, "pipeline not run: {reason}");
                        counters.record_error(reason.clone());
                        self.notes.insert(id, reason);
                    }
                }
            }
        }
        self.forget_deleted(&seen);
        Ok(())
    }

    /// The target kind a pipeline runs with, `None` if it is disabled, or why it cannot run.
    fn route<'w>(
        &self,
        pipeline: &Pipeline,
        workspace: Option<&'w Workspace>,
    ) -> Result<Option<(TargetKind, &'w Workspace)>, String> {
        if !pipeline.enabled {
            return Ok(None);
        }
        let Some(workspace) = workspace else {
            return Ok(None);
        };
        let Some(role) = self.roles.get(pipeline.connection_id.as_str()) else {
            return Ok(None);
        };
        match (role, pipeline.target) {
            (Role::Source, PipelineTarget::Event) => {
                Ok(Some((TargetKind::WarehouseEvents, workspace)))
            }
            (Role::Source, PipelineTarget::User) => {
                Err("\"Import users into warehouse\" pipelines are not supported yet".to_owned())
            }
            (Role::Destination, _) => {
                Err("pipelines of destination connections are not supported yet".to_owned())
            }
        }
    }

    /// Starts the pipeline, or brings its running task up to date.
    fn keep_running(
        &mut self,
        pipeline: Pipeline,
        workspace: &Workspace,
        kind: TargetKind,
        counters: &Arc<PipelineCounters>,
    ) {
        let id = pipeline.id.as_str().to_owned();
        let rules_json = (pipeline.filter.clone(), pipeline.required_consents.clone());
        if let Some(running) = self.running.get(&id) {
            let same_target = running.warehouse == workspace.settings.warehouse;
            if same_target && !running.handle.is_finished() {
                if running.rules_json == rules_json {
                    return;
                }
            } else {
                self.stop(&id, counters);
            }
        }
        let rules = match compile(&pipeline) {
            Ok(rules) => Arc::new(rules),
            Err(reason) => {
                self.stop(&id, counters);
                if self.notes.get(&id) != Some(&reason) {
                    tracing::warn!(pipeline = %id, "pipeline not run: {reason}");
                    counters.record_error(reason.clone());
                    self.notes.insert(id, reason);
                }
                return;
            }
        };
        self.notes.remove(&id);
        if let Some(running) = self.running.get_mut(&id) {
            // Same task, new filter or consents: it applies them from its next read on.
            running.rules.send_replace(rules);
            running.rules_json = rules_json;
            return;
        }
        let (rules_sender, rules_receiver) = watch::channel(rules);
        let warehouse = workspace.settings.warehouse.clone();
        let task = PipelineTask {
            pipeline,
            workspace: workspace.clone(),
            kind,
            log: self.shared.log.clone(),
            targets: self.shared.targets.clone(),
            rules: rules_receiver,
            counters: counters.clone(),
            config: self.shared.config.clone(),
        };
        counters.set_running(true);
        let handle = tokio::spawn(task.run());
        self.running.insert(
            id,
            Running {
                handle,
                rules: rules_sender,
                rules_json,
                warehouse,
            },
        );
    }

    fn stop(&mut self, id: &str, counters: &PipelineCounters) {
        if let Some(running) = self.running.remove(id) {
            running.handle.abort();
            counters.set_running(false);
            tracing::info!(pipeline = %id, "pipeline stopped");
        }
    }

    /// Stops the pipeline's task and waits until it is gone, then resets its durable cursor
    /// (see the module documentation); the caller's next reconciliation restarts the task.
    async fn replay(&mut self, request: ReplayRequest) {
        let ReplayRequest {
            pipeline,
            from,
            reply,
        } = request;
        let id = pipeline.id.as_str().to_owned();
        let counters = self.shared.counters(&id);
        if let Some(running) = self.running.remove(&id) {
            running.handle.abort();
            let _ = running.handle.await;
            counters.set_running(false);
        }
        let log = self.shared.log.as_ref();
        let consumer = consumer_name(&id);
        let reset = async {
            let reached = log.cursor(&consumer).await?;
            let position = cursor::replay_position(log, &pipeline, from, reached).await?;
            log.reset_cursor(&consumer, position).await?;
            Ok::<u64, LogError>(position)
        };
        let result = match reset.await {
            Ok(position) => {
                counters.set_position(position, log.head());
                tracing::info!(pipeline = %id, position, "pipeline replays the event log");
                Ok(position)
            }
            Err(error) => {
                tracing::warn!(pipeline = %id, %error, "cannot replay the pipeline");
                Err(ReplayError::Log(error))
            }
        };
        let _ = reply.send(result);
    }

    /// Stops and forgets pipelines that are no longer in the catalog.
    fn forget_deleted(&mut self, seen: &HashSet<String>) {
        let gone: Vec<String> = self
            .shared
            .read_pipelines()
            .keys()
            .filter(|id| !seen.contains(*id))
            .cloned()
            .collect();
        for id in gone {
            if let Some(running) = self.running.remove(&id) {
                running.handle.abort();
            }
            self.notes.remove(&id);
            self.shared
                .pipelines
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&id);
            self.shared.metrics.remove(&id);
            tracing::info!(pipeline = %id, "pipeline deleted");
        }
    }
}

/// The pipeline's filter and consents, validated.
fn compile(pipeline: &Pipeline) -> Result<Rules, String> {
    let filter = pipeline
        .filter
        .as_ref()
        .map(validate_filter)
        .transpose()
        .map_err(|error| error.to_string())?;
    let consents = pipeline
        .required_consents
        .as_ref()
        .map(validate_required_consents)
        .transpose()
        .map_err(|error| format!("required consents are not valid: {error}"))?;
    Ok(Rules { filter, consents })
}
