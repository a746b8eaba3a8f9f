//! The PostgreSQL warehouse (tokio-postgres; TLS by rustls with libpq's `sslmode`, `tls.rs`).
//! Writes COPY a batch straight into `events`; if a row's key is already stored, they COPY it
//! into a per-connection temporary staging table instead and upsert it with `ON CONFLICT DO NOTHING` — either way in one
//! transaction (`session.rs`). A large batch is split in two halves written at once on two
//! connections, so that the server can use two cores (one backend runs at a core's speed).
//! The halves commit only if both got their rows into their transactions, so a bad row
//! rejects the whole batch as before; only a failure between the two commits (a lost
//! connection) can leave one half stored, and the caller's retry then finds its rows (first
//! write wins), so nothing is duplicated. Writes and
//! queries use separate connections, each opened on first use and reopened on the call after
//! it was lost: a lost connection fails the call with `Unavailable` at once, and the caller's
//! retry reconnects.

mod copy;
mod session;
mod target;
mod tls;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Mutex, oneshot};
use tokio::time::timeout;
use weir_spec::Event;

use self::session::{CommitGate, Session};
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
/// Batches of at least this many rows are written in two halves on two connections.
const SPLIT_ROWS: usize = 1_000;

/// A warehouse on PostgreSQL.
///
/// The URL is a libpq-style `postgres://user:password@host:port/database` with tokio-postgres'
/// parameters, plus Weir's `schema=<name>`: the tables then live in that schema (created if
/// missing) instead of the connection's default `search_path`.
#[derive(Debug)]
pub struct PostgresWarehouse {
    target: Target,
    migrated: AtomicBool,
    /// The write connections: the first for every write (and `check`), the second for the
    /// second half of a large batch.
    writers: [Mutex<Option<Session>>; 2],
    reader: Mutex<Option<Session>>,
}

impl PostgresWarehouse {
    /// Connects and creates or migrates the tables; errors say why the server cannot be used.
    pub async fn connect(url: &str) -> Result<PostgresWarehouse, WarehouseError> {
        let warehouse = PostgresWarehouse::new(url)?;
        {
            let mut writer = warehouse.writers[0].lock().await;
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
            writers: [Mutex::new(None), Mutex::new(None)],
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
        if unique.len() < SPLIT_ROWS {
            return self.write_on(0, &unique, None).await;
        }
        let (first, second) = unique.split_at(unique.len() / 2);
        let (ready_first, first_ready) = oneshot::channel();
        let (ready_second, second_ready) = oneshot::channel();
        let (go_first, first_go) = oneshot::channel();
        let (go_second, second_go) = oneshot::channel();
        let decide = async {
            let both = first_ready.await.is_ok() & second_ready.await.is_ok();
            let _ = go_first.send(both);
            let _ = go_second.send(both);
        };
        let gate = |ready, go| Some(CommitGate { ready, go });
        let (first, second, ()) = tokio::join!(
            self.write_on(0, first, gate(ready_first, first_go)),
            self.write_on(1, second, gate(ready_second, second_go)),
            decide,
        );
        Ok(first?.saturating_add(second?))
    }

    /// Writes `events` (no key twice) on write connection `writer`, in one transaction that
    /// commits when `gate` (if any) opens.
    async fn write_on(
        &self,
        writer: usize,
        events: &[&Event],
        gate: Option<CommitGate>,
    ) -> Result<usize, WarehouseError> {
        let rows = copy::encode(events);
        let mut slot = self.writers[writer].lock().await;
        let session = self.session(&mut slot).await?;
        session.set_busy(true);
        let outcome = timeout(OPERATION_TIMEOUT, session.write(rows, gate)).await;
        session.set_busy(false);
        let outcome =
            outcome.map(|result| result.map_err(|error| self.target.error("write events", &error)));
        let inserted = self.settle(&mut slot, outcome, "write events")?;
        Ok(usize::try_from(inserted).unwrap_or(usize::MAX))
    }

    async fn probe(&self) -> Result<(), WarehouseError> {
        let mut slot = self.writers[0].lock().await;
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
