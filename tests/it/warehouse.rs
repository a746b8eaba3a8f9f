//! The warehouse end to end through the real server (issue 5): events imported into PostgreSQL
//! with their column values and without duplicates; a 4 s PostgreSQL outage under load (a
//! loopback proxy the test cuts right after a batch's `COMMIT` reaches PostgreSQL, so its
//! answer is lost) after which every acknowledged event lands exactly once while ingestion
//! kept answering 200; and a SIGKILL while the pipeline writes into the embedded SQLite
//! warehouse after which the restarted server imports exactly what was acknowledged.
//!
//! The PostgreSQL tests need `WEIR_TEST_POSTGRES_URL` (each in its own `weir_it_<random>`
//! schema, dropped at the end); without it they print `skipped: …` and pass, unless
//! `WEIR_REQUIRE_SERVICES=1`.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use weir_warehouse::{
    Condition, Direction, EventQuery, Filter, MAX_LIMIT, Operator, PostgresWarehouse,
    SqliteWarehouse, Warehouse,
};

use crate::support::{Management, Request, TestServer};

// --- The management API ---------------------------------------------------------------------

/// Moves the workspace's warehouse to PostgreSQL at `url` (checked by the server).
fn use_postgres(api: &Management<'_>, url: &str) {
    let body = json!({"warehouse": {"platform": "PostgreSQL", "settings": {"url": url}}});
    let workspace = api.ok("PUT", "/v1/workspaces/current", Some(body));
    assert_eq!(workspace["warehouse"]["platform"], "PostgreSQL");
}

/// Polls `probe` every 50 ms until it returns `Ok`, or fails after `limit`, naming `what` and
/// the last `Err`.
#[track_caller]
fn wait_until<T>(limit: Duration, what: &str, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        match probe() {
            Ok(value) => return value,
            Err(last) if Instant::now() > deadline => {
                panic!("{what}: not reached within {limit:?}; last: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

// --- PostgreSQL -------------------------------------------------------------------------------

/// The PostgreSQL server's URL, or `None` (after saying so) when the tests should skip.
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

/// A schema of its own on the test server (`weir_it_<random>`), dropped when this is dropped,
/// and a plain client that reads the `events` table in it.
struct Postgres {
    server: String,
    schema: String,
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Postgres {
    fn new() -> Option<Postgres> {
        let server = postgres_url()?;
        let schema = format!("weir_it_{}", uuid::Uuid::new_v4().simple());
        let runtime = runtime();
        let client = runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&server, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|error| panic!("cannot connect to {server}: {error}"));
            tokio::spawn(async move {
                let _ = connection.await;
            });
            // The schema does not exist yet: Weir creates it; until then `events` is missing.
            client
                .batch_execute(&format!("SET search_path TO {schema}"))
                .await
                .expect("search_path");
            client
        });
        Some(Postgres {
            server,
            schema,
            runtime,
            client,
        })
    }

    /// The server URL of the test with `?schema=<this schema>`, through `address` (a
    /// `host:port`) instead of the server's own address when given.
    fn url(&self, address: Option<&str>) -> String {
        let url = match address {
            Some(address) => {
                let (head, authority, tail) = split_url(&self.server);
                let user = authority
                    .rsplit_once('@')
                    .map_or(String::new(), |(user, _)| format!("{user}@"));
                format!("{head}{user}{address}{tail}")
            }
            None => self.server.clone(),
        };
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}schema={}", self.schema)
    }

    /// The server's `host:port`.
    fn address(&self) -> String {
        let (_, authority, _) = split_url(&self.server);
        let host = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        let has_port = host
            .rsplit_once(':')
            .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
        if has_port {
            host.to_owned()
        } else {
            format!("{host}:5432")
        }
    }

    fn query(&self, sql: &str) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
        self.runtime.block_on(self.client.query(sql, &[]))
    }

    /// `(count(*), count(distinct (connection_id, message_id)))` of `events`; zeros while the
    /// table does not exist yet.
    fn counts(&self) -> (i64, i64) {
        let sql = "SELECT count(*), count(DISTINCT (connection_id, message_id)) FROM events";
        match self.query(sql) {
            Ok(rows) => (rows[0].get(0), rows[0].get(1)),
            Err(error)
                if error.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) =>
            {
                (0, 0)
            }
            Err(error) => panic!("{sql}: {error}"),
        }
    }

    fn message_ids(&self) -> HashSet<String> {
        self.query("SELECT message_id FROM events")
            .expect("message ids")
            .iter()
            .map(|row| row.get(0))
            .collect()
    }

    /// Every row of `events` as `GET /v1/events` shows it, read by Weir's own PostgreSQL
    /// warehouse code (the JSON shape is the same on both backends).
    fn rows(&self) -> Vec<Map<String, Value>> {
        let url = self.url(None);
        self.runtime.block_on(async {
            let warehouse = PostgresWarehouse::connect(&url).await.expect("connects");
            let query = EventQuery {
                limit: 1000,
                order: Some(("message_id".into(), Direction::Ascending)),
                ..EventQuery::default()
            };
            warehouse.query_events(query).await.expect("query").rows
        })
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let drop = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.schema);
        if let Err(error) = self.runtime.block_on(self.client.batch_execute(&drop)) {
            eprintln!("{drop}: {error}");
        }
    }
}

