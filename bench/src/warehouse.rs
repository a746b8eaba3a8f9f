//! `cargo xtask bench warehouse`: how fast the pipeline engine imports events from the log
//! into the warehouse (SQLite, and PostgreSQL when a server is given), and how long an event
//! takes from its 200 to being visible as a warehouse row under moderate load.
//!
//! Goals (issue 5): ≥ 300k events/s into SQLite and ≥ 100k events/s into PostgreSQL on the
//! 2-core reference machine. Results are recorded in `docs/benchmarks.md`.

mod import;
mod latency;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use weir_pipeline::EngineConfig;

use self::import::{Backend, ImportResult};
use self::latency::LatencyResult;

const USAGE: &str = "\
Usage: weir-bench warehouse [--quick] [--events N] [--batch N] [--postgres URL] [--rate N]
                            [--seconds N] [--skip-import] [--skip-latency] [--skip-sqlite]

  --quick          100,000 events and a 3 s latency run; not for quoting
  --events N       events imported from the log (default 1,000,000)
  --batch N        the engine's and write_events' batch size (default 5000, the engine's
                   default; at most 25000)
  --postgres URL   also import into PostgreSQL (default: $WEIR_TEST_POSTGRES_URL); each run
                   uses fresh schemas weir_bench_<random>_*, dropped afterwards
  --rate N         events/s of the latency run, in 20-event requests (default 2000)
  --seconds N      length of the latency run (default 10)
  --skip-import    only the latency run
  --skip-latency   only the import runs
  --skip-sqlite    import into PostgreSQL only
";

#[derive(Debug, Clone, PartialEq)]
struct Options {
    events: usize,
    batch: usize,
    sqlite: bool,
    postgres: Option<String>,
    rate: u64,
    seconds: u64,
    import: bool,
    latency: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            events: 1_000_000,
            batch: EngineConfig::default().batch_max_events,
            sqlite: true,
            postgres: None,
            rate: 2_000,
            seconds: 10,
            import: true,
            latency: true,
        }
    }
}

/// `None` for `--help`.
fn parse_arguments(args: &[String]) -> Result<Option<Options>> {
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .with_context(|| format!("{name} needs a value\n\n{USAGE}"))
        };
        match arg.as_str() {
            "--help" | "-h" => return Ok(None),
            "--quick" => {
                options.events = 100_000;
                options.seconds = 3;
            }
            "--events" => options.events = value("--events")?.parse()?,
            "--batch" => options.batch = value("--batch")?.parse()?,
            "--postgres" => options.postgres = Some(value("--postgres")?.clone()),
            "--rate" => options.rate = value("--rate")?.parse()?,
            "--seconds" => options.seconds = value("--seconds")?.parse()?,
            "--skip-import" => options.import = false,
            "--skip-latency" => options.latency = false,
            "--skip-sqlite" => options.sqlite = false,
            other => bail!("unknown option '{other}'\n\n{USAGE}"),
        }
    }
    if options.events == 0 || options.rate == 0 || options.seconds == 0 {
        bail!("--events, --rate and --seconds must be positive");
    }
    if !(1..=25_000).contains(&options.batch) {
        bail!("--batch must be between 1 and 25000");
    }
    Ok(Some(options))
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let Some(mut options) = parse_arguments(args)? else {
        print!("{USAGE}");
        return Ok(());
    };
    if options.postgres.is_none() {
        options.postgres = std::env::var("WEIR_TEST_POSTGRES_URL")
            .ok()
            .filter(|url| !url.is_empty());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;

    let mut imports = Vec::new();
    if options.import {
        let mut backends = Vec::new();
        if options.sqlite {
            backends.push(Backend::Sqlite);
        }
        match &options.postgres {
            Some(url) => backends.push(Backend::Postgres(url.clone())),
            None => {
                println!("PostgreSQL skipped: set WEIR_TEST_POSTGRES_URL or pass --postgres URL")
            }
        }
        for backend in backends {
            eprintln!(
                "importing {} events into {}…",
                options.events,
                backend.label()
            );
            let result =
                runtime.block_on(import::measure(&backend, options.events, options.batch))?;
            imports.push((backend.label(), result));
        }
    }
    let latency = if options.latency {
        let weir = weir_binary()?;
        eprintln!(
            "latency: {} events/s for {} s against {}…",
            options.rate,
            options.seconds,
            weir.display()
        );
        Some(latency::measure(
            &weir,
            options.rate,
            Duration::from_secs(options.seconds),
        )?)
    } else {
        None
    };
    print_report(&imports, latency.as_ref());
    Ok(())
}

