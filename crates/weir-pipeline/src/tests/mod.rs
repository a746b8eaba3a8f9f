//! Engine tests through the crate's public API, with a real `SqliteLog` and `SqliteCatalog` in a
//! temporary directory and in-memory targets. Waiting is done by polling with a deadline.

mod delivery;
mod failures;
mod lifecycle;
mod replay;
mod warehouse;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tempfile::TempDir;
use weir_catalog::{
    Catalog, Connection, Connector, NewConnection, NewPipeline, Pipeline, PipelineTarget,
    ReplayFrom, Role, SqliteCatalog, Workspace,
};
use weir_log::{AppendEvent, EventLog, LogConfig, SqliteLog};
use weir_spec::{Event, Timestamp};

use crate::{BoxFuture, Engine, EngineConfig, Target, TargetError, TargetFactory, TargetKind};

/// How long a test waits for something that should happen within milliseconds.
const PATIENCE: Duration = Duration::from_secs(10);

/// Polls `check` until it holds, failing the test after [`PATIENCE`].
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + PATIENCE;
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap()
}

/// Short timers so the tests run in milliseconds.
fn fast_config() -> EngineConfig {
    EngineConfig {
        batch_max_age: Duration::from_millis(20),
        reload_interval: Duration::from_millis(50),
        retry_base: Duration::from_millis(5),
        retry_cap: Duration::from_millis(40),
        ..EngineConfig::default()
    }
}

/// A data directory with a log, a catalog, the bootstrap workspace and two source connections.
struct Harness {
    dir: TempDir,
    log: Arc<SqliteLog>,
    catalog: Arc<SqliteCatalog>,
    workspace: Workspace,
    source: Connection,
    other: Connection,
    /// Message id → seq of every appended event.
    seqs: Mutex<HashMap<String, u64>>,
}

impl Harness {
    fn new() -> Harness {
        Harness::with_log_config(LogConfig::default())
    }

    fn with_log_config(config: LogConfig) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(SqliteLog::open(&dir.path().join("log.sqlite"), config).unwrap());
        let catalog = Arc::new(SqliteCatalog::open(dir.path()).unwrap());
        let bootstrap = catalog.bootstrap().unwrap().source.unwrap();
        let other = catalog
            .create_connection(
                &bootstrap.workspace.id,
                NewConnection {
                    name: "Other".to_owned(),
                    role: Role::Source,
                    connector: Connector::Javascript,
                    strategy: None,
                },
            )
            .unwrap();
        Harness {
            dir,
            log,
            catalog,
            workspace: bootstrap.workspace,
            source: bootstrap.connection,
            other,
            seqs: Mutex::new(HashMap::new()),
        }
    }

    fn engine(&self, targets: &Arc<Targets>, config: EngineConfig) -> Engine {
        Engine::start(
            self.log.clone(),
            self.catalog.clone(),
            targets.clone(),
            config,
        )
        .unwrap()
    }

    fn pipeline(&self, enabled: bool, replay_from: ReplayFrom, filter: Option<Value>) -> Pipeline {
        self.pipeline_on(
            &self.source,
            PipelineTarget::Event,
            enabled,
            replay_from,
            filter,
        )
    }

    fn pipeline_on(
        &self,
        connection: &Connection,
        target: PipelineTarget,
        enabled: bool,
        replay_from: ReplayFrom,
        filter: Option<Value>,
    ) -> Pipeline {
        self.catalog
            .create_pipeline(
                &self.workspace.id,
                NewPipeline {
                    connection_id: connection.id.clone(),
                    name: "Import events".to_owned(),
                    target,
                    enabled,
                    filter,
                    transformation: None,
                    required_consents: None,
                    replay_from,
                },
            )
            .unwrap()
    }

    fn set_enabled(&self, pipeline: &Pipeline, enabled: bool) {
        self.catalog
            .set_pipeline_enabled(&self.workspace.id, &pipeline.id, enabled)
            .unwrap();
    }

    /// Appends one track event per id, received now.
    async fn append(&self, connection: &Connection, ids: &[&str]) {
        self.append_with(connection, ids, now_ms(), json!({})).await;
    }

    /// Appends track events of the source connection to another handle of the log.
    async fn append_to(&self, log: &SqliteLog, ids: &[&str]) {
        self.append_to_log(log, &self.source, ids, now_ms(), &json!({}))
            .await;
    }

    /// Appends one event per id, received at `received_at_ms`, with `extra` members.
    async fn append_with(
        &self,
        connection: &Connection,
        ids: &[&str],
        received_at_ms: i64,
        extra: Value,
    ) {
        self.append_to_log(&self.log, connection, ids, received_at_ms, &extra)
            .await;
    }

    async fn append_to_log(
        &self,
        log: &SqliteLog,
        connection: &Connection,
        ids: &[&str],
        received_at_ms: i64,
        extra: &Value,
    ) {
        let events = ids
            .iter()
            .map(|id| AppendEvent {
                workspace_id: self.workspace.id.as_str().to_owned(),
                connection_id: connection.id.as_str().to_owned(),
                message_id: (*id).to_owned(),
                received_at_ms,
                payload: Bytes::from(payload(connection, id, received_at_ms, extra)),
                dedup: true,
            })
            .collect();
        let statuses = log.append(events).await.unwrap();
        let mut seqs = self.seqs.lock().unwrap();
        for (id, status) in ids.iter().zip(statuses) {
            seqs.insert((*id).to_owned(), status.seq().unwrap());
        }
    }

    fn seq(&self, id: &str) -> u64 {
        self.seqs.lock().unwrap()[id]
    }

    async fn cursor(&self, pipeline: &Pipeline) -> Option<u64> {
        let consumer = format!("pipeline:{}", pipeline.id);
        self.log.cursor(&consumer).await.unwrap()
    }
}

