//! The route table: which method and path template each endpoint answers, and matching a request
//! against it. An unknown path is a 404 (`NotFound`, empty message, as for ingest); a known path
//! with another method is a 405 whose `Allow` lists the path's methods. Paths match exactly and
//! case-sensitively; the query string is not part of the path.

use http::Method;

/// What a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    ListWorkspaces,
    CreateWorkspace,
    GetCurrentWorkspace,
    UpdateCurrentWorkspace,
    DeleteCurrentWorkspace,
    ListConnections,
    CreateConnection,
    GetConnection,
    UpdateConnection,
    DeleteConnection,
    ListWriteKeys,
    CreateWriteKey,
    DeleteWriteKey,
    ListPipelines,
    CreatePipeline,
    GetPipeline,
    UpdatePipeline,
    DeletePipeline,
    SetPipelineStatus,
    ReplayPipeline,
    ListApiKeys,
    CreateApiKey,
    GetApiKey,
    UpdateApiKey,
    DeleteApiKey,
    CreateListener,
    ReadListener,
    DeleteListener,
    EventStream,
    QueryEvents,
}

/// Declares [`ROUTES`] and the private table with the endpoints from one list.
macro_rules! routes {
    ($($method:literal $path:literal => $endpoint:ident,)*) => {
        /// Every management route as `(method, path template)`; `{name}` stands for one path
        /// segment. `docs/openapi.yaml` documents exactly these.
        pub const ROUTES: &[(&str, &str)] = &[$(($method, $path)),*];

        const TABLE: &[(&str, &str, Endpoint)] = &[$(($method, $path, Endpoint::$endpoint)),*];
    };
}

routes! {
    "GET" "/v1/workspaces" => ListWorkspaces,
    "POST" "/v1/workspaces" => CreateWorkspace,
    "GET" "/v1/workspaces/current" => GetCurrentWorkspace,
    "PUT" "/v1/workspaces/current" => UpdateCurrentWorkspace,
    "DELETE" "/v1/workspaces/current" => DeleteCurrentWorkspace,
    "GET" "/v1/connections" => ListConnections,
    "POST" "/v1/connections" => CreateConnection,
    "GET" "/v1/connections/{id}" => GetConnection,
    "PUT" "/v1/connections/{id}" => UpdateConnection,
    "DELETE" "/v1/connections/{id}" => DeleteConnection,
    "GET" "/v1/connections/{id}/event-write-keys" => ListWriteKeys,
    "POST" "/v1/connections/{id}/event-write-keys" => CreateWriteKey,
    "DELETE" "/v1/connections/{id}/event-write-keys/{key}" => DeleteWriteKey,
    "GET" "/v1/pipelines" => ListPipelines,
    "POST" "/v1/pipelines" => CreatePipeline,
    "GET" "/v1/pipelines/{id}" => GetPipeline,
    "PUT" "/v1/pipelines/{id}" => UpdatePipeline,
    "DELETE" "/v1/pipelines/{id}" => DeletePipeline,
    "PUT" "/v1/pipelines/{id}/status" => SetPipelineStatus,
    "POST" "/v1/pipelines/{id}/replay" => ReplayPipeline,
    "GET" "/v1/keys" => ListApiKeys,
    "POST" "/v1/keys" => CreateApiKey,
    "GET" "/v1/keys/{id}" => GetApiKey,
    "PUT" "/v1/keys/{id}" => UpdateApiKey,
    "DELETE" "/v1/keys/{id}" => DeleteApiKey,
    "POST" "/v1/events/listeners" => CreateListener,
    "GET" "/v1/events/listeners/{id}" => ReadListener,
    "DELETE" "/v1/events/listeners/{id}" => DeleteListener,
    "GET" "/v1/events/stream" => EventStream,
    "GET" "/v1/events" => QueryEvents,
}

impl Endpoint {
    /// Whether the route acts inside one workspace, which an instance-wide key must name with
    /// the workspace header. Listing and creating workspaces and managing API keys are not.
    pub(crate) fn is_workspace_scoped(self) -> bool {
        !matches!(
            self,
            Self::ListWorkspaces
                | Self::CreateWorkspace
                | Self::ListApiKeys
                | Self::CreateApiKey
                | Self::GetApiKey
                | Self::UpdateApiKey
                | Self::DeleteApiKey
        )
    }
}

/// A request that matched a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Matched {
    pub(crate) endpoint: Endpoint,
    /// The `{…}` segments of the path, in order.
    pub(crate) params: Vec<String>,
}

/// Why a request matched no route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Miss {
    /// No route has this path.
    NotFound,
    /// Routes have this path, with these methods (the `Allow` header).
    MethodNotAllowed { allow: String },
}

