//! The management API client: finds the server and the key, sends JSON requests with `ureq`
//! (blocking; 4xx/5xx are answers, not transport errors), turns error bodies into one-line
//! errors, and picks the workspace of workspace-scoped routes.
//!
//! Workspace choice: `--workspace` when given. Otherwise requests go without the header (right
//! for a workspace-restricted key); if the server answers that an instance key must name one
//! (403 `Forbidden`, sent before anything changes), the client uses the only workspace there is,
//! or asks for `--workspace` when there are several.

use std::fs;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;
use ureq::http;

/// How long one request may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A connection to one server's management API.
#[derive(Debug)]
pub(crate) struct Client {
    agent: ureq::Agent,
    base: String,
    key: String,
    /// The workspace header to send on scoped routes, once known.
    workspace: Option<String>,
}

/// A non-2xx answer.
struct Failure {
    status: u16,
    code: String,
    message: String,
}

impl Client {
    /// Finds the server (`server`, else `<data_dir>/server.url`) and the key (`api_key`, else
    /// `<data_dir>/admin.key`).
    pub(crate) fn connect(
        data_dir: &Path,
        server: Option<&str>,
        api_key: Option<&str>,
        workspace: Option<&str>,
    ) -> Result<Client> {
        let base = match server {
            Some(server) => server.trim().to_owned(),
            None => {
                let path = data_dir.join(crate::serve::SERVER_URL_FILE);
                let text = fs::read_to_string(&path).map_err(|error| {
                    anyhow!(
                        "cannot find the server: reading {} failed ({error}); start `weir serve` \
                         with this data directory, or pass --server <URL> or --data-dir <DIR>",
                        path.display()
                    )
                })?;
                text.trim().to_owned()
            }
        };
        let key = match api_key {
            Some(key) => key.trim().to_owned(),
            None => weir_catalog::read_admin_key(data_dir)
                .map_err(|error| {
                    anyhow!(
                        "cannot find an API key: reading {} failed ({error}); pass --api-key <KEY> \
                         or --data-dir <DIR>",
                        weir_catalog::admin_key_path(data_dir).display()
                    )
                })?
                .as_str()
                .to_owned(),
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(TIMEOUT))
            .build()
            .new_agent();
        Ok(Client {
            agent,
            base: base.trim_end_matches('/').to_owned(),
            key,
            workspace: workspace.map(str::to_owned),
        })
    }

