//! Reservoir sampling of a listener's buffer (storage spec §11.1).
//!
//! The first `size` entries fill the buffer; for the *n*-th entry (n > size) `j` is drawn
//! uniformly in [0, n): if `j < size` the entry replaces slot `j`, otherwise it is dropped.
//! Every entry offered so far thus has the same chance, `size / n`, of being in the buffer.

use rand::Rng;

/// A fixed-capacity uniform sample of the items offered since the last [`Reservoir::take`].
#[derive(Debug)]
pub(crate) struct Reservoir<T> {
    size: usize,
    slots: Vec<T>,
    /// Items offered since the last take.
    seen: u64,
}

impl<T> Reservoir<T> {
    /// An empty reservoir of `size` slots (`size` ≥ 1).
    pub(crate) fn new(size: usize) -> Reservoir<T> {
        Reservoir {
            size,
            slots: Vec::new(),
            seen: 0,
        }
    }

    /// Offers the next item.
    pub(crate) fn offer(&mut self, item: T, rng: &mut impl Rng) {
        self.seen += 1;
        if self.slots.len() < self.size {
            self.slots.push(item);
            return;
        }
        let j = rng.random_range(0..self.seen);
        if let Some(slot) = usize::try_from(j).ok().and_then(|j| self.slots.get_mut(j)) {
            *slot = item;
        }
    }

    /// The sample in slot order and the number of items offered but not in it; resets the
    /// reservoir.
    pub(crate) fn take(&mut self) -> (Vec<T>, u64) {
        let slots = std::mem::take(&mut self.slots);
        let omitted = self.seen - slots.len() as u64;
        self.seen = 0;
        (slots, omitted)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    use super::*;

    #[test]
    fn first_size_items_fill_the_slots_in_order() {
        let mut rng = SmallRng::seed_from_u64(1);
        let mut reservoir = Reservoir::new(3);
        for i in 0..3 {
            reservoir.offer(i, &mut rng);
        }
        assert_eq!(reservoir.take(), (vec![0, 1, 2], 0));
        assert_eq!(reservoir.take(), (vec![], 0));
    }

    #[test]
    fn each_item_is_kept_with_probability_size_over_n() {
        // 20 000 trials of 50 items into 5 slots: each item kept ~2000 times (σ ≈ 42).
        let mut rng = SmallRng::seed_from_u64(7);
        let mut kept = [0u32; 50];
        let mut reservoir = Reservoir::new(5);
        for _ in 0..20_000 {
            for i in 0..50 {
                reservoir.offer(i, &mut rng);
            }
            let (sample, omitted) = reservoir.take();
            assert_eq!(omitted, 45);
            for i in sample {
                kept[i] += 1;
            }
        }
        for (i, &n) in kept.iter().enumerate() {
            assert!((1750..2250).contains(&n), "item {i} kept {n} times");
        }
    }

    proptest! {
        #[test]
        fn sample_is_a_subset_and_counts_add_up(size in 1usize..20, n in 0u64..200, seed: u64) {
            let mut rng = SmallRng::seed_from_u64(seed);
            let mut reservoir = Reservoir::new(size);
            for i in 0..n {
                reservoir.offer(i, &mut rng);
            }
            let (mut sample, omitted) = reservoir.take();
            prop_assert_eq!(sample.len() as u64 + omitted, n);
            prop_assert_eq!(sample.len() as u64, n.min(size as u64));
            sample.sort_unstable();
            sample.dedup();
            prop_assert_eq!(sample.len() as u64, n.min(size as u64));
            prop_assert!(sample.iter().all(|&i| i < n));
        }
    }
}
