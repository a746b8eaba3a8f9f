//! The server under test, shared by the benchmarks: a release `weir serve` on a loopback port
//! and a fresh data directory, found through the banner it prints (address, event write key,
//! admin API key, connection id), stopped with SIGTERM like in production.

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
    /// The bootstrap source's event write key.
    pub(crate) write_key: String,
    /// The bootstrap admin API key, for the management API.
    pub(crate) admin_key: String,
    /// The bootstrap source's connection id.
    pub(crate) connection: String,
    dir: TempDir,
}

impl Server {
    /// Starts `weir serve --listen 127.0.0.1:0 --data-dir <fresh temporary directory>` and
    /// waits for its banner. `benchmark` names the temporary directory
    /// (`weir-bench-<benchmark>-…`); the server's log lines go to `server.log` in it, beside
    /// the data.
    pub(crate) fn start(weir: &Path, benchmark: &str) -> Result<Server> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("weir-bench-{benchmark}-"))
            .tempdir()
            .context("creating the server's data directory")?;
        let log = std::fs::File::create(dir.path().join("server.log"))?;
        let mut child = Command::new(weir)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
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
            admin_key: String::new(),
            connection: String::new(),
            dir,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while !server.banner_complete() {
            let wait = deadline.saturating_duration_since(Instant::now());
            let line = match banner.recv_timeout(wait) {
                Ok(line) => line,
                Err(_) => bail!(
                    "weir serve printed no complete banner within {START_TIMEOUT:?}; its log:\n{}",
                    server.log()
                ),
            };
            server.read_banner_line(&line)?;
        }
        Ok(server)
    }

    /// Whether every banner value has been read.
    fn banner_complete(&self) -> bool {
        self.address.port() != 0
            && !self.write_key.is_empty()
            && !self.admin_key.is_empty()
            && !self.connection.is_empty()
    }

    /// Takes whichever banner value `line` carries, if any.
    fn read_banner_line(&mut self, line: &str) -> Result<()> {
        if let Some(url) = line.strip_prefix("Weir is listening on http://") {
            self.address = url
                .trim()
                .parse()
                .with_context(|| format!("unexpected listen address in {line:?}"))?;
        } else if let Some(key) = line.strip_prefix("Event write key: ") {
            key.trim().clone_into(&mut self.write_key);
        } else if line.starts_with("Admin API key (")
            && let Some((_, key)) = line.rsplit_once(": ")
        {
            key.trim().clone_into(&mut self.admin_key);
        } else if let Some((_, rest)) = line.split_once("(connection ")
            && let Some((id, _)) = rest.split_once(')')
        {
            id.clone_into(&mut self.connection);
        }
        Ok(())
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The data directory (`log.sqlite` and the warehouse are in it).
    pub(crate) fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The server's stderr so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
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
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_gives_all_four_values() {
        let mut child = Command::new("true").spawn().unwrap();
        let _ = child.wait();
        let mut server = Server {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            write_key: String::new(),
            admin_key: String::new(),
            connection: String::new(),
            dir: tempfile::tempdir().unwrap(),
        };
        let banner = [
            "Weir is listening on http://127.0.0.1:4318",
            "Source \"Default\" (connection 3f2a) in workspace \"Default\"",
            "Event write key: wk_123",
            "Admin API key (shown only now; also saved to /tmp/d/admin.key): ak_456",
            "",
            "Send your first event:",
        ];
        for line in banner {
            assert!(!server.banner_complete());
            server.read_banner_line(line).unwrap();
            if line.starts_with("Admin") {
                break;
            }
        }
        assert!(server.banner_complete());
        assert_eq!(server.address, SocketAddr::from(([127, 0, 0, 1], 4318)));
        assert_eq!(server.connection, "3f2a");
        assert_eq!(server.write_key, "wk_123");
        assert_eq!(server.admin_key, "ak_456");
        assert!(
            server
                .read_banner_line("Weir is listening on http://nope")
                .is_err()
        );
    }
}
