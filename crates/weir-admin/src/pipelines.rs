//! Pipelines (§5.1, §12.2): `POST|GET /v1/pipelines`, `GET|PUT|DELETE /v1/pipelines/{id}`,
//! `PUT /v1/pipelines/{id}/status` and `POST /v1/pipelines/{id}/replay`, in the caller's
//! workspace.
//!
//! `connection`, `target` and `replayFrom` are fixed at creation. `PUT` changes the members it
//! sends (`name`, `enabled`, `filter`, `transformation`, `requiredConsents`; `null` clears the
//! last three). The catalog checks that the JSON members are objects; their meaning is the
//! pipeline engine's.
//!
//! A replay (`{"from":"earliest"|"<RFC 3339>"}`, read like `replayFrom`) moves the pipeline's
//! cursor back so it reads the retained log again from there (`Engine::replay`: never forward
//! past unprocessed events; a disabled pipeline keeps the reset cursor and starts from it when
//! enabled). It answers the pipeline as `GET` does: `stats.lag` counts what it will read again.

use serde_json::{Value, json};
use weir_auth::ResourceId;
use weir_catalog::{
    CatalogError, NewPipeline, PipelineTarget, PipelineUpdate, ReplayFrom, Resource,
};
use weir_http::HttpResponse;

use crate::error::ApiError;
use crate::fields::{Fields, choice};
use crate::respond::{Call, created_id, empty, ok};

const TARGETS: [(&str, PipelineTarget); 2] = [
    ("Event", PipelineTarget::Event),
    ("User", PipelineTarget::User),
];

pub(crate) async fn list(call: Call) -> Result<HttpResponse, ApiError> {
    let workspace = call.workspace()?;
    let pipelines = call
        .run(move |catalog| catalog.list_pipelines(Some(&workspace)))
        .await?;
    ok(&json!({ "pipelines": pipelines }))
}

pub(crate) async fn create(call: Call) -> Result<HttpResponse, ApiError> {
    let workspace = call.workspace()?;
    let mut body = call.fields(&[
        "connection",
        "target",
        "name",
        "enabled",
        "filter",
        "transformation",
        "requiredConsents",
        "replayFrom",
    ])?;
    let connection = body.required_string("connection")?;
    let connection_id = ResourceId::parse(&connection).map_err(|_| {
        ApiError::bad_request(format!(
            "identifier \"{connection}\" is not a valid connection identifier"
        ))
    })?;
    let target = body.required_string("target")?;
    let target = choice(&body.path("target"), &target, &TARGETS)?;
    let name = body.required_string("name")?;
    let enabled = body.bool("enabled")?.unwrap_or(false);
    let filter = body.any("filter");
    let transformation = body.any("transformation");
    let required_consents = body.any("requiredConsents");
    let replay_from = match body.string("replayFrom")? {
        None => ReplayFrom::Now,
        Some(text) => read_point(&body, "replayFrom", &text, true)?,
    };
    check_rules(&filter, &required_consents)?;
    let new = NewPipeline {
        connection_id,
        name,
        target,
        enabled,
        filter,
        transformation,
        required_consents,
        replay_from,
    };
    let pipeline = call
        .run(move |catalog| catalog.create_pipeline(&workspace, new))
        .await
        .map_err(unknown_connection)?;
    reload(&call);
    created_id(&pipeline.id)
}

pub(crate) async fn get(call: Call) -> Result<HttpResponse, ApiError> {
    let workspace = call.workspace()?;
    let id = call.id(0, "pipeline")?;
    let pipeline = call
        .run(move |catalog| catalog.pipeline(&workspace, &id))
        .await?;
    ok(&with_stats(&call, &pipeline)?)
}

pub(crate) async fn update(call: Call) -> Result<HttpResponse, ApiError> {
    let workspace = call.workspace()?;
    let id = call.id(0, "pipeline")?;
    let mut body = call.fields(&[
        "name",
        "enabled",
        "filter",
        "transformation",
        "requiredConsents",
    ])?;
    let name = body.string("name")?;
    let enabled = body.bool("enabled")?;
    let filter = body.any("filter");
    let transformation = body.any("transformation");
    let required_consents = body.any("requiredConsents");
    check_rules(&filter, &required_consents)?;
    let pipeline = call
        .run(move |catalog| {
            let current = catalog.pipeline(&workspace, &id)?;
            let keep = |new: Option<Value>, old: Option<Value>| match new {
                Some(value) => Some(value),
                None => old,
            };
            let update = PipelineUpdate {
                name: name.unwrap_or(current.name),
                enabled,
                filter: keep(filter, current.filter),
                transformation: keep(transformation, current.transformation),
                required_consents: keep(required_consents, current.required_consents),
            };
            catalog.update_pipeline(&workspace, &id, update)
        })
        .await?;
    reload(&call);
    ok(&pipeline)
}

