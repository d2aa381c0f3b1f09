//! Who announces what: every NodeL2Announcement (`kubectl get nl2a`), one per node.

use super::LabProcess;
use crate::error::Error;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// One Service IP a node answers ARP / NDP for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Announced {
    /// `namespace/name`.
    pub service: String,
    pub ip: IpAddr,
}

/// Every node's NodeL2Announcement, by node name (a node without one is absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Announcements {
    pub by_node: BTreeMap<String, Vec<Announced>>,
}

impl Announcements {
    pub fn get(lab: &LabProcess) -> Result<Self, Error> {
        Self::from_list(&lab.get_json(&["nodel2announcements"])?)
    }

    pub fn from_list(list: &serde_json::Value) -> Result<Self, Error> {
        let bad = |what: &str| Error::Unexpected {
            what: format!("a NodeL2Announcement without {what}: {list}"),
        };
        let mut by_node = BTreeMap::new();
        for item in list["items"].as_array().ok_or_else(|| bad("items"))? {
            let spec = &item["spec"];
            let node = spec["nodeName"].as_str().ok_or_else(|| bad("nodeName"))?;
            let mut announced = Vec::new();
            for a in spec["announcements"].as_array().into_iter().flatten() {
                let service = format!(
                    "{}/{}",
                    a["service"]["namespace"].as_str().unwrap_or_default(),
                    a["service"]["name"].as_str().unwrap_or_default()
                );
                let ip = a["ip"]
                    .as_str()
                    .and_then(|ip| ip.parse().ok())
                    .ok_or_else(|| bad("a valid ip"))?;
                announced.push(Announced { service, ip });
            }
            by_node.insert(node.to_owned(), announced);
        }
        Ok(Self { by_node })
    }

    /// The nodes announcing `ip`: exactly one when all is well.
    pub fn holders(&self, ip: IpAddr) -> Vec<&str> {
        self.nodes_where(|a| a.ip == ip)
    }

    /// The nodes announcing any IP of `service` (`namespace/name`).
    pub fn holders_of(&self, service: &str) -> Vec<&str> {
        self.nodes_where(|a| a.service == service)
    }

    fn nodes_where(&self, matches: impl Fn(&Announced) -> bool) -> Vec<&str> {
        self.by_node
            .iter()
            .filter(|(_, announced)| announced.iter().any(&matches))
            .map(|(node, _)| node.as_str())
            .collect()
    }

    /// The Services `node` announces.
    pub fn services_of(&self, node: &str) -> BTreeSet<&str> {
        self.by_node
            .get(node)
            .into_iter()
            .flatten()
            .map(|a| a.service.as_str())
            .collect()
    }

    /// Service → the one node announcing it, for every announced Service; an error names
    /// a Service announced by several nodes, or one whose IPs are split across nodes.
    pub fn assignment(&self) -> Result<BTreeMap<&str, &str>, String> {
        let mut nodes_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (node, announced) in &self.by_node {
            for a in announced {
                nodes_of.entry(&a.service).or_default().insert(node);
            }
        }
        nodes_of
            .into_iter()
            .map(|(service, nodes)| match nodes.len() {
                1 => Ok((service, nodes.into_iter().next().unwrap_or_default())),
                _ => Err(format!("{service} is announced by {nodes:?}")),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_reads_as_nodes_and_their_ips() {
        let list = serde_json::json!({"items": [
            {"spec": {"nodeName": "node1", "announcements": [
                {"service": {"namespace": "default", "name": "a"}, "ip": "203.0.113.1"},
                {"service": {"namespace": "default", "name": "a"}, "ip": "2001:db8:3::1"}]}},
            {"spec": {"nodeName": "node2", "announcements": []}},
            {"spec": {"nodeName": "node3"}}
        ]});
        let found = Announcements::from_list(&list).expect("parses");
        let v4: IpAddr = "203.0.113.1".parse().expect("IP");
        assert_eq!(found.holders(v4), ["node1"]);
        assert_eq!(found.holders_of("default/a"), ["node1"]);
        assert!(found.services_of("node3").is_empty());
        let assignment = found.assignment().expect("one node per Service");
        assert_eq!(assignment.get("default/a"), Some(&"node1"));
    }
}
