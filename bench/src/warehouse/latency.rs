//! End-to-end latency: a release `weir serve` with an enabled Event pipeline created through
//! the management API, a paced load of 20-event `POST /v1/events` requests, and for the first
//! event of every request the time from its 200 to its row being visible in
//! `<data_dir>/warehouse.sqlite` (a primary-key lookup polled every millisecond on a separate
//! read connection).

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use serde_json::{Value, json};

use crate::server::Server;
use crate::spec::batch;

/// Events per request.
pub(crate) const REQUEST_EVENTS: usize = 20;
/// How long a sampled event may take to become visible.
const VISIBLE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the latency run observed.
#[derive(Debug, Clone)]
pub(crate) struct LatencyResult {
    pub(crate) requests: usize,
    pub(crate) rate: u64,
    pub(crate) duration: Duration,
    /// 200 → row visible, one per request, sorted.
    pub(crate) visible: Vec<Duration>,
    /// Request sent → 200, sorted.
    pub(crate) responses: Vec<Duration>,
}

/// The nearest-rank percentile of sorted `values`.
pub(crate) fn percentile(values: &[Duration], fraction: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let rank = (fraction * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// Runs `weir` at `rate` events/s for `duration`.
pub(crate) fn measure(weir: &Path, rate: u64, duration: Duration) -> Result<LatencyResult> {
    let server = Server::start(weir, "warehouse")?;
    let workspaces = call(&server, "GET", "/v1/workspaces", None, None)?;
    let workspace = workspaces["workspaces"][0]["id"]
        .as_str()
        .context("no workspace in GET /v1/workspaces")?
        .to_owned();
    let request = json!({
        "connection": server.connection, "target": "Event", "name": "bench", "enabled": true
    });
    let pipeline = call(
        &server,
        "POST",
        "/v1/pipelines",
        Some(&workspace),
        Some(&request),
    )?;
    ensure!(
        pipeline["id"].is_string(),
        "no pipeline created: {pipeline}"
    );

    let bodies = bodies(rate, duration)?;
    let requests = bodies.len();
    let (sent, received) = mpsc::channel::<(String, Instant)>();
    let warehouse = server.data_dir().join(weir_pipeline::WAREHOUSE_FILE);
    let connection = server.connection.clone();
    let poller = std::thread::spawn(move || poll_visible(&warehouse, &connection, &received));

    let interval = Duration::from_secs_f64(REQUEST_EVENTS as f64 / rate as f64);
    let mut stream = TcpStream::connect(server.address)?;
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut responses = Vec::with_capacity(requests);
    let start = Instant::now();
    for (index, (sample, body)) in bodies.iter().enumerate() {
        let due = start + interval * u32::try_from(index)?;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let request = format!(
            "POST /v1/events HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Authorization: Bearer {}\r\nContent-Length: {}\r\n\r\n",
            server.address,
            server.write_key,
            body.len()
        );
        let sent_at = Instant::now();
        stream.write_all(request.as_bytes())?;
        stream.write_all(body)?;
        let (status, response) = read_response(&mut reader)?;
        let answered = Instant::now();
        ensure!(
            status == 200,
            "POST /v1/events: {status} {}",
            String::from_utf8_lossy(&response)
        );
        responses.push(answered - sent_at);
        let _ = sent.send((sample.clone(), answered));
    }
    let elapsed = start.elapsed();
    drop(sent);
    let mut visible = poller
        .join()
        .map_err(|_| anyhow::anyhow!("the poller panicked"))??;
    ensure!(
        visible.len() == requests,
        "{} of {requests} samples seen",
        visible.len()
    );
    visible.sort();
    responses.sort();
    Ok(LatencyResult {
        requests,
        rate,
        duration: elapsed,
        visible,
        responses,
    })
}

/// One body per request with unique message ids, cycling through the spec batch's 100
/// events; with the message id of its first event (the sample).
fn bodies(rate: u64, duration: Duration) -> Result<Vec<(String, Vec<u8>)>> {
    let batch: Value = serde_json::from_slice(&batch::build())?;
    let events = batch["batch"].as_array().context("no batch array")?;
    let requests = (rate as f64 * duration.as_secs_f64() / REQUEST_EVENTS as f64).ceil() as usize;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut bodies = Vec::with_capacity(requests);
    for request in 0..requests {
        let mut chosen = Vec::with_capacity(REQUEST_EVENTS);
        for index in 0..REQUEST_EVENTS {
            let mut event = events[(request * REQUEST_EVENTS + index) % events.len()].clone();
            event["messageId"] = json!(format!("lat-{}-{request:06}-{index:02}", &run[..8]));
            chosen.push(event);
        }
        let sample = chosen[0]["messageId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let body = serde_json::to_vec(&json!({"batch": chosen, "sentAt": batch["sentAt"]}))?;
        bodies.push((sample, body));
    }
    Ok(bodies)
}

/// Looks the pending samples up every millisecond until the sender is done and all are seen.
fn poll_visible(
    warehouse: &Path,
    connection_id: &str,
    received: &mpsc::Receiver<(String, Instant)>,
) -> Result<Vec<Duration>> {
    let mut pending: VecDeque<(String, Instant)> = VecDeque::new();
    let mut visible = Vec::new();
    let mut database: Option<rusqlite::Connection> = None;
    let mut open = true;
    while open || !pending.is_empty() {
        loop {
            match received.try_recv() {
                Ok(sample) => pending.push_back(sample),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        if database.is_none() && warehouse.exists() {
            let db = rusqlite::Connection::open_with_flags(
                warehouse,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )?;
            db.busy_timeout(Duration::from_secs(5))?;
            database = Some(db);
        }
        if let Some(db) = &database {
            let mut lookup = match db
                .prepare_cached("SELECT 1 FROM events WHERE connection_id = ?1 AND message_id = ?2")
            {
                Ok(lookup) => lookup,
                // The table is created when the pipeline opens the warehouse.
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
            };
            let now = Instant::now();
            let mut still = VecDeque::with_capacity(pending.len());
            for (id, answered) in pending.drain(..) {
                if lookup.exists((connection_id, id.as_str()))? {
                    visible.push(now.saturating_duration_since(answered));
                } else if answered.elapsed() > VISIBLE_TIMEOUT {
                    bail!("event {id} was not visible {VISIBLE_TIMEOUT:?} after its 200");
                } else {
                    still.push_back((id, answered));
                }
            }
            pending = still;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(visible)
}

/// Reads one response with a `Content-Length` body.
fn read_response(reader: &mut BufReader<TcpStream>) -> Result<(u16, Vec<u8>)> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("bad status line {line:?}"))?;
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok((status, body))
}

/// A management API call on a new connection; the JSON response of a 200.
fn call(
    server: &Server,
    method: &str,
    path: &str,
    workspace: Option<&str>,
    body: Option<&Value>,
) -> Result<Value> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let workspace = workspace
        .map(|id| format!("Weir-Workspace: {id}\r\n"))
        .unwrap_or_default();
    let mut stream = TcpStream::connect(server.address)?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n{workspace}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        server.address,
        server.admin_key,
        body.len()
    )?;
    let (status, response) = read_response(&mut BufReader::new(stream))?;
    ensure!(
        status == 200 || status == 201,
        "{method} {path}: {status} {}",
        String::from_utf8_lossy(&response)
    );
    Ok(serde_json::from_slice(&response)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_unique_ids_and_the_requested_size() {
        let bodies = bodies(200, Duration::from_secs(1)).unwrap();
        assert_eq!(bodies.len(), 10);
        let mut ids = std::collections::HashSet::new();
        for (sample, body) in &bodies {
            let value: Value = serde_json::from_slice(body).unwrap();
            let events = value["batch"].as_array().unwrap();
            assert_eq!(events.len(), REQUEST_EVENTS);
            assert_eq!(events[0]["messageId"], json!(sample));
            for event in events {
                assert!(ids.insert(event["messageId"].as_str().unwrap().to_owned()));
            }
        }
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 0.5), Duration::from_millis(50));
        assert_eq!(percentile(&values, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }
}
