//! The load generator: keep-alive HTTP/1.1 connections driven by one thread.
//!
//! The generator competes with the server for the machine's two cores, so it is as lean as a
//! client can be: each connection owns one pre-serialised request whose message ids it stamps
//! in place, writes it with one `write_all`, and reads the response into a reused buffer,
//! parsing only the status line and `Content-Length`. All connections run as tasks on a
//! current-thread tokio runtime, so the generator uses at most one core.
//!
//! Two ways to drive them:
//! * [`closed_loop`]: every connection sends its next request as soon as the previous one is
//!   answered — the server's maximum throughput at that concurrency.
//! * [`open_loop`]: requests are due at a fixed rate whatever the server does; latency counts
//!   from when a request was due, so a slow answer also delays (and is charged to) the requests
//!   queued behind it rather than silently lowering the offered load (no coordinated omission).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::request::{self, Template};

/// One keep-alive connection with its own copy of the request.
#[derive(Debug)]
pub(crate) struct Connection {
    stream: TcpStream,
    request: Vec<u8>,
    stamps: Arc<[usize]>,
    response: Vec<u8>,
}

/// A response: its status and where its body lies in the connection's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Response {
    pub(crate) status: u16,
    body_start: usize,
}

impl Connection {
    pub(crate) async fn open(address: SocketAddr, template: &Template) -> Result<Connection> {
        let stream = TcpStream::connect(address)
            .await
            .with_context(|| format!("connecting to {address}"))?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            request: template.bytes.clone(),
            stamps: template.stamps.clone().into(),
            response: Vec::with_capacity(4096),
        })
    }

    /// Sends the request with the ids of request number `sequence` and reads the response.
    pub(crate) async fn send(&mut self, sequence: u64) -> Result<Response> {
        request::stamp(&mut self.request, &self.stamps, sequence);
        self.stream
            .write_all(&self.request)
            .await
            .context("sending a request")?;
        self.read_response().await
    }

    /// The body of the last response.
    pub(crate) fn body(&self, response: Response) -> &[u8] {
        &self.response[response.body_start..]
    }

    async fn read_response(&mut self) -> Result<Response> {
        self.response.clear();
        let (status, head_len, body_len) = loop {
            if self.stream.read_buf(&mut self.response).await? == 0 {
                bail!("the server closed the connection");
            }
            if let Some(head) = parse_head(&self.response)? {
                break head;
            }
        };
        let total = head_len + body_len;
        while self.response.len() < total {
            if self.stream.read_buf(&mut self.response).await? == 0 {
                bail!("the server closed the connection in a response body");
            }
        }
        ensure!(
            self.response.len() == total,
            "the server sent more than one response"
        );
        Ok(Response {
            status,
            body_start: head_len,
        })
    }
}

/// Parses a response head once it is complete: (status, head length, `Content-Length`).
fn parse_head(buffer: &[u8]) -> Result<Option<(u16, usize, usize)>> {
    let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") else {
        ensure!(buffer.len() < 64 * 1024, "response head too long");
        return Ok(None);
    };
    let head = std::str::from_utf8(&buffer[..end]).context("response head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("bad status line {status_line:?}"))?;
    let mut content_length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            bail!("bad response header {line:?}");
        };
        if name.eq_ignore_ascii_case("content-length") {
            content_length = Some(value.trim().parse().context("bad Content-Length")?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            bail!("chunked responses are not supported by the load generator");
        }
    }
    let content_length = content_length.context("response without Content-Length")?;
    Ok(Some((status, end + 4, content_length)))
}

/// What one phase observed.
#[derive(Debug, Clone, Default)]
pub(crate) struct PhaseResult {
    /// Requests answered 200.
    pub(crate) ok: u64,
    /// Requests answered with any other status.
    pub(crate) failed: u64,
    /// Last status other than 200, for the error message.
    pub(crate) last_failure: Option<u16>,
    /// From the phase's start to its last response.
    pub(crate) elapsed: Duration,
    /// Latency of every request, microseconds, sorted.
    pub(crate) latencies_us: Vec<u32>,
    /// Requests answered 200 in each whole second of the phase.
    pub(crate) per_second: Vec<u64>,
}

impl PhaseResult {
    pub(crate) fn requests_per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// Nearest-rank percentile (`fraction` in 0..=1) of the latencies.
    pub(crate) fn percentile(&self, fraction: f64) -> Duration {
        let Some(last) = self.latencies_us.len().checked_sub(1) else {
            return Duration::ZERO;
        };
        let rank = (fraction * self.latencies_us.len() as f64).ceil() as usize;
        Duration::from_micros(u64::from(
            self.latencies_us[rank.saturating_sub(1).min(last)],
        ))
    }

    fn merge(&mut self, other: ConnectionResult) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.last_failure = other.last_failure.or(self.last_failure);
        self.latencies_us.extend(other.latencies_us);
    }
}

#[derive(Debug, Default)]
struct ConnectionResult {
    ok: u64,
    failed: u64,
    last_failure: Option<u16>,
    latencies_us: Vec<u32>,
    /// Requests answered 200 by every connection of the phase, for the per-second timeline.
    answered: Arc<AtomicU64>,
}

impl ConnectionResult {
    fn new(answered: &Arc<AtomicU64>) -> ConnectionResult {
        ConnectionResult {
            answered: answered.clone(),
            ..ConnectionResult::default()
        }
    }

