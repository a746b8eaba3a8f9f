//! The strict reader of JSON request bodies. A body is parsed into a JSON object, checked for
//! members outside the endpoint's list (so a misspelt member is reported as such, before anything
//! else), then its members are taken one by one with the type each must have. Every error names
//! the member by its dotted path (`eventsRateLimit.ratePerMinute`), which `serde`'s derived errors
//! cannot do for wrong types.
//!
//! `Option<Option<T>>` means: absent (`None`), JSON `null` (`Some(None)`), or a value.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// The members of one JSON object still to be read.
#[derive(Debug)]
pub(crate) struct Fields {
    /// The object's own path followed by `.`, or empty for the body.
    prefix: String,
    members: Map<String, Value>,
}

impl Fields {
    /// The body as a JSON object with no members but `known`; an empty body is refused.
    pub(crate) fn parse(body: &[u8], known: &[&str]) -> Result<Self, ApiError> {
        if body.is_empty() {
            return Err(ApiError::bad_request(
                "request body is missing; it must be a JSON object",
            ));
        }
        let value: Value = serde_json::from_slice(body).map_err(|error| {
            ApiError::bad_request(format!("request body is not valid JSON: {error}"))
        })?;
        match value {
            Value::Object(members) => Self::new(String::new(), members, known),
            other => Err(ApiError::bad_request(format!(
                "request body must be a JSON object, not {}",
                kind(&other)
            ))),
        }
    }

    /// As [`Fields::parse`], but an empty body is an object without members.
    pub(crate) fn parse_or_empty(body: &[u8], known: &[&str]) -> Result<Self, ApiError> {
        if body.is_empty() {
            return Self::new(String::new(), Map::new(), known);
        }
        Self::parse(body, known)
    }

    /// The reader of `members`, refusing any member not in `known`.
    fn new(prefix: String, members: Map<String, Value>, known: &[&str]) -> Result<Self, ApiError> {
        let fields = Self { prefix, members };
        let unknown = fields
            .members
            .keys()
            .find(|name| !known.contains(&name.as_str()));
        if let Some(name) = unknown {
            let mut message = format!("unknown field \"{}\"", fields.path(name));
            if known.is_empty() {
                message.push_str("; no fields are allowed here");
            } else {
                message.push_str("; the known fields are ");
                message.push_str(&known.join(", "));
            }
            return Err(ApiError::BadRequest(message));
        }
        Ok(fields)
    }

    /// The dotted path of member `name`.
    pub(crate) fn path(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// A 400 about member `name`: `<path> <problem>`.
    pub(crate) fn error(&self, name: &str, problem: impl std::fmt::Display) -> ApiError {
        ApiError::bad_request(format!("{} {problem}", self.path(name)))
    }

    /// Member `name`, whatever it holds (`null` included).
    pub(crate) fn any(&mut self, name: &'static str) -> Option<Value> {
        self.members.remove(name)
    }

    /// A member that must not be `null` when present.
    fn present(&mut self, name: &'static str, expected: &str) -> Result<Option<Value>, ApiError> {
        match self.any(name) {
            Some(Value::Null) => Err(self.error(name, format!("must be {expected}, not null"))),
            other => Ok(other),
        }
    }

    fn wrong(&self, name: &str, expected: &str, value: &Value) -> ApiError {
        self.error(name, format!("must be {expected}, not {}", kind(value)))
    }

    fn missing(&self, name: &str) -> ApiError {
        self.error(name, "is required")
    }

    /// An optional string.
    pub(crate) fn string(&mut self, name: &'static str) -> Result<Option<String>, ApiError> {
        match self.present(name, "a string")? {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(self.wrong(name, "a string", &other)),
        }
    }

    /// A required string.
    pub(crate) fn required_string(&mut self, name: &'static str) -> Result<String, ApiError> {
        self.string(name)?.ok_or_else(|| self.missing(name))
    }

    /// A string or `null`.
    pub(crate) fn nullable_string(
        &mut self,
        name: &'static str,
    ) -> Result<Option<Option<String>>, ApiError> {
        match self.any(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(text)) => Ok(Some(Some(text))),
            Some(other) => Err(self.wrong(name, "a string or null", &other)),
        }
    }

    /// An optional boolean.
    pub(crate) fn bool(&mut self, name: &'static str) -> Result<Option<bool>, ApiError> {
        match self.present(name, "a boolean")? {
            None => Ok(None),
            Some(Value::Bool(value)) => Ok(Some(value)),
            Some(other) => Err(self.wrong(name, "a boolean", &other)),
        }
    }

    /// A required boolean.
    pub(crate) fn required_bool(&mut self, name: &'static str) -> Result<bool, ApiError> {
        self.bool(name)?.ok_or_else(|| self.missing(name))
    }

    /// A required non-negative integer.
    pub(crate) fn required_u64(&mut self, name: &'static str) -> Result<u64, ApiError> {
        const EXPECTED: &str = "a non-negative integer";
        match self.present(name, EXPECTED)? {
            None => Err(self.missing(name)),
            Some(Value::Number(number)) => number
                .as_u64()
                .ok_or_else(|| self.error(name, format!("must be {EXPECTED}, not {number}"))),
            Some(other) => Err(self.wrong(name, EXPECTED, &other)),
        }
    }

