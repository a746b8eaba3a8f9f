//! Queries of stored events (`GET /v1/events`, storage spec §12): the public query types,
//! their validation, and the JSON shape of returned rows.
//!
//! Row shape, identical on both backends: one JSON object per row keyed by column name;
//! NULL → `null`; text, enum, uuid and inet columns → strings; times → strings
//! `YYYY-MM-DDTHH:MM:SS.sssZ`; booleans → `true`/`false`; integers and floats → numbers
//! (`context_screen_density` as a number such as `1.36`); `properties`, `traits` and
//! `context_consents` → the stored JSON value.

use serde_json::{Map, Value};

use crate::columns::{Column, Kind};

/// The most rows one query returns.
pub const MAX_LIMIT: usize = 1000;

/// A page of stored events.
#[derive(Debug, Clone, PartialEq)]
pub struct EventQuery {
    /// Columns to return, by name; empty means every column in table order. Duplicates are
    /// returned once.
    pub columns: Vec<String>,
    /// Sort column and direction; `None` means `timestamp` descending (the route's default).
    /// Rows with equal sort values are ordered by `(connection_id, message_id)` so pages are
    /// stable; NULLs sort last in both directions; text sorts by byte value.
    pub order: Option<(String, Direction)>,
    /// Rows to skip.
    pub first: usize,
    /// Rows to return, `1..=MAX_LIMIT`.
    pub limit: usize,
    pub filter: Option<Filter>,
}

impl Default for EventQuery {
    /// Every column, newest first, the first 100 rows, no filter.
    fn default() -> Self {
        EventQuery {
            columns: Vec::new(),
            order: None,
            first: 0,
            limit: 100,
            filter: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Ascending,
    Descending,
}

/// A condition tree over columns, the form the pipeline filter language is lowered to.
/// An empty `And` is true, an empty `Or` is false. At most 32 levels deep and 1000
/// conditions.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Condition(Condition),
}

/// `column op value` with SQL semantics: a comparison with a NULL column is false (so `Ne`
/// does not match NULL; combine with `IsNull` in an `Or` for "is not or missing").
///
/// Values by column kind: text, enum and uuid columns take a JSON string (uuid compared in
/// lowercase); `context_ip` a string holding an IP address; times a string in the event
/// model's timestamp syntax (compared by instant); booleans `true`/`false`; integer columns a
/// JSON integer; float columns and `context_screen_density` a JSON number. JSON columns accept
/// only `IsNull`/`IsNotNull`; boolean, uuid and inet columns only `Eq`/`Ne` besides those.
/// Text compares by byte value. U+0000 is removed from string values, as it is from stored
/// strings.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub column: String,
    pub op: Operator,
    /// Required by the comparison operators, absent for `IsNull`/`IsNotNull`.
    pub value: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    IsNull,
    IsNotNull,
}

impl Operator {
    pub(crate) fn sql(self) -> &'static str {
        match self {
            Operator::Eq => "=",
            Operator::Ne => "<>",
            Operator::Lt => "<",
            Operator::Le => "<=",
            Operator::Gt => ">",
            Operator::Ge => ">=",
            Operator::IsNull => "IS NULL",
            Operator::IsNotNull => "IS NOT NULL",
        }
    }

    pub(crate) fn takes_value(self) -> bool {
        !matches!(self, Operator::IsNull | Operator::IsNotNull)
    }
}

/// The rows of a query, in order, and the columns each row has (in table or requested order).
///
/// Each row is a JSON object keyed by column name, identical on both backends: NULL → `null`;
/// text, enum, uuid and inet columns → strings; times → `"YYYY-MM-DDTHH:MM:SS.sssZ"`;
/// booleans → `true`/`false`; integers and floats → numbers (`context_screen_density` e.g.
/// `1.36`); `properties`, `traits` and `context_consents` → the stored JSON value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventRows {
    pub columns: Vec<String>,
    pub rows: Vec<Map<String, Value>>,
}

/// A value read from a backend, before it takes its JSON shape.
#[derive(Debug)]
pub(crate) enum Cell {
    Null,
    Text(String),
    Int(i64),
    Float(f64),
}

impl Cell {
    /// The JSON value of this cell in a column of `kind`.
    pub(crate) fn into_json(self, kind: Kind) -> Value {
        match (self, kind) {
            (Cell::Null, _) => Value::Null,
            (Cell::Int(value), Kind::Bool) => Value::Bool(value != 0),
            (Cell::Int(value), _) => Value::from(value),
            (Cell::Float(value), _) => {
                serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
            }
            (Cell::Text(text), Kind::Json) => {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            }
            (Cell::Text(text), _) => Value::String(text),
        }
    }
}

/// Builds the result from decoded rows of cells.
pub(crate) fn rows_from_cells(columns: &[&'static Column], rows: Vec<Vec<Cell>>) -> EventRows {
    let rows = rows
        .into_iter()
        .map(|cells| {
            columns
                .iter()
                .zip(cells)
                .map(|(column, cell)| (column.name.to_string(), cell.into_json(column.kind)))
                .collect()
        })
        .collect();
    EventRows {
        columns: columns
            .iter()
            .map(|column| column.name.to_string())
            .collect(),
        rows,
    }
}
