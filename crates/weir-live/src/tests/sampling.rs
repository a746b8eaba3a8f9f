//! Listener buffers: reservoir sampling, `omitted`, ordering by `receivedAt` and reset on read.

use super::*;
use crate::ListenerSpec;

fn listener(live: &LiveEvents, size: usize) -> String {
    live.create(
        WORKSPACE,
        ListenerSpec {
            size,
            ..ListenerSpec::default()
        },
    )
    .unwrap()
    .into()
}

fn publish_numbered(live: &LiveEvents, range: std::ops::Range<usize>) {
    let entries = range
        .map(|i| accepted(SOURCE_A, &i.to_string(), 0))
        .collect();
    live.publish(WORKSPACE, entries);
}

#[test]
fn first_size_entries_are_kept_in_order() {
    let live = hub();
    let id = listener(&live, 3);
    publish_numbered(&live, 0..2);
    publish_numbered(&live, 2..3);
    let read = live.read(WORKSPACE, &id).unwrap();
    assert_eq!(labels(&read), ["0", "1", "2"]);
    assert_eq!(read.omitted, 0);
}

#[test]
fn omitted_counts_entries_seen_but_not_returned() {
    let live = hub();
    let id = listener(&live, 10);
    publish_numbered(&live, 0..25);
    let read = live.read(WORKSPACE, &id).unwrap();
    assert_eq!(read.events.len(), 10);
    assert_eq!(read.omitted, 15);
    let mut kept = labels(&read);
    kept.sort();
    kept.dedup();
    assert_eq!(kept.len(), 10, "no entry is returned twice");
}

#[test]
fn read_resets_buffer_and_counters() {
    let live = hub();
    let id = listener(&live, 2);
    publish_numbered(&live, 0..50);
    assert_eq!(live.read(WORKSPACE, &id).unwrap().omitted, 48);
    assert_eq!(live.read(WORKSPACE, &id).unwrap(), ListenerRead::default());
    publish_numbered(&live, 50..52);
    let read = live.read(WORKSPACE, &id).unwrap();
    assert_eq!(
        labels(&read),
        ["50", "51"],
        "sampling restarts from an empty buffer"
    );
    assert_eq!(read.omitted, 0);
}

#[test]
fn read_sorts_by_received_at_keeping_slot_order_for_ties() {
    let live = hub();
    let id = listener(&live, 10);
    live.publish(
        WORKSPACE,
        vec![
            accepted(SOURCE_A, "late", 30),
            accepted(SOURCE_A, "first-tie", 10),
            accepted(SOURCE_A, "middle", 20),
            accepted(SOURCE_A, "second-tie", 10),
        ],
    );
    assert_eq!(
        labels(&live.read(WORKSPACE, &id).unwrap()),
        ["first-tie", "second-tie", "middle", "late"]
    );
}

#[test]
fn sampling_is_roughly_uniform() {
    // 2000 rounds of 100 entries into 10 slots: each entry kept ~200 times (σ ≈ 13.4).
    let live = hub();
    live.seed_sampling(42);
    let id = listener(&live, 10);
    let entries: Vec<Entry> = (0..100)
        .map(|i| accepted(SOURCE_A, &i.to_string(), 0))
        .collect();
    let mut kept = [0u32; 100];
    for _ in 0..2000 {
        live.publish(WORKSPACE, entries.clone());
        let read = live.read(WORKSPACE, &id).unwrap();
        assert_eq!(read.omitted, 90);
        for label in labels(&read) {
            kept[label.parse::<usize>().unwrap()] += 1;
        }
    }
    for (i, &n) in kept.iter().enumerate() {
        assert!((130..270).contains(&n), "entry {i} kept {n} times");
    }
}

#[test]
fn seeded_sampling_is_reproducible() {
    let sample = || {
        let live = hub();
        live.seed_sampling(7);
        let id = listener(&live, 5);
        publish_numbered(&live, 0..100);
        labels(&live.read(WORKSPACE, &id).unwrap())
    };
    assert_eq!(sample(), sample());
}
