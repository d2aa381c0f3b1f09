//! Building the namespace topology of the [`AddressPlan`] and tearing it down again.
//!
//! ```text
//!  fl-lab: fl-br0 192.0.2.1 / 2001:db8:1::1 (API server :6443)
//!    ├── fl-node1  eth0 192.0.2.11      ├── fl-client eth0 192.0.2.100
//!    ├── fl-node2  eth0 192.0.2.12      └── fl-router eth0 192.0.2.254
//!    └── …                                    fl-bk0 198.51.100.1 / 2001:db8:2::1
//!                                               ├── fl-backend1 eth0 198.51.100.11
//!                                               └── fl-backend2 eth0 198.51.100.12
//! ```
//! Every `ip` command names its namespace (`ip -n`), so the topology does not depend on which
//! namespace the calling process happens to be in. Nodes and the client reach the backend
//! network through the router; the client reaches the LoadBalancer pools on-link (the node
//! answering ARP / NDP for a Service IP gets its traffic); nothing has a default route, so no
//! packet can leave the lab.

use crate::addresses::{
    API_SERVER_V4, API_SERVER_V6, AddressPlan, BACKEND_BRIDGE, BACKEND_V4_NETWORK,
    BACKEND_V6_NETWORK, HOST_INTERFACE, Host, LAB_NAMESPACE, LAN_BRIDGE, LAN_V4_NETWORK,
    LAN_V6_NETWORK, LB_V4_NETWORK, LB_V6_NETWORK, V4_PREFIX_LEN, V6_PREFIX_LEN,
};
use crate::command::{self, ip_in};
use crate::error::Error;
use crate::processes;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// Something the topology created, in creation order, so teardown can undo exactly that in
/// reverse even when building stopped halfway.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Created {
    Namespace(String),
    /// A link inside `namespace`; deleting a veth end deletes its peer too.
    Link {
        namespace: String,
        name: String,
    },
}

/// The namespaces and links of one lab. Dropping it tears them down.
#[derive(Debug)]
pub struct Topology {
    created: Vec<Created>,
}

impl Topology {
    /// Takes ownership of `fl-lab`, which the outer process created before re-executing the
    /// lab inside it; it is deleted last.
    pub fn adopt_lab_namespace() -> Self {
        Self {
            created: vec![Created::Namespace(LAB_NAMESPACE.to_owned())],
        }
    }

    pub fn build(&mut self, plan: &AddressPlan) -> Result<(), Error> {
        prepare_namespace(LAB_NAMESPACE)?;
        self.link(LAB_NAMESPACE, LAN_BRIDGE, &["type", "bridge"])?;
        add_addresses(LAB_NAMESPACE, LAN_BRIDGE, API_SERVER_V4, API_SERVER_V6)?;
        ip_in(LAB_NAMESPACE, &["link", "set", LAN_BRIDGE, "up"])?;

        for host in plan.lan_hosts() {
            self.host(host, LAB_NAMESPACE, LAN_BRIDGE)?;
        }
        // A node forwards what its datapath load-balances to a backend elsewhere (eTP
        // Cluster: DNAT and SNAT, then out through the kernel's routing), as a cluster node does.
        for node in &plan.nodes {
            sysctl(
                &node.host.namespace,
                &["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"],
            )?;
        }

        let router = &plan.router.namespace;
        self.link(router, BACKEND_BRIDGE, &["type", "bridge"])?;
        add_addresses(
            router,
            BACKEND_BRIDGE,
            plan.router_backend_v4(),
            plan.router_backend_v6(),
        )?;
        ip_in(router, &["link", "set", BACKEND_BRIDGE, "up"])?;
        sysctl(
            router,
            &["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"],
        )?;
        for backend in &plan.backends {
            self.host(backend, router, BACKEND_BRIDGE)?;
        }

        self.routes(plan)
    }

    /// A namespace for `host`, with a veth whose `eth0` end is inside it and whose other end
    /// (named like the namespace) is a port of `bridge` in `bridge_namespace`.
    fn host(&mut self, host: &Host, bridge_namespace: &str, bridge: &str) -> Result<(), Error> {
        let ns = host.namespace.as_str();
        command::ip(&["netns", "add", ns])?;
        self.created.push(Created::Namespace(ns.to_owned()));
        prepare_namespace(ns)?;
        self.link(
            bridge_namespace,
            ns,
            &["type", "veth", "peer", "name", HOST_INTERFACE, "netns", ns],
        )?;
        ip_in(
            bridge_namespace,
            &["link", "set", ns, "master", bridge, "up"],
        )?;
        add_addresses(ns, HOST_INTERFACE, host.ipv4, host.ipv6)?;
        ip_in(ns, &["link", "set", HOST_INTERFACE, "up"])?;
        Ok(())
    }

