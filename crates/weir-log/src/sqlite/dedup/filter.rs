//! A Bloom filter of dedup keys, so that looking up a new id (nearly every id) reads no page of
//! the on-disk table. The flusher thread inserts, the log writer reads: the bits are atomics,
//! and a key inserted concurrently with a lookup is still in the writer's frozen snapshot
//! until the flusher reports it written (after inserting it).
//!
//! Each sweep sizes the next filter for the keys the table holds (plus room for those written
//! until the next sweep), at [`BITS_PER_KEY`] bits a key: a "maybe" for a key it does not hold
//! costs a probe of every segment, so the rate of those must stay low however long the
//! window. Past its size a filter gets slower (more probes), never wrong.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use super::DedupKey;
use crate::config::{DEDUP_FILTER_LIMIT_BYTES as LIMIT_BYTES, DEDUP_FILTER_MIN_BYTES as MIN_BYTES};

/// First bytes of a saved filter file.
const MAGIC: &[u8; 8] = b"WEIRBLM1";

/// With [`PROBES`] probes, a filter at its planned load answers "maybe" for a key it does not
/// hold about 0.8 % of the time (0.1 % at two thirds of it, 5 % at 1.5 times).
pub(crate) const BITS_PER_KEY: u64 = 10;
const PROBES: u64 = 7;
/// The smallest filter: 2^20 bits. The largest is the setting's ([`Filter::for_keys`]), at most
/// `LIMIT_BYTES`, which also bounds a saved filter that is read back.
const MIN_BITS: u64 = MIN_BYTES * 8;

/// Keys are SHA-256 prefixes, uniformly random, so their own bytes serve as the two hashes of
/// double hashing.
#[derive(Debug)]
pub(crate) struct Filter {
    words: Vec<AtomicU64>,
    bits: u64,
}

impl Filter {
    /// A filter planned for `keys` keys, of at most `max_bytes` (the `dedup.max_filter_memory`
    /// setting): with more keys than that was planned for, lookups read the file more often.
    pub(crate) fn for_keys(keys: u64, max_bytes: u64) -> Filter {
        let max_bits = max_bytes.clamp(MIN_BYTES, LIMIT_BYTES) * 8 / 64 * 64;
        // Both bounds are multiples of 64, so rounding up stays within them.
        let bits = keys
            .saturating_mul(BITS_PER_KEY)
            .clamp(MIN_BITS, max_bits)
            .next_multiple_of(64);
        Filter {
            words: (0..bits / 64).map(|_| AtomicU64::new(0)).collect(),
            bits,
        }
    }

    /// The filter's size in bytes.
    pub(crate) fn bytes(&self) -> u64 {
        self.bits / 8
    }

    /// Writes the filter with `header` (three numbers the caller gives meaning to).
    pub(crate) fn save(&self, out: &mut impl Write, header: [u64; 3]) -> std::io::Result<()> {
        out.write_all(MAGIC)?;
        for number in header.into_iter().chain([self.bits]) {
            out.write_all(&number.to_le_bytes())?;
        }
        for word in &self.words {
            out.write_all(&word.load(Ordering::Relaxed).to_le_bytes())?;
        }
        out.flush()
    }

    /// Reads a filter [`Filter::save`] wrote, with its header; `None` if it is not one.
    pub(crate) fn load(input: &mut impl Read) -> Option<(Filter, [u64; 3])> {
        let mut magic = [0u8; 8];
        input.read_exact(&mut magic).ok()?;
        if &magic != MAGIC {
            return None;
        }
        let mut number = || {
            let mut bytes = [0u8; 8];
            input.read_exact(&mut bytes).ok()?;
            Some(u64::from_le_bytes(bytes))
        };
        let header = [number()?, number()?, number()?];
        let bits = number()?;
        if !(MIN_BITS..=LIMIT_BYTES * 8).contains(&bits) || bits % 64 != 0 {
            return None;
        }
        let mut words = Vec::with_capacity(usize::try_from(bits / 64).ok()?);
        let mut bytes = [0u8; 8];
        for _ in 0..bits / 64 {
            input.read_exact(&mut bytes).ok()?;
            words.push(AtomicU64::new(u64::from_le_bytes(bytes)));
        }
        if input.read(&mut bytes).ok()? != 0 {
            return None;
        }
        Some((Filter { words, bits }, header))
    }

