//! Every operator: positive, negative and missing-value cases, and `and`/`or`.

use serde_json::{Value, json};

use super::{check, condition, event, minimal, rich};
use crate::filter::validate_filter;

#[test]
fn is_and_is_not() {
    check(
        &rich(),
        &[
            ("type", "is", &["track"], true),
            ("type", "is", &["page"], false),
            ("userId", "is", &["user-42"], true),
            ("context.screen.width", "is", &["1920"], true),
            ("context.screen.width", "is", &["1921"], false),
            ("context.session.id", "is", &["1700000000000"], true),
            ("context.location.latitude", "is", &["45.50"], true),
            ("context.location.latitude", "is", &["45.4"], false),
            ("context.screen.density", "is", &["1.50"], true),
            ("context.screen.density", "is", &["1.51"], false),
            ("timestamp", "is", &["2025-03-01T12:59:59+01:00"], true),
            ("timestamp", "is", &["2025-03-01T11:59:58Z"], false),
            ("context.ip", "is", &["192.168.1.10"], true),
            ("context.ip", "is", &["192.168.1.11"], false),
            ("context.browser.name", "is", &["Chrome"], true),
            ("properties.price", "is", &["19.9"], true),
            ("properties.plan", "is", &["Enterprise"], true),
            ("properties.count", "is", &["10"], true),
            ("properties.count", "is", &["10.0"], false),
            ("properties.big", "is", &["123456789012345678901234"], true),
            ("properties.big", "is", &["123456789012345678901235"], false),
            ("properties.flag", "is", &["true"], false),
            ("properties.none", "is", &["null"], false),
            ("properties.nested.level.deep", "is", &["yes"], true),
            ("traits.email", "is", &["a@example.com"], true),
            ("type", "is not", &["page"], true),
            ("type", "is not", &["track"], false),
            ("properties.flag", "is not", &["true"], true),
        ],
    );
    check(
        &minimal(),
        &[
            ("channel", "is", &["web"], false),
            (
                "kpid",
                "is",
                &["3e5d3f2a-1b2c-4d5e-8f90-0123456789ab"],
                false,
            ),
            ("properties.missing", "is", &["x"], false),
            ("context.ip", "is", &["192.168.1.10"], false),
            ("userId", "is not", &["user-42"], true),
            ("properties.missing", "is not", &["x"], true),
        ],
    );
}

#[test]
fn ordered_comparisons() {
    check(
        &rich(),
        &[
            ("context.screen.width", "is less than", &["2000"], true),
            ("context.screen.width", "is less than", &["1920"], false),
            (
                "context.screen.width",
                "is less than or equal to",
                &["1920"],
                true,
            ),
            (
                "context.screen.width",
                "is less than or equal to",
                &["1919"],
                false,
            ),
            ("context.screen.width", "is greater than", &["1919"], true),
            ("context.screen.width", "is greater than", &["1920"], false),
            (
                "context.screen.width",
                "is greater than or equal to",
                &["1920"],
                true,
            ),
            (
                "context.screen.width",
                "is greater than or equal to",
                &["1921"],
                false,
            ),
            (
                "context.location.latitude",
                "is greater than",
                &["45.49"],
                true,
            ),
            ("context.screen.density", "is less than", &["2"], true),
            // Strings compare by bytes: 'u' sorts after 'U'.
            ("userId", "is greater than", &["user-1"], true),
            ("userId", "is less than", &["User"], false),
            // JSON numbers compare numerically, JSON strings by text.
            ("properties.price", "is greater than", &["9.99"], true),
            ("properties.price", "is less than", &["abc"], false),
            ("properties.count", "is less than", &["9"], true),
            (
                "properties.big",
                "is greater than",
                &["123456789012345678901233"],
                true,
            ),
            ("properties.flag", "is greater than", &["0"], false),
        ],
    );
    check(
        &minimal(),
        &[
            ("context.screen.height", "is less than", &["5"], false),
            (
                "context.screen.height",
                "is greater than or equal to",
                &["0"],
                false,
            ),
            ("properties.price", "is greater than", &["0"], false),
        ],
    );
}

