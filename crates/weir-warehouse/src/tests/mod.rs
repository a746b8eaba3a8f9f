//! Tests of the crate through its public API. Most run on both backends: SQLite always,
//! PostgreSQL when `WEIR_TEST_POSTGRES_URL` is set (each test in its own schema, dropped at the
//! end); with `WEIR_REQUIRE_SERVICES=1` a missing URL fails instead of skipping.

mod events;
mod import_rate;
mod mapping;
mod postgres;
mod queries;
mod spec_columns;
mod sqlite;
mod writes;

use tempfile::TempDir;

use crate::{EventQuery, PostgresWarehouse, SqliteWarehouse, Warehouse};

/// A SQLite warehouse in a temporary directory.
pub(super) struct SqliteFixture {
    pub(super) warehouse: SqliteWarehouse,
    pub(super) dir: TempDir,
}

impl SqliteFixture {
    pub(super) fn new() -> SqliteFixture {
        let dir = TempDir::new().unwrap();
        let warehouse = SqliteWarehouse::open(&dir.path().join("warehouse.sqlite")).unwrap();
        SqliteFixture { warehouse, dir }
    }
}

/// The PostgreSQL server's URL, or `None` (after saying so) when tests should skip.
pub(super) fn postgres_url() -> Option<String> {
    match std::env::var("WEIR_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("WEIR_REQUIRE_SERVICES").as_deref() == Ok("1") => {
            panic!("WEIR_TEST_POSTGRES_URL must be set when WEIR_REQUIRE_SERVICES=1")
        }
        _ => {
            println!("skipped: WEIR_TEST_POSTGRES_URL not set");
            None
        }
    }
}

/// A unique schema name on the test server; the schema is dropped when this is dropped.
pub(super) struct PostgresSchema {
    pub(super) server: String,
    pub(super) name: String,
}

impl PostgresSchema {
    pub(super) fn new() -> Option<PostgresSchema> {
        let server = postgres_url()?;
        let name = format!("weir_test_{}", uuid::Uuid::new_v4().simple());
        Some(PostgresSchema { server, name })
    }

    /// The server URL with `extra` query parameters and `schema=<name>`.
    pub(super) fn url(&self, extra: &str) -> String {
        let separator = if self.server.contains('?') { '&' } else { '?' };
        format!("{}{separator}{extra}schema={}", self.server, self.name)
    }

    /// A plain client of the test server, for setup and inspection.
    pub(super) async fn admin(&self) -> tokio_postgres::Client {
        admin_client(&self.server).await
    }
}

pub(super) async fn admin_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

impl Drop for PostgresSchema {
    fn drop(&mut self) {
        let server = self.server.clone();
        let drop = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name);
        // Drop runs inside the test's runtime, so the cleanup gets a thread and runtime of its
        // own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let client = admin_client(&server).await;
                let _ = client.batch_execute(&drop).await;
            });
        });
        let _ = cleanup.join();
    }
}

/// A PostgreSQL warehouse in a fresh schema. Fields drop in order: connections first.
pub(super) struct PostgresFixture {
    pub(super) warehouse: PostgresWarehouse,
    pub(super) schema: PostgresSchema,
}

impl PostgresFixture {
    pub(super) async fn new() -> Option<PostgresFixture> {
        let schema = PostgresSchema::new()?;
        let warehouse = PostgresWarehouse::connect(&schema.url("")).await.unwrap();
        Some(PostgresFixture { warehouse, schema })
    }
}

/// Every stored row, oldest first (at most 1000).
pub(super) async fn all_rows(
    warehouse: &dyn Warehouse,
) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let query = EventQuery {
        order: Some(("timestamp".into(), crate::Direction::Ascending)),
        limit: 1000,
        ..EventQuery::default()
    };
    warehouse.query_events(query).await.unwrap().rows
}

/// Declares `#[tokio::test]`s running each listed `async fn(&dyn Warehouse)` of the current
/// module on SQLite and on PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let fixture = crate::tests::SqliteFixture::new();
                    super::$name(&fixture.warehouse).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(fixture) = crate::tests::PostgresFixture::new().await else {
                        return;
                    };
                    super::$name(&fixture.warehouse).await;
                }
            )*
        }
    };
}
pub(super) use on_both_backends;
