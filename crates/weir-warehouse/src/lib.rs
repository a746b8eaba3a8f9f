//! Warehouse sinks: the `events`, `identities` and `profiles` tables on SQLite (embedded
//! default) and PostgreSQL. Writes are idempotent by `(connection_id, message_id)`.
