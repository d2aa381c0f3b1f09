//! Sparse allocation state: taken addresses are stored as merged runs, so memory grows with
//! the number of fragments (at most the number of allocations), never with the size of a
//! range, and "lowest free address" is one ordered-map lookup however many IPs are taken.

use super::ranges::IpRange;
use std::collections::BTreeMap;

/// A set of `u128` kept as disjoint, non-adjacent inclusive runs `start -> end`.
///
/// Because neighbouring runs are always merged, the address right after a run is free: that
/// makes [`RunSet::first_free_in`] O(log runs) instead of a walk over taken addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSet {
    runs: BTreeMap<u128, u128>,
    len: u128,
}

impl RunSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// The run containing `x`, as `(start, end)`.
    fn run_of(&self, x: u128) -> Option<(u128, u128)> {
        self.runs
            .range(..=x)
            .next_back()
            .filter(|&(_, &end)| end >= x)
            .map(|(&start, &end)| (start, end))
    }

    pub fn contains(&self, x: u128) -> bool {
        self.run_of(x).is_some()
    }

    /// Adds `x`; false when it was already present.
    pub fn insert(&mut self, x: u128) -> bool {
        if self.contains(x) {
            return false;
        }
        let left = x
            .checked_sub(1)
            .and_then(|prev| self.run_of(prev))
            .map(|(start, _)| start);
        let right = x
            .checked_add(1)
            .and_then(|next| self.runs.remove(&next).map(|end| (next, end)));
        let start = left.unwrap_or(x);
        let end = right.map_or(x, |(_, end)| end);
        self.runs.insert(start, end);
        self.len += 1;
        true
    }

    /// Removes `x`; false when it was absent.
    pub fn remove(&mut self, x: u128) -> bool {
        let Some((start, end)) = self.run_of(x) else {
            return false;
        };
        if start < x {
            self.runs.insert(start, x - 1);
        } else {
            self.runs.remove(&start);
        }
        if x < end {
            self.runs.insert(x + 1, end);
        }
        self.len -= 1;
        true
    }

    /// The lowest value in `[lo, hi]` that is not in the set.
    pub fn first_free_in(&self, lo: u128, hi: u128) -> Option<u128> {
        if lo > hi {
            return None;
        }
        match self.run_of(lo) {
            None => Some(lo),
            // Runs are merged, so `end + 1` is free (or past the end of the space).
            Some((_, end)) => end.checked_add(1).filter(|&next| next <= hi),
        }
    }

    /// Number of members.
    pub fn len(&self) -> u128 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of stored runs (what memory is proportional to).
    pub fn run_count(&self) -> usize {
        self.runs.len()
    }
}

/// The lowest address of `ranges` (sorted by `first`, one family) not in `taken`.
pub fn lowest_free(taken: &RunSet, ranges: &[IpRange]) -> Option<u128> {
    ranges
        .iter()
        .find_map(|r| taken.first_free_in(r.first, r.last))
}

/// Why a specific address cannot be allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AllocError {
    #[error("the address is outside the allocator's ranges")]
    OutOfRange,
    #[error("the address is already allocated")]
    InUse,
}

/// An allocator over a fixed set of ranges of one family: the building block the planner
/// uses (there the taken set is shared between pools) and what the benchmark measures.
#[derive(Debug, Clone)]
pub struct RangeAllocator {
    ranges: Vec<IpRange>,
    taken: RunSet,
}

impl RangeAllocator {
    /// `ranges` must be of one family and disjoint; they are sorted here.
    pub fn new(mut ranges: Vec<IpRange>) -> Self {
        ranges.sort();
        Self {
            ranges,
            taken: RunSet::new(),
        }
    }

    /// Takes the lowest free address.
    pub fn allocate_next(&mut self) -> Option<u128> {
        let x = lowest_free(&self.taken, &self.ranges)?;
        self.taken.insert(x);
        Some(x)
    }

    /// Takes a specific address.
    pub fn allocate(&mut self, x: u128) -> Result<(), AllocError> {
        if !self.ranges.iter().any(|r| r.first <= x && x <= r.last) {
            return Err(AllocError::OutOfRange);
        }
        if self.taken.insert(x) {
            Ok(())
        } else {
            Err(AllocError::InUse)
        }
    }

