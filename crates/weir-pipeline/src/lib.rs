//! The pipeline engine: each enabled pipeline tails the event log from its own durable cursor,
//! filters and transforms events and hands them to its target (warehouse or destination).
//! Delivery is at-least-once; the cursor advances only after the target has committed.
