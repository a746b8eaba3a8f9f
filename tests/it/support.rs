//! Helpers for tests that run the real `weir` binary: start a server on port 0 in a temporary
//! data directory, read what it printed, stop it gently or kill it, and speak raw HTTP/1.1 to
//! it (raw, so tests can send exactly the bytes an edge case needs).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use weir_log::{EventLog, LogConfig, LogRecord, SqliteLog};

/// The `weir` binary, built once per test run in the profile of this test binary.
pub(crate) fn weir_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let test_exe = std::env::current_exe().expect("test executable path");
        let profile_dir = test_exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>");
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "--quiet", "-p", "weir", "--bin", "weir"]);
        if release {
            build.arg("--release");
        }
        let status = build
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo build runs");
        assert!(status.success(), "building the weir binary failed");
        profile_dir.join(format!("weir{}", std::env::consts::EXE_SUFFIX))
    })
}

/// A running `weir serve`.
pub(crate) struct TestServer {
    child: Option<Child>,
    pub(crate) address: String,
    pub(crate) write_key: String,
    pub(crate) admin_key: Option<String>,
    pub(crate) data_dir: PathBuf,
    /// Keeps a temporary data directory alive as long as the server.
    _temp: Option<tempfile::TempDir>,
    pub(crate) stdout: Vec<String>,
}

impl TestServer {
    /// A server in a fresh temporary data directory.
    pub(crate) fn start() -> TestServer {
        let temp = tempfile::tempdir().expect("temp dir");
        let mut server = TestServer::start_in(temp.path(), &[]);
        server._temp = Some(temp);
        server
    }

    /// A server on `data_dir` (which may hold an earlier server's data).
    pub(crate) fn start_in(data_dir: &Path, env: &[(&str, &str)]) -> TestServer {
        let mut command = Command::new(weir_binary());
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("weir starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut printed = Vec::new();
        let mut address = None;
        let mut write_key = None;
        let mut admin_key = None;
        // The banner ends with the curl command's last line (or after the key lines).
        for line in lines.by_ref() {
            let line = line.expect("stdout line");
            if let Some(url) = line.strip_prefix("Weir is listening on http://") {
                address = Some(url.to_string());
            } else if let Some(key) = line.strip_prefix("Event write key: ") {
                write_key = Some(key.to_string());
            } else if let Some((_, key)) = line
                .split_once("): ")
                .filter(|_| line.starts_with("Admin API key"))
            {
                admin_key = Some(key.to_string());
            }
            let done = line.contains("-d '[{");
            printed.push(line);
            if done {
                break;
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        TestServer {
            child: Some(child),
            address: address.unwrap_or_else(|| panic!("no address in {printed:?}")),
            write_key: write_key.unwrap_or_else(|| panic!("no write key in {printed:?}")),
            admin_key,
            data_dir: data_dir.to_path_buf(),
            _temp: None,
            stdout: printed,
        }
    }

    /// Sends SIGTERM and waits for a clean exit; returns whether it exited with 0.
    pub(crate) fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no chance to flush anything.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends one request; see [`Request`].
    pub(crate) fn send(&self, request: &Request) -> Response {
        request.send_to(&self.address)
    }

    /// `POST path` with JSON content type and the write key as Bearer.
    pub(crate) fn post_events(&self, path: &str, body: &str) -> Response {
        self.send(&Request::post(path, body).bearer(&self.write_key))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A raw HTTP/1.1 request.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Send `Content-Length` (default) — `false` sends no framing at all unless a
    /// `Transfer-Encoding` header is set, in which case the body is sent chunked.
    content_length: bool,
}

impl Request {
    pub(crate) fn new(method: &str, path: &str) -> Request {
        Request {
            method: method.into(),
            path: path.into(),
            headers: Vec::new(),
            body: Vec::new(),
            content_length: true,
        }
    }

    pub(crate) fn post(path: &str, body: &str) -> Request {
        Request::new("POST", path)
            .header("Content-Type", "application/json")
            .body(body.as_bytes())
    }

    pub(crate) fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub(crate) fn bearer(self, key: &str) -> Request {
        self.header("Authorization", &format!("Bearer {key}"))
    }

    pub(crate) fn body(mut self, body: &[u8]) -> Request {
        self.body = body.to_vec();
        self
    }

    /// Sends the body with `Transfer-Encoding: chunked` (in 1000-byte chunks).
    pub(crate) fn chunked(mut self) -> Request {
        self.content_length = false;
        self.header("Transfer-Encoding", "chunked")
    }

    /// Sends neither `Content-Length` nor `Transfer-Encoding`.
    pub(crate) fn without_framing(mut self) -> Request {
        self.content_length = false;
        self
    }

    pub(crate) fn send_to(&self, address: &str) -> Response {
        self.try_send_to(address)
            .unwrap_or_else(|error| panic!("{} {}: {error}", self.method, self.path))
    }

    /// Like [`Request::send_to`], but a connection failure is an error, not a panic (for
    /// tests that kill the server under load).
    pub(crate) fn try_send_to(&self, address: &str) -> std::io::Result<Response> {
        let mut stream = TcpStream::connect(address)?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let chunked = self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"));
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n",
            self.method, self.path
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if self.content_length && !chunked {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        if chunked {
            for chunk in self.body.chunks(1000) {
                bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                bytes.extend_from_slice(chunk);
                bytes.extend_from_slice(b"\r\n");
            }
            bytes.extend_from_slice(b"0\r\n\r\n");
        } else {
            bytes.extend_from_slice(&self.body);
        }
        // The server may answer (e.g. 413) before reading everything; ignore write errors.
        let _ = stream.write_all(&bytes);
        Response::read_from(stream)
    }
}

/// A parsed HTTP response.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    fn read_from(stream: TcpStream) -> std::io::Result<Response> {
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line)?;
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        let mut body = Vec::new();
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok());
        match length {
            Some(length) => {
                body.resize(length, 0);
                reader.read_exact(&mut body)?;
            }
            None => {
                let _ = reader.read_to_end(&mut body);
            }
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts a JSON error response with this status, code and message.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, code: &str, message: &str) {
        let expected = format!(
            "{{\"error\":{{\"code\":{},\"message\":{}}}}}\n",
            json_string(code),
            json_string(message)
        );
        assert_eq!(
            (self.status, self.text()),
            (status, expected),
            "headers: {:?}",
            self.headers
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/json; charset=utf-8")
        );
    }
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).expect("serialises")
}

/// Every record of a stopped server's event log, read with the `weir-log` crate.
pub(crate) fn log_records(data_dir: &Path) -> Vec<LogRecord> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let log =
            SqliteLog::open(&data_dir.join("log.sqlite"), LogConfig::default()).expect("log opens");
        let mut records = Vec::new();
        loop {
            let after = records.last().map_or(0, |r: &LogRecord| r.seq);
            let batch = log.read(after, 10_000).await.expect("read");
            if batch.is_empty() {
                break;
            }
            records.extend(batch);
        }
        log.close().await.expect("close");
        records
    })
}