    fn positions(&self, key: &DedupKey) -> impl Iterator<Item = u64> + use<> {
        let mut low = [0u8; 8];
        let mut high = [0u8; 8];
        low.copy_from_slice(&key[..8]);
        high.copy_from_slice(&key[8..]);
        let (first, step) = (u64::from_le_bytes(low), u64::from_le_bytes(high) | 1);
        let bits = u128::from(self.bits);
        // Multiply-shift maps a 64-bit hash onto 0..bits without a power-of-two size.
        (0..PROBES).map(move |i| {
            let hash = first.wrapping_add(i.wrapping_mul(step));
            u64::try_from((u128::from(hash) * bits) >> 64).unwrap_or(0)
        })
    }

    pub(crate) fn insert(&self, key: &DedupKey) {
        for bit in self.positions(key) {
            if let Some(word) = self.words.get((bit >> 6) as usize) {
                word.fetch_or(1 << (bit & 63), Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn may_contain(&self, key: &DedupKey) -> bool {
        self.positions(key).all(|bit| {
            self.words
                .get((bit >> 6) as usize)
                .is_some_and(|word| word.load(Ordering::Relaxed) & (1 << (bit & 63)) != 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(index: u64) -> DedupKey {
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&index.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes());
        key[8..].copy_from_slice(&index.wrapping_mul(0xC2B2_AE3D_27D4_EB4F).to_le_bytes());
        key
    }

    #[test]
    fn inserted_keys_are_always_found_and_others_rarely() {
        let keys = 200_000;
        let filter = Filter::for_keys(keys, LIMIT_BYTES);
        assert_eq!(filter.bytes(), keys * BITS_PER_KEY / 8);
        for index in 0..keys {
            filter.insert(&key(index));
        }
        assert!((0..keys).all(|index| filter.may_contain(&key(index))));
        let false_positives = (keys..2 * keys)
            .filter(|&index| filter.may_contain(&key(index)))
            .count();
        // About 0.8 % expected; well under 2 %.
        assert!(false_positives < 4_000, "{false_positives} false positives");
    }

    #[test]
    fn a_saved_filter_loads_identical_and_damage_is_refused() {
        let filter = Filter::for_keys(150_000, LIMIT_BYTES);
        for index in 0..1_000 {
            filter.insert(&key(index));
        }
        let mut saved = Vec::new();
        filter.save(&mut saved, [7, 8, 9]).unwrap();
        let (loaded, header) = Filter::load(&mut saved.as_slice()).unwrap();
        assert_eq!(header, [7, 8, 9]);
        assert_eq!(loaded.bytes(), filter.bytes());
        assert!((0..1_000).all(|index| loaded.may_contain(&key(index))));
        let same = (0..100_000)
            .all(|index| loaded.may_contain(&key(index)) == filter.may_contain(&key(index)));
        assert!(same);

        let truncated = &saved[..saved.len() - 8];
        let mut longer = saved.clone();
        longer.push(0);
        let mut magic = saved.clone();
        magic[0] = b'X';
        for damaged in [truncated, &longer[..], &magic[..], &[][..]] {
            assert!(Filter::load(&mut &damaged[..]).is_none());
        }
    }

    #[test]
    fn sizes_are_bounded() {
        assert_eq!(Filter::for_keys(0, LIMIT_BYTES).bytes(), MIN_BYTES);
        assert_eq!(Filter::for_keys(u64::MAX, 1 << 25).bytes(), 1 << 25);
        assert_eq!(Filter::for_keys(u64::MAX, u64::MAX).bytes(), LIMIT_BYTES);
        assert_eq!(Filter::for_keys(100_000_000, 1 << 30).bytes(), 125_000_000);
        assert_eq!(Filter::for_keys(1, 1).bytes(), MIN_BYTES);
    }
}