    fn record(&mut self, response: Response, latency: Duration) {
        if response.status == 200 {
            self.ok += 1;
            self.answered.fetch_add(1, Ordering::Relaxed);
        } else {
            self.failed += 1;
            self.last_failure = Some(response.status);
        }
        self.latencies_us
            .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }
}

/// Numbers requests across connections and phases, so every request carries new ids.
#[derive(Debug, Default, Clone)]
pub(crate) struct Sequence(Arc<AtomicU64>);

impl Sequence {
    pub(crate) fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed)
    }
}

/// Runs every connection back to back for `duration`; returns the connections for reuse.
pub(crate) async fn closed_loop(
    connections: Vec<Connection>,
    sequence: &Sequence,
    duration: Duration,
) -> Result<(Vec<Connection>, PhaseResult)> {
    let start = Instant::now();
    let end = start + duration;
    let answered = Arc::new(AtomicU64::new(0));
    let timeline = tokio::spawn(timeline(answered.clone(), start, duration));
    let tasks: Vec<_> = connections
        .into_iter()
        .map(|mut connection| {
            let sequence = sequence.clone();
            let answered = answered.clone();
            tokio::spawn(async move {
                let mut result = ConnectionResult::new(&answered);
                while Instant::now() < end {
                    let sent = Instant::now();
                    let response = connection.send(sequence.next()).await?;
                    result.record(response, sent.elapsed());
                }
                anyhow::Ok((connection, result))
            })
        })
        .collect();
    collect(tasks, timeline, start).await
}

/// Offers `requests_per_second` in total, spread evenly over the connections, for
/// `duration`. Each connection has a fixed schedule; a request whose connection is still busy
/// when it is due goes out as soon as the connection is free, and its latency counts from when
/// it was due. (When the connection was idle, latency counts from the actual send, so timer
/// lateness of the generator is not charged to the server.)
pub(crate) async fn open_loop(
    connections: Vec<Connection>,
    sequence: &Sequence,
    duration: Duration,
    requests_per_second: f64,
) -> Result<(Vec<Connection>, PhaseResult)> {
    ensure!(
        requests_per_second > 0.0,
        "the open-loop rate must be positive"
    );
    let count = connections.len() as f64;
    let period = Duration::from_secs_f64(count / requests_per_second);
    let start = Instant::now();
    let end = start + duration;
    let answered = Arc::new(AtomicU64::new(0));
    let timeline = tokio::spawn(timeline(answered.clone(), start, duration));
    let tasks: Vec<_> = connections
        .into_iter()
        .enumerate()
        .map(|(index, mut connection)| {
            let sequence = sequence.clone();
            let answered = answered.clone();
            let offset = period.mul_f64(index as f64 / count);
            tokio::spawn(async move {
                let mut result = ConnectionResult::new(&answered);
                let mut due = start + offset;
                let mut free_since = start;
                while due < end {
                    tokio::time::sleep_until(due.into()).await;
                    let sent = Instant::now();
                    let origin = if free_since <= due { sent } else { due };
                    let response = connection.send(sequence.next()).await?;
                    free_since = Instant::now();
                    result.record(response, free_since - origin);
                    due += period;
                }
                anyhow::Ok((connection, result))
            })
        })
        .collect();
    collect(tasks, timeline, start).await
}

type Task = tokio::task::JoinHandle<Result<(Connection, ConnectionResult)>>;

async fn collect(
    tasks: Vec<Task>,
    timeline: tokio::task::JoinHandle<Vec<u64>>,
    start: Instant,
) -> Result<(Vec<Connection>, PhaseResult)> {
    let mut connections = Vec::with_capacity(tasks.len());
    let mut result = PhaseResult::default();
    for task in tasks {
        let (connection, connection_result) = task.await.context("a connection task failed")??;
        connections.push(connection);
        result.merge(connection_result);
    }
    result.elapsed = start.elapsed();
    result.latencies_us.sort_unstable();
    result.per_second = timeline.await.context("the timeline task failed")?;
    Ok((connections, result))
}

/// Samples `answered` at every whole second of the phase; returns the count per second.
async fn timeline(answered: Arc<AtomicU64>, start: Instant, duration: Duration) -> Vec<u64> {
    let mut per_second = Vec::new();
    let mut previous = 0;
    let mut second = Duration::from_secs(1);
    while second <= duration {
        tokio::time::sleep_until((start + second).into()).await;
        let now = answered.load(Ordering::Relaxed);
        per_second.push(now - previous);
        previous = now;
        second += Duration::from_secs(1);
    }
    per_second
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_complete_head_only() {
        let head = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(parse_head(head).unwrap(), Some((200, head.len(), 0)));
        assert_eq!(parse_head(&head[..20]).unwrap(), None);
        let with_body = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(
            parse_head(with_body).unwrap(),
            Some((400, with_body.len() - 2, 2))
        );
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n").is_err());
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let result = PhaseResult {
            latencies_us: (1..=1000).collect(),
            ..PhaseResult::default()
        };
        assert_eq!(result.percentile(0.5), Duration::from_micros(500));
        assert_eq!(result.percentile(0.99), Duration::from_micros(990));
        assert_eq!(result.percentile(0.999), Duration::from_micros(999));
        assert_eq!(result.percentile(1.0), Duration::from_micros(1000));
        assert_eq!(PhaseResult::default().percentile(0.5), Duration::ZERO);
    }
}
