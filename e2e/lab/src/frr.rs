//! The external router's BGP daemon: FRR's bgpd inside `fl-router`, peering with every node.
//!
//! bgpd runs standalone (no zebra: the router keeps its static routes, and what it learns is
//! there to be looked at, not installed), as root, with its config, pid file, vty socket and
//! log in `<state dir>/router`. It runs inside `fl-router`, so the namespace sweep of
//! teardown and of `cleanup` ends a stray one like any other process of the lab.
//!
//! The router is AS [`ROUTER_ASN`] and expects every node as AS [`NODE_ASN`] (RFC 5398
//! documentation ASNs), one neighbor per node of the [`AddressPlan`]. It is passive: the
//! nodes open the sessions, as they do towards a top-of-rack router.

use crate::addresses::AddressPlan;
use crate::error::Error;
use crate::processes;
use serde_json::Value;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ROUTER_ASN: u32 = 64496;
pub const NODE_ASN: u32 = 64497;
/// Where Debian's frr package installs its daemons.
pub const BGPD: &str = "/usr/lib/frr/bgpd";
pub const VTYSH: &str = "vtysh";
/// Keepalive / hold time the router offers; the peer config's (`examples/bgp-peer-config.yaml`)
/// match, so a session that dies is noticed within seconds.
const TIMERS: (u32, u32) = (3, 9);
const START_TIMEOUT: Duration = Duration::from_secs(10);
const STOP_GRACE: Duration = Duration::from_secs(3);

/// The two address families the router exchanges with the nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub const BOTH: [Family; 2] = [Family::Ipv4, Family::Ipv6];

    /// As vtysh spells it: `show bgp ipv4 unicast`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ipv4 => "ipv4",
            Self::Ipv6 => "ipv6",
        }
    }
}

/// bgpd.conf for `plan`: the router's AS and ID, one passive neighbor per node.
pub fn bgpd_config(plan: &AddressPlan) -> String {
    let router_id = plan.router.ipv4;
    let (keepalive, hold) = TIMERS;
    let mut conf = format!(
        "hostname {namespace}\n\
         router bgp {ROUTER_ASN}\n \
         bgp router-id {router_id}\n \
         ! Lab routers take whatever the nodes advertise.\n \
         no bgp ebgp-requires-policy\n \
         no bgp default ipv4-unicast\n \
         bgp graceful-restart\n \
         neighbor NODES peer-group\n \
         neighbor NODES remote-as {NODE_ASN}\n \
         neighbor NODES passive\n \
         neighbor NODES timers {keepalive} {hold}\n",
        namespace = plan.router.namespace,
    );
    for node in &plan.nodes {
        conf.push_str(&format!(" neighbor {} peer-group NODES\n", node.host.ipv4));
    }
    for family in Family::BOTH {
        conf.push_str(&format!(
            " address-family {} unicast\n  neighbor NODES activate\n exit-address-family\n",
            family.as_str()
        ));
    }
    conf
}

/// bgpd, running; dropping it stops bgpd.
#[derive(Debug)]
pub struct RouterBgp {
    dir: PathBuf,
    child: Option<Child>,
}

impl RouterBgp {
    /// Whether FRR is installed; without it the lab runs without BGP on the router.
    pub fn available() -> bool {
        Path::new(BGPD).is_file()
    }

