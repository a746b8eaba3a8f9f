//! The management commands (`weir workspaces …`, `weir sources …`, `weir keys …`,
//! `weir pipelines …`, `weir api-keys …`): calls to a running server's management API
//! (`weir-admin`), printed as tables or, with `--json`, as the API's JSON. See `docs/cli.md`.
//!
//! The server and the key are found without copying anything: `--server` or `WEIR_SERVER`, else
//! `<data dir>/server.url` (written by `weir serve`); `--api-key` or `WEIR_API_KEY`, else
//! `<data dir>/admin.key` (written on first run). Failures are one line on stderr (printed by
//! `main`) and a non-zero exit.

mod api_keys;
mod client;
mod events;
mod keys;
mod output;
mod pipelines;
mod sources;
mod workspaces;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

use client::Client;

/// Management commands (flattened into `weir`'s subcommands).
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Workspaces: list, show, create, update, delete.
    Workspaces(Managed<workspaces::Command>),
    /// Source connections: add, list, show, update, delete.
    Sources(Managed<sources::Command>),
    /// Event write keys of a source connection: list, create, delete.
    Keys(Managed<keys::Command>),
    /// Pipelines: add, list, show, enable, disable, delete.
    Pipelines(Managed<pipelines::Command>),
    /// Management API keys: list, create, rename, delete.
    ApiKeys(Managed<api_keys::Command>),
    /// Live events: tail the events arriving at the server.
    Events(Managed<events::Command>),
}

/// A command group with the options every management command takes.
#[derive(Debug, Args)]
pub(crate) struct Managed<C: Subcommand> {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: C,
}

/// How to reach the server, as whom, and how to print.
#[derive(Debug, Clone, Args)]
pub(crate) struct Global {
    /// Data directory of a server on this machine; `server.url` and `admin.key` are read from it.
    #[arg(
        long,
        global = true,
        env = "WEIR_DATA_DIR",
        default_value = "./weir-data",
        value_name = "DIR"
    )]
    data_dir: PathBuf,
    /// Server base URL, e.g. http://127.0.0.1:2022 [default: read from <DIR>/server.url].
    #[arg(long, global = true, env = "WEIR_SERVER", value_name = "URL")]
    server: Option<String>,
    /// Management API key, api_… [default: read from <DIR>/admin.key].
    #[arg(
        long,
        global = true,
        env = "WEIR_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    api_key: Option<String>,
    /// Workspace to act in; needed with an instance-wide key when there are several workspaces.
    #[arg(long, global = true, env = "WEIR_WORKSPACE", value_name = "ID")]
    workspace: Option<String>,
    /// Print the API's JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
}

/// Runs one management command.
pub(crate) fn run(command: Command) -> Result<()> {
    match command {
        Command::Workspaces(managed) => {
            let (mut client, json) = connect(&managed.global)?;
            workspaces::run(&mut client, json, managed.command)
        }
        Command::Sources(managed) => {
            let (mut client, json) = connect(&managed.global)?;
            sources::run(&mut client, json, managed.command)
        }
        Command::Keys(managed) => {
            let (mut client, json) = connect(&managed.global)?;
            keys::run(&mut client, json, managed.command)
        }
        Command::Pipelines(managed) => {
            let (mut client, json) = connect(&managed.global)?;
            pipelines::run(&mut client, json, managed.command)
        }
        Command::ApiKeys(managed) => {
            let (mut client, json) = connect(&managed.global)?;
            api_keys::run(&mut client, json, managed.command)
        }
        Command::Events(managed) => {
            let (mut client, json) = connect(&managed.global)?;
            events::run(&mut client, json, managed.command)
        }
    }
}

fn connect(global: &Global) -> Result<(Client, bool)> {
    let client = Client::connect(
        &global.data_dir,
        global.server.as_deref(),
        global.api_key.as_deref(),
        global.workspace.as_deref(),
    )?;
    Ok((client, global.json))
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "weir",
            "sources",
            "add",
            "webhook",
            "--name",
            "My app",
            "--json",
            "--server",
            "http://h:1",
        ])
        .unwrap();
        let Command::Sources(managed) = cli.command else {
            panic!("not sources: {cli:?}");
        };
        assert!(managed.global.json);
        assert_eq!(managed.global.server.as_deref(), Some("http://h:1"));
    }
}
