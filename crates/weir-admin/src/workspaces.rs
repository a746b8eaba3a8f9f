//! Workspaces (§12.2, §10): `GET|POST /v1/workspaces` and `GET|PUT|DELETE
//! /v1/workspaces/current`, with the settings Weir has: the warehouse and the event rate limit.
//!
//! Bodies and responses use the same members: `name`, `warehouse` (`{"platform":"SQLite"}` or
//! `{"platform":"PostgreSQL","settings":{"url":…}}`) and `eventsRateLimit` (`null` for no limit,
//! or `{"ratePerMinute":…,"maxCapacity":…}`). `PUT` changes only the members it sends. The
//! PostgreSQL URL is answered with its password masked.
//!
//! A `warehouse` that a request sets is checked before anything is stored: a PostgreSQL
//! warehouse must be reachable, accept the credentials and let Weir create its tables and
//! insert and select rows ([`Warehouse::check`]); the embedded SQLite one must open. A failed
//! check is a 422 `WarehouseCheckFailed` with the warehouse's message, and nothing changes.

use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use weir_catalog::{NewWorkspace, RateLimit, WarehouseSettings, Workspace, WorkspaceSettings};
use weir_http::HttpResponse;
use weir_warehouse::{PostgresWarehouse, Warehouse};

use crate::error::ApiError;
use crate::fields::{Fields, choice};
use crate::respond::{Call, created_id, empty, ok};

/// A workspace as the API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct WorkspaceView<'a> {
    id: &'a str,
    name: &'a str,
    warehouse: WarehouseView,
    events_rate_limit: Option<RateLimit>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "platform")]
enum WarehouseView {
    #[serde(rename = "SQLite")]
    Sqlite,
    #[serde(rename = "PostgreSQL")]
    PostgreSql { settings: PostgresView },
}

#[derive(Debug, Serialize)]
struct PostgresView {
    url: String,
}

fn view(workspace: &Workspace) -> WorkspaceView<'_> {
    let warehouse = match &workspace.settings.warehouse {
        WarehouseSettings::Sqlite => WarehouseView::Sqlite,
        WarehouseSettings::PostgreSql { url } => WarehouseView::PostgreSql {
            settings: PostgresView {
                url: mask_password(url),
            },
        },
    };
    WorkspaceView {
        id: workspace.id.as_str(),
        name: &workspace.name,
        warehouse,
        events_rate_limit: workspace.settings.event_rate_limit,
    }
}

pub(crate) async fn list(call: Call) -> Result<HttpResponse, ApiError> {
    let restriction = call.caller.restriction().cloned();
    let workspaces = call
        .run(move |catalog| match restriction {
            Some(own) => Ok(vec![catalog.workspace(&own)?]),
            None => catalog.list_workspaces(),
        })
        .await?;
    let views: Vec<_> = workspaces.iter().map(view).collect();
    ok(&json!({ "workspaces": views }))
}

pub(crate) async fn create(call: Call) -> Result<HttpResponse, ApiError> {
    if call.caller.restriction().is_some() {
        return Err(ApiError::Forbidden(
            "a workspace restricted key cannot create workspaces".to_owned(),
        ));
    }
    let mut body = call.fields(&["name", "warehouse", "eventsRateLimit", "profileSchema"])?;
    let name = body.required_string("name")?;
    let warehouse = match body.nullable_object("warehouse", WAREHOUSE)? {
        Some(Some(fields)) => warehouse(fields)?,
        Some(None) | None => WarehouseSettings::Sqlite,
    };
    let event_rate_limit = rate_limit(&mut body)?.flatten();
    body.unsupported("profileSchema")?;
    check_warehouse(&call, &warehouse).await?;
    let new = NewWorkspace {
        name,
        settings: WorkspaceSettings {
            warehouse,
            event_rate_limit,
        },
    };
    let workspace = call
        .run(move |catalog| catalog.create_workspace(new))
        .await?;
    created_id(&workspace.id)
}

pub(crate) async fn get(call: Call) -> Result<HttpResponse, ApiError> {
    let id = call.workspace()?;
    let workspace = call.run(move |catalog| catalog.workspace(&id)).await?;
    ok(&view(&workspace))
}

pub(crate) async fn update(call: Call) -> Result<HttpResponse, ApiError> {
    let id = call.workspace()?;
    let mut body = call.fields(&["name", "warehouse", "eventsRateLimit"])?;
    let name = body.string("name")?;
    let warehouse = match body.nullable_object("warehouse", WAREHOUSE)? {
        Some(Some(fields)) => Some(warehouse(fields)?),
        Some(None) => return Err(body.error("warehouse", "must be an object, not null")),
        None => None,
    };
    let event_rate_limit = rate_limit(&mut body)?;
    if let Some(warehouse) = &warehouse {
        check_warehouse(&call, warehouse).await?;
    }
    let workspace = call
        .run(move |catalog| {
            let current = catalog.workspace(&id)?;
            let update = NewWorkspace {
                name: name.unwrap_or(current.name),
                settings: WorkspaceSettings {
                    warehouse: warehouse.unwrap_or(current.settings.warehouse),
                    event_rate_limit: event_rate_limit.unwrap_or(current.settings.event_rate_limit),
                },
            };
            catalog.update_workspace(&id, update)
        })
        .await?;
    ok(&view(&workspace))
}

pub(crate) async fn delete(call: Call) -> Result<HttpResponse, ApiError> {
    let id = call.workspace()?;
    call.run(move |catalog| catalog.delete_workspace(&id))
        .await?;
    empty()
}

/// The members of `warehouse`.
const WAREHOUSE: &[&str] = &["platform", "settings"];

