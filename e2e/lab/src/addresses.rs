//! The lab's address plan: which namespace exists and which addresses it holds.
//!
//! Only documentation ranges are used (RFC 5737, RFC 3849), so nothing the lab sends can ever
//! mean a real host, and nothing is routed out of the namespaces the lab creates:
//!
//! | network            | IPv4             | IPv6              | who                              |
//! |--------------------|------------------|-------------------|----------------------------------|
//! | LAN (`fl-br0`)     | 192.0.2.0/24     | 2001:db8:1::/64   | lab bridge, nodes, client, router|
//! | backends (`fl-bk0`)| 198.51.100.0/24  | 2001:db8:2::/64   | router, HTTP backends            |
//! | LoadBalancer IPs   | 203.0.113.0/24   | 2001:db8:3::/64   | the example LB-IPAM pool         |
//!
//! Hosts: `.1`/`::1` is the bridge in `fl-lab` (the API server listens there), node *i* is
//! `.1i`/`::1i` (node1 = .11), the client `.100`, the router `.254` on the LAN and `.1` on the
//! backend network, backend *j* `.1j` there. The IPv6 host part repeats the IPv4 digits, so
//! `192.0.2.11` and `2001:db8:1::11` are the same host.

use crate::error::Error;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Prefix of every namespace and link the lab creates; cleanup deletes whatever carries it.
pub const PREFIX: &str = "fl-";
/// The namespace holding the LAN bridge, the API server and the lab process itself.
pub const LAB_NAMESPACE: &str = "fl-lab";
/// The LAN bridge inside [`LAB_NAMESPACE`].
pub const LAN_BRIDGE: &str = "fl-br0";
/// The backend bridge inside the router namespace.
pub const BACKEND_BRIDGE: &str = "fl-bk0";
/// The interface name every host namespace sees for its uplink.
pub const HOST_INTERFACE: &str = "eth0";

/// Every lab network is a /24 and a /64.
pub const V4_PREFIX_LEN: u8 = 24;
pub const V6_PREFIX_LEN: u8 = 64;
pub const LAN_V4_NETWORK: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 0);
pub const LAN_V6_NETWORK: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0);
pub const BACKEND_V4_NETWORK: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 0);
pub const BACKEND_V6_NETWORK: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0);
/// The example LB-IPAM pool (`examples/lb-ippool.yaml`). The client reaches these on-link,
/// as on a LAN whose router leaves a range to L2-announced Services: whichever node answers
/// ARP / NDP for an IP gets the client's packets for it.
pub const LB_V4_NETWORK: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 0);
pub const LB_V6_NETWORK: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 3, 0, 0, 0, 0, 0);

/// Where the API server listens: the LAN bridge address, reachable from every node.
pub const API_SERVER_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub const API_SERVER_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
pub const API_SERVER_PORT: u16 = 6443;

/// Node host numbers start after this, so node1 is `.11`.
const NODE_BASE: u8 = 10;
const CLIENT_HOST: u8 = 100;
const ROUTER_LAN_HOST: u8 = 254;
const ROUTER_BACKEND_HOST: u8 = 1;
const BACKEND_BASE: u8 = 10;
/// Two backends are enough to see load balancing spread connections.
pub const BACKENDS: usize = 2;
/// Node host numbers must stay below the client's (`.100`); 20 is already more than a
/// 2-core machine runs comfortably with an agent per node.
pub const MAX_NODES: usize = 20;

/// What a namespace plays in the lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Node,
    Client,
    Router,
    Backend,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Node => "node",
            Self::Client => "client",
            Self::Router => "external router",
            Self::Backend => "backend",
        }
    }
}

/// One network namespace standing for a machine, with its uplink addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The network namespace (and the name of its port on the bridge).
    pub namespace: String,
    pub role: Role,
    pub ipv4: Ipv4Addr,
    pub ipv6: Ipv6Addr,
}

/// A node: a host plus the name its Kubernetes Node object carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The Node object's name and the `NODE_NAME` of DaemonSet components (`node1`).
    pub name: String,
    pub host: Host,
}

/// Every host of one lab, derived from the node count alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressPlan {
    pub nodes: Vec<Node>,
    pub client: Host,
    /// The router's LAN side; its backend side is [`AddressPlan::router_backend_v4`].
    pub router: Host,
    pub backends: Vec<Host>,
}

