//! `NodeL2Announcement` (`ferrule.io/v1alpha1`): the Service IPs one node answers ARP / NDP for.
//!
//! Derived, not user intent: each node's ferrule-l2announcer writes the object named after its
//! node whenever its rendezvous assignment changes, and that node's ferrule-agent programs its
//! responder from it. Cilium has no such object (it elects per Service with a Lease each), so
//! it lives in the `ferrule.io` group.
//!
//! Schema decisions:
//! - `announcements` is an atomic list: the object has a single writer that always sends the
//!   whole list, so per-item merging buys nothing, and no scalar field is a unique key (Services
//!   sharing an IP through `lbipam.cilium.io/sharing-key` repeat the IP; the Service is an
//!   object, which list-map keys cannot be).
//! - The announcer copies the policy's interface regular expressions instead of interface
//!   names: it cannot see the node's devices; the agent matches them against its own.
//! - kube-apiserver prints only the first value a printer column's JSONPath selects, so a
//!   `[*]` column would show one IP of many. `summary` carries the lists as text for the
//!   columns; [`NodeL2AnnouncementSpec::new`] fills it so it always matches `announcements`.

#![forbid(unsafe_code)]

use crate::crds::Assembly;
use kube::{CustomResource, CustomResourceExt as _};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

pub(crate) fn assembly() -> Assembly {
    Assembly {
        versions: vec![v1alpha1::NodeL2Announcement::crd()],
        storage: "v1alpha1",
        root_required: &["spec"],
    }
}

/// Served version `ferrule.io/v1alpha1` (storage; the only version).
pub mod v1alpha1 {
    use super::*;

