//! What every endpoint works with: the [`Call`] (catalog, caller, path parameters, body), the
//! blocking catalog calls moved off the async workers, and the JSON success responses (a JSON
//! object followed by LF, never cached).

use std::sync::Arc;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use serde::Serialize;
use weir_auth::ResourceId;
use weir_catalog::{Catalog, CatalogError};
use weir_http::HttpResponse;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::fields::Fields;

/// One routed, authenticated request.
pub(crate) struct Call {
    pub(crate) catalog: Arc<dyn Catalog>,
    pub(crate) caller: Caller,
    /// The `{…}` path segments, in order.
    pub(crate) params: Vec<String>,
    /// The body (empty for `GET` and `DELETE`).
    pub(crate) body: Bytes,
    /// The live-events hub, when the server has one.
    pub(crate) live: Option<weir_live::LiveEvents>,
    /// The raw query string (without `?`).
    pub(crate) query: String,
    /// `Last-Event-ID` of a reconnecting event stream.
    pub(crate) last_event_id: Option<u64>,
    /// The pipeline engine, when the server runs one (reload after changes, stats).
    pub(crate) engine: Option<std::sync::Arc<weir_pipeline::Engine>>,
    /// The workspaces' warehouses (events queries, checking a new warehouse setting).
    pub(crate) warehouses: Option<Arc<weir_pipeline::WarehouseTargets>>,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("caller", &self.caller)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Call {
    /// Runs a catalog operation on the blocking pool.
    pub(crate) async fn run<T, F>(&self, operation: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Catalog) -> Result<T, CatalogError> + Send + 'static,
    {
        let catalog = self.catalog.clone();
        tokio::task::spawn_blocking(move || operation(&*catalog))
            .await
            .map_err(|error| ApiError::Internal(format!("catalog task failed: {error}")))?
            .map_err(ApiError::from)
    }

    /// The body's members: the body must be a JSON object with no members but `known`.
    pub(crate) fn fields(&self, known: &[&str]) -> Result<Fields, ApiError> {
        Fields::parse(&self.body, known)
    }

    /// Path parameter `index` (as a string, e.g. a write key).
    pub(crate) fn param(&self, index: usize) -> &str {
        self.params.get(index).map_or("", String::as_str)
    }

    /// Path parameter `index` as the id of a `resource`; a malformed id names nothing, so it is
    /// a 404 like an unknown one.
    pub(crate) fn id(&self, index: usize, resource: &str) -> Result<ResourceId, ApiError> {
        let text = self.param(index);
        ResourceId::parse(text)
            .map_err(|_| ApiError::NotFound(format!("{resource} {text} does not exist")))
    }

    /// The caller's workspace (403 when an instance key named none).
    pub(crate) fn workspace(&self) -> Result<ResourceId, ApiError> {
        self.caller.workspace().cloned()
    }
}

/// A 200 with `value` as JSON.
pub(crate) fn ok<T: Serialize + ?Sized>(value: &T) -> Result<HttpResponse, ApiError> {
    json(StatusCode::OK, value)
}

/// `{}`: what deletions answer.
pub(crate) fn empty() -> Result<HttpResponse, ApiError> {
    ok(&serde_json::Map::new())
}

/// `{"id": "<id>"}`: what creations answer (§12.2).
pub(crate) fn created_id(id: &ResourceId) -> Result<HttpResponse, ApiError> {
    ok(&serde_json::json!({ "id": id.as_str() }))
}

/// A response with `value` serialised as JSON plus LF.
pub(crate) fn json<T: Serialize + ?Sized>(
    status: StatusCode,
    value: &T,
) -> Result<HttpResponse, ApiError> {
    let mut bytes = serde_json::to_vec(value)
        .map_err(|error| ApiError::Internal(format!("serialising a response: {error}")))?;
    bytes.push(b'\n');
    let mut response = Response::new(weir_http::full(Bytes::from(bytes)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-store, max-age=0"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn json_body_ends_with_a_line_feed() {
        let response = created_id(&ResourceId::parse("2Hx9kLmNpQrZ").unwrap()).unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()[CONTENT_TYPE],
            "application/json; charset=utf-8"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"{\"id\":\"2Hx9kLmNpQrZ\"}\n");
    }
}
