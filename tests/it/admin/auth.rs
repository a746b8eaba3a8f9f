//! Authentication and routing of every management route (§12.1): the `Authorization` errors,
//! workspace selection by key and `Weir-Workspace`, and 404/405 for unknown routes and methods.

use serde_json::{Value, json};

use super::{Api, NO_SUCH_ID, concrete_routes, json_body};
use crate::support::{Request, TestServer};

#[test]
fn every_route_requires_a_valid_api_key() {
    let server = TestServer::start();
    let api = Api::new(&server);
    let revoked = api.ok("POST", "/v1/keys", Some(&json!({"name": "soon revoked"})));
    let revoked_token = revoked["token"].as_str().expect("token").to_owned();
    api.ok(
        "DELETE",
        &format!("/v1/keys/{}", revoked["id"].as_str().expect("id")),
        None,
    );
    let mut malformed = api.key.clone();
    let last = if malformed.ends_with('A') { "B" } else { "A" };
    malformed.replace_range(malformed.len() - 1.., last);
    let not_bearer = "Authorization header is invalid; it should be in the format 'Authorization: Bearer <YOUR_API_KEY>'";
    let cases: Vec<(Vec<String>, u16, &str, &str)> = vec![
        (
            vec![],
            401,
            "Unauthorized",
            "Authorization header with the API key is not present in the request",
        ),
        (
            vec![format!("Bearer {}", server.write_key)],
            400,
            "BadRequest",
            "API key is not valid; API keys start with the api_ prefix",
        ),
        (
            vec![format!("Bearer {malformed}")],
            401,
            "Unauthorized",
            "API key in the Authorization header of the request is malformed",
        ),
        (
            vec!["Bearer api_".to_owned()],
            401,
            "Unauthorized",
            "API key in the Authorization header of the request is malformed",
        ),
        (
            vec![format!("Bearer {revoked_token}")],
            401,
            "Unauthorized",
            "API key in the Authorization header of the request does not exist",
        ),
        (
            vec![format!("Basic {}", api.key)],
            400,
            "BadRequest",
            not_bearer,
        ),
        (vec!["Bearer".to_owned()], 400, "BadRequest", not_bearer),
        (
            vec![format!("Bearer {}", api.key), format!("Bearer {}", api.key)],
            400,
            "BadRequest",
            "request contains multiple Authorization headers",
        ),
    ];
    for (method, path) in concrete_routes() {
        for (headers, status, code, message) in &cases {
            let mut request = Request::new(method, &path).header("Weir-Workspace", &api.workspace);
            for value in headers {
                request = request.header("Authorization", value);
            }
            let response = server.send(&request);
            assert_eq!(
                response.status,
                *status,
                "{method} {path} with {headers:?}: {}",
                response.text()
            );
            response.assert_error(*status, code, message);
        }
    }
}

