//! The ingestion HTTP server (`ingest-api.md`): `POST /v1/events[/{type}]`, the
//! Segment-compatible `/v1/batch` and `/v1/{type}`, CORS preflights, the SDK settings
//! endpoint, and `/healthz`, `/readyz`, `/metrics`.
//!
//! The only crate that speaks HTTP for ingestion. It runs the spec's processing order
//! (§5): route, length, content type and coding, log readiness, authentication, client IP,
//! body (capped gzip, NFC), envelope, rate limit, per-event decoding (`weir-spec`), durable
//! append to the event log (`weir-log`) — and answers only after that append is durable.
//! Paths it does not own go to a fallback handler (the management API).

mod auth;
mod body;
mod cors;
mod directory;
mod handler;
mod metrics;
mod rate;
mod report;
mod route;

pub use directory::{Directory, KeyScope, RateLimit, Source};
pub use handler::{Ingest, IngestConfig};
pub use metrics::Metrics;
