//! Evaluating a validated filter against one event (the semantics table of §6, including its
//! "missing" column). JSON paths are looked up in the event's JSON text: the top level of
//! `properties` or `traits` is parsed at most once per event, and only if a condition reads it;
//! deeper levels are parsed along the path; leaves keep their text, so numbers compare exactly.

use std::cell::OnceCell;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::net::IpAddr;

use serde_json::value::RawValue;
use weir_spec::{Event, Timestamp};

use super::number::Decimal;
use super::parse::parse_uuid;
use super::schema::{Field, Property};
use super::{Condition, Filter, Logical, Operand, Operator, Subject};

impl Filter {
    /// Whether `event` passes the filter: every condition (`and`) or at least one (`or`),
    /// evaluated left to right with short-circuit.
    pub fn matches(&self, event: &Event) -> bool {
        let view = EventView::new(event);
        match self.logical {
            Logical::And => self.conditions.iter().all(|c| c.holds(&view)),
            Logical::Or => self.conditions.iter().any(|c| c.holds(&view)),
        }
    }
}

type Members<'a> = HashMap<String, &'a RawValue>;

/// An event with its JSON roots parsed on first use.
struct EventView<'a> {
    event: &'a Event,
    properties: OnceCell<Option<Members<'a>>>,
    traits: OnceCell<Option<Members<'a>>>,
}

impl<'a> EventView<'a> {
    fn new(event: &'a Event) -> Self {
        EventView {
            event,
            properties: OnceCell::new(),
            traits: OnceCell::new(),
        }
    }

