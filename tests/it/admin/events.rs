//! Stored events through the API (storage-and-pipelines.md §12.2 `GET /v1/events`): an Event
//! pipeline on the bootstrap Webhook source imports what is sent, and the query chooses
//! columns, orders, pages and filters it, with a clear 400 for every bad parameter. Saving a
//! workspace's warehouse checks it first: an unusable one is a 422 and changes nothing; a real
//! PostgreSQL server (`WEIR_TEST_POSTGRES_URL`) is accepted, queried, and answers 503 while it
//! cannot be reached.

use std::io::Write as _;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Api, json_body};
use crate::support::{Request, TestServer};

/// `text` percent-encoded for a query string (everything but the unreserved characters).
fn encode(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// `filter=<encoded JSON>` of one filter.
fn filter(logical: &str, conditions: Value) -> String {
    let filter = json!({"logical": logical, "conditions": conditions});
    format!("filter={}", encode(&filter.to_string()))
}

fn condition(property: &str, operator: &str, values: &[&str]) -> Value {
    if values.is_empty() {
        json!({"property": property, "operator": operator})
    } else {
        json!({"property": property, "operator": operator, "values": values})
    }
}

impl Api<'_> {
    /// `GET /v1/events?<query>`, which must answer 200; the events.
    #[track_caller]
    fn events(&self, query: &str) -> Vec<Value> {
        let body = self.ok("GET", &format!("/v1/events?{query}"), None);
        body["events"].as_array().expect("events").clone()
    }

    /// The message ids of `GET /v1/events?properties=messageId&<query>`, in answer order.
    #[track_caller]
    fn ids(&self, query: &str) -> Vec<String> {
        self.events(&format!("properties=messageId&{query}"))
            .iter()
            .map(|event| event["message_id"].as_str().expect("message_id").to_owned())
            .collect()
    }

    /// The error of `GET /v1/events?<query>`: 400 with `message`.
    #[track_caller]
    fn refused(&self, query: &str, message: &str) {
        self.send("GET", &format!("/v1/events?{query}"), None)
            .assert_error(400, "BadRequest", message);
    }
}

const BATCH: &str = r#"{"batch": [
    {"type": "track", "event": "Signed Up", "messageId": "q-1", "anonymousId": "a-1", "timestamp": "2024-05-01T10:00:01.000Z",
     "context": {"os": {"name": "Linux"}}, "properties": {"plan": "pro"}},
    {"type": "page", "name": "Home", "messageId": "q-2", "anonymousId": "a-2", "timestamp": "2024-05-01T10:00:02.000Z",
     "context": {"os": {"name": "iOS"}}},
    {"type": "identify", "userId": "u-3", "messageId": "q-3", "timestamp": "2024-05-01T10:00:03.000Z",
     "traits": {"email": "x@example.com"}},
    {"type": "track", "event": "Bought", "messageId": "q-4", "anonymousId": "a-4", "timestamp": "2024-05-01T10:00:04.000Z",
     "context": {"os": {"name": "Android"}}},
    {"type": "screen", "name": "Main", "messageId": "q-5", "anonymousId": "a-5", "timestamp": "2024-05-01T10:00:05.000Z"}
]}"#;

