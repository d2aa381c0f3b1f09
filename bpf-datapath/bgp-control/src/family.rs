//! The address families a BGP session can carry here: IPv4 and IPv6 unicast, the only two the
//! BGP control plane supports.

use crate::prefix::Prefix;
use ferrule_api::bgp::common::{Afi, Safi};
use std::net::IpAddr;

/// A supported AFI/SAFI pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Ipv4Unicast,
    Ipv6Unicast,
}

impl Family {
    /// Both families, the default when a peer config lists none.
    pub const ALL: [Family; 2] = [Family::Ipv4Unicast, Family::Ipv6Unicast];

    /// The family an AFI/SAFI pair names, if it is one of the supported two.
    pub fn from_afi_safi(afi: Afi, safi: Safi) -> Option<Self> {
        match (afi, safi) {
            (Afi::Ipv4, Safi::Unicast) => Some(Self::Ipv4Unicast),
            (Afi::Ipv6, Safi::Unicast) => Some(Self::Ipv6Unicast),
            _ => None,
        }
    }

    pub fn afi(self) -> Afi {
        match self {
            Self::Ipv4Unicast => Afi::Ipv4,
            Self::Ipv6Unicast => Afi::Ipv6,
        }
    }

    pub fn safi(self) -> Safi {
        Safi::Unicast
    }

    /// The unicast family of an address.
    pub fn of_address(address: IpAddr) -> Self {
        if address.is_ipv4() {
            Self::Ipv4Unicast
        } else {
            Self::Ipv6Unicast
        }
    }

    /// The unicast family a prefix is announced in.
    pub fn of_prefix(prefix: &Prefix) -> Self {
        Self::of_address(prefix.address())
    }
}
