//! Every validation message, and the edge values that are accepted.

use serde_json::{Value, json};

use super::{condition, condition_error, error};
use crate::filter::{MAX_CONDITIONS, validate_filter};

#[test]
fn structure_errors() {
    let valid = condition("type", "is", &["track"]);
    let cases = [
        (json!([]), "filter must be a JSON object"),
        (
            json!({"conditions": [valid]}),
            "logical operator is missing",
        ),
        (
            json!({"logical": 1, "conditions": [valid]}),
            "logical operator must be a string",
        ),
        (
            json!({"logical": "xor", "conditions": [valid]}),
            r#"invalid logical operator "xor""#,
        ),
        (
            json!({"logical": "AND", "conditions": [valid]}),
            r#"invalid logical operator "AND""#,
        ),
        (json!({"logical": "and"}), "conditions are missing"),
        (
            json!({"logical": "and", "conditions": []}),
            "conditions are missing",
        ),
        (
            json!({"logical": "and", "conditions": {}}),
            "conditions must be an array",
        ),
        (
            json!({"logical": "and", "conditions": [valid], "x": 1}),
            r#"unknown member "x" in filter"#,
        ),
        (
            json!({"logical": "and", "conditions": ["type"]}),
            "condition must be a JSON object",
        ),
        (
            json!({"logical": "and", "conditions": [{"property": "type", "operator": "is", "value": ["x"]}]}),
            r#"unknown member "value" in filter"#,
        ),
        (
            json!({"logical": "and", "conditions": [{"property": 1, "operator": "is"}]}),
            "property must be a string",
        ),
        (
            json!({"logical": "and", "conditions": [{"operator": "is", "values": ["x"]}]}),
            "property path is not valid",
        ),
        (
            json!({"logical": "and", "conditions": [{"property": "type", "values": ["x"]}]}),
            "operator is missing",
        ),
        (
            json!({"logical": "and", "conditions": [{"property": "type", "operator": 1}]}),
            "operator must be a string",
        ),
        (
            json!({"logical": "and", "conditions": [{"property": "type", "operator": "is", "values": "track"}]}),
            "values must be an array of strings",
        ),
        (
            json!({"logical": "and", "conditions": [{"property": "type", "operator": "is", "values": [1]}]}),
            "values must be an array of strings",
        ),
    ];
    for (filter, reason) in cases {
        assert_eq!(
            error(filter.clone()),
            format!("filter is not valid: {reason}"),
            "{filter}"
        );
    }
    let many: Vec<Value> = (0..=MAX_CONDITIONS)
        .map(|_| condition("type", "is", &["track"]))
        .collect();
    assert_eq!(
        error(json!({"logical": "and", "conditions": many})),
        "filter is not valid: conditions cannot be more than 100"
    );
    let reason = validate_filter(&json!({"logical": "or"})).unwrap_err();
    assert_eq!(reason.reason(), "conditions are missing");
}

#[test]
fn path_errors() {
    for path in [
        "",
        "a..b",
        ".type",
        "type.",
        "1abc",
        "properties.a-b",
        "context. app",
    ] {
        assert_eq!(
            condition_error(path, "exists", &[]),
            "filter is not valid: property path is not valid",
            "{path:?}"
        );
    }
    for path in [
        "nope",
        "context.app.foo",
        "userId.x",
        "context.consents.a.b",
        "Type",
    ] {
        assert_eq!(
            condition_error(path, "exists", &[]),
            format!("filter is not valid: property path \"{path}\" does not exist"),
        );
    }
}

#[test]
fn operator_errors() {
    let cases: &[(&str, &str, &[&str], &str)] = &[
        (
            "type",
            "equals",
            &["x"],
            r#"operator "equals" is not valid"#,
        ),
        (
            "userId",
            "is true",
            &[],
            r#"operator "is true" cannot be used with string properties"#,
        ),
        (
            "context.session.start",
            "is",
            &["true"],
            r#"operator "is" cannot be used with boolean properties"#,
        ),
        (
            "context.consents",
            "is not",
            &["x"],
            r#"operator "is not" cannot be used with map properties"#,
        ),
        (
            "context.app",
            "is",
            &["x"],
            r#"operator "is" cannot be used with object properties"#,
        ),
        (
            "timestamp",
            "is less than",
            &["2025"],
            r#"operator "is less than" cannot be used with datetime properties"#,
        ),
        (
            "context.ip",
            "is between",
            &["1.1.1.1", "2.2.2.2"],
            r#"operator "is between" cannot be used with ip properties"#,
        ),
        (
            "kpid",
            "is one of",
            &["x"],
            r#"operator "is one of" cannot be used with uuid properties"#,
        ),
        (
            "context.screen.width",
            "contains",
            &["1"],
            r#"operator "contains" cannot be used with int properties"#,
        ),
        (
            "context.location.speed",
            "starts with",
            &["1"],
            r#"operator "starts with" cannot be used with float properties"#,
        ),
        (
            "userId",
            "is before",
            &["2025"],
            r#"operator "is before" cannot be used with string properties"#,
        ),
        (
            "context.screen.density",
            "is after",
            &["2025"],
            r#"operator "is after" cannot be used with decimal properties"#,
        ),
        (
            "context.app",
            "is empty",
            &[],
            r#"operator "is empty" cannot be used with object properties"#,
        ),
        (
            "timestamp",
            "is not empty",
            &[],
            r#"operator "is not empty" cannot be used with datetime properties"#,
        ),
        (
            "userId",
            "is null",
            &[],
            r#"operator "is null" cannot be used with string properties"#,
        ),
        (
            "context.app",
            "is not null",
            &[],
            r#"operator "is not null" cannot be used with object properties"#,
        ),
        (
            "type",
            "exists",
            &[],
            r#"operator "exists" can only be used with read-optional properties or with json properties that include a JSON path"#,
        ),
        (
            "traits",
            "does not exist",
            &[],
            r#"operator "does not exist" can only be used with read-optional properties or with json properties that include a JSON path"#,
        ),
    ];
    for &(property, operator, values, reason) in cases {
        assert_eq!(
            condition_error(property, operator, values),
            format!("filter is not valid: {reason}"),
        );
    }
}

