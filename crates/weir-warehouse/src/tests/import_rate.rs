//! A quick, ignored timing of `write_events` with 5000-event batches of realistic events, until
//! `cargo xtask bench warehouse` measures the import rate from the log:
//! `cargo test --release -p weir-warehouse import_rate -- --ignored --nocapture`
//! (`WEIR_BENCH_EVENTS` events, default 200000; PostgreSQL when `WEIR_TEST_POSTGRES_URL` is set).

use std::time::Instant;

use weir_spec::Event;

use super::events::{BATCH, decode};
use super::{PostgresFixture, SqliteFixture};
use crate::Warehouse;

const BATCH_SIZE: usize = 5000;

/// A typical analytics.js track event (about 1.3 KB of canonical JSON).
fn template() -> Event {
    let body = r#"{"batch":[{"type":"track","event":"Product Added","anonymousId":"2ab4facf-ca73-4361-b1b2-4472ce053122","userId":"user-12345","properties":{"product_id":"507f1f77bcf86cd799439011","sku":"G-32","category":"Games","name":"Monopoly: 3rd Edition","brand":"Hasbro","variant":"200 pieces","price":18.99,"quantity":1,"coupon":"MAYDEALS","position":3,"url":"https://www.example.com/product/path","image_url":"https://www.example.com/product/path.jpg"},"context":{"library":{"name":"analytics.js","version":"next-1.72.0"},"locale":"en-US","page":{"path":"/academy/","referrer":"https://www.google.com/","search":"?utm_source=google","title":"Analytics Academy","url":"https://example.com/academy/?utm_source=google"},"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36","ip":"203.0.113.7","screen":{"width":1512,"height":982,"density":2},"timezone":"Europe/Rome","campaign":{"name":"spring","source":"google","medium":"cpc"},"sessionId":1730385552647,"consents":{"analytics":true,"ads":false}},"timestamp":"2024-10-31T14:39:06.050Z"}],"sentAt":"2024-10-31T14:39:12.647Z"}"#;
    decode(BATCH, body).remove(0)
}

fn batches(count: usize) -> Vec<Vec<Event>> {
    let template = template();
    let events: Vec<Event> = (0..count)
        .map(|index| {
            let mut event = template.clone();
            event.message_id = format!("bench-{index:09}");
            event.anonymous_id = format!("anon-{:07}", index % 100_000);
            event
        })
        .collect();
    events.chunks(BATCH_SIZE).map(<[Event]>::to_vec).collect()
}

async fn measure(name: &str, warehouse: &dyn Warehouse, batches: &[Vec<Event>]) {
    let total: usize = batches.iter().map(Vec::len).sum();
    let started = Instant::now();
    for batch in batches {
        warehouse.write_events(batch).await.unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "{name}: {total} events in {:.2} s = {:.0} events/s",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing, run explicitly in release mode"]
async fn import_rate() {
    let count = std::env::var("WEIR_BENCH_EVENTS")
        .ok()
        .and_then(|count| count.parse().ok())
        .unwrap_or(200_000);
    let batches = batches(count);
    let sqlite = SqliteFixture::new();
    measure("SQLite", &sqlite.warehouse, &batches).await;
    if let Some(postgres) = PostgresFixture::new().await {
        measure("PostgreSQL", &postgres.warehouse, &batches).await;
    }
}