impl AddressPlan {
    pub fn new(node_count: usize) -> Result<Self, Error> {
        if !(1..=MAX_NODES).contains(&node_count) {
            return Err(Error::NodeCount {
                count: node_count,
                max: MAX_NODES,
            });
        }
        let nodes = (1..=node_count)
            .map(|i| {
                let number = NODE_BASE + u8::try_from(i).unwrap_or(u8::MAX);
                Node {
                    name: format!("node{i}"),
                    host: Host {
                        namespace: format!("{PREFIX}node{i}"),
                        role: Role::Node,
                        ipv4: lan_v4(number),
                        ipv6: lan_v6(number),
                    },
                }
            })
            .collect();
        let backends = (1..=BACKENDS)
            .map(|j| {
                let number = BACKEND_BASE + u8::try_from(j).unwrap_or(u8::MAX);
                Host {
                    namespace: format!("{PREFIX}backend{j}"),
                    role: Role::Backend,
                    ipv4: backend_v4(number),
                    ipv6: backend_v6(number),
                }
            })
            .collect();
        Ok(Self {
            nodes,
            client: Host {
                namespace: format!("{PREFIX}client"),
                role: Role::Client,
                ipv4: lan_v4(CLIENT_HOST),
                ipv6: lan_v6(CLIENT_HOST),
            },
            router: Host {
                namespace: format!("{PREFIX}router"),
                role: Role::Router,
                ipv4: lan_v4(ROUTER_LAN_HOST),
                ipv6: lan_v6(ROUTER_LAN_HOST),
            },
            backends,
        })
    }

    /// Hosts plugged into the LAN bridge, in creation order.
    pub fn lan_hosts(&self) -> impl Iterator<Item = &Host> {
        self.nodes
            .iter()
            .map(|n| &n.host)
            .chain([&self.client, &self.router])
    }

    /// Every namespace the lab creates besides [`LAB_NAMESPACE`], in creation order.
    pub fn namespaces(&self) -> impl Iterator<Item = &str> {
        self.lan_hosts()
            .chain(&self.backends)
            .map(|h| h.namespace.as_str())
    }

    pub fn router_backend_v4(&self) -> Ipv4Addr {
        backend_v4(ROUTER_BACKEND_HOST)
    }

    pub fn router_backend_v6(&self) -> Ipv6Addr {
        backend_v6(ROUTER_BACKEND_HOST)
    }
}

/// The table the lab prints after building the topology.
impl std::fmt::Display for AddressPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "topology: LAN bridge {LAN_BRIDGE} in {LAB_NAMESPACE} ({LAN_V4_NETWORK}/{V4_PREFIX_LEN}, \
             {LAN_V6_NETWORK}/{V6_PREFIX_LEN}); backends behind {} on {BACKEND_BRIDGE} \
             ({BACKEND_V4_NETWORK}/{V4_PREFIX_LEN}, {BACKEND_V6_NETWORK}/{V6_PREFIX_LEN})",
            self.router.namespace
        )?;
        let row =
            |f: &mut std::fmt::Formatter<'_>, ns: &str, v4: String, v6: String, what: &str| {
                writeln!(f, "  {ns:<13} {v4:<15} {v6:<17} {what}")
            };
        row(
            f,
            LAB_NAMESPACE,
            API_SERVER_V4.to_string(),
            API_SERVER_V6.to_string(),
            &format!("API server :{API_SERVER_PORT}"),
        )?;
        for node in &self.nodes {
            let host = &node.host;
            let what = format!("node {}", node.name);
            row(
                f,
                &host.namespace,
                host.ipv4.to_string(),
                host.ipv6.to_string(),
                &what,
            )?;
        }
        for host in [&self.client, &self.router]
            .into_iter()
            .chain(&self.backends)
        {
            let what = if host.role == Role::Router {
                format!(
                    "{} ({} / {} towards the backends)",
                    host.role.as_str(),
                    self.router_backend_v4(),
                    self.router_backend_v6()
                )
            } else {
                host.role.as_str().to_owned()
            };
            row(
                f,
                &host.namespace,
                host.ipv4.to_string(),
                host.ipv6.to_string(),
                &what,
            )?;
        }
        write!(f, "  no default routes: nothing leaves the lab")
    }
}

fn lan_v4(host: u8) -> Ipv4Addr {
    let [a, b, c, _] = LAN_V4_NETWORK.octets();
    Ipv4Addr::new(a, b, c, host)
}

