//! Real analytics SDKs against the real binary (issue 6, `docs/clients.md`): Segment's Python
//! and Node libraries and RudderStack's Python SDK, at the versions pinned in `tests/sdk/`, each
//! send all six event types through `weir serve` with nothing configured but the write key and
//! the host. After the server stopped, the event log must hold every event exactly once,
//! normalised as `event-model.md` says (ids, properties, traits placement, context sections,
//! library, channel, skew-corrected canonical timestamps, the source's `connectionId`).
//!
//! The clients are the scripts in `tests/sdk/`, run with `python3` and `node` from `PATH`;
//! `.ci/run` installs their packages (`pip install -r tests/sdk/requirements.txt`,
//! `npm ci --prefix tests/sdk`). Without an interpreter or a package a test prints
//! `skipped: <why>` and passes, unless `WEIR_REQUIRE_SERVICES=1` (as in CI), when it fails.
//! When a client fails or events are missing, the client is run once more against a fresh
//! server with `WEIR_SDK_REPORT=1`, so the panic message shows Weir's `Weir-Report`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Request, TestServer, log_records};

/// One SDK and the client script that drives it.
struct Sdk {
    /// The package as installed from its registry, for messages.
    package: &'static str,
    /// `python3` or `node`, from `PATH`.
    interpreter: &'static str,
    /// The script in `tests/sdk/`.
    script: &'static str,
    /// The `context.library` the SDK stamps on every event (must match the pinned version).
    library_name: &'static str,
    library_version: &'static str,
    /// The `channel` the SDK stamps on every event, if any.
    channel: Option<&'static str>,
    /// analytics-node also copies a page's `category` into its `properties`.
    category_in_page_properties: bool,
    /// How to install the package when it is missing.
    install: &'static str,
}

const SEGMENT_PYTHON: Sdk = Sdk {
    package: "segment-analytics-python 2.4.0",
    interpreter: "python3",
    script: "segment_python.py",
    library_name: "analytics-python",
    library_version: "2.4.0",
    channel: None,
    category_in_page_properties: false,
    install: "python3 -m pip install -r tests/sdk/requirements.txt",
};

const RUDDER_PYTHON: Sdk = Sdk {
    package: "rudder-sdk-python 2.1.9",
    interpreter: "python3",
    script: "rudder_python.py",
    // RudderStack's Python SDK is a fork of analytics-python and still calls itself that.
    library_name: "analytics-python",
    library_version: "2.1.9",
    channel: Some("server"),
    category_in_page_properties: false,
    install: "python3 -m pip install -r tests/sdk/requirements.txt",
};

const SEGMENT_NODE: Sdk = Sdk {
    package: "@segment/analytics-node 3.1.0",
    interpreter: "node",
    script: "segment_node.mjs",
    library_name: "@segment/analytics-node",
    library_version: "3.1.0",
    channel: None,
    category_in_page_properties: true,
    install: "npm ci --prefix tests/sdk",
};

/// The exit status with which a client script says its package is not installed.
const PACKAGE_MISSING: i32 = 3;

/// How long a client may run before it is killed (it normally takes about a second).
const CLIENT_DEADLINE: Duration = Duration::from_secs(30);

/// Stands in for an `anonymousId` Weir generated (checked to be a UUIDv4 first).
const GENERATED: &str = "<generated UUIDv4>";

#[test]
fn segment_python_delivers_all_six_event_types() {
    check_sdk(&SEGMENT_PYTHON);
}

#[test]
fn rudder_python_delivers_all_six_event_types() {
    check_sdk(&RUDDER_PYTHON);
}

#[test]
fn segment_node_delivers_all_six_event_types() {
    check_sdk(&SEGMENT_NODE);
}

/// A live-events listener (the event debugger) on the server's default workspace.
struct Listener {
    id: String,
    key: String,
    workspace: String,
}

