//! Log → warehouse import rate: a fresh `SqliteLog` filled with N realistic events, then the
//! real pipeline engine with the real warehouse target, timed from `Engine::start` until the
//! pipeline's stats show every event written. For comparison, the same events are written
//! with `Warehouse::write_events` alone (batches of the engine's size, no log, no engine) into a fresh
//! warehouse of the same kind.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use bytes::Bytes;
use weir_catalog::{
    Catalog as _, NewPipeline, NewWorkspace, PipelineTarget, ReplayFrom, SqliteCatalog,
    WarehouseSettings, WorkspaceSettings,
};
use weir_log::{AppendEvent, EventLog as _, LogConfig, SqliteLog};
use weir_pipeline::{Engine, EngineConfig, WAREHOUSE_FILE, WarehouseTargets};
use weir_spec::{Compat, Event, EventScope, Limits, Outcome, Request, Route, Timestamp};
use weir_warehouse::{PostgresWarehouse, SqliteWarehouse, Warehouse};

use crate::ingest::procfs;
use crate::spec::batch;

/// Events appended to the log per call while filling it.
const FILL_CHUNK: usize = 10_000;
/// The import fails if `written` does not move for this long.
const STALL: Duration = Duration::from_secs(120);

/// Where the events go.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite,
    /// A PostgreSQL server URL; the benchmark adds `schema=weir_bench_<random>`.
    Postgres(String),
}

impl Backend {
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        }
    }
}

/// What one backend measured.
#[derive(Debug, Clone)]
pub(crate) struct ImportResult {
    pub(crate) events: usize,
    /// Bytes of canonical JSON in the log.
    pub(crate) payload_bytes: usize,
    pub(crate) fill: Duration,
    /// `Engine::start` → stats show `written == events`.
    pub(crate) engine: Duration,
    /// `write_events` alone, same events, batches of the engine's size.
    pub(crate) direct: Duration,
    /// CPU time of this process (the engine, or `write_events` alone, and for SQLite the
    /// database itself) during each of the two runs.
    pub(crate) engine_cpu: Duration,
    pub(crate) direct_cpu: Duration,
}

/// The 100 events of the spec benchmark's batch, decoded for `connection_id`.
pub(crate) fn templates(connection_id: &str) -> Result<Vec<Event>> {
    let body = weir_spec::normalize_body(&batch::build()).into_owned();
    let route = Route {
        compat: Compat::Krenalis,
        event_type: None,
    };
    let request = Request::parse(&body, route, Limits::default())
        .map_err(|error| anyhow::anyhow!("the benchmark batch does not parse: {error:?}"))?;
    let received_at = Timestamp::from_unix_millis(now_ms()).context("clock out of range")?;
    let scope = EventScope {
        connection_id,
        ip_fallback: true,
        received_at,
        request_ip: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)),
        geolocator: None,
    };
    let events: Vec<Event> = request
        .decode_events(&scope)
        .into_iter()
        .filter_map(|outcome| match outcome {
            Outcome::Accepted(event) => Some(*event),
            Outcome::Rejected(_) => None,
        })
        .collect();
    ensure!(
        events.len() == batch::EVENTS,
        "only {} of the batch's events were accepted",
        events.len()
    );
    Ok(events)
}

/// Event `index` of the run: template `index % 100` with a unique message id.
fn event(templates: &[Event], index: usize) -> Event {
    let mut event = templates[index % templates.len()].clone();
    event.message_id = format!("bench-{index:010}");
    event
}

pub(crate) fn now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

/// Measures one backend with `events` events.
pub(crate) async fn measure(
    backend: &Backend,
    events: usize,
    batch_size: usize,
) -> Result<ImportResult> {
    let schema = match backend {
        Backend::Sqlite => None,
        Backend::Postgres(server) => Some(Schema::new(server)),
    };
    let result = measure_in(backend, schema.as_ref(), events, batch_size).await;
    if let Some(schema) = schema {
        schema.drop_all().await?;
    }
    result
}

