//! BGP in a two-node lab, as the external router sees it: ferrule-bgp derives each node's
//! CiliumBGPNodeConfig from `examples/bgp-cluster-config.yaml`, each node's ferrule-agent
//! peers with fl-router's FRR bgpd and advertises the LoadBalancer IPs that
//! `examples/bgp-advertisement.yaml` selects (Services labelled app=web), and withdraws them
//! when the Service or the advertisement goes away.
//!
//! Needs root (namespaces), FRR (`/usr/lib/frr/bgpd`, `vtysh`) and the ferrule binaries built
//! next to ferrule-lab.

mod support;

use ferrule_lab::driver::workload::{self, LbService};
use ferrule_lab::driver::{LabProcess, eventually, router};
use ferrule_lab::frr::{Family, RouterBgp};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

const NODES: usize = 2;
/// Generous for a loaded 2-core machine: each step takes well under a second when idle.
const SETTLE: Duration = Duration::from_secs(20);
const START: Duration = Duration::from_secs(60);
/// What the example advertisement tags its routes with.
const COMMUNITY: &str = "64497:100";
const ADVERTISEMENT: &str = "lab-web-services";
const EXAMPLE_SERVICE: &str = "default/web";
const DUAL_STACK_SERVICE: &str = "web-dual";

struct Lab {
    process: LabProcess,
}

/// One valid path the router holds for a host route.
#[derive(Debug)]
struct RouterPath {
    /// The neighbor (node) it came from.
    peer: String,
    next_hop: Option<IpAddr>,
    communities: Vec<String>,
}

impl Lab {
    /// Unwraps, or fails with the error and the end of every BGP component's log.
    fn ok<T>(&self, result: Result<T, ferrule_lab::Error>) -> T {
        result.unwrap_or_else(|e| {
            let mut pods = vec!["ferrule-bgp-0".to_owned()];
            pods.extend(
                self.process
                    .plan
                    .nodes
                    .iter()
                    .map(|n| format!("ferrule-agent-{}", n.name)),
            );
            let logs: Vec<String> = pods
                .iter()
                .map(|pod| {
                    let log = self.process.log(pod);
                    let lines: Vec<&str> = log.lines().collect();
                    let tail = lines[lines.len().saturating_sub(15)..].join("\n");
                    format!("--- {pod}:\n{tail}")
                })
                .collect();
            panic!("{e}\n{}", logs.join("\n"))
        })
    }

    /// Per node, the path its route to `ip` must reach the router as: from the node's
    /// session (its IPv4 address), with its address in `ip`'s family as next hop.
    fn node_paths(&self, ip: IpAddr) -> Vec<(String, Option<IpAddr>)> {
        let mut paths: Vec<_> = self
            .process
            .plan
            .nodes
            .iter()
            .map(|n| {
                let hop = match ip {
                    IpAddr::V4(_) => IpAddr::V4(n.host.ipv4),
                    IpAddr::V6(_) => IpAddr::V6(n.host.ipv6),
                };
                (n.host.ipv4.to_string(), Some(hop))
            })
            .collect();
        paths.sort();
        paths
    }

    /// The valid paths the router holds for `ip`'s host route.
    fn paths_to(&self, ip: IpAddr) -> Result<Vec<RouterPath>, String> {
        let (family, prefix) = match ip {
            IpAddr::V4(_) => (Family::Ipv4, format!("{ip}/32")),
            IpAddr::V6(_) => (Family::Ipv6, format!("{ip}/128")),
        };
        let paths = router::paths(&self.process, family).map_err(|e| e.to_string())?;
        let paths: Vec<_> = paths
            .into_iter()
            .filter(|p| p.prefix == prefix && p.valid)
            .collect();
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let communities =
            router::communities(&self.process, family, &prefix).map_err(|e| e.to_string())?;
        Ok(paths
            .into_iter()
            .map(|p| {
                let tags = communities
                    .iter()
                    .find(|(peer, _)| *peer == p.peer)
                    .map(|(_, c)| c.clone())
                    .unwrap_or_default();
                RouterPath {
                    peer: p.peer,
                    next_hop: p.next_hop,
                    communities: tags,
                }
            })
            .collect())
    }

    /// Waits until the router has one path per node for each of `ips`, with that node's
    /// address as next hop and the example's community.
    fn assert_learned_from_every_node(&self, what: &str, ips: &[IpAddr]) {
        let result = eventually(what, SETTLE, || {
            for &ip in ips {
                let paths = self.paths_to(ip)?;
                let mut learned: Vec<(String, Option<IpAddr>)> =
                    paths.iter().map(|p| (p.peer.clone(), p.next_hop)).collect();
                learned.sort();
                let expected = self.node_paths(ip);
                if learned != expected {
                    return Err(format!(
                        "{ip}: paths {paths:?}, expected (peer, next hop) {expected:?}"
                    ));
                }
                if let Some(untagged) = paths
                    .iter()
                    .find(|p| !p.communities.iter().any(|c| c == COMMUNITY))
                {
                    return Err(format!(
                        "{ip}: path without community {COMMUNITY}: {untagged:?}"
                    ));
                }
            }
            Ok(())
        });
        self.ok(result);
    }

