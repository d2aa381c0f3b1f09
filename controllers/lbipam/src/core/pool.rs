//! Pools as the planner sees them: parsed blocks, a validated selector, the conflict verdict,
//! and an index from an address to the pools containing it.

use super::model::PoolInput;
use super::order::CreationOrder;
use super::ranges::{Block, BlockError, Ip, IpRange, parse_block};
use ferrule_api::lbipam::v2::AllowFirstLastIps;
use ferrule_api::selector::{ExtendedLabels, Selector, SelectorError};
use std::collections::BTreeMap;

/// Whether a pool's selector matches a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selects {
    Yes,
    No,
    /// The selector is invalid: the pool hands out nothing new, but the IPs it gave earlier
    /// stay, because nobody can say whether they still match.
    Unknown,
}

/// Why a pool is conflicting (Cilium's `markPoolConflicting` arguments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub range: IpRange,
    pub other_range: IpRange,
    /// The pool that wins (the pool itself for overlapping blocks within one pool).
    pub other_pool: String,
}

/// One pool, parsed once per plan.
#[derive(Debug)]
pub struct PoolView<'a> {
    pub input: &'a PoolInput,
    pub order: CreationOrder<'a>,
    /// Valid blocks in spec order.
    pub blocks: Vec<Block>,
    /// Invalid blocks: spec index and the mistake.
    pub block_errors: Vec<(usize, BlockError)>,
    /// `None` selects every service (no serviceSelector).
    pub selector: Option<Result<Selector, SelectorError>>,
    pub disabled: bool,
    pub allow_first_last: bool,
    pub conflict: Option<Conflict>,
    /// Valid block ranges per family, sorted by first address: the allocation order.
    pub ranges: [Vec<IpRange>; 2],
}

impl<'a> PoolView<'a> {
    fn new(input: &'a PoolInput) -> Self {
        let mut blocks = Vec::new();
        let mut block_errors = Vec::new();
        for (i, block) in input.spec.blocks.iter().enumerate() {
            match parse_block(block) {
                Ok(b) => blocks.push(b),
                Err(e) => block_errors.push((i, e)),
            }
        }
        let mut ranges = [Vec::new(), Vec::new()];
        for b in &blocks {
            ranges[b.range.family.index()].push(b.range);
        }
        for r in &mut ranges {
            r.sort();
        }
        Self {
            input,
            order: CreationOrder::new(&input.created, "", &input.name),
            blocks,
            block_errors,
            selector: input
                .spec
                .service_selector
                .as_ref()
                .map(|s| s.to_selector()),
            disabled: input.spec.disabled,
            allow_first_last: input.spec.allow_first_last_ips != Some(AllowFirstLastIps::No),
            conflict: None,
            ranges,
        }
    }

    pub fn name(&self) -> &'a str {
        &self.input.name
    }

    pub fn selects(&self, labels: &ExtendedLabels<'_>) -> Selects {
        match &self.selector {
            None => Selects::Yes,
            Some(Ok(s)) if s.matches(labels) => Selects::Yes,
            Some(Ok(_)) => Selects::No,
            Some(Err(_)) => Selects::Unknown,
        }
    }

    /// Whether new IPs may come from this pool (Cilium: a range that is neither externally
    /// disabled nor internally disabled by a conflict).
    pub fn allocates(&self) -> bool {
        !self.disabled && self.conflict.is_none()
    }

    /// Addresses `allowFirstLastIPs: No` keeps out of allocation.
    pub fn reserved(&self) -> impl Iterator<Item = Ip> + '_ {
        self.blocks
            .iter()
            .filter_map(|b| b.reserved(self.allow_first_last))
            .flat_map(|(first, last)| [first, last])
    }

    pub fn is_reserved(&self, ip: Ip) -> bool {
        self.reserved().any(|r| r == ip)
    }
}

/// Parses every pool, sorts them into pool order (created, then name) and settles conflicts.
pub fn parse_pools(inputs: &[PoolInput]) -> Vec<PoolView<'_>> {
    let mut pools: Vec<PoolView<'_>> = inputs.iter().map(PoolView::new).collect();
    pools.sort_by(|a, b| a.order.cmp(&b.order));
    settle_conflicts(&mut pools);
    pools
}

