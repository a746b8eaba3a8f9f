//! Live events (storage-and-pipelines.md §11): the listeners API (`POST /v1/events/listeners`,
//! `GET|DELETE /v1/events/listeners/{id}`) and the Server-Sent-Events stream
//! (`GET /v1/events/stream`), over the `weir-live` hub that the ingest server publishes to.

use bytes::Bytes;
use http::Response;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use weir_auth::ResourceId;
use weir_catalog::{Catalog, Role};
use weir_http::HttpResponse;
use weir_live::{
    DEFAULT_LISTENER_SIZE, ListenerSpec, LiveError, LiveEvents, MAX_LISTENER_SIZE, Predicate,
    SSE_PING, SSE_PING_INTERVAL, StreamSpec, write_sse,
};

use crate::error::ApiError;
use crate::fields::Fields;
use crate::respond::{Call, empty, ok};

fn hub(call: &Call) -> Result<&LiveEvents, ApiError> {
    call.live
        .as_ref()
        .ok_or_else(|| ApiError::Internal("live events are not enabled".into()))
}

/// What a listener or stream sees, from the request's members or query parameters.
struct Scope {
    connections: Option<Vec<String>>,
    predicate: Option<Predicate>,
    include_rejected: bool,
}

/// Resolves `connection` to the sources whose events are shown.
async fn connections(
    call: &Call,
    connection: Option<String>,
) -> Result<Option<Vec<String>>, ApiError> {
    let Some(text) = connection else {
        return Ok(None);
    };
    let id = ResourceId::parse(&text).map_err(|_| {
        ApiError::bad_request(format!(
            "identifier \"{text}\" is not a valid connection identifier"
        ))
    })?;
    let workspace = call.workspace()?;
    let lookup = id.clone();
    let found = call
        .run(move |catalog: &dyn Catalog| catalog.connection(&workspace, &lookup))
        .await;
    match found {
        Ok(connection) if connection.role == Role::Source => Ok(Some(vec![id.to_string()])),
        // Destinations show the events of their linked sources; links do not exist yet.
        Ok(_) => Ok(Some(Vec::new())),
        Err(_) => Err(ApiError::Unprocessable {
            code: "ConnectionNotExist",
            message: format!("connection {id} does not exist"),
        }),
    }
}

/// Filters and required consents compile into one predicate over the normalised event.
fn predicate(
    filter: Option<serde_json::Value>,
    consents: Option<serde_json::Value>,
) -> Result<Option<Predicate>, ApiError> {
    let filter = match filter.filter(|f| !f.is_null()) {
        None => None,
        Some(value) => Some(
            weir_pipeline::validate_filter(&value)
                .map_err(|error| ApiError::bad_request(error.to_string()))?,
        ),
    };
    let consents = match consents.filter(|c| !c.is_null()) {
        None => None,
        Some(value) => Some(
            weir_pipeline::validate_required_consents(&value)
                .map_err(|error| ApiError::bad_request(error.to_string()))?,
        ),
    };
    if filter.is_none() && consents.is_none() {
        return Ok(None);
    }
    Ok(Some(std::sync::Arc::new(
        move |event: &weir_spec::Event| {
            consents.as_ref().is_none_or(|c| c.allows(event))
                && filter.as_ref().is_none_or(|f| f.matches(event))
        },
    )))
}

async fn scope(call: &Call, fields: &mut Fields) -> Result<(Scope, usize), ApiError> {
    let connection = fields.string("connection")?;
    let size = match fields.any("size") {
        None | Some(serde_json::Value::Null) => DEFAULT_LISTENER_SIZE,
        Some(value) => match value.as_u64() {
            Some(n) if (1..=MAX_LISTENER_SIZE as u64).contains(&n) => n as usize,
            _ => return Err(ApiError::bad_request(format!("size {value} is not valid"))),
        },
    };
    let predicate = predicate(fields.any("filter"), fields.any("requiredConsents"))?;
    let include_rejected = fields.bool("includeRejected")?.unwrap_or(true);
    let connections = connections(call, connection).await?;
    Ok((
        Scope {
            connections,
            predicate,
            include_rejected,
        },
        size,
    ))
}

