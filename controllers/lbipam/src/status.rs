//! Desired status vs observed status: the server-side apply body to send, or nothing when the
//! object already says what the plan says. Pure: `now` is passed in.
//!
//! Equality ignores `lastTransitionTime`: it is kept from the observed condition while the
//! condition's status stays the same and set to `now` when the status changes, so an
//! unchanged condition never causes a write.

use crate::core::model::{ConditionPlan, Plan, PoolPlan, ServiceKey, ServicePlan, Status};
use crate::index::Index;
use crate::metrics::WriteKind;
use crate::observed::{ObservedPool, ObservedService, PoolCondition};
use serde_json::{Value, json};

/// One status write: which object, and the apply body.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Service {
        key: ServiceKey,
        kind: WriteKind,
        body: Value,
    },
    Pool {
        name: String,
        body: Value,
    },
}

impl Write {
    pub fn kind(&self) -> WriteKind {
        match self {
            Write::Service { kind, .. } => *kind,
            Write::Pool { .. } => WriteKind::PoolStatus,
        }
    }
}

/// An object whose status differs from the plan. Bodies are rendered only when the write is
/// sent ([`render`]): 10,000 first allocations must not hold 10,000 bodies at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Service(ServiceKey),
    Pool(String),
}

/// Every object whose observed status differs from `plan`: services first (they carry the
/// allocations), then pools.
pub fn diff(plan: &Plan, index: &Index, now: &str) -> Vec<Target> {
    let services = plan.services.keys().map(|key| Target::Service(key.clone()));
    let pools = plan.pools.keys().map(|name| Target::Pool(name.clone()));
    services
        .chain(pools)
        .filter(|target| render(plan, index, target, now).is_some())
        .collect()
}

/// The write `target` needs now, against the latest observed version of it; `None` when it
/// already matches the plan or is gone.
pub fn render(plan: &Plan, index: &Index, target: &Target, now: &str) -> Option<Write> {
    match target {
        Target::Service(key) => {
            let observed = index.services.get(key)?;
            service_write(key, plan.services.get(key)?, &observed.value, now)
        }
        Target::Pool(name) => {
            let observed = index.pools.get(name)?;
            pool_write(name, plan.pools.get(name)?, &observed.value, now)
        }
    }
}

/// `True`, `False` or `Unknown`, as the API spells them.
pub fn status_str(status: Status) -> &'static str {
    match status {
        Status::True => "True",
        Status::False => "False",
        Status::Unknown => "Unknown",
    }
}

/// The write a Service needs to match `plan`, if any.
pub fn service_write(
    key: &ServiceKey,
    plan: &ServicePlan,
    observed: &ObservedService,
    now: &str,
) -> Option<Write> {
    match plan {
        ServicePlan::Managed {
            ingress_ips,
            condition,
        } => {
            let desired: Vec<String> = ingress_ips.iter().map(ToString::to_string).collect();
            let ingress_matches =
                !observed.ingress_not_bare && observed.input.current_ips == desired;
            let seen = observed.input.current_condition.as_ref();
            let stamp = observed.condition_stamp.as_ref();
            let condition_matches = seen.zip(stamp).is_some_and(|(seen, stamp)| {
                seen.status == condition.status
                    && seen.reason == condition.reason
                    && seen.message == condition.message
                    && stamp.observed_generation == observed.generation
            });
            if ingress_matches && condition_matches {
                return None;
            }
            let ingress: Vec<Value> = desired.iter().map(|ip| json!({ "ip": ip })).collect();
            let since = match seen.zip(stamp) {
                Some((seen, stamp)) if seen.status == condition.status => {
                    stamp.last_transition_time.as_str()
                }
                _ => now,
            };
            let condition = render_condition(condition, observed.generation, since);
            Some(Write::Service {
                key: key.clone(),
                kind: WriteKind::ServiceStatus,
                body: service_body(
                    key,
                    json!({
                        // Always present, empty included: IPs that stopped being valid must
                        // go even when another manager co-owns the (atomic) list.
                        "loadBalancer": { "ingress": ingress },
                        "conditions": [condition],
                    }),
                ),
            })
        }
        // Only what we own can be given up; applying an empty status when we own nothing would
        // be a write that changes nothing, on every pass.
        // No `status` at all: our field set becomes empty, so the API server drops our
        // managedFields entry and every field only we owned.
        ServicePlan::Released if observed.owns_status => Some(Write::Service {
            key: key.clone(),
            kind: WriteKind::ServiceRelease,
            body: json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": { "name": key.name, "namespace": key.namespace },
            }),
        }),
        ServicePlan::Released => None,
    }
}