    /// An object or `null`; the object may have the members `known`, read with their paths
    /// under `name`.
    pub(crate) fn nullable_object(
        &mut self,
        name: &'static str,
        known: &[&str],
    ) -> Result<Option<Option<Fields>>, ApiError> {
        match self.any(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::Object(members)) => Ok(Some(Some(Self::new(
                format!("{}.", self.path(name)),
                members,
                known,
            )?))),
            Some(other) => Err(self.wrong(name, "an object or null", &other)),
        }
    }

    /// Refuses a member the API knows but Weir does not support yet, unless absent or `null`.
    pub(crate) fn unsupported(&mut self, name: &'static str) -> Result<(), ApiError> {
        match self.any(name) {
            None | Some(Value::Null) => Ok(()),
            Some(_) => Err(self.error(name, "is not supported yet")),
        }
    }
}

/// One of `choices` (`(text, value)`) named by the string `text`.
pub(crate) fn choice<T: Copy>(
    path: &str,
    text: &str,
    choices: &[(&str, T)],
) -> Result<T, ApiError> {
    if let Some((_, value)) = choices.iter().find(|(name, _)| *name == text) {
        return Ok(*value);
    }
    let names: Vec<String> = choices
        .iter()
        .map(|(name, _)| format!("\"{name}\""))
        .collect();
    Err(ApiError::bad_request(format!(
        "{path} must be one of {}, not \"{text}\"",
        names.join(", ")
    )))
}

/// How a JSON value is named in messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(error: ApiError) -> String {
        assert_eq!(error.status(), 400);
        error.client_message()
    }

    fn fields(body: &str, known: &[&str]) -> Fields {
        Fields::parse(body.as_bytes(), known).unwrap()
    }

    #[test]
    fn body_must_be_a_json_object() {
        let parse = |body: &str| message(Fields::parse(body.as_bytes(), &[]).unwrap_err());
        assert_eq!(
            parse(""),
            "request body is missing; it must be a JSON object"
        );
        assert_eq!(
            parse("[]"),
            "request body must be a JSON object, not an array"
        );
        assert_eq!(
            parse("{\"a\":"),
            "request body is not valid JSON: EOF while parsing a value at line 1 column 5"
        );
        assert!(Fields::parse_or_empty(b"", &[]).is_ok());
        assert!(Fields::parse_or_empty(b"{}", &[]).is_ok());
    }

    #[test]
    fn wrong_types_name_the_member() {
        let mut body = fields(r#"{"name": 3, "enabled": "yes"}"#, &["name", "enabled"]);
        assert_eq!(
            message(body.string("name").unwrap_err()),
            "name must be a string, not a number"
        );
        assert_eq!(
            message(body.bool("enabled").unwrap_err()),
            "enabled must be a boolean, not a string"
        );
        let mut body = fields(r#"{"name": null}"#, &["name"]);
        assert_eq!(
            message(body.string("name").unwrap_err()),
            "name must be a string, not null"
        );
    }

    #[test]
    fn nested_members_have_dotted_paths() {
        let mut body = fields(r#"{"limit": {"rate": -1, "size": 1.5}}"#, &["limit"]);
        let limit = body.nullable_object("limit", &["rate", "size", "other"]);
        let mut limit = limit.unwrap().unwrap().unwrap();
        assert_eq!(
            message(limit.required_u64("rate").unwrap_err()),
            "limit.rate must be a non-negative integer, not -1"
        );
        assert_eq!(
            message(limit.required_u64("size").unwrap_err()),
            "limit.size must be a non-negative integer, not 1.5"
        );
        assert_eq!(
            message(limit.required_u64("other").unwrap_err()),
            "limit.other is required"
        );
        let mut body = fields(r#"{"limit": {"rate": 1, "extra": true}}"#, &["limit"]);
        assert_eq!(
            message(body.nullable_object("limit", &["rate"]).unwrap_err()),
            "unknown field \"limit.extra\"; the known fields are rate"
        );
    }

    #[test]
    fn null_and_absent_differ() {
        let mut body = fields(r#"{"a": null, "b": "x"}"#, &["a", "b", "c", "d"]);
        assert!(matches!(body.nullable_string("a"), Ok(Some(None))));
        assert!(matches!(body.nullable_string("b"), Ok(Some(Some(_)))));
        assert!(matches!(body.nullable_string("c"), Ok(None)));
        assert!(matches!(body.nullable_object("d", &[]), Ok(None)));
    }

    #[test]
    fn unknown_members_are_reported_first() {
        let error = Fields::parse(br#"{"nmae": "x"}"#, &["name", "role"]).unwrap_err();
        assert_eq!(
            message(error),
            "unknown field \"nmae\"; the known fields are name, role"
        );
        let error = Fields::parse_or_empty(br#"{"x": 1}"#, &[]).unwrap_err();
        assert_eq!(
            message(error),
            "unknown field \"x\"; no fields are allowed here"
        );
    }

    #[test]
    fn unsupported_members() {
        let known = ["settings", "profileSchema"];
        let mut body = fields(r#"{"settings": {}, "profileSchema": null}"#, &known);
        assert!(body.unsupported("profileSchema").is_ok());
        assert_eq!(
            message(body.unsupported("settings").unwrap_err()),
            "settings is not supported yet"
        );
    }

    #[test]
    fn choices() {
        let roles = [("Source", 1), ("Destination", 2)];
        assert_eq!(choice("role", "Source", &roles).unwrap(), 1);
        assert_eq!(
            message(choice("role", "source", &roles).unwrap_err()),
            "role must be one of \"Source\", \"Destination\", not \"source\""
        );
    }
}