    /// The Service IPs one node announces on its local links, named after the node.
    #[derive(
        CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
    )]
    #[kube(
        group = "ferrule.io",
        version = "v1alpha1",
        kind = "NodeL2Announcement",
        doc = "The Service IPs a node answers ARP and NDP for, written by that node's ferrule-l2announcer.",
        plural = "nodel2announcements",
        category = "ferrule",
        shortname = "nl2a",
        derive = "PartialEq",
        printcolumn = r#"{"jsonPath":".spec.nodeName","name":"Node","type":"string"}"#,
        printcolumn = r#"{"jsonPath":".spec.summary.ips","name":"IPs","type":"string"}"#,
        printcolumn = r#"{"jsonPath":".spec.summary.services","name":"Services","type":"string"}"#,
        printcolumn = r#"{"jsonPath":".metadata.creationTimestamp","name":"Age","type":"date"}"#
    )]
    #[serde(rename_all = "camelCase")]
    pub struct NodeL2AnnouncementSpec {
        /// The node that announces; equal to the object's name.
        #[schemars(length(min = 1, max = 253))]
        pub node_name: String,
        /// What the node announces, sorted by Service then IP. Empty: the node answers for
        /// no Service IP.
        #[serde(default)]
        #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
        pub announcements: Vec<Announcement>,
        /// The announced IPs and Services as text, for `kubectl get`; never read by ferrule.
        #[serde(default)]
        pub summary: Summary,
    }

    /// One Service IP the node answers for, and where.
    #[derive(
        Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, JsonSchema,
    )]
    #[serde(rename_all = "camelCase")]
    pub struct Announcement {
        /// The Service the IP belongs to.
        pub service: ServiceRef,
        /// The IPv4 or IPv6 address answered for (a load-balancer ingress IP or an external
        /// IP of the Service).
        #[schemars(
            length(min = 2, max = 45),
            pattern(r"^([0-9]{1,3}(\.[0-9]{1,3}){3}|[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*)$")
        )]
        pub ip: String,
        /// The interface regular expressions of the policies that selected the Service
        /// (OR-ed), matched by the agent against the devices it selected. Empty means every
        /// device the agent selected.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
        pub interface_regexes: Vec<String>,
    }

    /// A Service by namespace and name.
    #[derive(
        Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, JsonSchema,
    )]
    pub struct ServiceRef {
        /// The Service's namespace.
        #[schemars(length(min = 1, max = 63))]
        pub namespace: String,
        /// The Service's name.
        #[schemars(length(min = 1, max = 63))]
        pub name: String,
    }

    /// The announcements as comma-separated text (printer columns show one value per path).
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    pub struct Summary {
        /// Distinct announced IPs, sorted, comma-separated.
        #[serde(default)]
        pub ips: String,
        /// Distinct announced Services as `namespace/name`, sorted, comma-separated.
        #[serde(default)]
        pub services: String,
    }

    impl NodeL2AnnouncementSpec {
        /// A spec whose announcements are sorted (so an unchanged assignment serializes
        /// identically and is not rewritten) and whose summary matches them.
        pub fn new(node_name: impl Into<String>, mut announcements: Vec<Announcement>) -> Self {
            announcements.sort();
            announcements.dedup();
            let ips: BTreeSet<&str> = announcements.iter().map(|a| a.ip.as_str()).collect();
            let services: BTreeSet<String> = announcements
                .iter()
                .map(|a| format!("{}/{}", a.service.namespace, a.service.name))
                .collect();
            let summary = Summary {
                ips: ips.into_iter().collect::<Vec<_>>().join(","),
                services: services.into_iter().collect::<Vec<_>>().join(","),
            };
            Self {
                node_name: node_name.into(),
                announcements,
                summary,
            }
        }
    }

    impl NodeL2Announcement {
        /// The object for `node`, named after it.
        pub fn for_node(node: &str, announcements: Vec<Announcement>) -> Self {
            Self::new(node, NodeL2AnnouncementSpec::new(node, announcements))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::v1alpha1::*;

    fn announcement(namespace: &str, name: &str, ip: &str) -> Announcement {
        Announcement {
            service: ServiceRef {
                namespace: namespace.into(),
                name: name.into(),
            },
            ip: ip.into(),
            interface_regexes: Vec::new(),
        }
    }

    #[test]
    fn new_sorts_and_summarizes_shared_ips_once() {
        let spec = NodeL2AnnouncementSpec::new(
            "node-a",
            vec![
                announcement("shop", "web", "2001:db8::10"),
                announcement("default", "dns-udp", "192.0.2.10"),
                announcement("shop", "web", "198.51.100.7"),
                announcement("default", "dns-tcp", "192.0.2.10"),
                announcement("shop", "web", "198.51.100.7"),
            ],
        );
        let order: Vec<_> = spec
            .announcements
            .iter()
            .map(|a| (a.service.name.as_str(), a.ip.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                ("dns-tcp", "192.0.2.10"),
                ("dns-udp", "192.0.2.10"),
                ("web", "198.51.100.7"),
                ("web", "2001:db8::10"),
            ]
        );
        assert_eq!(spec.summary.ips, "192.0.2.10,198.51.100.7,2001:db8::10");
        assert_eq!(
            spec.summary.services,
            "default/dns-tcp,default/dns-udp,shop/web"
        );
    }

    #[test]
    fn the_same_assignment_in_any_order_serializes_identically() {
        let a = announcement("shop", "web", "198.51.100.7");
        let b = announcement("default", "dns", "192.0.2.10");
        let one = NodeL2Announcement::for_node("node-a", vec![a.clone(), b.clone()]);
        let two = NodeL2Announcement::for_node("node-a", vec![b, a]);
        assert_eq!(
            serde_json::to_string(&one).expect("serializes"),
            serde_json::to_string(&two).expect("serializes")
        );
        assert_eq!(one.metadata.name.as_deref(), Some("node-a"));
    }

    #[test]
    fn parses_a_manifest_and_omits_empty_regexes() {
        let object: NodeL2Announcement = serde_json::from_value(serde_json::json!({
            "apiVersion": "ferrule.io/v1alpha1",
            "kind": "NodeL2Announcement",
            "metadata": { "name": "node-b" },
            "spec": {
                "nodeName": "node-b",
                "announcements": [{
                    "service": { "namespace": "default", "name": "web" },
                    "ip": "203.0.113.5",
                    "interfaceRegexes": ["^eth[0-9]+$"],
                }],
            },
        }))
        .expect("manifest parses");
        assert_eq!(
            object.spec.announcements[0].interface_regexes,
            ["^eth[0-9]+$"]
        );
        assert_eq!(object.spec.summary, Summary::default());

        let none = NodeL2Announcement::for_node(
            "node-b",
            vec![announcement("default", "web", "203.0.113.5")],
        );
        let json = serde_json::to_value(&none).expect("serializes");
        assert!(
            json["spec"]["announcements"][0]
                .get("interfaceRegexes")
                .is_none()
        );
        assert!(!json.to_string().contains("null"), "{json}");
    }

    #[test]
    fn crd_is_cluster_scoped_with_an_atomic_list_and_columns() {
        let crd = serde_json::to_value(
            crate::crds::all()
                .into_iter()
                .find(|c| c.metadata.name.as_deref() == Some("nodel2announcements.ferrule.io"))
                .expect("generated"),
        )
        .expect("serializes");
        assert_eq!(crd["spec"]["scope"], "Cluster");
        assert_eq!(
            crd["spec"]["names"]["shortNames"],
            serde_json::json!(["nl2a"])
        );
        let version = &crd["spec"]["versions"][0];
        assert_eq!(version["name"], "v1alpha1");
        assert!(version["served"] == true && version["storage"] == true);
        let spec = &version["schema"]["openAPIV3Schema"]["properties"]["spec"];
        assert_eq!(spec["required"], serde_json::json!(["nodeName"]));
        let list = &spec["properties"]["announcements"];
        assert_eq!(list["x-kubernetes-list-type"], "atomic");
        assert_eq!(
            list["items"]["required"],
            serde_json::json!(["ip", "service"])
        );
        let columns: Vec<_> = version["additionalPrinterColumns"]
            .as_array()
            .expect("columns")
            .iter()
            .map(|c| c["jsonPath"].as_str().expect("path"))
            .collect();
        assert_eq!(
            columns,
            [
                ".spec.nodeName",
                ".spec.summary.ips",
                ".spec.summary.services",
                ".metadata.creationTimestamp"
            ]
        );
    }
}
