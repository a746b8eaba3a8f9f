//! Weir's benchmarks: `cargo xtask bench <name>` builds this binary in release mode and runs
//! it as `weir-bench <name> [options]`.
//!
//! Each benchmark is a module with a `run(options)` function and one arm in `main`; results
//! worth keeping are recorded in `docs/benchmarks.md`. The benchmarks that need a running
//! `weir serve` start it through [`server::Server`].

mod ingest;
mod measure;
mod server;
mod spec;
mod warehouse;

use std::process::ExitCode;

use anyhow::{Result, bail};

/// Every benchmark, for the usage text.
const BENCHMARKS: &[(&str, &str)] = &[
    (
        "spec",
        "decode a 100-event batch with weir-spec vs. a serde_json::Value parse",
    ),
    (
        "ingest",
        "durable events/s of a release `weir serve` over HTTP vs. serde_json + SQLite",
    ),
    (
        "warehouse",
        "log → warehouse import events/s (SQLite, PostgreSQL) and 200 → row latency",
    ),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    match args.split_first() {
        Some((name, options)) if name == "spec" => spec::run(options),
        Some((name, options)) if name == "ingest" => ingest::run(options),
        Some((name, options)) if name == "warehouse" => warehouse::run(options),
        Some((name, _)) => bail!("unknown benchmark '{name}'\n\n{}", usage()),
        None => bail!("no benchmark named\n\n{}", usage()),
    }
}

fn usage() -> String {
    let mut text = String::from("Usage: weir-bench <benchmark> [options]\n\nBenchmarks:\n");
    for (name, about) in BENCHMARKS {
        text.push_str(&format!("  {name:<10} {about}\n"));
    }
    text
}
