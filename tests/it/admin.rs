//! The management API through real HTTP against the real binary (storage-and-pipelines.md §12):
//! first-run bootstrap and restarts and the write-key rules here; authentication, workspace
//! selection and routing errors in `auth`, strict bodies in `bodies`, every resource's round trip
//! in `resources`, the stored-events query and the warehouse check in `events`, and
//! `docs/openapi.yaml` against the served routes in `openapi`.

mod auth;
mod bodies;
mod events;
mod openapi;
mod resources;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use crate::support::{Request, Response, TestServer};

/// A well-formed resource id that names nothing.
const NO_SUCH_ID: &str = "111111111111";

/// Management calls as the admin key, in one workspace.
struct Api<'a> {
    server: &'a TestServer,
    key: String,
    workspace: String,
}

impl<'a> Api<'a> {
    /// The admin key from the data directory, acting in the oldest workspace.
    fn new(server: &'a TestServer) -> Api<'a> {
        let key = admin_key(&server.data_dir);
        let mut api = Api {
            server,
            key,
            workspace: String::new(),
        };
        let listed = api.ok("GET", "/v1/workspaces", None);
        api.workspace = listed["workspaces"][0]["id"]
            .as_str()
            .expect("a workspace")
            .to_owned();
        api
    }

    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Request {
        let mut request = Request::new(method, path).bearer(&self.key);
        if !self.workspace.is_empty() {
            request = request.header("Weir-Workspace", &self.workspace);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string().as_bytes());
        }
        request
    }

    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Response {
        self.server.send(&self.request(method, path, body))
    }

    /// A call that must answer 200 with a JSON object followed by LF.
    #[track_caller]
    fn ok(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let response = self.send(method, path, body);
        assert_eq!(response.status, 200, "{method} {path}: {}", response.text());
        json_body(&response)
    }

    /// A new source connection; returns its id.
    fn add_source(&self, name: &str) -> String {
        let body = json!({"name": name, "role": "Source", "connector": "webhook"});
        let created = self.ok("POST", "/v1/connections", Some(&body));
        created["id"].as_str().expect("id").to_owned()
    }

