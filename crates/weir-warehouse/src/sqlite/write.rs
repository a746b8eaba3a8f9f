//! Batched inserts into the SQLite `events` table. Rows are encoded on the caller's side into
//! one owned buffer (one allocation per batch instead of one per string), then bound on the
//! writer thread to prepared multi-row `INSERT … ON CONFLICT DO NOTHING` statements.

use std::ops::Range;
use std::sync::LazyLock;

use rusqlite::types::Null;
use rusqlite::{Connection, Statement, TransactionBehavior};
use weir_spec::Event;

use crate::columns::{Field, written_columns};
use crate::schema::quoted_names;

/// Rows per multi-row statement: 50 × 67 parameters stays far below SQLite's limit of 32766,
/// and measured faster than 1 or 10.
const ROWS_PER_STATEMENT: usize = 50;

static INSERT_MANY: LazyLock<String> = LazyLock::new(|| insert_sql(ROWS_PER_STATEMENT));
static INSERT_ONE: LazyLock<String> = LazyLock::new(|| insert_sql(1));

fn insert_sql(rows: usize) -> String {
    let columns = written_columns();
    let names = quoted_names(columns.iter().map(|column| column.name));
    let row = format!("({})", vec!["?"; columns.len()].join(","));
    format!(
        "INSERT INTO events ({names}) VALUES {} \
         ON CONFLICT (\"connection_id\", \"message_id\") DO NOTHING",
        vec![row; rows].join(",")
    )
}

/// One value of an encoded row.
#[derive(Debug)]
enum Cell {
    Null,
    Text(Range<usize>),
    Int(i64),
    Float(f64),
}

/// Encoded rows: every written column of every event, texts in one buffer.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    text: String,
    cells: Vec<Cell>,
}

impl Rows {
    pub(crate) fn encode<'e>(events: impl ExactSizeIterator<Item = &'e Event>) -> Rows {
        let columns = written_columns();
        let mut rows = Rows {
            text: String::with_capacity(events.len() * 512),
            cells: Vec::with_capacity(events.len() * columns.len()),
        };
        for event in events {
            for column in columns {
                let cell = match column.read(event) {
                    Field::Null => Cell::Null,
                    Field::Text(text) | Field::Json(text) => rows.push_text(&text),
                    Field::Time(time) => rows.push_text(time.as_str()),
                    Field::Bool(value) => Cell::Int(i64::from(value)),
                    Field::Int(value) => Cell::Int(value),
                    Field::Float(value) => Cell::Float(value),
                };
                rows.cells.push(cell);
            }
        }
        rows
    }

    fn push_text(&mut self, text: &str) -> Cell {
        let start = self.text.len();
        self.text.push_str(text);
        Cell::Text(start..self.text.len())
    }

    /// Inserts the rows in one transaction; returns how many were new.
    pub(crate) fn insert(&self, connection: &mut Connection) -> rusqlite::Result<usize> {
        let width = written_columns().len();
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut inserted = 0;
        {
            // Cached statements come back with every parameter NULL; `*_bound` tracks which
            // are not, so that NULLs are bound only where a value was.
            let mut many = transaction.prepare_cached(&INSERT_MANY)?;
            let mut many_bound = vec![false; width * ROWS_PER_STATEMENT];
            let mut one = transaction.prepare_cached(&INSERT_ONE)?;
            let mut one_bound = vec![false; width];
            for chunk in self.cells.chunks(width * ROWS_PER_STATEMENT) {
                if chunk.len() == width * ROWS_PER_STATEMENT {
                    inserted += self.execute(&mut many, &mut many_bound, chunk)?;
                } else {
                    for row in chunk.chunks(width) {
                        inserted += self.execute(&mut one, &mut one_bound, row)?;
                    }
                }
            }
        }
        transaction.commit()?;
        Ok(inserted)
    }

    fn execute(
        &self,
        statement: &mut Statement<'_>,
        bound: &mut [bool],
        cells: &[Cell],
    ) -> rusqlite::Result<usize> {
        for ((index, cell), bound) in cells.iter().enumerate().zip(bound.iter_mut()) {
            let position = index + 1;
            let was_bound = std::mem::replace(bound, !matches!(cell, Cell::Null));
            match cell {
                Cell::Null if !was_bound => {}
                Cell::Null => statement.raw_bind_parameter(position, Null)?,
                Cell::Text(range) => {
                    let text = self.text.get(range.clone()).unwrap_or_default();
                    statement.raw_bind_parameter(position, text)?;
                }
                Cell::Int(value) => statement.raw_bind_parameter(position, value)?,
                Cell::Float(value) => statement.raw_bind_parameter(position, value)?,
            }
        }
        statement.raw_execute()
    }
}
