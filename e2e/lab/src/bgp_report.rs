//! What `ferrule-lab up` shows of BGP: each node's sessions as its CiliumBGPNodeConfig status
//! reports them (written by that node's ferrule-agent), and what the router's bgpd has
//! learned — once the sessions are up and the routes stopped changing, or a bound passed.

use crate::addresses::AddressPlan;
use crate::error::Error;
use crate::frr::{self, Family, LearnedPath, Neighbor, RouteTable};
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;
use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

/// Cilium's spelling of an up session in the node config status.
const ESTABLISHED: &str = "established";
const POLL: Duration = Duration::from_millis(300);
/// Routes must look the same this long before the report calls them settled: a session is
/// Established a moment before the first UPDATE arrives.
const STABLE_FOR: Duration = Duration::from_secs(1);
const VTYSH_TIMEOUT: Duration = Duration::from_secs(5);

/// One peer of one BGP instance, as the node's status shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSession {
    pub instance: String,
    pub peer: String,
    pub address: String,
    pub peer_asn: Option<i64>,
    /// `established`, `active`, `idle`…; None before the agent wrote a status.
    pub state: Option<String>,
    /// `ipv4/unicast 1 advertised 0 received` per family the status counts.
    pub routes: Vec<String>,
}

impl PeerSession {
    pub fn established(&self) -> bool {
        self.state.as_deref() == Some(ESTABLISHED)
    }
}

impl fmt::Display for PeerSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} → {} {}", self.instance, self.peer, self.address)?;
        if let Some(asn) = self.peer_asn {
            write!(f, " (AS {asn})")?;
        }
        write!(f, ": {}", self.state.as_deref().unwrap_or("no status yet"))?;
        if !self.routes.is_empty() {
            write!(f, ", {}", self.routes.join(", "))?;
        }
        Ok(())
    }
}

/// The peers of one node's CiliumBGPNodeConfig: the spec's, with the status's state when
/// the agent reported one.
pub fn parse_node_config(object: &Value) -> Vec<PeerSession> {
    let status_of = |instance: &str, peer: &str| -> Option<Value> {
        object["status"]["bgpInstances"]
            .as_array()?
            .iter()
            .find(|i| i["name"] == instance)?["peers"]
            .as_array()?
            .iter()
            .find(|p| p["name"] == peer)
            .cloned()
    };
    let mut sessions = Vec::new();
    for instance in object["spec"]["bgpInstances"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let instance_name = instance["name"].as_str().unwrap_or_default();
        for peer in instance["peers"].as_array().into_iter().flatten() {
            let peer_name = peer["name"].as_str().unwrap_or_default();
            let status = status_of(instance_name, peer_name).unwrap_or(Value::Null);
            let routes = status["routeCount"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    format!(
                        "{}/{} {} advertised {} received",
                        c["afi"].as_str().unwrap_or("?"),
                        c["safi"].as_str().unwrap_or("?"),
                        c["advertised"].as_i64().unwrap_or(0),
                        c["received"].as_i64().unwrap_or(0)
                    )
                })
                .collect();
            sessions.push(PeerSession {
                instance: instance_name.to_owned(),
                peer: peer_name.to_owned(),
                address: peer["peerAddress"]
                    .as_str()
                    .or_else(|| status["peerAddress"].as_str())
                    .unwrap_or("(auto-discovered)")
                    .to_owned(),
                peer_asn: peer["peerASN"]
                    .as_i64()
                    .or_else(|| status["peerASN"].as_i64()),
                state: status["peeringState"].as_str().map(str::to_owned),
                routes,
            });
        }
    }
    sessions
}

/// Every CiliumBGPNodeConfig by name (= node name), as JSON.
async fn node_configs(client: &kube::Client) -> Result<Vec<(String, Value)>, Error> {
    let gvk = GroupVersionKind::gvk("cilium.io", "v2", "CiliumBGPNodeConfig");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "ciliumbgpnodeconfigs");
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|e| Error::kube("listing CiliumBGPNodeConfigs", e))?;
    Ok(list
        .items
        .into_iter()
        .map(|o| {
            let name = o.metadata.name.clone().unwrap_or_default();
            (name, serde_json::to_value(&o).unwrap_or(Value::Null))
        })
        .collect())
}

/// What the router holds, per address family.
pub type RouterRoutes = Vec<(Family, Vec<LearnedPath>)>;

/// The BGP part of the lab's report.
#[derive(Debug, Clone, Default)]
pub struct BgpReport {
    /// Per lab node (in plan order), its sessions; None when it has no CiliumBGPNodeConfig.
    pub nodes: Vec<(String, Option<Vec<PeerSession>>)>,
    pub router_neighbors: Vec<Neighbor>,
    pub router_routes: RouterRoutes,
    pub waited: Duration,
    /// Every session up on both sides and the routes unchanged for a moment.
    pub settled: bool,
}

impl BgpReport {
    fn sessions_up(&self) -> bool {
        self.nodes.iter().all(|(_, sessions)| {
            sessions
                .as_ref()
                .is_some_and(|s| !s.is_empty() && s.iter().all(PeerSession::established))
        }) && !self.router_neighbors.is_empty()
            && self
                .router_neighbors
                .iter()
                .all(|n| n.state == "Established")
    }
}

