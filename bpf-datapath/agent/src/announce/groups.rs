//! Solicited-node multicast memberships: a neighbour resolving an IPv6 address sends its
//! Neighbor Solicitation to the address's solicited-node group, and a NIC (or an MLD-snooping
//! switch) delivers that only to nodes that joined the group. The kernel joins the groups of
//! the interface's own addresses; a service IP is no address of the interface, so the XDP
//! responder would never see the solicitations unless the agent joins for it.
//!
//! Memberships belong to a socket: held as long as the agent runs, dropped by the kernel when
//! it exits. Several addresses can share a group (same low 24 bits), so a group is joined for
//! the first address that needs it and left after the last.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::{Ipv6Addr, UdpSocket};

use super::frames::solicited_node;

/// Which served addresses need which (interface, group).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Memberships {
    members: BTreeMap<(u32, Ipv6Addr), BTreeSet<Ipv6Addr>>,
}

impl Memberships {
    /// Records `addr` as served on `ifindex`; returns the group to join if no other address
    /// needed it yet.
    pub fn add(&mut self, ifindex: u32, addr: Ipv6Addr) -> Option<Ipv6Addr> {
        let group = solicited_node(addr);
        let members = self.members.entry((ifindex, group)).or_default();
        let first = members.is_empty();
        members.insert(addr);
        first.then_some(group)
    }

    /// Forgets `addr` on `ifindex`; returns the group to leave if it was the last address
    /// needing it.
    pub fn remove(&mut self, ifindex: u32, addr: Ipv6Addr) -> Option<Ipv6Addr> {
        let group = solicited_node(addr);
        let members = self.members.get_mut(&(ifindex, group))?;
        if !members.remove(&addr) || !members.is_empty() {
            return None;
        }
        self.members.remove(&(ifindex, group));
        Some(group)
    }

    /// Every (interface, address) recorded.
    pub fn served(&self) -> BTreeSet<(u32, Ipv6Addr)> {
        self.members
            .iter()
            .flat_map(|((ifindex, _), addrs)| addrs.iter().map(|a| (*ifindex, *a)))
            .collect()
    }
}

/// The socket holding the memberships. A UDP socket on an ephemeral port: joining needs an
/// IPv6 socket of some kind, and this one receives nothing (no datagram is addressed to its
/// port), unlike a raw ICMPv6 socket, which would queue every ICMPv6 packet of the node.
/// Opened at the first join, so a node without IPv6 runs the agent fine.
#[derive(Debug, Default)]
pub struct GroupSocket {
    socket: Option<UdpSocket>,
}

impl GroupSocket {
    pub fn join(&mut self, group: Ipv6Addr, ifindex: u32) -> io::Result<()> {
        let socket = match &mut self.socket {
            Some(socket) => socket,
            slot => slot.insert(UdpSocket::bind("[::]:0")?),
        };
        socket.join_multicast_v6(&group, ifindex)
    }

    pub fn leave(&mut self, group: Ipv6Addr, ifindex: u32) -> io::Result<()> {
        match &self.socket {
            Some(socket) => socket.leave_multicast_v6(&group, ifindex),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(s: &str) -> Ipv6Addr {
        s.parse().expect("ipv6")
    }

    #[test]
    fn a_group_is_joined_for_its_first_address_and_left_after_its_last() {
        let mut m = Memberships::default();
        let group = v6("ff02::1:ff00:10");
        assert_eq!(m.add(2, v6("2001:db8::10")), Some(group));
        // Same low 24 bits: same group, already joined.
        assert_eq!(m.add(2, v6("2001:db8:1::10")), None);
        // Same address on another interface: that interface joins too.
        assert_eq!(m.add(3, v6("2001:db8::10")), Some(group));
        assert_eq!(
            m.served(),
            BTreeSet::from([
                (2, v6("2001:db8::10")),
                (2, v6("2001:db8:1::10")),
                (3, v6("2001:db8::10")),
            ])
        );

        assert_eq!(m.remove(2, v6("2001:db8::10")), None);
        assert_eq!(m.remove(2, v6("2001:db8:1::10")), Some(group));
        // Removing what is not there leaves nothing to undo.
        assert_eq!(m.remove(2, v6("2001:db8:1::10")), None);
        assert_eq!(m.remove(3, v6("2001:db8::99")), None);
        assert_eq!(m.remove(3, v6("2001:db8::10")), Some(group));
        assert_eq!(m, Memberships::default());
    }

    #[test]
    fn adding_an_address_twice_does_not_need_two_removals() {
        let mut m = Memberships::default();
        assert!(m.add(2, v6("2001:db8::10")).is_some());
        assert_eq!(m.add(2, v6("2001:db8::10")), None);
        assert!(m.remove(2, v6("2001:db8::10")).is_some());
    }
}
