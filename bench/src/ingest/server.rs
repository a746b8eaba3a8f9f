//! The server under test: a release `weir serve` on a loopback port and a fresh data
//! directory, found through the banner it prints, stopped with SIGTERM like in production.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use tempfile::TempDir;

/// How long the server may take to print its banner, and to exit after SIGTERM.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `weir serve`; killed if dropped while still running.
#[derive(Debug)]
pub(crate) struct Server {
    child: Child,
    pub(crate) address: SocketAddr,
    pub(crate) write_key: String,
    data_dir: TempDir,
}

impl Server {
    /// Starts `weir serve --listen 127.0.0.1:0 --data-dir <fresh temporary directory>` and
    /// waits for its banner. The server's log lines go to `server.log` beside the data.
    pub(crate) fn start(weir: &Path) -> Result<Server> {
        let data_dir = tempfile::Builder::new()
            .prefix("weir-bench-ingest-")
            .tempdir()
            .context("creating the server's data directory")?;
        let log = std::fs::File::create(data_dir.path().join("server.log"))?;
        let mut child = Command::new(weir)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir.path().join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", weir.display()))?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let (lines, banner) = mpsc::channel();
        // Reads the banner, then keeps draining stdout so the server never blocks on it.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Once the banner is read nobody listens; keep reading anyway, or the
                // server's next print would fail with a broken pipe.
                let _ = lines.send(line);
            }
        });
        let mut server = Server {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            write_key: String::new(),
            data_dir,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while server.address.port() == 0 || server.write_key.is_empty() {
            let wait = deadline.saturating_duration_since(Instant::now());
            let line = match banner.recv_timeout(wait) {
                Ok(line) => line,
                Err(_) => bail!(
                    "weir serve printed no complete banner within {START_TIMEOUT:?}; its log:\n{}",
                    server.log()
                ),
            };
            if let Some(url) = line.strip_prefix("Weir is listening on http://") {
                server.address = url
                    .trim()
                    .parse()
                    .with_context(|| format!("unexpected listen address in {line:?}"))?;
            } else if let Some(key) = line.strip_prefix("Event write key: ") {
                server.write_key = key.trim().to_owned();
            }
        }
        Ok(server)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The data directory (`log.sqlite` is in it).
    pub(crate) fn data_dir(&self) -> PathBuf {
        self.data_dir.path().join("data")
    }

    /// The server's stderr so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.path().join("server.log")).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the graceful shutdown (drain, log flush) to finish.
    pub(crate) fn stop(&mut self) -> Result<ExitStatus> {
        signal(self.pid(), "TERM")?;
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                bail!("weir serve did not exit within {STOP_TIMEOUT:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `GET path` on a new connection; the response body.
    pub(crate) fn get(&self, path: &str) -> Result<String> {
        let mut stream = TcpStream::connect(self.address)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.address
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let Some((head, body)) = response.split_once("\r\n\r\n") else {
            bail!("GET {path}: incomplete response");
        };
        if !head.starts_with("HTTP/1.1 200") {
            bail!(
                "GET {path}: {}",
                head.lines().next().unwrap_or("no status line")
            );
        }
        Ok(body.to_owned())
    }

    /// The log's commit counters from `/metrics`, if the server exports them.
    pub(crate) fn commit_counters(&self) -> Result<Option<CommitCounters>> {
        let metrics = self.get("/metrics")?;
        let value = |name: &str| -> Option<u64> {
            let value = metrics
                .lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))?;
            value.trim().parse::<f64>().ok().map(|value| value as u64)
        };
        Ok(
            match (
                value("weir_log_commits_total"),
                value("weir_log_events_appended_total"),
            ) {
                (Some(commits), Some(events)) => Some(CommitCounters { commits, events }),
                _ => None,
            },
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `weir_log_commits_total` and `weir_log_events_appended_total`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CommitCounters {
    pub(crate) commits: u64,
    pub(crate) events: u64,
}

impl CommitCounters {
    /// The commits and events between two readings.
    pub(crate) fn between(
        before: Option<CommitCounters>,
        after: Option<CommitCounters>,
    ) -> Option<CommitCounters> {
        let (before, after) = before.zip(after)?;
        Some(CommitCounters {
            commits: after.commits.saturating_sub(before.commits),
            events: after.events.saturating_sub(before.events),
        })
    }
}

/// Sends `SIG<name>` to `pid` with kill(1) (the workspace forbids `unsafe`, so no libc).
pub(crate) fn signal(pid: u32, name: &str) -> Result<()> {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .context("running kill")?;
    if !status.success() {
        bail!("kill -{name} {pid} failed ({status})");
    }
    Ok(())
}
