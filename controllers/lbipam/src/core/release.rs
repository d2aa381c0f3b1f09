//! Why a service's current IP is not kept: the text goes into the release Event, so a user
//! reading `kubectl get events` learns what changed.

use super::model::ServiceKey;
use super::ranges::{Family, Ip};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Release {
    /// The status held text that is not an address.
    NotAnIp,
    /// No pool contains the address any more (block removed, pool deleted).
    NoPool,
    /// Pools contain it, but none selects the service any more.
    NotSelected(Vec<String>),
    /// The service no longer asks for this family.
    FamilyNotRequested(Family),
    /// The service requests specific IPs and this is not one of them.
    NotRequested,
    /// The service already keeps another address of the family.
    Surplus(Ip),
    /// An older service holds it and the two may not share.
    Claimed { by: ServiceKey, why: &'static str },
}

impl Release {
    /// Changes the user asked for (by editing the service) are Normal; everything else is a
    /// Warning, because the service's address changed under it.
    pub fn user_driven(&self) -> bool {
        matches!(self, Self::FamilyNotRequested(_) | Self::NotRequested)
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnIp => f.write_str("not an IP address"),
            Self::NoPool => f.write_str("no CiliumLoadBalancerIPPool contains it"),
            Self::NotSelected(pools) => {
                let names: Vec<String> = pools.iter().map(|p| format!("'{p}'")).collect();
                write!(
                    f,
                    "pool {} no longer selects this service",
                    names.join(", ")
                )
            }
            Self::FamilyNotRequested(family) => {
                write!(f, "the service no longer requests {}", family.name())
            }
            Self::NotRequested => f.write_str("not among the requested IPs"),
            Self::Surplus(kept) => write!(f, "the service keeps {kept} for this family"),
            Self::Claimed { by, why } => {
                write!(
                    f,
                    "held by older service {by}, which it may not share with: {why}"
                )
            }
        }
    }
}
