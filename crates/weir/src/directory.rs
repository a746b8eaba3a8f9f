//! The catalog's in-memory credential index, seen through the ingest server's
//! [`Directory`] trait.

use weir_auth::{ApiKey, ResourceId};
use weir_catalog::{SourceInfo, Strategy, WriteKeyIndex};
use weir_ingest::{Directory, KeyScope, RateLimit, Source};

/// Answers ingest lookups from the catalog's index (no database access).
#[derive(Debug, Clone)]
pub(crate) struct CatalogDirectory {
    index: WriteKeyIndex,
}

impl CatalogDirectory {
    pub(crate) fn new(index: WriteKeyIndex) -> CatalogDirectory {
        CatalogDirectory { index }
    }
}

fn source(info: SourceInfo) -> Source {
    Source {
        workspace_id: info.workspace_id.to_string(),
        connection_id: info.connection_id.to_string(),
        ip_fallback: info.connector.falls_back_to_request_ip(),
        strategy: info.strategy.map(|strategy| {
            match strategy {
                Strategy::Conversion => "Conversion",
                Strategy::Fusion => "Fusion",
                Strategy::Isolation => "Isolation",
                Strategy::Preservation => "Preservation",
            }
            .to_string()
        }),
    }
}

impl Directory for CatalogDirectory {
    fn source_by_write_key(&self, key: &str) -> Option<Source> {
        self.index.lookup(key).map(source)
    }

    fn api_key_scope(&self, key: &ApiKey) -> Option<KeyScope> {
        let record = self.index.lookup_api_key(key)?;
        Some(match record.workspace {
            None => KeyScope::Instance,
            Some(workspace) => KeyScope::Workspace(workspace.to_string()),
        })
    }

    fn workspace_exists(&self, workspace_id: &str) -> bool {
        ResourceId::parse(workspace_id)
            .ok()
            .and_then(|id| self.index.lookup_workspace(&id))
            .is_some()
    }

    fn connection(&self, connection_id: &str) -> Option<Source> {
        let id = ResourceId::parse(connection_id).ok()?;
        self.index.lookup_connection(&id).map(source)
    }

    fn rate_limit(&self, workspace_id: &str) -> Option<RateLimit> {
        let id = ResourceId::parse(workspace_id).ok()?;
        let limit = self.index.lookup_workspace(&id)?.event_rate_limit?;
        Some(RateLimit {
            events_per_minute: limit.rate_per_minute,
            capacity: limit.max_capacity,
        })
    }
}
