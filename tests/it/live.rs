//! Live events through the real server (`storage-and-pipelines.md` §11): a listener sees
//! accepted events, rejected ones with their reason and raw text, and duplicates marked; the
//! SSE stream delivers entries as they arrive; `weir events tail` prints them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Request, TestServer, weir_binary};

/// The default workspace's id, for the `Weir-Workspace` header of an instance-wide key.
fn workspace_id(server: &TestServer, admin: &str) -> String {
    let response = server.send(&Request::new("GET", "/v1/workspaces").bearer(admin));
    let listed: Value = serde_json::from_slice(&response.body).expect("JSON");
    listed["workspaces"][0]["id"]
        .as_str()
        .expect("workspace id")
        .to_string()
}

fn managed(method: &str, path: &str, admin: &str, workspace: &str) -> Request {
    Request::new(method, path)
        .bearer(admin)
        .header("Weir-Workspace", workspace)
}

#[test]
fn a_listener_sees_accepted_rejected_and_duplicate_events() {
    let server = TestServer::start();
    let admin = server.admin_key.clone().expect("admin key");
    let workspace = workspace_id(&server, &admin);
    let create = managed("POST", "/v1/events/listeners", &admin, &workspace)
        .header("Content-Type", "application/json")
        .body(br#"{"size":10}"#);
    let response = server.send(&create);
    assert_eq!(response.status, 200, "{}", response.text());
    let id = serde_json::from_slice::<Value>(&response.body).expect("JSON")["id"]
        .as_str()
        .expect("id")
        .to_string();

    let body = r#"[{"type":"track","userId":"u","event":"Clicked","messageId":"m-1"},{"type":"track","userId":"u","messageId":"m-2"},{"type":"track","userId":"u","event":"Clicked","messageId":"m-1"}]"#;
    assert_eq!(server.post_events("/v1/events", body).status, 200);

    let read = server.send(&managed(
        "GET",
        &format!("/v1/events/listeners/{id}"),
        &admin,
        &workspace,
    ));
    assert_eq!(read.status, 200, "{}", read.text());
    let read: Value = serde_json::from_slice(&read.body).expect("JSON");
    let events = read["events"].as_array().expect("events");
    assert_eq!(events.len(), 3, "{read}");
    assert_eq!(read["omitted"], 0);
    let accepted = events
        .iter()
        .find(|e| e["messageId"] == "m-1" && e.get("type").is_some())
        .expect("accepted event");
    assert_eq!(accepted["event"], "Clicked");
    let rejected = events
        .iter()
        .find(|e| e.get("error").is_some())
        .expect("rejected entry");
    assert_eq!(
        rejected["error"],
        "property 'event' is required for a track event"
    );
    assert_eq!(
        rejected["raw"],
        r#"{"type":"track","userId":"u","messageId":"m-2"}"#
    );
    let duplicate = events
        .iter()
        .find(|e| e["duplicate"] == true)
        .expect("duplicate entry");
    assert_eq!(duplicate["messageId"], "m-1");

    // Reading drains the buffer.
    let again = server.send(&managed(
        "GET",
        &format!("/v1/events/listeners/{id}"),
        &admin,
        &workspace,
    ));
    assert_eq!(
        serde_json::from_slice::<Value>(&again.body).expect("JSON"),
        json!({"events": [], "omitted": 0})
    );
    // Deleting is fine, also twice; then reading is a 404.
    assert_eq!(
        server
            .send(&managed(
                "DELETE",
                &format!("/v1/events/listeners/{id}"),
                &admin,
                &workspace
            ))
            .status,
        200
    );
    assert_eq!(
        server
            .send(&managed(
                "DELETE",
                &format!("/v1/events/listeners/{id}"),
                &admin,
                &workspace
            ))
            .status,
        200
    );
    server
        .send(&managed(
            "GET",
            &format!("/v1/events/listeners/{id}"),
            &admin,
            &workspace,
        ))
        .assert_error(
            404,
            "NotFound",
            &format!("event listener \"{id}\" does not exist"),
        );
}

#[test]
fn listener_requests_are_validated() {
    let server = TestServer::start();
    let admin = server.admin_key.clone().expect("admin key");
    let workspace = workspace_id(&server, &admin);
    let post = |body: &str| {
        server.send(
            &managed("POST", "/v1/events/listeners", &admin, &workspace)
                .header("Content-Type", "application/json")
                .body(body.as_bytes()),
        )
    };
    post(r#"{"size":0}"#).assert_error(400, "BadRequest", "size 0 is not valid");
    post(r#"{"size":1001}"#).assert_error(400, "BadRequest", "size 1001 is not valid");
    post(r#"{"connection":"!"}"#).assert_error(
        400,
        "BadRequest",
        "identifier \"!\" is not a valid connection identifier",
    );
    post(r#"{"connection":"AAAAAAAAAAAA"}"#).assert_error(
        422,
        "ConnectionNotExist",
        "connection AAAAAAAAAAAA does not exist",
    );
    let bad_filter = post(r#"{"filter":{"logical":"xor","conditions":[]}}"#);
    assert_eq!(bad_filter.status, 400);
    assert!(
        bad_filter.text().contains("filter is not valid: "),
        "{}",
        bad_filter.text()
    );
    // A filter applies to accepted events only.
    let filtered = post(
        r#"{"filter":{"logical":"and","conditions":[{"property":"event","operator":"is","values":["Keep"]}]}}"#,
    );
    assert_eq!(filtered.status, 200, "{}", filtered.text());
    let id = serde_json::from_slice::<Value>(&filtered.body).expect("JSON")["id"]
        .as_str()
        .expect("id")
        .to_string();
    server.post_events("/v1/events", r#"[{"type":"track","userId":"u","event":"Keep"},{"type":"track","userId":"u","event":"Drop"},{"type":"track","userId":"u"}]"#);
    let read: Value = serde_json::from_slice(
        &server
            .send(&managed(
                "GET",
                &format!("/v1/events/listeners/{id}"),
                &admin,
                &workspace,
            ))
            .body,
    )
    .expect("JSON");
    let events = read["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "{read}");
    assert_eq!(events[0]["event"], "Keep");
    // At most 100 listeners per workspace (this test made one already).
    for _ in 0..99 {
        assert_eq!(post("{}").status, 200);
    }
    post("{}").assert_error(422, "TooManyListeners", "there are already 100 listeners");
}

/// Reads SSE lines until `predicate` matches a `data:` line or the deadline passes.
fn read_sse_until(
    reader: &mut impl BufRead,
    kind: &str,
    predicate: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut current_kind = String::new();
    let mut line = String::new();
    while Instant::now() < deadline {
        line.clear();
        if reader.read_line(&mut line).expect("stream line") == 0 {
            break;
        }
        let text = line.trim_end();
        if let Some(rest) = text.strip_prefix("event: ") {
            current_kind = rest.to_string();
        } else if let Some(data) = text.strip_prefix("data: ") {
            let value: Value = serde_json::from_str(data).expect("data is JSON");
            if current_kind == kind && predicate(&value) {
                return value;
            }
        }
    }
    panic!("no {kind} entry arrived on the stream");
}

#[test]
fn the_sse_stream_delivers_entries_as_they_arrive() {
    let server = TestServer::start();
    let admin = server.admin_key.clone().expect("admin key");
    let workspace = workspace_id(&server, &admin);
    let mut stream = TcpStream::connect(&server.address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(stream, "GET /v1/events/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\nWeir-Workspace: {workspace}\r\n\r\n").expect("request");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut status = String::new();
    reader.read_line(&mut status).expect("status");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header");
        if line.trim().is_empty() {
            break;
        }
        headers.push(line.trim().to_ascii_lowercase());
    }
    assert!(
        headers
            .iter()
            .any(|h| h == "content-type: text/event-stream"),
        "{headers:?}"
    );
    // The body is chunked; read it as a byte stream with the chunk framing removed.
    let mut dechunked = Dechunk {
        inner: reader,
        remaining: 0,
    };
    server.post_events(
        "/v1/events",
        r#"[{"type":"track","userId":"u","event":"Live","messageId":"live-1"}]"#,
    );
    let mut lines = BufReader::new(&mut dechunked);
    let event = read_sse_until(&mut lines, "event", |v| v["messageId"] == "live-1");
    assert_eq!(event["event"], "Live");
    server.post_events(
        "/v1/events",
        r#"[{"type":"track","userId":"u","messageId":"live-2"}]"#,
    );
    let rejected = read_sse_until(&mut lines, "rejected", |_| true);
    assert_eq!(
        rejected["error"],
        "property 'event' is required for a track event"
    );
}

/// Removes HTTP/1.1 chunked framing from a reader.
struct Dechunk<R: BufRead> {
    inner: R,
    remaining: usize,
}

impl<R: BufRead> Read for Dechunk<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.remaining == 0 {
            let mut size_line = String::new();
            loop {
                size_line.clear();
                if self.inner.read_line(&mut size_line)? == 0 {
                    return Ok(0);
                }
                if !size_line.trim().is_empty() {
                    break;
                }
            }
            self.remaining =
                usize::from_str_radix(size_line.trim(), 16).map_err(std::io::Error::other)?;
            if self.remaining == 0 {
                return Ok(0);
            }
        }
        let wanted = buf.len().min(self.remaining);
        let read = self.inner.read(&mut buf[..wanted])?;
        self.remaining -= read;
        Ok(read)
    }
}

#[test]
fn weir_events_tail_prints_events_and_rejections() {
    let server = TestServer::start();
    let mut tail = Command::new(weir_binary())
        .args(["events", "tail", "--data-dir"])
        .arg(&server.data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("weir events tail starts");
    let stdout = tail.stdout.take().expect("stdout");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    // The stream is open once an event sent now shows up; resend until it does.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();
    let mut attempt = 0;
    while Instant::now() < deadline
        && !(seen.iter().any(|l: &String| l.contains("Tailed"))
            && seen.iter().any(|l: &String| l.contains("REJECTED")))
    {
        attempt += 1;
        server.post_events(
            "/v1/events",
            &format!(r#"[{{"type":"track","userId":"u","event":"Tailed","messageId":"t-{attempt}"}},{{"type":"track","userId":"u"}}]"#),
        );
        while let Ok(line) = receiver.recv_timeout(Duration::from_millis(300)) {
            seen.push(line);
        }
    }
    let _ = tail.kill();
    let _ = tail.wait();
    assert!(
        seen.iter()
            .any(|l| l.contains("track") && l.contains("Tailed") && l.contains("userId=u")),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|l| l.contains("REJECTED")
            && l.contains("property 'event' is required for a track event")),
        "{seen:?}"
    );
}
