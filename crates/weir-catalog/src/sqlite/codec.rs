//! How entity fields are stored in SQLite columns: enums as their API names, ids as text, times
//! as microseconds since the Unix epoch, JSON members as JSON text.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde_json::Value;
use time::OffsetDateTime;
use weir_auth::ResourceId;

use crate::{CatalogError, Connector, PipelineTarget, Role, StorageError, Strategy};

/// Stores an enum as text, each variant under one fixed name.
macro_rules! text_column {
    ($type:ty { $($variant:path => $text:literal,)+ }) => {
        impl ToSql for $type {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(match self { $($variant => $text,)+ }))
            }
        }

        impl FromSql for $type {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                match value.as_str()? {
                    $($text => Ok($variant),)+
                    other => Err(unexpected(stringify!($type), other)),
                }
            }
        }
    };
}

text_column!(Role {
    Role::Source => "Source",
    Role::Destination => "Destination",
});

text_column!(Strategy {
    Strategy::Conversion => "Conversion",
    Strategy::Fusion => "Fusion",
    Strategy::Isolation => "Isolation",
    Strategy::Preservation => "Preservation",
});

text_column!(PipelineTarget {
    PipelineTarget::Event => "Event",
    PipelineTarget::User => "User",
});

impl ToSql for Connector {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Connector {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        text.parse().map_err(|_| unexpected("Connector", text))
    }
}

fn unexpected(what: &str, text: &str) -> FromSqlError {
    FromSqlError::Other(format!("unexpected {what} {text:?} in the catalog").into())
}

/// A resource id column.
pub(crate) fn id(row: &rusqlite::Row<'_>, column: &str) -> rusqlite::Result<ResourceId> {
    let text: String = row.get(column)?;
    ResourceId::parse(&text).map_err(|error| conversion(column, error))
}

/// An optional resource id column.
pub(crate) fn option_id(
    row: &rusqlite::Row<'_>,
    column: &str,
) -> rusqlite::Result<Option<ResourceId>> {
    let text: Option<String> = row.get(column)?;
    text.map(|text| ResourceId::parse(&text).map_err(|error| conversion(column, error)))
        .transpose()
}

/// A time column (microseconds since the Unix epoch).
pub(crate) fn time(row: &rusqlite::Row<'_>, column: &str) -> rusqlite::Result<OffsetDateTime> {
    let micros: i64 = row.get(column)?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|error| conversion(column, error))
}

/// A JSON column: `NULL` or JSON text.
pub(crate) fn json(row: &rusqlite::Row<'_>, column: &str) -> rusqlite::Result<Option<Value>> {
    let text: Option<String> = row.get(column)?;
    text.map(|text| serde_json::from_str(&text).map_err(|error| conversion(column, error)))
        .transpose()
}

/// An optional non-negative integer column.
pub(crate) fn count(row: &rusqlite::Row<'_>, column: &str) -> rusqlite::Result<Option<u64>> {
    let value: Option<i64> = row.get(column)?;
    value
        .map(|value| u64::try_from(value).map_err(|error| conversion(column, error)))
        .transpose()
}

/// What a time column stores for `time`.
pub(crate) fn micros(time: OffsetDateTime) -> Result<i64, CatalogError> {
    i64::try_from(time.unix_timestamp_nanos() / 1_000)
        .map_err(|_| StorageError::new(format!("time {time} out of range")).into())
}

/// The current time, as stored.
pub(crate) fn now() -> Result<(OffsetDateTime, i64), CatalogError> {
    // Truncated to what a column keeps, so a returned entity equals the stored one.
    let now = OffsetDateTime::now_utc();
    let micros = micros(now)?;
    let now = now
        .replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .map_err(|error| StorageError::new(error.to_string()))?;
    Ok((now, micros))
}

/// What a JSON column stores for `value`.
pub(crate) fn json_text(value: Option<&Value>) -> Option<String> {
    // Serialising a `Value` cannot fail: its map keys are strings.
    value.map(Value::to_string)
}

pub(crate) fn conversion(
    column: &str,
    error: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    let detail = format!("column {column}: {error}");
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, detail.into())
}
