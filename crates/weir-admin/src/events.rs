//! Stored events (storage-and-pipelines.md §12.2): `GET /v1/events` queries the `events` table
//! of the workspace's warehouse and answers `{"events":[…]}`, each event an object keyed by
//! column name (`context_os_name`), with the value shapes of `weir_warehouse::EventRows`.
//!
//! Query parameters (the ingest server hands `GET /v1/events` to this API; it owns `POST`):
//!
//! * `properties`: comma-separated, repeatable; event property paths (`context.os.name`,
//!   `anonymousId`), column names (`context_os_name`) or objects (`context`, `context.os`: their
//!   columns). Default: every column. Unknown → `invalid properties: …` naming it.
//! * `filter`: URL-encoded filter JSON (§6), checked by the pipeline rules and lowered to the
//!   columns by `event_filter`; `null` → `filter cannot be null`; otherwise
//!   `invalid filter: <reason>`.
//! * `order`: a property or column (default `timestamp`), not JSON; `invalid order: …`.
//! * `ascending`: `true` or `false` (default) → else `invalid ascending`.
//! * `first`: rows to skip, 0 (default) up to 2^63-1 → else `invalid first`.
//! * `limit`: 1..=1000 (default 100) → else `invalid limit`.
//!
//! Unknown parameters, and a repeated one other than `properties`, are 400 too. A warehouse
//! that cannot be reached is a 503 `WarehouseUnavailable`; one that refuses is a 502.

use serde_json::{Value, json};
use weir_http::HttpResponse;
use weir_warehouse::{Direction, EventQuery, MAX_LIMIT, WarehouseError};

use crate::error::ApiError;
use crate::event_columns::{self, Kind, Resolved};
use crate::event_filter;
use crate::respond::{Call, ok};

/// The query parameters, in the order their errors are reported.
const PARAMETERS: [&str; 6] = [
    "properties",
    "filter",
    "order",
    "ascending",
    "first",
    "limit",
];

/// `GET /v1/events`.
pub(crate) async fn query(call: Call) -> Result<HttpResponse, ApiError> {
    let workspace = call.workspace()?;
    let query = parse(&call.query)?;
    let warehouses = call
        .warehouses
        .clone()
        .ok_or_else(|| ApiError::Internal("no warehouses are configured".into()))?;
    let workspace = call
        .run(move |catalog| catalog.workspace(&workspace))
        .await?;
    let warehouse = warehouses
        .warehouse(&workspace.settings.warehouse)
        .await
        .map_err(warehouse_error)?;
    let rows = warehouse
        .query_events(query)
        .await
        .map_err(warehouse_error)?;
    ok(&json!({ "events": rows.rows }))
}

/// A warehouse failure as the API answers it.
pub(crate) fn warehouse_error(error: WarehouseError) -> ApiError {
    match error {
        WarehouseError::Unavailable { message } => ApiError::WarehouseUnavailable(message),
        WarehouseError::Rejected { message } => ApiError::WarehouseRejected(message),
        invalid @ WarehouseError::InvalidQuery { .. } => ApiError::bad_request(invalid.to_string()),
    }
}

/// The parameters of the raw query string, as a warehouse query.
fn parse(raw: &str) -> Result<EventQuery, ApiError> {
    let mut properties: Vec<String> = Vec::new();
    let mut single: [Option<String>; 5] = Default::default();
    for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
        let Some(index) = PARAMETERS.iter().position(|known| *known == name) else {
            return Err(ApiError::bad_request(format!(
                "unknown query parameter {}; the known parameters are {}",
                quote(&name),
                PARAMETERS.join(", ")
            )));
        };
        if index == 0 {
            properties.push(value.into_owned());
            continue;
        }
        let slot = &mut single[index - 1];
        if slot.is_some() {
            return Err(ApiError::bad_request(format!(
                "query parameter {} is repeated",
                quote(&name)
            )));
        }
        *slot = Some(value.into_owned());
    }
    let [filter, order, ascending, first, limit] = single;
    let columns = columns(&properties)?;
    let filter = match filter {
        None => None,
        Some(text) => Some(filter_of(&text)?),
    };
    let order = match order {
        None => "timestamp".to_owned(),
        Some(name) => order_column(&name)?,
    };
    let direction = match ascending.as_deref() {
        None | Some("false") => Direction::Descending,
        Some("true") => Direction::Ascending,
        Some(_) => return Err(ApiError::bad_request("invalid ascending")),
    };
    let first = match first {
        None => 0,
        Some(text) => number(&text)
            .filter(|first| i64::try_from(*first).is_ok())
            .ok_or_else(|| ApiError::bad_request("invalid first"))?,
    };
    let limit = match limit {
        None => 100,
        Some(text) => number(&text)
            .filter(|limit| (1..=MAX_LIMIT).contains(limit))
            .ok_or_else(|| ApiError::bad_request("invalid limit"))?,
    };
    Ok(EventQuery {
        columns,
        order: Some((order, direction)),
        first,
        limit,
        filter,
    })
}