    /// Static routes between the LAN and the backend network, via the router.
    fn routes(&self, plan: &AddressPlan) -> Result<(), Error> {
        let backend_v4 = cidr(BACKEND_V4_NETWORK.to_string(), V4_PREFIX_LEN);
        let backend_v6 = cidr(BACKEND_V6_NETWORK.to_string(), V6_PREFIX_LEN);
        let lan_v4 = cidr(LAN_V4_NETWORK.to_string(), V4_PREFIX_LEN);
        let lan_v6 = cidr(LAN_V6_NETWORK.to_string(), V6_PREFIX_LEN);
        let router_lan_v4 = plan.router.ipv4.to_string();
        let router_lan_v6 = plan.router.ipv6.to_string();
        for host in plan.nodes.iter().map(|n| &n.host).chain([&plan.client]) {
            let ns = host.namespace.as_str();
            ip_in(ns, &["route", "add", &backend_v4, "via", &router_lan_v4])?;
            ip_in(
                ns,
                &["-6", "route", "add", &backend_v6, "via", &router_lan_v6],
            )?;
        }
        let client = plan.client.namespace.as_str();
        let lb_v4 = cidr(LB_V4_NETWORK.to_string(), V4_PREFIX_LEN);
        let lb_v6 = cidr(LB_V6_NETWORK.to_string(), V6_PREFIX_LEN);
        ip_in(client, &["route", "add", &lb_v4, "dev", HOST_INTERFACE])?;
        ip_in(
            client,
            &["-6", "route", "add", &lb_v6, "dev", HOST_INTERFACE],
        )?;
        let router_v4 = plan.router_backend_v4().to_string();
        let router_v6 = plan.router_backend_v6().to_string();
        for backend in &plan.backends {
            let ns = backend.namespace.as_str();
            ip_in(ns, &["route", "add", &lan_v4, "via", &router_v4])?;
            ip_in(ns, &["-6", "route", "add", &lan_v6, "via", &router_v6])?;
        }
        Ok(())
    }

    fn link(&mut self, namespace: &str, name: &str, spec: &[&str]) -> Result<(), Error> {
        let mut args = vec!["link", "add", name];
        args.extend_from_slice(spec);
        ip_in(namespace, &args)?;
        self.created.push(Created::Link {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        });
        Ok(())
    }

    /// Deletes everything created so far, newest first; keeps going past failures so one
    /// stuck link does not leave the rest behind. Returns what could not be deleted.
    pub fn teardown(&mut self) -> Vec<Error> {
        let mut errors = Vec::new();
        let own = std::process::id();
        while let Some(item) = self.created.pop() {
            let result = match &item {
                Created::Link { namespace, name } => {
                    ip_in(namespace, &["link", "del", name]).map(drop)
                }
                Created::Namespace(ns) => {
                    // Whatever still runs inside would keep the namespace alive, unnamed.
                    let pids: Vec<u32> = command::ip(&["netns", "pids", ns])
                        .unwrap_or_default()
                        .lines()
                        .filter_map(|l| l.trim().parse().ok())
                        .filter(|&pid| pid != own)
                        .collect();
                    processes::terminate(&pids, Duration::from_secs(3));
                    command::ip(&["netns", "del", ns]).map(drop)
                }
            };
            if let Err(e) = result {
                errors.push(e);
            }
        }
        errors
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        for e in self.teardown() {
            eprintln!("ferrule-lab: teardown: {e}");
        }
    }
}

/// Loopback up, and no IPv6 duplicate address detection for the links created afterwards
/// (`default` applies to new devices). Not only for speed: while a router's link-local
/// address is tentative it cannot send neighbour solicitations for packets it forwards, so
/// the first IPv6 packets through `fl-router` would be dropped for a second or two.
fn prepare_namespace(ns: &str) -> Result<(), Error> {
    ip_in(ns, &["link", "set", "lo", "up"])?;
    sysctl(
        ns,
        &[
            "net.ipv6.conf.all.accept_dad=0",
            "net.ipv6.conf.default.accept_dad=0",
        ],
    )
}

fn sysctl(ns: &str, settings: &[&str]) -> Result<(), Error> {
    let mut args = vec!["netns", "exec", ns, "sysctl", "-q", "-w"];
    args.extend_from_slice(settings);
    command::run("ip", &args).map(drop)
}

/// Both addresses of a host. `nodad`: the lab's addresses are unique by construction, and
/// duplicate address detection would leave IPv6 unusable for the first seconds.
fn add_addresses(ns: &str, dev: &str, v4: Ipv4Addr, v6: Ipv6Addr) -> Result<(), Error> {
    let v4 = cidr(v4.to_string(), V4_PREFIX_LEN);
    let v6 = cidr(v6.to_string(), V6_PREFIX_LEN);
    ip_in(ns, &["addr", "add", &v4, "dev", dev])?;
    ip_in(ns, &["-6", "addr", "add", &v6, "dev", dev, "nodad"])?;
    Ok(())
}

fn cidr(address: String, prefix_len: u8) -> String {
    format!("{address}/{prefix_len}")
}