/// The management API of a test server, as one API key, in its only workspace.
pub(crate) struct Management<'a> {
    server: &'a TestServer,
    pub(crate) key: String,
    pub(crate) workspace: String,
}

impl<'a> Management<'a> {
    pub(crate) fn new(server: &'a TestServer, key: &str) -> Management<'a> {
        let listed = server.send(&Request::new("GET", "/v1/workspaces").bearer(key));
        assert_eq!(listed.status, 200, "{}", listed.text());
        let listed: Value = serde_json::from_slice(&listed.body).expect("JSON");
        let workspace = listed["workspaces"][0]["id"]
            .as_str()
            .expect("workspace")
            .to_owned();
        Management {
            server,
            key: key.to_owned(),
            workspace,
        }
    }

    /// `method path` with `body`, which must answer 200; the JSON answer.
    #[track_caller]
    pub(crate) fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let mut request = Request::new(method, path)
            .bearer(&self.key)
            .header("Weir-Workspace", &self.workspace);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string().as_bytes());
        }
        let response = self.server.send(&request);
        assert_eq!(response.status, 200, "{method} {path}: {}", response.text());
        serde_json::from_slice(&response.body).expect("JSON")
    }

    /// The id of the bootstrap Webhook source.
    pub(crate) fn webhook_source(&self) -> String {
        let listed = self.ok("GET", "/v1/connections", None);
        listed["connections"]
            .as_array()
            .expect("connections")
            .iter()
            .find(|c| c["connector"] == "webhook")
            .expect("the Webhook source")["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    /// An enabled "Import events into warehouse" pipeline on `source`, plus `extra` members
    /// (which may override `enabled`).
    pub(crate) fn add_pipeline(&self, source: &str, extra: Value) -> String {
        let mut body = serde_json::json!({"connection": source, "target": "Event",
                              "name": "Import events into warehouse", "enabled": true});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        self.ok("POST", "/v1/pipelines", Some(body))["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    /// The pipeline's `stats` (`read`, `written`, `lag`, `lastError`, …).
    pub(crate) fn stats(&self, pipeline: &str) -> Value {
        self.ok("GET", &format!("/v1/pipelines/{pipeline}"), None)["stats"].clone()
    }
}

impl<'a> Management<'a> {
    /// With the admin key the server printed on first run.
    pub(crate) fn admin(server: &'a TestServer) -> Management<'a> {
        Management::new(
            server,
            server
                .admin_key
                .as_deref()
                .expect("first run prints the admin key"),
        )
    }

    /// A new webhook source; its id and its first write key.
    pub(crate) fn add_source(&self, name: &str) -> (String, String) {
        let created = self.ok(
            "POST",
            "/v1/connections",
            Some(serde_json::json!({"name": name, "role": "Source", "connector": "webhook"})),
        );
        let id = created["id"].as_str().expect("id").to_string();
        let keys = self.ok(
            "GET",
            &format!("/v1/connections/{id}/event-write-keys"),
            None,
        );
        (id, keys["keys"][0].as_str().expect("key").to_string())
    }
}
