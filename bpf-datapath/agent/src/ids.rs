//! Stable map ids for frontends (service ids) and backends.
//!
//! Ids are adopted, not derived: on every reconcile the current map contents (pinned maps after
//! a restart) are read back, and a key that already has an id keeps it. So an unchanged service
//! keeps its id across agent restarts and upgrades, and conntrack entries, counters and Maglev
//! tables that refer to it stay valid. Hashing the key into an id instead would collide (at
//! 10,000 services a 32-bit hash collides with ~1% probability) and a collision silently merges
//! two services.
//!
//! New keys take the smallest id that no key currently in the maps holds — including keys about
//! to be deleted, so within one reconcile an id is never both deleted and reused. Without any
//! pinned state (first start, reboot) ids are handed out in key order, so the same inputs give
//! the same ids. Id 0 is never used: the BPF programs read 0 as "none".

use std::collections::{BTreeMap, BTreeSet};

/// Ids for the wanted keys, and the keys left without one because the id space was full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assigned<K> {
    pub ids: BTreeMap<K, u32>,
    pub unassigned: Vec<K>,
}

/// Assigns ids below `limit` to `wanted` keys: `current` ids kept, new keys (in key order) get
/// the smallest id from 1 up that no current key holds. The limit is the datapath's (service
/// ids index a fixed-size array); keys beyond it are reported, never given a clashing id.
pub fn assign<K: Ord + Clone>(
    current: &BTreeMap<K, u32>,
    wanted: &BTreeSet<K>,
    limit: u32,
) -> Assigned<K> {
    let taken: BTreeSet<u32> = current.values().copied().collect();
    let mut free = (1..limit).filter(|id| !taken.contains(id));
    let mut out = Assigned {
        ids: BTreeMap::new(),
        unassigned: Vec::new(),
    };
    // Two keys claiming one id (maps corrupted or written by hand): the first keeps it.
    let mut adopted = BTreeSet::new();
    for key in wanted {
        let id = match current.get(key) {
            Some(id) if *id != 0 && *id < limit && adopted.insert(*id) => Some(*id),
            _ => free.next(),
        };
        match id {
            Some(id) => {
                out.ids.insert(key.clone(), id);
            }
            None => out.unassigned.push(key.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(keys: &[&'static str]) -> BTreeSet<&'static str> {
        keys.iter().copied().collect()
    }

    #[test]
    fn fresh_ids_follow_key_order_and_skip_zero() {
        let ids = assign(&BTreeMap::new(), &set(&["b", "a", "c"]), 100).ids;
        assert_eq!(ids, BTreeMap::from([("a", 1), ("b", 2), ("c", 3)]));
    }

    #[test]
    fn keys_beyond_the_id_space_are_reported_not_given_clashing_ids() {
        let current = BTreeMap::from([("a", 1)]);
        let out = assign(&current, &set(&["a", "b", "c"]), 3);
        assert_eq!(out.ids, BTreeMap::from([("a", 1), ("b", 2)]));
        assert_eq!(out.unassigned, vec!["c"]);
    }

    #[test]
    fn an_id_claimed_twice_is_kept_by_the_first_key_only() {
        let current = BTreeMap::from([("a", 1), ("b", 1)]);
        let out = assign(&current, &set(&["a", "b"]), 10);
        assert_eq!(out.ids, BTreeMap::from([("a", 1), ("b", 2)]));
    }

    #[test]
    fn adopted_ids_outside_the_space_are_replaced() {
        // Maps written by a build with a larger id space (or corrupted) are not trusted.
        let current = BTreeMap::from([("a", 0), ("b", 500)]);
        let out = assign(&current, &set(&["a", "b"]), 10);
        assert_eq!(out.ids, BTreeMap::from([("a", 1), ("b", 2)]));
    }

    #[test]
    fn existing_keys_keep_their_ids_whatever_is_added() {
        let current = BTreeMap::from([("m", 7), ("z", 1)]);
        let ids = assign(&current, &set(&["a", "m", "z"]), 100).ids;
        assert_eq!(ids, BTreeMap::from([("a", 2), ("m", 7), ("z", 1)]));
    }

    #[test]
    fn ids_of_keys_being_deleted_are_not_reused_in_the_same_reconcile() {
        let current = BTreeMap::from([("gone", 1)]);
        let ids = assign(&current, &set(&["new"]), 100).ids;
        assert_eq!(ids, BTreeMap::from([("new", 2)]));
    }
}
