//! The node's SNAT source address from its Node object.
//!
//! eTP Cluster traffic to a backend on another node is SNATed to this node's address so the
//! reply comes back through this node's conntrack. The address other nodes route to is the
//! Node's `InternalIP` (what the kubelet registers and the CNI routes), not whichever address
//! happens to be first on a selected device; bring-up writes the device address as a start,
//! and the Node watch replaces it once the Node is known. A Node without an InternalIP of a
//! family leaves that family's device address in place.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use k8s_openapi::api::core::v1::Node;

/// The first InternalIP of each family in the Node's status.
pub fn internal_ips(node: &Node) -> (Option<Ipv4Addr>, Option<Ipv6Addr>) {
    let mut v4 = None;
    let mut v6 = None;
    let addresses = node
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .into_iter()
        .flatten();
    for a in addresses.filter(|a| a.type_ == "InternalIP") {
        match a.address.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) if v4.is_none() => v4 = Some(ip),
            Ok(IpAddr::V6(ip)) if v6.is_none() => v6 = Some(ip),
            _ => {}
        }
    }
    (v4, v6)
}

/// Writes the node addresses into the pinned map, only when they change.
#[derive(Debug)]
pub struct NodeAddrWriter {
    maps_dir: PathBuf,
    written: Option<(Option<Ipv4Addr>, Option<Ipv6Addr>)>,
}

impl NodeAddrWriter {
    pub fn new(maps_dir: impl Into<PathBuf>) -> Self {
        Self {
            maps_dir: maps_dir.into(),
            written: None,
        }
    }

    pub fn apply(&mut self, node: &Node) {
        let addrs = internal_ips(node);
        if self.written == Some(addrs) || addrs == (None, None) {
            return;
        }
        match ferrule_bpf_loader::kernel::write_node_addrs(&self.maps_dir, addrs.0, addrs.1) {
            Ok(()) => {
                tracing::info!(v4 = ?addrs.0, v6 = ?addrs.1, "SNAT source set from the Node's InternalIP");
                self.written = Some(addrs);
            }
            Err(error) => tracing::warn!(%error, "writing the node addresses failed"),
        }
    }
}

/// Watches this node's Node object and keeps the SNAT addresses current. Runs until the
/// watch ends (it retries with backoff, so in practice until shutdown drops it).
pub async fn watch_node(
    client: kube::Client,
    node_name: String,
    mut writer: NodeAddrWriter,
) -> crate::Error {
    use futures::StreamExt as _;
    use kube::runtime::WatchStreamExt as _;

    let config =
        kube::runtime::watcher::Config::default().fields(&format!("metadata.name={node_name}"));
    let nodes = kube::runtime::watcher::watcher(kube::Api::<Node>::all(client), config)
        .default_backoff()
        .applied_objects();
    let mut nodes = std::pin::pin!(nodes);
    while let Some(event) = nodes.next().await {
        match event {
            Ok(node) => writer.apply(&node),
            Err(error) => tracing::warn!(%error, "Node watch failed; retrying with backoff"),
        }
    }
    crate::Error::WatchEnded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(addresses: serde_json::Value) -> Node {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "n1"},
            "status": {"addresses": addresses}
        }))
        .expect("a valid Node")
    }

    #[test]
    fn first_internal_ip_of_each_family_wins() {
        let n = node(serde_json::json!([
            {"type": "Hostname", "address": "n1"},
            {"type": "ExternalIP", "address": "203.0.113.9"},
            {"type": "InternalIP", "address": "192.0.2.11"},
            {"type": "InternalIP", "address": "192.0.2.99"},
            {"type": "InternalIP", "address": "2001:db8:1::11"},
        ]));
        assert_eq!(
            internal_ips(&n),
            (
                Some("192.0.2.11".parse().expect("ip")),
                Some("2001:db8:1::11".parse().expect("ip"))
            )
        );
    }

    #[test]
    fn no_status_or_unparsable_addresses_give_nothing() {
        let bare: Node = serde_json::from_value(serde_json::json!({"metadata": {"name": "n1"}}))
            .expect("a valid Node");
        assert_eq!(internal_ips(&bare), (None, None));
        let n = node(serde_json::json!([{"type": "InternalIP", "address": "not-an-ip"}]));
        assert_eq!(internal_ips(&n), (None, None));
    }
}
