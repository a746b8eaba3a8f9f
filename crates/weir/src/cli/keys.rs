//! `weir keys list|create|delete --source <ID>`: the event write keys of a source connection
//! (`/v1/connections/{id}/event-write-keys`). Rotation: create a key, switch clients, delete the
//! old one; the last key cannot be deleted.

use anyhow::Result;
use clap::{Args, Subcommand};

use super::client::Client;
use super::output::{items, print_json, text};

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List the source's event write keys, one per line, oldest first.
    List(Source),
    /// Add an event write key (at most 20 per source) and print it.
    Create(Source),
    /// Delete an event write key; it is refused at once by ingestion.
    Delete {
        #[command(flatten)]
        source: Source,
        /// The key to delete.
        key: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct Source {
    /// The source connection's id (see `weir sources list`).
    #[arg(long, value_name = "ID")]
    source: String,
}

pub(crate) fn run(client: &mut Client, json: bool, command: Command) -> Result<()> {
    match command {
        Command::List(Source { source }) => {
            let path = format!("/v1/connections/{source}/event-write-keys");
            let listed = client.scoped("GET", &path, None)?;
            if json {
                print_json(&listed);
            } else {
                for key in items(&listed, "keys") {
                    println!("{}", key.as_str().unwrap_or_default());
                }
            }
        }
        Command::Create(Source { source }) => {
            let path = format!("/v1/connections/{source}/event-write-keys");
            let created = client.scoped("POST", &path, None)?;
            if json {
                print_json(&created);
            } else {
                println!("{}", text(&created, "key"));
            }
        }
        Command::Delete {
            source: Source { source },
            key,
        } => {
            let path = format!("/v1/connections/{source}/event-write-keys/{key}");
            let deleted = client.scoped("DELETE", &path, None)?;
            if json {
                print_json(&deleted);
            } else {
                println!("Deleted the key if it was one of source {source}'s.");
            }
        }
    }
    Ok(())
}
