//! Benchmarks run by `cargo xtask bench <name> [options…]`.
//!
//! The benchmarks themselves live in the `weir-bench` binary (`bench/`); this module only
//! builds what a benchmark needs in release mode and runs `weir-bench <name> [options…]`, so
//! xtask stays free of the crates the benchmarks need. Options (e.g. `--quick`) are passed
//! through unchanged. Results worth keeping go to `docs/benchmarks.md`.

use anyhow::{Result, bail};

use crate::run_cargo;

/// A benchmark `weir-bench` knows.
struct Benchmark {
    name: &'static str,
    about: &'static str,
    /// Packages to build in release mode first, besides `weir-bench` itself (which `cargo run`
    /// builds): the ingest benchmark starts the real `weir` binary.
    builds: &'static [&'static str],
}

const AVAILABLE: &[Benchmark] = &[
    Benchmark {
        name: "spec",
        about: "decode a realistic 100-event batch with weir-spec vs. a serde_json::Value parse",
        builds: &[],
    },
    Benchmark {
        name: "ingest",
        about: "durable events/s, latency and memory of a release `weir serve` over HTTP, \
                vs. serde_json + SQLite",
        builds: &["weir"],
    },
    Benchmark {
        name: "warehouse",
        about: "log → warehouse import events/s (SQLite, PostgreSQL) and 200 → row latency",
        builds: &["weir"],
    },
];

/// Runs the benchmark called `name` with `options`; without a name, says which ones exist.
pub(crate) fn run(name: Option<&str>, options: &[String]) -> Result<()> {
    let benchmark = match name {
        Some(name) => match AVAILABLE.iter().find(|benchmark| benchmark.name == name) {
            Some(benchmark) => benchmark,
            None => bail!("unknown benchmark '{name}'\n\n{}", available()),
        },
        None => bail!(
            "usage: cargo xtask bench <name> [options…]\n\n{}",
            available()
        ),
    };
    for package in benchmark.builds {
        run_cargo("build", &["build", "--release", "-p", package])?;
    }
    run_cargo("bench", &command(benchmark.name, options))
}

/// `cargo run --release -p weir-bench -- <name> [options…]`.
fn command<'a>(name: &'a str, options: &'a [String]) -> Vec<&'a str> {
    let mut args = vec!["run", "--release", "-p", "weir-bench", "--", name];
    args.extend(options.iter().map(String::as_str));
    args
}

fn available() -> String {
    let mut text =
        String::from("available benchmarks (options follow the name; `--help` lists them):");
    for benchmark in AVAILABLE {
        text.push_str(&format!("\n  {:<10} {}", benchmark.name, benchmark.about));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_benchmark_lists_the_available_ones() {
        let error = run(Some("nope"), &[]).unwrap_err().to_string();
        assert!(error.contains("unknown benchmark 'nope'"), "{error}");
        assert!(error.contains("spec"), "{error}");
        assert!(error.contains("ingest"), "{error}");
    }

    #[test]
    fn no_name_prints_usage_and_the_available_benchmarks() {
        let error = run(None, &[]).unwrap_err().to_string();
        assert!(
            error.contains("usage: cargo xtask bench <name> [options…]"),
            "{error}"
        );
        assert!(error.contains("spec"), "{error}");
    }

    #[test]
    fn options_are_passed_through_after_the_name() {
        let options = [
            "--quick".to_owned(),
            "--concurrency".to_owned(),
            "8".to_owned(),
        ];
        assert_eq!(
            command("ingest", &options),
            [
                "run",
                "--release",
                "-p",
                "weir-bench",
                "--",
                "ingest",
                "--quick",
                "--concurrency",
                "8"
            ]
        );
        assert_eq!(command("spec", &[]).last(), Some(&"spec"));
    }
}