#[test]
fn between() {
    check(
        &rich(),
        &[
            (
                "context.screen.width",
                "is between",
                &["1000", "1920"],
                true,
            ),
            (
                "context.screen.width",
                "is between",
                &["1921", "3000"],
                false,
            ),
            (
                "timestamp",
                "is between",
                &["2025-03-01", "2025-03-02"],
                true,
            ),
            (
                "timestamp",
                "is between",
                &["2025-03-02", "2025-03-03"],
                false,
            ),
            ("userId", "is between", &["user-1", "user-5"], true),
            ("properties.price", "is between", &["10", "20"], true),
            ("properties.price", "is between", &["20", "30"], false),
            (
                "context.screen.width",
                "is not between",
                &["1921", "3000"],
                true,
            ),
            (
                "context.screen.width",
                "is not between",
                &["1000", "1920"],
                false,
            ),
        ],
    );
    check(
        &minimal(),
        &[
            ("context.screen.width", "is between", &["0", "5000"], false),
            (
                "context.screen.width",
                "is not between",
                &["0", "5000"],
                true,
            ),
        ],
    );
}

#[test]
fn contains() {
    check(
        &rich(),
        &[
            ("event", "contains", &["Order"], true),
            ("event", "contains", &["order"], false),
            ("properties.plan", "contains", &["terp"], true),
            ("properties.tags", "contains", &["blue"], true),
            ("properties.tags", "contains", &["3"], true),
            ("properties.tags", "contains", &["green"], false),
            ("properties.price", "contains", &["19"], false),
            ("event", "does not contain", &["Order"], false),
            ("properties.tags", "does not contain", &["green"], true),
        ],
    );
    check(
        &minimal(),
        &[
            ("name", "contains", &["x"], false),
            ("properties.tags", "contains", &["red"], false),
            ("name", "does not contain", &["x"], true),
        ],
    );
}

#[test]
fn one_of() {
    check(
        &rich(),
        &[
            ("type", "is one of", &["page", "track"], true),
            ("type", "is one of", &["page", "screen"], false),
            ("context.screen.width", "is one of", &["1", "1920"], true),
            (
                "properties.plan",
                "is one of",
                &["Free", "Enterprise"],
                true,
            ),
            ("properties.price", "is one of", &["19.90", "5"], true),
            ("type", "is not one of", &["page", "screen"], true),
            ("type", "is not one of", &["track"], false),
        ],
    );
    check(
        &minimal(),
        &[
            ("userId", "is one of", &["a", "b"], false),
            ("userId", "is not one of", &["a", "b"], true),
        ],
    );
}

#[test]
fn starts_and_ends_with() {
    check(
        &rich(),
        &[
            ("event", "starts with", &["Order"], true),
            ("event", "starts with", &["Completed"], false),
            ("event", "ends with", &["Completed"], true),
            ("event", "ends with", &["Order"], false),
            ("properties.plan", "starts with", &["Enter"], true),
            ("traits.email", "ends with", &["@example.com"], true),
            ("properties.price", "starts with", &["19"], false),
        ],
    );
    check(
        &minimal(),
        &[
            ("userId", "starts with", &["u"], false),
            ("userId", "ends with", &["2"], false),
        ],
    );
}

#[test]
fn time_comparisons() {
    check(
        &rich(),
        &[
            ("timestamp", "is before", &["2025-03-01T12:00:00Z"], true),
            ("timestamp", "is before", &["2025-03-01T11:59:59Z"], false),
            (
                "timestamp",
                "is on or before",
                &["2025-03-01T11:59:59Z"],
                true,
            ),
            (
                "timestamp",
                "is on or before",
                &["2025-03-01T11:00:00Z"],
                false,
            ),
            ("timestamp", "is after", &["2025-03-01T11:00:00Z"], true),
            ("timestamp", "is after", &["2025-03-02"], false),
            (
                "timestamp",
                "is on or after",
                &["2025-03-01T11:59:59Z"],
                true,
            ),
            (
                "timestamp",
                "is on or after",
                &["2025-03-01T12:00:00Z"],
                false,
            ),
            (
                "receivedAt",
                "is after",
                &["2025-03-01T12:00:00.122Z"],
                true,
            ),
            (
                "properties.when",
                "is after",
                &["2025-03-01T09:00:00Z"],
                true,
            ),
            (
                "properties.when",
                "is before",
                &["2025-03-01T09:00:00Z"],
                false,
            ),
            ("properties.when", "is after", &["soon"], false),
            ("properties.plan", "is after", &["2025"], false),
            ("properties.price", "is after", &["2025"], false),
        ],
    );
    check(
        &minimal(),
        &[
            ("properties.when", "is before", &["2030"], false),
            ("properties.when", "is on or after", &["2000"], false),
        ],
    );
}

