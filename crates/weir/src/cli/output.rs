//! Printing: aligned tables for people, the API's JSON (pretty-printed) for scripts, and the
//! small conversions from JSON members to table cells.

use serde_json::Value;

/// Prints `value` as indented JSON.
pub(crate) fn print_json(value: &Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(_) => println!("{value}"),
    }
}

/// Prints a table: a header row, then one row per entry, columns padded to their widest cell.
pub(crate) fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    print!("{}", table(headers, rows));
}

fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (index, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if index > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            if index + 1 < row.len() {
                let padding = width.saturating_sub(cell.chars().count());
                line.extend(std::iter::repeat_n(' ', padding));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Member `name` of `value` as a cell: strings as they are, `null` or absent as `-`, anything
/// else as JSON.
pub(crate) fn cell(value: &Value, name: &str) -> String {
    match &value[name] {
        Value::Null => "-".to_owned(),
        Value::String(text) => text.clone(),
        Value::Bool(true) => "yes".to_owned(),
        Value::Bool(false) => "no".to_owned(),
        other => other.to_string(),
    }
}

/// The elements of the array member `name` (none when it is not an array).
pub(crate) fn items<'a>(value: &'a Value, name: &str) -> &'a [Value] {
    value[name].as_array().map_or(&[], Vec::as_slice)
}

/// Member `name` as a string, or empty.
pub(crate) fn text<'a>(value: &'a Value, name: &str) -> &'a str {
    value[name].as_str().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn columns_are_aligned_by_characters() {
        let rows = vec![
            vec!["a1".to_owned(), "Café app".to_owned(), "webhook".to_owned()],
            vec!["b22".to_owned(), "x".to_owned(), "-".to_owned()],
        ];
        assert_eq!(
            table(&["ID", "NAME", "CONNECTOR"], &rows),
            "ID   NAME      CONNECTOR\na1   Café app  webhook\nb22  x         -\n"
        );
    }

    #[test]
    fn cells() {
        let value = json!({"s": "x", "n": null, "b": true, "o": {"a": 1}});
        assert_eq!(cell(&value, "s"), "x");
        assert_eq!(cell(&value, "n"), "-");
        assert_eq!(cell(&value, "missing"), "-");
        assert_eq!(cell(&value, "b"), "yes");
        assert_eq!(cell(&value, "o"), "{\"a\":1}");
    }
}
