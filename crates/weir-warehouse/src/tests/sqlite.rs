//! SQLite-only behaviour: the stored schema and representations (read back with a plain
//! connection), migrations on reopen, and busy/invalid files.

use rusqlite::Connection;
use serde_json::json;
use weir_spec::EventType;

use super::SqliteFixture;
use super::events::{full_event, track};
use super::spec_columns::{BROWSERS, SPEC_COLUMNS, SYSTEMS, TYPES};
use crate::{SqliteWarehouse, Warehouse, WarehouseError};

fn connect(fixture: &SqliteFixture) -> Connection {
    Connection::open(fixture.dir.path().join("warehouse.sqlite")).unwrap()
}

#[test]
fn the_table_has_the_spec_columns_constraints_and_indexes() {
    let fixture = SqliteFixture::new();
    let connection = connect(&fixture);
    let mut statement = connection.prepare("PRAGMA table_info(events)").unwrap();
    let columns: Vec<(String, String, bool, i64)> = statement
        .query_map([], |row| {
            Ok((row.get(1)?, row.get(2)?, row.get(3)?, row.get(5)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let ddl: String = connection
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'events'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(columns.len(), SPEC_COLUMNS.len());
    for ((name, sql_type, not_null, key), (spec_name, _, spec_type, spec_not_null)) in
        columns.iter().zip(SPEC_COLUMNS)
    {
        assert_eq!((name.as_str(), *not_null), (spec_name, spec_not_null));
        let values = match spec_type {
            "TEXT CHECK BROWSERS" => Some(BROWSERS),
            "TEXT CHECK SYSTEMS" => Some(SYSTEMS),
            "TEXT CHECK TYPES" => Some(TYPES),
            _ => None,
        };
        match values {
            Some(values) => {
                assert_eq!(sql_type, "TEXT");
                assert!(
                    ddl.contains(&format!("CHECK (\"{name}\" IN ({values}))")),
                    "{name}"
                );
            }
            None => assert_eq!(sql_type, spec_type, "{name}"),
        }
        let expected_key = match name.as_str() {
            "connection_id" => 1,
            "message_id" => 2,
            _ => 0,
        };
        assert_eq!(*key, expected_key, "{name}");
    }
    let indexed: Vec<String> = connection
        .prepare("SELECT name FROM pragma_index_list('events') ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for index in [
        "events_anonymous_id_idx",
        "events_kpid_idx",
        "events_timestamp_idx",
        "events_user_id_idx",
    ] {
        assert!(
            indexed.iter().any(|name| name == index),
            "{index} in {indexed:?}"
        );
    }
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, 1);
    let mode: String = connection
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let page_size: i64 = connection
        .query_row("PRAGMA page_size", [], |row| row.get(0))
        .unwrap();
    assert_eq!(page_size, 16384);
}

#[tokio::test]
async fn stored_representations() {
    let fixture = SqliteFixture::new();
    let (event, _) = full_event(EventType::Track);
    fixture.warehouse.write_events(&[event]).await.unwrap();
    let connection = connect(&fixture);
    let row = connection
        .query_row(
            "SELECT typeof(context_network_wifi), context_network_wifi, context_network_cellular, \
             received_at, sent_at, timestamp, context_consents, properties, \
             typeof(context_screen_density), context_screen_density, kpid, typeof(context_session_id) \
             FROM events",
            [],
            |row| {
                Ok(json!([
                    row.get::<_, String>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?,
                    row.get::<_, String>(3)?, row.get::<_, String>(4)?, row.get::<_, String>(5)?,
                    row.get::<_, String>(6)?, row.get::<_, String>(7)?, row.get::<_, String>(8)?,
                    row.get::<_, f64>(9)?, row.get::<_, Option<String>>(10)?, row.get::<_, String>(11)?,
                ]))
            },
        )
        .unwrap();
    assert_eq!(
        row,
        json!([
            "integer",
            0,
            1,
            "2024-10-31T14:39:12.647Z",
            "2024-10-31T14:39:12.000Z",
            "2024-10-31T14:39:06.050Z",
            r#"{"ads":false,"analytics":true}"#,
            r#"{"items":[{"sku":"a\"b\\c"}],"note":"é\n","total":12.5}"#,
            "real",
            1.36,
            null,
            "integer",
        ])
    );
}

#[tokio::test]
async fn a_statement_failing_late_in_a_batch_commits_nothing() {
    // The insert statements run `OR FAIL`, which keeps the earlier rows of the failing
    // statement; the write must still roll all of them back.
    let fixture = SqliteFixture::new();
    connect(&fixture)
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.message_id = 'm-1130' \
             BEGIN SELECT RAISE(FAIL, 'refused'); END",
        )
        .unwrap();
    let events: Vec<_> = (0..1200)
        .map(|index| track(&format!("m-{index}"), "{}", "2024-10-31T14:00:00.000Z"))
        .collect();
    let error = fixture.warehouse.write_events(&events).await.unwrap_err();
    assert!(
        matches!(&error, WarehouseError::Rejected { message } if message.contains("refused")),
        "{error:?}"
    );
    let count: i64 = connect(&fixture)
        .query_row("SELECT count(*) FROM events", [], |row| row.get(0))
        .unwrap();
    assert_eq!(count, 0);
    connect(&fixture)
        .execute_batch("DROP TRIGGER refuse")
        .unwrap();
    assert_eq!(fixture.warehouse.write_events(&events).await.unwrap(), 1200);
}

#[tokio::test]
async fn reopening_keeps_rows_and_a_newer_schema_is_refused() {
    let fixture = SqliteFixture::new();
    let path = fixture.dir.path().join("warehouse.sqlite");
    fixture
        .warehouse
        .write_events(&[track("m1", "{}", "2024-10-31T14:00:00Z")])
        .await
        .unwrap();
    let reopened = SqliteWarehouse::open(&path).unwrap();
    assert_eq!(super::all_rows(&reopened).await.len(), 1);
    drop(reopened);
    connect(&fixture)
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let error = SqliteWarehouse::open(&path).unwrap_err();
    assert!(
        matches!(error, WarehouseError::Rejected { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("schema version 99"), "{error}");
}

#[tokio::test]
async fn a_locked_database_is_unavailable() {
    let fixture = SqliteFixture::new();
    let blocker = connect(&fixture);
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let event = track("m1", "{}", "2024-10-31T14:00:00Z");
    let error = fixture
        .warehouse
        .write_events(std::slice::from_ref(&event))
        .await
        .unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
    assert!(error.to_string().contains("locked"), "{error}");
    blocker.execute_batch("ROLLBACK").unwrap();
    assert_eq!(fixture.warehouse.write_events(&[event]).await.unwrap(), 1);
}

#[test]
fn an_unopenable_path_is_rejected() {
    let dir = tempfile::TempDir::new().unwrap();
    let error = SqliteWarehouse::open(&dir.path().join("missing/warehouse.sqlite")).unwrap_err();
    assert!(!error.is_retryable(), "{error:?}");
    assert!(
        error.to_string().contains("missing/warehouse.sqlite"),
        "{error}"
    );
}