#[test]
fn true_and_false() {
    check(
        &rich(),
        &[
            ("context.session.start", "is true", &[], true),
            ("context.session.start", "is false", &[], false),
            ("context.device.adTrackingEnabled", "is false", &[], true),
            ("context.device.adTrackingEnabled", "is true", &[], false),
            ("properties.flag", "is true", &[], true),
            ("properties.plan", "is true", &[], false),
            ("context.consents.analytics", "is true", &[], true),
            ("context.consents.ads", "is false", &[], true),
            ("context.consents.unknown", "is true", &[], false),
        ],
    );
    check(
        &minimal(),
        &[
            ("context.session.start", "is true", &[], false),
            ("context.network.wifi", "is false", &[], false),
        ],
    );
}

#[test]
fn empty_and_not_empty() {
    check(
        &rich(),
        &[
            ("properties.empty", "is empty", &[], true),
            ("properties.none", "is empty", &[], true),
            ("properties.emptyList", "is empty", &[], true),
            ("properties.emptyObject", "is empty", &[], true),
            ("properties.plan", "is empty", &[], false),
            ("properties.tags", "is empty", &[], false),
            ("properties.nested", "is empty", &[], false),
            ("channel", "is empty", &[], false),
            ("context.consents", "is empty", &[], false),
            ("traits", "is empty", &[], false),
            ("properties.plan", "is not empty", &[], true),
            ("properties.empty", "is not empty", &[], false),
        ],
    );
    check(
        &minimal(),
        &[
            ("properties.missing", "is empty", &[], true),
            ("channel", "is empty", &[], true),
            ("context.consents", "is empty", &[], true),
            ("traits", "is empty", &[], true),
            ("properties", "is empty", &[], true),
            ("properties.missing", "is not empty", &[], false),
        ],
    );
}

#[test]
fn null_and_not_null() {
    check(
        &rich(),
        &[
            ("properties.none", "is null", &[], true),
            ("properties.plan", "is null", &[], false),
            ("properties.plan", "is not null", &[], true),
            ("properties.none", "is not null", &[], false),
        ],
    );
    check(
        &minimal(),
        &[
            ("properties.missing", "is null", &[], false),
            ("properties.missing", "is not null", &[], true),
        ],
    );
}

#[test]
fn exists_and_does_not_exist() {
    check(
        &rich(),
        &[
            ("userId", "exists", &[], true),
            ("context", "exists", &[], true),
            ("context.browser", "exists", &[], true),
            ("properties.nested.level.deep", "exists", &[], true),
            ("properties.nested.level.other", "exists", &[], false),
            ("properties.items.sku", "exists", &[], false),
            ("properties.none", "exists", &[], true),
            ("context.consents.ads", "exists", &[], true),
            ("userId", "does not exist", &[], false),
            ("properties.nested.level.other", "does not exist", &[], true),
        ],
    );
    let without_properties = event(json!({"type": "identify", "event": null, "properties": null}));
    check(
        &without_properties,
        &[
            ("userId", "exists", &[], false),
            ("context", "exists", &[], false),
            ("properties", "exists", &[], false),
            ("properties.plan", "exists", &[], false),
            ("kpid", "exists", &[], false),
            ("userId", "does not exist", &[], true),
            ("context.page", "does not exist", &[], true),
        ],
    );
}

#[test]
fn logical_and_or() {
    let yes = condition("type", "is", &["track"]);
    let no = condition("type", "is", &["page"]);
    let filter = |logical: &str, conditions: Vec<Value>| {
        validate_filter(&json!({"logical": logical, "conditions": conditions})).unwrap()
    };
    let event = rich();
    assert!(filter("and", vec![yes.clone(), yes.clone()]).matches(&event));
    assert!(!filter("and", vec![yes.clone(), no.clone()]).matches(&event));
    assert!(filter("or", vec![no.clone(), yes.clone()]).matches(&event));
    assert!(!filter("or", vec![no.clone(), no]).matches(&event));
    assert!(filter("or", vec![yes]).matches(&event));
}

#[test]
fn the_users_pipeline_default_filter() {
    let filter = validate_filter(&json!({"logical": "or", "conditions": [
        {"property": "type", "operator": "is", "values": ["identify"]},
        {"property": "traits", "operator": "is not empty"},
    ]}))
    .unwrap();
    assert!(filter.matches(&event(
        json!({"type": "identify", "event": null, "properties": null})
    )));
    assert!(filter.matches(&event(json!({"traits": {"email": "a@b.c"}}))));
    assert!(!filter.matches(&minimal()));
}
