//! HTTP plumbing shared by every Weir route: the accept loop ([`serve`]) with a connection
//! cap, a header-read timeout and graceful shutdown; the [`Handler`] seam that the ingest and
//! management routes implement; and the JSON error shape of `ingest-api.md` §7.1.

mod body;
mod error;
mod server;

pub use error::{ErrorResponse, json_error, set_common_headers};
pub use server::{Handler, HttpResponse, ServerConfig, serve};

pub use body::{Body, channel_body, full};
