//! Maglev lookup-table population (Eisenbud et al., "Maglev: A Fast and Reliable Software
//! Network Load Balancer", NSDI 2016, section 3.4).
//!
//! Each backend gets a permutation of the table's slots from two hashes of its identity
//! (`offset = h1 % M`, `skip = h2 % (M - 1) + 1`, slot j = `(offset + j * skip) % M`); backends
//! take turns claiming their next still-free preferred slot until the table is full. Because M
//! is prime every permutation visits every slot, each backend ends up with ⌊M/N⌋ or ⌈M/N⌉ slots,
//! and removing one backend mostly frees only its own slots, so only ~1/N of flows move.
//!
//! The hashes are of the backend's address (IP, port), never of its map id or of its
//! position in a list: the table is a function of the backend *set*, identical across agent
//! restarts, agent versions and nodes (every node computes the same table, so a flow keeps its
//! backend when ECMP moves it to another node).

use ferrule_bpf_loader::model::{BackendAddr, BackendId, MaglevTable};

/// A validated Maglev table size: a prime, so every backend's permutation covers the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaglevTableSize(u32);

impl MaglevTableSize {
    /// The datapath's row size, `LB_MAGLEV_M` of abi.h (1021): the `lb_maglev` row struct fixes
    /// M at compile time, so the agent must fill rows of exactly this size. The paper wants
    /// M ≫ N (M ≥ 100·N keeps imbalance near 1%); 1021 suits services of up to ~10 backends at
    /// 4 KiB per service, where Cilium's default of 16381 would need 64 KiB per service. Larger
    /// primes work here ([`MaglevTableSize::new`]) once the datapath's row size follows.
    pub const DEFAULT: Self = Self(ferrule_bpf_common::LB_MAGLEV_M);

    /// `None` unless `size` is a prime of at least 3 (M - 1 must be ≥ 2 for the skip).
    pub fn new(size: u32) -> Option<Self> {
        (size >= 3 && is_prime(size)).then_some(Self(size))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

fn is_prime(n: u32) -> bool {
    if n < 2 {
        return false;
    }
    let n = u64::from(n);
    let mut d = 2u64;
    while d * d <= n {
        if n % d == 0 {
            return false;
        }
        d += 1;
    }
    true
}

/// Fills a table of `size` slots with `backends`. Input order does not matter. An empty backend
/// set gives an empty table (the service drops and counts).
pub fn populate(backends: &[(BackendId, BackendAddr)], size: MaglevTableSize) -> MaglevTable {
    if backends.is_empty() {
        return MaglevTable(Vec::new());
    }
    let mut sorted: Vec<&(BackendId, BackendAddr)> = backends.iter().collect();
    // Turn order decides contested slots, so it must not depend on input order.
    sorted.sort_by_key(|(_, addr)| *addr);
    sorted.dedup_by_key(|(_, addr)| *addr);

    let m = u64::from(size.get());
    let perms: Vec<(u64, u64)> = sorted
        .iter()
        .map(|(_, addr)| {
            let key = identity(addr);
            let offset = hash(OFFSET_SEED, &key) % m;
            let skip = hash(SKIP_SEED, &key) % (m - 1) + 1;
            (offset, skip)
        })
        .collect();

    let mut slots: Vec<Option<usize>> = vec![None; size.get() as usize];
    let mut next = vec![0u64; sorted.len()];
    let mut filled = 0usize;
    'fill: loop {
        for (i, (offset, skip)) in perms.iter().enumerate() {
            // Each backend's permutation visits every slot (M prime), so this terminates.
            let mut slot = ((offset + next[i] * skip) % m) as usize;
            while slots[slot].is_some() {
                next[i] += 1;
                slot = ((offset + next[i] * skip) % m) as usize;
            }
            slots[slot] = Some(i);
            next[i] += 1;
            filled += 1;
            if filled == slots.len() {
                break 'fill;
            }
        }
    }
    MaglevTable(
        slots
            .into_iter()
            .map(|s| s.map_or(sorted[0].0, |i| sorted[i].0))
            .collect(),
    )
}

const OFFSET_SEED: u64 = 0x6d61_676c_6576_3031; // "maglev01"
const SKIP_SEED: u64 = 0x6d61_676c_6576_3032; // "maglev02"

fn identity(addr: &BackendAddr) -> Vec<u8> {
    addr.to_string().into_bytes()
}

/// FNV-1a over the seed and key, then the SplitMix64 finaliser for avalanche. Written out
/// rather than `std::hash` because the std hashers are not guaranteed stable across Rust
/// releases, and tables must not change when the agent is rebuilt.
fn hash(seed: u64, key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.to_le_bytes().iter().chain(key) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
#[path = "maglev_tests.rs"]
mod tests;
