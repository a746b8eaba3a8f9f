//! The catalog: workspaces, connections, event write keys, management API keys and pipelines,
//! with first-run bootstrap and the in-memory credential index that ingestion authenticates
//! with (storage-and-pipelines.md §5.1, §10, §12, §13).
//!
//! The crate is synchronous; async callers wrap calls in `spawn_blocking`. The exception is
//! [`WriteKeyIndex`], whose lookups touch no database and are cheap enough for the ingest path.
//!
//! API:
//! * [`Catalog`], the storage-independent operations, and [`SqliteCatalog`], the embedded
//!   implementation in `<data_dir>/meta.sqlite`;
//! * the entities: [`Workspace`] (+ [`WorkspaceSettings`], [`WarehouseSettings`],
//!   [`RateLimit`]), [`Connection`] (+ [`Role`], [`Connector`], [`Strategy`]), [`ApiKeyRecord`],
//!   [`Pipeline`] (+ [`PipelineTarget`], [`ReplayFrom`]), and what creating or updating each
//!   takes;
//! * [`WriteKeyIndex`] → [`SourceInfo`], [`WorkspaceInfo`], [`ApiKeyRecord`];
//! * [`Bootstrap`] and the admin key file ([`read_admin_key`]);
//! * [`CatalogError`] with the management API's `status`, `code` and message.

mod api_key;
mod bootstrap;
mod connection;
mod error;
mod index;
mod pipeline;
mod ser;
mod sqlite;
mod validate;
mod workspace;

use weir_auth::{ApiKey, ResourceId, WriteKey};

pub use api_key::{ApiKeyRecord, CreatedApiKey, NewApiKey};
pub use bootstrap::{
    ADMIN_KEY_FILE, ADMIN_KEY_NAME, Bootstrap, BootstrapSource, DEFAULT_SOURCE_NAME,
    DEFAULT_WORKSPACE_NAME, admin_key_path, read_admin_key,
};
pub use connection::{
    Connection, ConnectionUpdate, Connector, NewConnection, Role, Strategy, UnknownConnector,
};
pub use error::{CatalogError, Resource, StorageError};
pub use index::{SourceInfo, WorkspaceInfo, WriteKeyIndex};
pub use pipeline::{NewPipeline, Pipeline, PipelineTarget, PipelineUpdate, ReplayFrom};
pub use sqlite::SqliteCatalog;
pub use validate::NAME_MAX_CHARS;
pub use workspace::{
    NewWorkspace, RateLimit, WarehouseSettings, Workspace, WorkspaceSettings, WorkspaceUpdate,
};

/// The catalog's file inside the data directory.
pub const META_FILE: &str = "meta.sqlite";

/// The most event write keys a connection may have.
pub const MAX_EVENT_WRITE_KEYS: usize = 20;

/// The catalog's operations, independent of where it is stored.
///
/// Connection, write-key and pipeline operations take the caller's workspace: anything outside it
/// is reported as not existing. API-key operations take a `scope`: `Some(workspace)` reaches only
/// the keys restricted to that workspace (for a workspace-restricted caller), `None` every key.
/// Every change to credentials is visible in [`Catalog::index`] when the call returns.
pub trait Catalog: Send + Sync {
    /// The credential index, kept up to date by this catalog.
    fn index(&self) -> WriteKeyIndex;

    /// On a catalog that was never bootstrapped, creates the `Default` workspace, its `Webhook`
    /// source connection with one write key, and the instance-wide `Admin` API key (also
    /// written to the admin key file); afterwards creates nothing and reports the first source.
    fn bootstrap(&self) -> Result<Bootstrap, CatalogError>;

    /// Creates a workspace.
    fn create_workspace(&self, new: NewWorkspace) -> Result<Workspace, CatalogError>;
    /// Every workspace, oldest first.
    fn list_workspaces(&self) -> Result<Vec<Workspace>, CatalogError>;
    /// One workspace.
    fn workspace(&self, id: &ResourceId) -> Result<Workspace, CatalogError>;
    /// Replaces a workspace's name and settings.
    fn update_workspace(
        &self,
        id: &ResourceId,
        update: WorkspaceUpdate,
    ) -> Result<Workspace, CatalogError>;
    /// Deletes a workspace with its connections, keys, pipelines and restricted API keys.
    fn delete_workspace(&self, id: &ResourceId) -> Result<(), CatalogError>;

