//! The PostgreSQL warehouse (tokio-postgres, no TLS yet). Writes COPY a batch straight into
//! `events`; if a row's key is already stored, they COPY it into a per-connection temporary
//! staging table instead and upsert it with `ON CONFLICT DO NOTHING` — either way in one
//! transaction (`session.rs`). Writes and queries use separate connections, each opened on
//! first use and reopened on the call after it was lost: a lost connection fails the call with
//! `Unavailable` at once, and the caller's retry reconnects.

mod copy;
mod session;
mod target;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::timeout;
use weir_spec::Event;

use self::session::Session;
use self::target::Target;
use crate::plan::plan;
use crate::query::rows_from_cells;
use crate::schema::Dialect;
use crate::{BoxFuture, EventQuery, EventRows, Warehouse, WarehouseError, first_occurrences};

/// Longest wait for a connection (TCP connect, authentication, migration).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for one operation on an open connection; a connection that does not answer
/// in time is dropped.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(60);

/// A warehouse on PostgreSQL.
///
/// The URL is a libpq-style `postgres://user:password@host:port/database` with tokio-postgres'
/// parameters, plus Weir's `schema=<name>`: the tables then live in that schema (created if
/// missing) instead of the connection's default `search_path`.
#[derive(Debug)]
pub struct PostgresWarehouse {
    target: Target,
    migrated: AtomicBool,
    writer: Mutex<Option<Session>>,
    reader: Mutex<Option<Session>>,
}

impl PostgresWarehouse {
    /// Connects and creates or migrates the tables; errors say why the server cannot be used.
    pub async fn connect(url: &str) -> Result<PostgresWarehouse, WarehouseError> {
        let warehouse = PostgresWarehouse::new(url)?;
        {
            let mut writer = warehouse.writer.lock().await;
            warehouse.session(&mut writer).await?;
        }
        Ok(warehouse)
    }

    /// Parses `url` without connecting; the first operation connects and migrates. For a
    /// process that must start while the warehouse is down.
    pub fn new(url: &str) -> Result<PostgresWarehouse, WarehouseError> {
        Ok(PostgresWarehouse {
            target: Target::parse(url)?,
            migrated: AtomicBool::new(false),
            writer: Mutex::new(None),
            reader: Mutex::new(None),
        })
    }

    /// The open session in `slot`, or a new one (migrating the tables on the first).
    async fn session<'s>(
        &self,
        slot: &'s mut Option<Session>,
    ) -> Result<&'s mut Session, WarehouseError> {
        if slot.as_ref().is_some_and(|session| !session.is_usable()) {
            *slot = None;
        }
        if let Some(session) = slot {
            return Ok(session);
        }
        let opening = async {
            let mut session = Session::open(&self.target).await?;
            if !self.migrated.load(Ordering::Acquire) {
                session.migrate(&self.target).await?;
                self.migrated.store(true, Ordering::Release);
            }
            Ok::<_, WarehouseError>(session)
        };
        let session = timeout(CONNECT_TIMEOUT, opening).await.map_err(|_| {
            WarehouseError::unavailable(format!(
                "cannot connect to PostgreSQL at {}: timed out after {} s",
                self.target.address,
                CONNECT_TIMEOUT.as_secs()
            ))
        })??;
        Ok(slot.insert(session))
    }

    /// The result of an operation on the session in `slot`. A timeout or a retryable error
    /// drops the connection so that the next call opens a fresh one.
    fn settle<T>(
        &self,
        slot: &mut Option<Session>,
        outcome: Result<Result<T, WarehouseError>, tokio::time::error::Elapsed>,
        doing: &str,
    ) -> Result<T, WarehouseError> {
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                if error.is_retryable() || slot.as_ref().is_some_and(Session::is_closed) {
                    *slot = None;
                }
                Err(error)
            }
            Err(_) => {
                *slot = None;
                Err(WarehouseError::unavailable(format!(
                    "cannot {doing} on PostgreSQL at {}: no answer within {} s",
                    self.target.address,
                    OPERATION_TIMEOUT.as_secs()
                )))
            }
        }
    }

    async fn write(&self, events: &[Event]) -> Result<usize, WarehouseError> {
        let unique = first_occurrences(events);
        if unique.is_empty() {
            return Ok(0);
        }
        let rows = copy::encode(&unique);
        let mut slot = self.writer.lock().await;
        let session = self.session(&mut slot).await?;
        session.set_busy(true);
        let outcome = timeout(OPERATION_TIMEOUT, session.write(rows)).await;
        session.set_busy(false);
        let outcome =
            outcome.map(|result| result.map_err(|error| self.target.error("write events", &error)));
        let inserted = self.settle(&mut slot, outcome, "write events")?;
        Ok(usize::try_from(inserted).unwrap_or(usize::MAX))
    }

    async fn probe(&self) -> Result<(), WarehouseError> {
        let mut slot = self.writer.lock().await;
        let session = self.session(&mut slot).await?;
        session.set_busy(true);
        let outcome = timeout(OPERATION_TIMEOUT, session.probe()).await;
        session.set_busy(false);
        let outcome =
            outcome.map(|result| result.map_err(|(right, error)| self.target.error(right, &error)));
        self.settle(&mut slot, outcome, "check the warehouse")
    }

    async fn query(&self, query: EventQuery) -> Result<EventRows, WarehouseError> {
        let plan = plan(&query, Dialect::Postgres)?;
        let mut slot = self.reader.lock().await;
        let session = self.session(&mut slot).await?;
        session.set_busy(true);
        let outcome = timeout(OPERATION_TIMEOUT, session.query(&plan)).await;
        session.set_busy(false);
        let outcome =
            outcome.map(|result| result.map_err(|error| self.target.error("query events", &error)));
        let cells = self.settle(&mut slot, outcome, "query events")?;
        Ok(rows_from_cells(&plan.columns, cells))
    }
}

impl Warehouse for PostgresWarehouse {
    fn write_events<'a>(
        &'a self,
        events: &'a [Event],
    ) -> BoxFuture<'a, Result<usize, WarehouseError>> {
        Box::pin(self.write(events))
    }

    fn check(&self) -> BoxFuture<'_, Result<(), WarehouseError>> {
        Box::pin(self.probe())
    }

    fn query_events(&self, query: EventQuery) -> BoxFuture<'_, Result<EventRows, WarehouseError>> {
        Box::pin(self.query(query))
    }
}
