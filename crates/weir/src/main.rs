//! The `weir` binary: a thin `main` that parses the command line and hands over to `serve`
//! (the server) or `cli` (the management commands, which talk to a running server).

mod cli;
mod config;
mod directory;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Weir: warehouse-native event collection.
#[derive(Debug, Parser)]
#[command(
    name = "weir",
    version,
    about = "Weir: warehouse-native event collection. Start with `weir serve`.",
    propagate_version = true
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (ingest API and management API) on the embedded defaults.
    Serve(serve::ServeArgs),
    #[command(flatten)]
    Manage(cli::Command),
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Command::Serve(serve_args) => serve::run(serve_args),
        Command::Manage(command) => cli::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
