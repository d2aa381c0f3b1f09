//! Which live node announces each eligible service: rendezvous hashing with a load bound.
//!
//! # Definition
//!
//! Inputs: the [`EligibleService`]s and the set `L` of live nodes (Lease current).
//!
//! 1. **Candidates.** `C(s)` = the nodes a policy selecting `s` also selects (the keys of
//!    `s.nodes`), ∩ `L`, and — when `s` has externalTrafficPolicy Local — ∩ the nodes with a
//!    ready local endpoint. An empty `C(s)` means `s` is not announced, with the reason
//!    [`NotAnnounced::NoLiveCandidate`] when no live node is selected at all, otherwise
//!    [`NotAnnounced::NoReadyLocalEndpoint`].
//! 2. **Preference.** `s` ranks its candidates by [`hash::weight`]`(s, n)`, highest first
//!    (ties, which need a 64-bit collision, by node name).
//! 3. **Capacity.** Each node's fair share is `share(n) = Σ 1/|C(s)|` over the services `s`
//!    with `n ∈ C(s)` — what `n` would carry on average if every service picked uniformly
//!    among its candidates — and `cap(n) = ⌈share(n) × 11/10⌉` (ε = 0.1), computed exactly in
//!    rationals. With one candidate set for all, that is `⌈S × 1.1 / N⌉`: 30 services over 3
//!    nodes → at most 11 per node.
//! 4. **Placement.** Services are placed one at a time in the order of
//!    [`hash::placement_rank`] (ties by key); each takes its most preferred candidate whose
//!    load is below its capacity. If every candidate is full, it takes the least-loaded
//!    candidate (ties by preference).
//!
//! The fallback in step 4 is unreachable when all services have the same candidate set:
//! the capacities then sum to at least 1.1 × S, so while a service is still unplaced some
//! candidate is below capacity. With differing sets (several policies, eTP Local) the
//! capacities still admit an assignment — spreading each service evenly over its candidates
//! is a fractional one within them, and a transportation problem with integral data has an
//! integral solution within the ceilings — but the greedy pass may not find it, and the
//! fallback keeps every service announced at the cost of exceeding a bound.
//!
//! # Trade-off
//!
//! Plain rendezvous hashing moves exactly the failed node's services and nothing else, but
//! its spread is only as even as the hash: 30 services over 3 nodes put more than 11 on
//! some node in about three draws out of four, and 14 or more in about one out of four. The load bound evens that out, and pays with stability: a service the
//! bound displaced from its preferred node can move again when a node fails — the failed
//! node's services fill the remaining nodes in a different order, or capacities change — so
//! a failure may move a few services that were not on the failed node. A service placed at
//! its first choice that stays placed at its first choice never moves, because weights do not
//! depend on which other nodes exist; the tests measure how many others move.

use super::eligible::{EligibleService, IpInterfaces};
use super::hash;
use super::model::ServiceKey;
use std::collections::{BTreeMap, BTreeSet};

/// ε of the load bound, as the fraction 11/10 = 1 + ε.
const LOAD_BOUND_NUM: u128 = 11;
const LOAD_BOUND_DEN: u128 = 10;

/// One service as announced by one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    pub service: ServiceKey,
    /// Each IP and the interfaces it is announced on.
    pub ips: IpInterfaces,
}

/// Why an eligible service is announced by no node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAnnounced {
    /// No live node is selected by a policy that selects the service.
    NoLiveCandidate,
    /// externalTrafficPolicy Local, and no live selected node has a ready local endpoint
    /// (the controller reports this as an Event on the Service).
    NoReadyLocalEndpoint,
}

/// The outcome for every eligible service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assignment {
    /// What each node announces, services sorted by key; nodes announcing nothing are absent.
    pub by_node: BTreeMap<String, Vec<Announcement>>,
    /// The node each announced service went to.
    pub owner: BTreeMap<ServiceKey, String>,
    pub not_announced: BTreeMap<ServiceKey, NotAnnounced>,
}

struct Placement<'a> {
    service: &'a EligibleService,
    rank: u64,
    /// Candidates, most preferred first.
    candidates: Vec<&'a str>,
}

