//! The filter language (`storage-and-pipelines.md` §6): `{"logical":"and"|"or","conditions":
//! [{"property","operator","values"?}]}` checked once by [`validate_filter`] into a typed
//! [`Filter`], then evaluated per event by [`Filter::matches`].
//!
//! Validation resolves each property path against the event schema (`schema`), checks the
//! operator against the property's type and parses every value by that type, so evaluation
//! never fails: a value that cannot be compared makes the condition false. Below the JSON
//! properties `properties` and `traits` any further path is allowed; it is looked up in the
//! event's JSON text only when a condition needs it, once per event and root (`eval`).
//!
//! Weir choices where the spec leaves room: property paths are dot paths of identifiers
//! (`[A-Za-z_][A-Za-z0-9_]*`); `context.consents.<purpose>` is a read-optional boolean; a
//! filter holds at most [`MAX_CONDITIONS`] conditions.

mod eval;
mod number;
mod parse;
mod schema;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::IpAddr;

use weir_spec::Timestamp;

use self::number::Decimal;
use self::schema::Property;

pub use self::parse::validate_filter;

/// The most conditions one filter may hold.
pub const MAX_CONDITIONS: usize = 100;

/// A validated filter, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Filter {
    logical: Logical,
    conditions: Vec<Condition>,
}

/// Why a filter was rejected. Its `Display` is the management API's message,
/// `filter is not valid: <reason>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("filter is not valid: {reason}")]
pub struct FilterError {
    reason: String,
}

impl FilterError {
    pub(crate) fn new(reason: impl Into<String>) -> FilterError {
        FilterError {
            reason: reason.into(),
        }
    }

    /// The reason without the `filter is not valid: ` prefix.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Logical {
    And,
    Or,
}

#[derive(Debug, Clone)]
struct Condition {
    subject: Subject,
    operator: Operator,
    values: Vec<Operand>,
}

/// What a condition's property path reads.
#[derive(Debug, Clone)]
enum Subject {
    /// A property of the event schema.
    Property(&'static Property),
    /// A path below a JSON property: `root` is `properties` or `traits`, `path` non-empty.
    JsonPath {
        root: &'static Property,
        path: Vec<String>,
    },
    /// `context.consents.<purpose>`.
    Consent(String),
}

/// A parsed condition value, typed by the property it is compared with.
#[derive(Debug, Clone)]
enum Operand {
    Text(String),
    Int(i64),
    Float(f64),
    Decimal(Decimal),
    Time(Timestamp),
    Uuid(u128),
    Ip(IpAddr),
    /// A value for a JSON path: its text, and its number and instant when it reads as one.
    Json {
        text: String,
        number: Option<Decimal>,
        time: Option<Timestamp>,
    },
}

macro_rules! operators {
    ($($variant:ident => $name:literal,)*) => {
        /// The condition operators of §6, by their JSON names.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Operator {
            $($variant,)*
        }

        impl Operator {
            const ALL: &'static [Operator] = &[$(Operator::$variant,)*];

            fn name(self) -> &'static str {
                match self {
                    $(Operator::$variant => $name,)*
                }
            }

            fn from_name(name: &str) -> Option<Operator> {
                Operator::ALL.iter().copied().find(|operator| operator.name() == name)
            }
        }
    };
}

operators! {
    Is => "is",
    IsNot => "is not",
    IsLessThan => "is less than",
    IsLessThanOrEqualTo => "is less than or equal to",
    IsGreaterThan => "is greater than",
    IsGreaterThanOrEqualTo => "is greater than or equal to",
    IsBetween => "is between",
    IsNotBetween => "is not between",
    Contains => "contains",
    DoesNotContain => "does not contain",
    IsOneOf => "is one of",
    IsNotOneOf => "is not one of",
    StartsWith => "starts with",
    EndsWith => "ends with",
    IsBefore => "is before",
    IsOnOrBefore => "is on or before",
    IsAfter => "is after",
    IsOnOrAfter => "is on or after",
    IsTrue => "is true",
    IsFalse => "is false",
    IsEmpty => "is empty",
    IsNotEmpty => "is not empty",
    IsNull => "is null",
    IsNotNull => "is not null",
    Exists => "exists",
    DoesNotExist => "does not exist",
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
