//! One PostgreSQL connection and what it prepared: the migration, the per-connection staging
//! table, the COPY and upsert statements of the write path, the probe and queries.

use bytes::Bytes;
use futures_util::SinkExt as _;
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row, Statement, Transaction};

use super::target::Target;
use crate::WarehouseError;
use crate::columns::{Kind, written_columns};
use crate::plan::{Param, Plan};
use crate::query::Cell;
use crate::schema::{Dialect, PROBE, create_events_table, quoted_names};

/// Schema migrations; `weir_migrations` records the versions applied.
const MIGRATIONS: [fn() -> String; 1] = [|| create_events_table(Dialect::Postgres)];

/// First key of the migration advisory lock ("weir"); the second is the schema's hash.
const MIGRATION_LOCK: i32 = 0x7765_6972;

const STAGING: &str = "CREATE TEMP TABLE IF NOT EXISTS weir_events_staging (LIKE events) \
                       ON COMMIT DELETE ROWS";

/// The statements of [`Session::write`].
struct WriteStatements {
    /// COPY straight into `events`.
    direct: Statement,
    /// COPY into the staging table.
    staging: Statement,
    /// Insert the staged rows whose key is not stored yet.
    upsert: Statement,
}

/// Lets the halves of one write commit together: each says when its rows are in its
/// transaction, and commits only if every half got that far; otherwise it rolls back.
#[derive(Debug)]
pub(crate) struct CommitGate {
    pub(crate) ready: tokio::sync::oneshot::Sender<()>,
    pub(crate) go: tokio::sync::oneshot::Receiver<bool>,
}

impl CommitGate {
    async fn pass(self) -> bool {
        let _ = self.ready.send(());
        self.go.await.unwrap_or(false)
    }
}

/// COPYs `rows` with the prepared `COPY … FROM STDIN` statement; returns the rows copied.
async fn copy_in(
    transaction: &Transaction<'_>,
    statement: &Statement,
    rows: Bytes,
) -> Result<u64, tokio_postgres::Error> {
    let sink = transaction.copy_in::<_, Bytes>(statement).await?;
    futures_util::pin_mut!(sink);
    sink.send(rows).await?;
    sink.as_mut().finish().await
}

