//! `query_events` on both backends: columns, order, first/limit, conditions, and the
//! validation errors.

use serde_json::{Value, json};
use weir_spec::{Event, EventType, Network, Screen};

use super::events::track;
use super::on_both_backends;
use crate::{Condition, Direction, EventQuery, Filter, Operator, Warehouse, WarehouseError};

on_both_backends!(
    columns_order_first_and_limit,
    conditions_on_every_kind_of_column,
    invalid_queries_name_the_field,
);

/// One seeded event: id, time of day, user id, screen width, wifi, screen density, whether
/// it is a page event, context IP.
type Row = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<i16>,
    Option<bool>,
    Option<f64>,
    bool,
    Option<&'static str>,
);

#[rustfmt::skip]
const ROWS: [Row; 6] = [
    ("q1", "10:00:01", Some("B"), Some(100), Some(false), Some(1.5), false, Some("10.0.0.1")),
    ("q2", "10:00:02", Some("a"), Some(200), Some(true), Some(2.0), true, None),
    ("q3", "10:00:03", Some("Z"), None, None, None, false, Some("2001:db8::1")),
    ("q4", "10:00:04", None, None, None, None, false, None),
    ("q5", "10:00:05.5", Some("B"), Some(50), None, None, false, None),
    ("q6", "10:00:06", Some("é"), None, None, None, false, None),
];

fn event(&(id, time, user, width, wifi, density, page, ip): &Row) -> Event {
    let mut event = track(id, "{}", &format!("2024-10-31T{time}Z"));
    event.user_id = user.map(String::from);
    event.context.ip = ip.map(String::from);
    if width.is_some() || density.is_some() {
        event.context.screen = Some(Screen {
            width,
            height: None,
            density,
        });
    }
    event.context.network = wifi.map(|wifi| Network {
        wifi: Some(wifi),
        ..Network::default()
    });
    if page {
        event.event_type = EventType::Page;
        event.event = None;
    }
    event
}

async fn seed(warehouse: &dyn Warehouse) {
    let events: Vec<Event> = ROWS.iter().map(event).collect();
    assert_eq!(warehouse.write_events(&events).await.unwrap(), ROWS.len());
}

/// The message ids `query` returns, in order.
async fn ids(warehouse: &dyn Warehouse, query: EventQuery) -> Vec<String> {
    let query = EventQuery {
        columns: vec!["message_id".into()],
        ..query
    };
    let rows = warehouse.query_events(query).await.unwrap().rows;
    rows.iter()
        .map(|row| row["message_id"].as_str().unwrap().to_string())
        .collect()
}

fn ordered(column: &str, direction: Direction) -> EventQuery {
    EventQuery {
        order: Some((column.into(), direction)),
        ..EventQuery::default()
    }
}

async fn columns_order_first_and_limit(warehouse: &dyn Warehouse) {
    seed(warehouse).await;
    // Default: newest first.
    assert_eq!(
        ids(warehouse, EventQuery::default()).await,
        ["q6", "q5", "q4", "q3", "q2", "q1"]
    );
    // Chosen columns, in the requested order, duplicates once.
    let query = EventQuery {
        columns: vec!["user_id".into(), "message_id".into(), "user_id".into()],
        limit: 1,
        ..EventQuery::default()
    };
    let rows = warehouse.query_events(query).await.unwrap();
    assert_eq!(rows.columns, ["user_id", "message_id"]);
    assert_eq!(
        rows.rows,
        [json!({"user_id": "é", "message_id": "q6"})
            .as_object()
            .unwrap()
            .clone()]
    );
    // Text by byte value, ties by (connection_id, message_id), NULLs last both ways.
    assert_eq!(
        ids(warehouse, ordered("user_id", Direction::Ascending)).await,
        ["q1", "q5", "q3", "q2", "q6", "q4"]
    );
    assert_eq!(
        ids(warehouse, ordered("user_id", Direction::Descending)).await,
        ["q6", "q2", "q3", "q5", "q1", "q4"]
    );
    assert_eq!(
        ids(
            warehouse,
            ordered("context_screen_width", Direction::Ascending)
        )
        .await[..3],
        ["q5", "q1", "q2"]
    );
    assert_eq!(
        ids(warehouse, ordered("type", Direction::Ascending)).await[0],
        "q2"
    );
    assert_eq!(
        ids(warehouse, ordered("context_ip", Direction::Descending)).await[..2],
        ["q3", "q1"]
    );
    // Paging.
    let page = EventQuery {
        first: 2,
        limit: 3,
        ..ordered("timestamp", Direction::Ascending)
    };
    assert_eq!(ids(warehouse, page).await, ["q3", "q4", "q5"]);
    let beyond = EventQuery {
        first: 6,
        ..EventQuery::default()
    };
    assert!(ids(warehouse, beyond).await.is_empty());
}

fn condition(column: &str, op: Operator, value: Option<Value>) -> Filter {
    Filter::Condition(Condition {
        column: column.into(),
        op,
        value,
    })
}

async fn matching(warehouse: &dyn Warehouse, filter: Filter) -> Vec<String> {
    let query = EventQuery {
        filter: Some(filter),
        ..ordered("timestamp", Direction::Ascending)
    };
    ids(warehouse, query).await
}

