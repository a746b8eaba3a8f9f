//! End-to-end checks of [`Admin`] on a real SQLite catalog and warehouse, without a socket:
//! requests go in as `http::Request`s and come out as status and JSON. The HTTP-level suite is in
//! `tests/it/admin.rs`.

use std::sync::Arc;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use weir_catalog::{Catalog, SqliteCatalog, WarehouseSettings};
use weir_pipeline::WarehouseTargets;
use weir_spec::Event;

use crate::{Admin, AdminConfig};

struct Api {
    _dir: tempfile::TempDir,
    admin: Admin,
    warehouses: Arc<WarehouseTargets>,
    key: String,
    workspace: String,
}

fn api() -> Api {
    let dir = tempfile::tempdir().unwrap();
    let catalog: Arc<dyn Catalog> = Arc::new(SqliteCatalog::open(dir.path()).unwrap());
    let bootstrap = catalog.bootstrap().unwrap();
    let warehouses = Arc::new(WarehouseTargets::new(dir.path()));
    Api {
        _dir: dir,
        admin: Admin::new(catalog, AdminConfig::default()).with_warehouses(warehouses.clone()),
        warehouses,
        key: bootstrap.admin_key.unwrap().as_str().to_owned(),
        workspace: bootstrap.source.unwrap().workspace.id.to_string(),
    }
}

impl Api {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {}", self.key))
            .header("weir-workspace", &self.workspace);
        let bytes = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Bytes::from(body.to_string())
            }
            None => Bytes::new(),
        };
        let response = self
            .admin
            .respond(request.body(Full::new(bytes)).unwrap())
            .await;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body.last(), Some(&b'\n'), "{body:?}");
        (status, serde_json::from_slice(&body).unwrap())
    }
}

#[tokio::test]
async fn source_connection_lifecycle() {
    let api = api();
    let (status, created) = api
        .call(
            "POST",
            "/v1/connections",
            Some(json!({"name": "My app", "role": "Source", "connector": "webhook"})),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let keys_path = format!("/v1/connections/{id}/event-write-keys");
    let (status, keys) = api.call("GET", &keys_path, None).await;
    assert_eq!(status, 200);
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1);
    let (status, renamed) = api
        .call(
            "PUT",
            &format!("/v1/connections/{id}"),
            Some(json!({"name": "Renamed"})),
        )
        .await;
    assert_eq!((status, renamed["name"].as_str()), (200, Some("Renamed")));
    assert_eq!(renamed["connector"], "webhook");
    let (status, deleted) = api
        .call("DELETE", &format!("/v1/connections/{id}"), None)
        .await;
    assert_eq!((status, deleted), (200, json!({})));
    let (status, missing) = api
        .call("GET", &format!("/v1/connections/{id}"), None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        missing["error"]["message"],
        format!("connection {id} does not exist")
    );
}

#[tokio::test]
async fn workspace_settings_merge() {
    let api = api();
    let limit = json!({"ratePerMinute": 60000, "maxCapacity": 20000});
    let (status, workspace) = api
        .call(
            "PUT",
            "/v1/workspaces/current",
            Some(json!({"eventsRateLimit": limit})),
        )
        .await;
    assert_eq!(status, 200, "{workspace}");
    assert_eq!(workspace["name"], "Default");
    assert_eq!(workspace["eventsRateLimit"], limit);
    assert_eq!(workspace["warehouse"], json!({"platform": "SQLite"}));
    let (_, workspace) = api
        .call(
            "PUT",
            "/v1/workspaces/current",
            Some(json!({"name": "Acme"})),
        )
        .await;
    assert_eq!(
        (workspace["name"].as_str(), &workspace["eventsRateLimit"]),
        (Some("Acme"), &limit)
    );
    let (_, workspace) = api
        .call(
            "PUT",
            "/v1/workspaces/current",
            Some(json!({"eventsRateLimit": null})),
        )
        .await;
    assert_eq!(workspace["eventsRateLimit"], Value::Null);
}

