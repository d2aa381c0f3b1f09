//! The claim book of one plan: which services hold which IP (a group when they share), the
//! pool each IP counts against, the taken-address sets the allocator searches, and the IPs
//! of each sharing key.

use super::allocator::RunSet;
use super::pool::PoolView;
use super::ranges::{Family, Ip};
use std::collections::{BTreeSet, HashMap};

/// Services holding one IP.
#[derive(Debug, Clone)]
pub struct Claim {
    /// The pool the IP counts against: the first pool containing it (the non-conflicting
    /// one if any), so the count never depends on which service claimed it first.
    pub pool: usize,
    /// Indices into the planner's managed services, ascending (= service order, oldest
    /// first), whatever order they joined in: compatibility checks then report the same
    /// member, and the same reason, on every pass.
    pub members: Vec<usize>,
}

#[derive(Debug)]
pub struct Book<'a> {
    claims: HashMap<Ip, Claim>,
    /// Claimed plus reserved addresses per family: what "lowest free" skips.
    taken: [RunSet; 2],
    /// IPs whose group was founded by a service with this sharing key.
    by_key: HashMap<&'a str, BTreeSet<Ip>>,
}

impl<'a> Book<'a> {
    /// Starts with the reserved first/last addresses of non-conflicting pools taken
    /// (conflicting pools allocate nothing, and their reserved addresses may lie in a
    /// winning pool's range).
    pub fn new(pools: &[PoolView<'_>]) -> Self {
        let mut taken = [RunSet::new(), RunSet::new()];
        for p in pools.iter().filter(|p| p.conflict.is_none()) {
            for ip in p.reserved() {
                taken[ip.family.index()].insert(ip.bits);
            }
        }
        Self {
            claims: HashMap::new(),
            taken,
            by_key: HashMap::new(),
        }
    }

    pub fn get(&self, ip: Ip) -> Option<&Claim> {
        self.claims.get(&ip)
    }

    pub fn taken(&self, family: Family) -> &RunSet {
        &self.taken[family.index()]
    }

    /// A new group for `ip` (which must be unclaimed).
    pub fn found(&mut self, ip: Ip, pool: usize, member: usize, key: Option<&'a str>) {
        self.taken[ip.family.index()].insert(ip.bits);
        self.claims.insert(
            ip,
            Claim {
                pool,
                members: vec![member],
            },
        );
        if let Some(key) = key {
            self.by_key.entry(key).or_default().insert(ip);
        }
    }

    /// Adds `member` to the group holding `ip`.
    pub fn join(&mut self, ip: Ip, member: usize) {
        if let Some(claim) = self.claims.get_mut(&ip)
            && let Err(at) = claim.members.binary_search(&member)
        {
            claim.members.insert(at, member);
        }
    }

    /// The IPs of a sharing key's groups in one family, lowest first.
    pub fn key_ips(&self, key: &str, family: Family) -> impl Iterator<Item = Ip> + '_ {
        let lo = Ip { family, bits: 0 };
        let hi = Ip {
            family,
            bits: u128::MAX,
        };
        self.by_key
            .get(key)
            .into_iter()
            .flat_map(move |ips| ips.range(lo..=hi).copied())
    }

    /// Claimed IPs counted against each pool (each IP once, however many share it).
    pub fn used_per_pool(&self, pool_count: usize) -> Vec<u128> {
        let mut used = vec![0u128; pool_count];
        for claim in self.claims.values() {
            if let Some(u) = used.get_mut(claim.pool) {
                *u += 1;
            }
        }
        used
    }

    pub fn is_claimed(&self, ip: Ip) -> bool {
        self.claims.contains_key(&ip)
    }
}