#[test]
fn stored_events_are_queried_with_columns_order_paging_and_filters() {
    let server = TestServer::start();
    let api = Api::new(&server);
    let connections = api.ok("GET", "/v1/connections", None);
    let webhook = connections["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .find(|connection| connection["connector"] == "webhook")
        .expect("the bootstrap Webhook source")["id"]
        .clone();
    let pipeline =
        json!({"connection": webhook, "target": "Event", "name": "Import events", "enabled": true});
    api.ok("POST", "/v1/pipelines", Some(&pipeline));
    assert_eq!(api.events(""), Vec::<Value>::new(), "nothing stored yet");
    let response = server.post_events("/v1/events", BATCH);
    assert_eq!(response.status, 200, "{}", response.text());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stored = api.ids("limit=1000");
        if stored.len() == 5 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the events never reached the warehouse: {stored:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // Every column by default, newest first.
    let all = api.events("");
    let ids: Vec<&str> = all
        .iter()
        .map(|event| event["message_id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["q-5", "q-4", "q-3", "q-2", "q-1"]);
    assert_eq!(all[4].as_object().map(|event| event.len()), Some(68));
    assert_eq!(all[4]["connection_id"], webhook);
    assert_eq!(all[4]["properties"], json!({"plan": "pro"}));
    assert_eq!(all[2]["traits"], json!({"email": "x@example.com"}));

    // Chosen columns: property paths, column names and objects, repeatable.
    let chosen = api.events("properties=messageId,type&properties=context.os.name&order=messageId&ascending=true&limit=1");
    assert_eq!(
        chosen,
        [json!({"message_id": "q-1", "type": "track", "context_os_name": "Linux"})]
    );
    let chosen = api.events(
        "properties=context_os_name,context.os,anonymousId&order=messageId&ascending=true&limit=1",
    );
    assert_eq!(
        chosen,
        [
            json!({"context_os_name": "Linux", "context_os_other": null, "context_os_version": null, "anonymous_id": "a-1"})
        ]
    );

    // Order and direction; NULLs last, text byte by byte.
    assert_eq!(
        api.ids("order=messageId&ascending=true"),
        ["q-1", "q-2", "q-3", "q-4", "q-5"]
    );
    assert_eq!(
        api.ids("order=context.os.name&ascending=true"),
        ["q-4", "q-1", "q-2", "q-3", "q-5"]
    );
    assert_eq!(
        api.ids("order=context_os_name&ascending=false"),
        ["q-2", "q-1", "q-4", "q-5", "q-3"]
    );

    // Paging.
    assert_eq!(api.ids("ascending=true&first=1&limit=2"), ["q-2", "q-3"]);
    assert_eq!(api.ids("first=3&limit=1000"), ["q-2", "q-1"]);
    assert_eq!(api.ids("first=5"), Vec::<String>::new());
    assert_eq!(api.ids("limit=1"), ["q-5"]);

    // Filters, with the pipeline language's meaning.
    let ascending = "order=messageId&ascending=true";
    let ids = |conditions: &[Value]| {
        api.ids(&format!(
            "{ascending}&{}",
            filter("and", Value::from(conditions.to_vec()))
        ))
    };
    assert_eq!(ids(&[condition("type", "is", &["track"])]), ["q-1", "q-4"]);
    assert_eq!(
        ids(&[condition("context.os.name", "is one of", &["Linux", "iOS"])]),
        ["q-1", "q-2"]
    );
    assert_eq!(
        ids(&[condition("context.os.name", "is not", &["Linux"])]),
        ["q-2", "q-3", "q-4", "q-5"],
        "an event without the property is not Linux"
    );
    assert_eq!(ids(&[condition("userId", "exists", &[])]), ["q-3"]);
    let third = all[2]["timestamp"].as_str().expect("timestamp");
    assert_eq!(
        ids(&[condition("timestamp", "is after", &[third])]),
        ["q-4", "q-5"]
    );
    assert_eq!(
        ids(&[condition("timestamp", "is on or before", &[third])]),
        ["q-1", "q-2", "q-3"]
    );
    assert_eq!(
        ids(&[
            condition("type", "is", &["track"]),
            condition("timestamp", "is before", &[third])
        ]),
        ["q-1"]
    );
    let either = filter(
        "or",
        json!([
            condition("type", "is", &["identify"]),
            condition("context.os.name", "is", &["Android"])
        ]),
    );
    assert_eq!(api.ids(&format!("{ascending}&{either}")), ["q-3", "q-4"]);
    // Filter, order and paging together.
    let tracks = filter("and", json!([condition("type", "is not", &["page"])]));
    assert_eq!(
        api.ids(&format!("{tracks}&order=timestamp&first=1&limit=2")),
        ["q-4", "q-3"]
    );

    // Every bad parameter is a 400 that says what is wrong.
    let json_only = "events queries can only filter on properties stored in their own column";
    let cases = [
        ("ascending=yes", "invalid ascending".to_owned()),
        ("ascending=1", "invalid ascending".to_owned()),
        ("first=-1", "invalid first".to_owned()),
        ("first=x", "invalid first".to_owned()),
        ("limit=0", "invalid limit".to_owned()),
        ("limit=1001", "invalid limit".to_owned()),
        ("limit=", "invalid limit".to_owned()),
        ("filter=null", "filter cannot be null".to_owned()),
        (
            "properties=messageId,nope",
            "invalid properties: property \"nope\" does not exist".to_owned(),
        ),
        (
            "properties=originalTimestamp",
            "invalid properties: property \"originalTimestamp\" is not stored in the warehouse"
                .to_owned(),
        ),
        (
            "order=nope",
            "invalid order: property \"nope\" does not exist".to_owned(),
        ),
        (
            "order=properties",
            "invalid order: cannot order by the JSON property \"properties\"".to_owned(),
        ),
        (
            "colour=red",
            "unknown query parameter \"colour\"; the known parameters are properties, filter, order, ascending, first, limit".to_owned(),
        ),
        (
            "first=1&first=2",
            "query parameter \"first\" is repeated".to_owned(),
        ),
        (
            "filter=%7B%22logical%22%3A%22and%22%7D",
            "invalid filter: conditions are missing".to_owned(),
        ),
        (
            "filter=%3D%3D",
            "invalid filter: it is not valid JSON (expected value at line 1 column 1)".to_owned(),
        ),
    ];
    for (query, message) in &cases {
        api.refused(query, message);
    }
    let filter_cases = [
        (
            condition("type", "is", &["Track"]),
            "invalid filter: value of the \"type\" property is not among the allowed values"
                .to_owned(),
        ),
        (
            condition("properties.plan", "is", &["pro"]),
            format!(
                "invalid filter: property \"properties.plan\" is inside the JSON property \"properties\"; {json_only}"
            ),
        ),
        (
            condition("traits.email", "exists", &[]),
            format!(
                "invalid filter: property \"traits.email\" is inside the JSON property \"traits\"; {json_only}"
            ),
        ),
        (
            condition("context.os", "exists", &[]),
            format!("invalid filter: property \"context.os\" is an object; {json_only}"),
        ),
        (
            condition("event", "contains", &["Sign"]),
            "invalid filter: operator \"contains\" is not supported in events queries".to_owned(),
        ),
        (
            condition("properties", "is null", &[]),
            "invalid filter: operator \"is null\" cannot be used on the JSON property \"properties\" in events queries".to_owned(),
        ),
        (
            condition("originalTimestamp", "is after", &[third]),
            "invalid filter: property \"originalTimestamp\" is not stored in the warehouse"
                .to_owned(),
        ),
    ];
    for (condition, message) in &filter_cases {
        api.refused(&filter("and", json!([condition])), message);
    }
}

/// The server URL of the PostgreSQL tests, or `None` (after saying why) when they are skipped.
fn postgres_url() -> Option<String> {
    match std::env::var("WEIR_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("WEIR_REQUIRE_SERVICES").as_deref() == Ok("1") => {
            panic!("WEIR_TEST_POSTGRES_URL must be set when WEIR_REQUIRE_SERVICES=1")
        }
        _ => {
            println!("skipped: WEIR_TEST_POSTGRES_URL not set");
            None
        }
    }
}

/// A `postgres://` URL split where the tests change it: `<scheme>://<user>@` `<host:port>`
/// `<path?query>`.
struct Url {
    head: String,
    address: String,
    tail: String,
}

impl Url {
    fn parse(url: &str) -> Url {
        let (scheme, rest) = url.split_once("://").expect("a postgres:// URL");
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let (user, host) = match authority.rsplit_once('@') {
            Some((user, host)) => (format!("{user}@"), host),
            None => (String::new(), authority),
        };
        let has_port = host
            .rsplit_once(':')
            .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
        let address = if has_port {
            host.to_owned()
        } else {
            format!("{host}:5432")
        };
        Url {
            head: format!("{scheme}://{user}"),
            address,
            tail: tail.to_owned(),
        }
    }

    /// This URL through `address`, with `extra` added to its query string.
    fn with(&self, address: &str, extra: &str) -> String {
        let separator = if self.tail.contains('?') { '&' } else { '?' };
        format!("{}{address}{}{separator}{extra}", self.head, self.tail)
    }

    /// This URL naming database `database` instead.
    fn with_database(&self, database: &str) -> String {
        let query = self.tail.find('?').map_or("", |at| &self.tail[at..]);
        format!("{}{}/{database}{query}", self.head, self.address)
    }
}

/// A loopback TCP proxy in front of PostgreSQL that the test can cut.
struct Proxy {
    address: String,
    stop: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    accepting: Option<JoinHandle<()>>,
}

impl Proxy {
    fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy listens");
        let address = listener.local_addr().expect("address").to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let accepting = {
            let (stop, open) = (stop.clone(), open.clone());
            std::thread::spawn(move || {
                for client in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let (Ok(client), Ok(server)) = (client, TcpStream::connect(&upstream)) else {
                        continue;
                    };
                    let mut open = open.lock().unwrap_or_else(PoisonError::into_inner);
                    for stream in [&client, &server] {
                        if let Ok(clone) = stream.try_clone() {
                            open.push(clone);
                        }
                    }
                    if let (Ok(client_reader), Ok(server_reader)) =
                        (client.try_clone(), server.try_clone())
                    {
                        pipe(client_reader, server);
                        pipe(server_reader, client);
                    }
                }
            })
        };
        Proxy {
            address,
            stop,
            open,
            accepting: Some(accepting),
        }
    }

    /// Closes the listening port and every connection through the proxy.
    fn cut(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Ok(mut wake) = TcpStream::connect(&self.address) {
            let _ = wake.write_all(b"");
        }
        if let Some(accepting) = self.accepting.take() {
            let _ = accepting.join();
        }
        for stream in self
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
    }
}

/// Copies `from` to `to` until either side closes.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
    });
}