fn live_error(error: LiveError) -> ApiError {
    match error {
        LiveError::NotFound { .. } => ApiError::NotFound(error.to_string()),
        LiveError::TooManyListeners { .. } => ApiError::Unprocessable {
            code: "TooManyListeners",
            message: error.to_string(),
        },
        other => ApiError::bad_request(other.to_string()),
    }
}

/// `POST /v1/events/listeners`.
pub(crate) async fn create(call: Call) -> Result<HttpResponse, ApiError> {
    let workspace = call.workspace()?;
    let mut fields = Fields::parse_or_empty(
        &call.body,
        &[
            "connection",
            "size",
            "filter",
            "requiredConsents",
            "includeRejected",
        ],
    )?;
    let (scope, size) = scope(&call, &mut fields).await?;
    let spec = ListenerSpec {
        connections: scope.connections,
        size,
        predicate: scope.predicate,
        include_rejected: scope.include_rejected,
    };
    let id = hub(&call)?
        .create(workspace.as_str(), spec)
        .map_err(live_error)?;
    ok(&serde_json::json!({ "id": id.to_string() }))
}

/// `GET /v1/events/listeners/{id}`: returns and clears the buffer.
pub(crate) async fn read(call: Call) -> Result<HttpResponse, ApiError> {
    let workspace = call.workspace()?;
    let read = hub(&call)?
        .read(workspace.as_str(), call.param(0))
        .map_err(live_error)?;
    let events: serde_json::Value = serde_json::from_str(&read.to_json())
        .map_err(|error| ApiError::Internal(format!("listener entries are not JSON: {error}")))?;
    ok(&events)
}

/// `DELETE /v1/events/listeners/{id}` (also fine for unknown ids).
pub(crate) async fn delete(call: Call) -> Result<HttpResponse, ApiError> {
    let workspace = call.workspace()?;
    hub(&call)?.delete(workspace.as_str(), call.param(0));
    empty()
}

/// `GET /v1/events/stream?connection=…&filter=…&requiredConsents=…&includeRejected=…`.
pub(crate) async fn stream(call: Call) -> Result<HttpResponse, ApiError> {
    let workspace = call.workspace()?;
    let mut query = serde_json::Map::new();
    for (name, value) in form_urlencoded::parse(call.query.as_bytes()) {
        let value = match name.as_ref() {
            "filter" | "requiredConsents" => serde_json::from_str(&value).map_err(|_| {
                ApiError::bad_request(format!("query parameter '{name}' is not valid JSON"))
            })?,
            "includeRejected" => serde_json::Value::Bool(value != "false"),
            _ => serde_json::Value::String(value.into_owned()),
        };
        query.insert(name.into_owned(), value);
    }
    let body = serde_json::to_vec(&query).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut fields = Fields::parse_or_empty(
        &body,
        &[
            "connection",
            "filter",
            "requiredConsents",
            "includeRejected",
        ],
    )?;
    let (scope, _) = scope(&call, &mut fields).await?;
    let spec = StreamSpec {
        connections: scope.connections,
        predicate: scope.predicate,
        include_rejected: scope.include_rejected,
        last_event_id: call.last_event_id,
    };
    let mut subscription = hub(&call)?
        .subscribe(workspace.as_str(), spec)
        .map_err(live_error)?;
    let (sender, receiver) = tokio::sync::mpsc::channel::<Bytes>(16);
    tokio::spawn(async move {
        let mut ping = tokio::time::interval_at(
            tokio::time::Instant::now() + SSE_PING_INTERVAL,
            SSE_PING_INTERVAL,
        );
        // An initial comment makes proxies and clients see the stream open at once.
        if sender
            .send(Bytes::from_static(b": connected\n\n"))
            .await
            .is_err()
        {
            return;
        }
        loop {
            let chunk = tokio::select! {
                item = subscription.next() => match item {
                    None => return,
                    Some(item) => {
                        let mut text = String::new();
                        write_sse(&item, &mut text);
                        while let Some(more) = subscription.try_next() {
                            write_sse(&more, &mut text);
                        }
                        text
                    }
                },
                _ = ping.tick() => SSE_PING.to_string(),
            };
            if sender.send(Bytes::from(chunk)).await.is_err() {
                return; // the client went away; dropping the subscription unregisters it
            }
        }
    });
    let mut response = Response::new(weir_http::channel_body(receiver));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}
