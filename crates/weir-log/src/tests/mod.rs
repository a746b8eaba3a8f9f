//! Tests of the log through its public API ([`crate::EventLog`] on [`crate::SqliteLog`]), on
//! temporary directories.

mod append;
mod cursors;
mod dedup;
mod failure;
mod lifecycle;

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tempfile::TempDir;

use crate::{AppendEvent, AppendStatus, LogConfig, SqliteLog};

const WORKSPACE: &str = "wsAAAAAAAAAA";
const CONNECTION: &str = "cnAAAAAAAAAA";

/// A temporary data directory and the path of its `log.sqlite`.
struct DataDir {
    _dir: TempDir,
    path: PathBuf,
}

fn data_dir() -> DataDir {
    let dir = TempDir::new().expect("temporary directory");
    let path = dir.path().join("log.sqlite");
    DataDir { _dir: dir, path }
}

fn open(dir: &DataDir) -> SqliteLog {
    open_with(dir, LogConfig::default())
}

fn open_with(dir: &DataDir, config: LogConfig) -> SqliteLog {
    SqliteLog::open(&dir.path, config).expect("open log")
}

fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(since.as_millis()).expect("millis fit i64")
}

/// An event of `CONNECTION` whose payload names its message id.
fn event(message_id: &str) -> AppendEvent {
    event_on(CONNECTION, message_id, now_ms())
}

fn event_on(connection_id: &str, message_id: &str, received_at_ms: i64) -> AppendEvent {
    AppendEvent {
        workspace_id: WORKSPACE.to_owned(),
        connection_id: connection_id.to_owned(),
        message_id: message_id.to_owned(),
        received_at_ms,
        payload: Bytes::from(format!(r#"{{"messageId":"{message_id}"}}"#)),
        dedup: true,
    }
}

fn seqs(statuses: &[AppendStatus]) -> Vec<Option<u64>> {
    statuses.iter().map(|status| status.seq()).collect()
}

/// Polls `check` until it returns true or 10 s pass.
async fn eventually<F, Fut>(mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "condition not reached within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
