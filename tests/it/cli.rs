//! The management CLI (`weir sources …`, `weir keys …`, `weir pipelines …`, …) run as a
//! process against a real server: it finds the server and the admin key in the data directory,
//! prints tables or `--json`, and fails with one line on stderr and a non-zero exit.

use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{Request, TestServer, weir_binary};

/// What a `weir` run printed.
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `weir <args>` with no `WEIR_*` variables but `env`.
fn weir(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(weir_binary());
    command.args(args);
    for variable in [
        "WEIR_DATA_DIR",
        "WEIR_SERVER",
        "WEIR_API_KEY",
        "WEIR_WORKSPACE",
    ] {
        command.env_remove(variable);
    }
    command.envs(env.iter().copied());
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("weir runs");
    Run {
        success: status.success(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// `weir <args> --data-dir <the server's>`, which must succeed; its stdout.
#[track_caller]
fn ok(server: &TestServer, args: &[&str]) -> String {
    let run = in_data_dir(server, args);
    assert!(run.success, "weir {args:?} failed: {}", run.stderr);
    run.stdout
}

/// As [`ok`], parsing stdout as JSON (`--json` is added).
#[track_caller]
fn ok_json(server: &TestServer, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let stdout = ok(server, &args);
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("weir {args:?} printed no JSON ({e}): {stdout}"))
}

/// `weir <args> --data-dir <the server's>`, which must fail with one line on stderr; that line.
#[track_caller]
fn fails(server: &TestServer, args: &[&str]) -> String {
    let run = in_data_dir(server, args);
    assert!(!run.success, "weir {args:?} succeeded: {}", run.stdout);
    one_line(&run)
}

#[track_caller]
fn one_line(run: &Run) -> String {
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "stderr: {:?}", run.stderr);
    assert!(lines[0].starts_with("error: "), "{}", lines[0]);
    lines[0].to_owned()
}

fn in_data_dir(server: &TestServer, args: &[&str]) -> Run {
    let data_dir = server.data_dir.to_str().expect("UTF-8 path");
    let mut args = args.to_vec();
    args.extend(["--data-dir", data_dir]);
    weir(&args, &[])
}

const EVENT: &str = r#"[{"type":"track","anonymousId":"2ab4facf-ca73-4361-b1b2-4472ce053122","event":"page","properties":{"answer":42}}]"#;

/// The id of the source connection called `name`, from `weir sources list --json`.
fn source_id(server: &TestServer, name: &str) -> String {
    let listed = ok_json(server, &["sources", "list"]);
    let connections = listed["connections"].as_array().expect("connections");
    let source = connections
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {listed}"));
    source["id"].as_str().expect("id").to_owned()
}

#[test]
fn sources_add_webhook_then_keys_list_gives_a_working_key() {
    let server = TestServer::start();
    let added = ok(&server, &["sources", "add", "webhook", "--name", "My app"]);
    assert!(
        added.starts_with("Added source \"My app\" (webhook), connection "),
        "{added}"
    );
    let id = source_id(&server, "My app");
    assert!(added.contains(&id), "{added}");
    let keys = ok(&server, &["keys", "list", "--source", &id]);
    let keys: Vec<&str> = keys.lines().collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        added.contains(&format!("Event write key: {}", keys[0])),
        "add prints the key: {added}"
    );
    let response = server.send(&Request::post("/v1/events", EVENT).bearer(keys[0]));
    assert_eq!(response.status, 200, "{}", response.text());

    let table = ok(&server, &["sources", "list"]);
    let header = table.lines().next().expect("header");
    assert!(
        header.starts_with("ID") && header.contains("NAME") && header.contains("CONNECTOR"),
        "{table}"
    );
    assert!(
        table.lines().any(|line| line.starts_with(&id)
            && line.contains("My app")
            && line.contains("webhook")),
        "{table}"
    );

    // Rotation: a second key, then the first one goes.
    let second = ok(&server, &["keys", "create", "--source", &id])
        .trim()
        .to_owned();
    assert_eq!(second.len(), 32);
    ok(&server, &["keys", "delete", "--source", &id, keys[0]]);
    assert_eq!(
        ok(&server, &["keys", "list", "--source", &id]).trim(),
        second
    );
    server
        .send(&Request::post("/v1/events", EVENT).bearer(keys[0]))
        .assert_error(
            401,
            "Unauthorized",
            "event write key in the Authorization header is not valid",
        );
    ok(&server, &["sources", "delete", &id]);
    assert!(!ok(&server, &["sources", "list"]).contains(&id));
}

