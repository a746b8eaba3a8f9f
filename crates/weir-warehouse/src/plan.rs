//! Validates an [`EventQuery`] and lowers it to one `SELECT` for either backend. Filter
//! values are always bound as parameters; only column names (checked against the column
//! table) and operators appear in the SQL text.

use std::net::IpAddr;

use serde_json::Value;
use weir_spec::Timestamp;

use crate::WarehouseError;
use crate::columns::{COLUMNS, Column, Kind, column};
use crate::query::{Condition, Direction, EventQuery, Filter, MAX_LIMIT, Operator};
use crate::sanitize::{TimeText, clean_text};
use crate::schema::Dialect;

const MAX_DEPTH: usize = 32;
const MAX_CONDITIONS: usize = 1000;

/// A bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// A validated query: the SQL, its parameters, and the selected columns in order.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) sql: String,
    pub(crate) params: Vec<Param>,
    pub(crate) columns: Vec<&'static Column>,
}

pub(crate) fn plan(query: &EventQuery, dialect: Dialect) -> Result<Plan, WarehouseError> {
    if !(1..=MAX_LIMIT).contains(&query.limit) {
        return Err(WarehouseError::invalid(
            "limit",
            format!("must be in 1..={MAX_LIMIT}"),
        ));
    }
    let first =
        i64::try_from(query.first).map_err(|_| WarehouseError::invalid("first", "is too large"))?;
    let columns = selected_columns(&query.columns)?;
    let mut builder = Builder {
        dialect,
        params: Vec::new(),
        conditions: 0,
    };
    let select: Vec<String> = columns.iter().map(|c| builder.select_expr(c)).collect();
    let mut sql = format!("SELECT {} FROM events", select.join(", "));
    if let Some(filter) = &query.filter {
        let condition = builder.filter(filter, 0)?;
        sql.push_str(" WHERE ");
        sql.push_str(&condition);
    }
    let (order_name, direction) = match &query.order {
        Some((name, direction)) => (name.as_str(), *direction),
        None => ("timestamp", Direction::Descending),
    };
    let order_column = column(order_name).ok_or_else(|| {
        WarehouseError::invalid("order", format!("unknown column \"{order_name}\""))
    })?;
    if matches!(order_column.kind, Kind::Json) {
        return Err(WarehouseError::invalid(
            "order",
            format!("cannot order by the JSON column \"{order_name}\""),
        ));
    }
    let direction = match direction {
        Direction::Ascending => "ASC",
        Direction::Descending => "DESC",
    };
    let keys: Vec<String> = [order_name, "connection_id", "message_id"]
        .into_iter()
        .filter_map(column)
        .map(|c| format!("{} {direction} NULLS LAST", builder.order_expr(c)))
        .collect();
    sql.push_str(" ORDER BY ");
    sql.push_str(&keys.join(", "));
    let limit = builder.placeholder(Param::Int(query.limit as i64));
    let offset = builder.placeholder(Param::Int(first));
    sql.push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
    Ok(Plan {
        sql,
        params: builder.params,
        columns,
    })
}

fn selected_columns(names: &[String]) -> Result<Vec<&'static Column>, WarehouseError> {
    if names.is_empty() {
        return Ok(COLUMNS.iter().collect());
    }
    let mut selected: Vec<&'static Column> = Vec::with_capacity(names.len());
    for name in names {
        let found = column(name).ok_or_else(|| {
            WarehouseError::invalid("columns", format!("unknown column \"{name}\""))
        })?;
        if !selected.iter().any(|c| c.name == found.name) {
            selected.push(found);
        }
    }
    Ok(selected)
}

struct Builder {
    dialect: Dialect,
    params: Vec<Param>,
    conditions: usize,
}

impl Builder {
    fn placeholder(&mut self, param: Param) -> String {
        let cast = match param {
            Param::Text(_) => "text",
            Param::Int(_) => "int8",
            Param::Float(_) => "float8",
            Param::Bool(_) => "bool",
        };
        self.params.push(param);
        let number = self.params.len();
        match self.dialect {
            Dialect::Sqlite => format!("?{number}"),
            Dialect::Postgres => format!("${number}::{cast}"),
        }
    }

