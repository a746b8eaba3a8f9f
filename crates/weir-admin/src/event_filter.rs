//! Lowering a filter of the pipeline filter language (storage-and-pipelines.md §6) to a
//! [`weir_warehouse::Filter`] over the `events` columns, for `GET /v1/events`.
//!
//! The filter is first checked by [`weir_pipeline::validate_filter`], so its messages are the
//! spec's; lowering then reads the checked JSON. What maps onto columns with the same meaning
//! as in a pipeline (the "Missing" column of §6 included: `is not` also matches an event that
//! lacks the property) is lowered:
//!
//! * `is`, `is not`, `is one of`, `is not one of`, `is between`, `is not between`, the four
//!   comparisons and `is before` / `is on or before` / `is after` / `is on or after` on
//!   properties stored in their own column (text, numbers, times; only `is` / `is not` on the
//!   uuid `kpid` and `context.ip`);
//! * `is true` / `is false` on boolean properties;
//! * `is empty` / `is not empty` on string properties;
//! * `exists` / `does not exist` on any stored property that may be missing (IS NOT NULL /
//!   IS NULL), `properties` and `context.consents` included.
//!
//! Everything else is refused with a reason, never dropped: paths inside the JSON properties
//! (`properties.plan`, `traits.email`, `context.consents.<purpose>`), objects (`context.os`),
//! `originalTimestamp` (not stored), `contains` / `does not contain` / `starts with` /
//! `ends with` (the warehouse query has no such operator), and value operators on the JSON
//! properties themselves.

use serde_json::{Number, Value};
use weir_warehouse::{Condition, Filter, Operator};

use crate::event_columns::{self, Column, Kind, Resolved};

/// Lowers a filter that [`weir_pipeline::validate_filter`] accepted; the error is the reason
/// it cannot be used in an events query.
pub(crate) fn lower(filter: &Value) -> Result<Filter, String> {
    let conditions = filter
        .get("conditions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(condition)
        .collect::<Result<Vec<_>, _>>()?;
    match filter.get("logical").and_then(Value::as_str) {
        Some("or") => Ok(Filter::Or(conditions)),
        _ => Ok(Filter::And(conditions)),
    }
}

fn condition(condition: &Value) -> Result<Filter, String> {
    let path = condition
        .get("property")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let operator = condition
        .get("operator")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let values: Vec<&str> = condition
        .get("values")
        .and_then(Value::as_array)
        .map(|values| values.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let column = column(path)?;
    Lowering {
        column,
        operator,
        values: &values,
    }
    .lower()
}

/// The column a condition's property is stored in.
fn column(path: &str) -> Result<&'static Column, String> {
    if let Some(column) = event_columns::by_path(path) {
        return Ok(column);
    }
    for root in ["properties", "traits", "context.consents"] {
        if path
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('.'))
        {
            return Err(format!(
                "property \"{path}\" is inside the JSON property \"{root}\"; events queries \
                 can only filter on properties stored in their own column"
            ));
        }
    }
    Err(match event_columns::resolve(path) {
        Resolved::NotStored => format!("property \"{path}\" is not stored in the warehouse"),
        Resolved::Object(_) => format!(
            "property \"{path}\" is an object; events queries can only filter on properties \
             stored in their own column"
        ),
        Resolved::Column(_) | Resolved::Unknown => {
            format!("property \"{path}\" cannot be used in events queries")
        }
    })
}

/// One condition on one column.
struct Lowering<'a> {
    column: &'static Column,
    operator: &'a str,
    values: &'a [&'a str],
}

