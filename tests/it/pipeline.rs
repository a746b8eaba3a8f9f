//! Pipelines end to end through the real server (issue 5): create a pipeline on the Webhook
//! source with the management API, enable it, send events, and find the rows in the
//! embedded SQLite warehouse; a disabled pipeline imports nothing; a pipeline created later
//! replays the log's history when asked, and `POST /v1/pipelines/{id}/replay` (or `weir
//! pipelines replay`) makes a pipeline read the log again without duplicating rows.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value, json};
use weir_spec::Timestamp;
use weir_warehouse::{EventQuery, SqliteWarehouse, Warehouse};

use crate::support::{Management, Request, TestServer, weir_binary};

/// Every row of `events` in the embedded warehouse, oldest `timestamp` first.
fn warehouse_rows(data_dir: &Path) -> Vec<Map<String, Value>> {
    let path = data_dir.join("warehouse.sqlite");
    if !path.exists() {
        return Vec::new();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let warehouse = SqliteWarehouse::open(&path).expect("warehouse opens");
        let query = EventQuery {
            limit: 1000,
            order: Some(("timestamp".into(), weir_warehouse::Direction::Ascending)),
            ..EventQuery::default()
        };
        warehouse.query_events(query).await.expect("query").rows
    })
}

/// Polls the warehouse until `count` rows satisfy `keep`, or fails after a deadline.
fn wait_for_rows(
    data_dir: &Path,
    count: usize,
    keep: impl Fn(&Map<String, Value>) -> bool,
) -> Vec<Map<String, Value>> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows: Vec<_> = warehouse_rows(data_dir)
            .into_iter()
            .filter(|row| keep(row))
            .collect();
        if rows.len() >= count || Instant::now() > deadline {
            assert_eq!(rows.len(), count, "rows in the warehouse: {rows:?}");
            return rows;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn events_land_in_the_warehouse_with_their_columns() {
    let server = TestServer::start();
    let admin = Management::admin(&server);
    let source = admin.webhook_source();
    let pipeline = admin.add_pipeline(&source, json!({}));
    let ua = "Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:47.0) Gecko/20100101 Firefox/47.0";
    let body = json!({"batch": [
        {"type": "track", "anonymousId": "ff8dee31-fd87-45bb-978b-c7b3e2c52128", "event": "Test Event 1", "messageId": "e2e-1",
         "properties": {"plan": "pro", "seats": 3},
         "context": {"library": {"name": "analytics-go", "version": "3.0.0"}, "userAgent": ua, "os": {"name": "Linux", "version": "1"}, "ip": "255.255.255.0",
                     "network": {"wifi": false}, "consents": {"b": true, "a": false}}},
        {"type": "identify", "userId": "u-1", "messageId": "e2e-2", "traits": {"email": "a@example.com"}},
        {"type": "page", "anonymousId": "a-2", "messageId": "e2e-3", "name": "Home", "category": "Docs"}
    ]});
    let response = server.send(
        &Request::post("/v1/events", &body.to_string())
            .bearer(&server.write_key)
            .header("X-Forwarded-For", "127.0.0.1"),
    );
    assert_eq!(response.status, 200, "{}", response.text());
    let rows = wait_for_rows(&server.data_dir, 3, |_| true);
    let by_id = |id: &str| {
        rows.iter()
            .find(|r| r["message_id"] == id)
            .expect("row")
            .clone()
    };
    let track = by_id("e2e-1");
    // C48's warehouse view.
    assert_eq!(track["context_ip"], "127.0.0.0");
    assert_eq!(track["context_os_name"], "Linux");
    assert_eq!(track["context_os_version"], "1");
    assert_eq!(track["context_browser_name"], "Firefox");
    assert_eq!(track["context_browser_version"], "47.0.0");
    assert_eq!(track["context_library_name"], "analytics-go");
    assert_eq!(track["context_network_wifi"], false);
    assert_eq!(track["context_consents"], json!({"a": false, "b": true}));
    assert_eq!(track["properties"], json!({"plan": "pro", "seats": 3}));
    assert_eq!(track["event"], "Test Event 1");
    assert_eq!(track["type"], "track");
    assert_eq!(track["connection_id"], Value::String(source.clone()));
    assert!(track["kpid"].is_null());
    let identify = by_id("e2e-2");
    assert_eq!(identify["user_id"], "u-1");
    assert_eq!(identify["traits"], json!({"email": "a@example.com"}));
    assert!(identify["properties"].is_null());
    let page = by_id("e2e-3");
    assert_eq!(
        (page["name"].clone(), page["category"].clone()),
        (json!("Home"), json!("Docs"))
    );
    // The pipeline's counters.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = admin.ok("GET", &format!("/v1/pipelines/{pipeline}"), None)["stats"].clone();
        if stats["written"] == 3 && stats["lag"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "stats never settled: {stats}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Re-sending the same events changes nothing (dedup in the log, idempotent rows).
    assert_eq!(
        server
            .send(&Request::post("/v1/events", &body.to_string()).bearer(&server.write_key))
            .status,
        200
    );
    assert_eq!(warehouse_rows(&server.data_dir).len(), 3);
}

#[test]
fn disabled_pipelines_import_nothing_and_replay_brings_history() {
    let server = TestServer::start();
    let admin = Management::admin(&server);
    let (quiet_source, quiet_key) = admin.add_source("Quiet");
    let quiet = admin.add_pipeline(&quiet_source, json!({"enabled": false}));
    let (busy_source, busy_key) = admin.add_source("Busy");
    let send = |key: &str, id: &str| {
        let body = format!(r#"[{{"type":"track","userId":"u","event":"e","messageId":"{id}"}}]"#);
        assert_eq!(
            server
                .send(&Request::post("/v1/events", &body).bearer(key))
                .status,
            200
        );
    };
    // History sent before any pipeline of the busy source exists.
    send(&busy_key, "before");
    send(&quiet_key, "quiet-1");
    let _busy = admin.add_pipeline(&busy_source, json!({"replayFrom": "earliest"}));
    send(&busy_key, "after");
    let rows = wait_for_rows(&server.data_dir, 2, |r| {
        r["connection_id"] == Value::String(busy_source.clone())
    });
    let mut ids: Vec<_> = rows
        .iter()
        .map(|r| r["message_id"].as_str().unwrap_or("").to_string())
        .collect();
    ids.sort();
    assert_eq!(ids, ["after", "before"]);
    // The disabled pipeline consumed nothing.
    assert!(
        warehouse_rows(&server.data_dir)
            .iter()
            .all(|r| r["connection_id"] != Value::String(quiet_source.clone()))
    );
    // Enabled, it imports what was sent while it was disabled (it starts where it was created).
    admin.ok(
        "PUT",
        &format!("/v1/pipelines/{quiet}/status"),
        Some(json!({"enabled": true})),
    );
    wait_for_rows(&server.data_dir, 1, |r| {
        r["connection_id"] == Value::String(quiet_source.clone())
    });
}

#[test]
fn pipeline_filters_are_validated_and_applied() {
    let server = TestServer::start();
    let admin = Management::admin(&server);
    let source = admin.webhook_source();
    let bad = Request::new("POST", "/v1/pipelines")
        .bearer(&admin.key)
        .header("Weir-Workspace", &admin.workspace)
        .header("Content-Type", "application/json")
        .body(json!({"connection": source, "target": "Event", "name": "p", "filter": {"logical": "and", "conditions": []}}).to_string().as_bytes());
    let response = server.send(&bad);
    assert_eq!(response.status, 400, "{}", response.text());
    assert!(
        response.text().contains("filter is not valid: "),
        "{}",
        response.text()
    );
    let filter = json!({"logical": "and", "conditions": [{"property": "properties.plan", "operator": "is", "values": ["Enterprise"]}]});
    admin.add_pipeline(&source, json!({"filter": filter}));
    let body = r#"[{"type":"track","userId":"u","event":"e","messageId":"keep","properties":{"plan":"Enterprise"}},{"type":"track","userId":"u","event":"e","messageId":"drop","properties":{"plan":"Free"}}]"#;
    assert_eq!(server.post_events("/v1/events", body).status, 200);
    let rows = wait_for_rows(&server.data_dir, 1, |_| true);
    assert_eq!(rows[0]["message_id"], "keep");
}

/// Polls the pipeline's stats until `done` holds, or fails after a deadline; the last stats.
fn wait_for_stats(admin: &Management, pipeline: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stats = admin.stats(pipeline);
        if done(&stats) {
            return stats;
        }
        assert!(Instant::now() < deadline, "stats never settled: {stats}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn replay_reads_the_log_again_without_duplicating_rows() {
    let server = TestServer::start();
    let admin = Management::admin(&server);
    let source = admin.webhook_source();
    let pipeline = admin.add_pipeline(&source, json!({}));
    let send = |ids: &[&str]| {
        let events: Vec<Value> = ids
            .iter()
            .map(|id| json!({"type": "track", "userId": "u", "event": "e", "messageId": id}))
            .collect();
        let response = server.post_events("/v1/events", &json!({ "batch": events }).to_string());
        assert_eq!(response.status, 200, "{}", response.text());
    };
    let now = || {
        Timestamp::from_system_time(SystemTime::now())
            .expect("a valid time")
            .to_string()
    };
    send(&["early-1", "early-2", "early-3"]);
    // The server stamps `receivedAt` with the same clock: the early events were received before
    // `since`, the late ones after it (the pauses only keep the milliseconds apart).
    std::thread::sleep(Duration::from_millis(20));
    let since = now();
    std::thread::sleep(Duration::from_millis(20));
    send(&["late-1", "late-2"]);
    // Every row, in message id order.
    let sorted_rows = || {
        let mut rows = warehouse_rows(&server.data_dir);
        rows.sort_by_key(|row| row["message_id"].to_string());
        rows
    };
    wait_for_rows(&server.data_dir, 5, |_| true);
    let rows = sorted_rows();
    let stats = wait_for_stats(&admin, &pipeline, |s| s["written"] == 5 && s["lag"] == 0);
    assert_eq!(stats["read"], 5);

    // From the oldest record: every event is read and written again; the rows stay as they were.
    let replayed = admin.ok(
        "POST",
        &format!("/v1/pipelines/{pipeline}/replay"),
        Some(json!({"from": "earliest"})),
    );
    assert_eq!(replayed["id"], Value::String(pipeline.clone()));
    assert!(replayed["stats"]["lag"].is_u64(), "{replayed}");
    // The reset cursor made the lag grow again, so a lag of 0 means the replay is done.
    let stats = wait_for_stats(&admin, &pipeline, |s| s["lag"] == 0 && s["written"] == 10);
    assert_eq!(stats["read"], 10);
    assert_eq!(sorted_rows(), rows);

    // From a time, with the CLI: only the events received at or after it are read again.
    let mut cli = Command::new(weir_binary());
    cli.args(["pipelines", "replay", &pipeline, "--from", &since, "--json"])
        .arg("--data-dir")
        .arg(&server.data_dir);
    for variable in [
        "WEIR_DATA_DIR",
        "WEIR_SERVER",
        "WEIR_API_KEY",
        "WEIR_WORKSPACE",
    ] {
        cli.env_remove(variable);
    }
    let output = cli.output().expect("weir runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(printed["id"], Value::String(pipeline.clone()));
    let stats = wait_for_stats(&admin, &pipeline, |s| s["lag"] == 0 && s["written"] == 12);
    assert_eq!(stats["read"], 12);
    assert_eq!(sorted_rows(), rows);

    // Errors: the 404 of an unknown pipeline, and a 400 naming `from`.
    let post = |path: &str, body: Value| {
        server.send(
            &Request::post(path, &body.to_string())
                .bearer(&admin.key)
                .header("Weir-Workspace", &admin.workspace),
        )
    };
    post(
        "/v1/pipelines/111111111111/replay",
        json!({"from": "earliest"}),
    )
    .assert_error(404, "NotFound", "pipeline 111111111111 does not exist");
    post(
        &format!("/v1/pipelines/{pipeline}/replay"),
        json!({"from": "yesterday"}),
    )
    .assert_error(
        400,
        "BadRequest",
        "from must be \"earliest\" or an RFC 3339 time, not \"yesterday\"",
    );
}
