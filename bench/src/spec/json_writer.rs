//! A minimal JSON object writer that keeps members in the order they are added.
//!
//! `serde_json::json!` sorts object members by name (the workspace does not enable
//! `preserve_order`); real SDKs send `type` first and `context` in the middle, and member
//! order is part of what a decoder sees, so the benchmark batch is written in SDK order.

use std::fmt::Write as _;

/// A JSON object under construction, written compactly like `JSON.stringify`.
#[derive(Debug, Default)]
pub(crate) struct Object {
    text: String,
}

impl Object {
    pub(crate) fn new() -> Object {
        Object {
            text: String::from("{"),
        }
    }

    fn key(&mut self, name: &str) -> &mut String {
        if self.text.len() > 1 {
            self.text.push(',');
        }
        push_string(&mut self.text, name);
        self.text.push(':');
        &mut self.text
    }

    pub(crate) fn string(mut self, name: &str, value: &str) -> Object {
        push_string(self.key(name), value);
        self
    }

    pub(crate) fn integer(mut self, name: &str, value: i64) -> Object {
        let _ = write!(self.key(name), "{value}");
        self
    }

    /// A number written with Rust's shortest round-trip formatting (`2.5`, `1`, `19.99`).
    pub(crate) fn number(mut self, name: &str, value: f64) -> Object {
        let _ = write!(self.key(name), "{value}");
        self
    }

    pub(crate) fn boolean(mut self, name: &str, value: bool) -> Object {
        self.key(name)
            .push_str(if value { "true" } else { "false" });
        self
    }

    pub(crate) fn object(mut self, name: &str, value: Object) -> Object {
        self.key(name).push_str(&value.finish());
        self
    }

    /// An array of already-written JSON values.
    pub(crate) fn array(mut self, name: &str, values: &[String]) -> Object {
        let out = self.key(name);
        out.push('[');
        out.push_str(&values.join(","));
        out.push(']');
        self
    }

    pub(crate) fn finish(mut self) -> String {
        self.text.push('}');
        self.text
    }
}

/// Appends `text` as a JSON string literal, escaped by serde_json.
fn push_string(out: &mut String, text: &str) {
    out.push_str(&serde_json::Value::from(text).to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_members_in_insertion_order() {
        let text = Object::new()
            .string("type", "track")
            .integer("n", 3)
            .number("x", 2.5)
            .boolean("ok", false)
            .object("inner", Object::new().string("q", "a\"b"))
            .array("list", &["1".to_string(), "{}".to_string()])
            .finish();
        assert_eq!(
            text,
            r#"{"type":"track","n":3,"x":2.5,"ok":false,"inner":{"q":"a\"b"},"list":[1,{}]}"#
        );
    }
}