/// A decimal number of ASCII digits only (no sign, no spaces).
fn number(text: &str) -> Option<usize> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The columns named by every `properties` parameter, in order, without repeats.
fn columns(parameters: &[String]) -> Result<Vec<String>, ApiError> {
    let mut columns: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !columns.iter().any(|known| known == name) {
            columns.push(name.to_owned());
        }
    };
    for name in parameters.iter().flat_map(|parameter| parameter.split(',')) {
        let invalid = |why: String| ApiError::bad_request(format!("invalid properties: {why}"));
        match event_columns::resolve(name) {
            Resolved::Column(column) => add(column.name),
            Resolved::Object(inside) => inside.iter().for_each(|column| add(column.name)),
            Resolved::NotStored => {
                return Err(invalid(format!(
                    "property {} is not stored in the warehouse",
                    quote(name)
                )));
            }
            Resolved::Unknown if name.is_empty() => {
                return Err(invalid("a property name is empty".to_owned()));
            }
            Resolved::Unknown => {
                return Err(invalid(format!("property {} does not exist", quote(name))));
            }
        }
    }
    Ok(columns)
}

/// The `filter` parameter: JSON, checked by the pipeline rules, lowered to the columns.
fn filter_of(text: &str) -> Result<weir_warehouse::Filter, ApiError> {
    let invalid = |why: &str| ApiError::bad_request(format!("invalid filter: {why}"));
    let value: Value = serde_json::from_str(text)
        .map_err(|error| invalid(&format!("it is not valid JSON ({error})")))?;
    if value.is_null() {
        return Err(ApiError::bad_request("filter cannot be null"));
    }
    weir_pipeline::validate_filter(&value).map_err(|error| invalid(error.reason()))?;
    event_filter::lower(&value).map_err(|why| invalid(&why))
}

/// The column to sort by.
fn order_column(name: &str) -> Result<String, ApiError> {
    let invalid = |why: String| ApiError::bad_request(format!("invalid order: {why}"));
    match event_columns::resolve(name) {
        Resolved::Column(column) if matches!(column.kind, Kind::Json | Kind::Map) => Err(invalid(
            format!("cannot order by the JSON property {}", quote(name)),
        )),
        Resolved::Column(column) => Ok(column.name.to_owned()),
        Resolved::Object(_) => Err(invalid(format!(
            "cannot order by {}, which is an object",
            quote(name)
        ))),
        Resolved::NotStored => Err(invalid(format!(
            "property {} is not stored in the warehouse",
            quote(name)
        ))),
        Resolved::Unknown => Err(invalid(format!("property {} does not exist", quote(name)))),
    }
}

