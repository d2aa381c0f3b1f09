//! Telling neighbours that a responder entry's address is now at this node: a gratuitous ARP
//! (IPv4) or unsolicited Neighbor Advertisement (IPv6) on the entry's interface, so they update
//! their caches at failover instead of waiting for them to expire; and, for IPv6, joining the
//! address's solicited-node group so the kernel (and the NIC) deliver the Neighbor
//! Solicitations the XDP responder answers.
//!
//! Design:
//!  - Both kinds of frame are built here ([`frames`], pure and checked byte by byte) and sent as
//!    raw Ethernet on an `AF_PACKET` socket ([`link`], through `pnet_datalink`, whose API is
//!    safe; the workspace forbids `unsafe`). One path for both families, and the NA is exactly
//!    the XDP responder's answer without the Solicited flag: from the announced address, with
//!    the target link-layer address option. A raw ICMPv6 socket would pick a link-local source
//!    and fail on interfaces without one.
//!  - IPv4 sends both gratuitous ARP forms, request then reply (as MetalLB does): RFC 5227
//!    names the request form, and Linux updates on it, but some neighbours only update their
//!    cache from replies. Two 42-byte frames per failover cost nothing.
//!  - Group memberships ([`groups`]) are held by an ordinary UDP socket for the agent's
//!    lifetime; the kernel sends the MLD reports, so MLD-snooping switches forward the
//!    solicitations too.
//!  - Failures (interface gone, no CAP_NET_RAW, link down) are [`Error::Announce`] with the
//!    reason; the run loop logs them.

pub mod frames;
pub mod groups;
pub mod link;
mod sender;

pub use sender::LinkAnnouncer;

use ferrule_bpf_loader::model::ResponderKey;

use crate::Error;
use crate::responder::Announcer;

/// Refuses every announcement with a reason (tests that must not touch the network).
#[derive(Debug, Default, Clone, Copy)]
pub struct Unavailable;

impl Announcer for Unavailable {
    fn announce(&mut self, key: ResponderKey) -> Result<(), Error> {
        Err(Error::Announce {
            ifindex: key.ifindex,
            addr: key.addr,
            reason: "this announcer does not send gratuitous ARP / unsolicited NA".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcing_reports_a_failure_rather_than_success() {
        let key = ResponderKey {
            ifindex: 2,
            addr: "192.0.2.5".parse().expect("ip"),
        };
        let err = Unavailable.announce(key).expect_err("no sender");
        assert_eq!(err.metric_label(), "announce");
    }
}