/// `postgres://user@host:port/db?x` → (`postgres://`, `user@host:port`, `/db?x`).
fn split_url(url: &str) -> (&str, &str, &str) {
    let start = url.find("://").map_or(0, |at| at + 3);
    let (head, rest) = url.split_at(start);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    (head, authority, tail)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

// --- A loopback proxy the test can cut ------------------------------------------------------

/// A TCP proxy on `127.0.0.1:<port>` in front of `upstream`. While cut, every connection
/// through it is closed and new ones are accepted and closed at once. It can also cut itself
/// right after passing a `COMMIT` on to PostgreSQL, so that the transaction commits but its
/// answer never reaches Weir: the worst moment for an outage.
struct Proxy {
    address: String,
    shared: Arc<ProxyShared>,
    accept: Option<JoinHandle<()>>,
}

struct ProxyShared {
    upstream: String,
    /// Whether the proxy is cut, and both sockets of every connection made through it.
    state: Mutex<(bool, Vec<TcpStream>)>,
    stopping: AtomicBool,
    /// Cut right after the next `COMMIT` sent upstream.
    cut_on_commit: AtomicBool,
    /// Set when such a cut happened.
    cut_after_commit: AtomicBool,
}

impl ProxyShared {
    fn state(&self) -> std::sync::MutexGuard<'_, (bool, Vec<TcpStream>)> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Closes every connection through the proxy and refuses new ones.
    fn cut(&self) {
        let mut state = self.state();
        state.0 = true;
        for stream in state.1.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Called with every chunk passed on to PostgreSQL once it is sent.
    fn sent_upstream(&self, chunk: &[u8]) {
        // A simple-protocol query message: 'Q', its length, "COMMIT\0".
        let commit = b"COMMIT\0";
        if self.cut_on_commit.load(Ordering::SeqCst)
            && chunk.windows(commit.len()).any(|window| window == commit)
            && self.cut_on_commit.swap(false, Ordering::SeqCst)
        {
            self.cut();
            self.cut_after_commit.store(true, Ordering::SeqCst);
        }
    }

    fn serve(self: &Arc<Self>, client: TcpStream) {
        if self.state().0 {
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        let Ok(server) = TcpStream::connect(&self.upstream) else {
            let _ = client.shutdown(Shutdown::Both);
            return;
        };
        let clones = (
            client.try_clone(),
            server.try_clone(),
            client.try_clone(),
            server.try_clone(),
        );
        let (Ok(client_write), Ok(server_write), Ok(client_kept), Ok(server_kept)) = clones else {
            return;
        };
        {
            // Decided under the lock, so a connection is either refused or closed by `cut`.
            let mut state = self.state();
            if state.0 {
                let _ = client.shutdown(Shutdown::Both);
                let _ = server.shutdown(Shutdown::Both);
                return;
            }
            state.1.extend([client_kept, server_kept]);
        }
        let shared = self.clone();
        std::thread::spawn(move || pump(client, server_write, Some(&shared)));
        std::thread::spawn(move || pump(server, client_write, None));
    }
}

/// Copies `from` to `to` until either side ends, then closes both; tells `upstream` what it
/// sent when `to` is PostgreSQL.
fn pump(mut from: TcpStream, mut to: TcpStream, upstream: Option<&ProxyShared>) {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => {
                if to.write_all(&buffer[..read]).is_err() {
                    break;
                }
                if let Some(shared) = upstream {
                    shared.sent_upstream(&buffer[..read]);
                }
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

impl Proxy {
    fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy listens");
        let address = listener.local_addr().expect("address").to_string();
        let shared = Arc::new(ProxyShared {
            upstream,
            state: Mutex::new((false, Vec::new())),
            stopping: AtomicBool::new(false),
            cut_on_commit: AtomicBool::new(false),
            cut_after_commit: AtomicBool::new(false),
        });
        let accept = {
            let shared = shared.clone();
            std::thread::spawn(move || {
                for client in listener.incoming() {
                    if shared.stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(client) = client {
                        shared.serve(client);
                    }
                }
            })
        };
        Proxy {
            address,
            shared,
            accept: Some(accept),
        }
    }

    /// Closes every connection through the proxy and refuses new ones until [`Proxy::restore`].
    fn cut(&self) {
        self.shared.cut();
    }

    /// Cuts the proxy right after the next `COMMIT` reaches PostgreSQL, or after `limit`
    /// without one; returns whether the cut followed a `COMMIT`.
    fn cut_after_next_commit(&self, limit: Duration) -> bool {
        self.shared.cut_on_commit.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.shared.cut_after_commit.load(Ordering::SeqCst) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        self.shared.cut_on_commit.store(false, Ordering::SeqCst);
        self.cut();
        self.shared.cut_after_commit.load(Ordering::SeqCst)
    }

    fn restore(&self) {
        self.shared.state().0 = false;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wakes the accept loop up so that it sees `stopping`.
        let _ = TcpStream::connect(&self.address);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

// --- Load --------------------------------------------------------------------------------------

/// What a load client saw.
#[derive(Debug, Default)]
struct Outcome {
    /// The message ids of every request answered 200.
    acknowledged: Vec<String>,
    /// Requests not answered 200: their ids, the status if there was an answer, and what
    /// happened instead.
    failed: Vec<(Vec<String>, Option<u16>, String)>,
    /// The slowest answer.
    slowest: Duration,
}

/// A thread posting batches of `batch` track events with unique message ids (`<prefix>-<n>`)
/// every `pause`, until stopped.
struct Load {
    outcome: Arc<Mutex<Outcome>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Load {
    fn start(server: &TestServer, prefix: &str, batch: usize, pause: Duration) -> Load {
        let outcome = Arc::new(Mutex::new(Outcome::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let (address, key) = (server.address.clone(), server.write_key.clone());
            let (outcome, stop, prefix) = (outcome.clone(), stop.clone(), prefix.to_owned());
            std::thread::spawn(move || {
                let mut next = 0usize;
                while !stop.load(Ordering::SeqCst) {
                    let ids: Vec<String> = (next..next + batch)
                        .map(|n| format!("{prefix}-{n}"))
                        .collect();
                    next += batch;
                    let body = batch_body(&ids);
                    let started = Instant::now();
                    let sent = Request::post("/v1/events", &body)
                        .bearer(&key)
                        .try_send_to(&address);
                    let took = started.elapsed();
                    let mut outcome = outcome.lock().unwrap_or_else(PoisonError::into_inner);
                    outcome.slowest = outcome.slowest.max(took);
                    match sent {
                        Ok(response) if response.status == 200 => outcome.acknowledged.extend(ids),
                        Ok(response) => {
                            outcome
                                .failed
                                .push((ids, Some(response.status), response.text()))
                        }
                        Err(error) => outcome.failed.push((ids, None, error.to_string())),
                    }
                    drop(outcome);
                    std::thread::sleep(pause);
                }
            })
        };
        Load {
            outcome,
            stop,
            handle: Some(handle),
        }
    }

    fn acknowledged(&self) -> usize {
        self.outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .acknowledged
            .len()
    }

    /// Asks the thread to stop after the request it is sending.
    fn stop_soon(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Stops the thread and returns what it saw.
    fn finish(mut self) -> Outcome {
        self.stop_soon();
        if let Some(handle) = self.handle.take() {
            handle.join().expect("load thread");
        }
        std::mem::take(&mut *self.outcome.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// A batch of track events with these message ids, each with some context and properties.
fn batch_body(ids: &[String]) -> String {
    let events: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(index, id)| {
            json!({"type": "track", "userId": format!("user-{}", index % 7), "event": "Load",
                   "messageId": id, "properties": {"index": index, "plan": "pro"},
                   "context": {"library": {"name": "analytics-go", "version": "3.0.0"},
                               "network": {"wifi": index % 2 == 0}}})
        })
        .collect();
    json!({ "batch": events }).to_string()
}

/// Asserts that `stored` is exactly `expected` (no more, no fewer), naming a few differences.
#[track_caller]
fn assert_same_ids(stored: &HashSet<String>, expected: &HashSet<String>) {
    let missing: Vec<&String> = expected.difference(stored).take(5).collect();
    let extra: Vec<&String> = stored.difference(expected).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} acknowledged events missing from the warehouse (e.g. {missing:?}), {} rows never \
         acknowledged (e.g. {extra:?})",
        expected.difference(stored).count(),
        stored.difference(expected).count(),
    );
}

// --- The tests -------------------------------------------------------------------------------

#[test]
fn events_are_imported_into_postgresql_with_their_column_values() {
    let Some(postgres) = Postgres::new() else {
        return;
    };
    let server = TestServer::start();
    let api = Management::new(&server, server.admin_key.as_deref().expect("admin key"));
    use_postgres(&api, &postgres.url(None));
    let source = api.webhook_source();
    let pipeline = api.add_pipeline(&source, json!({}));

    let ua = "Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:47.0) Gecko/20100101 Firefox/47.0";
    let library = json!({"name": "analytics-go", "version": "3.0.0"});
    let body = json!({"batch": [
        // C48, plus booleans that are false and more context sections.
        {"type": "track", "anonymousId": "ff8dee31-fd87-45bb-978b-c7b3e2c52128",
         "event": "Test Event 48", "messageId": "pg-track",
         "properties": {"plan": "pro", "seats": 3, "tags": ["a", "b"], "nested": {"ok": true}},
         "context": {"library": library, "userAgent": ua, "os": {"name": "Linux", "version": "1"},
                     "ip": "255.255.255.0", "locale": "en", "timezone": "Europe/Rome",
                     "network": {"wifi": false, "bluetooth": false, "cellular": true, "carrier": "Acme"},
                     "device": {"id": "d-1", "adTrackingEnabled": false, "type": "mobile"},
                     "location": {"city": "Rome", "country": "IT", "latitude": 41.9, "longitude": 12.5},
                     "sessionId": 1_700_000_000_123_i64,
                     "consents": {"analytics": true, "ads": false}}},
        {"type": "identify", "userId": "u-1", "messageId": "pg-identify",
         "traits": {"email": "a@example.com", "vip": false},
         "context": {"library": library,
                     "app": {"name": "Shop", "version": "2.1", "build": "210", "namespace": "com.example.shop"}}},
        {"type": "page", "anonymousId": "a-2", "messageId": "pg-page", "name": "Home", "category": "Docs",
         "properties": {"path": "/"},
         "context": {"library": library,
                     "page": {"path": "/", "referrer": "https://example.org/", "search": "?q=1",
                              "title": "Home", "url": "https://example.com/?q=1"},
                     "campaign": {"name": "spring", "source": "news", "medium": "email"}}},
        {"type": "screen", "userId": "u-1", "messageId": "pg-screen", "name": "Cart",
         "context": {"library": library, "screen": {"width": 1080, "height": 1920, "density": 2.75},
                     "session": {"id": 42, "start": true}}},
        {"type": "group", "userId": "u-1", "messageId": "pg-group", "groupId": "g-1",
         "traits": {"name": "Acme", "employees": 10}},
        {"type": "alias", "userId": "u-1", "previousId": "a-2", "messageId": "pg-alias",
         "context": {"library": library, "referrer": {"id": "r-1", "type": "link"}}}
    ]})
    .to_string();
    let response = server.post_events("/v1/events", &body);
    assert_eq!(response.status, 200, "{}", response.text());

    wait_until(
        Duration::from_secs(20),
        "6 rows in PostgreSQL",
        || match postgres.counts() {
            (6, 6) => Ok(()),
            counts => Err(format!("{counts:?}")),
        },
    );
    let rows = postgres.rows();
    let row = |id: &str| -> &Map<String, Value> {
        rows.iter()
            .find(|row| row["message_id"] == id)
            .unwrap_or_else(|| panic!("no row {id} in {rows:?}"))
    };
    for row in &rows {
        assert_eq!(row["connection_id"], source.as_str(), "{row:?}");
    }

    let track = row("pg-track");
    let expected = [
        ("type", json!("track")),
        ("event", json!("Test Event 48")),
        (
            "anonymous_id",
            json!("ff8dee31-fd87-45bb-978b-c7b3e2c52128"),
        ),
        ("user_id", Value::Null),
        // C48's warehouse view.
        ("context_ip", json!("127.0.0.0")),
        ("context_os_name", json!("Linux")),
        ("context_os_version", json!("1")),
        ("context_browser_name", json!("Firefox")),
        ("context_browser_version", json!("47.0.0")),
        ("context_library_name", json!("analytics-go")),
        ("context_library_version", json!("3.0.0")),
        ("context_user_agent", json!(ua)),
        // Booleans sent as false stay false.
        ("context_network_wifi", json!(false)),
        ("context_network_bluetooth", json!(false)),
        ("context_network_cellular", json!(true)),
        ("context_network_carrier", json!("Acme")),
        ("context_device_ad_tracking_enabled", json!(false)),
        ("context_device_id", json!("d-1")),
        ("context_device_type", json!("mobile")),
        ("context_locale", json!("en-US")),
        ("context_timezone", json!("Europe/Rome")),
        ("context_location_city", json!("Rome")),
        ("context_location_latitude", json!(41.9)),
        ("context_session_id", json!(1_700_000_000_123_i64)),
        ("context_consents", json!({"ads": false, "analytics": true})),
        (
            "properties",
            json!({"plan": "pro", "seats": 3, "tags": ["a", "b"], "nested": {"ok": true}}),
        ),
        ("traits", json!({})),
        ("kpid", Value::Null),
    ];
    for (column, value) in &expected {
        assert_eq!(&track[*column], value, "track column {column}: {track:?}");
    }
    let identify = row("pg-identify");
    assert_eq!(identify["type"], "identify");
    assert_eq!(identify["user_id"], "u-1");
    assert_eq!(
        identify["traits"],
        json!({"email": "a@example.com", "vip": false})
    );
    assert_eq!(identify["properties"], Value::Null);
    assert_eq!(identify["context_app_namespace"], "com.example.shop");
    assert_eq!(
        identify["context_ip"],
        Value::Null,
        "webhook: no IP fallback"
    );
    let page = row("pg-page");
    assert_eq!(
        [&page["type"], &page["name"], &page["category"]],
        [&json!("page"), &json!("Home"), &json!("Docs")]
    );
    assert_eq!(page["context_page_url"], "https://example.com/?q=1");
    assert_eq!(page["context_campaign_medium"], "email");
    assert_eq!(page["properties"], json!({"path": "/"}));
    let screen = row("pg-screen");
    assert_eq!(
        [
            &screen["type"],
            &screen["name"],
            &screen["context_screen_width"],
            &screen["context_screen_height"],
            &screen["context_screen_density"],
            &screen["context_session_id"],
            &screen["context_session_start"],
        ],
        [
            &json!("screen"),
            &json!("Cart"),
            &json!(1080),
            &json!(1920),
            &json!(2.75),
            &json!(42),
            &json!(true)
        ]
    );
    let group = row("pg-group");
    assert_eq!(group["type"], "group");
    assert_eq!(group["group_id"], "g-1");
    assert_eq!(group["traits"], json!({"name": "Acme", "employees": 10}));
    let alias = row("pg-alias");
    assert_eq!(alias["type"], "alias");
    assert_eq!(alias["previous_id"], "a-2");
    assert_eq!(alias["context_referrer_type"], "link");

    // The PostgreSQL types themselves (storage spec §3.1), read with plain SQL.
    let typed = postgres
        .query(
            "SELECT pg_typeof(context_ip)::text, host(context_ip), \
                    pg_typeof(properties)::text, properties->'nested'->>'ok', \
                    pg_typeof(context_network_wifi)::text, context_network_wifi, \
                    context_consents->'ads' = 'false'::jsonb, pg_typeof(context_os_name)::text, \
                    pg_typeof(context_session_id)::text \
             FROM events WHERE message_id = 'pg-track'",
        )
        .expect("typed query");
    let typed = &typed[0];
    assert_eq!(
        (
            typed.get::<_, String>(0),
            typed.get::<_, String>(1),
            typed.get::<_, String>(2),
            typed.get::<_, String>(3),
            typed.get::<_, String>(4),
            typed.get::<_, Option<bool>>(5),
            typed.get::<_, bool>(6),
            typed.get::<_, String>(7),
            typed.get::<_, String>(8),
        ),
        (
            "inet".to_owned(),
            "127.0.0.0".to_owned(),
            "jsonb".to_owned(),
            "true".to_owned(),
            "boolean".to_owned(),
            Some(false),
            true,
            "event_os_name".to_owned(),
            "bigint".to_owned(),
        )
    );

    // Re-sending the same events changes nothing…
    let response = server.post_events("/v1/events", &body);
    assert_eq!(response.status, 200, "{}", response.text());
    // …and neither does writing them again: a second pipeline replays the log's history into
    // the same table, so every row is upserted a second time.
    let replay = api.add_pipeline(&source, json!({"replayFrom": "earliest"}));
    wait_until(Duration::from_secs(20), "the replay written", || {
        let stats = api.stats(&replay);
        if stats["written"] == 6 && stats["lag"] == 0 {
            Ok(())
        } else {
            Err(stats.to_string())
        }
    });
    let stats = api.stats(&pipeline);
    assert_eq!(stats["written"], 6, "{stats}");
    assert_eq!(postgres.counts(), (6, 6), "no row is duplicated");
    assert_eq!(postgres.rows(), rows, "no row is changed");
}

#[test]
fn a_postgresql_outage_under_load_loses_and_duplicates_nothing() {
    let Some(postgres) = Postgres::new() else {
        return;
    };
    let proxy = Proxy::start(postgres.address());
    let server = TestServer::start();
    let api = Management::new(&server, server.admin_key.as_deref().expect("admin key"));
    use_postgres(&api, &postgres.url(Some(&proxy.address)));
    let pipeline = api.add_pipeline(&api.webhook_source(), json!({}));

    let load = Load::start(&server, "outage", 20, Duration::from_millis(5));
    // The pipeline imports through the proxy before the cut.
    wait_until(
        Duration::from_secs(20),
        "rows before the cut",
        || match postgres.counts().0 {
            0 => Err("no rows".to_owned()),
            _ => Ok(()),
        },
    );
    // Cut when a batch has just been committed but before Weir hears so: the pipeline must
    // write that batch again, and the rows must not double.
    let rows_before_cut = postgres.counts().0;
    let cut_after_commit = proxy.cut_after_next_commit(Duration::from_secs(5));
    let cut_at = Instant::now();
    let acknowledged_at_cut = load.acknowledged();
    // During the cut the pipeline's lag grows and its error is visible.
    let mut stats_during_cut = Value::Null;
    while cut_at.elapsed() < Duration::from_secs(4) {
        stats_during_cut = api.stats(&pipeline);
        std::thread::sleep(Duration::from_millis(200));
    }
    let acknowledged_during_cut = load.acknowledged() - acknowledged_at_cut;
    let rows_at_cut = postgres.counts().0;
    proxy.restore();
    let restored_at = Instant::now();
    // A little more load after the outage, then everything sent is known.
    let more = load.acknowledged();
    wait_until(Duration::from_secs(10), "load after the outage", || {
        if load.acknowledged() >= more + 200 {
            Ok(())
        } else {
            Err(load.acknowledged().to_string())
        }
    });
    let outcome = load.finish();
    let acknowledged: HashSet<String> = outcome.acknowledged.iter().cloned().collect();
    assert_eq!(acknowledged.len(), outcome.acknowledged.len());

    // Every acknowledged event lands, once.
    let expected = i64::try_from(acknowledged.len()).expect("count");
    let settled = wait_until(
        Duration::from_secs(30),
        "every acknowledged event in PostgreSQL",
        || {
            let counts = postgres.counts();
            if counts.0 >= expected {
                Ok(counts)
            } else {
                Err(format!("{counts:?} of {expected}"))
            }
        },
    );
    let caught_up = restored_at.elapsed();
    println!(
        "outage: cut right after a COMMIT: {cut_after_commit} ({rows_before_cut} rows before, \
         {rows_at_cut} during the cut); {} events acknowledged ({acknowledged_during_cut} \
         during the 4 s cut), slowest answer {:?}, caught up {caught_up:?} after the restore; \
         stats during the cut: {stats_during_cut}",
        acknowledged.len(),
        outcome.slowest
    );
    assert!(
        outcome.failed.is_empty(),
        "{} requests were not answered 200, e.g. {:?}",
        outcome.failed.len(),
        outcome
            .failed
            .iter()
            .map(|(_, status, why)| format!("{status:?} {why}"))
            .take(3)
            .collect::<Vec<_>>()
    );
    assert!(
        acknowledged_during_cut > 0,
        "ingestion kept acknowledging during the cut"
    );
    assert!(
        stats_during_cut["lag"].as_u64().is_some_and(|lag| lag > 0)
            && stats_during_cut["lastError"].is_string(),
        "the outage shows in the pipeline's stats: {stats_during_cut}"
    );
    assert_eq!(settled.0, settled.1, "no duplicated rows");
    assert_eq!(settled.0, expected, "exactly the acknowledged events");
    assert_same_ids(&postgres.message_ids(), &acknowledged);
}

/// The message ids in the embedded warehouse of `data_dir`, in order. Read page by page with
/// `message_id > <last of the previous page>`, so rows the server inserts meanwhile can be
/// missed but never read twice.
fn sqlite_message_ids(data_dir: &Path) -> Vec<String> {
    let path = data_dir.join("warehouse.sqlite");
    if !path.exists() {
        return Vec::new();
    }
    runtime().block_on(async {
        let warehouse = SqliteWarehouse::open(&path).expect("warehouse opens");
        let mut ids: Vec<String> = Vec::new();
        loop {
            let filter = ids.last().map(|last| {
                Filter::Condition(Condition {
                    column: "message_id".into(),
                    op: Operator::Gt,
                    value: Some(json!(last)),
                })
            });
            let query = EventQuery {
                columns: vec!["message_id".into()],
                order: Some(("message_id".into(), Direction::Ascending)),
                first: 0,
                limit: MAX_LIMIT,
                filter,
            };
            let rows = warehouse.query_events(query).await.expect("query").rows;
            let last_page = rows.len() < MAX_LIMIT;
            ids.extend(
                rows.iter()
                    .map(|row| row["message_id"].as_str().expect("id").to_owned()),
            );
            if last_page {
                return ids;
            }
        }
    })
}

#[test]
fn sigkill_while_the_pipeline_writes_then_restart_imports_exactly_what_was_acknowledged() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut server = TestServer::start_in(data.path(), &[]);
    let key = server.admin_key.clone().expect("admin key");
    let api = Management::new(&server, &key);
    let source = api.webhook_source();

    // A backlog in the log first, so that the pipeline, replaying it, writes batch after
    // batch; the load goes on throughout.
    let load = Load::start(&server, "crash", 100, Duration::ZERO);
    wait_until(Duration::from_secs(20), "a backlog", || {
        match load.acknowledged() {
            backlog if backlog >= 10_000 => Ok(()),
            backlog => Err(backlog.to_string()),
        }
    });
    let pipeline = api.add_pipeline(&source, json!({"replayFrom": "earliest"}));
    // Kill once the first batch is committed: the pipeline is then writing the next ones.
    let before_kill =
        wait_until(
            Duration::from_secs(20),
            "the pipeline writing",
            || match sqlite_message_ids(data.path()).len() {
                0 => Err("no rows".to_owned()),
                stored => Ok(stored),
            },
        );
    // At most the request in flight is cut by the kill.
    load.stop_soon();
    server.kill();
    let mut outcome = load.finish();
    let killed_at = Instant::now();
    let at_kill = sqlite_message_ids(data.path()).len();
    let answered: Vec<_> = outcome
        .failed
        .iter()
        .filter_map(|(_, status, why)| status.map(|status| format!("{status} {why}")))
        .collect();
    assert!(
        answered.is_empty(),
        "requests not answered 200: {answered:?}"
    );

    // A request cut by the kill may or may not have been stored: send it again after the
    // restart (deduplicated by the log if it was), so that every event sent is acknowledged.
    let server = TestServer::start_in(data.path(), &[]);
    let resent: usize = outcome.failed.iter().map(|(ids, _, _)| ids.len()).sum();
    for (ids, _, _) in &outcome.failed {
        let response = server.post_events("/v1/events", &batch_body(ids));
        assert_eq!(response.status, 200, "{}", response.text());
        outcome.acknowledged.extend(ids.iter().cloned());
    }
    let acknowledged: HashSet<String> = outcome.acknowledged.iter().cloned().collect();
    assert_eq!(acknowledged.len(), outcome.acknowledged.len());
    let api = Management::new(&server, &key);
    wait_until(
        Duration::from_secs(30),
        "every acknowledged event in SQLite",
        || {
            let stored = sqlite_message_ids(data.path()).len();
            let stats = api.stats(&pipeline);
            if stored >= acknowledged.len() && stats["lag"] == 0 {
                Ok(())
            } else {
                Err(format!("{stored} of {} rows; {stats}", acknowledged.len()))
            }
        },
    );
    println!(
        "crash: {} events acknowledged ({resent} resent), {before_kill} rows seen before the kill, \
         {at_kill} at the kill, all {:?} after it",
        acknowledged.len(),
        killed_at.elapsed()
    );
    // The pipeline has caught up: nothing changes any more.
    let stored = sqlite_message_ids(data.path());
    let distinct: HashSet<String> = stored.iter().cloned().collect();
    assert_eq!(stored.len(), acknowledged.len(), "exact count");
    assert_same_ids(&distinct, &acknowledged);
}