#[test]
fn saving_a_warehouse_checks_it_first() {
    let server = TestServer::start();
    let api = Api::new(&server);
    let before = api.ok("GET", "/v1/workspaces/current", None);
    let postgres =
        |url: &str| json!({"warehouse": {"platform": "PostgreSQL", "settings": {"url": url}}});
    let refused = |body: &Value, method: &str, path: &str| {
        let response = api.send(method, path, Some(body));
        assert_eq!(response.status, 422, "{}", response.text());
        let error = json_body(&response)["error"].clone();
        assert_eq!(error["code"], "WarehouseCheckFailed");
        error["message"].as_str().expect("message").to_owned()
    };

    // Unreachable: a clear message, and nothing changes.
    let unreachable = postgres("postgres://postgres@127.0.0.1:1/test");
    let message = refused(&unreachable, "PUT", "/v1/workspaces/current");
    assert!(
        message.starts_with(
            "the warehouse cannot be used: cannot connect to PostgreSQL at 127.0.0.1:1: "
        ) && message.to_lowercase().contains("refused"),
        "{message}"
    );
    let mut with_name = unreachable.clone();
    with_name["name"] = json!("Renamed");
    refused(&with_name, "PUT", "/v1/workspaces/current");
    assert_eq!(api.ok("GET", "/v1/workspaces/current", None), before);
    with_name["name"] = json!("Second");
    refused(&with_name, "POST", "/v1/workspaces");
    let listed = api.ok("GET", "/v1/workspaces", None);
    assert_eq!(listed["workspaces"].as_array().map(Vec::len), Some(1));
    // A URL that cannot be parsed is a body error.
    api.send(
        "PUT",
        "/v1/workspaces/current",
        Some(&postgres("postgres://db:5432/w?schema=Bad-Name")),
    )
    .assert_error(
        400,
        "BadRequest",
        "warehouse.settings.url is not a valid PostgreSQL URL: schema \"Bad-Name\" must be 1 to 63 lowercase letters, digits or underscores, not starting with a digit",
    );

    let Some(url) = postgres_url() else {
        return;
    };
    let url = Url::parse(&url);
    // A server that answers but has no such database.
    let message = refused(
        &postgres(&url.with_database("weir_no_such_database")),
        "PUT",
        "/v1/workspaces/current",
    );
    assert!(
        message.starts_with("the warehouse cannot be used: ")
            && message.contains("weir_no_such_database"),
        "{message}"
    );
    assert_eq!(api.ok("GET", "/v1/workspaces/current", None), before);

    // The real server, through a proxy the test can cut; its own schema, so the test shares
    // nothing with others (it writes no rows).
    let mut proxy = Proxy::start(url.address.clone());
    let proxied = url.with(&proxy.address, "schema=weir_it_admin_events");
    let saved = api.ok("PUT", "/v1/workspaces/current", Some(&postgres(&proxied)));
    assert_eq!(saved["warehouse"]["platform"], "PostgreSQL");
    if let Some((_, password)) = url.head.trim_end_matches('@').rsplit_once(':')
        && !password.starts_with("//")
    {
        let answered = saved["warehouse"]["settings"]["url"].as_str().expect("url");
        assert!(
            !answered.contains(password),
            "the password is masked: {answered}"
        );
    }
    assert_eq!(
        api.ok("GET", "/v1/workspaces/current", None)["warehouse"],
        saved["warehouse"]
    );
    // Queries run on PostgreSQL, with filters on every kind of column.
    let none = "weir-it-no-such-message";
    assert_eq!(
        api.ids(&filter(
            "and",
            json!([condition("messageId", "is", &[none])])
        )),
        Vec::<String>::new()
    );
    let kinds = filter(
        "and",
        json!([
            condition("messageId", "is", &[none]),
            condition(
                "timestamp",
                "is between",
                &["2024-01-01T00:00:00Z", "2024-12-31T23:59:59.999Z"]
            ),
            condition("context.screen.width", "is greater than", &["10"]),
            condition("context.screen.density", "is", &["1.5"]),
            condition("context.session.start", "is true", &[]),
            condition("context.ip", "is not", &["127.0.0.1"]),
            condition("context.os.name", "is not one of", &["iOS", "Linux"]),
            condition("kpid", "does not exist", &[]),
            condition("properties", "exists", &[]),
            condition("userId", "is empty", &[]),
        ]),
    );
    assert_eq!(
        api.ids(&format!(
            "{kinds}&order=context.os.name&ascending=true&first=1&limit=1000"
        )),
        Vec::<String>::new()
    );
    // While the server cannot be reached: 503 with the reason.
    proxy.cut();
    for _ in 0..2 {
        let response = api.send("GET", "/v1/events", None);
        assert_eq!(response.status, 503, "{}", response.text());
        let error = json_body(&response)["error"].clone();
        assert_eq!(error["code"], "WarehouseUnavailable");
        let message = error["message"].as_str().expect("message");
        assert!(
            message.starts_with("the warehouse cannot be reached: "),
            "{message}"
        );
    }
    // Back to the embedded warehouse, as the workspace started.
    api.ok(
        "PUT",
        "/v1/workspaces/current",
        Some(&json!({"warehouse": {"platform": "SQLite"}})),
    );
    assert_eq!(api.ok("GET", "/v1/workspaces/current", None), before);
    assert_eq!(api.events(""), Vec::<Value>::new());
}

#[test]
fn the_events_query_needs_a_management_key_and_a_workspace() {
    let server = TestServer::start();
    let api = Api::new(&server);
    // The ingest server owns POST; GET with a write key is a management call with a bad key.
    server
        .send(&Request::new("GET", "/v1/events").bearer(&server.write_key))
        .assert_error(
            400,
            "BadRequest",
            "API key is not valid; API keys start with the api_ prefix",
        );
    server
        .send(&Request::new("GET", "/v1/events").bearer(&api.key))
        .assert_error(
            403,
            "Forbidden",
            "Weir-Workspace header is missing; provide it in the format 'Weir-Workspace: <WORKSPACE_ID>'",
        );
    assert_eq!(
        api.ok("GET", "/v1/events?limit=1000", None),
        json!({"events": []})
    );
}
