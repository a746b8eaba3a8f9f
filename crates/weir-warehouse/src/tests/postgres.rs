//! PostgreSQL-only behaviour: the stored schema and types, concurrent startup, connection and
//! permission errors, and reconnecting after a lost connection.

use std::time::{Duration, Instant};

use serde_json::json;
use weir_spec::EventType;

use super::events::{full_event, track};
use super::spec_columns::SPEC_COLUMNS;
use super::{PostgresFixture, PostgresSchema, all_rows};
use crate::{PostgresWarehouse, Warehouse, WarehouseError};

const UNREACHABLE: &str = "postgres://postgres@127.0.0.1:1/test";

#[tokio::test]
async fn an_unreachable_server_is_unavailable_with_a_clear_message() {
    let started = Instant::now();
    let error = PostgresWarehouse::connect(UNREACHABLE).await.unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with("cannot connect to PostgreSQL at 127.0.0.1:1: "),
        "{message}"
    );
    assert!(message.to_lowercase().contains("refused"), "{message}");
    // A lazily connected warehouse fails each call quickly the same way.
    let warehouse = PostgresWarehouse::new(UNREACHABLE).unwrap();
    assert_eq!(warehouse.check().await.unwrap_err().to_string(), message);
    let event = track("m1", "{}", "2024-10-31T14:00:00Z");
    assert!(
        warehouse
            .write_events(&[event])
            .await
            .unwrap_err()
            .is_retryable()
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn invalid_urls_are_rejected() {
    for url in [
        "postgres://postgres@127.0.0.1/test?schema=Bad-Name",
        "postgres://postgres@127.0.0.1/test?schema=",
        "postgres://postgres@127.0.0.1/test?no_such_option=1",
        "postgres://postgres@127.0.0.1:notaport/test",
        "postgres://postgres@127.0.0.1/test?sslmode=sometimes",
        "postgres://postgres@127.0.0.1/test?sslmode=verify-ca&sslrootcert=/no/such/root.pem",
    ] {
        let error = PostgresWarehouse::new(url).unwrap_err();
        assert!(
            matches!(error, WarehouseError::Rejected { .. }),
            "{url}: {error:?}"
        );
        assert!(
            error.to_string().starts_with("invalid PostgreSQL URL"),
            "{error}"
        );
    }
    assert!(
        PostgresWarehouse::new("postgres://u:secret@db.example:6543/w?schema=s1&connect_timeout=2")
            .is_ok()
    );
    assert!(
        PostgresWarehouse::new("postgres://db.example/w?sslmode=verify-full&sslrootcert=system")
            .is_ok()
    );
}

#[tokio::test]
async fn the_table_has_the_spec_columns_types_and_indexes() {
    let Some(fixture) = PostgresFixture::new().await else {
        return;
    };
    let admin = fixture.schema.admin().await;
    admin
        .batch_execute(&format!("SET search_path TO {}", fixture.schema.name))
        .await
        .unwrap();
    let rows = admin
        .query(
            "SELECT attname::text, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute \
             WHERE attrelid = 'events'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            &[],
        )
        .await
        .unwrap();
    let columns: Vec<(String, String, bool)> = rows
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    let expected: Vec<(String, String, bool)> = SPEC_COLUMNS
        .iter()
        .map(|(name, pg_type, _, not_null)| (name.to_string(), pg_type.to_string(), *not_null))
        .collect();
    assert_eq!(columns, expected);
    let indexes: Vec<String> = admin
        .query(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname",
            &[&fixture.schema.name],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| {
            row.get::<_, String>(0)
                .replace(&format!("{}.", fixture.schema.name), "")
        })
        .collect();
    for index in [
        "CREATE INDEX events_anonymous_id_idx ON events USING btree (anonymous_id)",
        "CREATE INDEX events_kpid_idx ON events USING btree (kpid) WHERE (kpid IS NOT NULL)",
        "CREATE UNIQUE INDEX events_pkey ON events USING btree (connection_id, message_id)",
        "CREATE INDEX events_timestamp_idx ON events USING btree (\"timestamp\")",
        "CREATE INDEX events_user_id_idx ON events USING btree (user_id)",
    ] {
        assert!(indexes.iter().any(|i| i == index), "{index} in {indexes:?}");
    }
    let (event, _) = full_event(EventType::Screen);
    fixture.warehouse.write_events(&[event]).await.unwrap();
    let row = admin
        .query_one(
            "SELECT context_screen_density::text, context_ip::text, received_at::text, \
             context_consents::text, traits::text FROM events",
            &[],
        )
        .await
        .unwrap();
    let values: Vec<String> = (0..5).map(|index| row.get(index)).collect();
    assert_eq!(
        values,
        [
            "1.36",
            "203.0.113.7/32",
            "2024-10-31 14:39:12.647",
            r#"{"ads": false, "analytics": true}"#,
            "{}"
        ]
    );
}

#[tokio::test]
async fn nodes_starting_together_create_the_tables_once() {
    let Some(schema) = PostgresSchema::new() else {
        return;
    };
    let url = schema.url("");
    let connects = (0..4).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { PostgresWarehouse::connect(&url).await })
    });
    let mut warehouses = Vec::new();
    for connect in connects {
        warehouses.push(connect.await.unwrap().unwrap());
    }
    let event = track("m1", "{}", "2024-10-31T14:00:00Z");
    assert_eq!(
        warehouses[0]
            .write_events(std::slice::from_ref(&event))
            .await
            .unwrap(),
        1
    );
    assert_eq!(warehouses[3].write_events(&[event]).await.unwrap(), 0);
    assert_eq!(all_rows(&warehouses[2]).await.len(), 1);
    let admin = schema.admin().await;
    let versions = admin
        .query_one(
            &format!("SELECT count(*) FROM {}.weir_migrations", schema.name),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(versions.get::<_, i64>(0), 1);
}

