//! The management commands (`weir sources …`, `weir keys …`, …): HTTP calls to a running
//! server's management API.

use anyhow::{Result, bail};
use clap::Subcommand;

/// Management commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Workspaces (not available yet).
    Workspaces,
}

pub(crate) fn run(command: Command) -> Result<()> {
    match command {
        Command::Workspaces => bail!("management commands are not available yet"),
    }
}