async fn conditions_on_every_kind_of_column(warehouse: &dyn Warehouse) {
    use Operator::*;
    seed(warehouse).await;
    let cases: Vec<(Filter, &[&str])> = vec![
        (condition("user_id", Eq, Some(json!("B"))), &["q1", "q5"]),
        (
            condition("user_id", Ne, Some(json!("B"))),
            &["q2", "q3", "q6"],
        ),
        (
            condition("user_id", Lt, Some(json!("a"))),
            &["q1", "q3", "q5"],
        ),
        (condition("user_id", Ge, Some(json!("a"))), &["q2", "q6"]),
        (condition("user_id", IsNull, None), &["q4"]),
        (
            condition("timestamp", Gt, Some(json!("2024-10-31T10:00:05Z"))),
            &["q5", "q6"],
        ),
        (
            condition("timestamp", Le, Some(json!("2024-10-31T10:00:02.000Z"))),
            &["q1", "q2"],
        ),
        (
            condition("timestamp", Eq, Some(json!("2024-10-31T11:00:05.5+01:00"))),
            &["q5"],
        ),
        // Finer than a millisecond: compared on the millisecond grid.
        (
            condition("timestamp", Lt, Some(json!("2024-10-31T10:00:04.0004Z"))),
            &["q1", "q2", "q3", "q4"],
        ),
        (
            condition("timestamp", Ge, Some(json!("2024-10-31T10:00:04.0004Z"))),
            &["q5", "q6"],
        ),
        (
            condition("timestamp", Eq, Some(json!("2024-10-31T10:00:04.0004Z"))),
            &[],
        ),
        (
            condition("context_network_wifi", Eq, Some(json!(false))),
            &["q1"],
        ),
        (
            condition("context_network_wifi", Ne, Some(json!(false))),
            &["q2"],
        ),
        (
            condition("context_screen_width", Gt, Some(json!(99))),
            &["q1", "q2"],
        ),
        (
            condition("context_screen_density", Eq, Some(json!(1.5))),
            &["q1"],
        ),
        (
            condition("context_screen_density", Ge, Some(json!(2))),
            &["q2"],
        ),
        (condition("type", Eq, Some(json!("page"))), &["q2"]),
        (condition("type", Eq, Some(json!("no such type"))), &[]),
        (
            condition("context_ip", Eq, Some(json!("10.0.0.1"))),
            &["q1"],
        ),
        (
            condition("context_ip", Eq, Some(json!("2001:DB8:0::1"))),
            &["q3"],
        ),
        (condition("kpid", IsNotNull, None), &[]),
        (
            condition("properties", IsNotNull, None),
            &["q1", "q2", "q3", "q4", "q5", "q6"],
        ),
        (
            Filter::Or(vec![
                Filter::And(vec![
                    condition("user_id", Eq, Some(json!("B"))),
                    condition("context_screen_width", Gt, Some(json!(60))),
                ]),
                condition("user_id", Eq, Some(json!("Z"))),
            ]),
            &["q1", "q3"],
        ),
        (Filter::And(vec![]), &["q1", "q2", "q3", "q4", "q5", "q6"]),
        (Filter::Or(vec![]), &[]),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            matching(warehouse, filter.clone()).await,
            expected,
            "{filter:?}"
        );
    }
}

async fn invalid_queries_name_the_field(warehouse: &dyn Warehouse) {
    use Operator::*;
    let field = |error: WarehouseError| match error {
        WarehouseError::InvalidQuery { field, .. } => field,
        other => panic!("not an invalid query: {other:?}"),
    };
    let check = async |query: EventQuery, expected: &str| {
        let error = warehouse.query_events(query.clone()).await.unwrap_err();
        assert!(!error.is_retryable());
        assert_eq!(field(error), expected, "{query:?}");
    };
    let filtered = |filter: Filter| EventQuery {
        filter: Some(filter),
        ..EventQuery::default()
    };
    check(
        EventQuery {
            limit: 0,
            ..EventQuery::default()
        },
        "limit",
    )
    .await;
    check(
        EventQuery {
            limit: 1001,
            ..EventQuery::default()
        },
        "limit",
    )
    .await;
    check(
        EventQuery {
            columns: vec!["nope".into()],
            ..EventQuery::default()
        },
        "columns",
    )
    .await;
    check(ordered("nope", Direction::Ascending), "order").await;
    check(ordered("properties", Direction::Ascending), "order").await;
    check(filtered(condition("nope", Eq, Some(json!("x")))), "filter").await;
    check(
        filtered(condition("context_screen_width", Eq, Some(json!("1")))),
        "filter",
    )
    .await;
    check(
        filtered(condition("context_screen_width", Eq, Some(json!(1.5)))),
        "filter",
    )
    .await;
    check(
        filtered(condition("context_network_wifi", Gt, Some(json!(true)))),
        "filter",
    )
    .await;
    check(
        filtered(condition("properties", Eq, Some(json!("{}")))),
        "filter",
    )
    .await;
    check(
        filtered(condition("user_id", IsNull, Some(json!("x")))),
        "filter",
    )
    .await;
    check(filtered(condition("user_id", Eq, None)), "filter").await;
    check(
        filtered(condition("context_ip", Eq, Some(json!("not an ip")))),
        "filter",
    )
    .await;
    check(
        filtered(condition("timestamp", Lt, Some(json!("yesterday")))),
        "filter",
    )
    .await;
    let mut deep = condition("user_id", IsNull, None);
    for _ in 0..40 {
        deep = Filter::And(vec![deep]);
    }
    check(filtered(deep), "filter").await;
    let error = warehouse
        .query_events(EventQuery {
            limit: 0,
            ..EventQuery::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "invalid limit: must be in 1..=1000");
}
