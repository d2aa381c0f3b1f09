//! Default-gateway auto-discovery: the gateway of the lowest-metric default route per family,
//! which `autoDiscovery: DefaultGateway` peers with. [`linux`] reads the node's table and
//! follows its changes.

pub mod linux;

use ferrule_bgp_speaker::Prefix;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A route of the node's routing table, as far as gateway discovery cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub destination: Prefix,
    /// `None` for routes without a next hop (directly connected, or via a device only).
    pub gateway: Option<IpAddr>,
    pub metric: u32,
}

/// The discovered gateway of each family.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefaultGateways {
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6: Option<Ipv6Addr>,
}

/// Per family, the gateway of the default route with the lowest metric (ties: the lowest
/// address, so the choice is stable). Link-local gateways cannot be peered with and are
/// skipped, so a multi-homed node falls back to its next default route.
pub fn default_gateways(routes: &[Route]) -> DefaultGateways {
    let best = |want_v4: bool| {
        routes
            .iter()
            .filter(|r| r.destination.is_empty() && r.destination.addr().is_ipv4() == want_v4)
            .filter_map(|r| Some((r.metric, r.gateway?)))
            .filter(|(_, gateway)| gateway.is_ipv4() == want_v4 && !is_link_local(*gateway))
            .min()
            .map(|(_, gateway)| gateway)
    };
    DefaultGateways {
        ipv4: best(true).and_then(|g| match g {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        }),
        ipv6: best(false).and_then(|g| match g {
            IpAddr::V6(a) => Some(a),
            IpAddr::V4(_) => None,
        }),
    }
}

fn is_link_local(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(a) => a.is_link_local(),
        IpAddr::V6(a) => a.is_unicast_link_local(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(destination: &str, gateway: Option<&str>, metric: u32) -> Route {
        Route {
            destination: destination.parse().expect("a prefix"),
            gateway: gateway.map(|g| g.parse().expect("an address")),
            metric,
        }
    }

    #[test]
    fn lowest_metric_default_route_wins_per_family() {
        let routes = [
            route("0.0.0.0/0", Some("192.0.2.1"), 200),
            route("0.0.0.0/0", Some("198.51.100.1"), 100),
            route("192.0.2.0/24", None, 0),
            route("203.0.113.0/24", Some("192.0.2.9"), 1),
            route("::/0", Some("2001:db8::1"), 1024),
            route("::/0", Some("2001:db8:1::1"), 512),
        ];
        assert_eq!(
            default_gateways(&routes),
            DefaultGateways {
                ipv4: Some(Ipv4Addr::new(198, 51, 100, 1)),
                ipv6: Some("2001:db8:1::1".parse().expect("an address")),
            }
        );
    }

    #[test]
    fn link_local_and_gatewayless_defaults_are_not_peers() {
        let routes = [
            route("::/0", Some("fe80::1"), 1),
            route("::/0", Some("2001:db8::1"), 1024),
            route("0.0.0.0/0", None, 0),
            route("0.0.0.0/0", Some("169.254.0.1"), 0),
        ];
        let gateways = default_gateways(&routes);
        assert_eq!(gateways.ipv4, None);
        assert_eq!(gateways.ipv6, "2001:db8::1".parse().ok());
    }

    #[test]
    fn equal_metrics_pick_the_same_gateway_whatever_the_order() {
        let a = route("0.0.0.0/0", Some("192.0.2.1"), 100);
        let b = route("0.0.0.0/0", Some("192.0.2.2"), 100);
        assert_eq!(default_gateways(&[a, b]), default_gateways(&[b, a]));
        assert_eq!(
            default_gateways(&[b, a]).ipv4,
            Some(Ipv4Addr::new(192, 0, 2, 1))
        );
    }
}
