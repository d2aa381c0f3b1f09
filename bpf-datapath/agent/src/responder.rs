//! The L2 responder's internal interface. The L2 announcements feature says which IPs this node
//! answers ARP / Neighbor Solicitations for, on which interfaces ([`ResponderTable::set`]); the
//! entries become the responder map by the same diff as everything else, and every entry a
//! reconcile *adds* is announced once (gratuitous ARP / unsolicited NA) so neighbours update
//! their caches at failover instead of waiting for them to expire; every entry it *deletes* is
//! withdrawn (what the announcement set up, such as an IPv6 multicast membership, is undone).

use std::collections::BTreeSet;
use std::net::IpAddr;

use ferrule_bpf_loader::MapOp;
use ferrule_bpf_loader::model::ResponderKey;

use crate::Error;
use crate::reconcile::Applied;

/// Which (interface, IP) pairs this node answers for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponderTable {
    entries: BTreeSet<ResponderKey>,
}

impl ResponderTable {
    /// Replaces the whole set (level-triggered, like every other input). Returns whether it
    /// changed, so the caller reconciles only when needed.
    pub fn set(&mut self, node_ips: impl IntoIterator<Item = (u32, IpAddr)>) -> bool {
        let entries: BTreeSet<ResponderKey> = node_ips
            .into_iter()
            .map(|(ifindex, addr)| ResponderKey { ifindex, addr })
            .collect();
        let changed = entries != self.entries;
        self.entries = entries;
        changed
    }

    pub fn entries(&self) -> &BTreeSet<ResponderKey> {
        &self.entries
    }
}

/// Sends a gratuitous ARP (IPv4) or unsolicited neighbour advertisement (IPv6) for an address
/// on an interface. The real sender is [`crate::announce::LinkAnnouncer`]; tests use a
/// recording double.
pub trait Announcer {
    fn announce(&mut self, key: ResponderKey) -> Result<(), Error>;

    /// The entry is gone: release what [`Announcer::announce`] holds for it. The default is
    /// for announcers that hold nothing.
    fn withdraw(&mut self, _key: ResponderKey) -> Result<(), Error> {
        Ok(())
    }

    /// Makes what the announcer holds match `entries`, the whole responder table, without
    /// sending anything. The level-triggered companion of announce/withdraw, for what they
    /// miss: entries adopted from a previous agent's pinned map are never "added", and a
    /// failed IPv6 group join is otherwise not retried. Returns one error per entry it could
    /// not bring in line; the default is for announcers that hold nothing.
    fn retain(&mut self, _entries: &BTreeSet<ResponderKey>) -> Vec<Error> {
        Vec::new()
    }
}

/// What [`announce_added`] did.
#[derive(Debug, Default)]
pub struct Announcements {
    pub sent: Vec<ResponderKey>,
    pub withdrawn: Vec<ResponderKey>,
    /// Failed announcements and withdrawals. One failure does not stop the others; the caller
    /// logs and counts these.
    pub failed: Vec<Error>,
}

/// Announces every responder entry `applied` added and withdraws every one it deleted. Called
/// after the reconcile, so the map entry answering follow-up ARP requests exists before
/// neighbours are told about it.
pub fn announce_added(applied: &Applied, announcer: &mut impl Announcer) -> Announcements {
    let mut out = Announcements::default();
    for op in &applied.ops {
        let (result, key, done) = match op {
            MapOp::UpdateResponder(key) => (announcer.announce(*key), key, &mut out.sent),
            MapOp::DeleteResponder(key) => (announcer.withdraw(*key), key, &mut out.withdrawn),
            _ => continue,
        };
        match result {
            Ok(()) => done.push(*key),
            Err(e) => out.failed.push(e),
        }
    }
    out
}

#[cfg(test)]
#[path = "responder_tests.rs"]
mod tests;
