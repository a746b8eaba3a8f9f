//! Resetting a consumer's cursor (a replay): it moves the cursor back or forward, is durable,
//! and an ack queued before it cannot undo it.

use std::future::Future;
use std::task::Poll;

use super::{data_dir, event, open};
use crate::{EventLog, LogError};

#[tokio::test]
async fn a_reset_moves_a_cursor_back_durably_and_acks_continue_from_it() {
    let dir = data_dir();
    let log = open(&dir);
    log.append(vec![event("a"), event("b"), event("c")])
        .await
        .unwrap();
    log.ack("pipeline-a", 3).await.unwrap();
    log.ack("pipeline-b", 3).await.unwrap();

    log.reset_cursor("pipeline-a", 1).await.unwrap();
    assert_eq!(log.cursor("pipeline-a").await.unwrap(), Some(1));
    assert_eq!(
        log.cursor("pipeline-b").await.unwrap(),
        Some(3),
        "other consumers keep their cursor"
    );
    // Acks only move forward from the reset cursor.
    log.ack("pipeline-a", 0).await.unwrap();
    assert_eq!(log.cursor("pipeline-a").await.unwrap(), Some(1));
    log.ack("pipeline-a", 2).await.unwrap();
    assert_eq!(log.cursor("pipeline-a").await.unwrap(), Some(2));
    log.reset_cursor("pipeline-a", 0).await.unwrap();
    log.close().await.unwrap();

    let log = open(&dir);
    assert_eq!(log.cursor("pipeline-a").await.unwrap(), Some(0));
    assert_eq!(log.cursor("pipeline-b").await.unwrap(), Some(3));
    log.close().await.unwrap();
}

#[tokio::test]
async fn a_reset_creates_the_cursor_of_a_consumer_that_never_acknowledged() {
    let dir = data_dir();
    let log = open(&dir);
    log.append(vec![event("a"), event("b")]).await.unwrap();
    log.reset_cursor("new-consumer", 1).await.unwrap();
    assert_eq!(log.cursor("new-consumer").await.unwrap(), Some(1));
    // A reset may also move a cursor forward.
    log.reset_cursor("new-consumer", 2).await.unwrap();
    assert_eq!(log.cursor("new-consumer").await.unwrap(), Some(2));
    log.close().await.unwrap();
}

#[tokio::test]
async fn an_ack_queued_before_a_reset_is_applied_before_it() {
    let dir = data_dir();
    let log = open(&dir);
    log.append(vec![event("a"), event("b"), event("c")])
        .await
        .unwrap();
    log.ack("pipeline-a", 1).await.unwrap();
    // Polled once, the ack is handed to the writer but not yet answered, like the last ack of
    // a consumer that was stopped while acknowledging.
    let mut ack = std::pin::pin!(log.ack("pipeline-a", 3));
    let first_poll = std::future::poll_fn(|cx| Poll::Ready(ack.as_mut().poll(cx))).await;
    log.reset_cursor("pipeline-a", 0).await.unwrap();
    match first_poll {
        Poll::Ready(acked) => acked.unwrap(),
        Poll::Pending => ack.await.unwrap(),
    }
    assert_eq!(log.cursor("pipeline-a").await.unwrap(), Some(0));
    log.close().await.unwrap();
}

#[tokio::test]
async fn a_reset_on_a_closed_log_fails() {
    let dir = data_dir();
    let log = open(&dir);
    log.close().await.unwrap();
    assert_eq!(
        log.reset_cursor("pipeline-a", 0).await,
        Err(LogError::Closed)
    );
}