/// The write a pool needs to match `plan`, if any: a desired condition differs, or one we
/// own is no longer desired.
pub fn pool_write(
    name: &str,
    plan: &PoolPlan,
    observed: &ObservedPool,
    now: &str,
) -> Option<Write> {
    let generation = Some(observed.input.generation);
    let find = |type_: &str| observed.conditions.iter().find(|c| c.type_ == type_);
    let desired_match = plan.conditions.iter().all(|want| {
        find(want.type_).is_some_and(|seen| same_pool_condition(seen, want, generation))
    });
    let nothing_stale = observed
        .owned_condition_types
        .iter()
        .all(|owned| plan.conditions.iter().any(|c| c.type_ == owned));
    if desired_match && nothing_stale {
        return None;
    }
    let conditions: Vec<Value> = plan
        .conditions
        .iter()
        .map(|want| {
            let since = match find(want.type_) {
                Some(seen) if seen.status == status_str(want.status) => {
                    seen.last_transition_time.as_str()
                }
                _ => now,
            };
            render_condition(want, generation, since)
        })
        .collect();
    Some(Write::Pool {
        name: name.to_owned(),
        body: json!({
            "apiVersion": "cilium.io/v2",
            "kind": "CiliumLoadBalancerIPPool",
            "metadata": { "name": name },
            "status": { "conditions": conditions },
        }),
    })
}

fn service_body(key: &ServiceKey, status: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": { "name": key.name, "namespace": key.namespace },
        "status": status,
    })
}

fn same_pool_condition(
    seen: &PoolCondition,
    want: &ConditionPlan,
    generation: Option<i64>,
) -> bool {
    seen.status == status_str(want.status)
        && seen.reason == want.reason
        && seen.message == want.message
        && seen.observed_generation == generation
}