    /// The top-level members of the JSON property `root`, if present and an object.
    fn members(&self, root: &'static Property) -> Option<&Members<'a>> {
        let cell = if root.path == "traits" {
            &self.traits
        } else {
            &self.properties
        };
        cell.get_or_init(|| match (root.get)(self.event) {
            Some(Field::Json(text)) => serde_json::from_str(text).ok(),
            _ => None,
        })
        .as_ref()
    }
}

/// A JSON value found at a path.
#[derive(Debug, Clone)]
enum Json<'a> {
    Null,
    Bool(bool),
    /// The number's text as the client wrote it.
    Number(&'a str),
    String(String),
    Array(&'a str),
    Object(&'a str),
}

impl<'a> Json<'a> {
    fn classify(text: &'a str) -> Option<Json<'a>> {
        let text = text.trim();
        Some(match text.as_bytes().first()? {
            b'n' => Json::Null,
            b't' => Json::Bool(true),
            b'f' => Json::Bool(false),
            b'"' => Json::String(serde_json::from_str(text).ok()?),
            b'[' => Json::Array(text),
            b'{' => Json::Object(text),
            _ => Json::Number(text),
        })
    }

    fn is_empty(&self) -> bool {
        match self {
            Json::Null => true,
            Json::String(text) => text.is_empty(),
            Json::Array(text) => serde_json::from_str::<Vec<&RawValue>>(text)
                .map(|elements| elements.is_empty())
                .unwrap_or(false),
            Json::Object(text) => serde_json::from_str::<Members<'_>>(text)
                .map(|members| members.is_empty())
                .unwrap_or(false),
            Json::Bool(_) | Json::Number(_) => false,
        }
    }
}

/// A subject's value in one event.
#[derive(Debug, Clone)]
enum Actual<'a> {
    Field(Field<'a>),
    Json(Json<'a>),
}

impl Subject {
    fn resolve<'a>(&self, view: &EventView<'a>) -> Option<Actual<'a>> {
        match self {
            Subject::Property(property) => match (property.get)(view.event)? {
                Field::Json(text) => Json::classify(text).map(Actual::Json),
                field => Some(Actual::Field(field)),
            },
            Subject::JsonPath { root, path } => {
                let (first, rest) = path.split_first()?;
                let mut current: &'a RawValue = view.members(root)?.get(first)?;
                for segment in rest {
                    let members: Members<'a> = serde_json::from_str(current.get()).ok()?;
                    current = *members.get(segment)?;
                }
                Json::classify(current.get()).map(Actual::Json)
            }
            Subject::Consent(purpose) => {
                let consents = view.event.context.consents.as_ref()?;
                consents
                    .get(purpose)
                    .map(|&granted| Actual::Field(Field::Bool(granted)))
            }
        }
    }
}

impl Condition {
    fn holds(&self, view: &EventView<'_>) -> bool {
        use Operator::*;
        let actual = self.subject.resolve(view);
        let Some(actual) = actual else {
            // The "missing" column: only the negative operators and `is empty` hold.
            return matches!(
                self.operator,
                IsNot
                    | IsNotBetween
                    | DoesNotContain
                    | IsNotOneOf
                    | IsEmpty
                    | IsNotNull
                    | DoesNotExist
            );
        };
        let first = self.values.first();
        let compared = |expected: fn(Ordering) -> bool| {
            first
                .and_then(|value| compare(&actual, value))
                .is_some_and(expected)
        };
        match self.operator {
            Is => compared(Ordering::is_eq),
            IsNot => !compared(Ordering::is_eq),
            IsLessThan => compared(Ordering::is_lt),
            IsLessThanOrEqualTo => compared(Ordering::is_le),
            IsGreaterThan => compared(Ordering::is_gt),
            IsGreaterThanOrEqualTo => compared(Ordering::is_ge),
            IsBetween => self.between(&actual),
            IsNotBetween => !self.between(&actual),
            Contains => first.is_some_and(|value| contains(&actual, value)),
            DoesNotContain => !first.is_some_and(|value| contains(&actual, value)),
            IsOneOf => self.one_of(&actual),
            IsNotOneOf => !self.one_of(&actual),
            StartsWith => first
                .is_some_and(|value| affix(&actual, value, |text, affix| text.starts_with(affix))),
            EndsWith => first
                .is_some_and(|value| affix(&actual, value, |text, affix| text.ends_with(affix))),
            IsBefore => self.timed(&actual, Ordering::is_lt),
            IsOnOrBefore => self.timed(&actual, Ordering::is_le),
            IsAfter => self.timed(&actual, Ordering::is_gt),
            IsOnOrAfter => self.timed(&actual, Ordering::is_ge),
            IsTrue => boolean(&actual) == Some(true),
            IsFalse => boolean(&actual) == Some(false),
            IsEmpty => is_empty(&actual),
            IsNotEmpty => !is_empty(&actual),
            IsNull => matches!(actual, Actual::Json(Json::Null)),
            IsNotNull => !matches!(actual, Actual::Json(Json::Null)),
            Exists => true,
            DoesNotExist => false,
        }
    }

    fn between(&self, actual: &Actual<'_>) -> bool {
        match self.values.as_slice() {
            [low, high] => {
                compare(actual, low).is_some_and(Ordering::is_ge)
                    && compare(actual, high).is_some_and(Ordering::is_le)
            }
            _ => false,
        }
    }

    fn one_of(&self, actual: &Actual<'_>) -> bool {
        self.values
            .iter()
            .any(|value| compare(actual, value).is_some_and(Ordering::is_eq))
    }

    fn timed(&self, actual: &Actual<'_>, expected: fn(Ordering) -> bool) -> bool {
        let instant = match actual {
            Actual::Field(Field::Time(instant)) => Some(*instant),
            Actual::Json(Json::String(text)) => Timestamp::parse(text).ok(),
            _ => None,
        };
        let bound = match self.values.first() {
            Some(Operand::Time(bound)) => Some(*bound),
            Some(Operand::Json { time, .. }) => *time,
            _ => None,
        };
        match (instant, bound) {
            (Some(instant), Some(bound)) => expected(instant.cmp(&bound)),
            _ => false,
        }
    }
}

/// How the event's value orders against a condition value; `None` when they cannot be
/// compared (a JSON kind other than number or string, a number against a non-numeric value, a
/// malformed stored address).
fn compare(actual: &Actual<'_>, value: &Operand) -> Option<Ordering> {
    match (actual, value) {
        (Actual::Field(field), value) => match (field, value) {
            (Field::Text(text), Operand::Text(expected)) => Some((*text).cmp(expected.as_str())),
            (Field::Text(text), Operand::Ip(expected)) => {
                text.parse::<IpAddr>().ok().map(|ip| ip.cmp(expected))
            }
            (Field::Text(text), Operand::Uuid(expected)) => {
                parse_uuid(text).map(|uuid| uuid.cmp(expected))
            }
            (Field::Int(number), Operand::Int(expected)) => Some(number.cmp(expected)),
            (Field::Float(number), Operand::Float(expected)) => number.partial_cmp(expected),
            (Field::Float(number), Operand::Decimal(expected)) => {
                Decimal::from_f64(*number).map(|number| number.cmp(expected))
            }
            (Field::Time(instant), Operand::Time(expected)) => Some(instant.cmp(expected)),
            _ => None,
        },
        (Actual::Json(json), value) => compare_json(json, value),
    }
}

fn compare_json(json: &Json<'_>, value: &Operand) -> Option<Ordering> {
    let Operand::Json { text, number, .. } = value else {
        return None;
    };
    match json {
        Json::Number(spelling) => {
            let expected = number.as_ref()?;
            Decimal::parse(spelling, true).map(|number| number.cmp(expected))
        }
        Json::String(string) => Some(string.as_str().cmp(text.as_str())),
        _ => None,
    }
}

/// `contains`: a substring of a string or JSON string; an element `is` the value in a JSON array.
fn contains(actual: &Actual<'_>, value: &Operand) -> bool {
    match (actual, value) {
        (Actual::Field(Field::Text(text)), Operand::Text(expected)) => {
            text.contains(expected.as_str())
        }
        (Actual::Json(Json::String(text)), Operand::Json { text: expected, .. }) => {
            text.contains(expected.as_str())
        }
        (Actual::Json(Json::Array(text)), value) => serde_json::from_str::<Vec<&RawValue>>(text)
            .is_ok_and(|elements| {
                elements.iter().any(|element| {
                    Json::classify(element.get())
                        .and_then(|json| compare_json(&json, value))
                        .is_some_and(Ordering::is_eq)
                })
            }),
        _ => false,
    }
}

/// `starts with` / `ends with` on a string or a JSON string.
fn affix(actual: &Actual<'_>, value: &Operand, test: fn(&str, &str) -> bool) -> bool {
    match (actual, value) {
        (Actual::Field(Field::Text(text)), Operand::Text(expected)) => test(text, expected),
        (Actual::Json(Json::String(text)), Operand::Json { text: expected, .. }) => {
            test(text, expected)
        }
        _ => false,
    }
}

fn boolean(actual: &Actual<'_>) -> Option<bool> {
    match actual {
        Actual::Field(Field::Bool(value)) | Actual::Json(Json::Bool(value)) => Some(*value),
        _ => None,
    }
}

fn is_empty(actual: &Actual<'_>) -> bool {
    match actual {
        Actual::Field(Field::Text(text)) => text.is_empty(),
        Actual::Field(Field::Map(map)) => map.is_empty(),
        Actual::Json(json) => json.is_empty(),
        Actual::Field(_) => false,
    }
}