/// An open connection. Dropping it closes the connection.
pub(crate) struct Session {
    client: Client,
    task: JoinHandle<()>,
    /// The write path's statements, once prepared on this connection.
    write_statements: Option<WriteStatements>,
    /// Set while an operation runs; still set afterwards if its future was dropped midway,
    /// which leaves the connection in an unknown protocol state.
    busy: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Session {
    pub(crate) async fn open(target: &Target) -> Result<Session, WarehouseError> {
        let (client, connection) = target
            .config
            .connect(target.tls.clone())
            .await
            .map_err(|error| target.connect_error(&error))?;
        let task = tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::warn!(%error, "PostgreSQL warehouse connection ended");
            }
        });
        Ok(Session {
            client,
            task,
            write_statements: None,
            busy: false,
        })
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Whether the next operation can use this connection.
    pub(crate) fn is_usable(&self) -> bool {
        !self.busy && !self.is_closed()
    }

    pub(crate) fn set_busy(&mut self, busy: bool) {
        self.busy = busy;
    }

    /// Creates the schema (if `?schema=` names a missing one), the enums, `events` and its
    /// indexes, under an advisory lock so that nodes starting together take turns.
    pub(crate) async fn migrate(&mut self, target: &Target) -> Result<(), WarehouseError> {
        let failed = |error: tokio_postgres::Error| {
            let schema = target.schema.as_deref().unwrap_or("of the search_path");
            target.error(
                &format!("create the warehouse tables in schema {schema}"),
                &error,
            )
        };
        let transaction = self.client.transaction().await.map_err(failed)?;
        let schema = target.schema.as_deref();
        transaction
            .execute(
                "SELECT pg_advisory_xact_lock($1, hashtext(coalesce($2::text, current_schema(), '')))",
                &[&MIGRATION_LOCK, &schema],
            )
            .await
            .map_err(failed)?;
        if let Some(schema) = schema {
            let exists = transaction
                .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
                .await
                .map_err(failed)?
                .is_some();
            if !exists {
                let create = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
                transaction.batch_execute(&create).await.map_err(failed)?;
            }
        }
        transaction
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS weir_migrations (version integer PRIMARY KEY, \
                 applied_at timestamptz NOT NULL DEFAULT now())",
            )
            .await
            .map_err(failed)?;
        let applied: i32 = transaction
            .query_one("SELECT coalesce(max(version), 0) FROM weir_migrations", &[])
            .await
            .map_err(failed)?
            .try_get(0)
            .map_err(failed)?;
        let applied = usize::try_from(applied).unwrap_or(0);
        if applied > MIGRATIONS.len() {
            return Err(WarehouseError::rejected(format!(
                "the warehouse tables on PostgreSQL at {} have schema version {applied}, newer \
                 than this Weir knows ({}); upgrade Weir",
                target.address,
                MIGRATIONS.len()
            )));
        }
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
            let version = i32::try_from(index + 1).unwrap_or(i32::MAX);
            transaction
                .batch_execute(&migration())
                .await
                .map_err(failed)?;
            transaction
                .execute(
                    "INSERT INTO weir_migrations (version) VALUES ($1)",
                    &[&version],
                )
                .await
                .map_err(failed)?;
        }
        transaction.commit().await.map_err(failed)
    }

    /// Writes `rows` (COPY text format) into `events` in one transaction; returns the number of
    /// rows inserted.
    ///
    /// A batch usually holds no stored key, so it is first COPYed straight into `events`, under a
    /// savepoint. A unique violation (a replay or re-delivery) undoes that attempt, and the rows
    /// are COPYed into the staging table and upserted from it with `ON CONFLICT DO NOTHING`,
    /// which skips the stored keys. The direct COPY spares the server a second write and read
    /// of every row and the speculative insertion of `ON CONFLICT`; a replayed batch fails
    /// it at its first row, so the attempt costs little when it does not succeed.
    ///
    /// With a `gate`, the transaction commits only if the gate opens (see [`CommitGate`]);
    /// otherwise it rolls back and 0 is returned.
    pub(crate) async fn write(
        &mut self,
        rows: Bytes,
        gate: Option<CommitGate>,
    ) -> Result<u64, tokio_postgres::Error> {
        if self.write_statements.is_none() {
            self.client.batch_execute(STAGING).await?;
            let names = quoted_names(written_columns().iter().map(|column| column.name));
            let direct = format!("COPY events ({names}) FROM STDIN");
            let staging = format!("COPY weir_events_staging ({names}) FROM STDIN");
            let upsert = format!(
                "INSERT INTO events ({names}) SELECT {names} FROM weir_events_staging \
                 ON CONFLICT (\"connection_id\", \"message_id\") DO NOTHING"
            );
            self.write_statements = Some(WriteStatements {
                direct: self.client.prepare(&direct).await?,
                staging: self.client.prepare(&staging).await?,
                upsert: self.client.prepare(&upsert).await?,
            });
        }
        let Some(statements) = &self.write_statements else {
            return Ok(0);
        };
        let mut transaction = self.client.transaction().await?;
        let attempt = transaction.savepoint("weir_direct_copy").await?;
        match copy_in(&attempt, &statements.direct, rows.clone()).await {
            Ok(inserted) => {
                attempt.commit().await?;
                if let Some(gate) = gate
                    && !gate.pass().await
                {
                    return Ok(0);
                }
                transaction.commit().await?;
                return Ok(inserted);
            }
            Err(error) if error.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                attempt.rollback().await?;
            }
            Err(error) => return Err(error),
        }
        copy_in(&transaction, &statements.staging, rows).await?;
        let inserted = transaction.execute(&statements.upsert, &[]).await?;
        if let Some(gate) = gate
            && !gate.pass().await
        {
            return Ok(0);
        }
        transaction.commit().await?;
        Ok(inserted)
    }

    /// Runs the probe steps in a transaction that is rolled back; an error names the step.
    pub(crate) async fn probe(&mut self) -> Result<(), (&'static str, tokio_postgres::Error)> {
        let transaction = self
            .client
            .transaction()
            .await
            .map_err(|e| ("begin a transaction", e))?;
        for (right, sql) in PROBE {
            transaction
                .batch_execute(sql)
                .await
                .map_err(|e| (right, e))?;
        }
        transaction.rollback().await.map_err(|e| ("roll back", e))
    }

    pub(crate) async fn query(
        &mut self,
        plan: &Plan,
    ) -> Result<Vec<Vec<Cell>>, tokio_postgres::Error> {
        let params: Vec<&(dyn ToSql + Sync)> = plan
            .params
            .iter()
            .map(|param| -> &(dyn ToSql + Sync) {
                match param {
                    Param::Text(value) => value,
                    Param::Int(value) => value,
                    Param::Float(value) => value,
                    Param::Bool(value) => value,
                }
            })
            .collect();
        let rows = self.client.query(&plan.sql, &params).await?;
        rows.iter().map(|row| cells(plan, row)).collect()
    }
}

/// Decodes one row; the plan's select expressions return only text, bool, int8 and float8.
fn cells(plan: &Plan, row: &Row) -> Result<Vec<Cell>, tokio_postgres::Error> {
    let mut cells = Vec::with_capacity(plan.columns.len());
    for (index, column) in plan.columns.iter().enumerate() {
        let cell = match column.kind {
            Kind::Bool => row
                .try_get::<_, Option<bool>>(index)?
                .map(|b| Cell::Int(i64::from(b))),
            Kind::SmallInt | Kind::BigInt => row.try_get::<_, Option<i64>>(index)?.map(Cell::Int),
            Kind::Float | Kind::Density => row.try_get::<_, Option<f64>>(index)?.map(Cell::Float),
            _ => row.try_get::<_, Option<String>>(index)?.map(Cell::Text),
        };
        cells.push(cell.unwrap_or(Cell::Null));
    }
    Ok(cells)
}
