//! A fixed-size Bloom filter of dedup keys, so that looking up a new id (nearly every id)
//! reads no page of the on-disk table. The flusher thread inserts, the log writer reads: the
//! bits are atomics, and a key inserted concurrently with a lookup is still in the writer's
//! frozen snapshot until the flusher reports it written (after inserting it).

use std::sync::atomic::{AtomicU64, Ordering};

use super::DedupKey;

/// Size of one filter: 2^26 bits (8 MiB). With 4 probes it answers "maybe" for a key it does
/// not hold with probability 0.07 % at 3 million keys, 4 % at 10 million, 48 % at 30 million:
/// beyond its size it gets slower (more table reads), never wrong.
const BITS_LOG2: u32 = 26;
const PROBES: u64 = 4;

/// Keys are SHA-256 prefixes, uniformly random, so their own bytes serve as the two hashes of
/// double hashing.
#[derive(Debug)]
pub(crate) struct Filter {
    words: Vec<AtomicU64>,
}

impl Filter {
    pub(crate) fn new() -> Filter {
        Filter {
            words: (0..1 << (BITS_LOG2 - 6))
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }

    fn positions(key: &DedupKey) -> impl Iterator<Item = u64> {
        let mut low = [0u8; 8];
        let mut high = [0u8; 8];
        low.copy_from_slice(&key[..8]);
        high.copy_from_slice(&key[8..]);
        let (first, step) = (u64::from_le_bytes(low), u64::from_le_bytes(high) | 1);
        let mask = (1u64 << BITS_LOG2) - 1;
        (0..PROBES).map(move |i| first.wrapping_add(i.wrapping_mul(step)) & mask)
    }

    pub(crate) fn insert(&self, key: &DedupKey) {
        for bit in Self::positions(key) {
            if let Some(word) = self.words.get((bit >> 6) as usize) {
                word.fetch_or(1 << (bit & 63), Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn may_contain(&self, key: &DedupKey) -> bool {
        Self::positions(key).all(|bit| {
            self.words
                .get((bit >> 6) as usize)
                .is_some_and(|word| word.load(Ordering::Relaxed) & (1 << (bit & 63)) != 0)
        })
    }
}
