//! The management REST API (storage-and-pipelines.md §12): workspaces, connections, event write
//! keys, pipelines and API keys under `/v1/`, over a [`Catalog`](weir_catalog::Catalog), plus
//! live events and the query of stored events (`GET /v1/events`) in the workspace's warehouse.
//!
//! Every route needs `Authorization: Bearer api_…` (§12.1); an instance-wide key names the
//! workspace of workspace-scoped routes with `Weir-Workspace` (alias `Krenalis-Workspace`), a
//! workspace-restricted key always acts in its own. Request bodies are JSON objects, capped in
//! size and read within a timeout, and checked strictly: an unknown member, a wrong type or an
//! out-of-range value is a 400 whose message names the member. Responses are JSON objects
//! followed by LF; errors use the ingest error shape of `weir-http`.
//!
//! API: [`Admin`] (a [`weir_http::Handler`], mounted as the ingest server's fallback),
//! [`AdminConfig`], and [`ROUTES`], the route table that `docs/openapi.yaml` must match.
//!
//! Inside: `routes` (matching, 404/405), `auth` (key and workspace selection), `body` (capped
//! reading), `fields` (the strict member reader), `error`, `respond`, and one module per
//! resource; `events` with `event_columns` (event properties ↔ warehouse columns) and
//! `event_filter` (the filter language lowered to columns) query stored events.

mod api_keys;
mod auth;
mod body;
mod connections;
mod error;
mod event_columns;
mod event_filter;
mod events;
mod fields;
mod handler;
mod live;
mod pipelines;
mod respond;
mod routes;
mod workspaces;

pub use handler::{Admin, AdminConfig};
pub use routes::ROUTES;

/// The largest request body the management API reads, in bytes (§12.1).
pub const MAX_BODY_BYTES: usize = 512_000;

#[cfg(test)]
mod tests;
