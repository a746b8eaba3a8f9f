//! Warehouse sinks: the `events` table (storage spec §3) on SQLite (embedded default) and
//! PostgreSQL. Writes are idempotent by `(connection_id, message_id)`.
//!
//! API:
//! * [`Warehouse`], the backend-neutral, dyn-compatible trait: [`Warehouse::write_events`]
//!   (one transaction, first write wins), [`Warehouse::check`] (reachable, with the rights
//!   Weir needs) and [`Warehouse::query_events`] (the `GET /v1/events` query);
//! * [`SqliteWarehouse`] (`<data_dir>/warehouse.sqlite`) and [`PostgresWarehouse`] (by URL);
//! * [`EventQuery`], [`Filter`], [`Condition`], [`Operator`], [`Direction`] → [`EventRows`],
//!   whose JSON shape ([`EventRows`]) is identical on both backends;
//! * [`WarehouseError`]: retryable [`WarehouseError::Unavailable`] vs permanent
//!   [`WarehouseError::Rejected`] vs [`WarehouseError::InvalidQuery`].
//!
//! Invariants: both backends use the one column table in `columns.rs` (names, kinds, value
//! extraction and the §3.2 conversions); a write either commits every new row of its batch or
//! none; a stored row is never changed by a later write (`ON CONFLICT DO NOTHING`), and `kpid`
//! is never written here. Async callers never block on SQLite (worker threads), and a lost
//! PostgreSQL connection fails the call quickly with `Unavailable` and is reopened on the next.

mod columns;
mod error;
mod plan;
mod postgres;
mod query;
mod sanitize;
mod schema;
mod sqlite;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;

use weir_spec::Event;

use crate::sanitize::clean_text;

pub use error::WarehouseError;
pub use postgres::PostgresWarehouse;
pub use query::{Condition, Direction, EventQuery, EventRows, Filter, MAX_LIMIT, Operator};
pub use sqlite::SqliteWarehouse;

/// A boxed, `Send` future borrowing the warehouse; keeps [`Warehouse`] dyn-compatible.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A workspace's data warehouse.
pub trait Warehouse: Send + Sync + 'static {
    /// Writes `events` to the `events` table in one transaction and resolves once it is
    /// committed, with the number of rows inserted. A row whose `(connection_id, message_id)`
    /// is already stored — earlier in the batch included — is skipped: the first write wins.
    /// On error nothing of the batch is committed; retry [`WarehouseError::Unavailable`].
    fn write_events<'a>(
        &'a self,
        events: &'a [Event],
    ) -> BoxFuture<'a, Result<usize, WarehouseError>>;

    /// Checks that the warehouse is reachable and that Weir may create a table, insert into
    /// `events` and select from it (all rolled back). Used when a user saves the warehouse
    /// setting; the error message says what is wrong.
    fn check(&self) -> BoxFuture<'_, Result<(), WarehouseError>>;

    /// One page of stored events (see [`EventQuery`]).
    fn query_events(&self, query: EventQuery) -> BoxFuture<'_, Result<EventRows, WarehouseError>>;
}

/// The events of a batch without repeats of an earlier `(connection_id, message_id)`, in
/// order, so that the first occurrence wins on every backend.
fn first_occurrences(events: &[Event]) -> Vec<&Event> {
    let mut seen = HashSet::with_capacity(events.len());
    events
        .iter()
        .filter(|event| {
            let key = (
                clean_text(&event.connection_id),
                clean_text(&event.message_id),
            );
            seen.insert(key)
        })
        .collect()
}