impl Lowering<'_> {
    fn lower(&self) -> Result<Filter, String> {
        let column = self.column;
        if matches!(self.operator, "exists" | "does not exist") {
            let op = if self.operator == "exists" {
                Operator::IsNotNull
            } else {
                Operator::IsNull
            };
            return Ok(self.test(op, None));
        }
        match (self.operator, column.kind) {
            ("contains" | "does not contain" | "starts with" | "ends with", _) => {
                return Err(format!(
                    "operator \"{}\" is not supported in events queries",
                    self.operator
                ));
            }
            (_, Kind::Json | Kind::Map) => {
                return Err(format!(
                    "operator \"{}\" cannot be used on the JSON property \"{}\" in events \
                     queries",
                    self.operator, column.path
                ));
            }
            _ => {}
        }
        let first = || self.compare(Operator::Eq, 0);
        Ok(match self.operator {
            "is" => first()?,
            "is not" => self.or_missing(self.compare(Operator::Ne, 0)?),
            "is less than" | "is before" => self.compare(Operator::Lt, 0)?,
            "is less than or equal to" | "is on or before" => self.compare(Operator::Le, 0)?,
            "is greater than" | "is after" => self.compare(Operator::Gt, 0)?,
            "is greater than or equal to" | "is on or after" => self.compare(Operator::Ge, 0)?,
            "is between" => Filter::And(vec![
                self.compare(Operator::Ge, 0)?,
                self.compare(Operator::Le, 1)?,
            ]),
            "is not between" => self.or_missing(Filter::Or(vec![
                self.compare(Operator::Lt, 0)?,
                self.compare(Operator::Gt, 1)?,
            ])),
            "is one of" => Filter::Or(self.each(Operator::Eq)?),
            "is not one of" => self.or_missing(Filter::And(self.each(Operator::Ne)?)),
            "is true" | "is false" if column.kind == Kind::Bool => {
                let value = Value::Bool(self.operator == "is true");
                self.test(Operator::Eq, Some(value))
            }
            "is empty" if column.kind == Kind::Text => {
                self.or_missing(self.test(Operator::Eq, Some(Value::String(String::new()))))
            }
            "is not empty" if column.kind == Kind::Text => {
                self.test(Operator::Ne, Some(Value::String(String::new())))
            }
            other => {
                return Err(format!(
                    "operator \"{other}\" cannot be used on the property \"{}\" in events \
                     queries",
                    column.path
                ));
            }
        })
    }

    fn test(&self, op: Operator, value: Option<Value>) -> Filter {
        Filter::Condition(Condition {
            column: self.column.name.to_owned(),
            op,
            value,
        })
    }

    /// `column op values[index]`.
    fn compare(&self, op: Operator, index: usize) -> Result<Filter, String> {
        let text = self.values.get(index).copied().unwrap_or_default();
        Ok(self.test(op, Some(self.value(text)?)))
    }

    /// `column op value` for every value.
    fn each(&self, op: Operator) -> Result<Vec<Filter>, String> {
        (0..self.values.len())
            .map(|index| self.compare(op, index))
            .collect()
    }

    /// `filter`, or true when the event lacks the property (a NULL column), for the negated
    /// operators whose "Missing" result is true.
    fn or_missing(&self, filter: Filter) -> Filter {
        if self.column.optional {
            Filter::Or(vec![filter, self.test(Operator::IsNull, None)])
        } else {
            filter
        }
    }

    /// A condition value (already checked against the property's type) as the warehouse takes
    /// it for this column.
    fn value(&self, text: &str) -> Result<Value, String> {
        let invalid = || {
            format!(
                "value of the \"{}\" property is not a valid {}",
                self.column.path,
                match self.column.kind {
                    Kind::Int => "int",
                    _ => "float",
                }
            )
        };
        match self.column.kind {
            Kind::Int => text.parse::<i64>().map(Value::from).map_err(|_| invalid()),
            Kind::Float => text
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
                .ok_or_else(invalid),
            _ => Ok(Value::String(text.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn filter(logical: &str, conditions: Value) -> Value {
        json!({"logical": logical, "conditions": conditions})
    }

    fn one(property: &str, operator: &str, values: &[&str]) -> Value {
        let mut condition = json!({"property": property, "operator": operator});
        if !values.is_empty() {
            condition["values"] = json!(values);
        }
        filter("and", json!([condition]))
    }

    fn lowered(value: &Value) -> Result<Filter, String> {
        weir_pipeline::validate_filter(value).map_err(|error| error.to_string())?;
        lower(value)
    }

    fn condition(column: &str, op: Operator, value: Option<Value>) -> Filter {
        Filter::Condition(Condition {
            column: column.to_owned(),
            op,
            value,
        })
    }

    #[test]
    fn conditions_become_column_conditions() {
        assert_eq!(
            lowered(&one("type", "is", &["track"])),
            Ok(Filter::And(vec![condition(
                "type",
                Operator::Eq,
                Some(json!("track"))
            )]))
        );
        assert_eq!(
            lowered(&one("context.screen.width", "is greater than", &["300"])),
            Ok(Filter::And(vec![condition(
                "context_screen_width",
                Operator::Gt,
                Some(json!(300))
            )]))
        );
        assert_eq!(
            lowered(&one("context.screen.density", "is", &["1.5"])),
            Ok(Filter::And(vec![condition(
                "context_screen_density",
                Operator::Eq,
                Some(json!(1.5))
            )]))
        );
        assert_eq!(
            lowered(&one("context.os.name", "is not", &["iOS"])),
            Ok(Filter::And(vec![Filter::Or(vec![
                condition("context_os_name", Operator::Ne, Some(json!("iOS"))),
                condition("context_os_name", Operator::IsNull, None),
            ])]))
        );
        // A property every event has needs no "or missing".
        assert_eq!(
            lowered(&one("type", "is not one of", &["track", "page"])),
            Ok(Filter::And(vec![Filter::And(vec![
                condition("type", Operator::Ne, Some(json!("track"))),
                condition("type", Operator::Ne, Some(json!("page"))),
            ])]))
        );
        assert_eq!(
            lowered(&one("properties", "exists", &[])),
            Ok(Filter::And(vec![condition(
                "properties",
                Operator::IsNotNull,
                None
            )]))
        );
        assert_eq!(
            lowered(&one("context.session.start", "is false", &[])),
            Ok(Filter::And(vec![condition(
                "context_session_start",
                Operator::Eq,
                Some(json!(false))
            )]))
        );
    }

    #[test]
    fn what_cannot_be_lowered_says_why() {
        let cases = [
            (
                one("properties.plan", "is", &["pro"]),
                "property \"properties.plan\" is inside the JSON property \"properties\"; events queries can only filter on properties stored in their own column",
            ),
            (
                one("traits.email", "exists", &[]),
                "property \"traits.email\" is inside the JSON property \"traits\"; events queries can only filter on properties stored in their own column",
            ),
            (
                one("context.consents.ads", "is true", &[]),
                "property \"context.consents.ads\" is inside the JSON property \"context.consents\"; events queries can only filter on properties stored in their own column",
            ),
            (
                one("originalTimestamp", "is after", &["2024-01-01T00:00:00Z"]),
                "property \"originalTimestamp\" is not stored in the warehouse",
            ),
            (
                one("context.os", "exists", &[]),
                "property \"context.os\" is an object; events queries can only filter on properties stored in their own column",
            ),
            (
                one("event", "contains", &["Sign"]),
                "operator \"contains\" is not supported in events queries",
            ),
            (
                one("event", "starts with", &["Sign"]),
                "operator \"starts with\" is not supported in events queries",
            ),
            (
                one("properties", "is null", &[]),
                "operator \"is null\" cannot be used on the JSON property \"properties\" in events queries",
            ),
            (
                one("traits", "is empty", &[]),
                "operator \"is empty\" cannot be used on the JSON property \"traits\" in events queries",
            ),
            (
                one("context.consents", "is empty", &[]),
                "operator \"is empty\" cannot be used on the JSON property \"context.consents\" in events queries",
            ),
        ];
        for (filter, reason) in cases {
            assert_eq!(lowered(&filter), Err(reason.to_owned()), "{filter}");
        }
    }
}
