//! Checks shared by the entities: names (1..60 Unicode characters) and JSON members that must be
//! objects. Each is a pure function whose error names the field, as the management API reports it.

use serde_json::Value;

use crate::CatalogError;

/// The longest name of a workspace, connection, pipeline or API key, in Unicode characters.
pub const NAME_MAX_CHARS: usize = 60;

/// Checks a name: 1 to 60 Unicode characters, without U+0000 (which PostgreSQL cannot store).
pub(crate) fn name(field: &'static str, value: &str) -> Result<(), CatalogError> {
    if value.is_empty() {
        return Err(CatalogError::invalid(
            field,
            format!("{field} cannot be empty"),
        ));
    }
    let chars = value.chars().count();
    if chars > NAME_MAX_CHARS {
        return Err(CatalogError::invalid(
            field,
            format!("{field} must be at most {NAME_MAX_CHARS} characters long, not {chars}"),
        ));
    }
    if value.contains('\0') {
        return Err(CatalogError::invalid(
            field,
            format!("{field} cannot contain the NUL character"),
        ));
    }
    Ok(())
}

/// Checks an optional JSON member that must be an object when present; JSON `null` counts as
/// absent. Its meaning (a filter, a mapping, consents) is checked by the pipeline crate.
pub(crate) fn json_object(
    field: &'static str,
    value: Option<Value>,
) -> Result<Option<Value>, CatalogError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(object @ Value::Object(_)) => Ok(Some(object)),
        Some(_) => Err(CatalogError::invalid(
            field,
            format!("{field} must be a JSON object or null"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_name(value: &str, expected: Option<&str>) {
        let got = name("name", value).err().map(|e| e.client_message());
        assert_eq!(got.as_deref(), expected, "{value:?}");
    }

    #[test]
    fn accepts_one_character() {
        check_name("a", None);
    }

    #[test]
    fn accepts_sixty_characters_of_several_bytes() {
        check_name(&"é".repeat(60), None);
    }

    #[test]
    fn rejects_empty() {
        check_name("", Some("name cannot be empty"));
    }

    #[test]
    fn rejects_sixty_one_characters() {
        check_name(
            &"x".repeat(61),
            Some("name must be at most 60 characters long, not 61"),
        );
    }

    #[test]
    fn rejects_nul() {
        check_name("a\0b", Some("name cannot contain the NUL character"));
    }

    #[test]
    fn error_names_the_field() {
        let error = name("workspace name", "").unwrap_err();
        assert!(
            matches!(
                error,
                CatalogError::Invalid {
                    field: "workspace name",
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn json_objects() {
        assert_eq!(json_object("filter", None).unwrap(), None);
        assert_eq!(json_object("filter", Some(Value::Null)).unwrap(), None);
        let object = json!({"logical": "and"});
        assert_eq!(
            json_object("filter", Some(object.clone())).unwrap(),
            Some(object)
        );
        for bad in [json!([]), json!("x"), json!(1), json!(true)] {
            let error = json_object("filter", Some(bad)).unwrap_err();
            assert_eq!(
                error.client_message(),
                "filter must be a JSON object or null"
            );
        }
    }
}