#[tokio::test]
async fn pipeline_body_errors_name_the_member() {
    let api = api();
    let cases = [
        (
            json!({"target": "Event", "name": "x"}),
            400,
            "connection is required",
        ),
        (
            json!({"connection": "nope", "target": "Event", "name": "x"}),
            400,
            "identifier \"nope\" is not a valid connection identifier",
        ),
        (
            json!({"connection": "111111111111", "target": "Event", "name": "x"}),
            422,
            "connection 111111111111 does not exist",
        ),
        (
            json!({"connection": "111111111111", "target": "Events", "name": "x"}),
            400,
            "target must be one of \"Event\", \"User\", not \"Events\"",
        ),
        (
            json!({"connection": "111111111111", "target": "Event", "name": "x", "replayFrom": "later"}),
            400,
            "replayFrom must be \"now\", \"earliest\" or an RFC 3339 time, not \"later\"",
        ),
    ];
    for (body, status, message) in cases {
        let (got, error) = api.call("POST", "/v1/pipelines", Some(body.clone())).await;
        assert_eq!(
            (got, error["error"]["message"].as_str()),
            (status, Some(message)),
            "{body}"
        );
    }
}

#[tokio::test]
async fn replay_errors_are_those_of_the_pipeline_routes() {
    let api = api();
    let (_, connections) = api.call("GET", "/v1/connections", None).await;
    let source = connections["connections"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, created) = api
        .call(
            "POST",
            "/v1/pipelines",
            Some(json!({"connection": source, "target": "Event", "name": "p"})),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let path = format!("/v1/pipelines/{}/replay", created["id"].as_str().unwrap());
    let cases = [
        (json!({}), "from is required"),
        (json!({"from": null}), "from must be a string, not null"),
        (json!({"from": 7}), "from must be a string, not a number"),
        (
            json!({"from": "now"}),
            "from must be \"earliest\" or an RFC 3339 time, not \"now\"",
        ),
        (
            json!({"from": "2025-13-01T00:00:00Z"}),
            "from must be \"earliest\" or an RFC 3339 time, not \"2025-13-01T00:00:00Z\"",
        ),
        (
            json!({"from": "earliest", "to": "now"}),
            "unknown field \"to\"; the known fields are from",
        ),
    ];
    for (body, message) in cases {
        let (status, error) = api.call("POST", &path, Some(body.clone())).await;
        assert_eq!(
            (status, error["error"]["message"].as_str()),
            (400, Some(message)),
            "{body}"
        );
    }
    // An unknown or malformed pipeline id is the 404 of `GET /v1/pipelines/{id}`.
    for id in ["111111111111", "nope"] {
        let got = api.call("GET", &format!("/v1/pipelines/{id}"), None).await;
        let replayed = api
            .call(
                "POST",
                &format!("/v1/pipelines/{id}/replay"),
                Some(json!({"from": "earliest"})),
            )
            .await;
        assert_eq!(got.0, 404);
        assert_eq!(replayed, got);
    }
    // Without a pipeline engine there is no cursor to reset.
    let (status, error) = api
        .call("POST", &path, Some(json!({"from": "2025-01-01T00:00:00Z"})))
        .await;
    assert_eq!(status, 503);
    assert_eq!(
        error["error"],
        json!({"code": "ServiceUnavailable", "message": "this server runs no pipelines"})
    );
}

/// Events with and without the properties the filters below read; `m6` has a timestamp with
/// milliseconds.
fn sample_events() -> Vec<Event> {
    let event = |id: &str, kind: &str, time: &str, extra: &str| {
        let text = format!(
            r#"{{"connectionId":"Conn12345678","anonymousId":"anon-{id}","messageId":"{id}","receivedAt":"{time}","sentAt":"{time}","originalTimestamp":"{time}","timestamp":"{time}","traits":{{}},"type":"{kind}"{extra}}}"#
        );
        Event::from_canonical_json(&text).unwrap_or_else(|error| panic!("{error}: {text}"))
    };
    vec![
        event(
            "m1",
            "track",
            "2024-01-01T00:00:01.000Z",
            r#","event":"Signed Up","userId":"u1","properties":{"plan":"pro"},"context":{"consents":{"ads":true},"ip":"203.0.113.7","locale":"it-IT","location":{"latitude":41.9},"network":{"wifi":true},"os":{"name":"Linux"},"screen":{"width":320,"density":1.5},"session":{"id":7,"start":true}}"#,
        ),
        event(
            "m2",
            "page",
            "2024-01-01T00:00:02.000Z",
            r#","name":"Home","userId":"","context":{"os":{"name":"iOS"},"screen":{"width":1024,"density":2},"network":{"wifi":false}}"#,
        ),
        event(
            "m3",
            "identify",
            "2024-01-01T00:00:03.000Z",
            r#","userId":"u3","context":{"ip":"::1"}"#,
        ),
        event(
            "m4",
            "track",
            "2024-01-01T00:00:04.000Z",
            r#","event":"","properties":{},"context":{"os":{"name":"Other","other":"Plan 9"},"location":{"latitude":-3.5}}"#,
        ),
        event(
            "m5",
            "screen",
            "2024-01-01T00:00:05.000Z",
            r#","name":"Main","channel":"mobile","userId":"u5","context":{"screen":{"width":300}}"#,
        ),
        event(
            "m6",
            "group",
            "2024-01-01T00:00:06.123Z",
            r#","groupId":"g1","context":{"browser":{"name":"Chrome"},"session":{"id":8,"start":false}}"#,
        ),
    ]
}

impl Api {
    /// `GET /v1/events` with the raw query `query`.
    async fn events(&self, query: &str) -> (u16, Value) {
        self.call("GET", &format!("/v1/events?{query}"), None).await
    }

    /// The message ids `filter` selects, in ascending id order.
    async fn selected(&self, filter: &Value) -> Vec<String> {
        let encoded: String =
            form_urlencoded::byte_serialize(filter.to_string().as_bytes()).collect();
        let (status, body) = self
            .events(&format!(
                "properties=messageId&order=messageId&ascending=true&filter={encoded}"
            ))
            .await;
        assert_eq!(status, 200, "{filter}: {body}");
        body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["message_id"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// Every supported operator selects in the warehouse exactly the events the same filter
/// matches in a pipeline (including the "missing" semantics of §6).
#[tokio::test]
async fn events_query_filters_agree_with_pipeline_filters() {
    let api = api();
    let events = sample_events();
    let warehouse = api
        .warehouses
        .warehouse(&WarehouseSettings::Sqlite)
        .await
        .unwrap();
    assert_eq!(warehouse.write_events(&events).await.unwrap(), events.len());
    let condition = |property: &str, operator: &str, values: &[&str]| {
        let mut condition = json!({"property": property, "operator": operator});
        if !values.is_empty() {
            condition["values"] = json!(values);
        }
        condition
    };
    let t3 = "2024-01-01T00:00:03Z";
    let t5 = "2024-01-01T00:00:05.000Z";
    let single = [
        condition("type", "is", &["track"]),
        condition("type", "is not", &["track"]),
        condition("type", "is one of", &["track", "page"]),
        condition("type", "is not one of", &["track"]),
        condition("type", "is less than", &["page"]),
        condition("messageId", "is not", &["m1"]),
        condition("anonymousId", "is greater than or equal to", &["anon-m4"]),
        condition("context.os.name", "is", &["Linux"]),
        condition("context.os.name", "is not", &["Linux"]),
        condition("context.os.name", "is one of", &["Linux", "iOS"]),
        condition("context.os.name", "is not one of", &["Linux", "iOS"]),
        condition("context.os.name", "exists", &[]),
        condition("context.os.name", "does not exist", &[]),
        condition("context.os.other", "is", &["Plan 9"]),
        condition("context.screen.width", "is greater than", &["310"]),
        condition("context.screen.width", "is less than or equal to", &["320"]),
        condition("context.screen.width", "is between", &["300", "1000"]),
        condition("context.screen.width", "is not between", &["301", "1000"]),
        condition("context.screen.density", "is", &["1.5"]),
        condition("context.screen.density", "is greater than", &["1.50"]),
        condition("context.location.latitude", "is less than", &["0"]),
        condition("context.session.id", "is not", &["7"]),
        condition("context.session.start", "is true", &[]),
        condition("context.session.start", "is false", &[]),
        condition("context.network.wifi", "is false", &[]),
        condition("context.ip", "is", &["203.0.113.7"]),
        condition("context.ip", "is not", &["0:0::1"]),
        condition("context.locale", "is", &["it-IT"]),
        condition("context.browser.name", "is", &["Chrome"]),
        condition("userId", "is empty", &[]),
        condition("userId", "is not empty", &[]),
        condition("userId", "is less than", &["u3"]),
        condition("event", "is empty", &[]),
        condition("event", "is not empty", &[]),
        condition("channel", "is", &["mobile"]),
        condition("groupId", "is one of", &["g1", "g2"]),
        condition("timestamp", "is", &[t3]),
        condition("timestamp", "is not", &[t3]),
        condition("timestamp", "is after", &[t3]),
        condition("timestamp", "is on or after", &[t3]),
        condition("timestamp", "is before", &[t3]),
        condition(
            "timestamp",
            "is on or before",
            &["2024-01-01T01:00:03+01:00"],
        ),
        condition("timestamp", "is between", &[t3, t5]),
        condition("timestamp", "is not between", &[t3, t5]),
        condition("timestamp", "is one of", &[t3, "2024-01-01T00:00:06.123Z"]),
        condition("timestamp", "is after", &["2024-01-01T00:00:06.1225Z"]),
        condition("receivedAt", "is on or before", &["2024-01-01T00:00:02Z"]),
        condition("sentAt", "is not one of", &[t3]),
        condition("properties", "exists", &[]),
        condition("properties", "does not exist", &[]),
        condition("context.consents", "exists", &[]),
        condition("kpid", "does not exist", &[]),
        condition("kpid", "is not", &["6ba7b810-9dad-11d1-80b4-00c04fd430c8"]),
    ];
    let mut filters: Vec<Value> = single
        .iter()
        .map(|c| json!({"logical": "and", "conditions": [c]}))
        .collect();
    filters.push(json!({"logical": "or", "conditions": [single[1], single[29]]}));
    filters.push(json!({"logical": "and", "conditions": [single[2], single[8]]}));
    assert_eq!(api.selected(&filters[0]).await, ["m1", "m4"]);
    assert_eq!(
        api.selected(&filters[8]).await,
        ["m2", "m3", "m4", "m5", "m6"]
    );
    for filter in &filters {
        let pipeline = weir_pipeline::validate_filter(filter).unwrap();
        let mut expected: Vec<String> = events
            .iter()
            .filter(|event| pipeline.matches(event))
            .map(|event| event.message_id.clone())
            .collect();
        expected.sort();
        assert_eq!(api.selected(filter).await, expected, "{filter}");
    }
}

#[tokio::test]
async fn events_query_selects_orders_and_pages() {
    let api = api();
    let (status, body) = api.events("").await;
    assert_eq!((status, body), (200, json!({"events": []})));
    let events = sample_events();
    let warehouse = api
        .warehouses
        .warehouse(&WarehouseSettings::Sqlite)
        .await
        .unwrap();
    warehouse.write_events(&events).await.unwrap();
    let ids = |body: &Value| -> Vec<String> {
        body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["message_id"].as_str().unwrap().to_owned())
            .collect()
    };
    // Every column, newest first.
    let (status, body) = api.events("").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body), ["m6", "m5", "m4", "m3", "m2", "m1"]);
    assert_eq!(body["events"][0].as_object().unwrap().len(), 68);
    // Chosen columns, by property path, column name or object.
    let (_, body) = api
        .events("properties=messageId,context.os&properties=context_screen_width,type&order=timestamp&ascending=true&limit=1")
        .await;
    assert_eq!(
        body,
        json!({"events": [{
            "message_id": "m1",
            "context_os_name": "Linux",
            "context_os_other": null,
            "context_os_version": null,
            "context_screen_width": 320,
            "type": "track",
        }]})
    );
    // Paging, in either direction, with any order column.
    let (_, body) = api.events("properties=messageId&first=1&limit=2").await;
    assert_eq!(ids(&body), ["m5", "m4"]);
    let (_, body) = api
        .events("properties=messageId&ascending=true&first=4&limit=10")
        .await;
    assert_eq!(ids(&body), ["m5", "m6"]);
    let (_, body) = api.events("properties=messageId&first=6").await;
    assert_eq!(ids(&body), Vec::<String>::new());
    // NULLs sort last both ways; equal values by (connection, message id).
    let (_, body) = api
        .events("properties=messageId&order=context.screen.width&ascending=true")
        .await;
    assert_eq!(ids(&body), ["m5", "m1", "m2", "m3", "m4", "m6"]);
    let (_, body) = api
        .events("properties=messageId&order=context_screen_width")
        .await;
    assert_eq!(ids(&body), ["m2", "m1", "m5", "m6", "m4", "m3"]);
    // A bad parameter is a 400 naming it.
    let (status, body) = api.events("limit=0").await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"error": {"code": "BadRequest", "message": "invalid limit"}})
        )
    );
}

