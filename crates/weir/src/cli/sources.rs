//! `weir sources add|list|show|update|delete`: source connections (`/v1/connections` with role
//! `Source`). `add` prints the new connection's event write key, which is what a client needs.

use anyhow::Result;
use clap::Subcommand;
use serde_json::{Map, Value, json};

use super::client::Client;
use super::output::{cell, items, print_json, print_table, text};

/// The connectors a source connection can have (every one but the `http` destination).
const SOURCE_CONNECTORS: [&str; 11] = [
    "webhook",
    "javascript",
    "android",
    "ios",
    "go",
    "python",
    "nodejs",
    "java",
    "dotnet",
    "segment",
    "rudderstack",
];

/// Identity strategies of the javascript, android and ios connectors.
const STRATEGIES: [&str; 4] = ["Conversion", "Fusion", "Isolation", "Preservation"];

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Add a source connection and print its event write key.
    Add {
        /// What sends the events: webhook (any HTTP client), or an SDK.
        #[arg(value_parser = SOURCE_CONNECTORS)]
        connector: String,
        /// Name, 1 to 60 characters.
        #[arg(long)]
        name: String,
        /// Identity strategy (javascript, android and ios only).
        #[arg(long, value_parser = STRATEGIES)]
        strategy: Option<String>,
    },
    /// List the source connections.
    List,
    /// Show a source connection and its event write keys.
    Show {
        /// The connection's id.
        id: String,
    },
    /// Rename a source connection or change its strategy.
    Update {
        /// The connection's id.
        id: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New identity strategy (javascript, android and ios only).
        #[arg(long, value_parser = STRATEGIES)]
        strategy: Option<String>,
    },
    /// Delete a source connection with its keys and pipelines.
    Delete {
        /// The connection's id.
        id: String,
    },
}

pub(crate) fn run(client: &mut Client, json: bool, command: Command) -> Result<()> {
    match command {
        Command::Add {
            connector,
            name,
            strategy,
        } => {
            let mut body = json!({"name": name, "role": "Source", "connector": connector});
            if let Some(strategy) = strategy {
                body["strategy"] = Value::String(strategy);
            }
            let created = client.scoped("POST", "/v1/connections", Some(&body))?;
            let id = text(&created, "id").to_owned();
            let connection = with_keys(client, &id)?;
            if json {
                print_json(&connection);
            } else {
                println!("Added source \"{name}\" ({connector}), connection {id}.");
                for key in items(&connection, "eventWriteKeys") {
                    println!("Event write key: {}", key.as_str().unwrap_or_default());
                }
            }
        }
        Command::List => {
            let listed = client.scoped("GET", "/v1/connections", None)?;
            let sources: Vec<Value> = items(&listed, "connections")
                .iter()
                .filter(|connection| connection["role"] == "Source")
                .cloned()
                .collect();
            if json {
                print_json(&json!({ "connections": sources }));
            } else {
                let rows: Vec<Vec<String>> = sources.iter().map(row).collect();
                print_table(&["ID", "NAME", "CONNECTOR", "STRATEGY"], &rows);
            }
        }
        Command::Show { id } => {
            let connection = with_keys(client, &id)?;
            if json {
                print_json(&connection);
            } else {
                print_table(
                    &["ID", "NAME", "CONNECTOR", "STRATEGY"],
                    &[row(&connection)],
                );
                println!();
                println!("Event write keys:");
                for key in items(&connection, "eventWriteKeys") {
                    println!("  {}", key.as_str().unwrap_or_default());
                }
            }
        }
        Command::Update { id, name, strategy } => {
            let mut body = Map::new();
            if let Some(name) = name {
                body.insert("name".into(), Value::String(name));
            }
            if let Some(strategy) = strategy {
                body.insert("strategy".into(), Value::String(strategy));
            }
            let path = format!("/v1/connections/{id}");
            let connection = client.scoped("PUT", &path, Some(&Value::Object(body)))?;
            if json {
                print_json(&connection);
            } else {
                print_table(
                    &["ID", "NAME", "CONNECTOR", "STRATEGY"],
                    &[row(&connection)],
                );
            }
        }
        Command::Delete { id } => {
            let deleted = client.scoped("DELETE", &format!("/v1/connections/{id}"), None)?;
            if json {
                print_json(&deleted);
            } else {
                println!("Deleted source connection {id}.");
            }
        }
    }
    Ok(())
}

/// The connection with its write keys added as `eventWriteKeys`.
fn with_keys(client: &mut Client, id: &str) -> Result<Value> {
    let mut connection = client.scoped("GET", &format!("/v1/connections/{id}"), None)?;
    let keys = client.scoped(
        "GET",
        &format!("/v1/connections/{id}/event-write-keys"),
        None,
    )?;
    connection["eventWriteKeys"] = keys["keys"].clone();
    Ok(connection)
}

fn row(connection: &Value) -> Vec<String> {
    vec![
        cell(connection, "id"),
        cell(connection, "name"),
        cell(connection, "connector"),
        cell(connection, "strategy"),
    ]
}