/// Assigns every eligible service to at most one live node. Service keys must be unique.
pub fn assign(services: &[EligibleService], live: &BTreeSet<String>) -> Assignment {
    let mut out = Assignment::default();
    let mut placements = Vec::new();
    for service in services {
        match candidates(service, live) {
            Ok(candidates) => placements.push(Placement {
                service,
                rank: hash::placement_rank(&service.key),
                candidates,
            }),
            Err(reason) => {
                out.not_announced.insert(service.key.clone(), reason);
            }
        }
    }
    placements.sort_by(|a, b| (a.rank, &a.service.key).cmp(&(b.rank, &b.service.key)));
    let capacity = capacities(&placements);
    let mut load: BTreeMap<&str, u64> = BTreeMap::new();
    for p in &placements {
        let load_of = |n: &str| load.get(n).copied().unwrap_or(0);
        let chosen = p
            .candidates
            .iter()
            .copied()
            .find(|n| load_of(n) < capacity[n])
            .or_else(|| p.candidates.iter().copied().min_by_key(|n| load_of(n)))
            .expect("a placement has at least one candidate");
        *load.entry(chosen).or_default() += 1;
        out.owner.insert(p.service.key.clone(), chosen.to_owned());
        out.by_node
            .entry(chosen.to_owned())
            .or_default()
            .push(Announcement {
                service: p.service.key.clone(),
                ips: p.service.nodes[chosen].clone(),
            });
    }
    for announcements in out.by_node.values_mut() {
        announcements.sort_by(|a, b| a.service.cmp(&b.service));
    }
    out
}

/// `C(s)` in preference order, or why it is empty.
fn candidates<'a>(
    service: &'a EligibleService,
    live: &BTreeSet<String>,
) -> Result<Vec<&'a str>, NotAnnounced> {
    let selected_live: Vec<&str> = service
        .nodes
        .keys()
        .filter(|n| live.contains(*n))
        .map(String::as_str)
        .collect();
    if selected_live.is_empty() {
        return Err(NotAnnounced::NoLiveCandidate);
    }
    let mut candidates: Vec<(u64, &str)> = selected_live
        .into_iter()
        .filter(|n| !service.external_traffic_local || service.ready_local_nodes.contains(*n))
        .map(|n| (hash::weight(&service.key, n), n))
        .collect();
    if candidates.is_empty() {
        return Err(NotAnnounced::NoReadyLocalEndpoint);
    }
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    Ok(candidates.into_iter().map(|(_, n)| n).collect())
}

/// `cap(n)` for every node that is some service's candidate.
fn capacities<'a>(placements: &[Placement<'a>]) -> BTreeMap<&'a str, u64> {
    // How many services with a candidate set of each size can go to each node.
    let mut by_size: BTreeMap<&str, BTreeMap<u128, u128>> = BTreeMap::new();
    for p in placements {
        let size = p.candidates.len() as u128;
        for n in &p.candidates {
            *by_size.entry(n).or_default().entry(size).or_default() += 1;
        }
    }
    by_size
        .into_iter()
        .map(|(node, counts)| {
            let reachable: u128 = counts.values().sum();
            let cap = bounded_share(&counts).unwrap_or(reachable);
            (node, u64::try_from(cap).unwrap_or(u64::MAX))
        })
        .collect()
}

/// `⌈Σ count/size × 11/10⌉` exactly, or `None` if the common denominator overflows (only with
/// candidate sets of very many distinct sizes; the node is then left unbounded).
fn bounded_share(counts: &BTreeMap<u128, u128>) -> Option<u128> {
    let (mut num, mut den) = (0u128, 1u128);
    for (&size, &count) in counts {
        num = num
            .checked_mul(size)?
            .checked_add(count.checked_mul(den)?)?;
        den = den.checked_mul(size)?;
        let g = gcd(num, den);
        num /= g;
        den /= g;
    }
    let top = num.checked_mul(LOAD_BOUND_NUM)?;
    let bottom = den.checked_mul(LOAD_BOUND_DEN)?;
    Some(top.div_ceil(bottom))
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(u128, u128)]) -> BTreeMap<u128, u128> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn capacity_is_the_fair_share_plus_ten_percent_rounded_up() {
        assert_eq!(bounded_share(&counts(&[(3, 30)])), Some(11), "30 over 3");
        assert_eq!(bounded_share(&counts(&[(2, 30)])), Some(17), "30 over 2");
        assert_eq!(bounded_share(&counts(&[(3, 3)])), Some(2), "1.1 rounds up");
        assert_eq!(bounded_share(&counts(&[(1, 10)])), Some(11));
        // 10 services only here (share 10) + 30 shared by 3 (share 10) → ⌈22⌉.
        assert_eq!(bounded_share(&counts(&[(1, 10), (3, 30)])), Some(22));
        assert_eq!(bounded_share(&counts(&[(7, 1)])), Some(1));
    }

    #[test]
    fn capacity_overflow_is_reported_not_wrapped() {
        let primes: Vec<(u128, u128)> = [
            101u128, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179,
            181, 191, 193, 197,
        ]
        .iter()
        .map(|p| (*p, 1))
        .collect();
        assert_eq!(bounded_share(&counts(&primes)), None);
    }
}
