//! Batched inserts into the SQLite `events` table. Rows are encoded on the caller's side into
//! owned buffers (one allocation per part of a batch instead of one per string), then bound on
//! the writer thread to prepared multi-row `INSERT OR FAIL … ON CONFLICT DO NOTHING`
//! statements. A batch travels in parts of [`PART_ROWS`] rows, so that the writer inserts one
//! part while the caller encodes the next (the two run on different cores).
//!
//! Two things keep SQLite's per-row work down without changing what the table accepts:
//! * `OR FAIL` instead of the default `ABORT` for the NOT NULL constraints. A multi-row
//!   statement that may ABORT needs a statement journal (a copy of every page it touches, so
//!   that it alone can be undone), which cost about a third of the insert time. With FAIL a
//!   violation still ends the statement with an error, and [`Rows::insert_parts`] then rolls back
//!   the whole transaction, so a write still commits all of its new rows or none.
//! * The writer connection runs with `ignore_check_constraints` (see `configure`): SQLite
//!   evaluates a `CHECK (x IN (…))` by building a temporary b-tree of the list for every
//!   row, which cost another quarter of the insert time. [`Rows::encode`] applies the same
//!   rule first, from the same value lists the DDL is generated from, and rejects the batch
//!   with SQLite's own message, so the table's constraints keep holding for every row Weir
//!   writes (and still apply to every other connection).

use std::ops::Range;
use std::sync::LazyLock;
use std::sync::mpsc::{Receiver, RecvError};

use rusqlite::types::Null;
use rusqlite::{Connection, Statement, TransactionBehavior};
use weir_spec::Event;

use crate::columns::{Field, Kind, written_columns};
use crate::schema::quoted_names;

/// Rows per multi-row statement: 50 × 67 parameters stays far below SQLite's limit of 32766,
/// and measured faster than 1 or 10.
const ROWS_PER_STATEMENT: usize = 50;

/// Rows per part of a batch: a multiple of [`ROWS_PER_STATEMENT`], small enough that the
/// writer starts early, large enough that handing parts over costs nothing measurable.
pub(crate) const PART_ROWS: usize = 5 * ROWS_PER_STATEMENT;

static INSERT_MANY: LazyLock<String> = LazyLock::new(|| insert_sql(ROWS_PER_STATEMENT));
static INSERT_ONE: LazyLock<String> = LazyLock::new(|| insert_sql(1));

fn insert_sql(rows: usize) -> String {
    let columns = written_columns();
    let names = quoted_names(columns.iter().map(|column| column.name));
    let row = format!("({})", vec!["?"; columns.len()].join(","));
    format!(
        "INSERT OR FAIL INTO events ({names}) VALUES {} \
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

/// What the writer thread receives for one batch: its rows in parts, then the end.
#[derive(Debug)]
pub(crate) enum Part {
    Rows(Rows),
    End,
}

/// Encoded rows: every written column of every event, texts in one buffer.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    text: String,
    cells: Vec<Cell>,
}

impl Rows {
    /// The rows of `events`, or the message of the enum CHECK constraint that a value would
    /// violate (the writer connection does not evaluate those; see the module docs).
    pub(crate) fn encode<'e>(
        events: impl ExactSizeIterator<Item = &'e Event>,
    ) -> Result<Rows, String> {
        let columns = written_columns();
        let mut rows = Rows {
            text: String::with_capacity(events.len() * 768),
            cells: Vec::with_capacity(events.len() * columns.len()),
        };
        for event in events {
            for column in columns {
                let cell = match column.read(event) {
                    Field::Null => Cell::Null,
                    Field::Text(text) => {
                        if let Kind::Enum(enum_type) = column.kind
                            && !enum_type.values.contains(&text.as_ref())
                        {
                            return Err(format!("CHECK constraint failed: {}", column.name));
                        }
                        rows.push_text(&text)
                    }
                    Field::Json(text) => rows.push_text(&text),
                    Field::Time(time) => rows.push_text(time.as_str()),
                    Field::Bool(value) => Cell::Int(i64::from(value)),
                    Field::Int(value) => Cell::Int(value),
                    Field::Float(value) => Cell::Float(value),
                };
                rows.cells.push(cell);
            }
        }
        Ok(rows)
    }

    fn push_text(&mut self, text: &str) -> Cell {
        let start = self.text.len();
        self.text.push_str(text);
        Cell::Text(start..self.text.len())
    }

    /// Inserts the rows of the parts received until [`Part::End`] in one transaction and
    /// returns how many were new, or `None` (nothing committed) if the sender went away before
    /// the end: the caller rejected the batch or gave up.
    pub(crate) fn insert_parts(
        connection: &mut Connection,
        parts: &Receiver<Part>,
    ) -> rusqlite::Result<Option<usize>> {
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
            loop {
                let rows = match parts.recv() {
                    Ok(Part::Rows(rows)) => rows,
                    Ok(Part::End) => break,
                    // Dropping the transaction rolls it back.
                    Err(RecvError) => return Ok(None),
                };
                for chunk in rows.cells.chunks(width * ROWS_PER_STATEMENT) {
                    if chunk.len() == width * ROWS_PER_STATEMENT {
                        inserted += rows.execute(&mut many, &mut many_bound, chunk)?;
                    } else {
                        for row in chunk.chunks(width) {
                            inserted += rows.execute(&mut one, &mut one_bound, row)?;
                        }
                    }
                }
            }
        }
        transaction.commit()?;
        Ok(Some(inserted))
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
