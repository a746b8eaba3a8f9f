//! Weir's integration tests, built as one test binary (`it`) so they link once.
//!
//! Each area gets one module here (`spec`, `ingest`, `pipeline`, `warehouse`, …) with its
//! helpers beside it; add a module rather than a new file under `tests/`. Tests that need
//! PostgreSQL or NATS read `WEIR_TEST_POSTGRES_URL` / `WEIR_TEST_NATS_URL` and, when
//! `WEIR_REQUIRE_SERVICES=1` (as in CI), fail instead of skipping if a service is missing.
//!
//! Run them with `cargo test -p weir-tests`.

mod admin;
mod cli;
mod ingest;
mod live;
mod metrics;
mod pipeline;
mod sdk;
mod smoke;
mod spec_examples;
mod support;
mod warehouse;
