//! `weir events tail`: prints a source's events as they arrive, from the server's
//! Server-Sent-Events stream (`GET /v1/events/stream`) — one line per event, rejected events
//! marked with their reason, duplicates marked too; `--json` prints each entry's full JSON.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result};
use clap::Subcommand;
use serde_json::Value;

use super::client::Client;

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print events as they arrive (Ctrl-C to stop).
    Tail {
        /// Only this source connection's events.
        #[arg(long, value_name = "ID")]
        source: Option<String>,
        /// Only events matching this filter (JSON, the pipeline filter language).
        #[arg(long, value_name = "JSON")]
        filter: Option<String>,
        /// Leave out rejected and duplicate events.
        #[arg(long)]
        accepted_only: bool,
    },
}

pub(crate) fn run(client: &mut Client, json: bool, command: Command) -> Result<()> {
    let Command::Tail {
        source,
        filter,
        accepted_only,
    } = command;
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(source) = &source {
        query.append_pair("connection", source);
    }
    if let Some(filter) = &filter {
        let parsed: Value = serde_json::from_str(filter).context("--filter is not valid JSON")?;
        query.append_pair("filter", &parsed.to_string());
    }
    if accepted_only {
        query.append_pair("includeRejected", "false");
    }
    let query = query.finish();
    let path = if query.is_empty() {
        "/v1/events/stream".to_string()
    } else {
        format!("/v1/events/stream?{query}")
    };
    let stream = client.stream(&path)?;
    let colour = std::io::stdout().is_terminal();
    let mut out = std::io::stdout().lock();
    let mut kind = String::new();
    for line in stream.lines() {
        let line = line.context("the event stream broke off")?;
        if let Some(rest) = line.strip_prefix("event: ") {
            kind = rest.to_string();
        } else if let Some(data) = line.strip_prefix("data: ") {
            let text = if json {
                data.to_string()
            } else {
                describe(&kind, data, colour)
            };
            writeln!(out, "{text}")?;
            out.flush()?;
        }
    }
    Ok(())
}

/// One human line for an entry.
fn describe(kind: &str, data: &str, colour: bool) -> String {
    let entry: Value = serde_json::from_str(data).unwrap_or(Value::Null);
    let text = |name: &str| entry[name].as_str().unwrap_or("").to_string();
    let paint = |code: &str, text: String| {
        if colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text
        }
    };
    match kind {
        "event" => {
            let what = ["event", "name", "groupId", "previousId"]
                .iter()
                .map(|k| text(k))
                .find(|t| !t.is_empty())
                .unwrap_or_default();
            let who = if text("userId").is_empty() {
                format!("anonymousId={}", text("anonymousId"))
            } else {
                format!("userId={}", text("userId"))
            };
            format!(
                "{}  {:<8} {:<24} {}  messageId={}",
                text("receivedAt"),
                text("type"),
                what,
                who,
                text("messageId")
            )
        }
        "rejected" => paint(
            "31",
            format!(
                "{}  REJECTED {}  raw={}",
                text("receivedAt"),
                text("error"),
                text("raw")
            ),
        ),
        "duplicate" => paint(
            "33",
            format!(
                "{}  DUPLICATE messageId={}",
                text("receivedAt"),
                text("messageId")
            ),
        ),
        "omitted" => paint(
            "2",
            format!(
                "… {} entries omitted (the terminal fell behind)",
                entry["omitted"]
            ),
        ),
        other => format!("{other}: {data}"),
    }
}