pub(crate) async fn set_status(call: Call) -> Result<HttpResponse, ApiError> {
    let workspace = call.workspace()?;
    let id = call.id(0, "pipeline")?;
    let mut body = call.fields(&["enabled"])?;
    let enabled = body.required_bool("enabled")?;
    let pipeline = call
        .run(move |catalog| catalog.set_pipeline_enabled(&workspace, &id, enabled))
        .await?;
    reload(&call);
    ok(&pipeline)
}

pub(crate) async fn replay(call: Call) -> Result<HttpResponse, ApiError> {
    let workspace = call.workspace()?;
    let id = call.id(0, "pipeline")?;
    let mut body = call.fields(&["from"])?;
    let text = body.required_string("from")?;
    let from = read_point(&body, "from", &text, false)?;
    let pipeline = call
        .run(move |catalog| catalog.pipeline(&workspace, &id))
        .await?;
    let Some(engine) = &call.engine else {
        return Err(ApiError::Unavailable(
            "this server runs no pipelines".to_owned(),
        ));
    };
    engine.replay(&pipeline, from).await.map_err(|error| {
        if error.is_retryable() {
            ApiError::Unavailable(error.to_string())
        } else {
            ApiError::Internal(format!("replaying a pipeline: {error}"))
        }
    })?;
    ok(&with_stats(&call, &pipeline)?)
}

pub(crate) async fn delete(call: Call) -> Result<HttpResponse, ApiError> {
    let workspace = call.workspace()?;
    let id = call.id(0, "pipeline")?;
    call.run(move |catalog| catalog.delete_pipeline(&workspace, &id))
        .await?;
    reload(&call);
    empty()
}

/// Where a pipeline starts (`replayFrom`) or a replay goes back to (`from`): `earliest`, an
/// RFC 3339 time, or `now` where `now_allowed`; else a 400 naming member `name`.
fn read_point(
    body: &Fields,
    name: &str,
    text: &str,
    now_allowed: bool,
) -> Result<ReplayFrom, ApiError> {
    match ReplayFrom::from_text(text) {
        Some(ReplayFrom::Now) if !now_allowed => None,
        point => point,
    }
    .ok_or_else(|| {
        let expected = if now_allowed {
            "\"now\", \"earliest\" or an RFC 3339 time"
        } else {
            "\"earliest\" or an RFC 3339 time"
        };
        body.error(name, format!("must be {expected}, not \"{text}\""))
    })
}

/// Filters and required consents are checked with the pipeline engine's own rules, so what is
/// stored is what runs. A member that is not an object is left to the catalog, whose message
/// says it must be an object or null.
fn check_rules(filter: &Option<Value>, required_consents: &Option<Value>) -> Result<(), ApiError> {
    if let Some(filter) = filter.as_ref().filter(|f| f.is_object()) {
        weir_pipeline::validate_filter(filter)
            .map_err(|error| ApiError::bad_request(error.to_string()))?;
    }
    if let Some(consents) = required_consents.as_ref().filter(|c| c.is_object()) {
        weir_pipeline::validate_required_consents(consents)
            .map_err(|error| ApiError::bad_request(format!("requiredConsents: {error}")))?;
    }
    Ok(())
}

/// The pipeline as JSON, with the engine's counters when it runs here.
fn with_stats(call: &Call, pipeline: &weir_catalog::Pipeline) -> Result<Value, ApiError> {
    let mut value =
        serde_json::to_value(pipeline).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let (Some(engine), Some(object)) = (&call.engine, value.as_object_mut()) {
        let stats = engine.stats(pipeline.id.as_str()).map(|stats| {
            serde_json::json!({
                "read": stats.read,
                "filteredOut": stats.filtered_out,
                "written": stats.written,
                "failed": stats.failed,
                "lag": stats.lag,
                "running": stats.running,
                "lastError": stats.last_error,
            })
        });
        object.insert("stats".into(), stats.unwrap_or(Value::Null));
    }
    Ok(value)
}

fn reload(call: &Call) {
    if let Some(engine) = &call.engine {
        engine.reload();
    }
}

/// A body's `connection` that names no connection of the workspace is a 422
/// `ConnectionNotExist`, as elsewhere in the API (the path's resource was found).
fn unknown_connection(error: ApiError) -> ApiError {
    match error {
        ApiError::Catalog(CatalogError::NotFound {
            resource: Resource::Connection,
            id,
        }) => ApiError::Unprocessable {
            code: "ConnectionNotExist",
            message: format!("connection {id} does not exist"),
        },
        other => other,
    }
}