#[test]
fn json_output_is_the_apis_json() {
    let server = TestServer::start();
    let workspaces = ok_json(&server, &["workspaces", "list"]);
    assert_eq!(workspaces["workspaces"][0]["name"], "Default");
    let added = ok_json(
        &server,
        &[
            "sources",
            "add",
            "javascript",
            "--name",
            "Site",
            "--strategy",
            "Fusion",
        ],
    );
    assert_eq!(
        (&added["connector"], &added["strategy"]),
        (&Value::from("javascript"), &Value::from("Fusion"))
    );
    assert_eq!(added["eventWriteKeys"].as_array().map(Vec::len), Some(1));
    let id = added["id"].as_str().expect("id");
    let keys = ok_json(&server, &["keys", "list", "--source", id]);
    assert_eq!(keys["keys"], added["eventWriteKeys"]);
    let created = ok_json(&server, &["keys", "create", "--source", id]);
    assert_eq!(created["key"].as_str().map(str::len), Some(32));
    let api_keys = ok_json(&server, &["api-keys", "list"]);
    assert_eq!(api_keys["keys"][0]["name"], "Admin");
    let shown = ok_json(&server, &["workspaces", "show"]);
    assert_eq!(shown["eventsRateLimit"], Value::Null);
    let updated = ok_json(
        &server,
        &[
            "workspaces",
            "update",
            "--rate-per-minute",
            "60000",
            "--max-capacity",
            "20000",
        ],
    );
    assert_eq!(
        updated["eventsRateLimit"],
        serde_json::json!({"ratePerMinute": 60000, "maxCapacity": 20000})
    );
}

#[test]
fn pipelines_from_the_command_line() {
    let server = TestServer::start();
    let source = source_id(&server, "Webhook");
    let filter = r#"{"logical":"and","conditions":[{"property":"type","operator":"is","values":["track"]}]}"#;
    let added = ok(
        &server,
        &[
            "pipelines",
            "add",
            "--source",
            &source,
            "--name",
            "Import events",
            "--target",
            "event",
            "--filter",
            filter,
        ],
    );
    assert!(
        added.starts_with("Added pipeline \"Import events\" ("),
        "{added}"
    );
    ok(
        &server,
        &[
            "pipelines",
            "add",
            "--source",
            &source,
            "--name",
            "Import users",
            "--target",
            "user",
            "--enabled",
        ],
    );
    let listed = ok_json(&server, &["pipelines", "list", "--source", &source]);
    let pipelines = listed["pipelines"].as_array().expect("pipelines").clone();
    assert_eq!(pipelines.len(), 2);
    let events = pipelines[0]["id"].as_str().expect("id").to_owned();
    assert_eq!(
        (&pipelines[0]["target"], &pipelines[0]["enabled"]),
        (&Value::from("Event"), &Value::from(false))
    );
    assert_eq!(
        pipelines[0]["filter"],
        serde_json::from_str::<Value>(filter).expect("filter")
    );
    assert_eq!(
        (&pipelines[1]["target"], &pipelines[1]["enabled"]),
        (&Value::from("User"), &Value::from(true))
    );

    let enabled = ok(&server, &["pipelines", "enable", &events]);
    assert!(
        enabled
            .lines()
            .any(|line| line.starts_with(&events) && line.trim_end().ends_with("yes")),
        "{enabled}"
    );
    assert_eq!(
        ok_json(&server, &["pipelines", "show", &events])["enabled"],
        true
    );
    ok(&server, &["pipelines", "disable", &events]);
    assert_eq!(
        ok_json(&server, &["pipelines", "show", &events])["enabled"],
        false
    );
    ok(&server, &["pipelines", "delete", &events]);
    let table = ok(&server, &["pipelines", "list"]);
    assert!(
        !table.contains(&events) && table.contains("Import users"),
        "{table}"
    );
}