impl fmt::Display for BgpReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let up = self.nodes.iter().filter(|(_, s)| {
            s.as_ref()
                .is_some_and(|s| !s.is_empty() && s.iter().all(PeerSession::established))
        });
        write!(
            f,
            "bgp: {}/{} nodes established{} after {:.1}s",
            up.count(),
            self.nodes.len(),
            if self.settled { "" } else { " (not settled)" },
            self.waited.as_secs_f64()
        )?;
        for (node, sessions) in &self.nodes {
            match sessions.as_deref() {
                None => write!(f, "\n  {node}: no CiliumBGPNodeConfig")?,
                Some([]) => write!(f, "\n  {node}: no peers")?,
                Some(sessions) => {
                    for session in sessions {
                        write!(f, "\n  {node}: {session}")?;
                    }
                }
            }
        }
        let neighbors: Vec<String> = self
            .router_neighbors
            .iter()
            .map(|n| format!("{} {}", n.address, n.state))
            .collect();
        write!(f, "\n  router neighbors: {}", neighbors.join(", "))?;
        for (family, paths) in &self.router_routes {
            write!(f, "\n  router learned {} unicast:", family.as_str())?;
            if paths.is_empty() {
                write!(f, " none")?;
            } else {
                for line in RouteTable(paths).to_string().lines() {
                    write!(f, "\n    {line}")?;
                }
            }
        }
        Ok(())
    }
}

/// Reads the node configs and the router until every session is up and the router's routes
/// stood still for a moment, at most `within`; then reports what it saw last.
pub async fn wait_for_bgp(
    client: &kube::Client,
    plan: &AddressPlan,
    router_dir: &Path,
    within: Duration,
) -> Result<BgpReport, Error> {
    let started = Instant::now();
    let mut stable_since: Option<(Instant, RouterRoutes)> = None;
    loop {
        let mut report = read(client, plan, router_dir).await?;
        report.waited = started.elapsed();
        let now = Instant::now();
        stable_since = match stable_since {
            Some((since, routes)) if routes == report.router_routes => Some((since, routes)),
            _ => Some((now, report.router_routes.clone())),
        };
        let still = stable_since
            .as_ref()
            .is_some_and(|(since, _)| now.duration_since(*since) >= STABLE_FOR);
        report.settled = report.sessions_up() && still;
        if report.settled || started.elapsed() >= within {
            return Ok(report);
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn read(
    client: &kube::Client,
    plan: &AddressPlan,
    router_dir: &Path,
) -> Result<BgpReport, Error> {
    let configs = node_configs(client).await?;
    let nodes = plan
        .nodes
        .iter()
        .map(|n| {
            let sessions = configs
                .iter()
                .find(|(name, _)| *name == n.name)
                .map(|(_, object)| parse_node_config(object));
            (n.name.clone(), sessions)
        })
        .collect();
    let router_neighbors =
        frr::parse_neighbors(&vtysh_json(router_dir, "show bgp neighbors json").await?);
    let mut router_routes = Vec::new();
    for family in Family::BOTH {
        let command = format!("show bgp {} unicast json", family.as_str());
        let paths = frr::parse_routes(&vtysh_json(router_dir, &command).await?);
        router_routes.push((family, paths));
    }
    Ok(BgpReport {
        nodes,
        router_neighbors,
        router_routes,
        ..BgpReport::default()
    })
}

/// Without blocking the runtime: the in-process API server must keep answering the agents.
async fn vtysh_json(dir: &Path, command: &str) -> Result<Value, Error> {
    let dir = dir.display().to_string();
    let text = crate::command::run_async(
        frr::VTYSH,
        &["--vty_socket", &dir, "-c", command],
        VTYSH_TIMEOUT,
    )
    .await?;
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_node_config_shows_each_peer_with_its_state_and_routes() {
        let object = json!({
            "spec": {"bgpInstances": [{"name": "lab", "localASN": 64497, "peers": [
                {"name": "fl-router", "peerAddress": "192.0.2.254", "peerASN": 64496},
                {"name": "other", "peerAddress": "192.0.2.253", "peerASN": 64496}]}]},
            "status": {"bgpInstances": [{"name": "lab", "peers": [
                {"name": "fl-router", "peerAddress": "192.0.2.254", "peeringState": "established",
                 "routeCount": [{"afi": "ipv4", "safi": "unicast", "advertised": 1, "received": 0}]}]}]}
        });
        let sessions = parse_node_config(&object);
        assert_eq!(sessions.len(), 2);
        assert!(sessions[0].established());
        assert_eq!(
            sessions[0].to_string(),
            "lab → fl-router 192.0.2.254 (AS 64496): established, ipv4/unicast 1 advertised 0 received"
        );
        assert!(!sessions[1].established());
        assert_eq!(
            sessions[1].to_string(),
            "lab → other 192.0.2.253 (AS 64496): no status yet"
        );
    }

    #[test]
    fn the_report_is_settled_only_with_every_session_up() {
        let session = |state: &str| PeerSession {
            instance: "lab".into(),
            peer: "fl-router".into(),
            address: "192.0.2.254".into(),
            peer_asn: Some(64496),
            state: Some(state.into()),
            routes: vec![],
        };
        let mut report = BgpReport {
            nodes: vec![
                ("node1".into(), Some(vec![session("established")])),
                ("node2".into(), Some(vec![session("active")])),
            ],
            router_neighbors: vec![Neighbor {
                address: "192.0.2.11".into(),
                state: "Established".into(),
                established_count: 1,
            }],
            ..BgpReport::default()
        };
        assert!(!report.sessions_up());
        report.nodes[1].1 = Some(vec![session("established")]);
        assert!(report.sessions_up());
        report.nodes[1].1 = None;
        assert!(!report.sessions_up());
        assert!(
            report
                .to_string()
                .contains("\n  node2: no CiliumBGPNodeConfig")
        );
    }
}