/// Cilium's `settleConflicts`, made deterministic: in pool order, a pool conflicts when two
/// of its own blocks overlap, or when one of its blocks overlaps a block of an older pool
/// that is not itself conflicting. The older pool always wins, so adding or widening a
/// younger pool never disturbs an older one, and a conflict clears as soon as the overlap goes.
fn settle_conflicts(pools: &mut [PoolView<'_>]) {
    // Blocks of the winning pools so far, disjoint: first -> (last, pool index).
    let mut accepted: [BTreeMap<u128, (u128, usize)>; 2] = [BTreeMap::new(), BTreeMap::new()];
    for i in 0..pools.len() {
        let conflict = internal_overlap(&pools[i]).or_else(|| {
            pools[i].blocks.iter().find_map(|b| {
                let r = b.range;
                let (&first, &(last, owner)) = accepted[r.family.index()]
                    .range(..=r.last)
                    .next_back()
                    .filter(|(_, (last, _))| *last >= r.first)?;
                Some(Conflict {
                    range: r,
                    other_range: IpRange {
                        family: r.family,
                        first,
                        last,
                    },
                    other_pool: pools[owner].name().to_owned(),
                })
            })
        });
        match conflict {
            Some(c) => pools[i].conflict = Some(c),
            None => {
                for b in &pools[i].blocks {
                    accepted[b.range.family.index()].insert(b.range.first, (b.range.last, i));
                }
            }
        }
    }
}

/// Two blocks of one pool overlapping (Cilium's `areRangesInternallyConflicting`): the
/// lowest overlapping pair, the block written first named first. (If any two blocks overlap,
/// two neighbours in address order do, so checking neighbours is enough.)
fn internal_overlap(pool: &PoolView<'_>) -> Option<Conflict> {
    let mut sorted: Vec<(IpRange, usize)> = pool
        .blocks
        .iter()
        .enumerate()
        .map(|(i, b)| (b.range, i))
        .collect();
    sorted.sort();
    let (a, b) = sorted
        .windows(2)
        .find(|w| w[0].0.overlaps(&w[1].0))
        .map(|w| {
            if w[0].1 < w[1].1 {
                (w[0].0, w[1].0)
            } else {
                (w[1].0, w[0].0)
            }
        })?;
    Some(Conflict {
        range: a,
        other_range: b,
        other_pool: pool.name().to_owned(),
    })
}

/// Which pools contain an address. Non-conflicting pools are disjoint, so they are found by
/// binary search; conflicting pools (rare, a user mistake) are scanned.
#[derive(Debug)]
pub struct PoolIndex {
    /// Per family: (first, last, pool index), sorted and disjoint.
    live: [Vec<(u128, u128, usize)>; 2],
    /// Blocks of conflicting pools, in pool order.
    conflicting: Vec<(IpRange, usize)>,
}

impl PoolIndex {
    pub fn new(pools: &[PoolView<'_>]) -> Self {
        let mut live = [Vec::new(), Vec::new()];
        let mut conflicting = Vec::new();
        for (i, p) in pools.iter().enumerate() {
            for b in &p.blocks {
                if p.conflict.is_some() {
                    conflicting.push((b.range, i));
                } else {
                    live[b.range.family.index()].push((b.range.first, b.range.last, i));
                }
            }
        }
        for l in &mut live {
            l.sort();
        }
        Self { live, conflicting }
    }

    /// The non-conflicting pool containing `ip`, if any.
    pub fn live_pool(&self, ip: Ip) -> Option<usize> {
        let entries = &self.live[ip.family.index()];
        let n = entries.partition_point(|e| e.0 <= ip.bits);
        n.checked_sub(1)
            .map(|i| entries[i])
            .filter(|e| e.1 >= ip.bits)
            .map(|e| e.2)
    }

    /// Every pool containing `ip`: the non-conflicting one first (the one the IP counts
    /// against), then conflicting ones in pool order, each once.
    pub fn pools_containing(&self, ip: Ip) -> impl Iterator<Item = usize> + '_ {
        let conflicting = self
            .conflicting
            .iter()
            .enumerate()
            .filter(move |(n, (r, i))| {
                // A pool may list overlapping blocks: report it at its first match only.
                r.contains(ip)
                    && !self.conflicting[..*n]
                        .iter()
                        .any(|(earlier, j)| j == i && earlier.contains(ip))
            })
            .map(|(_, (_, i))| *i);
        self.live_pool(ip).into_iter().chain(conflicting)
    }
}

#[cfg(test)]
mod tests {
    use super::super::ranges::parse_ip;
    use super::super::testing::Pool;
    use super::*;

    fn ip(text: &str) -> Ip {
        parse_ip(text).expect("valid test address")
    }

    #[test]
    fn the_younger_of_two_overlapping_pools_conflicts() {
        let inputs = vec![
            Pool::test("red")
                .cidr("192.0.2.0/24")
                .created_at(20)
                .build(),
            Pool::test("blue")
                .cidr("192.0.2.0/24")
                .created_at(10)
                .build(),
        ];
        let pools = parse_pools(&inputs);
        assert_eq!(pools[0].name(), "blue");
        assert!(pools[0].conflict.is_none());
        let c = pools[1].conflict.as_ref().expect("red conflicts");
        assert_eq!(c.other_pool, "blue");
        assert_eq!(c.range.to_string(), "192.0.2.0 - 192.0.2.255");
    }

    #[test]
    fn same_creation_time_breaks_ties_by_name() {
        let inputs = vec![
            Pool::test("b").cidr("192.0.2.0/25").build(),
            Pool::test("a").cidr("192.0.2.64/26").build(),
        ];
        let pools = parse_pools(&inputs);
        assert_eq!(pools[1].name(), "b");
        assert_eq!(
            pools[1].conflict.as_ref().map(|c| c.other_pool.as_str()),
            Some("a")
        );
    }

    #[test]
    fn a_pool_overlapping_only_a_conflicting_pool_is_fine() {
        let inputs = vec![
            Pool::test("a").cidr("192.0.2.0/26").created_at(1).build(),
            Pool::test("b")
                .cidr("192.0.2.32/27")
                .cidr("192.0.2.128/26")
                .created_at(2)
                .build(),
            Pool::test("c").cidr("192.0.2.160/27").created_at(3).build(),
        ];
        let pools = parse_pools(&inputs);
        assert!(pools[0].conflict.is_none());
        assert!(pools[1].conflict.is_some());
        assert!(
            pools[2].conflict.is_none(),
            "b lost, so c does not compete with it"
        );
    }

    #[test]
    fn overlapping_blocks_within_a_pool_conflict_with_itself() {
        let inputs = vec![
            Pool::test("self")
                .cidr("198.51.100.0/24")
                .range("198.51.100.10", "198.51.100.20")
                .build(),
        ];
        let pools = parse_pools(&inputs);
        let c = pools[0].conflict.as_ref().expect("internal overlap");
        assert_eq!(c.other_pool, "self");
        assert_eq!(c.range.to_string(), "198.51.100.0 - 198.51.100.255");
        assert_eq!(c.other_range.to_string(), "198.51.100.10 - 198.51.100.20");
    }

    #[test]
    fn families_never_conflict() {
        let inputs = vec![
            Pool::test("v4").cidr("0.0.0.0/0").created_at(1).build(),
            Pool::test("v6").cidr("::/96").created_at(2).build(),
        ];
        assert!(parse_pools(&inputs).iter().all(|p| p.conflict.is_none()));
    }

    #[test]
    fn the_index_finds_live_then_conflicting_pools() {
        let inputs = vec![
            Pool::test("a").cidr("192.0.2.0/25").created_at(1).build(),
            Pool::test("b").cidr("192.0.2.0/24").created_at(2).build(),
            Pool::test("c").cidr("2001:db8::/64").created_at(3).build(),
        ];
        let pools = parse_pools(&inputs);
        let index = PoolIndex::new(&pools);
        let all = |text| index.pools_containing(ip(text)).collect::<Vec<_>>();
        assert_eq!(all("192.0.2.1"), vec![0, 1]);
        assert_eq!(all("192.0.2.200"), vec![1]);
        assert_eq!(index.live_pool(ip("192.0.2.200")), None);
        assert_eq!(index.live_pool(ip("2001:db8::ffff")), Some(2));
        assert!(all("203.0.113.1").is_empty());
    }

    #[test]
    fn bad_blocks_are_skipped_and_reported() {
        let inputs = vec![
            Pool::test("p")
                .cidr("192.0.2.0/24")
                .cidr("nonsense")
                .range("198.51.100.9", "198.51.100.1")
                .build(),
        ];
        let pools = parse_pools(&inputs);
        assert_eq!(pools[0].blocks.len(), 1);
        let indices: Vec<usize> = pools[0].block_errors.iter().map(|(i, _)| *i).collect();
        assert_eq!(indices, vec![1, 2]);
    }
}
