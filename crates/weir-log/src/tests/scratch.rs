//! Scratch throughput measurement (temporary).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{data_dir, open_with};
use crate::{AppendEvent, EventLog, LogConfig};

async fn run(delay_ms: u64, dedup: bool, secs: u64, prefill_dedup: usize) {
    let dir = data_dir();
    let config = LogConfig {
        group_commit_delay: Duration::from_millis(delay_ms),
        ..LogConfig::default()
    };
    let log = Arc::new(open_with(&dir, config));
    let payload = Bytes::from(format!(
        r#"{{"anonymousId":"a1b2c3d4-e5f6-4789-abcd-ef0123456789","context":{{"library":{{"name":"weir.js","version":"1.0.0"}},"userAgent":"Mozilla/5.0 (X11; Linux x86_64)","ip":"203.0.113.7"}},"event":"Product Viewed","messageId":"{}","properties":{{"sku":"G-32","price":18.99,"currency":"USD"}},"receivedAt":"2026-01-01T00:00:00.000Z","timestamp":"2026-01-01T00:00:00.000Z","type":"track"}}"#,
        "m".repeat(36)
    ));
    // prefill the dedup index
    let mut n = 0u64;
    while (n as usize) < prefill_dedup {
        let events = (0..1000)
            .map(|i| AppendEvent {
                workspace_id: "wsAAAAAAAAAA".into(),
                connection_id: "cnAAAAAAAAAA".into(),
                message_id: format!("pre-{n}-{i:08}-aaaaaaaaaaaaaaaaaaaa"),
                received_at_ms: super::now_ms(),
                payload: Bytes::from_static(b"{}"),
                dedup: true,
            })
            .collect();
        log.append(events).await.unwrap();
        n += 1000;
    }
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    let commits0 = log.stats().commits();
    let ev0 = log.stats().events_appended();
    for task in 0..32 {
        let log = log.clone();
        let payload = payload.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0u64;
            while Instant::now() < end {
                let now = super::now_ms();
                let events: Vec<AppendEvent> = (0..100)
                    .map(|i| AppendEvent {
                        workspace_id: "wsAAAAAAAAAA".into(),
                        connection_id: format!("cn{task:010}"),
                        message_id: format!("{task:04}-{n:012}-{i:04}-abcdefabcdefabcd"),
                        received_at_ms: now,
                        payload: payload.clone(),
                        dedup,
                    })
                    .collect();
                let t = Instant::now();
                log.append(events).await.unwrap();
                latencies.push(t.elapsed());
                n += 1;
            }
            latencies
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed().as_secs_f64();
    lat.sort();
    let events = log.stats().events_appended() - ev0;
    let commits = log.stats().commits() - commits0;
    let p = |q: f64| lat[((lat.len() as f64 - 1.0) * q) as usize];
    println!(
        "delay={delay_ms}ms dedup={dedup} prefill={prefill_dedup}: {:.0} events/s, {:.0} appends/s, {:.1} events/commit, p50 {:?} p99 {:?}, file {} MB",
        events as f64 / elapsed,
        lat.len() as f64 / elapsed,
        events as f64 / commits as f64,
        p(0.5),
        p(0.99),
        std::fs::metadata(&dir.path)
            .map(|m| m.len() / 1_000_000)
            .unwrap_or(0)
    );
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn scratch_throughput() {
    let secs = std::env::var("SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let prefill = std::env::var("PREFILL")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    for dedup in [true, false] {
        for delay in [0, 2, 0, 2] {
            run(delay, dedup, secs, prefill).await;
        }
    }
}
