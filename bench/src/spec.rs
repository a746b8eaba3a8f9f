//! `cargo xtask bench spec`: the cost of decoding a realistic 100-event batch with
//! `weir-spec`, against a generic `serde_json::Value` parse of the same bytes.
//!
//! Weir's unit of work is what the ingest server does per request body: `normalize_body`,
//! `Request::parse`, `decode_events`, and `to_canonical_json` of every accepted event (the
//! canonical JSON is what the event log stores). It is also measured without the
//! serialisation. The goal: the full decode costs no more than the `Value` parse
//! (ratio ≥ 1.0). Results are recorded in `docs/benchmarks.md`.

pub(crate) mod batch;
mod json_writer;

use std::hint::black_box;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use weir_spec::{
    Compat, Event, EventScope, Limits, Outcome, Request, RequestError, Route, Timestamp,
    normalize_body,
};

use crate::measure::{self, Case, Measurement, Settings};

const USAGE: &str = "\
Usage: weir-bench spec [--quick | --iterations N [--case CASE] | --dump]

  (no option)       measure every case: 7 rounds of >= 0.5 s each, median reported
  --quick           a short smoke run (3 rounds of 0.1 s); not for quoting
  --iterations N    run one case N times without timing (for callgrind and perf)
  --case CASE       the case for --iterations: full (default), decode, read or serde
  --dump            write the benchmark's request body to stdout
";

/// The unit of work of each case; the names are how `--case` selects them.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Work {
    /// normalize + parse + decode + canonical JSON of every event.
    Full,
    /// normalize + parse + decode.
    Decode,
    /// `Event::from_canonical_json` of every event's canonical JSON: what a pipeline does
    /// with each record it reads from the log.
    Read,
    /// `serde_json::from_slice::<serde_json::Value>`.
    Serde,
}

impl Work {
    const ALL: [Work; 4] = [Work::Full, Work::Decode, Work::Read, Work::Serde];

    fn label(self) -> &'static str {
        match self {
            Work::Full => "weir: decode + canonical JSON",
            Work::Decode => "weir: decode only",
            Work::Read => "weir: read back from the log",
            Work::Serde => "serde_json::Value (baseline)",
        }
    }

    fn from_name(name: &str) -> Result<Work> {
        match name {
            "full" => Ok(Work::Full),
            "decode" => Ok(Work::Decode),
            "read" => Ok(Work::Read),
            "serde" => Ok(Work::Serde),
            other => bail!("unknown case '{other}'; use full, decode, read or serde"),
        }
    }

    /// Does the work once; the returned number depends on all of it, so none is optimised
    /// away.
    fn run(self, body: &[u8], scope: &EventScope<'_>, canonical: &[String]) -> usize {
        match self {
            Work::Full => decode(body, scope, true).unwrap_or(0),
            Work::Decode => decode(body, scope, false).unwrap_or(0),
            Work::Read => canonical
                .iter()
                .filter_map(|text| Event::from_canonical_json(text).ok())
                .map(|event| event.message_id.len())
                .sum(),
            Work::Serde => serde_json::from_slice::<serde_json::Value>(body)
                .map_or(0, |value| value["batch"].as_array().map_or(0, Vec::len)),
        }
    }
}

enum Mode {
    Help,
    Measure(Settings),
    Iterations(u64, Work),
    Dump,
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let mode = parse_arguments(args)?;
    if let Mode::Help = mode {
        print!("{USAGE}");
        return Ok(());
    }
    let body = batch::build();
    let received_at = Timestamp::from_system_time(std::time::SystemTime::now())
        .context("the system clock is outside the years 1..=9999")?;
    let scope = EventScope {
        connection_id: "Bn3kQ8vRt2Xa",
        ip_fallback: true,
        received_at,
        request_ip: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 23)),
        geolocator: None,
    };
    let canonical = check_every_event_is_accepted(&body, &scope)?;
    match mode {
        Mode::Help => {}
        Mode::Dump => std::io::stdout().write_all(&body)?,
        Mode::Iterations(iterations, work) => {
            let mut checksum = 0_usize;
            for _ in 0..iterations {
                checksum = checksum.wrapping_add(work.run(black_box(&body), &scope, &canonical));
            }
            println!(
                "ran {iterations} iterations of '{}' (checksum {checksum})",
                work.label()
            );
        }
        Mode::Measure(settings) => {
            print_body_summary(&body, settings);
            let mut cases: Vec<Case<'_>> = Work::ALL
                .into_iter()
                .map(|work| {
                    let (body, scope, canonical) = (&body, &scope, &canonical);
                    Case {
                        name: work.label(),
                        work: Box::new(move || {
                            black_box(work.run(black_box(body), scope, canonical));
                        }),
                    }
                })
                .collect();
            let measurements = measure::measure(settings, &mut cases);
            print_table(&measurements, body.len());
        }
    }
    Ok(())
}

fn parse_arguments(args: &[String]) -> Result<Mode> {
    let mut mode = Mode::Measure(Settings::FULL);
    let mut case = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |option: &str| {
            args.next()
                .with_context(|| format!("{option} needs a value\n\n{USAGE}"))
        };
        match arg.as_str() {
            "--quick" => mode = Mode::Measure(Settings::QUICK),
            "--dump" => mode = Mode::Dump,
            "--iterations" => {
                let count = value("--iterations")?;
                let count = count
                    .parse()
                    .with_context(|| format!("--iterations takes a count, got '{count}'"))?;
                mode = Mode::Iterations(count, Work::Full);
            }
            "--case" => case = Some(Work::from_name(value("--case")?)?),
            "-h" | "--help" => return Ok(Mode::Help),
            other => bail!("unknown option '{other}'\n\n{USAGE}"),
        }
    }
    match (mode, case) {
        (Mode::Iterations(count, _), Some(work)) => Ok(Mode::Iterations(count, work)),
        (_, Some(_)) => bail!("--case only goes with --iterations\n\n{USAGE}"),
        (mode, None) => Ok(mode),
    }
}

