//! Who is calling and in which workspace (storage-and-pipelines.md §12.1): the `Authorization:
//! Bearer api_…` key, checked against the catalog's in-memory index, and the workspace that a
//! restricted key implies or an instance-wide key names with `Weir-Workspace` (alias
//! `Krenalis-Workspace`). Messages are the spec's, byte for byte.

use http::HeaderMap;
use http::header::AUTHORIZATION;
use weir_auth::{ApiKey, ResourceId};
use weir_catalog::{ApiKeyRecord, WriteKeyIndex};

use crate::error::ApiError;

const MISSING: &str = "Authorization header with the API key is not present in the request";
const REPEATED: &str = "request contains multiple Authorization headers";
const NOT_BEARER: &str = "Authorization header is invalid; it should be in the format 'Authorization: Bearer <YOUR_API_KEY>'";
const NO_PREFIX: &str = "API key is not valid; API keys start with the api_ prefix";
const MALFORMED: &str = "API key in the Authorization header of the request is malformed";
const UNKNOWN: &str = "API key in the Authorization header of the request does not exist";

/// The workspace header and its alias, as messages name them.
const WORKSPACE_HEADERS: [&str; 2] = ["Weir-Workspace", "Krenalis-Workspace"];

/// An authenticated caller.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// The API key's record.
    pub(crate) key: ApiKeyRecord,
    /// The workspace the request acts in: the key's own for a restricted key, else the one
    /// the workspace header names (checked to exist), if any.
    workspace: Option<ResourceId>,
}

impl Caller {
    /// The key's restriction: `Some(workspace)` for a workspace-restricted key.
    pub(crate) fn restriction(&self) -> Option<&ResourceId> {
        self.key.workspace.as_ref()
    }

    /// The workspace of a workspace-scoped route; 403 if an instance key named none.
    pub(crate) fn workspace(&self) -> Result<&ResourceId, ApiError> {
        self.workspace.as_ref().ok_or_else(|| {
            ApiError::Forbidden(
                "Weir-Workspace header is missing; provide it in the format \
                 'Weir-Workspace: <WORKSPACE_ID>'"
                    .to_owned(),
            )
        })
    }
}

/// Authenticates the request's API key and resolves its workspace.
pub(crate) fn authenticate(headers: &HeaderMap, index: &WriteKeyIndex) -> Result<Caller, ApiError> {
    let key = api_key(headers)?;
    let record = index
        .lookup_api_key(&key)
        .ok_or(ApiError::Unauthorized(UNKNOWN))?;
    let header = workspace_header(headers)?;
    let workspace = match (&record.workspace, header) {
        (Some(_), Some((name, _))) => {
            return Err(ApiError::bad_request(format!(
                "\"{name}\" header cannot be provided with a workspace restricted key"
            )));
        }
        (Some(own), None) => Some(own.clone()),
        (None, Some((_, id))) => {
            if index.lookup_workspace(&id).is_none() {
                return Err(ApiError::NotFound(format!("workspace {id} does not exist")));
            }
            Some(id)
        }
        (None, None) => None,
    };
    Ok(Caller {
        key: record,
        workspace,
    })
}

/// The well-formed API key of the `Authorization` header.
fn api_key(headers: &HeaderMap) -> Result<ApiKey, ApiError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next().ok_or(ApiError::Unauthorized(MISSING))?;
    if values.next().is_some() {
        return Err(ApiError::bad_request(REPEATED));
    }
    let value = value.as_bytes().trim_ascii();
    let (scheme, token) = match value.iter().position(|&b| b == b' ' || b == b'\t') {
        Some(at) => (&value[..at], value[at..].trim_ascii()),
        None => (value, &[][..]),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") || token.is_empty() {
        return Err(ApiError::bad_request(NOT_BEARER));
    }
    if !token.starts_with(b"api_") {
        return Err(ApiError::bad_request(NO_PREFIX));
    }
    let token = std::str::from_utf8(token).map_err(|_| ApiError::Unauthorized(MALFORMED))?;
    ApiKey::parse(token).map_err(|_| ApiError::Unauthorized(MALFORMED))
}

