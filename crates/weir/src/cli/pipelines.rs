//! `weir pipelines add|list|show|enable|disable|replay|delete`: pipelines of the workspace's
//! connections (`/v1/pipelines`). `--target event` is "Import events into warehouse",
//! `--target user` "Import users into warehouse". New pipelines start disabled unless
//! `--enabled` is given. `replay` makes a pipeline read the retained event log again
//! (`POST /v1/pipelines/{id}/replay`).

use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};
use serde_json::{Value, json};

use super::client::Client;
use super::output::{cell, items, print_json, print_table, text};

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Add a pipeline to a source connection.
    Add {
        /// The source connection's id.
        #[arg(long, value_name = "ID")]
        source: String,
        /// Name, 1 to 60 characters.
        #[arg(long)]
        name: String,
        /// What the pipeline imports into the warehouse.
        #[arg(long, value_enum)]
        target: Target,
        /// A filter as JSON, e.g. '{"logical":"and","conditions":[…]}'.
        #[arg(long, value_name = "JSON")]
        filter: Option<String>,
        /// Start it enabled.
        #[arg(long)]
        enabled: bool,
        /// Where it starts reading: now (default), earliest, or an RFC 3339 time.
        #[arg(long, value_name = "FROM")]
        replay_from: Option<String>,
    },
    /// List the pipelines, of one source connection with --source.
    List {
        /// Only the pipelines of this connection.
        #[arg(long, value_name = "ID")]
        source: Option<String>,
    },
    /// Show a pipeline.
    Show {
        /// The pipeline's id.
        id: String,
    },
    /// Enable a pipeline (it resumes where it stopped).
    Enable {
        /// The pipeline's id.
        id: String,
    },
    /// Disable a pipeline.
    Disable {
        /// The pipeline's id.
        id: String,
    },
    /// Make a pipeline read the retained event log again, from its oldest record or from a
    /// time; rows already in the warehouse are not duplicated.
    Replay {
        /// The pipeline's id.
        id: String,
        /// Where to read again from: earliest, or an RFC 3339 time (the first event received
        /// at or after it).
        #[arg(long, value_name = "FROM")]
        from: String,
    },
    /// Delete a pipeline.
    Delete {
        /// The pipeline's id.
        id: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Target {
    /// Import events into the warehouse's `events` table.
    Event,
    /// Import users into the warehouse's `identities` and `profiles` tables.
    User,
}

pub(crate) fn run(client: &mut Client, json: bool, command: Command) -> Result<()> {
    match command {
        Command::Add {
            source,
            name,
            target,
            filter,
            enabled,
            replay_from,
        } => {
            let target = match target {
                Target::Event => "Event",
                Target::User => "User",
            };
            let mut body = json!({"connection": source, "name": name, "target": target});
            if let Some(filter) = filter {
                let filter: Value =
                    serde_json::from_str(&filter).context("--filter is not valid JSON")?;
                body["filter"] = filter;
            }
            if enabled {
                body["enabled"] = Value::Bool(true);
            }
            if let Some(replay_from) = replay_from {
                body["replayFrom"] = Value::String(replay_from);
            }
            let created = client.scoped("POST", "/v1/pipelines", Some(&body))?;
            if json {
                print_json(&created);
            } else {
                println!("Added pipeline \"{name}\" ({}).", text(&created, "id"));
            }
        }
        Command::List { source } => {
            let listed = client.scoped("GET", "/v1/pipelines", None)?;
            let pipelines: Vec<Value> = items(&listed, "pipelines")
                .iter()
                .filter(|p| source.as_deref().is_none_or(|id| p["connection"] == id))
                .cloned()
                .collect();
            if json {
                print_json(&json!({ "pipelines": pipelines }));
            } else {
                let rows: Vec<Vec<String>> = pipelines.iter().map(row).collect();
                print_table(&HEADERS, &rows);
            }
        }
        Command::Show { id } => {
            let pipeline = client.scoped("GET", &format!("/v1/pipelines/{id}"), None)?;
            show(&pipeline, json);
        }
        Command::Enable { id } => set_enabled(client, json, &id, true)?,
        Command::Disable { id } => set_enabled(client, json, &id, false)?,
        Command::Replay { id, from } => {
            let path = format!("/v1/pipelines/{id}/replay");
            let pipeline = client.scoped("POST", &path, Some(&json!({ "from": from })))?;
            if json {
                print_json(&pipeline);
            } else {
                let lag = &pipeline["stats"]["lag"];
                if lag.is_u64() {
                    println!(
                        "Pipeline {id} reads the event log again from {from} ({lag} log records to go)."
                    );
                } else {
                    println!("Pipeline {id} reads the event log again from {from}.");
                }
            }
        }
        Command::Delete { id } => {
            let deleted = client.scoped("DELETE", &format!("/v1/pipelines/{id}"), None)?;
            if json {
                print_json(&deleted);
            } else {
                println!("Deleted pipeline {id}.");
            }
        }
    }
    Ok(())
}

const HEADERS: [&str; 5] = ["ID", "NAME", "SOURCE", "TARGET", "ENABLED"];

fn set_enabled(client: &mut Client, json: bool, id: &str, enabled: bool) -> Result<()> {
    let path = format!("/v1/pipelines/{id}/status");
    let pipeline = client.scoped("PUT", &path, Some(&json!({ "enabled": enabled })))?;
    show(&pipeline, json);
    Ok(())
}

fn show(pipeline: &Value, json: bool) {
    if json {
        print_json(pipeline);
        return;
    }
    print_table(&HEADERS, &[row(pipeline)]);
    for (label, member) in [
        ("Filter", "filter"),
        ("Transformation", "transformation"),
        ("Required consents", "requiredConsents"),
    ] {
        if !pipeline[member].is_null() {
            println!("{label}: {}", cell(pipeline, member));
        }
    }
}

fn row(pipeline: &Value) -> Vec<String> {
    vec![
        cell(pipeline, "id"),
        cell(pipeline, "name"),
        cell(pipeline, "connection"),
        cell(pipeline, "target"),
        cell(pipeline, "enabled"),
    ]
}