    /// A request on a route outside any workspace.
    pub(crate) fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        self.send(method, path, body, None)?
            .map_err(|failure| failure.into_error())
    }

    /// A request on a workspace-scoped route.
    pub(crate) fn scoped(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value> {
        let first = self.send(method, path, body, self.workspace.as_deref())?;
        match first {
            Err(failure) if failure.status == 403 && self.workspace.is_none() => {
                self.workspace = Some(self.only_workspace()?);
                self.send(method, path, body, self.workspace.as_deref())?
                    .map_err(|failure| failure.into_error())
            }
            other => other.map_err(|failure| failure.into_error()),
        }
    }

    /// A request on `/v1/workspaces/current` for the workspace `id`.
    pub(crate) fn in_workspace(
        &self,
        method: &str,
        id: &str,
        body: Option<&Value>,
    ) -> Result<Value> {
        self.send(method, "/v1/workspaces/current", body, Some(id))?
            .map_err(|failure| failure.into_error())
    }

    /// Opens a long-lived `GET` (an event stream) in the caller's workspace; the answer's body
    /// is read line by line as it arrives.
    pub(crate) fn stream(&mut self, path: &str) -> Result<Box<dyn std::io::BufRead>> {
        if self.workspace.is_none() {
            // Resolves the workspace the same way every scoped call does.
            self.scoped("GET", "/v1/workspaces/current", None)?;
        }
        let url = format!("{}{path}", self.base);
        let mut request = http::Request::builder()
            .method("GET")
            .uri(&url)
            .header("Authorization", format!("Bearer {}", self.key))
            .header("Accept", "text/event-stream");
        if let Some(workspace) = &self.workspace {
            request = request.header("Weir-Workspace", workspace.as_str());
        }
        let request = request
            .body(())
            .with_context(|| format!("invalid server URL {url:?}"))?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(TIMEOUT))
            .build()
            .new_agent();
        let mut response = agent.run(request).map_err(|error| {
            anyhow!(
                "cannot reach the Weir server at {}: {error}; is `weir serve` running?",
                self.base
            )
        })?;
        let status = response.status().as_u16();
        if status != 200 {
            let text = response.body_mut().read_to_string().unwrap_or_default();
            let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let text_of = |name: &str| value["error"][name].as_str().unwrap_or_default().to_owned();
            return Err(Failure {
                status,
                code: text_of("code"),
                message: text_of("message"),
            }
            .into_error());
        }
        Ok(Box::new(std::io::BufReader::new(
            response.into_body().into_reader(),
        )))
    }

    /// The id of the only workspace, for an instance key that named none.
    fn only_workspace(&self) -> Result<String> {
        let listed = self.call("GET", "/v1/workspaces", None)?;
        let workspaces = listed["workspaces"].as_array().cloned().unwrap_or_default();
        match workspaces.as_slice() {
            [only] => only["id"]
                .as_str()
                .map(str::to_owned)
                .context("the server listed a workspace without an id"),
            [] => bail!(
                "there is no workspace; create one with `weir workspaces create --name <NAME>`"
            ),
            several => bail!(
                "there are {} workspaces; choose one with --workspace <ID> (see `weir workspaces list`)",
                several.len()
            ),
        }
    }

    /// Sends a request; `Ok(Err(_))` is an error answer from the server.
    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        workspace: Option<&str>,
    ) -> Result<Result<Value, Failure>> {
        let url = format!("{}{path}", self.base);
        let mut request = http::Request::builder()
            .method(method)
            .uri(&url)
            .header("Authorization", format!("Bearer {}", self.key))
            .header("Accept", "application/json");
        if let Some(workspace) = workspace {
            request = request.header("Weir-Workspace", workspace);
        }
        let unreachable = |error: ureq::Error| {
            anyhow!(
                "cannot reach the Weir server at {}: {error}; is `weir serve` running?",
                self.base
            )
        };
        let mut response = match body {
            Some(body) => {
                let request = request
                    .header("Content-Type", "application/json")
                    .body(serde_json::to_vec(body)?)
                    .with_context(|| format!("invalid server URL {url:?}"))?;
                self.agent.run(request).map_err(unreachable)?
            }
            None => {
                let request = request
                    .body(())
                    .with_context(|| format!("invalid server URL {url:?}"))?;
                self.agent.run(request).map_err(unreachable)?
            }
        };
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|error| anyhow!("reading the answer of {method} {path} failed: {error}"))?;
        let value: Option<Value> = serde_json::from_str(&text).ok();
        if (200..300).contains(&status) {
            return value
                .map(Ok)
                .ok_or_else(|| anyhow!("{method} {path} answered {status} without JSON"));
        }
        let error = value.as_ref().map(|value| &value["error"]);
        let field = |name: &str| {
            error
                .and_then(|error| error[name].as_str())
                .unwrap_or_default()
                .to_owned()
        };
        Ok(Err(Failure {
            status,
            code: field("code"),
            message: field("message"),
        }))
    }
}

impl Failure {
    /// One line: the server's message, then status and code.
    fn into_error(self) -> anyhow::Error {
        let Failure {
            status,
            code,
            message,
        } = self;
        match (message.is_empty(), code.is_empty()) {
            (false, _) => anyhow!("{} ({status} {code})", message.replace('\n', " ")),
            (true, false) => anyhow!("the server answered {status} {code}"),
            (true, true) => anyhow!("the server answered {status}"),
        }
    }
}