#[tokio::test]
async fn missing_rights_are_named() {
    let Some(schema) = PostgresSchema::new() else {
        return;
    };
    let admin = schema.admin().await;
    let role = schema.name.replace("weir_test_", "weir_role_");
    admin
        .batch_execute(&format!(
            "CREATE SCHEMA {s}; CREATE ROLE {role} LOGIN; GRANT USAGE ON SCHEMA {s} TO {role};",
            s = schema.name
        ))
        .await
        .unwrap();
    let as_role = |url: &str| url.replacen("://postgres@", &format!("://{role}@"), 1);
    // No CREATE on the schema: the tables cannot be created.
    let error = PostgresWarehouse::connect(&as_role(&schema.url("")))
        .await
        .unwrap_err();
    assert!(!error.is_retryable(), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "permission denied to create the warehouse tables in schema {}",
            schema.name
        )),
        "{message}"
    );
    // Tables made by someone else, readable but not writable: check() names the right.
    let owner = PostgresWarehouse::connect(&schema.url("")).await.unwrap();
    admin
        .batch_execute(&format!(
            "GRANT CREATE ON SCHEMA {s} TO {role}; GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {role};",
            s = schema.name
        ))
        .await
        .unwrap();
    let reader = PostgresWarehouse::connect(&as_role(&schema.url("")))
        .await
        .unwrap();
    let error = reader.check().await.unwrap_err();
    assert!(!error.is_retryable(), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("permission denied to insert into the events table on PostgreSQL at "),
        "{error}"
    );
    assert!(owner.check().await.is_ok());
    drop((owner, reader));
    admin
        .batch_execute(&format!(
            "DROP SCHEMA {s} CASCADE; DROP OWNED BY {role}; DROP ROLE {role};",
            s = schema.name
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_lost_connection_fails_fast_and_is_reopened() {
    let Some(schema) = PostgresSchema::new() else {
        return;
    };
    let application = schema.name.replace("weir_test_", "weir_app_");
    let warehouse =
        PostgresWarehouse::connect(&schema.url(&format!("application_name={application}&")))
            .await
            .unwrap();
    warehouse
        .write_events(&[track("m1", "{}", "2024-10-31T14:00:00Z")])
        .await
        .unwrap();
    let admin = schema.admin().await;
    let terminated = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&application],
        )
        .await
        .unwrap();
    assert!(!terminated.is_empty());
    let event = track("m2", "{}", "2024-10-31T14:00:01Z");
    let mut attempts = 0;
    loop {
        attempts += 1;
        match warehouse.write_events(std::slice::from_ref(&event)).await {
            Ok(inserted) => {
                assert_eq!(inserted, 1);
                break;
            }
            Err(error) => {
                assert!(error.is_retryable(), "{error:?}");
                assert!(attempts < 3, "still failing: {error}");
            }
        }
    }
    let rows = all_rows(&warehouse).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["message_id"], json!("m2"));
}

