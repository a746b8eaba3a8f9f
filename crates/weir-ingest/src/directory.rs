//! What ingestion needs to know about sources and keys, as a trait so the catalog (or a test)
//! can provide it. Every method is called on the request path: implementations answer from
//! memory, never from a database read per request.

use weir_auth::ApiKey;

/// An authenticated source connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub workspace_id: String,
    pub connection_id: String,
    /// Whether the connector falls back to the request IP (`event-model.md` §8.2).
    pub ip_fallback: bool,
    /// The SDK strategy (`javascript`, `android`, `ios` connectors), served by the settings
    /// endpoint; `None` for connectors without one (e.g. `webhook`).
    pub strategy: Option<String>,
}

/// What a management API key may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyScope {
    /// Every workspace.
    Instance,
    /// One workspace.
    Workspace(String),
}

/// A workspace's event rate limit (`storage-and-pipelines.md` §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub events_per_minute: u64,
    pub capacity: u64,
}

/// Lookups on the ingest path.
pub trait Directory: Send + Sync + 'static {
    /// The source a write key belongs to; `None` for unknown keys and keys whose connection
    /// is not a source.
    fn source_by_write_key(&self, key: &str) -> Option<Source>;
    /// The scope of a well-formed API key; `None` when it is unknown or revoked.
    fn api_key_scope(&self, key: &ApiKey) -> Option<KeyScope>;
    fn workspace_exists(&self, workspace_id: &str) -> bool;
    /// Any connection by id (mode D has no role check).
    fn connection(&self, connection_id: &str) -> Option<Source>;
    /// The workspace's event rate limit; `None` means unlimited (the default).
    fn rate_limit(&self, workspace_id: &str) -> Option<RateLimit>;
}
