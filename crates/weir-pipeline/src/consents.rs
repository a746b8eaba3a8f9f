//! Required consents (`storage-and-pipelines.md` §5.1, messages of §11.1):
//! `{"operator":"and"|"or","purposes":[…]}` with at most 100 distinct purpose codes, checked
//! against the event's `context.consents`. No purposes → pass; `and` → every purpose is granted
//! (`true`); `or` → at least one; a purpose the event does not mention counts as not given.

use std::collections::BTreeSet;

use serde_json::Value;
use weir_spec::Event;

/// The most purposes a requirement may list.
pub const MAX_PURPOSES: usize = 100;

/// Validated required consents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredConsents {
    all: bool,
    purposes: Vec<String>,
}

/// Why required consents were rejected; `Display` is the management API's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConsentsError {
    message: String,
}

impl ConsentsError {
    fn new(message: impl Into<String>) -> ConsentsError {
        ConsentsError {
            message: message.into(),
        }
    }
}

/// Checks a `requiredConsents` JSON object.
pub fn validate_required_consents(value: &Value) -> Result<RequiredConsents, ConsentsError> {
    let object = value
        .as_object()
        .ok_or_else(|| ConsentsError::new("required consents must be a JSON object"))?;
    if let Some(key) = object
        .keys()
        .find(|key| !matches!(key.as_str(), "operator" | "purposes"))
    {
        return Err(ConsentsError::new(format!(
            "unknown member {} in required consents",
            Value::String(key.clone())
        )));
    }
    let all = match object.get("operator") {
        Some(Value::String(operator)) if operator == "and" => true,
        Some(Value::String(operator)) if operator == "or" => false,
        other => {
            let shown = match other {
                Some(Value::String(operator)) => operator.clone(),
                Some(value) => value.to_string(),
                None => String::new(),
            };
            return Err(ConsentsError::new(format!(
                "required consents operator {} is not valid. It must be \"and\" or \"or\"",
                Value::String(shown)
            )));
        }
    };
    let purposes = match object.get("purposes") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(purposes)) => purposes
            .iter()
            .map(|purpose| purpose.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                ConsentsError::new("required consent purposes must be an array of strings")
            })?,
        Some(_) => {
            return Err(ConsentsError::new(
                "required consent purposes must be an array of strings",
            ));
        }
    };
    let mut seen = BTreeSet::new();
    for purpose in &purposes {
        if purpose.is_empty() {
            return Err(ConsentsError::new(
                "required consent purpose cannot be empty",
            ));
        }
        if !seen.insert(purpose.as_str()) {
            return Err(ConsentsError::new(format!(
                "required consent purpose {} is duplicated",
                Value::String(purpose.clone())
            )));
        }
        if seen.len() > MAX_PURPOSES {
            return Err(ConsentsError::new(format!(
                "required consent purposes must be at most {MAX_PURPOSES}"
            )));
        }
    }
    Ok(RequiredConsents { all, purposes })
}

impl RequiredConsents {
    /// Whether `event` carries the required consents.
    pub fn allows(&self, event: &Event) -> bool {
        if self.purposes.is_empty() {
            return true;
        }
        let granted = |purpose: &String| {
            event
                .context
                .consents
                .as_ref()
                .and_then(|consents| consents.get(purpose))
                .copied()
                .unwrap_or(false)
        };
        if self.all {
            self.purposes.iter().all(granted)
        } else {
            self.purposes.iter().any(granted)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::test_support::event;

    fn consents(value: Value) -> RequiredConsents {
        validate_required_consents(&value).unwrap()
    }

    fn error(value: Value) -> String {
        validate_required_consents(&value).unwrap_err().to_string()
    }

    #[test]
    fn and_needs_every_purpose_granted() {
        let required = consents(json!({"operator": "and", "purposes": ["analytics", "ads"]}));
        let both = event(json!({"context": {"consents": {"analytics": true, "ads": true}}}));
        let one = event(json!({"context": {"consents": {"analytics": true, "ads": false}}}));
        let missing = event(json!({"context": {"consents": {"analytics": true}}}));
        let none = event(json!({}));
        assert!(required.allows(&both));
        assert!(!required.allows(&one));
        assert!(!required.allows(&missing));
        assert!(!required.allows(&none));
    }

    #[test]
    fn or_needs_one_purpose_granted() {
        let required = consents(json!({"operator": "or", "purposes": ["analytics", "ads"]}));
        let one = event(json!({"context": {"consents": {"analytics": false, "ads": true}}}));
        let refused = event(json!({"context": {"consents": {"analytics": false, "ads": false}}}));
        assert!(required.allows(&one));
        assert!(!required.allows(&refused));
        assert!(!required.allows(&event(json!({}))));
    }

    #[test]
    fn no_purposes_pass_everything() {
        for required in [
            consents(json!({"operator": "and", "purposes": []})),
            consents(json!({"operator": "or"})),
        ] {
            assert!(required.allows(&event(json!({}))));
        }
    }

    #[test]
    fn invalid_requirements_are_named() {
        assert_eq!(
            error(json!({"operator": "xor", "purposes": ["a"]})),
            r#"required consents operator "xor" is not valid. It must be "and" or "or""#
        );
        assert_eq!(
            error(json!({"purposes": ["a"]})),
            r#"required consents operator "" is not valid. It must be "and" or "or""#
        );
        assert_eq!(
            error(json!({"operator": "and", "purposes": ["a", "b", "a"]})),
            r#"required consent purpose "a" is duplicated"#
        );
        let many: Vec<String> = (0..=MAX_PURPOSES).map(|i| format!("p{i}")).collect();
        assert_eq!(
            error(json!({"operator": "or", "purposes": many})),
            "required consent purposes must be at most 100"
        );
        let exactly: Vec<String> = (0..MAX_PURPOSES).map(|i| format!("p{i}")).collect();
        assert!(
            validate_required_consents(&json!({"operator": "or", "purposes": exactly})).is_ok()
        );
        assert_eq!(
            error(json!({"operator": "or", "purposes": [1]})),
            "required consent purposes must be an array of strings"
        );
        assert_eq!(
            error(json!({"operator": "or", "purposes": [""]})),
            "required consent purpose cannot be empty"
        );
        assert_eq!(
            error(json!({"operator": "or", "extra": true})),
            r#"unknown member "extra" in required consents"#
        );
        assert_eq!(
            error(json!(["and"])),
            "required consents must be a JSON object"
        );
    }
}
