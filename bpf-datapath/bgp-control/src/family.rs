//! The address families a BGP session can carry here: IPv4 and IPv6 unicast, the only two the
//! BGP control plane supports. The type is the speaker's ([`Family`]); this module maps it to
//! and from the AFI/SAFI enums of the Cilium API.

use ferrule_api::bgp::common::{Afi, Safi};
pub use ferrule_bgp_speaker::Family;

/// [`Family`] in the Cilium API's terms.
pub trait ApiFamily: Sized {
    /// The family an AFI/SAFI pair names, if it is one of the supported two.
    fn from_api(afi: Afi, safi: Safi) -> Option<Self>;
    fn api_afi(self) -> Afi;
    fn api_safi(self) -> Safi;
}

impl ApiFamily for Family {
    fn from_api(afi: Afi, safi: Safi) -> Option<Self> {
        match (afi, safi) {
            (Afi::Ipv4, Safi::Unicast) => Some(Self::Ipv4Unicast),
            (Afi::Ipv6, Safi::Unicast) => Some(Self::Ipv6Unicast),
            _ => None,
        }
    }

    fn api_afi(self) -> Afi {
        match self {
            Self::Ipv4Unicast => Afi::Ipv4,
            Self::Ipv6Unicast => Afi::Ipv6,
        }
    }

    fn api_safi(self) -> Safi {
        Safi::Unicast
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicast_families_round_trip_and_others_are_unsupported() {
        for family in Family::ALL {
            assert_eq!(
                Family::from_api(family.api_afi(), family.api_safi()),
                Some(family)
            );
        }
        assert_eq!(Family::from_api(Afi::Ipv4, Safi::MplsVpn), None);
    }
}