#[tokio::test]
async fn an_unreachable_warehouse_is_refused_and_nothing_changes() {
    let api = api();
    let (_, before) = api.call("GET", "/v1/workspaces/current", None).await;
    let unreachable = json!({"platform": "PostgreSQL", "settings": {"url": "postgres://weir:secret@127.0.0.1:1/test"}});
    let (status, error) = api
        .call(
            "PUT",
            "/v1/workspaces/current",
            Some(json!({"name": "Renamed", "warehouse": unreachable})),
        )
        .await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["code"], "WarehouseCheckFailed");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "the warehouse cannot be used: cannot connect to PostgreSQL at 127.0.0.1:1: "
        ),
        "{message}"
    );
    assert!(!message.contains("secret"), "{message}");
    let (_, after) = api.call("GET", "/v1/workspaces/current", None).await;
    assert_eq!(after, before);
    let (status, error) = api
        .call(
            "POST",
            "/v1/workspaces",
            Some(json!({"name": "Other", "warehouse": unreachable})),
        )
        .await;
    assert_eq!(status, 422, "{error}");
    let (_, listed) = api.call("GET", "/v1/workspaces", None).await;
    assert_eq!(listed["workspaces"].as_array().unwrap().len(), 1);
    // A URL the driver cannot parse is a body error.
    let (status, error) = api
        .call(
            "PUT",
            "/v1/workspaces/current",
            Some(json!({"warehouse": {"platform": "PostgreSQL", "settings": {"url": "postgres://db:notaport/w"}}})),
        )
        .await;
    assert_eq!(status, 400, "{error}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("warehouse.settings.url is not a valid PostgreSQL URL: "),
        "{message}"
    );
    // The embedded warehouse opens.
    let (status, workspace) = api
        .call(
            "PUT",
            "/v1/workspaces/current",
            Some(json!({"warehouse": {"platform": "SQLite"}})),
        )
        .await;
    assert_eq!(status, 200, "{workspace}");
}