#[test]
fn value_count_errors() {
    let cases: &[(&str, &str, &[&str], &str)] = &[
        (
            "userId",
            "exists",
            &["x"],
            r#"values cannot be used with the operator "exists""#,
        ),
        (
            "properties.a",
            "is null",
            &["x"],
            r#"values cannot be used with the operator "is null""#,
        ),
        (
            "userId",
            "is",
            &[],
            r#"only one value can be used with the operator "is""#,
        ),
        (
            "userId",
            "is",
            &["a", "b"],
            r#"only one value can be used with the operator "is""#,
        ),
        (
            "userId",
            "contains",
            &["a", "b"],
            r#"only one value can be used with the operator "contains""#,
        ),
        (
            "userId",
            "is between",
            &["a"],
            r#"two values must be used with the operator "is between""#,
        ),
        (
            "userId",
            "is not between",
            &["a", "b", "c"],
            r#"two values must be used with the operator "is not between""#,
        ),
        (
            "userId",
            "is one of",
            &[],
            r#"at least one value must be used with the operator "is one of""#,
        ),
        (
            "userId",
            "is not one of",
            &[],
            r#"at least one value must be used with the operator "is not one of""#,
        ),
    ];
    for &(property, operator, values, reason) in cases {
        assert_eq!(
            condition_error(property, operator, values),
            format!("filter is not valid: {reason}"),
        );
    }
    // An empty `values` array counts as no values.
    let filter = json!({"logical": "and", "conditions": [{"property": "userId", "operator": "exists", "values": []}]});
    assert!(validate_filter(&filter).is_ok());
}

#[test]
fn value_errors() {
    let long = "é".repeat(61);
    let sixty = "é".repeat(60);
    let cases: &[(&str, &str, &[&str], &str)] = &[
        (
            "type",
            "is",
            &["click"],
            r#"value of the "type" property is not among the allowed values"#,
        ),
        (
            "type",
            "is one of",
            &["track", "Track"],
            r#"value of the "type" property is not among the allowed values"#,
        ),
        (
            "context.browser.name",
            "is",
            &["chrome"],
            r#"value of the "context.browser.name" property is not among the allowed values"#,
        ),
        (
            "context.os.name",
            "is",
            &["MacOS"],
            r#"value of the "context.os.name" property is not among the allowed values"#,
        ),
        (
            "context.screen.width",
            "is",
            &["12.5"],
            r#"value of the "context.screen.width" property is not a valid int"#,
        ),
        (
            "context.session.id",
            "is",
            &["99999999999999999999"],
            r#"value of the "context.session.id" property is not a valid int"#,
        ),
        (
            "context.location.latitude",
            "is",
            &["abc"],
            r#"value of the "context.location.latitude" property is not a valid float"#,
        ),
        (
            "context.location.latitude",
            "is",
            &["inf"],
            r#"value of the "context.location.latitude" property is not a valid float"#,
        ),
        (
            "context.location.latitude",
            "is",
            &["1e999"],
            r#"value of the "context.location.latitude" property is not a valid float"#,
        ),
        (
            "context.screen.density",
            "is",
            &["1e2"],
            r#"value of the "context.screen.density" property is not a valid decimal"#,
        ),
        (
            "timestamp",
            "is",
            &["yesterday"],
            r#"value of the "timestamp" property is not a valid datetime"#,
        ),
        (
            "timestamp",
            "is after",
            &["0000-01-01T00:00:00"],
            r#"value of the "timestamp" property is not a valid datetime"#,
        ),
        (
            "timestamp",
            "is between",
            &["2025", "10000-01-01"],
            r#"value of the "timestamp" property is not a valid datetime"#,
        ),
        (
            "kpid",
            "is",
            &["not-a-uuid"],
            r#"value of the "kpid" property is not a valid uuid"#,
        ),
        (
            "context.ip",
            "is",
            &["300.1.1.1"],
            r#"value of the "context.ip" property is not a valid ip"#,
        ),
        (
            "userId",
            "is",
            &[&long],
            "condition value is longer than 60 characters",
        ),
        (
            "userId",
            "is",
            &["a\u{0}b"],
            "condition value contains the NUL byte",
        ),
        (
            "properties.a",
            "is",
            &["a\u{0}b"],
            "condition value contains the NUL byte",
        ),
    ];
    for &(property, operator, values, reason) in cases {
        assert_eq!(
            condition_error(property, operator, values),
            format!("filter is not valid: {reason}"),
            "{property} {operator} {values:?}"
        );
    }
    // Accepted edge values.
    for (property, operator, values) in [
        ("userId", "is", vec![sixty.as_str()]),
        ("context.location.latitude", "is", vec!["-1.5e1"]),
        ("context.screen.width", "is", vec!["-7"]),
        ("kpid", "is", vec!["3E5D3F2A-1B2C-4D5E-8F90-0123456789AB"]),
        ("context.ip", "is", vec!["::1"]),
        ("timestamp", "is", vec!["2024-297Z"]),
        ("properties.price", "is", vec!["not a number"]),
        ("context.consents.analytics", "is true", vec![]),
    ] {
        let filter =
            json!({"logical": "and", "conditions": [condition(property, operator, &values)]});
        assert!(validate_filter(&filter).is_ok(), "{filter}");
    }
}