/// `target/release/weir` beside this binary (`cargo xtask bench warehouse` builds it).
fn weir_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let weir = exe.with_file_name("weir");
    if !weir.exists() {
        bail!(
            "{} not found; run `cargo build --release -p weir` (cargo xtask bench warehouse does)",
            weir.display()
        );
    }
    Ok(weir)
}

fn rate(events: usize, time: Duration) -> f64 {
    events as f64 / time.as_secs_f64()
}

fn print_report(imports: &[(&str, ImportResult)], latency: Option<&LatencyResult>) {
    if let Some((_, first)) = imports.first() {
        println!(
            "\nImport from the log: {} events, {:.0} bytes of canonical JSON per event \
             (log filled in {:.1} s, not measured)\n",
            first.events,
            first.payload_bytes as f64 / first.events as f64,
            first.fill.as_secs_f64()
        );
        println!(
            "| warehouse | engine: log → rows | events/s | write_events alone | events/s | engine ÷ alone | Weir CPU per event: engine / alone |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|");
        for (label, result) in imports {
            let engine = rate(result.events, result.engine);
            let direct = rate(result.events, result.direct);
            let micros = |cpu: Duration| cpu.as_secs_f64() * 1e6 / result.events as f64;
            println!(
                "| {label} | {:.2} s | {} | {:.2} s | {} | {:.2} | {:.1} / {:.1} µs |",
                result.engine.as_secs_f64(),
                thousands(engine),
                result.direct.as_secs_f64(),
                thousands(direct),
                engine / direct,
                micros(result.engine_cpu),
                micros(result.direct_cpu)
            );
        }
    }
    if let Some(latency) = latency {
        let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
        println!(
            "\nEnd to end (SQLite warehouse): {} requests of {} events at {} events/s over {:.1} s; \
             one sample per request\n",
            latency.requests,
            latency::REQUEST_EVENTS,
            latency.rate,
            latency.duration.as_secs_f64()
        );
        println!("| measure | p50 | p99 | max |");
        println!("|---|---:|---:|---:|");
        for (label, values) in [
            ("200 → row visible", &latency.visible),
            ("request → 200", &latency.responses),
        ] {
            println!(
                "| {label} | {} | {} | {} |",
                ms(latency::percentile(values, 0.5)),
                ms(latency::percentile(values, 0.99)),
                ms(latency::percentile(values, 1.0))
            );
        }
    }
}

/// `1234567.8` → `1,234,568`.
fn thousands(value: f64) -> String {
    let digits = format!("{value:.0}");
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Options>> {
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        parse_arguments(&args)
    }

    #[test]
    fn options_have_defaults_and_overrides() {
        assert_eq!(parse(&[]).unwrap(), Some(Options::default()));
        let quick = parse(&["--quick", "--postgres", "postgres://x/y"])
            .unwrap()
            .unwrap();
        assert_eq!(quick.events, 100_000);
        assert_eq!(quick.seconds, 3);
        assert_eq!(quick.postgres.as_deref(), Some("postgres://x/y"));
        let only = parse(&["--events", "5", "--skip-latency"])
            .unwrap()
            .unwrap();
        assert_eq!((only.events, only.latency), (5, false));
        let batch = parse(&["--batch", "20000", "--skip-sqlite"])
            .unwrap()
            .unwrap();
        assert_eq!((batch.batch, batch.sqlite), (20_000, false));
        assert_eq!(parse(&["--help"]).unwrap(), None);
    }

    #[test]
    fn bad_options_are_rejected() {
        assert!(parse(&["--events"]).is_err());
        assert!(parse(&["--events", "0"]).is_err());
        assert!(parse(&["--batch", "0"]).is_err());
        assert!(parse(&["--batch", "25001"]).is_err());
        assert!(parse(&["--nope"]).is_err());
    }

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(thousands(1_234_567.8), "1,234,568");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(100_000.0), "100,000");
    }
}
