//! Authentication (`ingest-api.md` §2): the `Authorization` header at step 7 and the body
//! `writeKey` / `connectionId` rules at step 12, with the exact error catalogue of §2.2.

use http::header::AUTHORIZATION;
use http::{HeaderMap, StatusCode};
use weir_auth::{Credential, ResourceId, parse_authorization};
use weir_http::ErrorResponse;
use weir_spec::Request;

use crate::body::bad_request;
use crate::directory::{Directory, KeyScope, Source};

/// What the `Authorization` header established.
#[derive(Debug)]
pub(crate) enum HeaderAuth {
    /// No header: the body `writeKey` decides (mode C).
    Missing,
    /// Modes A and B.
    WriteKey(Source),
    /// Mode D: an API key and the workspace it is restricted to, if any.
    ApiKey { workspace: Option<String> },
}

/// Step 7.
pub(crate) fn from_header(
    headers: &HeaderMap,
    directory: &dyn Directory,
) -> Result<HeaderAuth, ErrorResponse> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(HeaderAuth::Missing);
    };
    if values.next().is_some() {
        return Err(bad_request(
            "request contains multiple Authorization headers",
        ));
    }
    let credential = parse_authorization(value.as_bytes()).map_err(|error| {
        let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
        ErrorResponse::new(status, error.code(), error.to_string())
    })?;
    match credential {
        Credential::WriteKey(key) => directory
            .source_by_write_key(&key)
            .map(HeaderAuth::WriteKey)
            .ok_or_else(|| {
                unauthorized("event write key in the Authorization header is not valid")
            }),
        Credential::ApiKey(key) => {
            let scope = directory
                .api_key_scope(&key)
                .ok_or_else(|| unauthorized("API key in the Authorization header is invalid"))?;
            let workspace = workspace_header(headers, &scope, directory)?;
            Ok(HeaderAuth::ApiKey {
                workspace: match scope {
                    KeyScope::Workspace(id) => Some(id),
                    KeyScope::Instance => workspace,
                },
            })
        }
    }
}

/// The optional `Weir-Workspace` header (alias `Krenalis-Workspace`) of mode D.
fn workspace_header(
    headers: &HeaderMap,
    scope: &KeyScope,
    directory: &dyn Directory,
) -> Result<Option<String>, ErrorResponse> {
    let mut found = Vec::new();
    for name in ["Weir-Workspace", "Krenalis-Workspace"] {
        for value in headers.get_all(name) {
            found.push((name, value));
        }
    }
    let Some(&(name, value)) = found.first() else {
        return Ok(None);
    };
    if found.len() > 1 {
        return Err(bad_request(&format!(
            "request contains multiple \"{name}\" headers"
        )));
    }
    if matches!(scope, KeyScope::Workspace(_)) {
        return Err(bad_request(&format!(
            "\"{name}\" header cannot be provided with a workspace restricted key"
        )));
    }
    let id = value
        .to_str()
        .ok()
        .filter(|id| ResourceId::parse(id).is_ok())
        .ok_or_else(|| {
            bad_request(&format!(
                "\"{name}\" header is invalid; use \"{name}: <WORKSPACE_ID>\""
            ))
        })?;
    if !directory.workspace_exists(id) {
        return Err(ErrorResponse::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("workspace {id} does not exist"),
        ));
    }
    Ok(Some(id.to_string()))
}

/// Step 12: the source the request's events belong to.
pub(crate) fn resolve(
    header: HeaderAuth,
    request: &Request<'_>,
    directory: &dyn Directory,
) -> Result<Source, ErrorResponse> {
    let write_key_source = match header {
        HeaderAuth::WriteKey(source) => source,
        HeaderAuth::Missing => {
            let key = request
                .body_write_key()
                .map_err(|error| bad_request(&error.to_string()))?
                .ok_or_else(|| unauthorized("Authorization header is missing"))?;
            directory.source_by_write_key(key).ok_or_else(|| {
                unauthorized("the event write key in the request body does not exist")
            })?
        }
        HeaderAuth::ApiKey { workspace } => {
            let id = request.connection_id().ok_or_else(|| {
                bad_request(
                    "parameter 'connectionId' is required when using API key authentication",
                )
            })?;
            return directory
                .connection(id)
                .filter(|source| {
                    workspace
                        .as_deref()
                        .is_none_or(|w| w == source.workspace_id)
                })
                .ok_or_else(|| {
                    ErrorResponse::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "ConnectionNotExist",
                        format!("connection {id} does not exist"),
                    )
                });
        }
    };
    if request.connection_id().is_some() {
        return Err(bad_request(
            "property 'connectionId' cannot be provided when using an event write key for authentication",
        ));
    }
    Ok(write_key_source)
}

fn unauthorized(message: &str) -> ErrorResponse {
    ErrorResponse::new(StatusCode::UNAUTHORIZED, "Unauthorized", message)
}