/// Weir's work on one request body. `Err` only if the body is not a valid request, which
/// `check_every_event_is_accepted` rules out before measuring.
fn decode(body: &[u8], scope: &EventScope<'_>, serialise: bool) -> Result<usize, RequestError> {
    let body = normalize_body(body);
    let request = Request::parse(&body, batch_route(), Limits::default())?;
    let mut total = 0;
    for outcome in request.decode_events(scope) {
        if let Outcome::Accepted(event) = outcome {
            total += if serialise {
                black_box(event.to_canonical_json()).len()
            } else {
                black_box(event).message_id.len()
            };
        }
    }
    Ok(total)
}

/// `POST /v1/events`.
fn batch_route() -> Route {
    Route {
        compat: Compat::Krenalis,
        event_type: None,
    }
}

/// A benchmark of rejections would measure something else: every event must pass. Returns the
/// events' canonical JSON (what the log stores).
fn check_every_event_is_accepted(body: &[u8], scope: &EventScope<'_>) -> Result<Vec<String>> {
    let body = normalize_body(body);
    let request = Request::parse(&body, batch_route(), Limits::default())
        .context("the benchmark body is not a valid request")?;
    let outcomes = request.decode_events(scope);
    let rejections: Vec<String> = outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            Outcome::Accepted(_) => None,
            Outcome::Rejected(rejection) => Some(format!(
                "  event {}: {}\n    {}",
                rejection.index, rejection.error, rejection.raw
            )),
        })
        .collect();
    if !rejections.is_empty() {
        bail!(
            "{} of the benchmark's events are rejected:\n{}",
            rejections.len(),
            rejections.join("\n")
        );
    }
    if outcomes.len() != batch::EVENTS {
        bail!(
            "expected {} outcomes, got {}",
            batch::EVENTS,
            outcomes.len()
        );
    }
    Ok(outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            Outcome::Accepted(event) => Some(event.to_canonical_json()),
            Outcome::Rejected(_) => None,
        })
        .collect())
}

fn print_body_summary(body: &[u8], settings: Settings) {
    println!(
        "body: POST /v1/events batch of {} events, {} bytes ({} bytes/event), all accepted",
        batch::EVENTS,
        body.len(),
        body.len() / batch::EVENTS
    );
    println!(
        "timing: {} rounds of >= {:?} per case after {:?} warm-up, cases interleaved; \
         median round shown",
        settings.rounds, settings.round_time, settings.warm_up
    );
    println!();
}

fn print_table(measurements: &[Measurement], body_bytes: usize) {
    let events = batch::EVENTS as f64;
    let events_per_second = |time: Duration| events / time.as_secs_f64();
    let baseline = measurements
        .iter()
        .find(|m| m.name == Work::Serde.label())
        .map(|m| events_per_second(m.median()));
    println!(
        "{:<31} {:>10} {:>8} {:>9} {:>7} {:>6}",
        "case", "events/s", "MB/s", "ns/event", "spread", "ratio"
    );
    for measurement in measurements {
        let median = measurement.median();
        let rate = events_per_second(median);
        let ratio = baseline.map_or(f64::NAN, |baseline| rate / baseline);
        println!(
            "{:<31} {:>10.0} {:>8.1} {:>9.0} {:>6.1}% {:>6.2}",
            measurement.name,
            rate,
            body_bytes as f64 / median.as_secs_f64() / 1e6,
            median.as_secs_f64() * 1e9 / events,
            measurement.spread() * 100.0,
            ratio
        );
    }
    println!();
    println!(
        "MB = 10^6 bytes of request body; ratio = events/s ÷ serde_json::Value events/s \
         (goal for decode + canonical JSON: >= 1.00); spread = (slowest − fastest round) ÷ median"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> EventScope<'static> {
        EventScope {
            connection_id: "Bn3kQ8vRt2Xa",
            ip_fallback: true,
            received_at: Timestamp::from_unix_millis(1_773_480_413_589).unwrap(),
            request_ip: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 23)),
            geolocator: None,
        }
    }

    #[test]
    fn weir_spec_accepts_every_event_of_the_batch() {
        let canonical = check_every_event_is_accepted(&batch::build(), &scope()).unwrap();
        assert_eq!(canonical.len(), batch::EVENTS);
    }

    #[test]
    fn every_case_does_work_on_the_batch() {
        let body = batch::build();
        let canonical = check_every_event_is_accepted(&body, &scope()).unwrap();
        for work in Work::ALL {
            assert!(
                work.run(&body, &scope(), &canonical) > 0,
                "{}",
                work.label()
            );
        }
        // Reading back finds every event's message id.
        let ids: usize = canonical
            .iter()
            .map(|text| Event::from_canonical_json(text).unwrap().message_id.len())
            .sum();
        assert_eq!(Work::Read.run(&body, &scope(), &canonical), ids);
    }

    #[test]
    fn options_select_the_mode() {
        let parse = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
            parse_arguments(&args)
        };
        assert!(matches!(parse(&[]), Ok(Mode::Measure(_))));
        assert!(matches!(
            parse(&["--iterations", "5", "--case", "serde"]),
            Ok(Mode::Iterations(5, Work::Serde))
        ));
        assert!(matches!(
            parse(&["--iterations", "5"]),
            Ok(Mode::Iterations(5, Work::Full))
        ));
        assert!(parse(&["--case", "serde"]).is_err());
        assert!(parse(&["--iterations", "many"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
    }
}