impl Listener {
    fn create(server: &TestServer) -> Listener {
        let key = server
            .admin_key
            .clone()
            .expect("first run prints the admin key");
        let listed = server.send(&Request::new("GET", "/v1/workspaces").bearer(&key));
        let listed: Value = serde_json::from_slice(&listed.body).expect("JSON");
        let workspace = listed["workspaces"][0]["id"]
            .as_str()
            .expect("workspace")
            .to_string();
        let created = server.send(
            &Request::new("POST", "/v1/events/listeners")
                .bearer(&key)
                .header("Weir-Workspace", &workspace)
                .header("Content-Type", "application/json")
                .body(br#"{"size":100}"#),
        );
        assert_eq!(created.status, 200, "{}", created.text());
        let id = serde_json::from_slice::<Value>(&created.body).expect("JSON")["id"]
            .as_str()
            .expect("id")
            .to_string();
        Listener { id, key, workspace }
    }

    /// The accepted events the listener holds.
    fn read(&self, server: &TestServer) -> Vec<Value> {
        let response = server.send(
            &Request::new("GET", &format!("/v1/events/listeners/{}", self.id))
                .bearer(&self.key)
                .header("Weir-Workspace", &self.workspace),
        );
        assert_eq!(response.status, 200, "{}", response.text());
        let read: Value = serde_json::from_slice(&response.body).expect("JSON");
        read["events"].as_array().cloned().unwrap_or_default()
    }
}

/// Runs the SDK's client against a fresh server and checks the log.
fn check_sdk(sdk: &Sdk) {
    if let Err(why) = interpreter_runs(sdk.interpreter) {
        return skip_or_fail(&why);
    }
    let run = format!("r{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let mut server = TestServer::start();
    let connection = connection_id(&server);
    let listener = Listener::create(&server);
    let client = run_client(sdk, &server, &run, false);
    let live = listener.read(&server);
    assert!(server.stop(), "weir did not exit cleanly");
    if client.status == Some(PACKAGE_MISSING) {
        return skip_or_fail(&format!(
            "{} is not installed ({}): {}",
            sdk.package,
            sdk.install,
            client.stderr.trim()
        ));
    }
    if client.status != Some(0) {
        panic!(
            "the {} client failed ({}):\n{}\n{}",
            sdk.package,
            client.describe_status(),
            client.stderr,
            diagnose(sdk)
        );
    }

    let records = log_records(&server.data_dir);
    let mut by_type: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for record in &records {
        let event: Value = serde_json::from_slice(&record.payload).expect("payload is JSON");
        assert_eq!(record.connection_id, connection, "record of {event}");
        assert_eq!(
            Some(record.message_id.as_str()),
            event["messageId"].as_str(),
            "record of {event}"
        );
        let event_type = event["type"].as_str().expect("type").to_string();
        by_type.entry(event_type).or_default().push(event);
    }
    let counts: BTreeMap<&str, usize> =
        by_type.iter().map(|(t, e)| (t.as_str(), e.len())).collect();
    let all_six: BTreeMap<&str, usize> = ["alias", "group", "identify", "page", "screen", "track"]
        .into_iter()
        .map(|t| (t, 1))
        .collect();
    if counts != all_six {
        panic!(
            "{}: expected each of the six event types once in the log, found {counts:?}\n\
             client stderr:\n{}\n{}",
            sdk.package,
            client.stderr,
            diagnose(sdk)
        );
    }

    // The event debugger saw the same six events as the log.
    let mut live_ids: Vec<&str> = live
        .iter()
        .filter_map(|e| e["messageId"].as_str())
        .collect();
    let mut logged_ids: Vec<&str> = records.iter().map(|r| r.message_id.as_str()).collect();
    live_ids.sort_unstable();
    logged_ids.sort_unstable();
    assert_eq!(
        live_ids, logged_ids,
        "{}: live events differ from the log",
        sdk.package
    );

    for expected in expected_events(sdk, &run, &connection) {
        let event_type = expected["type"].as_str().expect("type");
        let mut actual = by_type[event_type][0].clone();
        check_times(&mut actual, event_type == "track");
        check_anonymous_id(&mut actual, &run);
        assert_eq!(
            actual, expected,
            "{}: the normalised {event_type} event differs (left: logged, right: expected)",
            sdk.package
        );
    }
}

/// The six events as the log must hold them, except the four times (see [`check_times`]);
/// an `anonymousId` Weir generated is [`GENERATED`].
fn expected_events(sdk: &Sdk, run: &str, connection: &str) -> Vec<Value> {
    let user = format!("user-{run}");
    let anonymous = format!("anon-{run}");
    let library = json!({"name": sdk.library_name, "version": sdk.library_version});
    let mut page_properties =
        json!({"run": run, "url": "https://example.com/pricing", "path": "/pricing"});
    if sdk.category_in_page_properties {
        page_properties["category"] = json!("Docs");
    }
    let mut events = vec![
        json!({
            "type": "identify",
            "connectionId": connection,
            "anonymousId": anonymous,
            "userId": user,
            "messageId": format!("{run}-identify"),
            "context": {"library": library, "locale": "en-GB"},
            // rudder-sdk-python sends these only as `context.traits`; Weir moves them on the
            // Segment-compatible paths.
            "traits": {"run": run, "email": "ada@example.com", "name": "Ada", "plan": "pro"},
        }),
        json!({
            "type": "track",
            "connectionId": connection,
            "anonymousId": GENERATED,
            "userId": user,
            "messageId": format!("{run}-track"),
            "event": "Order Completed",
            "properties": {
                "run": run, "revenue": 12.5, "currency": "EUR", "items": [{"sku": "A-1", "qty": 2}]
            },
            "context": {
                "app": {"name": "weir-sdk-test", "version": "1.2.3"},
                "ip": "203.0.113.7",
                "library": library,
                "locale": "it-IT",
                "timezone": "Europe/Rome",
            },
            // `context.traits` of a track event becomes its `traits`.
            "traits": {"plan": "pro"},
        }),
        json!({
            "type": "page",
            "connectionId": connection,
            "anonymousId": GENERATED,
            "userId": user,
            "messageId": format!("{run}-page"),
            "category": "Docs",
            "name": "Pricing",
            "properties": page_properties,
            "context": {
                "library": library,
                "page": {"path": "/pricing", "title": "Pricing", "url": "https://example.com/pricing"},
            },
            "traits": {},
        }),
        json!({
            "type": "screen",
            "connectionId": connection,
            "anonymousId": GENERATED,
            "userId": user,
            "messageId": format!("{run}-screen"),
            // The SDKs send `category` on screen calls too; the Segment paths drop it.
            "name": "Home",
            "properties": {"run": run, "tab": "feed"},
            "context": {
                "library": library,
                "os": {"name": "iOS", "version": "17.4"},
                "screen": {"width": 390, "height": 844, "density": 3},
            },
            "traits": {},
        }),
        json!({
            "type": "group",
            "connectionId": connection,
            "anonymousId": GENERATED,
            "userId": user,
            "messageId": format!("{run}-group"),
            "groupId": format!("org-{run}"),
            "context": {"library": library},
            "traits": {"run": run, "name": "Acme", "employees": 42},
        }),
        json!({
            "type": "alias",
            "connectionId": connection,
            "anonymousId": GENERATED,
            "userId": user,
            "messageId": format!("{run}-alias"),
            "previousId": anonymous,
            "context": {"library": library},
            "traits": {},
        }),
    ];
    if let Some(channel) = sdk.channel {
        for event in &mut events {
            event["channel"] = json!(channel);
        }
    }
    events
}

/// Checks the four times (canonical UTC form, `receivedAt` in milliseconds, `sentAt` from the
/// client, `timestamp` = `originalTimestamp` + (`receivedAt` − `sentAt`) truncated to
/// milliseconds) and removes them. Only the track event carries a client-chosen timestamp.
#[track_caller]
fn check_times(event: &mut Value, explicit_timestamp: bool) {
    let object = event.as_object_mut().expect("event is an object");
    let mut take = |name: &str| -> (String, i128) {
        let text = object
            .remove(name)
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("no {name} string"));
        let nanos = canonical_nanos(&text)
            .unwrap_or_else(|| panic!("{name} {text:?} is not a canonical UTC datetime"));
        (text, nanos)
    };
    let (received_text, received) = take("receivedAt");
    let (sent_text, sent) = take("sentAt");
    let (original_text, original) = take("originalTimestamp");
    let (timestamp_text, timestamp) = take("timestamp");
    const MS: i128 = 1_000_000;
    const MINUTE: i128 = 60_000 * MS;
    assert_eq!(
        received % MS,
        0,
        "receivedAt {received_text} has sub-ms digits"
    );
    assert!(
        (sent - received).abs() < MINUTE,
        "sentAt {sent_text} is not the client's send time (receivedAt {received_text})"
    );
    if explicit_timestamp {
        assert_eq!(original_text, "2024-01-02T03:04:05Z");
    } else {
        assert!(
            (original - received).abs() < MINUTE,
            "originalTimestamp {original_text} is not the client's call time"
        );
    }
    assert_eq!(
        timestamp,
        (original + received - sent).div_euclid(MS) * MS,
        "timestamp {timestamp_text} is not originalTimestamp {original_text} + \
         (receivedAt {received_text} - sentAt {sent_text})"
    );
}

/// The event's `anonymousId`, if Weir generated it, becomes [`GENERATED`] once it has been
/// checked to be a lowercase hyphenated UUIDv4 (`event-model.md` §5).
#[track_caller]
fn check_anonymous_id(event: &mut Value, run: &str) {
    let id = event["anonymousId"]
        .as_str()
        .expect("anonymousId")
        .to_string();
    if id == format!("anon-{run}") {
        return;
    }
    let uuid = uuid::Uuid::parse_str(&id).unwrap_or_else(|_| panic!("anonymousId {id:?}"));
    assert_eq!(uuid.get_version_num(), 4, "anonymousId {id:?}");
    assert_eq!(id, uuid.hyphenated().to_string(), "anonymousId {id:?}");
    event["anonymousId"] = json!(GENERATED);
}

/// Nanoseconds since the Unix epoch of `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with a fraction of
/// 3, 6 or 9 digits, the fewest that represent it (`event-model.md` §13.2); `None` otherwise.
fn canonical_nanos(text: &str) -> Option<i128> {
    let body = text.strip_suffix('Z')?;
    if !body.is_ascii() || body.len() < 19 {
        return None;
    }
    let (main, fraction) = body.split_at(19);
    let shape_ok = main.bytes().enumerate().all(|(i, b)| match i {
        4 | 7 => b == b'-',
        10 => b == b'T',
        13 | 16 => b == b':',
        _ => b.is_ascii_digit(),
    });
    if !shape_ok {
        return None;
    }
    let number = |range: std::ops::Range<usize>| main[range].parse::<i128>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let nanos = match fraction.strip_prefix('.') {
        None if fraction.is_empty() => 0,
        Some(digits)
            if [3, 6, 9].contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !digits.ends_with("000") =>
        {
            format!("{digits:0<9}").parse::<i128>().ok()?
        }
        _ => return None,
    };
    let in_range = (1..=12).contains(&month) && (1..=31).contains(&day);
    if !in_range || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Days from the civil date (proleptic Gregorian), after Howard Hinnant.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    Some(seconds * 1_000_000_000 + nanos)
}

/// The source connection's id, from the server's banner.
fn connection_id(server: &TestServer) -> String {
    server
        .stdout
        .iter()
        .find_map(|line| {
            let rest = line.strip_prefix("Source ")?;
            let (_, after) = rest.split_once("(connection ")?;
            Some(after.split_once(')')?.0.to_string())
        })
        .unwrap_or_else(|| panic!("no connection id in {:?}", server.stdout))
}

/// What a client run left behind.
struct ClientRun {
    /// `None` when it was killed (deadline) or died from a signal.
    status: Option<i32>,
    stderr: String,
    timed_out: bool,
}

impl ClientRun {
    fn describe_status(&self) -> String {
        match (self.timed_out, self.status) {
            (true, _) => format!("killed after {CLIENT_DEADLINE:?}"),
            (false, Some(code)) => format!("exit status {code}"),
            (false, None) => "killed by a signal".to_string(),
        }
    }
}

fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sdk")
}

