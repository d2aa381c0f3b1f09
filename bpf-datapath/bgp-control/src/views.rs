//! Services and EndpointSlices reduced to what advertisements read. The watches store these
//! instead of the objects: a cluster's Services carry ports, selectors, managedFields and
//! annotations the BGP control plane never looks at, and at 10,000 Services the full objects
//! dominated the agent's memory.

use ferrule_api::names::{label, lb_class};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::reflector::Lookup;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// A Service as Service advertisements see it. Addresses that do not parse (headless
/// `None`, hostnames) are left out, as advertising skips them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceView {
    pub namespace: String,
    pub name: String,
    /// For advertisement selectors (with the special namespace and name keys).
    pub labels: Option<BTreeMap<String, String>>,
    /// `externalTrafficPolicy: Local`.
    pub external_traffic_local: bool,
    /// `internalTrafficPolicy: Local`.
    pub internal_traffic_local: bool,
    /// `status.loadBalancer.ingress[].ip` of a LoadBalancer Service whose class is unset or
    /// the BGP control plane's; empty for any other Service (stale status included).
    pub load_balancer_ips: Vec<IpAddr>,
    /// `spec.externalIPs`.
    pub external_ips: Vec<IpAddr>,
    /// `spec.clusterIPs`, or `spec.clusterIP` when the list is empty.
    pub cluster_ips: Vec<IpAddr>,
}

fn parsed<'a>(texts: impl IntoIterator<Item = &'a String>) -> Vec<IpAddr> {
    texts
        .into_iter()
        .filter_map(|t| t.trim().parse().ok())
        .collect()
}

impl ServiceView {
    pub fn new(service: &Service) -> Self {
        let meta = &service.metadata;
        let spec = service.spec.as_ref();
        let is_bgp_load_balancer = spec.is_some_and(|s| {
            s.type_.as_deref() == Some("LoadBalancer")
                && s.load_balancer_class
                    .as_deref()
                    .is_none_or(|class| class == lb_class::BGP_CONTROL_PLANE)
        });
        let ingress = service
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .filter(|_| is_bgp_load_balancer);
        let cluster_ips = match spec {
            Some(s) if s.cluster_ips.as_ref().is_some_and(|ips| !ips.is_empty()) => {
                parsed(s.cluster_ips.iter().flatten())
            }
            Some(s) => parsed(s.cluster_ip.as_ref()),
            None => Vec::new(),
        };
        Self {
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            labels: meta.labels.clone(),
            external_traffic_local: spec
                .is_some_and(|s| s.external_traffic_policy.as_deref() == Some("Local")),
            internal_traffic_local: spec
                .is_some_and(|s| s.internal_traffic_policy.as_deref() == Some("Local")),
            load_balancer_ips: parsed(ingress.into_iter().flatten().filter_map(|i| i.ip.as_ref())),
            external_ips: parsed(
                spec.and_then(|s| s.external_ips.as_ref())
                    .into_iter()
                    .flatten(),
            ),
            cluster_ips,
        }
    }
}

/// An EndpointSlice as traffic policy `Local` sees it on one node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointSliceView {
    pub namespace: String,
    pub name: String,
    /// The Service it belongs to (`kubernetes.io/service-name`).
    pub service: Option<String>,
    /// Whether an endpoint on the node is ready (an unset `ready` is an unknown state, which
    /// consumers treat as ready).
    pub ready_on_node: bool,
}

impl EndpointSliceView {
    pub fn new(slice: &EndpointSlice, node: &str) -> Self {
        let meta = &slice.metadata;
        Self {
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            service: meta
                .labels
                .as_ref()
                .and_then(|l| l.get(label::ENDPOINTSLICE_SERVICE_NAME))
                .cloned(),
            ready_on_node: slice.endpoints.iter().any(|endpoint| {
                endpoint.node_name.as_deref() == Some(node)
                    && endpoint
                        .conditions
                        .as_ref()
                        .and_then(|c| c.ready)
                        .unwrap_or(true)
            }),
        }
    }
}

/// Store keys of the views (for kube's reflector): namespace and name only.
macro_rules! lookup {
    ($view:ty, $kind:literal, $group:literal, $plural:literal) => {
        impl Lookup for $view {
            type DynamicType = ();

            fn kind(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($kind)
            }

            fn group(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($group)
            }

            fn version(_: &()) -> Cow<'_, str> {
                Cow::Borrowed("v1")
            }

            fn plural(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($plural)
            }

            fn name(&self) -> Option<Cow<'_, str>> {
                Some(Cow::Borrowed(&self.name))
            }

            fn namespace(&self) -> Option<Cow<'_, str>> {
                Some(Cow::Borrowed(&self.namespace))
            }

            fn resource_version(&self) -> Option<Cow<'_, str>> {
                None
            }

            fn uid(&self) -> Option<Cow<'_, str>> {
                None
            }
        }
    };
}

lookup!(ServiceView, "Service", "", "services");
lookup!(
    EndpointSliceView,
    "EndpointSlice",
    "discovery.k8s.io",
    "endpointslices"
);

#[cfg(test)]
#[path = "views_tests.rs"]
mod tests;
