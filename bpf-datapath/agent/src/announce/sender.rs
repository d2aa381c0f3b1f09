//! [`LinkAnnouncer`]: the announcer `ferrule-agent run` uses.

use std::collections::BTreeSet;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ferrule_bpf_loader::model::ResponderKey;

use super::frames::{ArpForm, gratuitous_arp, unsolicited_na};
use super::groups::{GroupSocket, Memberships};
use super::link::{Link, check_packet_sockets};
use crate::Error;
use crate::responder::Announcer;

/// Sends gratuitous ARP / unsolicited NA on the entry's interface and holds the IPv6 entries'
/// solicited-node memberships.
#[derive(Debug)]
pub struct LinkAnnouncer {
    memberships: Memberships,
    groups: GroupSocket,
}

impl LinkAnnouncer {
    /// Fails if this process cannot open packet sockets (CAP_NET_RAW).
    pub fn new() -> io::Result<Self> {
        check_packet_sockets()?;
        Ok(Self {
            memberships: Memberships::default(),
            groups: GroupSocket::default(),
        })
    }

    fn announce_v4(link: &Link, addr: Ipv4Addr) -> Result<(), String> {
        let request = gratuitous_arp(link.mac, addr, ArpForm::Request);
        let reply = gratuitous_arp(link.mac, addr, ArpForm::Reply);
        link.send(&[&request, &reply])
            .map_err(|e| format!("sending gratuitous ARP on {}: {e}", link.name))
    }

    /// Joins before advertising: neighbours that react to the NA by soliciting must reach us.
    /// Both are attempted even if one fails; either failure fails the announcement.
    fn announce_v6(&mut self, link: &Link, addr: Ipv6Addr) -> Result<(), String> {
        let mut failures = Vec::new();
        if let Err(e) = self.join(link.ifindex, addr) {
            failures.push(format!("{e} on {}", link.name));
        }
        if let Err(e) = link.send(&[&unsolicited_na(link.mac, addr)]) {
            failures.push(format!("sending unsolicited NA on {}: {e}", link.name));
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("; "))
        }
    }

    /// Records `addr` and joins its group if it is the first address needing it; a failed
    /// join is not recorded, so [`Announcer::retain`] tries again.
    fn join(&mut self, ifindex: u32, addr: Ipv6Addr) -> Result<(), String> {
        if let Some(group) = self.memberships.add(ifindex, addr)
            && let Err(e) = self.groups.join(group, ifindex)
        {
            self.memberships.remove(ifindex, addr);
            return Err(format!("joining {group}: {e}"));
        }
        Ok(())
    }

    /// Forgets `addr` and leaves its group if no other address needs it.
    fn leave(&mut self, ifindex: u32, addr: Ipv6Addr) -> Result<(), String> {
        match self.memberships.remove(ifindex, addr) {
            Some(group) => self
                .groups
                .leave(group, ifindex)
                .map_err(|e| format!("leaving {group}: {e}")),
            None => Ok(()),
        }
    }
}

fn failure(key: ResponderKey, reason: String) -> Error {
    Error::Announce {
        ifindex: key.ifindex,
        addr: key.addr,
        reason,
    }
}

impl Announcer for LinkAnnouncer {
    fn announce(&mut self, key: ResponderKey) -> Result<(), Error> {
        let link = Link::by_index(key.ifindex).map_err(|reason| failure(key, reason))?;
        match key.addr {
            IpAddr::V4(addr) => Self::announce_v4(&link, addr),
            IpAddr::V6(addr) => self.announce_v6(&link, addr),
        }
        .map_err(|reason| failure(key, reason))
    }

    /// Leaves the solicited-node group the entry needed (unless another entry still needs
    /// it). Nothing is sent: the node taking the address over announces it itself.
    fn withdraw(&mut self, key: ResponderKey) -> Result<(), Error> {
        let IpAddr::V6(addr) = key.addr else {
            return Ok(());
        };
        self.leave(key.ifindex, addr)
            .map_err(|reason| failure(key, reason))
    }

    /// Holds exactly the solicited-node memberships of the IPv6 entries in `entries`.
    fn retain(&mut self, entries: &BTreeSet<ResponderKey>) -> Vec<Error> {
        let wanted: BTreeSet<(u32, Ipv6Addr)> = entries
            .iter()
            .filter_map(|k| match k.addr {
                IpAddr::V6(a) => Some((k.ifindex, a)),
                IpAddr::V4(_) => None,
            })
            .collect();
        let held = self.memberships.served();
        let key = |(ifindex, addr): (u32, Ipv6Addr)| ResponderKey {
            ifindex,
            addr: IpAddr::V6(addr),
        };
        let mut failed = Vec::new();
        for &(ifindex, addr) in held.difference(&wanted) {
            if let Err(reason) = self.leave(ifindex, addr) {
                failed.push(failure(key((ifindex, addr)), reason));
            }
        }
        for &(ifindex, addr) in wanted.difference(&held) {
            if let Err(reason) = self.join(ifindex, addr) {
                failed.push(failure(key((ifindex, addr)), reason));
            }
        }
        failed
    }
}
