//! Weir's development tasks, run as `cargo xtask <command>` (matklad's xtask convention).
//!
//! `cargo xtask ci` runs exactly what CI runs, so a green local run means a green CI run.
//! The crate stays small and quick to build: arguments are parsed by hand and the only
//! dependency is `anyhow`. The repository checks live in `tidy.rs` as ordinary tests.

mod bench;
#[cfg(test)]
mod tidy;

use std::{
    env,
    ffi::OsString,
    path::{Path, PathBuf},
    process::{Command, ExitCode},
};

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
Usage: cargo xtask <command>

Commands:
  ci                        run exactly what CI runs: rustfmt check, clippy, tests, doc tests
  tidy                      run only the tidy tests (cargo test -p xtask tidy)
  fuzz [target] [-- args]   run a cargo-fuzz target on nightly (default target: decode);
                            args after `--` go to libFuzzer, e.g. -- -max_total_time=60
  bench <name> [options]    run the benchmark called <name> in release mode; options go
                            to it, e.g. `bench ingest --quick` (`bench <name> --help`)
  help                      print this text
";

/// The fuzz target `cargo xtask fuzz` runs when none is named.
const DEFAULT_FUZZ_TARGET: &str = "decode";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let Some((command, rest)) = args.split_first() else {
        print!("{USAGE}");
        return Ok(());
    };
    match command.as_str() {
        "ci" => {
            reject_arguments("ci", rest)?;
            ci()
        }
        "tidy" => {
            reject_arguments("tidy", rest)?;
            run_cargo("tidy", &["test", "-p", "xtask", "tidy"])
        }
        "fuzz" => fuzz(rest),
        "bench" => match rest.split_first() {
            None => bench::run(None, &[]),
            Some((name, options)) => bench::run(Some(name), options),
        },
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command '{other}'\n\n{USAGE}"),
    }
}

fn reject_arguments(command: &str, rest: &[String]) -> Result<()> {
    if rest.is_empty() {
        Ok(())
    } else {
        bail!("`{command}` takes no arguments, got {rest:?}\n\n{USAGE}")
    }
}

/// The workspace root: xtask always lives one level below it.
pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// The cargo that runs us, so nested builds use the same toolchain.
fn cargo() -> OsString {
    env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// The CI pipeline, in order. Stops at the first failing step and names it.
fn ci() -> Result<()> {
    let locked: &[&str] = if project_root().join("Cargo.lock").exists() {
        &["--locked"]
    } else {
        eprintln!("note: no Cargo.lock, running without --locked (CI has one committed)");
        &[]
    };
    let steps: [Vec<&str>; 4] = [
        vec!["fmt", "--all", "--", "--check"],
        [
            &["clippy", "--workspace", "--all-targets"],
            locked,
            &["--", "-D", "warnings"],
        ]
        .concat(),
        [&["test", "--workspace", "--all-targets"], locked].concat(),
        [&["test", "--workspace", "--doc"], locked].concat(),
    ];
    for args in &steps {
        run_cargo("step", args)?;
    }
    println!("== ci: all {} steps passed", steps.len());
    Ok(())
}

/// Prints `== <label>: cargo <args>`, runs it from the workspace root and fails if it fails.
fn run_cargo(label: &str, args: &[&str]) -> Result<()> {
    let shown = format!("cargo {}", args.join(" "));
    println!("== {label}: {shown}");
    let status = Command::new(cargo())
        .args(args)
        .current_dir(project_root())
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("{label} failed: `{shown}` ({status})");
    }
    Ok(())
}

/// `cargo xtask fuzz [target] [-- args]`: `cargo +nightly fuzz run <target> [-- args]`.
fn fuzz(rest: &[String]) -> Result<()> {
    let (positional, fuzzer_args) = match rest.iter().position(|arg| arg == "--") {
        Some(split) => (&rest[..split], &rest[split + 1..]),
        None => (rest, &[][..]),
    };
    let target = match positional {
        [] => DEFAULT_FUZZ_TARGET,
        [target] => target.as_str(),
        _ => bail!("`fuzz` takes at most one target before `--`\n\n{USAGE}"),
    };
    let root = project_root();
    if !root.join("fuzz").join("Cargo.toml").exists() {
        bail!("there is no fuzz crate at {}", root.join("fuzz").display());
    }

    // `+nightly` is understood by rustup's `cargo` proxy on PATH, not by the toolchain's own
    // cargo in $CARGO, so these commands use plain `cargo`.
    let succeeds = |args: &[&str]| {
        Command::new("cargo")
            .args(args)
            .output()
            .is_ok_and(|output| output.status.success())
    };
    let mut missing = Vec::new();
    if !succeeds(&["fuzz", "--version"]) {
        missing.push("cargo-fuzz is not installed:      cargo install cargo-fuzz");
    }
    if !succeeds(&["+nightly", "--version"]) {
        missing.push("the nightly toolchain is missing:  rustup toolchain install nightly");
    }
    if !missing.is_empty() {
        bail!(
            "cannot fuzz yet; install the missing tools first:\n  {}",
            missing.join("\n  ")
        );
    }

    let mut args = vec!["+nightly", "fuzz", "run", target];
    if !fuzzer_args.is_empty() {
        args.push("--");
        args.extend(fuzzer_args.iter().map(String::as_str));
    }
    let shown = format!("cargo {}", args.join(" "));
    println!("== fuzz: {shown}");
    let status = Command::new("cargo")
        .args(&args)
        .current_dir(&root)
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("fuzzing failed: `{shown}` ({status})");
    }
    Ok(())
}