fn backend_v4(host: u8) -> Ipv4Addr {
    let [a, b, c, _] = BACKEND_V4_NETWORK.octets();
    Ipv4Addr::new(a, b, c, host)
}

fn lan_v6(host: u8) -> Ipv6Addr {
    with_decimal_host(LAN_V6_NETWORK, host)
}

fn backend_v6(host: u8) -> Ipv6Addr {
    with_decimal_host(BACKEND_V6_NETWORK, host)
}

/// `2001:db8:1::` + 11 → `2001:db8:1::11`: the decimal digits of the IPv4 host number read
/// as hex, so both addresses of a host look alike in `ip addr` and tcpdump.
fn with_decimal_host(network: Ipv6Addr, host: u8) -> Ipv6Addr {
    let digits = host.to_string();
    let last = u16::from_str_radix(&digits, 16).unwrap_or(u16::from(host));
    let mut segments = network.segments();
    segments[7] = last;
    Ipv6Addr::from(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_client_and_router_share_the_lan() {
        let plan = AddressPlan::new(2).expect("two nodes are a valid lab");
        let lan: Vec<_> = plan
            .lan_hosts()
            .map(|h| (h.namespace.as_str(), h.ipv4.to_string(), h.ipv6.to_string()))
            .collect();
        assert_eq!(
            lan,
            [
                ("fl-node1", "192.0.2.11".into(), "2001:db8:1::11".into()),
                ("fl-node2", "192.0.2.12".into(), "2001:db8:1::12".into()),
                ("fl-client", "192.0.2.100".into(), "2001:db8:1::100".into()),
                ("fl-router", "192.0.2.254".into(), "2001:db8:1::254".into()),
            ]
        );
        assert_eq!(plan.nodes[1].name, "node2");
    }

    #[test]
    fn backends_sit_behind_the_router() {
        let plan = AddressPlan::new(1).expect("one node is a valid lab");
        let backends: Vec<_> = plan
            .backends
            .iter()
            .map(|h| (h.namespace.as_str(), h.ipv4.to_string(), h.ipv6.to_string()))
            .collect();
        assert_eq!(
            backends,
            [
                (
                    "fl-backend1",
                    "198.51.100.11".into(),
                    "2001:db8:2::11".into()
                ),
                (
                    "fl-backend2",
                    "198.51.100.12".into(),
                    "2001:db8:2::12".into()
                ),
            ]
        );
        assert_eq!(plan.router_backend_v4().to_string(), "198.51.100.1");
        assert_eq!(plan.router_backend_v6().to_string(), "2001:db8:2::1");
    }

    #[test]
    fn every_address_is_a_documentation_address() {
        let plan = AddressPlan::new(MAX_NODES).expect("the maximum is a valid lab");
        let hosts = plan.lan_hosts().chain(&plan.backends);
        for host in hosts {
            let [a, b, c, _] = host.ipv4.octets();
            assert!(
                matches!((a, b, c), (192, 0, 2) | (198, 51, 100) | (203, 0, 113)),
                "{} has a non-documentation IPv4 address {}",
                host.namespace,
                host.ipv4
            );
            assert_eq!(
                &host.ipv6.segments()[..2],
                &[0x2001, 0xdb8],
                "{} has a non-documentation IPv6 address {}",
                host.namespace,
                host.ipv6
            );
        }
    }

    #[test]
    fn names_fit_linux_interface_names() {
        // Each namespace name is also the name of its bridge port: IFNAMSIZ is 16 with NUL.
        let plan = AddressPlan::new(MAX_NODES).expect("the maximum is a valid lab");
        for ns in plan.namespaces().chain([LAB_NAMESPACE]) {
            assert!(ns.len() <= 15, "{ns} is too long for an interface name");
            assert!(ns.starts_with(PREFIX), "{ns} would escape cleanup");
        }
    }

    #[test]
    fn node_count_is_bounded() {
        assert!(matches!(AddressPlan::new(0), Err(Error::NodeCount { .. })));
        assert!(matches!(
            AddressPlan::new(MAX_NODES + 1),
            Err(Error::NodeCount { .. })
        ));
        let distinct: std::collections::BTreeSet<_> = AddressPlan::new(MAX_NODES)
            .expect("the maximum is a valid lab")
            .lan_hosts()
            .map(|h| h.ipv4)
            .collect();
        assert_eq!(distinct.len(), MAX_NODES + 2, "addresses must not collide");
    }
}