    /// Writes the config to `dir` and starts bgpd inside `namespace`; returns once its vty
    /// socket answers.
    pub fn start(plan: &AddressPlan, dir: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Write {
            path: dir.to_owned(),
            source,
        })?;
        let conf = dir.join("bgpd.conf");
        std::fs::write(&conf, bgpd_config(plan)).map_err(|source| Error::Write {
            path: conf.clone(),
            source,
        })?;
        let log = dir.join("bgpd.log");
        let path = |name: &str| dir.join(name).display().to_string();
        let child = Command::new("ip")
            .args(["netns", "exec", &plan.router.namespace, BGPD])
            // No zebra, stay root (no `frr` user needs to reach the files), no TCP vty.
            .args(["-Z", "-S", "-P", "0"])
            .args(["-f", &path("bgpd.conf"), "-i", &path("bgpd.pid")])
            .args(["-z", &path("zserv.api"), "--vty_socket", &path("")])
            .args(["--log", &format!("file:{}", log.display())])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| Error::Spawn {
                command: format!("ip netns exec {} {BGPD}", plan.router.namespace),
                source,
            })?;
        let mut router = Self {
            dir: dir.to_owned(),
            child: Some(child),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if router.vtysh("show bgp summary json").is_ok() {
                return Ok(router);
            }
            let exited = router
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() >= deadline {
                router.stop();
                let tail = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(Error::Unexpected {
                    what: format!(
                        "FRR bgpd in {} did not start ({}); log {}:\n{tail}",
                        plan.router.namespace,
                        exited.map_or("no vty socket".to_owned(), |s| s.to_string()),
                        log.display()
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A vtysh command's output; see [`vtysh`].
    pub fn vtysh(&self, command: &str) -> Result<String, Error> {
        vtysh(&self.dir, command)
    }

    /// SIGTERM, then SIGKILL after a grace period.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(None)) {
            processes::signal(child.id(), "TERM");
            let deadline = Instant::now() + STOP_GRACE;
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
        }
        let _ = child.wait();
    }
}

impl Drop for RouterBgp {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `vtysh --vty_socket dir -c command`. The vty socket is a file, so this works from any
/// network namespace.
pub fn vtysh(dir: &Path, command: &str) -> Result<String, Error> {
    let dir = dir.display().to_string();
    crate::command::run(VTYSH, &["--vty_socket", &dir, "-c", command])
}

/// bgpd's view of one neighbor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbor {
    pub address: String,
    /// `Established`, `Active`, `Idle`…
    pub state: String,
    /// How many times a session with it came up: a reset shows as one more.
    pub established_count: u64,
}

/// The neighbors in `show bgp neighbors json`, by address.
pub fn parse_neighbors(json: &Value) -> Vec<Neighbor> {
    let mut found: Vec<Neighbor> = json
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, n)| n.get("bgpState").is_some())
        .map(|(address, n)| Neighbor {
            address: address.clone(),
            state: n["bgpState"].as_str().unwrap_or_default().to_owned(),
            established_count: n["connectionsEstablished"].as_u64().unwrap_or(0),
        })
        .collect();
    found.sort_by(|a, b| a.address.cmp(&b.address));
    found
}

/// One path bgpd holds for a prefix: who sent it, with which next hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedPath {
    /// `203.0.113.1/32`.
    pub prefix: String,
    /// The neighbor it came from.
    pub peer: String,
    /// The global next hop (an IPv6 route also carries a link-local one).
    pub next_hop: Option<IpAddr>,
    pub best: bool,
    pub valid: bool,
}

/// The paths in `show bgp <family> unicast json`, by prefix then peer.
pub fn parse_routes(json: &Value) -> Vec<LearnedPath> {
    let mut found = Vec::new();
    for (prefix, paths) in json["routes"].as_object().into_iter().flatten() {
        for path in paths.as_array().into_iter().flatten() {
            let next_hop = path["nexthops"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|n| n["scope"].as_str() != Some("link-local"))
                .find_map(|n| n["ip"].as_str()?.parse().ok());
            found.push(LearnedPath {
                prefix: prefix.clone(),
                peer: path["peerId"].as_str().unwrap_or_default().to_owned(),
                next_hop,
                best: path["bestpath"].as_bool().unwrap_or(false),
                valid: path["valid"].as_bool().unwrap_or(false),
            });
        }
    }
    found.sort_by(|a, b| (&a.prefix, &a.peer).cmp(&(&b.prefix, &b.peer)));
    found
}

/// The standard communities of each path bgpd holds for `prefix`
/// (`show bgp <family> unicast <prefix> json`), by peer.
pub fn parse_communities(json: &Value) -> Vec<(String, Vec<String>)> {
    json["paths"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|path| {
            let peer = path["peer"]["peerId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let communities = path["community"]["string"]
                .as_str()
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            (peer, communities)
        })
        .collect()
}

/// One line per prefix: `203.0.113.1/32 via 192.0.2.11*, 192.0.2.12` (`*` marks the best
/// path, `!` an invalid one).
#[derive(Debug)]
pub struct RouteTable<'a>(pub &'a [LearnedPath]);