/// The workspace header, if sent: the name the client used and the id it holds.
fn workspace_header(headers: &HeaderMap) -> Result<Option<(&'static str, ResourceId)>, ApiError> {
    let mut found = None;
    for name in WORKSPACE_HEADERS {
        for value in headers.get_all(name) {
            if found.is_some() {
                return Err(ApiError::bad_request(format!(
                    "request contains multiple {name} headers"
                )));
            }
            found = Some((name, value));
        }
    }
    let Some((name, value)) = found else {
        return Ok(None);
    };
    let id = value
        .to_str()
        .ok()
        .and_then(|text| ResourceId::parse(text.trim()).ok())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{name} header is invalid; it should be in the format '{name}: <WORKSPACE_ID>'"
            ))
        })?;
    Ok(Some((name, id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use weir_catalog::{Catalog, NewApiKey, SqliteCatalog};

    struct Fixture {
        _dir: tempfile::TempDir,
        catalog: SqliteCatalog,
        admin: String,
        restricted: String,
        workspace: ResourceId,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let catalog = SqliteCatalog::open(dir.path()).unwrap();
        let bootstrap = catalog.bootstrap().unwrap();
        let admin = bootstrap.admin_key.unwrap().as_str().to_owned();
        let workspace = bootstrap.source.unwrap().workspace.id;
        let restricted = catalog
            .create_api_key(NewApiKey {
                name: "ci".into(),
                workspace: Some(workspace.clone()),
            })
            .unwrap();
        Fixture {
            _dir: dir,
            catalog,
            admin,
            restricted: restricted.key.as_str().to_owned(),
            workspace,
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            let name = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
            map.append(name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn fails(fixture: &Fixture, pairs: &[(&str, &str)], status: u16, message: &str) {
        let error = authenticate(&headers(pairs), &fixture.catalog.index()).unwrap_err();
        assert_eq!(
            (error.status().as_u16(), error.client_message().as_str()),
            (status, message),
            "{pairs:?}"
        );
    }

    #[test]
    fn authorization_errors() {
        let f = fixture();
        let unknown = weir_auth::ApiKey::generate();
        fails(&f, &[], 401, MISSING);
        let bearer = format!("Bearer {}", f.admin);
        fails(
            &f,
            &[("authorization", &bearer), ("authorization", &bearer)],
            400,
            REPEATED,
        );
        for value in ["Basic abc", "Bearer", "Bearer   ", "Token api_x", &f.admin] {
            fails(&f, &[("authorization", value)], 400, NOT_BEARER);
        }
        fails(
            &f,
            &[("authorization", "Bearer 4qwwvXGRa0R2PeJs")],
            400,
            NO_PREFIX,
        );
        fails(&f, &[("authorization", "Bearer api_short")], 401, MALFORMED);
        let unknown = format!("Bearer {}", unknown.as_str());
        fails(&f, &[("authorization", &unknown)], 401, UNKNOWN);
    }

    #[test]
    fn instance_key_names_the_workspace() {
        let f = fixture();
        let bearer = format!("bearer\t{} ", f.admin);
        let caller =
            authenticate(&headers(&[("authorization", &bearer)]), &f.catalog.index()).unwrap();
        assert_eq!(caller.restriction(), None);
        assert_eq!(caller.workspace().unwrap_err().status(), 403);
        let pairs = [
            ("authorization", bearer.as_str()),
            ("weir-workspace", f.workspace.as_str()),
        ];
        let caller = authenticate(&headers(&pairs), &f.catalog.index()).unwrap();
        assert_eq!(caller.workspace().unwrap(), &f.workspace);
        let alias = [
            ("authorization", bearer.as_str()),
            ("krenalis-workspace", f.workspace.as_str()),
        ];
        assert!(authenticate(&headers(&alias), &f.catalog.index()).is_ok());
    }

    #[test]
    fn workspace_header_errors() {
        let f = fixture();
        let admin = format!("Bearer {}", f.admin);
        let ws = f.workspace.as_str();
        fails(
            &f,
            &[
                ("authorization", &admin),
                ("weir-workspace", ws),
                ("krenalis-workspace", ws),
            ],
            400,
            "request contains multiple Krenalis-Workspace headers",
        );
        fails(
            &f,
            &[("authorization", &admin), ("weir-workspace", "nope")],
            400,
            "Weir-Workspace header is invalid; it should be in the format 'Weir-Workspace: <WORKSPACE_ID>'",
        );
        fails(
            &f,
            &[
                ("authorization", &admin),
                ("weir-workspace", "111111111111"),
            ],
            404,
            "workspace 111111111111 does not exist",
        );
        let restricted = format!("Bearer {}", f.restricted);
        fails(
            &f,
            &[("authorization", &restricted), ("krenalis-workspace", ws)],
            400,
            "\"Krenalis-Workspace\" header cannot be provided with a workspace restricted key",
        );
    }

    #[test]
    fn restricted_key_acts_in_its_workspace() {
        let f = fixture();
        let restricted = format!("Bearer {}", f.restricted);
        let caller = authenticate(
            &headers(&[("authorization", &restricted)]),
            &f.catalog.index(),
        )
        .unwrap();
        assert_eq!(caller.restriction(), Some(&f.workspace));
        assert_eq!(caller.workspace().unwrap(), &f.workspace);
    }
}