/// Finds the route of `method` and `path`.
pub(crate) fn resolve(method: &Method, path: &str) -> Result<Matched, Miss> {
    let mut allowed: Vec<&str> = Vec::new();
    for (route_method, template, endpoint) in TABLE {
        let Some(params) = match_template(template, path) else {
            continue;
        };
        if method.as_str() == *route_method {
            return Ok(Matched {
                endpoint: *endpoint,
                params,
            });
        }
        allowed.push(route_method);
    }
    if allowed.is_empty() {
        Err(Miss::NotFound)
    } else {
        Err(Miss::MethodNotAllowed {
            allow: allowed.join(", "),
        })
    }
}

/// The `{…}` segments of `path` if it has the shape of `template`.
fn match_template(template: &str, path: &str) -> Option<Vec<String>> {
    let mut params = Vec::new();
    let mut path_segments = path.split('/');
    for expected in template.split('/') {
        let segment = path_segments.next()?;
        if expected.starts_with('{') {
            if segment.is_empty() {
                return None;
            }
            params.push(segment.to_owned());
        } else if expected != segment {
            return None;
        }
    }
    path_segments.next().is_none().then_some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(method: Method, path: &str, endpoint: Endpoint, params: &[&str]) {
        let matched = resolve(&method, path).unwrap();
        assert_eq!(matched.endpoint, endpoint, "{method} {path}");
        assert_eq!(matched.params, params, "{method} {path}");
    }

    fn miss(method: Method, path: &str, expected: Miss) {
        assert_eq!(resolve(&method, path), Err(expected), "{method} {path}");
    }

    fn not_allowed(allow: &str) -> Miss {
        Miss::MethodNotAllowed {
            allow: allow.to_owned(),
        }
    }

    #[test]
    fn fixed_paths() {
        ok(Method::GET, "/v1/workspaces", Endpoint::ListWorkspaces, &[]);
        ok(
            Method::PUT,
            "/v1/workspaces/current",
            Endpoint::UpdateCurrentWorkspace,
            &[],
        );
        ok(Method::POST, "/v1/keys", Endpoint::CreateApiKey, &[]);
        ok(Method::GET, "/v1/events", Endpoint::QueryEvents, &[]);
    }

    #[test]
    fn parameters_are_captured_in_order() {
        ok(
            Method::DELETE,
            "/v1/connections/abc/event-write-keys/KEY",
            Endpoint::DeleteWriteKey,
            &["abc", "KEY"],
        );
        ok(
            Method::PUT,
            "/v1/pipelines/p1/status",
            Endpoint::SetPipelineStatus,
            &["p1"],
        );
        ok(
            Method::POST,
            "/v1/pipelines/p1/replay",
            Endpoint::ReplayPipeline,
            &["p1"],
        );
    }

    #[test]
    fn unknown_paths_are_not_found() {
        for path in [
            "/",
            "/v1",
            "/v1/",
            "/v1/workspaces/",
            "/v1/connections//event-write-keys",
            "/v1/Connections",
            "/v1/pipelines/p1/status/x",
            "/v1/events/",
            "/v1/events/listeners/",
        ] {
            miss(Method::GET, path, Miss::NotFound);
        }
    }

    #[test]
    fn wrong_method_lists_the_allowed_ones() {
        miss(Method::DELETE, "/v1/workspaces", not_allowed("GET, POST"));
        miss(
            Method::POST,
            "/v1/connections/abc",
            not_allowed("GET, PUT, DELETE"),
        );
        miss(Method::GET, "/v1/pipelines/p/status", not_allowed("PUT"));
        miss(Method::PUT, "/v1/pipelines/p/replay", not_allowed("POST"));
        miss(Method::HEAD, "/v1/keys", not_allowed("GET, POST"));
        miss(Method::GET, "/v1/events/listeners", not_allowed("POST"));
        miss(Method::DELETE, "/v1/events", not_allowed("GET"));
    }

    #[test]
    fn every_route_resolves_to_itself() {
        for (method, template) in ROUTES {
            let path = template.replace("{id}", "x").replace("{key}", "y");
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            assert!(resolve(&method, &path).is_ok(), "{method} {template}");
        }
        assert_eq!(ROUTES.len(), TABLE.len());
    }

    #[test]
    fn scoped_routes() {
        assert!(Endpoint::ListConnections.is_workspace_scoped());
        assert!(Endpoint::QueryEvents.is_workspace_scoped());
        assert!(Endpoint::GetCurrentWorkspace.is_workspace_scoped());
        assert!(!Endpoint::ListWorkspaces.is_workspace_scoped());
        assert!(!Endpoint::DeleteApiKey.is_workspace_scoped());
    }
}
