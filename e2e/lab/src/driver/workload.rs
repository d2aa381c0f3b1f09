//! LoadBalancer Services with endpoints, as manifests for [`LabProcess::apply`], and the IPs
//! LB-IPAM gave them.
//!
//! The lab has no pods and so no EndpointSlice controller: each Service comes with the
//! EndpointSlice such a controller would write — the lab's HTTP backends by default, each
//! endpoint optionally on a node (what externalTrafficPolicy Local looks at) and ready or not.

use super::LabProcess;
use crate::addresses::AddressPlan;
use crate::error::Error;
use crate::http_backend::BACKEND_PORT;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The port every workload Service exposes (to the backends' [`BACKEND_PORT`]).
pub const SERVICE_PORT: u16 = 80;
pub const NAMESPACE: &str = "default";

/// One endpoint of a Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub address: IpAddr,
    /// The node its pod would run on; None for the lab's backends, which run on no node.
    pub node: Option<String>,
    pub ready: bool,
}

/// A LoadBalancer Service in [`NAMESPACE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbService {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// externalTrafficPolicy Local (else Cluster).
    pub local: bool,
    /// PreferDualStack over IPv4 and IPv6 (else IPv4 only).
    pub dual_stack: bool,
    pub endpoints: Vec<Endpoint>,
}

impl LbService {
    /// A dual-stack Cluster Service labelled `labels`, backed by every lab backend.
    pub fn new(name: &str, plan: &AddressPlan, labels: &[(&str, &str)]) -> Self {
        Self {
            name: name.to_owned(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            local: false,
            dual_stack: true,
            endpoints: plan
                .backends
                .iter()
                .map(|b| Endpoint {
                    address: IpAddr::V4(b.ipv4),
                    node: None,
                    ready: true,
                })
                .collect(),
        }
    }

    /// `namespace/name`, as NodeL2Announcements name it.
    pub fn key(&self) -> String {
        format!("{NAMESPACE}/{}", self.name)
    }

    pub fn service(&self) -> Value {
        let mut spec = json!({
            "type": "LoadBalancer",
            "externalTrafficPolicy": if self.local { "Local" } else { "Cluster" },
            "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": BACKEND_PORT,
                       "protocol": "TCP"}],
        });
        if self.dual_stack {
            spec["ipFamilyPolicy"] = json!("PreferDualStack");
            spec["ipFamilies"] = json!(["IPv4", "IPv6"]);
        }
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": self.name, "namespace": NAMESPACE, "labels": self.labels},
            "spec": spec,
        })
    }

    /// The Service's one EndpointSlice (IPv4 endpoints only: the backends are reached over
    /// IPv4).
    pub fn endpoint_slice(&self) -> Value {
        let endpoints: Vec<Value> = self
            .endpoints
            .iter()
            .map(|e| {
                let mut endpoint = json!({
                    "addresses": [e.address.to_string()],
                    "conditions": {"ready": e.ready},
                });
                if let Some(node) = &e.node {
                    endpoint["nodeName"] = json!(node);
                }
                endpoint
            })
            .collect();
        json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": format!("{}-endpoints", self.name), "namespace": NAMESPACE,
                         "labels": {"kubernetes.io/service-name": self.name}},
            "addressType": "IPv4",
            "endpoints": endpoints,
            "ports": [{"name": "http", "port": BACKEND_PORT, "protocol": "TCP"}],
        })
    }
}

/// The Services and their EndpointSlices as one multi-document manifest.
pub fn manifests(services: &[LbService]) -> String {
    services
        .iter()
        .flat_map(|s| [s.service(), s.endpoint_slice()])
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join("\n---\n")
}

/// Every LoadBalancer Service of [`NAMESPACE`] by `namespace/name`, with its ingress IPs.
pub fn load_balancer_ips(lab: &LabProcess) -> Result<BTreeMap<String, Vec<IpAddr>>, Error> {
    let list = lab.get_json(&["services", "-n", NAMESPACE])?;
    Ok(list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["spec"]["type"] == "LoadBalancer")
        .map(|s| {
            let ips = s["status"]["loadBalancer"]["ingress"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i["ip"].as_str()?.parse().ok())
                .collect();
            let name = s["metadata"]["name"].as_str().unwrap_or_default();
            (format!("{NAMESPACE}/{name}"), ips)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_service_with_a_node_endpoint() {
        let plan = AddressPlan::new(3).expect("a valid lab");
        let mut svc = LbService::new("local", &plan, &[("app", "web")]);
        svc.local = true;
        svc.endpoints[0].node = Some("node2".into());
        svc.endpoints[1].ready = false;
        let service = svc.service();
        assert_eq!(service["spec"]["externalTrafficPolicy"], "Local");
        assert_eq!(service["metadata"]["labels"]["app"], "web");
        let slice = svc.endpoint_slice();
        assert_eq!(
            slice["metadata"]["labels"]["kubernetes.io/service-name"],
            "local"
        );
        assert_eq!(slice["endpoints"][0]["nodeName"], "node2");
        assert_eq!(slice["endpoints"][0]["addresses"][0], "198.51.100.11");
        assert_eq!(slice["endpoints"][1]["conditions"]["ready"], false);
        assert_eq!(manifests(&[svc]).matches("\n---\n").count(), 1);
    }
}
