//! `docs/metrics.md` documents exactly the metric families `GET /metrics` exposes, each with
//! its type, once every family has a series (events accepted and rejected, a rate-limited
//! request, a running pipeline).

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Management, Request, TestServer};

/// `(sample name, type)` of every metric in the exposition: counters by their `_total` sample,
/// as the documentation names them.
fn exposed(text: &str) -> BTreeSet<(String, String)> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .map(|rest| {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name type");
            let name = match kind {
                "counter" => format!("{name}_total"),
                _ => name.to_owned(),
            };
            (name, kind.to_owned())
        })
        .collect()
}

/// `(metric, type)` of every table row of `docs/metrics.md` whose first cell is a metric.
fn documented() -> BTreeSet<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/metrics.md");
    let text = fs::read_to_string(&path).expect("docs/metrics.md");
    text.lines()
        .filter_map(|line| {
            let mut cells = line.split('|').skip(1).map(str::trim);
            let name = cells.next()?.strip_prefix("`weir_")?.strip_suffix('`')?;
            let kind = cells.next()?;
            Some((format!("weir_{name}"), kind.to_owned()))
        })
        .collect()
}

#[test]
fn the_metrics_page_documents_exactly_the_exposed_metrics() {
    let server = TestServer::start();
    let admin = Management::admin(&server);
    admin.ok(
        "PUT",
        "/v1/workspaces/current",
        Some(json!({"eventsRateLimit": {"ratePerMinute": 1000, "maxCapacity": 1000}})),
    );
    let source = admin.webhook_source();
    let pipeline = admin.add_pipeline(&source, json!({}));
    let accepted_and_rejected = server.post_events(
        "/v1/events",
        r#"[{"type":"track","userId":"u","event":"e"},{"type":"track","userId":"u"}]"#,
    );
    assert_eq!(accepted_and_rejected.status, 200);
    let too_many = vec![r#"{"type":"track","userId":"u","event":"e"}"#; 1001].join(",");
    assert_eq!(
        server
            .post_events("/v1/events", &format!("[{too_many}]"))
            .status,
        429
    );

    let running = format!("weir_pipeline_lag_events{{pipeline=\"{pipeline}\"}}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let metrics = loop {
        let metrics = server.send(&Request::new("GET", "/metrics")).text();
        if metrics.contains(&running) {
            break metrics;
        }
        assert!(
            Instant::now() < deadline,
            "no series for the pipeline:\n{metrics}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let exposed = exposed(&metrics);
    let documented = documented();
    assert!(exposed.len() >= 17, "{exposed:?}");
    assert_eq!(
        exposed.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "exposed but not documented in docs/metrics.md (or with another type)"
    );
    assert_eq!(
        documented.difference(&exposed).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented in docs/metrics.md but not exposed"
    );
}
