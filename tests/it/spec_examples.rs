//! The conformance examples of `shared/spec/examples.md`, run as data through `weir-spec`'s
//! public API: every case in `tests/fixtures/examples/*.txt` (format in that folder's
//! README). All cases run; the test fails listing every case that did not match.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;

use weir_spec::{
    Compat, EventScope, EventType, Limits, Outcome, Request, Route, Timestamp, normalize_body,
    request_ip,
};

const RECEIVED_AT: &str = "2024-10-31T14:39:15.123Z";
const CONNECTION_ID: &str = "JsSrc5Hd7kWq";

#[derive(Debug, Default)]
struct Case {
    id: String,
    path: String,
    connector: String,
    peer: String,
    xff: Option<String>,
    body: Vec<u8>,
    error: Option<String>,
    write_key: Option<String>,
    outcomes: Vec<Expected>,
    reject_all: Option<String>,
    count: Option<usize>,
}

#[derive(Debug)]
enum Expected {
    Accept(String),
    Context(String),
    Reject {
        message_id: Option<String>,
        message: String,
    },
}

fn parse_cases(file: &str, text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    for block in text.split("\n## ").filter(|b| !b.trim().is_empty()) {
        let mut lines = block.lines();
        let title = lines.next().unwrap_or_default().trim_start_matches("## ");
        let mut case = Case {
            id: format!("{file}: {title}"),
            path: "/v1/events".into(),
            connector: "javascript".into(),
            peer: "192.168.1.1".into(),
            ..Case::default()
        };
        for line in lines {
            let Some((key, value)) = line
                .split_once(": ")
                .or_else(|| line.strip_suffix(':').map(|k| (k, "")))
            else {
                continue;
            };
            match key {
                "path" => case.path = value.into(),
                "connector" => case.connector = value.into(),
                "peer" => case.peer = value.into(),
                "xff" => case.xff = Some(value.into()),
                "body" => case.body = value.as_bytes().to_vec(),
                "body-repeat" => {
                    let (element, count) = value
                        .split_once(' ')
                        .expect("body-repeat: <element> <count>");
                    let count: usize = count.parse().expect("count");
                    case.body = format!("[{}]", vec![element; count].join(",")).into_bytes();
                }
                "error" => case.error = Some(value.into()),
                "write-key" => case.write_key = Some(value.into()),
                "accept" => case.outcomes.push(Expected::Accept(value.into())),
                "context" => case.outcomes.push(Expected::Context(value.into())),
                "reject" => case.outcomes.push(Expected::Reject {
                    message_id: None,
                    message: value.into(),
                }),
                "reject-all" => case.reject_all = Some(value.into()),
                "count" => case.count = Some(value.parse().expect("count")),
                key if key.starts_with("reject(") => {
                    let id = key.trim_start_matches("reject(").trim_end_matches(')');
                    case.outcomes.push(Expected::Reject {
                        message_id: Some(id.into()),
                        message: value.into(),
                    });
                }
                other => panic!("{}: unknown key {other:?}", case.id),
            }
        }
        cases.push(case);
    }
    cases
}

fn route(path: &str) -> Route {
    let typed =
        |name: &str| EventType::from_name(name).unwrap_or_else(|| panic!("unknown type in {path}"));
    match path {
        "/v1/events" => Route {
            compat: Compat::Krenalis,
            event_type: None,
        },
        "/v1/batch" => Route {
            compat: Compat::Segment,
            event_type: None,
        },
        _ => match path.strip_prefix("/v1/events/") {
            Some(name) => Route {
                compat: Compat::Krenalis,
                event_type: Some(typed(name)),
            },
            None => Route {
                compat: Compat::Segment,
                event_type: Some(typed(&path["/v1/".len()..])),
            },
        },
    }
}