    /// Gives an address back; false when it was not allocated.
    pub fn release(&mut self, x: u128) -> bool {
        self.taken.remove(x)
    }

    pub fn used(&self) -> u128 {
        self.taken.len()
    }

    /// Addresses in all ranges (saturating).
    pub fn total(&self) -> u128 {
        self.ranges
            .iter()
            .fold(0u128, |sum, r| sum.saturating_add(r.size()))
    }

    pub fn available(&self) -> u128 {
        self.total().saturating_sub(self.used())
    }

    /// Runs in the taken set (memory is proportional to this).
    pub fn fragments(&self) -> usize {
        self.taken.run_count()
    }
}

#[cfg(test)]
mod tests {
    use super::super::ranges::{Family, parse_cidr};
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn runs_merge_and_split() {
        let mut s = RunSet::new();
        for x in [5, 7, 6, 1, 2] {
            assert!(s.insert(x));
        }
        assert!(!s.insert(6), "a second insert reports presence");
        assert_eq!(s.run_count(), 2, "1-2 and 5-7");
        assert_eq!(s.len(), 5);
        assert!(s.remove(6));
        assert_eq!(s.run_count(), 3, "1-2, 5, 7");
        assert!(!s.remove(6));
        assert_eq!(s.first_free_in(1, 10), Some(3));
        assert_eq!(s.first_free_in(5, 10), Some(6));
        assert_eq!(s.first_free_in(7, 7), None);
        assert_eq!(s.first_free_in(9, 3), None);
    }

    #[test]
    fn the_ends_of_the_u128_space_do_not_overflow() {
        let mut s = RunSet::new();
        assert!(s.insert(u128::MAX));
        assert!(s.insert(0));
        assert_eq!(s.first_free_in(u128::MAX, u128::MAX), None);
        assert_eq!(s.first_free_in(0, u128::MAX), Some(1));
        assert!(s.remove(u128::MAX) && s.remove(0));
        assert!(s.is_empty());
    }

    #[test]
    fn a_slash_64_allocates_sequentially_in_constant_memory() {
        let range = parse_cidr("2001:db8::/64").expect("valid");
        assert_eq!(range.family, Family::V6);
        let mut a = RangeAllocator::new(vec![range]);
        for i in 0..10_000u128 {
            assert_eq!(a.allocate_next(), Some(range.first + i));
        }
        assert_eq!(a.fragments(), 1, "one run, however many addresses");
        assert_eq!(a.available(), (1u128 << 64) - 10_000);
        assert!(a.release(range.first + 5));
        assert_eq!(
            a.allocate_next(),
            Some(range.first + 5),
            "lowest free first"
        );
        assert_eq!(a.allocate(range.first), Err(AllocError::InUse));
        assert_eq!(a.allocate(range.last + 1), Err(AllocError::OutOfRange));
    }

    #[test]
    fn allocation_skips_to_the_next_range_when_one_is_full() {
        let a = parse_cidr("192.0.2.0/31").expect("valid");
        let b = parse_cidr("198.51.100.0/31").expect("valid");
        let mut alloc = RangeAllocator::new(vec![b, a]);
        let got: Vec<u128> = std::iter::from_fn(|| alloc.allocate_next()).collect();
        assert_eq!(got, vec![a.first, a.last, b.first, b.last]);
        assert_eq!(alloc.available(), 0);
    }

    proptest! {
        /// RunSet behaves exactly like a BTreeSet, and first_free_in is the naive scan.
        #[test]
        fn runset_matches_a_plain_set(ops in proptest::collection::vec((any::<bool>(), 0u128..64), 0..200),
                                      lo in 0u128..64, span in 0u128..64) {
            let mut runs = RunSet::new();
            let mut plain = BTreeSet::new();
            for (add, x) in ops {
                if add {
                    prop_assert_eq!(runs.insert(x), plain.insert(x));
                } else {
                    prop_assert_eq!(runs.remove(x), plain.remove(&x));
                }
            }
            prop_assert_eq!(runs.len(), plain.len() as u128);
            for x in 0..64 {
                prop_assert_eq!(runs.contains(x), plain.contains(&x));
            }
            let hi = lo + span;
            let naive = (lo..=hi).find(|x| !plain.contains(x));
            prop_assert_eq!(runs.first_free_in(lo, hi), naive);
        }
    }
}