    fn assert_withdrawn(&self, what: &str, ips: &[IpAddr]) {
        let result = eventually(what, SETTLE, || {
            for &ip in ips {
                let paths = self.paths_to(ip)?;
                if !paths.is_empty() {
                    return Err(format!("{ip} still has paths {paths:?}"));
                }
            }
            Ok(())
        });
        self.ok(result);
    }

    /// Waits until the router's sessions with exactly the lab's nodes are established;
    /// returns how often each came up so far.
    fn assert_sessions_established(&self, what: &str) -> Vec<u64> {
        let expected: Vec<String> = self
            .process
            .plan
            .nodes
            .iter()
            .map(|n| n.host.ipv4.to_string())
            .collect();
        let result = eventually(what, SETTLE, || {
            let neighbors = router::neighbors(&self.process).map_err(|e| e.to_string())?;
            let up: Vec<String> = neighbors
                .iter()
                .filter(|n| n.state == "Established")
                .map(|n| n.address.clone())
                .collect();
            if up == expected {
                Ok(neighbors.iter().map(|n| n.established_count).collect())
            } else {
                Err(format!("router neighbors {neighbors:?}"))
            }
        });
        self.ok(result)
    }

    fn load_balancer_ips(&self, expected: &[(&str, usize)]) -> BTreeMap<String, Vec<IpAddr>> {
        let result = eventually("LB-IPAM assigns the Services' IPs", SETTLE, || {
            let ips = workload::load_balancer_ips(&self.process).map_err(|e| e.to_string())?;
            let complete = expected
                .iter()
                .all(|(service, count)| ips.get(*service).is_some_and(|i| i.len() == *count));
            if complete {
                Ok(ips)
            } else {
                Err(format!("{ips:?}"))
            }
        });
        self.ok(result)
    }
}

#[test]
fn the_router_learns_and_forgets_the_web_service_ips() {
    support::require_root();
    support::require_built(&["ferrule-lbipam", "ferrule-bgp", "ferrule-agent"]);
    assert!(
        RouterBgp::available(),
        "FRR is not installed: the lab's router needs /usr/lib/frr/bgpd (apt-get install frr)"
    );
    let started = Instant::now();
    let step = |name: &str| eprintln!("{:>6.1}s {name}", started.elapsed().as_secs_f64());
    let process = LabProcess::start(
        support::LAB.as_ref(),
        NODES,
        &support::state_dir("bgp"),
        &[],
        START,
    )
    .unwrap_or_else(|e| panic!("the lab comes up: {e}"));
    let lab = Lab { process };

    step("the router's sessions with both nodes are established");
    let sessions = lab.assert_sessions_established("every node peers with the router");

    step("a second, dual-stack web Service");
    let dual = LbService::new(DUAL_STACK_SERVICE, &lab.process.plan, &[("app", "web")]);
    lab.ok(lab.process.apply(&workload::manifests(&[dual])));
    let dual_key = format!("{}/{DUAL_STACK_SERVICE}", workload::NAMESPACE);
    let ips = lab.load_balancer_ips(&[(EXAMPLE_SERVICE, 1), (&dual_key, 2)]);
    let example_ips = ips[EXAMPLE_SERVICE].clone();
    let dual_ips = ips[&dual_key].clone();
    assert!(
        dual_ips.iter().any(IpAddr::is_ipv6),
        "the dual-stack Service has an IPv6 address: {dual_ips:?}"
    );

    step("every LB IP learned from every node, next hop = the node");
    let all: Vec<IpAddr> = example_ips.iter().chain(&dual_ips).copied().collect();
    lab.assert_learned_from_every_node("the router learns every web IP from both nodes", &all);

    step("deleting the dual-stack Service withdraws only its routes");
    lab.ok(lab.process.kubectl(&[
        "delete",
        "service",
        "-n",
        workload::NAMESPACE,
        DUAL_STACK_SERVICE,
    ]));
    lab.assert_withdrawn("the deleted Service's IPs are withdrawn", &dual_ips);
    lab.assert_learned_from_every_node("the example Service stays advertised", &example_ips);

    step("deleting the advertisement withdraws the rest, sessions stay up");
    lab.ok(lab
        .process
        .kubectl(&["delete", "ciliumbgpadvertisement", ADVERTISEMENT]));
    lab.assert_withdrawn("nothing is advertised any more", &example_ips);
    let after = lab.assert_sessions_established("the sessions are still up");
    assert_eq!(
        after, sessions,
        "no session was reset on the way (times each came up)"
    );
    step("done");
}
