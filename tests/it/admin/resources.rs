//! Each resource's round trip through the API: workspaces with their settings, connections,
//! pipelines and API keys (the token once, then only its hint).

use serde_json::{Value, json};

use super::{Api, NO_SUCH_ID};
use crate::support::{Request, TestServer};

#[test]
fn resources_round_trip() {
    let server = TestServer::start();
    let api = Api::new(&server);
    // (Saving a PostgreSQL warehouse checks the server first: see `events`.)
    let second = json!({
        "name": "Analytics",
        "warehouse": {"platform": "SQLite"},
        "eventsRateLimit": {"ratePerMinute": 1000, "maxCapacity": 10_000_000},
    });
    let id = api.ok("POST", "/v1/workspaces", Some(&second))["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let api = Api {
        server: &server,
        key: api.key.clone(),
        workspace: id.clone(),
    };
    let workspace = api.ok("GET", "/v1/workspaces/current", None);
    assert_eq!(
        workspace,
        json!({
            "id": id,
            "name": "Analytics",
            "warehouse": {"platform": "SQLite"},
            "eventsRateLimit": {"ratePerMinute": 1000, "maxCapacity": 10_000_000},
        })
    );
    let workspace = api.ok(
        "PUT",
        "/v1/workspaces/current",
        Some(&json!({"warehouse": {"platform": "SQLite"}, "eventsRateLimit": null})),
    );
    assert_eq!(
        (&workspace["warehouse"], &workspace["eventsRateLimit"]),
        (&json!({"platform": "SQLite"}), &Value::Null)
    );

    // A browser source gets the default strategy, which can change.
    let body = json!({"name": "Site", "role": "Source", "connector": "javascript"});
    let site = api.ok("POST", "/v1/connections", Some(&body))["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let connection = api.ok("GET", &format!("/v1/connections/{site}"), None);
    assert_eq!(
        connection,
        json!({"id": site, "workspaceId": id, "name": "Site", "role": "Source", "connector": "javascript", "strategy": "Conversion"})
    );
    let connection = api.ok(
        "PUT",
        &format!("/v1/connections/{site}"),
        Some(&json!({"strategy": "Fusion"})),
    );
    assert_eq!(
        (&connection["name"], &connection["strategy"]),
        (&json!("Site"), &json!("Fusion"))
    );

    // Pipelines.
    let mapping = json!({"mapping": {"email": "traits.email"}});
    let body = json!({"connection": site, "target": "User", "name": "Import users", "transformation": mapping, "replayFrom": "earliest"});
    let users = api.ok("POST", "/v1/pipelines", Some(&body))["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let pipeline = api.ok("GET", &format!("/v1/pipelines/{users}"), None);
    assert_eq!(
        (
            &pipeline["enabled"],
            &pipeline["transformation"],
            &pipeline["replayFrom"],
            &pipeline["connection"]
        ),
        (&json!(false), &mapping, &json!("earliest"), &json!(site))
    );
    let filter = json!({"logical": "or", "conditions": [{"property": "type", "operator": "is", "values": ["identify"]}]});
    let pipeline = api.ok(
        "PUT",
        &format!("/v1/pipelines/{users}"),
        Some(&json!({"name": "Users", "filter": filter})),
    );
    assert_eq!(
        (
            &pipeline["name"],
            &pipeline["filter"],
            &pipeline["transformation"]
        ),
        (&json!("Users"), &filter, &mapping)
    );
    let pipeline = api.ok(
        "PUT",
        &format!("/v1/pipelines/{users}/status"),
        Some(&json!({"enabled": true})),
    );
    assert_eq!(pipeline["enabled"], true);
    let pipeline = api.ok(
        "PUT",
        &format!("/v1/pipelines/{users}"),
        Some(&json!({"filter": null})),
    );
    assert_eq!(
        (&pipeline["filter"], &pipeline["enabled"]),
        (&Value::Null, &json!(true))
    );
    let body = json!({"connection": NO_SUCH_ID, "target": "Event", "name": "x"});
    api.send("POST", "/v1/pipelines", Some(&body)).assert_error(
        422,
        "ConnectionNotExist",
        &format!("connection {NO_SUCH_ID} does not exist"),
    );
    let listed = api.ok("GET", "/v1/pipelines", None);
    assert_eq!(listed["pipelines"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        api.ok("DELETE", &format!("/v1/pipelines/{users}"), None),
        json!({})
    );
    api.send("GET", &format!("/v1/pipelines/{users}"), None)
        .assert_error(404, "NotFound", &format!("pipeline {users} does not exist"));

    // API keys: the token once, then only the hint.
    let created = api.ok(
        "POST",
        "/v1/keys",
        Some(&json!({"name": "deploy", "workspace": id})),
    );
    let (key_id, token) = (
        created["id"].as_str().expect("id").to_owned(),
        created["token"].as_str().expect("token").to_owned(),
    );
    assert_eq!(created.as_object().map(|o| o.len()), Some(2));
    let record = api.ok("GET", &format!("/v1/keys/{key_id}"), None);
    let hint = format!("api_{}…{}", &token[4..8], &token[token.len() - 6..]);
    assert_eq!(
        (&record["name"], &record["workspace"], &record["hint"]),
        (&json!("deploy"), &json!(id), &json!(hint))
    );
    let record = api.ok(
        "PUT",
        &format!("/v1/keys/{key_id}"),
        Some(&json!({"name": "deploy bot"})),
    );
    assert_eq!(record["name"], "deploy bot");
    assert!(!api.ok("GET", "/v1/keys", None).to_string().contains(&token));
    assert_eq!(
        server
            .send(&Request::new("GET", "/v1/connections").bearer(&token))
            .status,
        200
    );
    api.ok("DELETE", &format!("/v1/keys/{key_id}"), None);
    server
        .send(&Request::new("GET", "/v1/connections").bearer(&token))
        .assert_error(
            401,
            "Unauthorized",
            "API key in the Authorization header of the request does not exist",
        );
    api.send("GET", "/v1/keys/bad", None).assert_error(
        404,
        "NotFound",
        "API key bad does not exist",
    );
}
