//! What the core reads: Services, Nodes and policies as observed, reduced to the fields that
//! L2 announcements depend on.

use ferrule_api::l2announcement::v2alpha1::L2AnnouncementPolicySpec;
use ferrule_api::meta::Condition;
use std::collections::{BTreeMap, BTreeSet};

/// `namespace/name` of a Service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ServiceKey {
    pub namespace: String,
    pub name: String,
}

impl ServiceKey {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl std::fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// A Service as observed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceInput {
    pub key: ServiceKey,
    pub labels: BTreeMap<String, String>,
    /// `spec.loadBalancerClass`.
    pub load_balancer_class: Option<String>,
    /// `spec.externalIPs`, as written (not yet parsed).
    pub external_ips: Vec<String>,
    /// `status.loadBalancer.ingress[].ip`, as written.
    pub ingress_ips: Vec<String>,
    /// `spec.externalTrafficPolicy: Local`.
    pub external_traffic_local: bool,
    /// Nodes hosting a ready endpoint of this Service (from its EndpointSlices); only read
    /// when `external_traffic_local`.
    pub ready_local_nodes: BTreeSet<String>,
}

/// A Node as observed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeInput {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

/// A CiliumL2AnnouncementPolicy as observed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyInput {
    pub name: String,
    pub generation: i64,
    pub spec: L2AnnouncementPolicySpec,
    /// `status.conditions` as currently written.
    pub conditions: Vec<Condition>,
}