/// Whether the connections named `application` use TLS, per `pg_stat_ssl` (one row each).
async fn tls_in_use(admin: &tokio_postgres::Client, application: &str) -> Vec<bool> {
    admin
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.application_name = $1",
            &[&application],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// `sslmode` as libpq has it: `disable` talks plain, `prefer` (the default) and `require`
/// encrypt without checking the certificate, `verify-ca` checks it against `sslrootcert`, and
/// `verify-full` also checks that it names the host; a certificate that fails is a clear error.
#[tokio::test]
async fn tls_follows_libpq_sslmode() {
    let Some(schema) = PostgresSchema::new() else {
        return;
    };
    let admin = schema.admin().await;
    let ssl: String = admin.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    if ssl != "on" {
        println!("skipped: the test server has ssl = {ssl}");
        return;
    }
    let application = format!("weir_tls_{}", uuid::Uuid::new_v4().simple());
    let url = |params: &str| schema.url(&format!("application_name={application}&{params}"));
    for (params, encrypted) in [
        ("sslmode=disable&", false),
        ("", true),
        ("sslmode=prefer&", true),
        ("sslmode=require&", true),
    ] {
        let warehouse = PostgresWarehouse::connect(&url(params)).await.unwrap();
        warehouse.check().await.unwrap();
        let sessions = tls_in_use(&admin, &application).await;
        assert!(!sessions.is_empty(), "{params}: no session");
        assert!(
            sessions.iter().all(|&ssl| ssl == encrypted),
            "{params}: {sessions:?}"
        );
        drop(warehouse);
        // The server notices closed sessions asynchronously.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !tls_in_use(&admin, &application).await.is_empty() {
            assert!(Instant::now() < deadline, "sessions of {params} stay open");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // The test server's certificate (Debian's snakeoil) is self-signed for the machine's host
    // name, never for an IP address: `verify-full` to 127.0.0.1 fails whatever the roots.
    let by_address = schema.server.contains("@127.0.0.1");
    if by_address {
        let error = PostgresWarehouse::connect(&url("sslmode=verify-full&"))
            .await
            .unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("cannot connect to PostgreSQL at 127.0.0.1"),
            "{message}"
        );
        assert!(message.contains("certificate"), "{message}");
    }

    let cert_file: String = admin
        .query_one("SHOW ssl_cert_file", &[])
        .await
        .unwrap()
        .get(0);
    if std::fs::read(&cert_file).is_err() {
        println!("skipped the sslrootcert cases: cannot read the server's {cert_file}");
        return;
    }
    let root = format!("sslrootcert={cert_file}&");
    for mode in ["verify-ca", "require"] {
        let warehouse = PostgresWarehouse::connect(&url(&format!("sslmode={mode}&{root}")))
            .await
            .unwrap();
        warehouse.check().await.unwrap();
        assert!(tls_in_use(&admin, &application).await.contains(&true));
    }
    // A self-signed certificate is not trusted by roots that do not hold it.
    let other_roots = "/etc/ssl/certs/ca-certificates.crt";
    if std::fs::read(other_roots).is_ok() {
        let untrusted = format!("sslmode=verify-ca&sslrootcert={other_roots}&");
        let error = PostgresWarehouse::connect(&url(&untrusted))
            .await
            .unwrap_err();
        let message = error.to_string();
        assert!(
            message.ends_with(
                "invalid peer certificate: UnknownIssuer (the certificate is not signed by a \
                 trusted root: give its CA's certificate with sslrootcert=<PEM file>, or use \
                 sslmode=require without sslrootcert to encrypt without checking it)"
            ),
            "{message}"
        );
    }
    // Trusted, but not issued for 127.0.0.1.
    if by_address {
        let error = PostgresWarehouse::connect(&url(&format!("sslmode=verify-full&{root}")))
            .await
            .unwrap_err();
        let message = error.to_string();
        assert!(
            message.ends_with(
                "(the certificate is not issued for the host in the URL: connect by a name it \
                 is issued for, or use sslmode=verify-ca)"
            ),
            "{message}"
        );
    }
}
