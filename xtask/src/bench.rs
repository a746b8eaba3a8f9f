//! Benchmarks run by `cargo xtask bench <name>`.
//!
//! The benchmarks themselves live in the `weir-bench` binary (`bench/`); this module only
//! builds it in release mode and runs it with the benchmark's name, so xtask stays free of
//! the crates the benchmarks need. Results worth keeping go to `docs/benchmarks.md`.

use anyhow::{Result, bail};

use crate::run_cargo;

/// Each benchmark `weir-bench` knows, with what it measures.
const AVAILABLE: &[(&str, &str)] = &[(
    "spec",
    "decode a realistic 100-event batch with weir-spec vs. a serde_json::Value parse",
)];

/// Runs the benchmark called `name`; without a name, says which ones exist.
pub(crate) fn run(name: Option<&str>) -> Result<()> {
    match name {
        Some(name) if AVAILABLE.iter().any(|(known, _)| *known == name) => run_cargo(
            "bench",
            &["run", "--release", "-p", "weir-bench", "--", name],
        ),
        Some(name) => bail!("unknown benchmark '{name}'\n\n{}", available()),
        None => bail!("usage: cargo xtask bench <name>\n\n{}", available()),
    }
}

fn available() -> String {
    let mut text = String::from("available benchmarks:");
    for (name, about) in AVAILABLE {
        text.push_str(&format!("\n  {name:<10} {about}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_benchmark_lists_the_available_ones() {
        let error = run(Some("nope")).unwrap_err().to_string();
        assert!(error.contains("unknown benchmark 'nope'"), "{error}");
        assert!(error.contains("spec"), "{error}");
    }

    #[test]
    fn no_name_prints_usage_and_the_available_benchmarks() {
        let error = run(None).unwrap_err().to_string();
        assert!(error.contains("usage: cargo xtask bench <name>"), "{error}");
        assert!(error.contains("spec"), "{error}");
    }
}