/// Runs the SDK's client script against `server`; `report` asks for Weir's `Weir-Report`.
fn run_client(sdk: &Sdk, server: &TestServer, run: &str, report: bool) -> ClientRun {
    let host = format!("http://{}", server.address);
    let mut command = Command::new(sdk.interpreter);
    command
        .arg(sdk_dir().join(sdk.script))
        .args([host.as_str(), server.write_key.as_str(), run])
        .current_dir(sdk_dir())
        // Loopback must never go through a proxy, and Python should leave no __pycache__.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if report {
        command.env("WEIR_SDK_REPORT", "1");
    } else {
        command.env_remove("WEIR_SDK_REPORT");
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("{} cannot be started: {e}", sdk.interpreter));
    let mut stderr_pipe = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + CLIENT_DEADLINE;
    let (status, timed_out) = loop {
        if let Some(status) = child.try_wait().expect("wait for the client") {
            break (status.code(), false);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = reader.join().unwrap_or_default();
    ClientRun {
        status,
        stderr,
        timed_out,
    }
}

/// Runs the client once more against a fresh server asking for Weir's report, for a failure
/// message that says what Weir made of each event.
fn diagnose(sdk: &Sdk) -> String {
    let mut server = TestServer::start();
    let run = format!("d{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let client = run_client(sdk, &server, &run, true);
    server.stop();
    format!(
        "re-run with WEIR_SDK_REPORT=1 ({}), stderr:\n{}",
        client.describe_status(),
        client.stderr
    )
}

/// Whether `interpreter --version` runs.
fn interpreter_runs(interpreter: &str) -> Result<(), String> {
    match Command::new(interpreter)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("`{interpreter} --version` failed ({status})")),
        Err(error) => Err(format!("{interpreter} is not on PATH ({error})")),
    }
}

/// Prints `skipped: <why>`, or fails when `WEIR_REQUIRE_SERVICES=1`.
#[track_caller]
fn skip_or_fail(why: &str) {
    if std::env::var("WEIR_REQUIRE_SERVICES").as_deref() == Ok("1") {
        panic!("{why} (WEIR_REQUIRE_SERVICES=1 requires the SDK clients)");
    }
    println!("skipped: {why}");
}

#[test]
fn canonical_datetimes_parse() {
    assert_eq!(canonical_nanos("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(
        canonical_nanos("2024-01-02T03:04:05Z"),
        Some(1_704_164_645 * 1_000_000_000)
    );
    assert_eq!(
        canonical_nanos("2024-01-02T03:04:05.612318Z"),
        Some(1_704_164_645 * 1_000_000_000 + 612_318_000)
    );
    for bad in [
        "2024-01-02T03:04:05",
        "2024-01-02T03:04:05.000Z",
        "2024-01-02T03:04:05.5Z",
        "2024-01-02T03:04:05.612000Z",
        "2024-01-02 03:04:05Z",
        "2024-01-02T03:04:05+00:00",
        "Z",
    ] {
        assert_eq!(canonical_nanos(bad), None, "{bad}");
    }
}
