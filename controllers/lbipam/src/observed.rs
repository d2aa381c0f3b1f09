//! Services and pools reduced to what LB-IPAM reads: the core's input, plus what the writer
//! needs to tell whether a status write would change anything (the observed status and the
//! fields our field manager owns). Pure conversions, no I/O.

use crate::FIELD_MANAGER;
use crate::core::model::{self, PoolInput, ServiceInput, ServiceKey, ServicePort, Status};
use ferrule_api::lbipam::v2::CiliumLoadBalancerIPPool;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta, Time};
use std::collections::BTreeSet;

/// A pool status condition as observed, with the fields the writer compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolCondition {
    pub type_: String,
    pub status: String,
    pub reason: String,
    pub message: String,
    pub observed_generation: Option<i64>,
    /// As the server returned it (RFC 3339, second precision), kept verbatim when the status
    /// does not change.
    pub last_transition_time: String,
}

/// When and for which generation our Service condition was written: the parts of it the
/// core's input does not carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionStamp {
    pub observed_generation: Option<i64>,
    /// As the server returned it (RFC 3339, second precision), kept verbatim while the
    /// condition's status does not change.
    pub last_transition_time: String,
}

/// A Service as the index keeps it: the core's input plus what the writer compares against.
/// Kept small (no second copy of IPs or condition texts): 10,000 of these live in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedService {
    pub input: ServiceInput,
    /// `metadata.generation`, when the server sets one.
    pub generation: Option<i64>,
    /// Some `status.loadBalancer.ingress[]` entry is not a bare `{ip}` (a hostname, ipMode or
    /// ports, or no IP): LB-IPAM writes bare IPs, so such a status differs from its own.
    pub ingress_not_bare: bool,
    /// Our `cilium.io/IPAMRequestSatisfied` condition's stamp, if the condition is present
    /// (its status, reason and message are `input.current_condition`).
    pub condition_stamp: Option<ConditionStamp>,
    /// Whether our field manager owns any field of the status (so a release has something to
    /// give up).
    pub owns_status: bool,
    /// `input` is lent to a plan in progress (see [`crate::index::Index::lend_input`]).
    pub lent: bool,
}

/// A pool as the index keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedPool {
    pub input: PoolInput,
    pub conditions: Vec<PoolCondition>,
    /// Condition types our field manager owns in `status.conditions`.
    pub owned_condition_types: BTreeSet<String>,
}

impl ObservedService {
    /// Reads a Service; `None` for an object without namespace or name (never served by a
    /// real API server).
    pub fn from_service(service: &Service, condition_type: &str) -> Option<Self> {
        let meta = &service.metadata;
        let key = ServiceKey {
            namespace: meta.namespace.clone()?,
            name: meta.name.clone()?,
        };
        let spec = service.spec.clone().unwrap_or_default();
        let status = service.status.clone().unwrap_or_default();
        let ingress = status
            .load_balancer
            .and_then(|lb| lb.ingress)
            .unwrap_or_default();
        let ingress_not_bare = ingress.iter().any(|entry| {
            entry.ip.is_none()
                || entry.hostname.is_some()
                || entry.ip_mode.is_some()
                || entry.ports.as_ref().is_some_and(|p| !p.is_empty())
        });
        let current_ips = ingress.into_iter().filter_map(|entry| entry.ip).collect();
        let condition = status
            .conditions
            .unwrap_or_default()
            .into_iter()
            .find(|c| c.type_ == condition_type);
        let condition_stamp = condition.as_ref().map(|c| ConditionStamp {
            observed_generation: c.observed_generation,
            last_transition_time: format_time(&c.last_transition_time),
        });
        let ports = spec
            .ports
            .unwrap_or_default()
            .into_iter()
            .map(|p| ServicePort {
                port: p.port,
                protocol: p.protocol.unwrap_or_else(|| "TCP".to_owned()),
            })
            .collect();
        let input = ServiceInput {
            key,
            uid: meta.uid.clone().unwrap_or_default(),
            created: created(meta),
            labels: meta.labels.clone().unwrap_or_default(),
            annotations: meta.annotations.clone().unwrap_or_default(),
            service_type: spec.type_.unwrap_or_else(|| "ClusterIP".to_owned()),
            load_balancer_class: spec.load_balancer_class,
            ip_family_policy: spec.ip_family_policy,
            ip_families: spec.ip_families.unwrap_or_default(),
            load_balancer_ip: spec.load_balancer_ip.filter(|ip| !ip.is_empty()),
            ports,
            current_ips,
            has_our_condition: condition.is_some(),
            external_traffic_policy: spec.external_traffic_policy,
            pod_selector: spec.selector.unwrap_or_default(),
            current_condition: condition.map(|c| model::ObservedCondition {
                status: parse_status(&c.status),
                reason: c.reason,
                message: c.message,
            }),
        };
        Some(Self {
            input,
            generation: meta.generation,
            ingress_not_bare,
            condition_stamp,
            owns_status: !owned_status_fields(meta.managed_fields.as_deref()).is_empty(),
            lent: false,
        })
    }