impl fmt::Display for RouteTable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut prefixes: Vec<&str> = self.0.iter().map(|p| p.prefix.as_str()).collect();
        prefixes.dedup();
        for (i, prefix) in prefixes.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let hops: Vec<String> = self
                .0
                .iter()
                .filter(|p| p.prefix == *prefix)
                .map(|p| {
                    let hop = p.next_hop.map_or_else(|| p.peer.clone(), |h| h.to_string());
                    let mark = match (p.valid, p.best) {
                        (false, _) => "!",
                        (true, true) => "*",
                        (true, false) => "",
                    };
                    format!("{hop}{mark}")
                })
                .collect();
            write!(f, "{prefix} via {}", hops.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_config_names_every_node_as_a_neighbor() {
        let plan = AddressPlan::new(2).expect("a valid lab");
        let conf = bgpd_config(&plan);
        assert!(conf.contains("router bgp 64496\n"), "{conf}");
        assert!(conf.contains(" bgp router-id 192.0.2.254\n"), "{conf}");
        assert!(conf.contains(" neighbor NODES remote-as 64497\n"), "{conf}");
        assert!(
            conf.contains(" neighbor 192.0.2.11 peer-group NODES\n"),
            "{conf}"
        );
        assert!(
            conf.contains(" neighbor 192.0.2.12 peer-group NODES\n"),
            "{conf}"
        );
        assert!(!conf.contains("192.0.2.13"), "{conf}");
        assert_eq!(conf.matches("  neighbor NODES activate\n").count(), 2);
    }

    #[test]
    fn the_example_cluster_config_peers_with_this_router() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let documents = crate::manifests::read_dir(&dir).expect("the examples parse");
        let config = documents
            .iter()
            .map(|d| &d.value)
            .find(|v| v["kind"] == "CiliumBGPClusterConfig")
            .expect("an example CiliumBGPClusterConfig");
        let instance = &config["spec"]["bgpInstances"][0];
        assert_eq!(instance["localASN"], NODE_ASN);
        let peer = &instance["peers"][0];
        assert_eq!(peer["peerASN"], ROUTER_ASN);
        let plan = AddressPlan::new(1).expect("a valid lab");
        assert_eq!(peer["peerAddress"], plan.router.ipv4.to_string());
    }

    #[test]
    fn routes_show_each_path_with_its_global_next_hop() {
        let table = json!({"routes": {
            "2001:db8:3::1/128": [{
                "valid": true, "bestpath": true, "peerId": "192.0.2.11",
                "nexthops": [{"ip": "2001:db8:1::11", "scope": "global"},
                             {"ip": "fe80::1", "scope": "link-local"}]}],
            "203.0.113.1/32": [
                {"valid": true, "peerId": "192.0.2.12",
                 "nexthops": [{"ip": "192.0.2.12", "afi": "ipv4"}]},
                {"valid": true, "bestpath": true, "peerId": "192.0.2.11",
                 "nexthops": [{"ip": "192.0.2.11", "afi": "ipv4"}]}]
        }});
        let paths = parse_routes(&table);
        assert_eq!(paths.len(), 3);
        assert_eq!(
            paths[0].next_hop,
            Some("2001:db8:1::11".parse().expect("an IP"))
        );
        assert_eq!(paths[1].peer, "192.0.2.11");
        assert_eq!(
            RouteTable(&paths).to_string(),
            "2001:db8:3::1/128 via 2001:db8:1::11*\n203.0.113.1/32 via 192.0.2.11*, 192.0.2.12"
        );
        assert!(parse_routes(&json!({})).is_empty());
    }

    #[test]
    fn neighbors_and_communities() {
        let neighbors = json!({
            "192.0.2.12": {"remoteAs": 64497, "bgpState": "Active"},
            "192.0.2.11": {"remoteAs": 64497, "bgpState": "Established",
                           "connectionsEstablished": 1},
        });
        assert_eq!(
            parse_neighbors(&neighbors),
            [
                Neighbor {
                    address: "192.0.2.11".into(),
                    state: "Established".into(),
                    established_count: 1,
                },
                Neighbor {
                    address: "192.0.2.12".into(),
                    state: "Active".into(),
                    established_count: 0,
                },
            ]
        );
        let detail = json!({"prefix": "203.0.113.1/32", "paths": [
            {"peer": {"peerId": "192.0.2.11"}, "community": {"string": "64497:100 64497:200"}},
            {"peer": {"peerId": "192.0.2.12"}},
        ]});
        assert_eq!(
            parse_communities(&detail),
            [
                (
                    "192.0.2.11".to_owned(),
                    vec!["64497:100".to_owned(), "64497:200".to_owned()]
                ),
                ("192.0.2.12".to_owned(), vec![]),
            ]
        );
    }
}
