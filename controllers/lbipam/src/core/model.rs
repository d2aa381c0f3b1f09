//! The inputs and outputs of LB-IPAM's pure core: what the controller observed, and what it
//! should write. No kube client, no clock: `now` is never needed, ordering comes from
//! creation timestamps in the input.

use ferrule_api::lbipam::v2::PoolSpec;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Cluster-wide settings (flags of ferrule-lbipam).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The cluster has IPv4 enabled.
    pub ipv4: bool,
    /// The cluster has IPv6 enabled.
    pub ipv6: bool,
    /// Only services with a recognised load-balancer class get IPs (an unset class is ignored).
    pub require_lb_class: bool,
}

/// A CiliumLoadBalancerIPPool as observed.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolInput {
    pub name: String,
    pub uid: String,
    /// RFC 3339 `metadata.creationTimestamp`; with `name`, orders pools for conflicts
    /// (the later-created pool of an overlapping pair is the conflicting one).
    pub created: String,
    pub generation: i64,
    pub spec: PoolSpec,
}

/// One port of a Service, for sharing-key port conflicts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServicePort {
    pub port: i32,
    /// `TCP`, `UDP` or `SCTP` (defaults to TCP when unset).
    pub protocol: String,
}

/// `namespace/name` of a Service.
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

/// A Service as observed, reduced to what LB-IPAM reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInput {
    pub key: ServiceKey,
    pub uid: String,
    /// RFC 3339 `metadata.creationTimestamp`: the older of two services claiming one IP keeps it.
    pub created: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// `spec.type` (`LoadBalancer`, `ClusterIP`, ...).
    pub service_type: String,
    pub load_balancer_class: Option<String>,
    /// `SingleStack`, `PreferDualStack`, `RequireDualStack`; unset means SingleStack.
    pub ip_family_policy: Option<String>,
    /// `spec.ipFamilies` (`IPv4`, `IPv6`).
    pub ip_families: Vec<String>,
    /// Deprecated `spec.loadBalancerIP`.
    pub load_balancer_ip: Option<String>,
    pub ports: Vec<ServicePort>,
    /// `status.loadBalancer.ingress[].ip` as currently written (by us before a restart, or
    /// by anyone): the source of truth for existing allocations.
    pub current_ips: Vec<String>,
    /// Whether our `cilium.io/IPAMRequestSatisfied` condition is currently present (so a
    /// service we stop managing gets it removed).
    pub has_our_condition: bool,
    /// `spec.externalTrafficPolicy` (`Cluster` when unset): Cilium lets services share an IP
    /// only when their policies match, and `Local` ones only when they select the same pods.
    pub external_traffic_policy: Option<String>,
    /// `spec.selector` (the pods behind the service), for the `Local` sharing rule above.
    pub pod_selector: BTreeMap<String, String>,
    /// Our `cilium.io/IPAMRequestSatisfied` condition as currently written, if any: a Warning
    /// Event is planned only when the condition changes, so a settled service produces none.
    pub current_condition: Option<ObservedCondition>,
}

/// A condition as read from an object's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedCondition {
    pub status: Status,
    pub reason: String,
    pub message: String,
}

/// Everything the core looks at.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    pub config: Config,
    pub pools: Vec<PoolInput>,
    pub services: Vec<ServiceInput>,
}

/// True, False or Unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    True,
    False,
    Unknown,
}

/// A condition to write (lastTransitionTime is the writer's business).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionPlan {
    pub type_: &'static str,
    pub status: Status,
    pub reason: String,
    pub message: String,
}

/// What a Service's status should say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServicePlan {
    /// LB-IPAM manages the service: these ingress IPs (sorted, possibly empty) and this
    /// `cilium.io/IPAMRequestSatisfied` condition.
    Managed {
        ingress_ips: Vec<IpAddr>,
        condition: ConditionPlan,
    },
    /// LB-IPAM no longer manages it (not LoadBalancer, foreign class): give up whatever it
    /// wrote (our field manager applies an empty status).
    Released,
}

/// Pool counts as Cilium reports them (strings, because a /64 does not fit in 64 bits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolCounts {
    pub total: u128,
    pub available: u128,
    pub used: u128,
}

/// What a pool's status should say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolPlan {
    /// Sorted by type.
    pub conditions: Vec<ConditionPlan>,
    pub counts: PoolCounts,
}

/// Normal or Warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

/// What an Event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Regarding {
    Service(ServiceKey),
    Pool(String),
}

/// An Event for a transition a user should see (reallocation naming old and new IP,
/// invalid annotation, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEvent {
    pub regarding: Regarding,
    pub type_: EventType,
    pub reason: String,
    pub action: String,
    pub note: String,
}

/// The desired state: every managed or released service, every pool, and the events.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub services: BTreeMap<ServiceKey, ServicePlan>,
    pub pools: BTreeMap<String, PoolPlan>,
    pub events: Vec<PlannedEvent>,
}
