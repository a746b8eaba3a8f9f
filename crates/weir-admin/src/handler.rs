//! [`Admin`], the management API's [`Handler`]: route (404/405), authenticate (401/400/403),
//! read the body of `POST`/`PUT` (capped, timed), then run the endpoint. Every failure becomes
//! the JSON error shape; nothing panics.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request};
use hyper::body::{Body, Incoming};
use weir_catalog::Catalog;
use weir_http::{Handler, HttpResponse};
use weir_live::LiveEvents;
use weir_pipeline::WarehouseTargets;

use crate::auth;
use crate::error::ApiError;
use crate::respond::Call;
use crate::routes::{self, Endpoint, Miss};
use crate::{MAX_BODY_BYTES, api_keys, connections, events, live, pipelines, workspaces};

/// Limits of the management API.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// Largest request body, in bytes (default [`MAX_BODY_BYTES`]).
    pub body_limit: usize,
    /// A request body must arrive within this time (default 5 s), else 408.
    pub read_timeout: Duration,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            body_limit: MAX_BODY_BYTES,
            read_timeout: Duration::from_secs(5),
        }
    }
}

/// The management API over a catalog.
pub struct Admin {
    catalog: Arc<dyn Catalog>,
    config: AdminConfig,
    live: Option<LiveEvents>,
    engine: Option<Arc<weir_pipeline::Engine>>,
    warehouses: Option<Arc<WarehouseTargets>>,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Admin {
    /// The API over `catalog`, with `config`'s limits.
    pub fn new(catalog: Arc<dyn Catalog>, config: AdminConfig) -> Self {
        Self {
            catalog,
            config,
            live: None,
            engine: None,
            warehouses: None,
        }
    }

    /// Reloads `engine` after pipeline changes and reports its counters on `GET /v1/pipelines/{id}`.
    pub fn with_engine(mut self, engine: Arc<weir_pipeline::Engine>) -> Self {
        self.engine = Some(engine);
        self
    }

    /// Queries the workspaces' warehouses (`GET /v1/events`) through `warehouses`, the handles
    /// the pipeline engine writes with, and opens the embedded one when a workspace switches to
    /// it.
    pub fn with_warehouses(mut self, warehouses: Arc<WarehouseTargets>) -> Self {
        self.warehouses = Some(warehouses);
        self
    }

    /// Serves the live-events routes from `live` (the hub the ingest server publishes to).
    pub fn with_live(mut self, live: LiveEvents) -> Self {
        self.live = Some(live);
        self
    }

    /// Answers one request (any body type, so that tests need no socket).
    pub(crate) async fn respond<B>(&self, request: Request<B>) -> HttpResponse
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        match self.try_respond(request).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        }
    }

    async fn try_respond<B>(&self, request: Request<B>) -> Result<HttpResponse, ApiError>
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (parts, body) = request.into_parts();
        let matched =
            routes::resolve(&parts.method, parts.uri.path()).map_err(|miss| match miss {
                Miss::NotFound => ApiError::RouteNotFound,
                Miss::MethodNotAllowed { allow } => ApiError::MethodNotAllowed { allow },
            })?;
        let caller = auth::authenticate(&parts.headers, &self.catalog.index())?;
        if matched.endpoint.is_workspace_scoped() {
            caller.workspace()?;
        }
        let body = if parts.method == Method::POST || parts.method == Method::PUT {
            crate::body::read(
                &parts.headers,
                body,
                self.config.body_limit,
                self.config.read_timeout,
            )
            .await?
        } else {
            Bytes::new()
        };
        let call = Call {
            catalog: self.catalog.clone(),
            caller,
            params: matched.params,
            body,
            live: self.live.clone(),
            engine: self.engine.clone(),
            warehouses: self.warehouses.clone(),
            query: parts.uri.query().unwrap_or("").to_string(),
            last_event_id: parts
                .headers
                .get("last-event-id")
                .and_then(|v| v.to_str().ok())
                .and_then(weir_live::parse_last_event_id),
        };
        dispatch(matched.endpoint, call).await
    }
}

impl Handler for Admin {
    fn handle(
        &self,
        request: Request<Incoming>,
        _peer: SocketAddr,
    ) -> Pin<Box<dyn Future<Output = HttpResponse> + Send + '_>> {
        Box::pin(self.respond(request))
    }
}

async fn dispatch(endpoint: Endpoint, call: Call) -> Result<HttpResponse, ApiError> {
    match endpoint {
        Endpoint::ListWorkspaces => workspaces::list(call).await,
        Endpoint::CreateWorkspace => workspaces::create(call).await,
        Endpoint::GetCurrentWorkspace => workspaces::get(call).await,
        Endpoint::UpdateCurrentWorkspace => workspaces::update(call).await,
        Endpoint::DeleteCurrentWorkspace => workspaces::delete(call).await,
        Endpoint::ListConnections => connections::list(call).await,
        Endpoint::CreateConnection => connections::create(call).await,
        Endpoint::GetConnection => connections::get(call).await,
        Endpoint::UpdateConnection => connections::update(call).await,
        Endpoint::DeleteConnection => connections::delete(call).await,
        Endpoint::ListWriteKeys => connections::list_keys(call).await,
        Endpoint::CreateWriteKey => connections::create_key(call).await,
        Endpoint::DeleteWriteKey => connections::delete_key(call).await,
        Endpoint::ListPipelines => pipelines::list(call).await,
        Endpoint::CreatePipeline => pipelines::create(call).await,
        Endpoint::GetPipeline => pipelines::get(call).await,
        Endpoint::UpdatePipeline => pipelines::update(call).await,
        Endpoint::DeletePipeline => pipelines::delete(call).await,
        Endpoint::SetPipelineStatus => pipelines::set_status(call).await,
        Endpoint::ReplayPipeline => pipelines::replay(call).await,
        Endpoint::ListApiKeys => api_keys::list(call).await,
        Endpoint::CreateApiKey => api_keys::create(call).await,
        Endpoint::GetApiKey => api_keys::get(call).await,
        Endpoint::UpdateApiKey => api_keys::update(call).await,
        Endpoint::DeleteApiKey => api_keys::delete(call).await,
        Endpoint::CreateListener => live::create(call).await,
        Endpoint::ReadListener => live::read(call).await,
        Endpoint::DeleteListener => live::delete(call).await,
        Endpoint::EventStream => live::stream(call).await,
        Endpoint::QueryEvents => events::query(call).await,
    }
}
