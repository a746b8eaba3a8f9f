//! `docs/openapi.yaml` documents exactly the routes the server has ([`weir_admin::ROUTES`]), and
//! the server answers each of them.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use serde_json::json;

use super::{Api, NO_SUCH_ID, json_body};
use crate::support::TestServer;

/// Every `(method, path)` under `paths:` in `docs/openapi.yaml`, read line by line: paths are
/// the keys indented by two spaces, operations the HTTP-method keys indented by four.
fn documented_routes() -> BTreeSet<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.yaml");
    let text = fs::read_to_string(&path).expect("docs/openapi.yaml");
    let mut routes = BTreeSet::new();
    let mut in_paths = false;
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            in_paths = line.trim_end() == "paths:";
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(key) = line
            .strip_prefix("  ")
            .filter(|rest| !rest.starts_with(' '))
        {
            current = key
                .strip_suffix(':')
                .map(|path| path.trim_matches('"').to_owned());
        } else if let Some(key) = line
            .strip_prefix("    ")
            .filter(|rest| !rest.starts_with(' '))
        {
            let method = key.trim_end().trim_end_matches(':');
            if ["get", "put", "post", "delete", "patch", "head", "options"].contains(&method) {
                let path = current.clone().expect("an operation under a path");
                routes.insert((method.to_uppercase(), path));
            }
        }
    }
    routes
}

#[test]
fn openapi_documents_exactly_the_served_routes() {
    let documented = documented_routes();
    let served: BTreeSet<(String, String)> = weir_admin::ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(
        documented.difference(&served).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not served"
    );
    assert_eq!(
        served.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "served but not documented"
    );
    // And the server really answers each of them (a routing miss is 404 with an empty message,
    // or 405).
    let server = TestServer::start();
    let api = Api::new(&server);
    for (method, template) in &documented {
        let path = template
            .replace("{id}", NO_SUCH_ID)
            .replace("{key}", "somekey");
        // The event stream never ends on success; an invalid connection answers at once.
        let path = if template == "/v1/events/stream" {
            format!("{path}?connection=!")
        } else {
            path
        };
        let body = (method == "POST" || method == "PUT").then(|| json!({}));
        let response = api.send(method, &path, body.as_ref());
        let routing_miss = response.status == 405
            || (response.status == 404 && json_body(&response)["error"]["message"] == "");
        assert!(
            !routing_miss,
            "{method} {template} is not served: {} {}",
            response.status,
            response.text()
        );
    }
}
