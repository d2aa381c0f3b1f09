//! What the agent observes, reduced to what the datapath needs, and the conversions from the
//! Kubernetes objects. Anything the datapath cannot serve (SCTP, FQDN endpoints, hostname-only
//! ingress, unparsable addresses) is left out here rather than failing the whole computation.

use std::net::IpAddr;

use ferrule_bpf_loader::model::{Protocol, TrafficPolicy};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

/// The label tying an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// namespace/name of a Service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceKey {
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// A Service port; `name` is "" when unnamed, as EndpointSlice ports name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    pub name: String,
    pub port: u16,
    pub protocol: Protocol,
}

/// A Service as the datapath sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedService {
    pub key: ServiceKey,
    /// LoadBalancer ingress IPs (type LoadBalancer only) and externalIPs.
    pub vips: Vec<IpAddr>,
    pub ports: Vec<ServicePort>,
    pub policy: TrafficPolicy,
}

/// A port of an EndpointSlice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointPort {
    pub name: String,
    pub port: u16,
    pub protocol: Protocol,
}

/// One endpoint of an EndpointSlice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub addresses: Vec<IpAddr>,
    pub ready: bool,
    pub node_name: Option<String>,
}

/// An EndpointSlice as the datapath sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedEndpointSlice {
    pub service: ServiceKey,
    pub ports: Vec<EndpointPort>,
    pub endpoints: Vec<Endpoint>,
}

fn protocol(p: Option<&str>) -> Option<Protocol> {
    // The API defaults an unset protocol to TCP.
    match p.unwrap_or("TCP") {
        "TCP" => Some(Protocol::Tcp),
        "UDP" => Some(Protocol::Udp),
        _ => None,
    }
}

impl ObservedService {
    pub fn from_service(svc: &Service) -> Option<Self> {
        let key = ServiceKey {
            namespace: svc.metadata.namespace.clone()?,
            name: svc.metadata.name.clone()?,
        };
        let spec = svc.spec.as_ref()?;
        let mut vips: Vec<IpAddr> = Vec::new();
        // Ingress IPs of a Service that is no longer type LoadBalancer are stale status.
        if spec.type_.as_deref() == Some("LoadBalancer") {
            let ingress = svc
                .status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_ref());
            vips.extend(
                ingress
                    .into_iter()
                    .flatten()
                    .filter_map(|i| i.ip.as_deref()?.parse::<IpAddr>().ok()),
            );
        }
        vips.extend(
            spec.external_ips
                .iter()
                .flatten()
                .filter_map(|ip| ip.parse::<IpAddr>().ok()),
        );
        vips.sort();
        vips.dedup();
        let ports = spec
            .ports
            .iter()
            .flatten()
            .filter_map(|p| {
                Some(ServicePort {
                    name: p.name.clone().unwrap_or_default(),
                    port: u16::try_from(p.port).ok()?,
                    protocol: protocol(p.protocol.as_deref())?,
                })
            })
            .collect();
        let policy = match spec.external_traffic_policy.as_deref() {
            Some("Local") => TrafficPolicy::Local,
            _ => TrafficPolicy::Cluster,
        };
        Some(Self {
            key,
            vips,
            ports,
            policy,
        })
    }
}

impl ObservedEndpointSlice {
    pub fn from_endpoint_slice(slice: &EndpointSlice) -> Option<Self> {
        if slice.address_type != "IPv4" && slice.address_type != "IPv6" {
            return None;
        }
        let service = ServiceKey {
            namespace: slice.metadata.namespace.clone()?,
            name: slice
                .metadata
                .labels
                .as_ref()?
                .get(SERVICE_NAME_LABEL)?
                .clone(),
        };
        let ports = slice
            .ports
            .iter()
            .flatten()
            .filter_map(|p| {
                Some(EndpointPort {
                    name: p.name.clone().unwrap_or_default(),
                    port: u16::try_from(p.port?).ok()?,
                    protocol: protocol(p.protocol.as_deref())?,
                })
            })
            .collect();
        let endpoints = slice
            .endpoints
            .iter()
            .map(|e| Endpoint {
                addresses: e.addresses.iter().filter_map(|a| a.parse().ok()).collect(),
                // The API says an unset `ready` is to be read as ready (kube-proxy does).
                ready: e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true),
                node_name: e.node_name.clone(),
            })
            .collect();
        Some(Self {
            service,
            ports,
            endpoints,
        })
    }
}

#[cfg(test)]
#[path = "observed_tests.rs"]
mod tests;