/// `text` as a JSON string literal.
fn quote(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use weir_warehouse::{Condition, Filter, Operator};

    use super::*;

    fn message(query: &str) -> String {
        let error = parse(query).unwrap_err();
        assert_eq!(error.status(), 400, "{query}");
        error.client_message()
    }

    #[test]
    fn defaults() {
        let query = parse("").unwrap();
        assert_eq!(
            query,
            EventQuery {
                columns: Vec::new(),
                order: Some(("timestamp".into(), Direction::Descending)),
                first: 0,
                limit: 100,
                filter: None,
            }
        );
    }

    #[test]
    fn every_parameter() {
        let filter = r#"{"logical":"or","conditions":[{"property":"type","operator":"is","values":["track"]}]}"#;
        let raw = format!(
            "properties=messageId,context.os&properties=type,message_id&order=context.os.name\
             &ascending=true&first=20&limit=1000&filter={}",
            form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
        );
        let query = parse(&raw).unwrap();
        assert_eq!(
            query.columns,
            [
                "message_id",
                "context_os_name",
                "context_os_other",
                "context_os_version",
                "type"
            ]
        );
        assert_eq!(
            query.order,
            Some(("context_os_name".into(), Direction::Ascending))
        );
        assert_eq!((query.first, query.limit), (20, 1000));
        assert_eq!(
            query.filter,
            Some(Filter::Or(vec![Filter::Condition(Condition {
                column: "type".into(),
                op: Operator::Eq,
                value: Some(json!("track")),
            })]))
        );
        assert_eq!(
            parse("ascending=false").unwrap().order,
            Some(("timestamp".into(), Direction::Descending))
        );
    }

    #[test]
    fn bad_parameters_are_named() {
        let cases = [
            (
                "colour=red",
                "unknown query parameter \"colour\"; the known parameters are properties, filter, order, ascending, first, limit",
            ),
            ("limit=1&limit=2", "query parameter \"limit\" is repeated"),
            (
                "properties=type,nope",
                "invalid properties: property \"nope\" does not exist",
            ),
            (
                "properties=",
                "invalid properties: a property name is empty",
            ),
            (
                "properties=type,,event",
                "invalid properties: a property name is empty",
            ),
            (
                "properties=originalTimestamp",
                "invalid properties: property \"originalTimestamp\" is not stored in the warehouse",
            ),
            ("filter=null", "filter cannot be null"),
            (
                "filter=%7B",
                "invalid filter: it is not valid JSON (EOF while parsing an object at line 1 column 1)",
            ),
            (
                "filter=%7B%7D",
                "invalid filter: logical operator is missing",
            ),
            (
                "filter=%7B%22logical%22%3A%22xor%22%7D",
                "invalid filter: invalid logical operator \"xor\"",
            ),
            (
                "order=nope",
                "invalid order: property \"nope\" does not exist",
            ),
            (
                "order=traits",
                "invalid order: cannot order by the JSON property \"traits\"",
            ),
            (
                "order=context.os",
                "invalid order: cannot order by \"context.os\", which is an object",
            ),
            ("ascending=yes", "invalid ascending"),
            ("ascending=", "invalid ascending"),
            ("ascending=TRUE", "invalid ascending"),
            ("first=-1", "invalid first"),
            ("first=", "invalid first"),
            ("first=1.5", "invalid first"),
            ("first=%2B1", "invalid first"),
            ("first=9223372036854775808", "invalid first"),
            ("limit=0", "invalid limit"),
            ("limit=1001", "invalid limit"),
            ("limit=ten", "invalid limit"),
            ("limit=99999999999999999999999", "invalid limit"),
        ];
        for (query, expected) in cases {
            assert_eq!(message(query), expected, "{query}");
        }
        assert_eq!(
            parse("first=9223372036854775807").unwrap().first,
            9_223_372_036_854_775_807
        );
    }

    #[test]
    fn warehouse_errors() {
        let unavailable = warehouse_error(WarehouseError::Unavailable {
            message: "cannot connect to PostgreSQL at db:5432: Connection refused".into(),
        });
        assert_eq!(unavailable.status(), 503);
        assert_eq!(
            unavailable.client_message(),
            "the warehouse cannot be reached: cannot connect to PostgreSQL at db:5432: Connection refused"
        );
        let rejected = warehouse_error(WarehouseError::Rejected {
            message: "permission denied to query events on PostgreSQL at db:5432: no".into(),
        });
        assert_eq!(rejected.status(), 502);
        let invalid = warehouse_error(WarehouseError::InvalidQuery {
            field: "filter",
            message: "has more than 1000 conditions".into(),
        });
        assert_eq!(
            (invalid.status().as_u16(), invalid.client_message()),
            (
                400,
                "invalid filter: has more than 1000 conditions".to_owned()
            )
        );
    }
}
