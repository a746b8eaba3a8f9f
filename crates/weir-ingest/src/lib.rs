//! The ingestion HTTP server. The only crate that speaks HTTP for ingestion: routes, auth
//! headers, content negotiation, gzip, limits and the response catalogue of the ingest spec.
//! Decoding and validation of bodies is delegated to `weir-spec`.