    /// Creates a connection; a source gets its first write key.
    fn create_connection(
        &self,
        workspace: &ResourceId,
        new: NewConnection,
    ) -> Result<Connection, CatalogError>;
    /// The workspace's connections, oldest first.
    fn list_connections(&self, workspace: &ResourceId) -> Result<Vec<Connection>, CatalogError>;
    /// One connection.
    fn connection(
        &self,
        workspace: &ResourceId,
        id: &ResourceId,
    ) -> Result<Connection, CatalogError>;
    /// Renames a connection and optionally changes its strategy.
    fn update_connection(
        &self,
        workspace: &ResourceId,
        id: &ResourceId,
        update: ConnectionUpdate,
    ) -> Result<Connection, CatalogError>;
    /// Deletes a connection with its write keys and pipelines.
    fn delete_connection(
        &self,
        workspace: &ResourceId,
        id: &ResourceId,
    ) -> Result<(), CatalogError>;

    /// A source connection's write keys, oldest first.
    fn list_write_keys(
        &self,
        workspace: &ResourceId,
        connection: &ResourceId,
    ) -> Result<Vec<WriteKey>, CatalogError>;
    /// Adds a write key ([`CatalogError::TooManyEventWriteKeys`] beyond 20).
    fn create_write_key(
        &self,
        workspace: &ResourceId,
        connection: &ResourceId,
    ) -> Result<WriteKey, CatalogError>;
    /// Deletes a write key of the connection ([`CatalogError::SingleEventWriteKey`] for its last
    /// one). A key that is not the connection's deletes nothing and is not an error.
    fn delete_write_key(
        &self,
        workspace: &ResourceId,
        connection: &ResourceId,
        key: &str,
    ) -> Result<(), CatalogError>;

    /// Creates an API key; the token in the result is shown once and stored nowhere.
    fn create_api_key(&self, new: NewApiKey) -> Result<CreatedApiKey, CatalogError>;
    /// The API keys in `scope`, oldest first.
    fn list_api_keys(&self, scope: Option<&ResourceId>) -> Result<Vec<ApiKeyRecord>, CatalogError>;
    /// One API key in `scope`.
    fn api_key(
        &self,
        scope: Option<&ResourceId>,
        id: &ResourceId,
    ) -> Result<ApiKeyRecord, CatalogError>;
    /// Renames an API key in `scope`.
    fn rename_api_key(
        &self,
        scope: Option<&ResourceId>,
        id: &ResourceId,
        name: String,
    ) -> Result<ApiKeyRecord, CatalogError>;
    /// Revokes an API key in `scope`.
    fn delete_api_key(
        &self,
        scope: Option<&ResourceId>,
        id: &ResourceId,
    ) -> Result<(), CatalogError>;
    /// The record of a live API key, by its hash (no database access).
    fn authenticate_api_key(&self, key: &ApiKey) -> Option<ApiKeyRecord> {
        self.index().lookup_api_key(key)
    }

    /// Creates a pipeline on a connection of the workspace.
    fn create_pipeline(
        &self,
        workspace: &ResourceId,
        new: NewPipeline,
    ) -> Result<Pipeline, CatalogError>;
    /// The pipelines of a workspace, or of every workspace for `None` (the pipeline engine),
    /// oldest first.
    fn list_pipelines(&self, workspace: Option<&ResourceId>)
    -> Result<Vec<Pipeline>, CatalogError>;
    /// One pipeline.
    fn pipeline(&self, workspace: &ResourceId, id: &ResourceId) -> Result<Pipeline, CatalogError>;
    /// Replaces a pipeline's name, filter, transformation and consents (and `enabled` if given).
    fn update_pipeline(
        &self,
        workspace: &ResourceId,
        id: &ResourceId,
        update: PipelineUpdate,
    ) -> Result<Pipeline, CatalogError>;
    /// Enables or disables a pipeline.
    fn set_pipeline_enabled(
        &self,
        workspace: &ResourceId,
        id: &ResourceId,
        enabled: bool,
    ) -> Result<Pipeline, CatalogError>;
    /// Deletes a pipeline.
    fn delete_pipeline(&self, workspace: &ResourceId, id: &ResourceId) -> Result<(), CatalogError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_usable_as_a_shared_trait_object() {
        fn shared<T: Send + Sync + Clone + 'static>() {}
        shared::<std::sync::Arc<dyn Catalog>>();
        shared::<WriteKeyIndex>();
        let dir = tempfile::tempdir().unwrap();
        let catalog: std::sync::Arc<dyn Catalog> =
            std::sync::Arc::new(SqliteCatalog::open(dir.path()).unwrap());
        assert!(catalog.bootstrap().unwrap().created);
    }
}
