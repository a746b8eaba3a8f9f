//! Credentials: event write keys (which authenticate ingestion to a source connection) and
//! management API keys. Owns key formats, generation and constant-time verification; holds no
//! storage of its own. Also owns the formats of resource ids and `Request-Id` values, and the
//! parsing of the ingest `Authorization` header.
//!
//! API:
//! * [`WriteKey`] (`generate`, `parse`, `matches`; constant-time `==`) and [`KeyError`];
//! * [`ApiKey`] (`generate`, `parse`, `hint`) and [`ApiKeyMalformed`]; [`ApiKeyHasher`]
//!   (`hash`, `verify`) for the stored HMAC-SHA-256;
//! * [`ResourceId`] (`generate`, `parse`) and [`IdError`]; [`request_id`];
//! * [`parse_authorization`] → [`Credential`] or [`AuthHeaderError`] (with `status`, `code` and
//!   the exact message of ingest-api.md §2.2).

mod api_key;
mod authorization;
mod base62;
mod random;
mod resource_id;
mod write_key;

pub use api_key::{ApiKey, ApiKeyHasher, ApiKeyMalformed};
pub use authorization::{AuthHeaderError, Credential, parse_authorization};
pub use resource_id::{IdError, ResourceId, request_id};
pub use write_key::{KeyError, WriteKey};
