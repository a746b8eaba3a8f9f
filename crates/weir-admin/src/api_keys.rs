//! Management API keys (§12.2, §13): `POST|GET /v1/keys` and `GET|PUT|DELETE /v1/keys/{id}`.
//! The token is in the create response only; lists and reads show its hint.
//!
//! An instance-wide caller reaches every key and may create keys of either kind; a
//! workspace-restricted caller reaches only the keys of its workspace and creates only those.

use serde_json::json;
use weir_auth::ResourceId;
use weir_http::HttpResponse;

use crate::error::ApiError;
use crate::respond::{Call, empty, ok};

pub(crate) async fn list(call: Call) -> Result<HttpResponse, ApiError> {
    let scope = call.caller.restriction().cloned();
    let keys = call
        .run(move |catalog| catalog.list_api_keys(scope.as_ref()))
        .await?;
    ok(&json!({ "keys": keys }))
}

pub(crate) async fn create(call: Call) -> Result<HttpResponse, ApiError> {
    let mut body = call.fields(&["name", "workspace"])?;
    let name = body.required_string("name")?;
    let workspace = match body.nullable_string("workspace")?.flatten() {
        None => None,
        Some(text) => Some(ResourceId::parse(&text).map_err(|_| {
            body.error(
                "workspace",
                format!("\"{text}\" is not a valid workspace identifier"),
            )
        })?),
    };
    let workspace = match (call.caller.restriction(), workspace) {
        (None, workspace) => workspace,
        (Some(own), None) => Some(own.clone()),
        (Some(own), Some(other)) if *own == other => Some(other),
        (Some(_), Some(_)) => {
            return Err(ApiError::Forbidden(
                "a workspace restricted key can only create keys for its own workspace".to_owned(),
            ));
        }
    };
    let new = weir_catalog::NewApiKey { name, workspace };
    let created = call.run(move |catalog| catalog.create_api_key(new)).await?;
    ok(&json!({
        "id": created.record.id.as_str(),
        "token": created.key.as_str(),
    }))
}

pub(crate) async fn get(call: Call) -> Result<HttpResponse, ApiError> {
    let scope = call.caller.restriction().cloned();
    let id = call.id(0, "API key")?;
    let record = call
        .run(move |catalog| catalog.api_key(scope.as_ref(), &id))
        .await?;
    ok(&record)
}

pub(crate) async fn update(call: Call) -> Result<HttpResponse, ApiError> {
    let scope = call.caller.restriction().cloned();
    let id = call.id(0, "API key")?;
    let mut body = call.fields(&["name"])?;
    let name = body.required_string("name")?;
    let record = call
        .run(move |catalog| catalog.rename_api_key(scope.as_ref(), &id, name))
        .await?;
    ok(&record)
}

pub(crate) async fn delete(call: Call) -> Result<HttpResponse, ApiError> {
    let scope = call.caller.restriction().cloned();
    let id = call.id(0, "API key")?;
    call.run(move |catalog| catalog.delete_api_key(scope.as_ref(), &id))
        .await?;
    empty()
}