/// A condition as applied, transitioned at `since`.
fn render_condition(want: &ConditionPlan, generation: Option<i64>, since: &str) -> Value {
    let mut condition = json!({
        "type": want.type_,
        "status": status_str(want.status),
        "reason": want.reason,
        "message": want.message,
        "lastTransitionTime": since,
    });
    if let Some(generation) = generation {
        condition["observedGeneration"] = json!(generation);
    }
    condition
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{PoolCounts, PoolInput};
    use std::collections::BTreeSet;

    const TYPE: &str = "cilium.io/IPAMRequestSatisfied";
    const NOW: &str = "2025-01-01T00:00:00Z";
    const EARLIER: &str = "2024-01-01T00:00:00Z";

    fn key() -> ServiceKey {
        ServiceKey {
            namespace: "default".into(),
            name: "web".into(),
        }
    }

    fn satisfied() -> ConditionPlan {
        ConditionPlan {
            type_: TYPE,
            status: Status::True,
            reason: "satisfied".into(),
            message: String::new(),
        }
    }

    /// A LoadBalancer Service with these status IPs and (when given) our condition as
    /// `(status, reason)`, built the way the watch builds it.
    fn observed(ips: &[&str], condition: Option<(&str, &str)>) -> ObservedService {
        let conditions: Vec<_> = condition
            .iter()
            .map(|(status, reason)| {
                json!({"type": TYPE, "status": status, "reason": reason, "message": "",
                       "lastTransitionTime": EARLIER})
            })
            .collect();
        let service: k8s_openapi::api::core::v1::Service = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default", "uid": "u"},
            "spec": {"type": "LoadBalancer"},
            "status": {
                "loadBalancer": {"ingress": ips.iter().map(|ip| json!({"ip": ip})).collect::<Vec<_>>()},
                "conditions": conditions,
            },
        }))
        .expect("a valid Service");
        let mut observed = ObservedService::from_service(&service, TYPE).expect("named");
        observed.owns_status = condition.is_some();
        observed
    }

    fn managed(ips: &[&str]) -> ServicePlan {
        ServicePlan::Managed {
            ingress_ips: ips
                .iter()
                .map(|ip| ip.parse().expect("test IPs are valid"))
                .collect(),
            condition: satisfied(),
        }
    }

    #[test]
    fn a_settled_service_needs_no_write() {
        let observed = observed(&["192.0.2.1"], Some(("True", "satisfied")));
        assert_eq!(
            service_write(&key(), &managed(&["192.0.2.1"]), &observed, NOW),
            None
        );
    }

    #[test]
    fn a_new_ip_is_written_with_a_fresh_transition_time() {
        let observed = observed(&[], Some(("False", "no_pool")));
        let write =
            service_write(&key(), &managed(&["192.0.2.1"]), &observed, NOW).expect("the IP is new");
        let Write::Service { body, kind, .. } = write else {
            panic!("a service write")
        };
        assert_eq!(kind, WriteKind::ServiceStatus);
        assert_eq!(
            body["status"]["loadBalancer"]["ingress"],
            json!([{"ip": "192.0.2.1"}])
        );
        assert_eq!(body["status"]["conditions"][0]["lastTransitionTime"], NOW);
        assert_eq!(body["metadata"]["namespace"], "default");
    }

    #[test]
    fn an_unchanged_status_keeps_its_transition_time() {
        // Same status, another IP: written, but the condition did not transition.
        let observed = observed(&["192.0.2.1"], Some(("True", "satisfied")));
        let write = service_write(&key(), &managed(&["192.0.2.9"]), &observed, NOW)
            .expect("the IP changed");
        let Write::Service { body, .. } = write else {
            panic!("a service write")
        };
        assert_eq!(
            body["status"]["conditions"][0]["lastTransitionTime"],
            EARLIER
        );
    }

    #[test]
    fn extra_ingress_fields_are_a_difference() {
        let mut observed = observed(&["192.0.2.1"], Some(("True", "satisfied")));
        observed.ingress_not_bare = true;
        assert!(service_write(&key(), &managed(&["192.0.2.1"]), &observed, NOW).is_some());
    }

    #[test]
    fn release_writes_only_what_we_own() {
        let owned = observed(&["192.0.2.1"], Some(("True", "satisfied")));
        let write = service_write(&key(), &ServicePlan::Released, &owned, NOW).expect("owned");
        assert_eq!(write.kind(), WriteKind::ServiceRelease);
        let Write::Service { body, .. } = write else {
            panic!("a service write")
        };
        assert_eq!(
            body.get("status"),
            None,
            "nothing of the status is ours any more"
        );
        let foreign = observed(&["192.0.2.1"], None);
        assert_eq!(
            service_write(&key(), &ServicePlan::Released, &foreign, NOW),
            None
        );
    }

    fn pool(conditions: Vec<PoolCondition>, owned: &[&str]) -> ObservedPool {
        ObservedPool {
            input: PoolInput {
                name: "blue".into(),
                uid: "p".into(),
                created: EARLIER.into(),
                generation: 2,
                spec: Default::default(),
            },
            conditions,
            owned_condition_types: owned.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>(),
        }
    }

    fn pool_plan(types: &[&'static str]) -> PoolPlan {
        PoolPlan {
            conditions: types
                .iter()
                .map(|t| ConditionPlan {
                    type_: t,
                    status: Status::False,
                    reason: "resolved".into(),
                    message: String::new(),
                })
                .collect(),
            counts: PoolCounts {
                total: 0,
                available: 0,
                used: 0,
            },
        }
    }

    fn pool_condition(type_: &str, generation: i64) -> PoolCondition {
        PoolCondition {
            type_: type_.into(),
            status: "False".into(),
            reason: "resolved".into(),
            message: String::new(),
            observed_generation: Some(generation),
            last_transition_time: EARLIER.into(),
        }
    }

    #[test]
    fn a_settled_pool_needs_no_write() {
        let observed = pool(vec![pool_condition("a", 2)], &["a"]);
        assert_eq!(pool_write("blue", &pool_plan(&["a"]), &observed, NOW), None);
    }

    #[test]
    fn a_new_generation_or_a_stale_owned_condition_is_written() {
        let old_generation = pool(vec![pool_condition("a", 1)], &["a"]);
        let write = pool_write("blue", &pool_plan(&["a"]), &old_generation, NOW)
            .expect("observedGeneration moved");
        let Write::Pool { body, .. } = write else {
            panic!("a pool write")
        };
        assert_eq!(body["status"]["conditions"][0]["observedGeneration"], 2);
        assert_eq!(
            body["status"]["conditions"][0]["lastTransitionTime"], EARLIER,
            "same status, same transition time"
        );
        let stale = pool(
            vec![pool_condition("a", 2), pool_condition("b", 2)],
            &["a", "b"],
        );
        assert!(pool_write("blue", &pool_plan(&["a"]), &stale, NOW).is_some());
        let foreign = pool(vec![pool_condition("a", 2), pool_condition("b", 2)], &["a"]);
        assert_eq!(
            pool_write("blue", &pool_plan(&["a"]), &foreign, NOW),
            None,
            "a condition someone else owns is not ours to remove"
        );
    }
}
