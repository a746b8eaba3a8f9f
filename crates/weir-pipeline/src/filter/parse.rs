//! Reading a filter's JSON and validating it (`storage-and-pipelines.md` §6): structure, property
//! paths against the event schema, each operator against the property's type, the number of
//! values, and every value parsed by that type. Messages are the spec's, in the order Krenalis
//! checks them (path, operator, value count, allowed values, value text, value type).

use std::net::IpAddr;

use serde_json::{Map, Value};
use weir_spec::Timestamp;

use super::number::Decimal;
use super::schema::{self, Kind};
use super::{Condition, Filter, FilterError, Logical, MAX_CONDITIONS, Operand, Operator, Subject};

/// The longest condition value, in Unicode characters.
const MAX_VALUE_CHARS: usize = 60;

/// The JSON properties below which any further path is allowed.
const JSON_ROOTS: &[&str] = &["properties", "traits"];

/// Checks a filter's JSON and returns it ready to evaluate, or the reason it is not valid.
pub fn validate_filter(value: &Value) -> Result<Filter, FilterError> {
    let object = value
        .as_object()
        .ok_or_else(|| FilterError::new("filter must be a JSON object"))?;
    reject_unknown_members(object, &["logical", "conditions"])?;
    let logical = match object.get("logical") {
        None | Some(Value::Null) => return Err(FilterError::new("logical operator is missing")),
        Some(Value::String(text)) => match text.as_str() {
            "and" => Logical::And,
            "or" => Logical::Or,
            other => {
                return Err(FilterError::new(format!(
                    "invalid logical operator {}",
                    quote(other)
                )));
            }
        },
        Some(_) => return Err(FilterError::new("logical operator must be a string")),
    };
    let conditions = match object.get("conditions") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(conditions)) => conditions.as_slice(),
        Some(_) => return Err(FilterError::new("conditions must be an array")),
    };
    if conditions.is_empty() {
        return Err(FilterError::new("conditions are missing"));
    }
    if conditions.len() > MAX_CONDITIONS {
        return Err(FilterError::new(format!(
            "conditions cannot be more than {MAX_CONDITIONS}"
        )));
    }
    let conditions = conditions
        .iter()
        .map(condition)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Filter {
        logical,
        conditions,
    })
}

fn condition(value: &Value) -> Result<Condition, FilterError> {
    let object = value
        .as_object()
        .ok_or_else(|| FilterError::new("condition must be a JSON object"))?;
    reject_unknown_members(object, &["property", "operator", "values"])?;
    let path = match object.get("property") {
        None | Some(Value::Null) => "",
        Some(Value::String(path)) => path.as_str(),
        Some(_) => return Err(FilterError::new("property must be a string")),
    };
    if !schema::is_valid_path(path) {
        return Err(FilterError::new("property path is not valid"));
    }
    let subject = resolve(path)?;
    let operator = match object.get("operator") {
        None | Some(Value::Null) => return Err(FilterError::new("operator is missing")),
        Some(Value::String(name)) => Operator::from_name(name)
            .ok_or_else(|| FilterError::new(format!("operator {} is not valid", quote(name))))?,
        Some(_) => return Err(FilterError::new("operator must be a string")),
    };
    let texts = match object.get("values") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(values)) => values
            .iter()
            .map(|value| value.as_str())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| FilterError::new("values must be an array of strings"))?,
        Some(_) => return Err(FilterError::new("values must be an array of strings")),
    };
    let (kind, read_optional, allowed) = describe(&subject);
    check_operator(operator, kind, read_optional)?;
    check_value_count(operator, texts.len())?;
    let values = texts
        .iter()
        .map(|text| operand(path, kind, allowed, text))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Condition {
        subject,
        operator,
        values,
    })
}

fn reject_unknown_members(object: &Map<String, Value>, known: &[&str]) -> Result<(), FilterError> {
    match object.keys().find(|key| !known.contains(&key.as_str())) {
        Some(key) => Err(FilterError::new(format!(
            "unknown member {} in filter",
            quote(key)
        ))),
        None => Ok(()),
    }
}

/// What a valid path reads: a schema property, a path below a JSON property, or a consent.
fn resolve(path: &str) -> Result<Subject, FilterError> {
    if let Some(property) = schema::lookup(path) {
        return Ok(Subject::Property(property));
    }
    for root in JSON_ROOTS {
        if let Some(rest) = path.strip_prefix(root).and_then(|r| r.strip_prefix('.'))
            && let Some(property) = schema::lookup(root)
        {
            return Ok(Subject::JsonPath {
                root: property,
                path: rest.split('.').map(str::to_owned).collect(),
            });
        }
    }
    if let Some(purpose) = path.strip_prefix("context.consents.")
        && !purpose.contains('.')
    {
        return Ok(Subject::Consent(purpose.to_owned()));
    }
    Err(FilterError::new(format!(
        "property path {} does not exist",
        quote(path)
    )))
}