/// Runs one case; returns a description of every mismatch.
fn run(case: &Case) -> Result<(), String> {
    let received_at = Timestamp::parse(RECEIVED_AT).expect("valid receive time");
    let peer: IpAddr = case.peer.parse().expect("peer");
    let request_ip = match request_ip(case.xff.as_deref().map(str::as_bytes), peer) {
        Ok(ip) => ip,
        Err(error) => return check_error(case, &error.to_string()),
    };
    let body = normalize_body(&case.body);
    let request = match Request::parse(&body, route(&case.path), Limits::default()) {
        Ok(request) => request,
        Err(error) => return check_error(case, &error.to_string()),
    };
    if let Some(expected) = &case.error {
        return Err(format!(
            "expected error {expected:?}, but the request was accepted"
        ));
    }
    let mut problems = String::new();
    if let Some(expected) = &case.write_key {
        let actual = match request.body_write_key() {
            Ok(Some(key)) => key.to_string(),
            Ok(None) => "-".to_string(),
            Err(error) => format!("error {error}"),
        };
        if &actual != expected {
            let _ = writeln!(problems, "write key: expected {expected:?}, got {actual:?}");
        }
    }
    let scope = EventScope {
        connection_id: CONNECTION_ID,
        ip_fallback: case.connector == "javascript",
        received_at,
        request_ip,
        geolocator: None,
    };
    let outcomes = request.decode_events(&scope);
    if let Some(count) = case.count
        && (outcomes.len() != count || request.event_count() != count)
    {
        let _ = writeln!(
            problems,
            "expected {count} outcomes, got {}",
            outcomes.len()
        );
    }
    if let Some(message) = &case.reject_all {
        for outcome in &outcomes {
            match outcome {
                Outcome::Rejected(r)
                    if r.error.to_string() == *message && r.message_id.is_none() => {}
                other => {
                    let _ = writeln!(
                        problems,
                        "expected every event rejected with {message:?}, got {other:?}"
                    );
                    break;
                }
            }
        }
    } else if outcomes.len() != case.outcomes.len() {
        let _ = writeln!(
            problems,
            "expected {} outcomes, got {}: {outcomes:?}",
            case.outcomes.len(),
            outcomes.len()
        );
    }
    for (index, (expected, actual)) in case.outcomes.iter().zip(&outcomes).enumerate() {
        if let Err(problem) = check_outcome(expected, actual, index, received_at) {
            let _ = writeln!(problems, "outcome {index}: {problem}");
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn check_error(case: &Case, actual: &str) -> Result<(), String> {
    match &case.error {
        Some(expected) if expected == actual => Ok(()),
        Some(expected) => Err(format!("expected error {expected:?}, got {actual:?}")),
        None => Err(format!("unexpected request error {actual:?}")),
    }
}

fn check_outcome(
    expected: &Expected,
    actual: &Outcome,
    index: usize,
    received_at: Timestamp,
) -> Result<(), String> {
    match (expected, actual) {
        (Expected::Accept(pattern), Outcome::Accepted(event)) => {
            let json = event.to_canonical_json();
            matches_pattern(pattern, &json, received_at)?;
            let reread = weir_spec::Event::from_canonical_json(&json)
                .map_err(|e| format!("canonical JSON does not read back: {e}"))?;
            if reread != **event {
                return Err(format!("canonical JSON reads back differently: {reread:?}"));
            }
            Ok(())
        }
        (Expected::Context(expected), Outcome::Accepted(event)) => {
            let json: serde_json::Value =
                serde_json::from_str(&event.to_canonical_json()).map_err(|e| e.to_string())?;
            let actual = json
                .get("context")
                .cloned()
                .unwrap_or_else(|| serde_json::json!({}));
            let expected: serde_json::Value =
                serde_json::from_str(expected).map_err(|e| format!("bad fixture: {e}"))?;
            if actual == expected {
                Ok(())
            } else {
                Err(format!("context: expected {expected}, got {actual}"))
            }
        }
        (
            Expected::Reject {
                message_id,
                message,
            },
            Outcome::Rejected(rejection),
        ) => {
            let actual = rejection.error.to_string();
            if &actual != message {
                return Err(format!("expected rejection {message:?}, got {actual:?}"));
            }
            if rejection.message_id != *message_id || rejection.index != index {
                return Err(format!(
                    "expected report entry index {index} messageId {message_id:?}, got {} {:?}",
                    rejection.index, rejection.message_id
                ));
            }
            Ok(())
        }
        (expected, actual) => Err(format!("expected {expected:?}, got {actual:?}")),
    }
}

/// Compares canonical JSON with a pattern holding `<CID>`, `<R>`, `<R-Nms>` and `<uuid>`.
fn matches_pattern(pattern: &str, actual: &str, received_at: Timestamp) -> Result<(), String> {
    let mut rest = actual;
    let mut pattern_rest = pattern;
    let mismatch = |at: &str| {
        format!("canonical JSON differs at {at:?}\n  expected {pattern}\n  actual   {actual}")
    };
    while let Some(open) = pattern_rest.find('<') {
        let literal = &pattern_rest[..open];
        rest = rest.strip_prefix(literal).ok_or_else(|| mismatch(rest))?;
        let close = pattern_rest[open..]
            .find('>')
            .map(|c| open + c)
            .ok_or("unclosed placeholder")?;
        let placeholder = &pattern_rest[open + 1..close];
        pattern_rest = &pattern_rest[close + 1..];
        let value = match placeholder {
            "CID" => CONNECTION_ID.to_string(),
            "R" => received_at.to_string(),
            "uuid" => {
                let candidate = rest.get(..36).ok_or_else(|| mismatch(rest))?;
                let uuid = uuid::Uuid::parse_str(candidate).map_err(|_| mismatch(rest))?;
                if uuid.get_version_num() != 4 || candidate != uuid.hyphenated().to_string() {
                    return Err(mismatch(rest));
                }
                candidate.to_string()
            }
            other => {
                let millis: i64 = other
                    .strip_prefix("R-")
                    .and_then(|m| m.strip_suffix("ms"))
                    .and_then(|m| m.parse().ok())
                    .ok_or_else(|| format!("unknown placeholder <{other}>"))?;
                Timestamp::from_unix_millis(received_at.unix_millis() - millis)
                    .expect("in range")
                    .to_string()
            }
        };
        rest = rest
            .strip_prefix(value.as_str())
            .ok_or_else(|| mismatch(rest))?;
    }
    if rest == pattern_rest {
        Ok(())
    } else {
        Err(mismatch(rest))
    }
}

#[test]
fn every_conformance_example_holds() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/examples");
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .expect("fixtures folder")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    let mut total = 0;
    let mut failures = String::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("fixture text");
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        for case in parse_cases(&name, &text) {
            total += 1;
            if let Err(problem) = run(&case) {
                let _ = writeln!(failures, "--- {}\n{problem}", case.id);
            }
        }
    }
    assert!(
        total > 150,
        "expected the full set of examples, found {total}"
    );
    assert!(failures.is_empty(), "conformance cases failed:\n{failures}");
}

/// `shared/spec/sdk-requests.jsonl` (copied into the fixtures): requests captured from real
/// Segment and RudderStack SDKs. Every one must be accepted with all its events.
#[test]
fn every_captured_sdk_request_is_accepted_whole() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sdk-requests.jsonl"),
    )
    .expect("sdk requests fixture");
    let received_at = Timestamp::parse(RECEIVED_AT).expect("valid");
    let mut checked = 0;
    for (line_number, line) in text.lines().enumerate() {
        let captured: serde_json::Value = serde_json::from_str(line).expect("valid JSONL");
        let path = captured["path"].as_str().expect("path");
        let body = serde_json::to_vec(&captured["body"]).expect("body");
        let request = Request::parse(&body, route(path), Limits::default())
            .unwrap_or_else(|e| panic!("line {}: request rejected: {e}", line_number + 1));
        let scope = EventScope {
            connection_id: CONNECTION_ID,
            ip_fallback: false,
            received_at,
            request_ip: "127.0.0.1".parse().expect("ip"),
            geolocator: None,
        };
        let outcomes = request.decode_events(&scope);
        assert!(!outcomes.is_empty());
        for outcome in outcomes {
            match outcome {
                Outcome::Accepted(_) => checked += 1,
                Outcome::Rejected(r) => panic!(
                    "line {}: event {} rejected: {}",
                    line_number + 1,
                    r.index,
                    r.error
                ),
            }
        }
    }
    assert_eq!(checked, 19, "the fixture holds 19 captured events");
}