#[test]
fn failures_exit_non_zero_with_one_line() {
    let server = TestServer::start();
    let source = source_id(&server, "Webhook");
    let line = fails(
        &server,
        &["keys", "delete", "--source", &source, &server.write_key],
    );
    assert_eq!(
        line,
        "error: key cannot be deleted as it is the connection\u{2019}s only key (422 SingleEventWriteKey)"
    );
    let line = fails(&server, &["sources", "show", "111111111111"]);
    assert_eq!(
        line,
        "error: connection 111111111111 does not exist (404 NotFound)"
    );
    let line = fails(
        &server,
        &[
            "workspaces",
            "update",
            "--rate-per-minute",
            "999",
            "--max-capacity",
            "1000",
        ],
    );
    assert_eq!(
        line,
        "error: eventsRateLimit.ratePerMinute must be between 1000 and 100000000, not 999 (400 BadRequest)"
    );
    let line = fails(
        &server,
        &[
            "pipelines",
            "add",
            "--source",
            &source,
            "--name",
            "x",
            "--target",
            "event",
            "--filter",
            "{not json",
        ],
    );
    assert!(
        line.starts_with("error: --filter is not valid JSON: "),
        "{line}"
    );

    // No server at the URL, no data directory, a wrong key.
    let key = server.admin_key.clone().expect("admin key");
    let run = weir(
        &[
            "sources",
            "list",
            "--server",
            "http://127.0.0.1:9",
            "--api-key",
            &key,
        ],
        &[],
    );
    assert!(!run.success);
    assert!(
        one_line(&run).starts_with("error: cannot reach the Weir server at http://127.0.0.1:9: "),
        "{}",
        run.stderr
    );
    let missing = server.data_dir.join("nowhere");
    let run = weir(
        &[
            "sources",
            "list",
            "--data-dir",
            missing.to_str().expect("UTF-8"),
        ],
        &[],
    );
    assert!(!run.success);
    assert!(
        one_line(&run).starts_with("error: cannot find the server: reading "),
        "{}",
        run.stderr
    );
    let run = in_data_dir(&server, &["sources", "list", "--api-key", "api_nope"]);
    assert!(!run.success);
    assert_eq!(
        one_line(&run),
        "error: API key in the Authorization header of the request is malformed (401 Unauthorized)"
    );
}

#[test]
fn server_key_and_workspace_can_be_given_explicitly() {
    let server = TestServer::start();
    let url = format!("http://{}", server.address);
    let key = server.admin_key.clone().expect("admin key");
    // From the environment, with a data directory that holds nothing.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let env = [
        ("WEIR_SERVER", url.as_str()),
        ("WEIR_API_KEY", key.as_str()),
        ("WEIR_DATA_DIR", elsewhere.path().to_str().expect("UTF-8")),
    ];
    let run = weir(&["sources", "list"], &env);
    assert!(run.success, "{}", run.stderr);
    assert!(run.stdout.contains("Webhook"), "{}", run.stdout);

    // With two workspaces, an instance key must choose.
    let created = ok_json(&server, &["workspaces", "create", "--name", "Second"]);
    let second = created["id"].as_str().expect("id").to_owned();
    let line = fails(&server, &["sources", "list"]);
    assert_eq!(
        line,
        "error: there are 2 workspaces; choose one with --workspace <ID> (see `weir workspaces list`)"
    );
    ok(
        &server,
        &[
            "sources",
            "add",
            "webhook",
            "--name",
            "Second app",
            "--workspace",
            &second,
        ],
    );
    let listed = ok_json(&server, &["sources", "list", "--workspace", &second]);
    assert_eq!(listed["connections"].as_array().map(Vec::len), Some(1));

    // A key restricted to a workspace needs no --workspace.
    let created = ok_json(
        &server,
        &[
            "api-keys",
            "create",
            "--name",
            "second",
            "--restrict-to",
            &second,
        ],
    );
    let token = created["token"].as_str().expect("token").to_owned();
    let run = in_data_dir(&server, &["sources", "list", "--api-key", &token]);
    assert!(run.success, "{}", run.stderr);
    assert!(
        run.stdout.contains("Second app") && !run.stdout.contains("Webhook"),
        "{}",
        run.stdout
    );
    let listed = ok(&server, &["api-keys", "list"]);
    assert!(
        listed.contains("second") && !listed.contains(&token),
        "{listed}"
    );
    ok(
        &server,
        &["api-keys", "delete", created["id"].as_str().expect("id")],
    );
    let run = in_data_dir(&server, &["sources", "list", "--api-key", &token]);
    assert_eq!(
        one_line(&run),
        "error: API key in the Authorization header of the request does not exist (401 Unauthorized)"
    );
    ok(&server, &["workspaces", "delete", &second]);
    assert!(!ok(&server, &["workspaces", "list"]).contains(&second));
}
