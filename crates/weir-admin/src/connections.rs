//! Connections and their event write keys (§12.2, §13): `POST|GET /v1/connections`,
//! `GET|PUT|DELETE /v1/connections/{id}`, `GET|POST /v1/connections/{id}/event-write-keys` and
//! `DELETE /v1/connections/{id}/event-write-keys/{key}`, all in the caller's workspace.
//!
//! Creating a source connection also creates its first write key. `role` and `connector` are
//! fixed at creation; `PUT` changes `name` and `strategy`, whichever it sends.

use serde_json::json;
use weir_catalog::{Connection, ConnectionUpdate, Connector, NewConnection, Role, Strategy};
use weir_http::HttpResponse;

use crate::error::ApiError;
use crate::fields::{Fields, choice};
use crate::respond::{Call, created_id, empty, ok};

const ROLES: [(&str, Role); 2] = [("Source", Role::Source), ("Destination", Role::Destination)];

const STRATEGIES: [(&str, Strategy); 4] = [
    ("Conversion", Strategy::Conversion),
    ("Fusion", Strategy::Fusion),
    ("Isolation", Strategy::Isolation),
    ("Preservation", Strategy::Preservation),
];

pub(crate) async fn list(call: Call) -> Result<HttpResponse, ApiError> {
    let workspace = call.workspace()?;
    let connections = call
        .run(move |catalog| catalog.list_connections(&workspace))
        .await?;
    ok(&json!({ "connections": connections }))
}

pub(crate) async fn create(call: Call) -> Result<HttpResponse, ApiError> {
    let workspace = call.workspace()?;
    let mut body = call.fields(&[
        "name",
        "role",
        "connector",
        "strategy",
        "linkedConnections",
        "settings",
    ])?;
    let name = body.required_string("name")?;
    let role = body.required_string("role")?;
    let role = choice(&body.path("role"), &role, &ROLES)?;
    let connector = body.required_string("connector")?;
    let connector = connector_named(&body, &connector)?;
    let strategy = strategy(&mut body)?;
    body.unsupported("linkedConnections")?;
    body.unsupported("settings")?;
    let new = NewConnection {
        name,
        role,
        connector,
        strategy,
    };
    let connection: Connection = call
        .run(move |catalog| catalog.create_connection(&workspace, new))
        .await?;
    created_id(&connection.id)
}

pub(crate) async fn get(call: Call) -> Result<HttpResponse, ApiError> {
    let workspace = call.workspace()?;
    let id = call.id(0, "connection")?;
    let connection = call
        .run(move |catalog| catalog.connection(&workspace, &id))
        .await?;
    ok(&connection)
}

pub(crate) async fn update(call: Call) -> Result<HttpResponse, ApiError> {
    let workspace = call.workspace()?;
    let id = call.id(0, "connection")?;
    let mut body = call.fields(&["name", "strategy"])?;
    let name = body.string("name")?;
    let strategy = strategy(&mut body)?;
    let connection = call
        .run(move |catalog| {
            let name = match name {
                Some(name) => name,
                None => catalog.connection(&workspace, &id)?.name,
            };
            catalog.update_connection(&workspace, &id, ConnectionUpdate { name, strategy })
        })
        .await?;
    ok(&connection)
}

pub(crate) async fn delete(call: Call) -> Result<HttpResponse, ApiError> {
    let workspace = call.workspace()?;
    let id = call.id(0, "connection")?;
    call.run(move |catalog| catalog.delete_connection(&workspace, &id))
        .await?;
    empty()
}

pub(crate) async fn list_keys(call: Call) -> Result<HttpResponse, ApiError> {
    let workspace = call.workspace()?;
    let id = call.id(0, "connection")?;
    let keys = call
        .run(move |catalog| catalog.list_write_keys(&workspace, &id))
        .await?;
    let keys: Vec<&str> = keys.iter().map(|key| key.as_str()).collect();
    ok(&json!({ "keys": keys }))
}

pub(crate) async fn create_key(call: Call) -> Result<HttpResponse, ApiError> {
    let workspace = call.workspace()?;
    let id = call.id(0, "connection")?;
    Fields::parse_or_empty(&call.body, &[])?;
    let key = call
        .run(move |catalog| catalog.create_write_key(&workspace, &id))
        .await?;
    ok(&json!({ "key": key.as_str() }))
}

pub(crate) async fn delete_key(call: Call) -> Result<HttpResponse, ApiError> {
    let workspace = call.workspace()?;
    let id = call.id(0, "connection")?;
    let key = call.param(1).to_owned();
    call.run(move |catalog| catalog.delete_write_key(&workspace, &id, &key))
        .await?;
    empty()
}

/// The connector named `name`, or a 400 listing them all.
fn connector_named(body: &Fields, name: &str) -> Result<Connector, ApiError> {
    name.parse::<Connector>().map_err(|_| {
        let names: Vec<String> = Connector::ALL
            .iter()
            .map(|connector| format!("\"{connector}\""))
            .collect();
        body.error(
            "connector",
            format!("must be one of {}, not \"{name}\"", names.join(", ")),
        )
    })
}

/// `strategy`: absent or `null` (keep, or the connector's default), or one of the strategies.
fn strategy(body: &mut Fields) -> Result<Option<Strategy>, ApiError> {
    match body.nullable_string("strategy")?.flatten() {
        Some(text) => Ok(Some(choice(&body.path("strategy"), &text, &STRATEGIES)?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_connector_lists_the_known_ones() {
        let body = Fields::parse(b"{}", &[]).unwrap();
        let error = connector_named(&body, "Webhook").unwrap_err();
        assert_eq!(
            error.client_message(),
            "connector must be one of \"webhook\", \"javascript\", \"android\", \"ios\", \"go\", \
             \"python\", \"nodejs\", \"java\", \"dotnet\", \"segment\", \"rudderstack\", \"http\", \
             not \"Webhook\""
        );
        assert_eq!(
            connector_named(&body, "webhook").unwrap(),
            Connector::Webhook
        );
    }

    #[test]
    fn strategies() {
        let mut body = Fields::parse(br#"{"strategy":"Fusion"}"#, &["strategy"]).unwrap();
        assert_eq!(strategy(&mut body).unwrap(), Some(Strategy::Fusion));
        let mut body = Fields::parse(br#"{"strategy":null}"#, &["strategy"]).unwrap();
        assert_eq!(strategy(&mut body).unwrap(), None);
        let mut body = Fields::parse(br#"{"strategy":"fusion"}"#, &["strategy"]).unwrap();
        assert!(strategy(&mut body).is_err());
    }
}
