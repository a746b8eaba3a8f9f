//! The ingest server through real HTTP against the real binary (`ingest-api.md`): the seed's
//! curl, the response catalogue, authentication modes, gzip and limits, CORS, concurrency and
//! dedup, durability across SIGKILL, and graceful shutdown.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use weir_log::LogRecord;

use crate::support::{Request, TestServer, log_records};

fn payload(record: &LogRecord) -> serde_json::Value {
    serde_json::from_slice(&record.payload).expect("payload is JSON")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

fn basic(key: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

const SEED_BODY: &str = "[\n{\n\"type\": \"track\",\n\"anonymousId\": \"2ab4facf-ca73-4361-b1b2-4472ce053122\",\n\"event\": \"page\",\n\"properties\": {\n\"answer\": 42\n}\n}\n]\n";

#[test]
fn the_seed_curl_is_accepted_and_logged_normalised() {
    let mut server = TestServer::start();
    let response = server.send(
        &Request::post("/v1/events", SEED_BODY)
            .header("User-Agent", "curl/8.5.0")
            .header("Accept", "*/*")
            .bearer(&server.write_key.clone()),
    );
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("text/plain"));
    assert_eq!(response.header("content-length"), Some("0"));
    assert!(
        response
            .header("request-id")
            .is_some_and(|id| id.len() >= 16)
    );
    assert!(server.stop(), "clean exit");
    let records = log_records(&server.data_dir);
    assert_eq!(records.len(), 1);
    let event = payload(&records[0]);
    assert_eq!(event["type"], "track");
    assert_eq!(event["event"], "page");
    assert_eq!(event["anonymousId"], "2ab4facf-ca73-4361-b1b2-4472ce053122");
    assert_eq!(event["properties"], serde_json::json!({"answer": 42}));
    assert_eq!(event["traits"], serde_json::json!({}));
    assert!(
        event.get("context").is_none(),
        "webhook sources do not fall back to the request IP"
    );
    assert!(
        event["messageId"]
            .as_str()
            .is_some_and(|id| id.starts_with("weir-"))
    );
    assert_eq!(
        event["connectionId"],
        serde_json::Value::String(records[0].connection_id.clone())
    );
    assert_eq!(event["receivedAt"], event["timestamp"]);
}

#[test]
fn request_level_errors_match_the_catalogue() {
    let server = TestServer::start();
    let key = server.write_key.clone();
    let event = r#"[{"type":"track","userId":"u","event":"e"}]"#;
    let post = |path: &str, body: &str| Request::post(path, body).bearer(&key);
    let cases: Vec<(Request, u16, &str, &str)> = vec![
        (
            Request::new("GET", "/v1/batch"),
            405,
            "MethodNotAllowed",
            "Method Not Allowed",
        ),
        (
            Request::new("PUT", "/v1/events/track"),
            405,
            "MethodNotAllowed",
            "Method Not Allowed",
        ),
        (post("/v1/events/foo", event), 404, "NotFound", ""),
        (
            post("/v1/events", event)
                .header("Content-Length", "600000")
                .without_framing(),
            413,
            "RequestEntityTooLarge",
            "request's content length must be in the range [1,512000]",
        ),
        (
            post("/v1/events", ""),
            400,
            "BadRequest",
            "request's body is missing",
        ),
        (
            post("/v1/events", event).without_framing(),
            400,
            "BadRequest",
            "request's body is missing",
        ),
        (
            Request::new("POST", "/v1/events")
                .bearer(&key)
                .body(event.as_bytes()),
            400,
            "BadRequest",
            "request's content type must be 'application/json'",
        ),
        (
            Request::new("POST", "/v1/events")
                .header("Content-Type", "application/json; charset=latin1")
                .bearer(&key)
                .body(event.as_bytes()),
            400,
            "BadRequest",
            "request's content type charset must be 'utf-8'",
        ),
        (
            post("/v1/events", event).header("Content-Encoding", "br"),
            415,
            "UnsupportedMediaType",
            "Unsupported Media Type",
        ),
        (
            post("/v1/events", "not gzip").header("Content-Encoding", "gzip"),
            415,
            "UnsupportedMediaType",
            "Unsupported Media Type",
        ),
        (
            Request::post("/v1/events", event),
            401,
            "Unauthorized",
            "Authorization header is missing",
        ),
        (
            Request::post("/v1/events", event).bearer("nope"),
            401,
            "Unauthorized",
            "event write key in the Authorization header is not valid",
        ),
        (
            Request::post("/v1/events", event).header("Authorization", "Token x"),
            400,
            "BadRequest",
            "Authorization header is invalid; use \"Authorization: Bearer <KEY>\" with an API key or an event write key",
        ),
        (
            post("/v1/events", event).bearer(&key),
            400,
            "BadRequest",
            "request contains multiple Authorization headers",
        ),
        (
            Request::post("/v1/events", r#"{"batch":[{}],"writeKey":"nope"}"#),
            401,
            "Unauthorized",
            "the event write key in the request body does not exist",
        ),
        (
            post(
                "/v1/events",
                r#"{"batch":[{}],"connectionId":"AAAAAAAAAAAA"}"#,
            ),
            400,
            "BadRequest",
            "property 'connectionId' cannot be provided when using an event write key for authentication",
        ),
        (
            post("/v1/events", event).header("X-Forwarded-For", "fe80::1%eth0"),
            400,
            "BadRequest",
            "address specified in the 'X-Forwarded-For' header is not a valid IP address",
        ),
        (
            post("/v1/events", r#"{"batch":[]"}"#),
            400,
            "BadRequest",
            "error parsing the request body as JSON: invalid character '\"' after object value (expecting ',' or '}')",
        ),
        (
            post("/v1/events", "\"x\""),
            400,
            "BadRequest",
            "request's content is not a valid JSON object or array",
        ),
        (
            post("/v1/events", "").chunked(),
            400,
            "BadRequest",
            "request's body is empty",
        ),
        (
            post("/v1/events", "[]"),
            400,
            "BadRequest",
            "batch must contain at least one event",
        ),
        (
            Request::post("/v1/events", event).bearer("api_short"),
            400,
            "BadRequest",
            "API key in the Authorization header is malformed; check that it was copied correctly",
        ),
        (
            Request::post("/v1/events", event).bearer(&format!(
                "api_{}{}",
                "A".repeat(43),
                "AcatMh"
            )),
            401,
            "Unauthorized",
            "API key in the Authorization header is invalid",
        ),
        (
            Request::post("/v1/track", "{}"),
            401,
            "Unauthorized",
            "Authorization header is missing",
        ),
        (
            Request::post("/v1/track", r#"{"writeKey":""}"#),
            400,
            "BadRequest",
            "property 'writeKey' cannot be empty",
        ),
    ];
    for (request, status, code, message) in cases {
        let response = server.send(&request);
        response.assert_error(status, code, message);
        assert!(
            response.header("access-control-allow-origin").is_some(),
            "CORS headers on errors too"
        );
        if status == 405 {
            assert_eq!(response.header("allow"), Some("POST, OPTIONS"));
        }
    }
}

#[test]
fn api_key_mode_d() {
    let mut server = TestServer::start();
    let admin = server
        .admin_key
        .clone()
        .expect("first run prints the admin key");
    let connection = server
        .stdout
        .iter()
        .find_map(|l| l.split("(connection ").nth(1))
        .and_then(|r| r.split(')').next())
        .expect("connection id")
        .to_string();
    let event = r#"{"type":"track","userId":"u","event":"e"}"#;
    let with_connection = format!(r#"{{"batch":[{event}],"connectionId":"{connection}"}}"#);
    server
        .send(&Request::post("/v1/events", &format!("[{event}]")).bearer(&admin))
        .assert_error(
            400,
            "BadRequest",
            "parameter 'connectionId' is required when using API key authentication",
        );
    server
        .send(
            &Request::post(
                "/v1/events",
                r#"{"batch":[{}],"connectionId":"AAAAAAAAAAAA"}"#,
            )
            .bearer(&admin),
        )
        .assert_error(
            422,
            "ConnectionNotExist",
            "connection AAAAAAAAAAAA does not exist",
        );
    server
        .send(
            &Request::post("/v1/events", &with_connection)
                .bearer(&admin)
                .header("Weir-Workspace", "bad"),
        )
        .assert_error(
            400,
            "BadRequest",
            "\"Weir-Workspace\" header is invalid; use \"Weir-Workspace: <WORKSPACE_ID>\"",
        );
    server
        .send(
            &Request::post("/v1/events", &with_connection)
                .bearer(&admin)
                .header("Weir-Workspace", "AAAAAAAAAAAA"),
        )
        .assert_error(404, "NotFound", "workspace AAAAAAAAAAAA does not exist");
    server
        .send(
            &Request::post("/v1/events", &with_connection)
                .bearer(&admin)
                .header("Weir-Workspace", "AAAAAAAAAAAA")
                .header("Krenalis-Workspace", "AAAAAAAAAAAA"),
        )
        .assert_error(
            400,
            "BadRequest",
            "request contains multiple \"Weir-Workspace\" headers",
        );
    server
        .send(&Request::post("/v1/track", event).bearer(&admin))
        .assert_error(
            400,
            "BadRequest",
            "parameter 'connectionId' is required when using API key authentication",
        );
    let response = server.send(&Request::post("/v1/events", &with_connection).bearer(&admin));
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(server.stop());
    assert_eq!(log_records(&server.data_dir).len(), 1);
}

#[test]
fn every_write_key_mode_and_path_family_is_accepted() {
    let mut server = TestServer::start();
    let key = server.write_key.clone();
    let track =
        |id: &str| format!(r#"{{"type":"track","userId":"u","event":"e","messageId":"{id}"}}"#);
    let requests = vec![
        Request::post("/v1/events", &format!("[{}]", track("bearer"))).bearer(&key),
        Request::post("/v1/batch", &format!(r#"{{"batch":[{}]}}"#, track("basic")))
            .header("Authorization", &basic(&key)),
        Request::post(
            "/v1/events",
            &format!(
                r#"{{"batch":[{}],"writeKey":"{key}"}}"#,
                track("body-envelope")
            ),
        ),
        Request::post(
            "/v1/track",
            &format!(r#"{{"userId":"u","event":"e","messageId":"body-typed","writeKey":"{key}"}}"#),
        ),
        Request::post("/v1/events/track", &track("typed")).bearer(&key),
        Request::post("/v1/events", &track("single")).bearer(&key),
        Request::post("/v1/batch", &format!("[{}]", track("form-encoded")))
            .header("Authorization", &basic(&key))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Content-Encoding", "gzip")
            .body(&gzip(format!("[{}]", track("form-encoded")).as_bytes())),
        Request::post("/v1/events", "")
            .bearer(&key)
            .header("Content-Encoding", "gzip")
            .body(&gzip(format!("[{}]", track("gzip")).as_bytes()))
            .chunked(),
    ];
    for request in &requests {
        let response = server.send(request);
        assert_eq!(response.status, 200, "{request:?}: {}", response.text());
    }
    assert!(server.stop());
    let mut ids: Vec<String> = log_records(&server.data_dir)
        .iter()
        .map(|r| r.message_id.clone())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "basic",
            "bearer",
            "body-envelope",
            "body-typed",
            "form-encoded",
            "gzip",
            "single",
            "typed"
        ]
    );
}

#[test]
fn oversized_bodies_are_refused_without_reading_them_all() {
    let server = TestServer::start();
    let key = server.write_key.clone();
    let big = format!(
        r#"[{{"type":"track","userId":"u","event":"e","properties":{{"p":"{}"}}}}]"#,
        "x".repeat(600_000)
    );
    server
        .send(&Request::post("/v1/events", &big).bearer(&key).chunked())
        .assert_error(413, "RequestEntityTooLarge", "Request Entity Too Large");
    // A 10 MB gzip bomb in a few KB: inflation stops at the limit.
    let bomb = gzip(&vec![b' '; 10_000_000]);
    assert!(bomb.len() < 20_000);
    server
        .send(
            &Request::post("/v1/events", "")
                .bearer(&key)
                .header("Content-Encoding", "gzip")
                .body(&bomb),
        )
        .assert_error(413, "RequestEntityTooLarge", "Request Entity Too Large");
    // The Segment paths allow 4 MiB.
    let response = server.send(&Request::post("/v1/batch", &big).bearer(&key));
    assert_eq!(response.status, 200, "{}", response.text());
}

#[test]
fn cors_preflight_and_headers() {
    let server = TestServer::start();
    for path in ["/v1/events", "/v1/events/track", "/v1/batch", "/v1/track"] {
        let response = server.send(
            &Request::new("OPTIONS", path)
                .header("Origin", "https://shop.example")
                .header("Access-Control-Request-Method", "POST"),
        );
        assert_eq!(response.status, 204, "{path}");
        assert_eq!(
            response.header("access-control-allow-origin"),
            Some("https://shop.example")
        );
        assert_eq!(
            response.header("access-control-allow-methods"),
            Some("POST")
        );
        assert_eq!(
            response.header("access-control-allow-headers"),
            Some("Authorization, Content-Type, Content-Encoding, Weir-Report")
        );
        assert_eq!(response.header("access-control-max-age"), Some("86400"));
        assert_eq!(response.header("vary"), Some("Origin"));
    }
    let response = server.send(&Request::new("OPTIONS", "/v1/events/nope"));
    assert_eq!(response.status, 404);
    let response = server.send(
        &Request::post("/v1/events", "[1]")
            .bearer(&server.write_key)
            .header("Origin", "https://shop.example"),
    );
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    assert_eq!(
        response.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(
        response.header("access-control-expose-headers"),
        Some("Request-Id, Retry-After")
    );
}

#[test]
fn report_lists_rejections_and_duplicates_across_requests() {
    let server = TestServer::start();
    let body = r#"[{"type":"track","userId":"u","event":"e","messageId":"m-1"},{"type":"track","userId":"u","messageId":"m-2"},{"type":"track","userId":"u","event":"e","messageId":"m-1"}]"#;
    let request = Request::post("/v1/events", body)
        .bearer(&server.write_key)
        .header("Weir-Report", "true");
    let response = server.send(&request);
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(
        response.text(),
        "{\"accepted\":1,\"rejected\":[{\"index\":1,\"messageId\":\"m-2\",\"error\":\"property 'event' is required for a track event\"}],\"duplicates\":[{\"index\":2,\"messageId\":\"m-1\"}]}\n"
    );
    let again = server.send(&request);
    assert_eq!(
        again.text(),
        "{\"accepted\":0,\"rejected\":[{\"index\":1,\"messageId\":\"m-2\",\"error\":\"property 'event' is required for a track event\"}],\"duplicates\":[{\"index\":0,\"messageId\":\"m-1\"},{\"index\":2,\"messageId\":\"m-1\"}]}\n"
    );
}

#[test]
fn health_readiness_and_metrics() {
    let server = TestServer::start();
    assert_eq!(server.send(&Request::new("GET", "/healthz")).status, 200);
    assert_eq!(server.send(&Request::new("GET", "/readyz")).status, 200);
    server.post_events(
        "/v1/events",
        r#"[{"type":"track","userId":"u","event":"e"},7]"#,
    );
    let metrics = server.send(&Request::new("GET", "/metrics")).text();
    for expected in [
        "weir_ingest_requests_total{path_family=\"events\",status=\"200\"} 1",
        "outcome=\"accepted\"} 1",
        "outcome=\"rejected\"} 1",
        "reason=\"not_object\"} 1",
        "weir_ingest_append_duration_seconds_count 1",
        "weir_log_events_appended_total 1",
        "weir_log_commit_events_count 1",
        "weir_log_commit_events_bucket{le=\"1.0\"} 1",
        "# TYPE weir_log_dedup_memory_keys gauge",
        "# TYPE weir_log_dedup_filter_bytes gauge",
        "weir_log_dedup_table_lookups_total ",
    ] {
        assert!(
            metrics.contains(expected),
            "missing {expected:?} in\n{metrics}"
        );
    }
}

/// An event without a `messageId` gets a generated one, unique by construction: it is stored
/// but not recorded in the dedup index (event-model §5), while a client's id is.
#[test]
fn generated_message_ids_are_not_recorded_for_dedup() {
    let server = TestServer::start();
    let response = server.post_events(
        "/v1/events",
        r#"[{"type":"track","userId":"u","event":"a"},{"type":"track","userId":"u","event":"b"},
            {"type":"track","userId":"u","event":"c","messageId":"m-1"}]"#,
    );
    assert_eq!(response.status, 200);
    let metrics = server.send(&Request::new("GET", "/metrics")).text();
    for expected in [
        "weir_log_events_appended_total 3",
        "weir_log_dedup_memory_keys 1\n",
    ] {
        assert!(
            metrics.contains(expected),
            "missing {expected:?} in\n{metrics}"
        );
    }
}

/// 32 clients at once; every acknowledged event is in the log exactly once, resent
/// duplicates included.
#[test]
fn concurrent_clients_each_event_logged_exactly_once() {
    let mut server = TestServer::start();
    let address = server.address.clone();
    let key = server.write_key.clone();
    let clients: Vec<_> = (0..32)
        .map(|client| {
            let (address, key) = (address.clone(), key.clone());
            std::thread::spawn(move || {
                for batch in 0..10 {
                    let events: Vec<String> = (0..10)
                        .map(|i| format!(r#"{{"type":"track","userId":"u{client}","event":"e","messageId":"c{client}-b{batch}-e{i}"}}"#))
                        .collect();
                    let body = format!("[{}]", events.join(","));
                    let request = Request::post("/v1/events", &body).bearer(&key);
                    assert_eq!(request.send_to(&address).status, 200);
                    // Resend every other batch: all duplicates.
                    if batch % 2 == 0 {
                        assert_eq!(request.send_to(&address).status, 200);
                    }
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("client thread");
    }
    assert!(server.stop());
    let records = log_records(&server.data_dir);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for record in &records {
        *counts.entry(record.message_id.clone()).or_default() += 1;
    }
    assert_eq!(counts.len(), 32 * 10 * 10);
    assert!(counts.values().all(|&n| n == 1), "every id exactly once");
    let mut seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
    seqs.dedup();
    assert_eq!(seqs.len(), records.len(), "sequence numbers are unique");
}

/// SIGKILL mid-load: every event that got a 200 is in the log after restart.
#[test]
fn acknowledged_events_survive_sigkill() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut server = TestServer::start_in(data.path(), &[]);
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let killed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..6)
        .map(|client| {
            let (address, key, acknowledged, killed) = (
                server.address.clone(),
                server.write_key.clone(),
                acknowledged.clone(),
                killed.clone(),
            );
            std::thread::spawn(move || {
                let mut batch = 0;
                loop {
                    let ids: Vec<String> =
                        (0..20).map(|i| format!("k{client}-{batch}-{i}")).collect();
                    let events: Vec<String> = ids
                        .iter()
                        .map(|id| {
                            format!(
                                r#"{{"type":"track","userId":"u","event":"e","messageId":"{id}"}}"#
                            )
                        })
                        .collect();
                    let body = format!("[{}]", events.join(","));
                    let sent = Request::post("/v1/events", &body)
                        .bearer(&key)
                        .try_send_to(&address);
                    match sent {
                        Ok(response) if response.status == 200 => {
                            acknowledged.lock().expect("lock").extend(ids)
                        }
                        _ if killed.load(std::sync::atomic::Ordering::SeqCst) => return,
                        _ => {}
                    }
                    batch += 1;
                }
            })
        })
        .collect();
    // Kill once the load is well under way (at least 200 acknowledged events), however slow
    // the machine is.
    let deadline = Instant::now() + Duration::from_secs(20);
    while acknowledged.lock().expect("lock").len() < 200 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill();
    killed.store(true, std::sync::atomic::Ordering::SeqCst);
    for client in clients {
        let _ = client.join();
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(
        acknowledged.len() > 100,
        "the load ran before the kill ({} acknowledged)",
        acknowledged.len()
    );
    // Restart (recovery), then stop and read the log.
    let mut restarted = TestServer::start_in(data.path(), &[]);
    assert!(restarted.stop());
    let logged: std::collections::HashSet<String> = log_records(data.path())
        .into_iter()
        .map(|r| r.message_id)
        .collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !logged.contains(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged events lost, e.g. {:?}",
        lost.len(),
        lost.first()
    );
}

/// SIGTERM while a request is being received: the request completes, then the server exits 0.
#[test]
fn graceful_shutdown_drains_in_flight_requests() {
    let mut server = TestServer::start();
    let body = r#"[{"type":"track","userId":"u","event":"e","messageId":"in-flight"}]"#;
    let mut stream = TcpStream::connect(&server.address).expect("connect");
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer {}\r\nContent-Length: {}\r\n\r\n",
        server.write_key,
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("head");
    stream
        .write_all(&body.as_bytes()[..10])
        .expect("part of the body");
    std::thread::sleep(Duration::from_millis(200));
    // Stop in the background; finish the body meanwhile.
    let stopper = std::thread::spawn(move || {
        let clean = server.stop();
        (clean, server)
    });
    std::thread::sleep(Duration::from_millis(300));
    stream
        .write_all(&body.as_bytes()[10..])
        .expect("rest of the body");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let (clean, server) = stopper.join().expect("stopper");
    assert!(clean, "exit code 0");
    let records = log_records(&server.data_dir);
    assert_eq!(
        records
            .iter()
            .map(|r| r.message_id.as_str())
            .collect::<Vec<_>>(),
        ["in-flight"]
    );
}

/// Slow clients are cut off: a body that does not arrive within the read timeout gets 408,
/// a header that does not arrive within the header timeout gets the connection closed.
#[test]
fn slow_clients_are_cut_off() {
    let data = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start_in(
        data.path(),
        &[
            ("WEIR_HTTP_READ_TIMEOUT", "1s"),
            ("WEIR_HTTP_READ_HEADER_TIMEOUT", "1s"),
        ],
    );
    let mut stream = TcpStream::connect(&server.address).expect("connect");
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer {}\r\nContent-Length: 100\r\n\r\n[{{",
        server.write_key
    );
    stream.write_all(head.as_bytes()).expect("head");
    let started = Instant::now();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(
        response
            .contains("{\"error\":{\"code\":\"RequestTimeout\",\"message\":\"Request Timeout\"}}"),
        "{response}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    let mut stream = TcpStream::connect(&server.address).expect("connect");
    stream
        .write_all(b"POST /v1/events HTTP/1.1\r\nHost: x\r\n")
        .expect("partial head");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the server closed the connection"
    );
}

/// The per-workspace event rate limit (`ingest-api.md` §9): set through the management API,
/// charged by event count, 429 with `Retry-After` when the bucket cannot cover a request,
/// capacity of rejected events given back.
#[test]
fn the_workspace_rate_limit_is_charged_by_events() {
    let server = TestServer::start();
    let management = crate::support::Management::admin(&server);
    management.ok(
        "PUT",
        "/v1/workspaces/current",
        Some(serde_json::json!({"eventsRateLimit": {"ratePerMinute": 1000, "maxCapacity": 1000}})),
    );
    let batch = |count: usize, valid: bool| {
        let event = if valid {
            r#"{"type":"track","userId":"u","event":"e"}"#
        } else {
            r#"{"type":"track","userId":"u"}"#
        };
        format!("[{}]", vec![event; count].join(","))
    };
    // 10 rejected events cost nothing: their capacity is given back.
    assert_eq!(
        server.post_events("/v1/events", &batch(10, false)).status,
        200
    );
    // 995 of the 1000 tokens.
    assert_eq!(
        server.post_events("/v1/events", &batch(995, true)).status,
        200
    );
    // 100 more do not fit (the bucket refills about 17 events per second).
    let limited = server.post_events("/v1/events", &batch(100, true));
    limited.assert_error(
        429,
        "TooManyRequests",
        "rate limit exceeded; retry according to the Retry-After header",
    );
    let retry_after: u64 = limited
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After seconds");
    assert!((1..=6).contains(&retry_after), "Retry-After {retry_after}");
    let metrics = server.send(&Request::new("GET", "/metrics")).text();
    assert!(
        metrics.contains("weir_rate_limited_requests_total{workspace="),
        "{metrics}"
    );
}

/// The SDK settings endpoint (`ingest-api.md` §10): strategy for SDK connectors, 401 for
/// connectors without one, 404 for an empty key, CORS preflight.
#[test]
fn the_sdk_settings_endpoint() {
    let server = TestServer::start();
    let management = crate::support::Management::admin(&server);
    let created = management.ok(
        "POST",
        "/v1/connections",
        Some(serde_json::json!({"name": "Website", "role": "Source", "connector": "javascript"})),
    );
    let id = created["id"].as_str().expect("id");
    let keys = management.ok(
        "GET",
        &format!("/v1/connections/{id}/event-write-keys"),
        None,
    );
    let key = keys["keys"][0].as_str().expect("key");
    let response = server.send(
        &Request::new("GET", &format!("/v1/events/settings/{key}"))
            .header("Origin", "https://shop.example"),
    );
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(
        response.header("cache-control"),
        Some("public, max-age=3600, stale-while-revalidate=10800")
    );
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    assert_eq!(
        response.text(),
        format!(
            r#"{{"strategy":"Conversion","integrations":{{"Krenalis":{{"apiKey":"{key}"}}}}}}"#
        )
    );
    server
        .send(&Request::new(
            "GET",
            &format!("/v1/events/settings/{}", server.write_key),
        ))
        .assert_error(
            401,
            "Unauthorized",
            "event write key in the path is invalid",
        );
    server
        .send(&Request::new("GET", "/v1/events/settings/"))
        .assert_error(404, "NotFound", "");
    let preflight = server.send(&Request::new(
        "OPTIONS",
        &format!("/v1/events/settings/{key}"),
    ));
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("GET")
    );
    let wrong = server.send(&Request::new("POST", &format!("/v1/events/settings/{key}")));
    wrong.assert_error(405, "MethodNotAllowed", "Method Not Allowed");
    assert_eq!(wrong.header("allow"), Some("GET, OPTIONS"));
}