    /// What stays in the index while the real input is lent to a plan: allocates nothing.
    pub fn lent_placeholder() -> ServiceInput {
        ServiceInput {
            key: ServiceKey {
                namespace: String::new(),
                name: String::new(),
            },
            uid: String::new(),
            created: String::new(),
            labels: Default::default(),
            annotations: Default::default(),
            service_type: String::new(),
            load_balancer_class: None,
            ip_family_policy: None,
            ip_families: Vec::new(),
            load_balancer_ip: None,
            ports: Vec::new(),
            current_ips: Vec::new(),
            has_our_condition: false,
            external_traffic_policy: None,
            pod_selector: Default::default(),
            current_condition: None,
        }
    }
}

impl ObservedPool {
    /// Reads a pool; `None` without a name.
    pub fn from_pool(pool: &CiliumLoadBalancerIPPool) -> Option<Self> {
        let meta = &pool.metadata;
        let input = PoolInput {
            name: meta.name.clone()?,
            uid: meta.uid.clone().unwrap_or_default(),
            created: created(meta),
            generation: meta.generation.unwrap_or_default(),
            spec: pool.spec.clone(),
        };
        let conditions = pool
            .status
            .as_ref()
            .map(|s| s.conditions.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|c| PoolCondition {
                type_: c.r#type.clone(),
                status: format!("{:?}", c.status),
                reason: c.reason.clone(),
                message: c.message.clone(),
                observed_generation: c.observed_generation,
                last_transition_time: format_time(&c.last_transition_time),
            })
            .collect();
        let owned = owned_status_fields(meta.managed_fields.as_deref());
        Some(Self {
            input,
            conditions,
            owned_condition_types: owned_condition_types(&owned),
        })
    }
}

/// A condition status as the API spells it; anything unexpected reads as Unknown.
fn parse_status(status: &str) -> Status {
    match status {
        "True" => Status::True,
        "False" => Status::False,
        _ => Status::Unknown,
    }
}

/// `creationTimestamp` in RFC 3339 (empty when unset, which sorts first).
fn created(meta: &ObjectMeta) -> String {
    meta.creation_timestamp
        .as_ref()
        .map(format_time)
        .unwrap_or_default()
}

/// A Kubernetes timestamp as the API serialises it (second precision, `Z`).
pub fn format_time(time: &Time) -> String {
    format_timestamp(time.0)
}

/// `jiff` time in the API's format.
pub fn format_timestamp(timestamp: jiff::Timestamp) -> String {
    // The format string is static and valid for every timestamp; Display is a safe fallback.
    jiff::fmt::strtime::format("%Y-%m-%dT%H:%M:%SZ", timestamp)
        .unwrap_or_else(|_| timestamp.to_string())
}

/// The `f:status` part of our field manager's status entries (entries of other managers,
/// and ours on the main resource, do not count). Empty when we own nothing there.
fn owned_status_fields(entries: Option<&[ManagedFieldsEntry]>) -> Vec<&serde_json::Value> {
    entries
        .unwrap_or_default()
        .iter()
        .filter(|e| {
            e.manager.as_deref() == Some(FIELD_MANAGER)
                && e.subresource.as_deref() == Some("status")
        })
        .filter_map(|e| e.fields_v1.as_ref())
        .filter_map(|fields| fields.0.get("f:status"))
        .filter(|status| status.as_object().is_some_and(|o| !o.is_empty()))
        .collect()
}

