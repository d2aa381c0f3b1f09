//! The fixed hash behind the assignment. Every announcer, on every node and every ferrule
//! version, must compute the same weights, or two nodes would announce one IP; so the hash is
//! written out here (64-bit FNV-1a, then MurmurHash3's 64-bit finaliser to spread FNV's weak
//! high bits) rather than taken from std, whose `DefaultHasher` may change between releases
//! and whose `RandomState` is seeded per process.
//!
//! Changing anything in this file changes which node announces what: the golden values in the
//! tests pin it, and a change needs a rollout plan (mixed versions disagree).

use super::model::ServiceKey;

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Separates the service from the node in the hashed bytes. Neither a namespace, a Service
/// name nor a Node name can contain NUL, so distinct pairs hash distinct byte strings.
const PAIR_SEPARATOR: u8 = 0;

/// 64-bit FNV-1a over the concatenation of `parts`.
fn fnv1a64(parts: &[&[u8]]) -> u64 {
    let mut hash = FNV_OFFSET_BASIS;
    for byte in parts.iter().flat_map(|p| p.iter()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// MurmurHash3's `fmix64`: a bijection that makes every output bit depend on every input bit.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

/// The rendezvous weight of `node` for `service`: hash of `namespace/name NUL node`.
pub fn weight(service: &ServiceKey, node: &str) -> u64 {
    fmix64(fnv1a64(&[
        service.namespace.as_bytes(),
        b"/",
        service.name.as_bytes(),
        &[PAIR_SEPARATOR],
        node.as_bytes(),
    ]))
}

/// Where `service` comes in the order services are placed: hash of `namespace/name`.
pub fn placement_rank(service: &ServiceKey) -> u64 {
    fmix64(fnv1a64(&[
        service.namespace.as_bytes(),
        b"/",
        service.name.as_bytes(),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_published_test_vectors() {
        assert_eq!(fnv1a64(&[]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(&[b"a"]), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(&[b"foobar"]), 0x8594_4171_f739_67e8);
        assert_eq!(fnv1a64(&[b"foo", b"bar"]), fnv1a64(&[b"foobar"]));
    }

    #[test]
    fn weights_are_pinned_across_versions() {
        let svc = ServiceKey::new("default", "web");
        assert_eq!(weight(&svc, "node-a"), GOLDEN_WEIGHT_A);
        assert_eq!(weight(&svc, "node-b"), GOLDEN_WEIGHT_B);
        assert_eq!(placement_rank(&svc), GOLDEN_RANK);
    }

    #[test]
    fn namespace_name_boundary_cannot_collide() {
        // "a/bc" and "ab/c" differ in where the slash sits, so their bytes differ.
        let one = ServiceKey::new("a", "bc");
        let two = ServiceKey::new("ab", "c");
        assert_ne!(weight(&one, "n"), weight(&two, "n"));
        assert_ne!(placement_rank(&one), placement_rank(&two));
    }

    // Computed once by an independent implementation (a few lines of Python over the same
    // definition), not by this code.
    const GOLDEN_WEIGHT_A: u64 = 0xe275_60e3_18a1_adf3;
    const GOLDEN_WEIGHT_B: u64 = 0x4c3d_5d56_1cfe_20cb;
    const GOLDEN_RANK: u64 = 0x043e_bfb5_ca03_7b82;
}