#[test]
fn workspace_selection_follows_the_key() {
    let server = TestServer::start();
    let api = Api::new(&server);
    let admin = api.key.clone();
    let scoped = |headers: &[(&str, &str)], key: &str| {
        let mut request = Request::new("GET", "/v1/connections").bearer(key);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        server.send(&request)
    };
    scoped(&[], &admin).assert_error(403, "Forbidden", "Weir-Workspace header is missing; provide it in the format 'Weir-Workspace: <WORKSPACE_ID>'");
    scoped(&[("Weir-Workspace", "not-an-id")], &admin).assert_error(400, "BadRequest", "Weir-Workspace header is invalid; it should be in the format 'Weir-Workspace: <WORKSPACE_ID>'");
    scoped(
        &[
            ("Weir-Workspace", &api.workspace),
            ("Weir-Workspace", &api.workspace),
        ],
        &admin,
    )
    .assert_error(
        400,
        "BadRequest",
        "request contains multiple Weir-Workspace headers",
    );
    scoped(&[("Weir-Workspace", NO_SUCH_ID)], &admin).assert_error(
        404,
        "NotFound",
        &format!("workspace {NO_SUCH_ID} does not exist"),
    );
    assert_eq!(
        scoped(&[("Krenalis-Workspace", &api.workspace)], &admin).status,
        200,
        "the Krenalis alias works"
    );
    // Routes outside a workspace need no header.
    assert_eq!(
        server
            .send(&Request::new("GET", "/v1/keys").bearer(&admin))
            .status,
        200
    );

    // A second workspace and a key restricted to it.
    let second = api.ok("POST", "/v1/workspaces", Some(&json!({"name": "Second"})))["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let in_second = Api {
        server: &server,
        key: admin.clone(),
        workspace: second.clone(),
    };
    in_second.add_source("Second app");
    let restricted = api.ok(
        "POST",
        "/v1/keys",
        Some(&json!({"name": "second only", "workspace": second})),
    );
    let restricted = restricted["token"].as_str().expect("token").to_owned();
    scoped(&[("Weir-Workspace", &second)], &restricted).assert_error(
        400,
        "BadRequest",
        "\"Weir-Workspace\" header cannot be provided with a workspace restricted key",
    );
    let listed = json_body(&scoped(&[], &restricted));
    let names: Vec<&Value> = listed["connections"]
        .as_array()
        .expect("list")
        .iter()
        .map(|c| &c["name"])
        .collect();
    assert_eq!(names, [&json!("Second app")]);
    let workspaces =
        json_body(&server.send(&Request::new("GET", "/v1/workspaces").bearer(&restricted)));
    assert_eq!(workspaces["workspaces"].as_array().map(Vec::len), Some(1));
    assert_eq!(workspaces["workspaces"][0]["id"], second.as_str());
    let create = Request::post("/v1/workspaces", r#"{"name":"Third"}"#).bearer(&restricted);
    server.send(&create).assert_error(
        403,
        "Forbidden",
        "a workspace restricted key cannot create workspaces",
    );
    let keys = json_body(&server.send(&Request::new("GET", "/v1/keys").bearer(&restricted)));
    assert_eq!(
        keys["keys"].as_array().map(Vec::len),
        Some(1),
        "a restricted key sees its workspace's keys only"
    );
    // The first workspace's connections are out of its reach.
    let webhook = &api.ok("GET", "/v1/connections", None)["connections"][0]["id"];
    let other = Request::new(
        "GET",
        &format!("/v1/connections/{}", webhook.as_str().expect("id")),
    )
    .bearer(&restricted);
    server.send(&other).assert_error(
        404,
        "NotFound",
        &format!(
            "connection {} does not exist",
            webhook.as_str().expect("id")
        ),
    );
    // Deleting the workspace deletes its restricted key too.
    assert_eq!(
        in_second
            .send("DELETE", "/v1/workspaces/current", None)
            .status,
        200
    );
    scoped(&[], &restricted).assert_error(
        401,
        "Unauthorized",
        "API key in the Authorization header of the request does not exist",
    );
}

#[test]
fn unknown_routes_and_wrong_methods() {
    let server = TestServer::start();
    for path in [
        "/v1/nope",
        "/v1/workspaces/",
        "/v1/connections/x/y",
        "/v2/workspaces",
        "/v1/events/listeners/",
    ] {
        server
            .send(&Request::new("GET", path))
            .assert_error(404, "NotFound", "");
    }
    for (method, path, allow) in [
        ("DELETE", "/v1/workspaces", "GET, POST"),
        ("PATCH", "/v1/pipelines/abc", "GET, PUT, DELETE"),
        ("GET", "/v1/pipelines/abc/status", "PUT"),
        ("GET", "/v1/connections/abc/event-write-keys/key", "DELETE"),
        ("GET", "/v1/events/listeners", "POST"),
    ] {
        let response = server.send(&Request::new(method, path));
        response.assert_error(405, "MethodNotAllowed", "Method Not Allowed");
        assert_eq!(response.header("allow"), Some(allow), "{method} {path}");
    }
}