/// `warehouse`: `{"platform":"SQLite"}` or `{"platform":"PostgreSQL","settings":{"url":…}}`.
fn warehouse(mut fields: Fields) -> Result<WarehouseSettings, ApiError> {
    let platform = fields.required_string("platform")?;
    let postgres = choice(
        &fields.path("platform"),
        &platform,
        &[("SQLite", false), ("PostgreSQL", true)],
    )?;
    let known: &[&str] = if postgres { &["url"] } else { &[] };
    match (
        postgres,
        fields.nullable_object("settings", known)?.flatten(),
    ) {
        (false, _) => Ok(WarehouseSettings::Sqlite),
        (true, None) => Err(fields.error("settings", "is required for PostgreSQL")),
        (true, Some(mut settings)) => {
            let url = settings.required_string("url")?;
            let scheme_ok = ["postgres://", "postgresql://"]
                .iter()
                .any(|scheme| url.starts_with(scheme) && url.len() > scheme.len());
            if !scheme_ok {
                return Err(settings.error("url", "must be a postgres:// or postgresql:// URL"));
            }
            Ok(WarehouseSettings::PostgreSql { url })
        }
    }
}

/// The longest a warehouse check may take before the save is refused.
const CHECK_TIMEOUT: Duration = Duration::from_secs(15);

/// Checks that the warehouse `settings` name can be used, before they are stored. PostgreSQL is
/// checked on a connection of its own, so a refused URL leaves no handle behind; the embedded
/// warehouse is opened through the server's shared handles.
async fn check_warehouse(call: &Call, settings: &WarehouseSettings) -> Result<(), ApiError> {
    let unusable = |message: String| ApiError::Unprocessable {
        code: "WarehouseCheckFailed",
        message: format!("the warehouse cannot be used: {message}"),
    };
    match settings {
        WarehouseSettings::Sqlite => match &call.warehouses {
            Some(warehouses) => warehouses
                .warehouse(settings)
                .await
                .map(drop)
                .map_err(|error| unusable(error.to_string())),
            None => Ok(()),
        },
        WarehouseSettings::PostgreSql { url } => {
            let warehouse = PostgresWarehouse::new(url).map_err(|error| {
                let detail = error.to_string();
                let detail = detail
                    .strip_prefix("invalid PostgreSQL URL: ")
                    .unwrap_or(&detail)
                    .to_owned();
                ApiError::bad_request(format!(
                    "warehouse.settings.url is not a valid PostgreSQL URL: {detail}"
                ))
            })?;
            match tokio::time::timeout(CHECK_TIMEOUT, warehouse.check()).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => Err(unusable(error.to_string())),
                Err(_) => Err(unusable(format!(
                    "PostgreSQL did not answer within {} s",
                    CHECK_TIMEOUT.as_secs()
                ))),
            }
        }
    }
}

/// `eventsRateLimit`: absent, `null` (no limit) or both bounds. The ranges are the catalog's.
fn rate_limit(body: &mut Fields) -> Result<Option<Option<RateLimit>>, ApiError> {
    let known = &["ratePerMinute", "maxCapacity"];
    let Some(limit) = body.nullable_object("eventsRateLimit", known)? else {
        return Ok(None);
    };
    let Some(mut limit) = limit else {
        return Ok(Some(None));
    };
    let rate_per_minute = limit.required_u64("ratePerMinute")?;
    let max_capacity = limit.required_u64("maxCapacity")?;
    Ok(Some(Some(RateLimit {
        rate_per_minute,
        max_capacity,
    })))
}

/// `url` with the password of its user information and of a `password` query parameter
/// replaced by `***`.
fn mask_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        let cases = [
            ("postgres://db/weir", "postgres://db/weir"),
            ("postgres://u@db/weir", "postgres://u@db/weir"),
            (
                "postgres://u:secret@db:5432/weir",
                "postgres://u:***@db:5432/weir",
            ),
            ("postgresql://u:p@ss@db", "postgresql://u:***@db"),
            (
                "postgres://db/weir?user=u&password=secret&sslmode=require",
                "postgres://db/weir?user=u&password=***&sslmode=require",
            ),
            ("not a url", "not a url"),
        ];
        for (url, masked) in cases {
            assert_eq!(mask_password(url), masked, "{url}");
        }
    }

    #[test]
    fn warehouse_members() {
        let parse = |body: &str| {
            let mut fields = Fields::parse(body.as_bytes(), &["warehouse"]).unwrap();
            let object = fields
                .nullable_object("warehouse", WAREHOUSE)
                .unwrap()
                .unwrap()
                .unwrap();
            warehouse(object).map_err(|error| error.client_message())
        };
        assert_eq!(
            parse(r#"{"warehouse":{"platform":"SQLite"}}"#),
            Ok(WarehouseSettings::Sqlite)
        );
        assert_eq!(
            parse(r#"{"warehouse":{"platform":"PostgreSQL","settings":{"url":"postgres://db"}}}"#),
            Ok(WarehouseSettings::PostgreSql {
                url: "postgres://db".into()
            })
        );
        assert_eq!(
            parse(r#"{"warehouse":{"platform":"MySQL"}}"#),
            Err(
                "warehouse.platform must be one of \"SQLite\", \"PostgreSQL\", not \"MySQL\""
                    .into()
            )
        );
        assert_eq!(
            parse(r#"{"warehouse":{"platform":"PostgreSQL"}}"#),
            Err("warehouse.settings is required for PostgreSQL".into())
        );
        assert_eq!(
            parse(r#"{"warehouse":{"platform":"PostgreSQL","settings":{"url":1}}}"#),
            Err("warehouse.settings.url must be a string, not a number".into())
        );
    }
}
