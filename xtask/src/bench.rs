//! Benchmarks run by `cargo xtask bench <name>`.
//!
//! Each benchmark is one named arm in `run`; none exist yet.

use anyhow::{Result, bail};

/// Runs the benchmark called `name`; without a name, says which ones exist.
pub(crate) fn run(name: Option<&str>) -> Result<()> {
    // Add each benchmark's name here and an arm for it below.
    const AVAILABLE: &[&str] = &[];
    match name {
        Some(name) => bail!("unknown benchmark '{name}'; available: {AVAILABLE:?}"),
        None => bail!("usage: cargo xtask bench <name>; available: {AVAILABLE:?}"),
    }
}
