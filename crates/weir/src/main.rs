//! The `weir` binary: a thin `main` that parses the command line and wires the crates together.

fn main() -> anyhow::Result<()> {
    println!("weir {}", env!("CARGO_PKG_VERSION"));
    Ok(())
}
