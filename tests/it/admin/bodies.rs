//! Strict request bodies: unknown members, wrong types, out-of-range values, bad JSON, content
//! type and size are 400/413 naming what is wrong, and change nothing.

use serde_json::{Value, json};

use super::{Api, json_body};
use crate::support::{Request, TestServer};

#[test]
fn bodies_are_validated_strictly() {
    let server = TestServer::start();
    let api = Api::new(&server);
    let source = api.add_source("Strict");
    let pipeline = json!({"connection": source, "target": "Event", "name": "p"});
    let pipeline = api.ok("POST", "/v1/pipelines", Some(&pipeline))["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let before = (
        api.ok("GET", "/v1/connections", None),
        api.ok("GET", "/v1/workspaces/current", None),
        api.ok("GET", "/v1/pipelines", None),
    );
    let connection = |extra: Value| {
        let mut body = json!({"name": "x", "role": "Source", "connector": "webhook"});
        if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
            body.extend(extra);
        }
        body
    };
    let limit = |rate: Value, capacity: Value| json!({"eventsRateLimit": {"ratePerMinute": rate, "maxCapacity": capacity}});
    let status_path = format!("/v1/pipelines/{pipeline}/status");
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        (
            "POST",
            "/v1/connections",
            connection(json!({"colour": "red"})),
            "unknown field \"colour\"; the known fields are name, role, connector, strategy, linkedConnections, settings",
        ),
        (
            "POST",
            "/v1/connections",
            json!({"nmae": "x", "role": "Source", "connector": "webhook"}),
            "unknown field \"nmae\"; the known fields are name, role, connector, strategy, linkedConnections, settings",
        ),
        (
            "PUT",
            "/v1/workspaces/current",
            json!({"warehouse": {"platform": "SQLite", "settings": {"url": "postgres://db"}}}),
            "unknown field \"warehouse.settings.url\"; no fields are allowed here",
        ),
        (
            "POST",
            "/v1/connections",
            connection(json!({"name": 5})),
            "name must be a string, not a number",
        ),
        (
            "POST",
            "/v1/connections",
            connection(json!({"name": "x".repeat(61)})),
            "name must be at most 60 characters long, not 61",
        ),
        (
            "POST",
            "/v1/connections",
            connection(json!({"role": "source"})),
            "role must be one of \"Source\", \"Destination\", not \"source\"",
        ),
        (
            "POST",
            "/v1/connections",
            connection(json!({"settings": {"url": "x"}})),
            "settings is not supported yet",
        ),
        (
            "POST",
            "/v1/connections",
            json!({"role": "Source", "connector": "webhook"}),
            "name is required",
        ),
        (
            "POST",
            "/v1/connections",
            json!(["x"]),
            "request body must be a JSON object, not an array",
        ),
        (
            "PUT",
            "/v1/workspaces/current",
            limit(json!(999), json!(1000)),
            "eventsRateLimit.ratePerMinute must be between 1000 and 100000000, not 999",
        ),
        (
            "PUT",
            "/v1/workspaces/current",
            limit(json!(100_000_001), json!(1000)),
            "eventsRateLimit.ratePerMinute must be between 1000 and 100000000, not 100000001",
        ),
        (
            "PUT",
            "/v1/workspaces/current",
            limit(json!(1000), json!(10_000_001)),
            "eventsRateLimit.maxCapacity must be between 1000 and 10000000, not 10000001",
        ),
        (
            "PUT",
            "/v1/workspaces/current",
            limit(json!(1000), json!(999)),
            "eventsRateLimit.maxCapacity must be between 1000 and 10000000, not 999",
        ),
        (
            "PUT",
            "/v1/workspaces/current",
            limit(json!("fast"), json!(1000)),
            "eventsRateLimit.ratePerMinute must be a non-negative integer, not a string",
        ),
        (
            "PUT",
            "/v1/workspaces/current",
            limit(json!(-1), json!(1000)),
            "eventsRateLimit.ratePerMinute must be a non-negative integer, not -1",
        ),
        (
            "PUT",
            "/v1/workspaces/current",
            json!({"eventsRateLimit": {"ratePerMinute": 1000}}),
            "eventsRateLimit.maxCapacity is required",
        ),
        (
            "PUT",
            "/v1/workspaces/current",
            json!({"eventsRateLimit": {"ratePerMinute": 1000, "maxCapacity": 1000, "burst": 1}}),
            "unknown field \"eventsRateLimit.burst\"; the known fields are ratePerMinute, maxCapacity",
        ),
        (
            "PUT",
            "/v1/workspaces/current",
            json!({"warehouse": {"platform": "PostgreSQL", "settings": {"url": "mysql://db"}}}),
            "warehouse.settings.url must be a postgres:// or postgresql:// URL",
        ),
        (
            "PUT",
            &status_path,
            json!({"enabled": "yes"}),
            "enabled must be a boolean, not a string",
        ),
        ("PUT", &status_path, json!({}), "enabled is required"),
        (
            "POST",
            "/v1/pipelines",
            json!({"connection": source, "target": "Event", "name": "p", "transformation": {"mapping": {}}}),
            "transformation can only be set for User pipelines",
        ),
        (
            "POST",
            "/v1/pipelines",
            json!({"connection": source, "target": "Event", "name": "p", "filter": "type = track"}),
            "filter must be a JSON object or null",
        ),
        (
            "POST",
            "/v1/keys",
            json!({"name": "k", "workspace": "nope"}),
            "workspace \"nope\" is not a valid workspace identifier",
        ),
    ];
    for (method, path, body, message) in cases {
        api.send(method, path, Some(&body))
            .assert_error(400, "BadRequest", message);
    }
    let raw = |body: &[u8], content_type: &str| {
        let request = Request::new("POST", "/v1/connections")
            .bearer(&api.key)
            .header("Weir-Workspace", &api.workspace);
        server.send(&request.header("Content-Type", content_type).body(body))
    };
    let response = raw(b"{\"name\":", "application/json");
    assert_eq!(response.status, 400);
    assert!(
        json_body(&response)["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("request body is not valid JSON: ")),
        "{}",
        response.text()
    );
    raw(b"", "application/json").assert_error(
        400,
        "BadRequest",
        "request body is missing; it must be a JSON object",
    );
    raw(
        br#"{"name":"x","role":"Source","connector":"webhook"}"#,
        "text/plain",
    )
    .assert_error(
        400,
        "BadRequest",
        "request's content type must be 'application/json'",
    );
    let declared = Request::new("POST", "/v1/connections")
        .bearer(&api.key)
        .header("Weir-Workspace", &api.workspace)
        .header("Content-Type", "application/json")
        .header("Content-Length", "600000")
        .without_framing();
    server
        .send(&declared)
        .assert_error(413, "RequestEntityTooLarge", "Request Entity Too Large");
    // Nothing changed.
    let after = (
        api.ok("GET", "/v1/connections", None),
        api.ok("GET", "/v1/workspaces/current", None),
        api.ok("GET", "/v1/pipelines", None),
    );
    assert_eq!(after, before);
}
