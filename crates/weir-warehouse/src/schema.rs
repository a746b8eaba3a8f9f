//! DDL of the `events` table for both backends, generated from the one column table, and the
//! probe statements of `check()`.

use std::fmt::Write as _;

use crate::columns::{COLUMNS, ENUM_TYPES, EnumType, Kind};

/// The SQL dialect a statement is generated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// Indexes recommended by §3.1, besides the primary key `(connection_id, message_id)`.
const INDEXED: [&str; 4] = ["timestamp", "user_id", "anonymous_id", "kpid"];

impl Kind {
    fn sql_type(self, dialect: Dialect, column: &str) -> String {
        match dialect {
            Dialect::Postgres => match self {
                Kind::Uuid => "uuid".into(),
                Kind::Text => "character varying".into(),
                Kind::Locale => "character varying(5)".into(),
                Kind::Enum(enum_type) => enum_type.name.into(),
                Kind::Json => "jsonb".into(),
                Kind::Bool => "boolean".into(),
                Kind::Float => "double precision".into(),
                Kind::SmallInt => "smallint".into(),
                Kind::BigInt => "bigint".into(),
                Kind::Density => "numeric(3,2)".into(),
                Kind::Time => "timestamp(3)".into(),
                Kind::Inet => "inet".into(),
            },
            Dialect::Sqlite => match self {
                Kind::Enum(enum_type) => {
                    format!("TEXT CHECK (\"{column}\" IN ({}))", value_list(enum_type))
                }
                Kind::Uuid | Kind::Text | Kind::Locale | Kind::Json | Kind::Time | Kind::Inet => {
                    "TEXT".into()
                }
                Kind::Bool | Kind::SmallInt | Kind::BigInt => "INTEGER".into(),
                Kind::Float | Kind::Density => "REAL".into(),
            },
        }
    }
}

/// `'a', 'b', …` (enum values never contain quotes).
fn value_list(enum_type: &EnumType) -> String {
    let quoted: Vec<String> = enum_type.values.iter().map(|v| format!("'{v}'")).collect();
    quoted.join(", ")
}

/// Creates the enums (PostgreSQL), the `events` table and its indexes if they are missing.
/// Idempotent; on PostgreSQL run it under the migration lock.
pub(crate) fn create_events_table(dialect: Dialect) -> String {
    let mut sql = String::new();
    if dialect == Dialect::Postgres {
        for enum_type in ENUM_TYPES {
            // CREATE TYPE has no IF NOT EXISTS.
            let _ = writeln!(
                sql,
                "DO $$ BEGIN CREATE TYPE {} AS ENUM ({}); \
                 EXCEPTION WHEN duplicate_object THEN NULL; END $$;",
                enum_type.name,
                value_list(enum_type)
            );
        }
    }
    sql.push_str("CREATE TABLE IF NOT EXISTS events (\n");
    for column in &COLUMNS {
        let not_null = if column.not_null { " NOT NULL" } else { "" };
        let sql_type = column.kind.sql_type(dialect, column.name);
        let _ = writeln!(sql, "    \"{}\" {sql_type}{not_null},", column.name);
    }
    sql.push_str("    PRIMARY KEY (\"connection_id\", \"message_id\")\n);\n");
    for indexed in INDEXED {
        // Rows are written without `kpid` (identity resolution sets it later), so indexing
        // its NULLs would only slow imports down; lookups by value still use the index.
        let partial = if indexed == "kpid" {
            " WHERE \"kpid\" IS NOT NULL"
        } else {
            ""
        };
        let _ = writeln!(
            sql,
            "CREATE INDEX IF NOT EXISTS events_{indexed}_idx ON events (\"{indexed}\"){partial};"
        );
    }
    sql
}

/// `"a", "b", …` of the given columns.
pub(crate) fn quoted_names<'c>(names: impl Iterator<Item = &'c str>) -> String {
    let quoted: Vec<String> = names.map(|name| format!("\"{name}\"")).collect();
    quoted.join(", ")
}

/// `check()`'s probe, run in a transaction that is rolled back: each step with the right it
/// needs (for the error message) and its SQL, valid on both backends.
pub(crate) const PROBE: [(&str, &str); 3] = [
    (
        "create a table",
        "CREATE TABLE weir_check_probe (probe integer)",
    ),
    (
        "insert into the events table",
        "INSERT INTO events (connection_id, anonymous_id, message_id, received_at, sent_at, \
         \"timestamp\", traits, \"type\") VALUES ('weir-check', 'weir-check', 'weir-check', \
         '2000-01-01T00:00:00.000Z', '2000-01-01T00:00:00.000Z', '2000-01-01T00:00:00.000Z', \
         '{}', 'track') ON CONFLICT (connection_id, message_id) DO NOTHING",
    ),
    (
        "select from the events table",
        "SELECT count(*) FROM events WHERE connection_id = 'weir-check'",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddl_has_every_column_once() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let ddl = create_events_table(dialect);
            for column in &COLUMNS {
                let definition = format!("\n    \"{}\" ", column.name);
                assert_eq!(ddl.matches(&definition).count(), 1, "{}", column.name);
            }
        }
        let sqlite = create_events_table(Dialect::Sqlite);
        assert!(sqlite.contains("\"type\" TEXT CHECK (\"type\" IN ('alias', 'identify', 'group', 'page', 'screen', 'track')) NOT NULL"));
        let postgres = create_events_table(Dialect::Postgres);
        assert!(postgres.contains("\"context_screen_density\" numeric(3,2),"));
        assert!(postgres.contains("\"received_at\" timestamp(3) NOT NULL,"));
    }
}