/// The canonical JSON of a track event.
fn payload(connection: &Connection, id: &str, received_at_ms: i64, extra: &Value) -> String {
    let at = Timestamp::from_unix_millis(received_at_ms)
        .unwrap()
        .to_string();
    let mut event = json!({
        "connectionId": connection.id.as_str(),
        "anonymousId": "anon-1",
        "event": "Clicked",
        "messageId": id,
        "properties": {},
        "receivedAt": at,
        "sentAt": at,
        "originalTimestamp": at,
        "timestamp": at,
        "traits": {},
        "type": "track",
    });
    if let (Some(event), Some(extra)) = (event.as_object_mut(), extra.as_object()) {
        for (key, value) in extra {
            event.insert(key.clone(), value.clone());
        }
    }
    event.to_string()
}

/// How an in-memory target behaves on its next writes.
#[derive(Debug, Default)]
struct TargetState {
    /// Message ids of every committed event, in commit order (repeats included).
    delivered: Vec<String>,
    writes: usize,
    retryable_failures: usize,
    permanent_failures: usize,
    stuck: bool,
}

/// A target that keeps what it commits in memory and can fail or hang on demand.
#[derive(Debug, Default)]
struct MemoryTarget {
    state: Mutex<TargetState>,
}

impl MemoryTarget {
    fn state(&self) -> std::sync::MutexGuard<'_, TargetState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn delivered(&self) -> Vec<String> {
        self.state().delivered.clone()
    }

    /// The target's dedup-by-message-id view, as an idempotent warehouse would store it.
    fn rows(&self) -> HashSet<String> {
        self.state().delivered.iter().cloned().collect()
    }

    fn has(&self, ids: &[&str]) -> bool {
        let rows = self.rows();
        ids.iter().all(|id| rows.contains(*id))
    }
}

impl Target for MemoryTarget {
    fn write<'a>(&'a self, events: &'a [Event]) -> BoxFuture<'a, Result<(), TargetError>> {
        Box::pin(async move {
            let stuck = {
                let mut state = self.state();
                state.writes += 1;
                if state.retryable_failures > 0 {
                    state.retryable_failures -= 1;
                    return Err(TargetError::retryable("warehouse is unreachable"));
                }
                if state.permanent_failures > 0 {
                    state.permanent_failures -= 1;
                    return Err(TargetError::permanent("warehouse rejected the rows"));
                }
                if !state.stuck {
                    state
                        .delivered
                        .extend(events.iter().map(|event| event.message_id.clone()));
                }
                state.stuck
            };
            if stuck {
                std::future::pending::<()>().await;
            }
            Ok(())
        })
    }
}

/// Hands each pipeline its own in-memory target (created on first use).
#[derive(Debug, Default)]
struct Targets {
    by_pipeline: Mutex<HashMap<String, Arc<MemoryTarget>>>,
}

impl Targets {
    fn of(&self, pipeline: &Pipeline) -> Arc<MemoryTarget> {
        self.by_pipeline
            .lock()
            .unwrap()
            .entry(pipeline.id.as_str().to_owned())
            .or_default()
            .clone()
    }
}

impl TargetFactory for Targets {
    fn open<'a>(
        &'a self,
        kind: TargetKind,
        _workspace: &'a Workspace,
        pipeline: &'a Pipeline,
    ) -> BoxFuture<'a, Result<Arc<dyn Target>, TargetError>> {
        Box::pin(async move {
            assert_eq!(kind, TargetKind::WarehouseEvents);
            let target: Arc<dyn Target> = self.of(pipeline);
            Ok(target)
        })
    }
}