    fn write_keys(&self, connection: &str) -> Vec<String> {
        let listed = self.ok(
            "GET",
            &format!("/v1/connections/{connection}/event-write-keys"),
            None,
        );
        listed["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| k.as_str().expect("key").to_owned())
            .collect()
    }
}

fn admin_key(data_dir: &Path) -> String {
    fs::read_to_string(data_dir.join("admin.key"))
        .expect("admin.key")
        .trim()
        .to_owned()
}

#[track_caller]
fn json_body(response: &Response) -> Value {
    assert_eq!(
        response.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(response.body.last(), Some(&b'\n'), "{}", response.text());
    serde_json::from_slice(&response.body).unwrap_or_else(|e| panic!("{e}: {}", response.text()))
}

const EVENT: &str = r#"[{"type":"track","anonymousId":"2ab4facf-ca73-4361-b1b2-4472ce053122","event":"page","properties":{"answer":42}}]"#;

fn post_event(server: &TestServer, write_key: &str) -> Response {
    server.send(&Request::post("/v1/events", EVENT).bearer(write_key))
}

/// Every served route with its `{…}` segments filled in.
fn concrete_routes() -> Vec<(&'static str, String)> {
    weir_admin::ROUTES
        .iter()
        .map(|(method, template)| {
            (
                *method,
                template
                    .replace("{id}", NO_SUCH_ID)
                    .replace("{key}", "somekey"),
            )
        })
        .collect()
}

#[test]
fn first_run_bootstraps_once_and_restart_keeps_everything() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = TestServer::start_in(dir.path(), &[]);
    let printed_admin_key = server
        .admin_key
        .clone()
        .expect("first run prints the admin key");
    assert_eq!(admin_key(dir.path()), printed_admin_key);
    let api = Api::new(&server);
    let workspaces = api.ok("GET", "/v1/workspaces", None);
    assert_eq!(workspaces["workspaces"].as_array().map(Vec::len), Some(1));
    assert_eq!(workspaces["workspaces"][0]["name"], "Default");
    let connections = api.ok("GET", "/v1/connections", None);
    let webhook = &connections["connections"][0];
    assert_eq!(
        (&webhook["name"], &webhook["role"], &webhook["connector"]),
        (&json!("Webhook"), &json!("Source"), &json!("webhook"))
    );
    let webhook_id = webhook["id"].as_str().expect("id").to_owned();
    assert_eq!(api.write_keys(&webhook_id), [server.write_key.clone()]);
    let keys = api.ok("GET", "/v1/keys", None);
    assert_eq!(keys["keys"].as_array().map(Vec::len), Some(1));
    assert_eq!(keys["keys"][0]["name"], "Admin");
    assert_eq!(keys["keys"][0]["workspace"], Value::Null);
    assert!(
        !keys.to_string().contains(&printed_admin_key),
        "tokens are never listed"
    );
    assert_eq!(post_event(&server, &server.write_key).status, 200);

    // Things to find again after the restart.
    let source = api.add_source("My app");
    let second_key = api.ok(
        "POST",
        &format!("/v1/connections/{source}/event-write-keys"),
        None,
    )["key"]
        .clone();
    let pipeline =
        json!({"connection": source, "target": "Event", "name": "Import events", "enabled": true});
    let pipeline = api.ok("POST", "/v1/pipelines", Some(&pipeline))["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let limit = json!({"ratePerMinute": 60000, "maxCapacity": 20000});
    api.ok(
        "PUT",
        "/v1/workspaces/current",
        Some(&json!({"eventsRateLimit": limit})),
    );
    let token = api.ok("POST", "/v1/keys", Some(&json!({"name": "ci"})))["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let before = (
        api.ok("GET", "/v1/workspaces", None),
        api.ok("GET", "/v1/connections", None),
        api.ok("GET", "/v1/pipelines", None),
        api.ok("GET", "/v1/keys", None),
        api.write_keys(&source),
    );
    drop(api);

    let first_write_key = server.write_key.clone();
    assert!(server.stop(), "clean exit");
    let server = TestServer::start_in(dir.path(), &[]);
    assert_eq!(server.admin_key, None, "no new admin key on a second start");
    assert_eq!(admin_key(dir.path()), printed_admin_key);
    assert_eq!(
        server.write_key, first_write_key,
        "the same write key is printed again"
    );
    let api = Api::new(&server);
    assert_eq!(api.write_keys(&webhook_id), [first_write_key]);
    let after = (
        api.ok("GET", "/v1/workspaces", None),
        api.ok("GET", "/v1/connections", None),
        api.ok("GET", "/v1/pipelines", None),
        api.ok("GET", "/v1/keys", None),
        api.write_keys(&source),
    );
    assert_eq!(after, before);
    assert_eq!(after.0["workspaces"][0]["eventsRateLimit"], limit);
    assert_eq!(after.2["pipelines"][0]["id"], pipeline.as_str());
    assert_eq!(after.2["pipelines"][0]["enabled"], true);
    assert_eq!(after.4[1], second_key);
    let with_token = Request::new("GET", "/v1/keys").bearer(&token);
    assert_eq!(
        server.send(&with_token).status,
        200,
        "API keys survive restarts"
    );
    assert_eq!(
        post_event(&server, &after.4[1]).status,
        200,
        "write keys survive restarts"
    );
}

#[test]
fn event_write_keys_are_capped_at_twenty() {
    let server = TestServer::start();
    let api = Api::new(&server);
    let source = api.add_source("Busy");
    let path = format!("/v1/connections/{source}/event-write-keys");
    for _ in 1..20 {
        let key = api.ok("POST", &path, None)["key"]
            .as_str()
            .expect("key")
            .to_owned();
        assert!(
            key.len() == 32 && key.bytes().all(|b| b.is_ascii_alphanumeric()),
            "{key}"
        );
    }
    api.send("POST", &path, None).assert_error(
        422,
        "TooManyEventWriteKeys",
        &format!("connection {source} already has 20 event write keys"),
    );
    let keys = api.write_keys(&source);
    assert_eq!(keys.len(), 20);
    assert_eq!(
        keys.iter().collect::<BTreeSet<_>>().len(),
        20,
        "keys are distinct"
    );
}

#[test]
fn the_last_write_key_cannot_be_deleted() {
    let server = TestServer::start();
    let api = Api::new(&server);
    let source = api.add_source("Single");
    let keys = api.write_keys(&source);
    let delete = |key: &str| {
        api.send(
            "DELETE",
            &format!("/v1/connections/{source}/event-write-keys/{key}"),
            None,
        )
    };
    delete(&keys[0]).assert_error(
        422,
        "SingleEventWriteKey",
        "key cannot be deleted as it is the connection\u{2019}s only key",
    );
    // A key of another connection deletes nothing.
    let response = delete(&server.write_key);
    assert_eq!((response.status, json_body(&response)), (200, json!({})));
    assert_eq!(post_event(&server, &server.write_key).status, 200);
    // With a second key, the first can go.
    let second = api.ok(
        "POST",
        &format!("/v1/connections/{source}/event-write-keys"),
        None,
    )["key"]
        .clone();
    assert_eq!(delete(&keys[0]).status, 200);
    assert_eq!(api.write_keys(&source), [second.as_str().expect("key")]);
}

#[test]
fn a_deleted_write_key_is_refused_by_the_very_next_request() {
    let server = TestServer::start();
    let api = Api::new(&server);
    let source = api.add_source("Rotating");
    let old = api.write_keys(&source).remove(0);
    let new = api.ok(
        "POST",
        &format!("/v1/connections/{source}/event-write-keys"),
        None,
    )["key"]
        .as_str()
        .expect("key")
        .to_owned();
    assert_eq!(
        post_event(&server, &new).status,
        200,
        "a new key works at once"
    );
    assert_eq!(post_event(&server, &old).status, 200);
    assert_eq!(
        api.send(
            "DELETE",
            &format!("/v1/connections/{source}/event-write-keys/{old}"),
            None
        )
        .status,
        200
    );
    post_event(&server, &old).assert_error(
        401,
        "Unauthorized",
        "event write key in the Authorization header is not valid",
    );
    assert_eq!(post_event(&server, &new).status, 200);
    // Deleting the connection revokes its keys too.
    assert_eq!(
        api.send("DELETE", &format!("/v1/connections/{source}"), None)
            .status,
        200
    );
    post_event(&server, &new).assert_error(
        401,
        "Unauthorized",
        "event write key in the Authorization header is not valid",
    );
}
