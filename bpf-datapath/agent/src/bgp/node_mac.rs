//! The `ferrule.io/host-mac-address` annotation on this node's Node: the MAC address of the
//! interface holding the node's InternalIP (or, failing that, of the first selected datapath
//! device). ferrule-bgp derives the router ID of an IPv6-only node from it, as Cilium does
//! from its host interface's MAC, and the agent uses it the same way when its own node
//! config leaves the router ID to the node.

use std::net::IpAddr;

use ferrule_api::names::ferrule_annotation::HOST_MAC_ADDRESS;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

/// The field manager of the annotation (the agent's own).
pub const FIELD_MANAGER: &str = "ferrule-agent";

/// One interface as the host reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub mac: Option<[u8; 6]>,
    pub addresses: Vec<IpAddr>,
}

/// The host's interfaces.
pub fn host_interfaces() -> Vec<Interface> {
    pnet_datalink::interfaces()
        .into_iter()
        .map(|i| Interface {
            mac: i.mac.map(|m| m.octets()),
            addresses: i.ips.iter().map(|n| n.ip()).collect(),
            name: i.name,
        })
        .collect()
}

/// The node's InternalIP addresses.
pub fn internal_ips(node: &Node) -> Vec<IpAddr> {
    node.status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .into_iter()
        .flatten()
        .filter(|a| a.type_ == "InternalIP")
        .filter_map(|a| a.address.parse().ok())
        .collect()
}

/// The MAC of the interface holding one of `internal_ips`, else of the first of `devices`
/// that has one. All-zero MACs (loopback) do not count.
pub fn host_mac(
    interfaces: &[Interface],
    internal_ips: &[IpAddr],
    devices: &[String],
) -> Option<[u8; 6]> {
    let usable = |i: &Interface| i.mac.filter(|m| m.iter().any(|b| *b != 0));
    let by_ip = internal_ips.iter().find_map(|ip| {
        interfaces
            .iter()
            .filter(|i| i.addresses.contains(ip))
            .find_map(usable)
    });
    by_ip.or_else(|| {
        devices
            .iter()
            .find_map(|d| interfaces.iter().filter(|i| &i.name == d).find_map(usable))
    })
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Reads the Node, and applies the annotation when it differs from the host's MAC. Returns
/// the MAC (`None` when no interface qualifies: then nothing is written).
pub async fn publish(
    client: kube::Client,
    node_name: &str,
    devices: &[String],
) -> Result<Option<[u8; 6]>, kube::Error> {
    let nodes: Api<Node> = Api::all(client);
    let node = nodes.get(node_name).await?;
    let Some(mac) = host_mac(&host_interfaces(), &internal_ips(&node), devices) else {
        return Ok(None);
    };
    let text = format_mac(mac);
    let current = node
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(HOST_MAC_ADDRESS));
    if current != Some(&text) {
        let patch = json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": node_name, "annotations": {HOST_MAC_ADDRESS: text}},
        });
        nodes
            .patch(
                node_name,
                &PatchParams::apply(FIELD_MANAGER),
                &Patch::Apply(&patch),
            )
            .await?;
        tracing::info!(subsys = "bgp-control-plane", mac = %text, "published the node's host MAC address");
    }
    Ok(Some(mac))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(name: &str, mac: Option<[u8; 6]>, addresses: &[&str]) -> Interface {
        Interface {
            name: name.into(),
            mac,
            addresses: addresses
                .iter()
                .map(|a| a.parse().expect("an address"))
                .collect(),
        }
    }

    #[test]
    fn the_interface_holding_the_internal_ip_wins_then_the_first_device() {
        let interfaces = [
            iface("lo", Some([0; 6]), &["127.0.0.1"]),
            iface("eth0", Some([2, 0, 0xc0, 0, 2, 9]), &["2001:db8::9"]),
            iface("eth1", Some([2, 0, 0xc6, 0x33, 0x64, 7]), &["198.51.100.7"]),
        ];
        let ip = |t: &str| vec![t.parse::<IpAddr>().expect("ip")];
        let devices = vec!["eth1".to_owned()];
        assert_eq!(
            host_mac(&interfaces, &ip("2001:db8::9"), &devices),
            Some([2, 0, 0xc0, 0, 2, 9])
        );
        assert_eq!(
            host_mac(&interfaces, &ip("192.0.2.99"), &devices),
            Some([2, 0, 0xc6, 0x33, 0x64, 7]),
            "no interface holds the InternalIP: the first device"
        );
        assert_eq!(
            host_mac(&interfaces, &ip("127.0.0.1"), &[]),
            None,
            "loopback has no MAC"
        );
        assert_eq!(format_mac([2, 0, 0xc0, 0, 2, 9]), "02:00:c0:00:02:09");
    }
}
