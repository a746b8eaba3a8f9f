//! `weir api-keys list|create|rename|delete`: management API keys (`/v1/keys`). The token is
//! printed once, by `create`; lists show its hint.

use anyhow::Result;
use clap::Subcommand;
use serde_json::{Value, json};

use super::client::Client;
use super::output::{cell, items, print_json, print_table, text};

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List the API keys (their hints, never the tokens).
    List,
    /// Create an API key and print its token (shown only this once).
    Create {
        /// Name, 1 to 60 characters.
        #[arg(long)]
        name: String,
        /// Restrict the key to this workspace (default: instance-wide).
        #[arg(long, value_name = "WORKSPACE_ID")]
        restrict_to: Option<String>,
    },
    /// Rename an API key.
    Rename {
        /// The key's id.
        id: String,
        /// New name.
        #[arg(long)]
        name: String,
    },
    /// Revoke an API key; requests with it fail at once.
    Delete {
        /// The key's id.
        id: String,
    },
}

const HEADERS: [&str; 5] = ["ID", "NAME", "WORKSPACE", "HINT", "CREATED"];

pub(crate) fn run(client: &mut Client, json: bool, command: Command) -> Result<()> {
    match command {
        Command::List => {
            let listed = client.call("GET", "/v1/keys", None)?;
            if json {
                print_json(&listed);
            } else {
                let rows: Vec<Vec<String>> = items(&listed, "keys").iter().map(row).collect();
                print_table(&HEADERS, &rows);
            }
        }
        Command::Create { name, restrict_to } => {
            let mut body = json!({ "name": name });
            if let Some(workspace) = restrict_to {
                body["workspace"] = Value::String(workspace);
            }
            let created = client.call("POST", "/v1/keys", Some(&body))?;
            if json {
                print_json(&created);
            } else {
                println!("Created API key \"{name}\" ({}).", text(&created, "id"));
                println!("Token (shown only now): {}", text(&created, "token"));
            }
        }
        Command::Rename { id, name } => {
            let path = format!("/v1/keys/{id}");
            let key = client.call("PUT", &path, Some(&json!({ "name": name })))?;
            if json {
                print_json(&key);
            } else {
                print_table(&HEADERS, &[row(&key)]);
            }
        }
        Command::Delete { id } => {
            let deleted = client.call("DELETE", &format!("/v1/keys/{id}"), None)?;
            if json {
                print_json(&deleted);
            } else {
                println!("Deleted API key {id}.");
            }
        }
    }
    Ok(())
}

fn row(key: &Value) -> Vec<String> {
    let workspace = match key["workspace"].as_str() {
        Some(id) => id.to_owned(),
        None => "(all)".to_owned(),
    };
    vec![
        cell(key, "id"),
        cell(key, "name"),
        workspace,
        cell(key, "hint"),
        cell(key, "createdAt"),
    ]
}