/// The condition types in owned `f:status` sets: keys `k:{"type":"…"}` under `f:conditions`.
fn owned_condition_types(owned: &[&serde_json::Value]) -> BTreeSet<String> {
    owned
        .iter()
        .filter_map(|status| status.get("f:conditions")?.as_object())
        .flat_map(|conditions| conditions.keys())
        .filter_map(|key| key.strip_prefix("k:"))
        .filter_map(|key| serde_json::from_str::<serde_json::Value>(key).ok())
        .filter_map(|key| key.get("type")?.as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CONDITION: &str = "cilium.io/IPAMRequestSatisfied";

    fn service(value: serde_json::Value) -> Service {
        serde_json::from_value(value).expect("a valid Service")
    }

    #[test]
    fn a_service_is_reduced_to_what_the_core_reads() {
        let svc = service(json!({
            "metadata": {
                "name": "web", "namespace": "default", "uid": "u1",
                "resourceVersion": "42",
                "creationTimestamp": "2024-05-01T10:00:00Z",
                "labels": {"app": "web"},
                "annotations": {"lbipam.cilium.io/ips": "192.0.2.10"},
                "managedFields": [{
                    "manager": "ferrule-lbipam", "operation": "Apply", "subresource": "status",
                    "apiVersion": "v1", "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:status": {"f:loadBalancer": {"f:ingress": {}}}}
                }]
            },
            "spec": {
                "type": "LoadBalancer", "loadBalancerClass": "io.cilium/l2-announcer",
                "ipFamilyPolicy": "PreferDualStack", "ipFamilies": ["IPv4", "IPv6"],
                "ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]
            },
            "status": {
                "loadBalancer": {"ingress": [{"ip": "192.0.2.10"}, {"hostname": "lb.example"}]},
                "conditions": [
                    {"type": "Other", "status": "True", "reason": "X", "message": "",
                     "lastTransitionTime": "2024-05-01T10:00:00Z"},
                    {"type": CONDITION, "status": "True", "reason": "satisfied",
                     "message": "", "lastTransitionTime": "2024-05-01T10:00:01Z"}
                ]
            }
        }));
        let observed = ObservedService::from_service(&svc, CONDITION).expect("named");
        let input = &observed.input;
        assert_eq!(input.key.to_string(), "default/web");
        assert_eq!(input.created, "2024-05-01T10:00:00Z");
        assert_eq!(input.service_type, "LoadBalancer");
        assert_eq!(input.ip_families, ["IPv4", "IPv6"]);
        assert_eq!(
            input.ports,
            [
                ServicePort {
                    port: 80,
                    protocol: "TCP".into()
                },
                ServicePort {
                    port: 53,
                    protocol: "UDP".into()
                },
            ]
        );
        assert_eq!(input.current_ips, ["192.0.2.10"]);
        assert!(input.has_our_condition);
        let current = input
            .current_condition
            .as_ref()
            .expect("ours is found among others");
        assert_eq!(
            (current.status, current.reason.as_str()),
            (Status::True, "satisfied")
        );
        assert!(observed.owns_status);
        assert!(observed.ingress_not_bare, "the hostname entry");
        let stamp = observed
            .condition_stamp
            .expect("ours is found among others");
        assert_eq!(stamp.last_transition_time, "2024-05-01T10:00:01Z");
    }

    #[test]
    fn a_plain_service_has_defaults_and_owns_nothing() {
        let svc = service(json!({
            "metadata": {"name": "db", "namespace": "prod",
                         "managedFields": [{"manager": "kubectl", "operation": "Apply",
                                            "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}]},
            "spec": {"loadBalancerIP": ""}
        }));
        let observed = ObservedService::from_service(&svc, CONDITION).expect("named");
        assert_eq!(observed.input.service_type, "ClusterIP");
        assert_eq!(observed.input.load_balancer_ip, None, "empty means unset");
        assert!(!observed.input.has_our_condition);
        assert!(!observed.owns_status);
    }

    #[test]
    fn owned_pool_condition_types_come_from_managed_fields() {
        let pool: CiliumLoadBalancerIPPool = serde_json::from_value(json!({
            "apiVersion": "cilium.io/v2", "kind": "CiliumLoadBalancerIPPool",
            "metadata": {
                "name": "blue", "generation": 3,
                "managedFields": [{
                    "manager": "ferrule-lbipam", "operation": "Apply", "subresource": "status",
                    "apiVersion": "cilium.io/v2", "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:status": {"f:conditions": {
                        "k:{\"type\":\"cilium.io/IPsAvailable\"}": {".": {}, "f:type": {}},
                        "k:{\"type\":\"cilium.io/PoolConflict\"}": {".": {}}
                    }}}
                }]
            },
            "spec": {"blocks": [{"cidr": "192.0.2.0/24"}]},
            "status": {"conditions": [{
                "type": "cilium.io/PoolConflict", "status": "False", "reason": "resolved",
                "message": "", "observedGeneration": 3,
                "lastTransitionTime": "2024-05-01T10:00:00Z"
            }]}
        }))
        .expect("a valid pool");
        let observed = ObservedPool::from_pool(&pool).expect("named");
        assert_eq!(observed.input.generation, 3);
        assert_eq!(
            observed.owned_condition_types.iter().collect::<Vec<_>>(),
            ["cilium.io/IPsAvailable", "cilium.io/PoolConflict"]
        );
        assert_eq!(observed.conditions[0].status, "False");
        assert_eq!(observed.conditions[0].observed_generation, Some(3));
    }
}
