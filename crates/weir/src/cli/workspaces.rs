//! `weir workspaces list|show|create|update|delete`: `/v1/workspaces` and
//! `/v1/workspaces/current`, with the warehouse and the event rate limit.

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::client::Client;
use super::output::{cell, items, print_json, print_table, text};

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List the workspaces.
    List,
    /// Show the workspace (--workspace, or the only one).
    Show,
    /// Create a workspace.
    Create {
        /// Name, 1 to 60 characters.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        settings: Settings,
    },
    /// Change the workspace's name or settings (--workspace, or the only one).
    Update {
        /// New name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        settings: Settings,
        /// Remove the event rate limit.
        #[arg(long, conflicts_with_all = ["rate_per_minute", "max_capacity"])]
        no_rate_limit: bool,
    },
    /// Delete a workspace with everything in it.
    Delete {
        /// The workspace's id.
        id: String,
    },
}

/// Settings that `create` and `update` share.
#[derive(Debug, Args)]
pub(crate) struct Settings {
    /// Event rate limit: refill rate in events per minute (1000 to 100000000).
    #[arg(long, requires = "max_capacity", value_name = "EVENTS")]
    rate_per_minute: Option<u64>,
    /// Event rate limit: bucket size in events (1000 to 10000000).
    #[arg(long, requires = "rate_per_minute", value_name = "EVENTS")]
    max_capacity: Option<u64>,
    /// Use this PostgreSQL database as the warehouse (postgres://…).
    #[arg(long, value_name = "URL", conflicts_with = "sqlite")]
    postgres_url: Option<String>,
    /// Use the embedded SQLite warehouse.
    #[arg(long)]
    sqlite: bool,
}

impl Settings {
    /// Adds the members these options set to `body`.
    fn add_to(&self, body: &mut Map<String, Value>) {
        if let (Some(rate), Some(capacity)) = (self.rate_per_minute, self.max_capacity) {
            body.insert(
                "eventsRateLimit".into(),
                json!({"ratePerMinute": rate, "maxCapacity": capacity}),
            );
        }
        if let Some(url) = &self.postgres_url {
            body.insert(
                "warehouse".into(),
                json!({"platform": "PostgreSQL", "settings": {"url": url}}),
            );
        } else if self.sqlite {
            body.insert("warehouse".into(), json!({"platform": "SQLite"}));
        }
    }
}

pub(crate) fn run(client: &mut Client, json: bool, command: Command) -> Result<()> {
    match command {
        Command::List => {
            let listed = client.call("GET", "/v1/workspaces", None)?;
            if json {
                print_json(&listed);
            } else {
                let rows: Vec<Vec<String>> = items(&listed, "workspaces").iter().map(row).collect();
                print_table(&["ID", "NAME", "WAREHOUSE", "RATE LIMIT"], &rows);
            }
        }
        Command::Show => {
            let workspace = client.scoped("GET", "/v1/workspaces/current", None)?;
            show(&workspace, json);
        }
        Command::Create { name, settings } => {
            let mut body = Map::new();
            body.insert("name".into(), Value::String(name.clone()));
            settings.add_to(&mut body);
            let created = client.call("POST", "/v1/workspaces", Some(&Value::Object(body)))?;
            if json {
                print_json(&created);
            } else {
                println!("Created workspace \"{name}\" ({}).", text(&created, "id"));
            }
        }
        Command::Update {
            name,
            settings,
            no_rate_limit,
        } => {
            let mut body = Map::new();
            if let Some(name) = name {
                body.insert("name".into(), Value::String(name));
            }
            settings.add_to(&mut body);
            if no_rate_limit {
                body.insert("eventsRateLimit".into(), Value::Null);
            }
            let body = Value::Object(body);
            let workspace = client.scoped("PUT", "/v1/workspaces/current", Some(&body))?;
            show(&workspace, json);
        }
        Command::Delete { id } => {
            let deleted = client.in_workspace("DELETE", &id, None)?;
            if json {
                print_json(&deleted);
            } else {
                println!("Deleted workspace {id}.");
            }
        }
    }
    Ok(())
}

fn show(workspace: &Value, json: bool) {
    if json {
        print_json(workspace);
    } else {
        print_table(
            &["ID", "NAME", "WAREHOUSE", "RATE LIMIT"],
            &[row(workspace)],
        );
    }
}

fn row(workspace: &Value) -> Vec<String> {
    let warehouse = &workspace["warehouse"];
    let warehouse = match warehouse["settings"]["url"].as_str() {
        Some(url) => format!("{} {url}", text(warehouse, "platform")),
        None => text(warehouse, "platform").to_owned(),
    };
    let limit = &workspace["eventsRateLimit"];
    let limit = if limit.is_object() {
        format!(
            "{}/min, burst {}",
            cell(limit, "ratePerMinute"),
            cell(limit, "maxCapacity")
        )
    } else {
        "none".to_owned()
    };
    vec![
        cell(workspace, "id"),
        cell(workspace, "name"),
        warehouse,
        limit,
    ]
}