/// A subject's type, whether it may be absent, and its fixed value set.
fn describe(subject: &Subject) -> (Kind, bool, Option<&'static [&'static str]>) {
    match subject {
        Subject::Property(property) => (property.kind, property.read_optional, property.allowed),
        Subject::JsonPath { .. } => (Kind::Json, true, None),
        Subject::Consent(_) => (Kind::Boolean, true, None),
    }
}

/// Which property types each operator applies to (the "Applies to" column of §6).
fn check_operator(operator: Operator, kind: Kind, read_optional: bool) -> Result<(), FilterError> {
    use Kind::*;
    use Operator::*;
    let applies = match operator {
        Is | IsNot => matches!(
            kind,
            String | Int | Float | Decimal | DateTime | Uuid | Ip | Json
        ),
        IsLessThan | IsLessThanOrEqualTo | IsGreaterThan | IsGreaterThanOrEqualTo => {
            matches!(kind, String | Int | Float | Decimal | Json)
        }
        IsBetween | IsNotBetween | IsOneOf | IsNotOneOf => {
            matches!(kind, String | Int | Float | Decimal | DateTime | Json)
        }
        Contains | DoesNotContain | StartsWith | EndsWith => matches!(kind, String | Json),
        IsBefore | IsOnOrBefore | IsAfter | IsOnOrAfter => matches!(kind, DateTime | Json),
        IsTrue | IsFalse => matches!(kind, Boolean | Json),
        IsEmpty | IsNotEmpty => matches!(kind, String | Json | Map),
        IsNull | IsNotNull => kind == Json,
        Exists | DoesNotExist => {
            if !read_optional {
                return Err(FilterError::new(format!(
                    "operator \"{operator}\" can only be used with read-optional properties or \
                     with json properties that include a JSON path"
                )));
            }
            true
        }
    };
    if applies {
        Ok(())
    } else {
        Err(FilterError::new(format!(
            "operator \"{operator}\" cannot be used with {} properties",
            kind.name()
        )))
    }
}

fn check_value_count(operator: Operator, count: usize) -> Result<(), FilterError> {
    use Operator::*;
    let message = match operator {
        IsTrue | IsFalse | IsEmpty | IsNotEmpty | IsNull | IsNotNull | Exists | DoesNotExist => {
            (count != 0).then_some("values cannot be used with the operator")
        }
        IsBetween | IsNotBetween => {
            (count != 2).then_some("two values must be used with the operator")
        }
        IsOneOf | IsNotOneOf => {
            (count == 0).then_some("at least one value must be used with the operator")
        }
        _ => (count != 1).then_some("only one value can be used with the operator"),
    };
    match message {
        Some(message) => Err(FilterError::new(format!("{message} \"{operator}\""))),
        None => Ok(()),
    }
}

/// Parses one value for a property of `kind` (named `path` in messages).
fn operand(
    path: &str,
    kind: Kind,
    allowed: Option<&'static [&'static str]>,
    text: &str,
) -> Result<Operand, FilterError> {
    if let Some(allowed) = allowed {
        return if allowed.contains(&text) {
            Ok(Operand::Text(text.to_owned()))
        } else {
            Err(FilterError::new(format!(
                "value of the {} property is not among the allowed values",
                quote(path)
            )))
        };
    }
    if text.chars().count() > MAX_VALUE_CHARS {
        return Err(FilterError::new(format!(
            "condition value is longer than {MAX_VALUE_CHARS} characters"
        )));
    }
    if text.contains('\0') {
        return Err(FilterError::new("condition value contains the NUL byte"));
    }
    let parsed = match kind {
        Kind::String => Some(Operand::Text(text.to_owned())),
        Kind::Int => text.parse::<i64>().ok().map(Operand::Int),
        Kind::Float => Decimal::parse(text, true)
            .and_then(|_| text.parse::<f64>().ok())
            .filter(|value| value.is_finite())
            .map(Operand::Float),
        Kind::Decimal => Decimal::parse(text, false).map(Operand::Decimal),
        Kind::DateTime => Timestamp::parse(text).ok().map(Operand::Time),
        Kind::Uuid => parse_uuid(text).map(Operand::Uuid),
        Kind::Ip => text.parse::<IpAddr>().ok().map(Operand::Ip),
        Kind::Json => Some(Operand::Json {
            text: text.to_owned(),
            number: Decimal::parse(text, false),
            time: Timestamp::parse(text).ok(),
        }),
        // No operator that takes values applies to these kinds.
        Kind::Boolean | Kind::Object | Kind::Map => None,
    };
    parsed.ok_or_else(|| {
        FilterError::new(format!(
            "value of the {} property is not a valid {}",
            quote(path),
            kind.name()
        ))
    })
}

/// A UUID in its hyphenated form (`8-4-4-4-12` hex digits, either case) as a number.
pub(super) fn parse_uuid(text: &str) -> Option<u128> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let mut value: u128 = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        if matches!(index, 8 | 13 | 18 | 23) {
            if byte != b'-' {
                return None;
            }
            continue;
        }
        let digit = char::from(byte).to_digit(16)?;
        value = (value << 4) | u128::from(digit);
    }
    Some(value)
}

/// `text` as a double-quoted string with JSON escapes (Go's `%q` for printable text).
fn quote(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}