    fn select_expr(&self, column: &Column) -> String {
        let name = column.name;
        match (self.dialect, column.kind) {
            (Dialect::Sqlite, _) => format!("\"{name}\""),
            (Dialect::Postgres, Kind::Time) => {
                format!("to_char(\"{name}\", 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
            }
            (Dialect::Postgres, Kind::Inet) => format!("host(\"{name}\")"),
            (Dialect::Postgres, Kind::Enum(_) | Kind::Uuid | Kind::Json) => {
                format!("\"{name}\"::text")
            }
            (Dialect::Postgres, Kind::Density) => format!("\"{name}\"::float8"),
            (Dialect::Postgres, Kind::SmallInt) => format!("\"{name}\"::int8"),
            (Dialect::Postgres, _) => format!("\"{name}\""),
        }
    }

    /// The column as compared and sorted: text by byte value on both backends.
    fn order_expr(&self, column: &Column) -> String {
        let name = column.name;
        match (self.dialect, column.kind) {
            (Dialect::Sqlite, _) => format!("\"{name}\""),
            (Dialect::Postgres, Kind::Text | Kind::Locale) => format!("\"{name}\" COLLATE \"C\""),
            (Dialect::Postgres, Kind::Enum(_) | Kind::Uuid) => {
                format!("\"{name}\"::text COLLATE \"C\"")
            }
            (Dialect::Postgres, Kind::Inet) => format!("host(\"{name}\") COLLATE \"C\""),
            (Dialect::Postgres, _) => format!("\"{name}\""),
        }
    }

    fn filter(&mut self, filter: &Filter, depth: usize) -> Result<String, WarehouseError> {
        if depth >= MAX_DEPTH {
            return Err(WarehouseError::invalid(
                "filter",
                format!("is nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let (parts, joiner, empty) = match filter {
            Filter::Condition(condition) => return self.condition(condition),
            Filter::And(parts) => (parts, " AND ", "(1 = 1)"),
            Filter::Or(parts) => (parts, " OR ", "(1 = 0)"),
        };
        if parts.is_empty() {
            return Ok(empty.to_string());
        }
        let parts = parts
            .iter()
            .map(|part| self.filter(part, depth + 1))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(format!("({})", parts.join(joiner)))
    }

    fn condition(&mut self, condition: &Condition) -> Result<String, WarehouseError> {
        self.conditions += 1;
        if self.conditions > MAX_CONDITIONS {
            return Err(WarehouseError::invalid(
                "filter",
                format!("has more than {MAX_CONDITIONS} conditions"),
            ));
        }
        let Condition {
            column: name,
            op,
            value,
        } = condition;
        let column = column(name).ok_or_else(|| {
            WarehouseError::invalid("filter", format!("unknown column \"{name}\""))
        })?;
        let lhs = match column.kind {
            Kind::Time | Kind::Inet | Kind::Density => format!("\"{name}\""),
            _ => self.order_expr(column),
        };
        let value = match (op.takes_value(), value) {
            (false, None) => return Ok(format!("{lhs} {}", op.sql())),
            (true, Some(value)) => value,
            (false, Some(_)) => {
                return Err(invalid_value(
                    name,
                    format!("operator {op:?} takes no value"),
                ));
            }
            (true, None) => {
                return Err(invalid_value(
                    name,
                    format!("operator {op:?} needs a value"),
                ));
            }
        };
        let allowed = match column.kind {
            Kind::Json => false,
            Kind::Bool | Kind::Uuid | Kind::Inet => matches!(op, Operator::Eq | Operator::Ne),
            _ => true,
        };
        if !allowed {
            return Err(invalid_value(
                name,
                format!("operator {op:?} cannot be used with this column"),
            ));
        }
        if matches!(column.kind, Kind::Time) {
            return self.time_condition(&lhs, *op, name, value);
        }
        let param = param_for(column, value)?;
        let mut rhs = self.placeholder(param);
        if self.dialect == Dialect::Postgres && matches!(column.kind, Kind::Inet) {
            rhs.push_str("::inet");
        }
        Ok(format!("{lhs} {} {rhs}", op.sql()))
    }

    /// Stored times are whole milliseconds, so a value with a finer part is compared as the
    /// millisecond grid allows.
    fn time_condition(
        &mut self,
        lhs: &str,
        op: Operator,
        name: &str,
        value: &Value,
    ) -> Result<String, WarehouseError> {
        let time = value
            .as_str()
            .and_then(|text| Timestamp::parse(text).ok())
            .ok_or_else(|| invalid_value(name, "expected a timestamp string"))?;
        let truncated = time.truncate_to_millis();
        let exact = truncated == time;
        let op = match op {
            _ if exact => op,
            Operator::Eq => return Ok("(1 = 0)".to_string()),
            Operator::Ne => return Ok(format!("{lhs} IS NOT NULL")),
            Operator::Lt | Operator::Le => Operator::Le,
            _ => Operator::Gt,
        };
        let mut rhs = self.placeholder(Param::Text(TimeText::new(truncated).as_str().to_string()));
        if self.dialect == Dialect::Postgres {
            rhs.push_str("::timestamp");
        }
        Ok(format!("{lhs} {} {rhs}", op.sql()))
    }
}

fn invalid_value(column: &str, message: impl std::fmt::Display) -> WarehouseError {
    WarehouseError::invalid("filter", format!("column \"{column}\": {message}"))
}

/// The parameter for `value` compared with `column` (not a time column).
fn param_for(column: &Column, value: &Value) -> Result<Param, WarehouseError> {
    let name = column.name;
    match column.kind {
        Kind::Text | Kind::Locale | Kind::Enum(_) => value
            .as_str()
            .map(|text| Param::Text(clean_text(text).into_owned()))
            .ok_or_else(|| invalid_value(name, "expected a string")),
        Kind::Uuid => value
            .as_str()
            .map(|text| Param::Text(clean_text(text).to_ascii_lowercase()))
            .ok_or_else(|| invalid_value(name, "expected a string")),
        Kind::Inet => value
            .as_str()
            .and_then(|text| text.parse::<IpAddr>().ok())
            .map(|ip| Param::Text(ip.to_string()))
            .ok_or_else(|| invalid_value(name, "expected an IP address string")),
        Kind::Bool => value
            .as_bool()
            .map(Param::Bool)
            .ok_or_else(|| invalid_value(name, "expected true or false")),
        Kind::SmallInt | Kind::BigInt => value
            .as_i64()
            .map(Param::Int)
            .ok_or_else(|| invalid_value(name, "expected an integer")),
        Kind::Float | Kind::Density => value
            .as_f64()
            .filter(|_| value.is_number())
            .map(Param::Float)
            .ok_or_else(|| invalid_value(name, "expected a number")),
        Kind::Json | Kind::Time => Err(invalid_value(name, "cannot be compared")),
    }
}
