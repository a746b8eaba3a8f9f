//! [`Catalog`] for [`SqliteCatalog`]: each operation is one transaction over the row modules,
//! followed by the matching change to the credential index.

use weir_auth::{ResourceId, WriteKey};

use super::{SqliteCatalog, api_keys, bootstrap, connections, pipelines, workspaces, write_keys};
use crate::{
    ApiKeyRecord, Bootstrap, Catalog, CatalogError, Connection, ConnectionUpdate, CreatedApiKey,
    NewApiKey, NewConnection, NewPipeline, NewWorkspace, Pipeline, PipelineUpdate, Workspace,
    WorkspaceUpdate, WriteKeyIndex,
};

impl Catalog for SqliteCatalog {
    fn index(&self) -> WriteKeyIndex {
        self.index.clone()
    }

    fn bootstrap(&self) -> Result<Bootstrap, CatalogError> {
        bootstrap::run(self)
    }

    fn create_workspace(&self, new: NewWorkspace) -> Result<Workspace, CatalogError> {
        self.write(
            |tx| workspaces::create(tx, new),
            |workspace, index| index.put_workspace(workspaces::info(workspace)),
        )
    }

    fn list_workspaces(&self) -> Result<Vec<Workspace>, CatalogError> {
        self.read(workspaces::list)
    }

    fn workspace(&self, id: &ResourceId) -> Result<Workspace, CatalogError> {
        self.read(|tx| workspaces::get(tx, id))
    }

    fn update_workspace(
        &self,
        id: &ResourceId,
        update: WorkspaceUpdate,
    ) -> Result<Workspace, CatalogError> {
        self.write(
            |tx| workspaces::update(tx, id, update),
            |workspace, index| index.put_workspace(workspaces::info(workspace)),
        )
    }

    fn delete_workspace(&self, id: &ResourceId) -> Result<(), CatalogError> {
        self.write(
            |tx| workspaces::delete(tx, id),
            |(), index| index.remove_workspace(id),
        )
    }

    fn create_connection(
        &self,
        workspace: &ResourceId,
        new: NewConnection,
    ) -> Result<Connection, CatalogError> {
        let (connection, _) = self.write(
            |tx| connections::create(tx, workspace, new),
            |(connection, key), index| {
                index.put_connection(connections::info(connection));
                if let Some(key) = key {
                    index.insert_write_key(key.clone(), connection.id.clone());
                }
            },
        )?;
        Ok(connection)
    }

    fn list_connections(&self, workspace: &ResourceId) -> Result<Vec<Connection>, CatalogError> {
        self.read(|tx| connections::list(tx, workspace))
    }

    fn connection(
        &self,
        workspace: &ResourceId,
        id: &ResourceId,
    ) -> Result<Connection, CatalogError> {
        self.read(|tx| connections::get(tx, workspace, id))
    }

    fn update_connection(
        &self,
        workspace: &ResourceId,
        id: &ResourceId,
        update: ConnectionUpdate,
    ) -> Result<Connection, CatalogError> {
        self.write(
            |tx| connections::update(tx, workspace, id, update),
            |connection, index| index.put_connection(connections::info(connection)),
        )
    }

    fn delete_connection(
        &self,
        workspace: &ResourceId,
        id: &ResourceId,
    ) -> Result<(), CatalogError> {
        self.write(
            |tx| connections::delete(tx, workspace, id),
            |(), index| index.remove_connection(id),
        )
    }

    fn list_write_keys(
        &self,
        workspace: &ResourceId,
        connection: &ResourceId,
    ) -> Result<Vec<WriteKey>, CatalogError> {
        self.read(|tx| write_keys::list(tx, workspace, connection))
    }

    fn create_write_key(
        &self,
        workspace: &ResourceId,
        connection: &ResourceId,
    ) -> Result<WriteKey, CatalogError> {
        self.write(
            |tx| write_keys::create(tx, workspace, connection),
            |key, index| index.insert_write_key(key.clone(), connection.clone()),
        )
    }

    fn delete_write_key(
        &self,
        workspace: &ResourceId,
        connection: &ResourceId,
        key: &str,
    ) -> Result<(), CatalogError> {
        self.write(
            |tx| write_keys::delete(tx, workspace, connection, key),
            |deleted, index| {
                if *deleted {
                    index.remove_write_key(key);
                }
            },
        )?;
        Ok(())
    }

    fn create_api_key(&self, new: NewApiKey) -> Result<CreatedApiKey, CatalogError> {
        let (created, _) = self.write(
            |tx| api_keys::create(tx, self.index.hasher(), new),
            |(created, hash), index| index.put_api_key(*hash, created.record.clone()),
        )?;
        Ok(created)
    }

    fn list_api_keys(&self, scope: Option<&ResourceId>) -> Result<Vec<ApiKeyRecord>, CatalogError> {
        self.read(|tx| api_keys::list(tx, scope))
    }

    fn api_key(
        &self,
        scope: Option<&ResourceId>,
        id: &ResourceId,
    ) -> Result<ApiKeyRecord, CatalogError> {
        self.read(|tx| api_keys::get(tx, scope, id))
    }

    fn rename_api_key(
        &self,
        scope: Option<&ResourceId>,
        id: &ResourceId,
        name: String,
    ) -> Result<ApiKeyRecord, CatalogError> {
        let (record, _) = self.write(
            |tx| api_keys::rename(tx, scope, id, name),
            |(record, hash), index| index.put_api_key(*hash, record.clone()),
        )?;
        Ok(record)
    }

    fn delete_api_key(
        &self,
        scope: Option<&ResourceId>,
        id: &ResourceId,
    ) -> Result<(), CatalogError> {
        self.write(
            |tx| api_keys::delete(tx, scope, id),
            |(), index| index.remove_api_key(id),
        )
    }

    fn create_pipeline(
        &self,
        workspace: &ResourceId,
        new: NewPipeline,
    ) -> Result<Pipeline, CatalogError> {
        self.write(|tx| pipelines::create(tx, workspace, new), |_, _| {})
    }

    fn list_pipelines(
        &self,
        workspace: Option<&ResourceId>,
    ) -> Result<Vec<Pipeline>, CatalogError> {
        self.read(|tx| pipelines::list(tx, workspace))
    }

    fn pipeline(&self, workspace: &ResourceId, id: &ResourceId) -> Result<Pipeline, CatalogError> {
        self.read(|tx| pipelines::get(tx, workspace, id))
    }

    fn update_pipeline(
        &self,
        workspace: &ResourceId,
        id: &ResourceId,
        update: PipelineUpdate,
    ) -> Result<Pipeline, CatalogError> {
        self.write(|tx| pipelines::update(tx, workspace, id, update), |_, _| {})
    }

    fn set_pipeline_enabled(
        &self,
        workspace: &ResourceId,
        id: &ResourceId,
        enabled: bool,
    ) -> Result<Pipeline, CatalogError> {
        self.write(
            |tx| pipelines::set_enabled(tx, workspace, id, enabled),
            |_, _| {},
        )
    }

    fn delete_pipeline(&self, workspace: &ResourceId, id: &ResourceId) -> Result<(), CatalogError> {
        self.write(|tx| pipelines::delete(tx, workspace, id), |_, _| {})
    }
}