async fn measure_in(
    backend: &Backend,
    schema: Option<&Schema>,
    events: usize,
    batch_size: usize,
) -> Result<ImportResult> {
    let dir = tempfile::Builder::new()
        .prefix("weir-bench-warehouse-")
        .tempdir()?;
    let log = Arc::new(SqliteLog::open(
        &dir.path().join("log.sqlite"),
        LogConfig::default(),
    )?);
    let catalog = Arc::new(SqliteCatalog::open(dir.path())?);
    let source = catalog
        .bootstrap()?
        .source
        .context("the bootstrap created no source")?;
    let (workspace, connection) = (source.workspace, source.connection);
    if let Some(schema) = schema {
        catalog.update_workspace(
            &workspace.id,
            NewWorkspace {
                name: workspace.name.clone(),
                settings: WorkspaceSettings {
                    warehouse: WarehouseSettings::PostgreSql {
                        url: schema.url("engine"),
                    },
                    event_rate_limit: None,
                },
            },
        )?;
    }
    let templates = templates(connection.id.as_str())?;

    // Fill the log (not measured).
    let started = Instant::now();
    let received_at_ms = now_ms();
    let mut payload_bytes = 0;
    for start in (0..events).step_by(FILL_CHUNK) {
        let chunk: Vec<AppendEvent> = (start..events.min(start + FILL_CHUNK))
            .map(|index| {
                let event = event(&templates, index);
                let payload = event.to_canonical_json();
                payload_bytes += payload.len();
                AppendEvent {
                    workspace_id: workspace.id.as_str().to_owned(),
                    connection_id: connection.id.as_str().to_owned(),
                    message_id: event.message_id,
                    received_at_ms,
                    payload: Bytes::from(payload),
                    dedup: false,
                }
            })
            .collect();
        log.append(chunk).await?;
    }
    let fill = started.elapsed();
    ensure!(
        log.head() >= events as u64,
        "the log holds {} events",
        log.head()
    );

    let pipeline = catalog.create_pipeline(
        &workspace.id,
        NewPipeline {
            connection_id: connection.id.clone(),
            name: "Bench import".to_owned(),
            target: PipelineTarget::Event,
            enabled: true,
            filter: None,
            transformation: None,
            required_consents: None,
            replay_from: ReplayFrom::Earliest,
        },
    )?;
    let clock_ticks = procfs::clock_ticks();
    let cpu_before = procfs::process_cpu(clock_ticks)?;
    let started = Instant::now();
    let engine = Engine::start(
        log.clone(),
        catalog.clone(),
        Arc::new(WarehouseTargets::new(dir.path())),
        EngineConfig {
            batch_max_events: batch_size,
            ..EngineConfig::default()
        },
    )?;
    let waited = wait_written(&engine, pipeline.id.as_str(), events as u64, started).await;
    let engine_time = started.elapsed();
    let engine_cpu = procfs::process_cpu(clock_ticks)?.saturating_sub(cpu_before);
    engine.shutdown().await;
    waited?;
    if matches!(backend, Backend::Sqlite) {
        let rows = count_sqlite_rows(&dir.path().join(WAREHOUSE_FILE))?;
        ensure!(
            rows == events as u64,
            "the warehouse holds {rows} rows, not {events}"
        );
    }
    log.close().await?;

    // The same events through write_events alone, into a fresh warehouse.
    let warehouse: Box<dyn Warehouse> = match schema {
        None => Box::new(SqliteWarehouse::open(&dir.path().join("direct.sqlite"))?),
        Some(schema) => Box::new(PostgresWarehouse::connect(&schema.url("direct")).await?),
    };
    let mut direct = Duration::ZERO;
    let mut direct_cpu = Duration::ZERO;
    for start in (0..events).step_by(batch_size) {
        let batch: Vec<Event> = (start..events.min(start + batch_size))
            .map(|index| event(&templates, index))
            .collect();
        let cpu_before = procfs::process_cpu(clock_ticks)?;
        let started = Instant::now();
        let inserted = warehouse.write_events(&batch).await?;
        direct += started.elapsed();
        direct_cpu += procfs::process_cpu(clock_ticks)?.saturating_sub(cpu_before);
        ensure!(inserted == batch.len(), "write_events inserted {inserted}");
    }
    drop(warehouse);

    Ok(ImportResult {
        events,
        payload_bytes,
        fill,
        engine: engine_time,
        direct,
        engine_cpu,
        direct_cpu,
    })
}

/// Polls the pipeline's stats until `written == events`.
async fn wait_written(
    engine: &Engine,
    pipeline: &str,
    events: u64,
    started: Instant,
) -> Result<()> {
    let mut last = (0, Instant::now());
    loop {
        if let Some(stats) = engine.stats(pipeline) {
            if stats.written >= events {
                return Ok(());
            }
            if stats.failed > 0 {
                bail!(
                    "the pipeline failed {} events: {:?}",
                    stats.failed,
                    stats.last_error
                );
            }
            if stats.written != last.0 {
                last = (stats.written, Instant::now());
            } else if last.1.elapsed() > STALL {
                bail!(
                    "the import stalled at {} of {events} events after {:?}: {:?}",
                    stats.written,
                    started.elapsed(),
                    stats.last_error
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn count_sqlite_rows(path: &std::path::Path) -> Result<u64> {
    let connection = rusqlite::Connection::open(path)?;
    Ok(connection.query_row("SELECT count(*) FROM events", [], |row| row.get(0))?)
}

/// Unique schemas on the PostgreSQL server, `weir_bench_<random>_<suffix>`, dropped afterwards.
struct Schema {
    server: String,
    prefix: String,
}

impl Schema {
    fn new(server: &str) -> Schema {
        Schema {
            server: server.to_owned(),
            prefix: format!("weir_bench_{}", uuid::Uuid::new_v4().simple()),
        }
    }

    fn name(&self, suffix: &str) -> String {
        format!("{}_{suffix}", self.prefix)
    }

    fn url(&self, suffix: &str) -> String {
        let separator = if self.server.contains('?') { '&' } else { '?' };
        format!("{}{separator}schema={}", self.server, self.name(suffix))
    }

    async fn drop_all(&self) -> Result<()> {
        let (client, connection) = tokio_postgres::connect(&self.server, tokio_postgres::NoTls)
            .await
            .context("connecting to PostgreSQL to drop the benchmark's schemas")?;
        tokio::spawn(connection);
        for suffix in ["engine", "direct"] {
            client
                .batch_execute(&format!(
                    "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                    self.name(suffix)
                ))
                .await?;
        }
        Ok(())
    }
}
