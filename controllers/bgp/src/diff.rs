//! What differs between a plan and the stored objects, and the bodies that fix it.
//!
//! Only differences are written: a node config whose spec and owner already match, or a
//! condition whose status, reason, message and observedGeneration already match, costs
//! nothing. `lastTransitionTime` moves only when the status flips.

use crate::core::conditions::{CLUSTER_CONFIG_TYPES, PEER_CONFIG_TYPES};
use crate::core::model::{DesiredNodeConfig, Plan, PlannedConditions};
use crate::index::Index;
use crate::observed::{CLUSTER_CONFIG_KIND, ObservedCondition};
use serde_json::{Value, json};

/// One write.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// Create or update the node config of this node.
    NodeConfig(String),
    /// Delete this node config (name, uid precondition).
    Prune {
        name: String,
        uid: String,
    },
    ClusterConfigStatus(String),
    PeerConfigStatus(String),
}

/// Every write `plan` needs, given what `index` holds.
pub fn diff(plan: &Plan, index: &Index) -> Vec<Target> {
    let mut targets = Vec::new();
    for (name, desired) in &plan.node_configs {
        let current = index.node_configs.get(name);
        // Owner references other managers added cannot be removed by our apply; only ours
        // must be there.
        let settled =
            current.is_some_and(|c| c.spec == desired.spec && c.owners.contains(&desired.owner));
        if !settled {
            targets.push(Target::NodeConfig(name.clone()));
        }
    }
    for name in &plan.prune {
        if let Some(current) = index.node_configs.get(name) {
            targets.push(Target::Prune {
                name: name.clone(),
                uid: current.uid.clone(),
            });
        }
    }
    for (name, planned) in &plan.cluster_configs {
        if let Some(current) = index.cluster_configs.get(name)
            && conditions_differ(planned, &current.conditions, &CLUSTER_CONFIG_TYPES)
        {
            targets.push(Target::ClusterConfigStatus(name.clone()));
        }
    }
    for (name, planned) in &plan.peer_configs {
        if let Some(current) = index.peer_configs.get(name)
            && conditions_differ(planned, &current.conditions, &PEER_CONFIG_TYPES)
        {
            targets.push(Target::PeerConfigStatus(name.clone()));
        }
    }
    targets
}

/// Whether the conditions of `managed` types on the object differ from the planned ones.
fn conditions_differ(
    planned: &PlannedConditions,
    observed: &[ObservedCondition],
    managed: &[&str],
) -> bool {
    let ours = observed
        .iter()
        .filter(|c| managed.contains(&c.type_.as_str()))
        .count();
    ours != planned.conditions.len()
        || planned.conditions.iter().any(|p| {
            !observed.iter().any(|o| {
                o.type_ == p.type_
                    && o.status == p.status
                    && o.reason == p.reason
                    && o.message == p.message
                    && o.observed_generation == planned.generation
            })
        })
}

/// The server-side apply body of a node config.
pub fn node_config_body(name: &str, desired: &DesiredNodeConfig) -> Value {
    json!({
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumBGPNodeConfig",
        "metadata": {
            "name": name,
            "ownerReferences": [{
                "apiVersion": "cilium.io/v2",
                "kind": CLUSTER_CONFIG_KIND,
                "name": desired.owner.name,
                "uid": desired.owner.uid,
                "controller": true,
            }],
        },
        "spec": desired.spec,
    })
}

/// The server-side apply body of a status with our conditions (sorted by type); `now` stamps
/// the conditions whose status changed.
pub fn status_body(
    kind: &str,
    name: &str,
    planned: &PlannedConditions,
    observed: &[ObservedCondition],
    now: &str,
) -> Value {
    let conditions: Vec<Value> = planned
        .conditions
        .iter()
        .map(|p| {
            let since = observed
                .iter()
                .find(|o| o.type_ == p.type_ && o.status == p.status)
                .map_or(now, |o| o.last_transition_time.as_str());
            let mut condition = json!({
                "type": p.type_,
                "status": if p.status { "True" } else { "False" },
                "reason": p.reason,
                "message": p.message,
                "lastTransitionTime": since,
            });
            if let Some(generation) = planned.generation {
                condition["observedGeneration"] = json!(generation);
            }
            condition
        })
        .collect();
    json!({
        "apiVersion": "cilium.io/v2",
        "kind": kind,
        "metadata": {"name": name},
        "status": {"conditions": conditions},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::PlannedCondition;

    fn planned(status: bool, message: &str) -> PlannedConditions {
        PlannedConditions {
            generation: Some(2),
            conditions: vec![PlannedCondition {
                type_: "cilium.io/MissingAuthSecret",
                status,
                reason: "MissingAuthSecret",
                message: message.to_owned(),
            }],
        }
    }

    fn observed(status: bool, message: &str, generation: i64) -> ObservedCondition {
        ObservedCondition {
            type_: "cilium.io/MissingAuthSecret".into(),
            status,
            reason: "MissingAuthSecret".into(),
            message: message.into(),
            observed_generation: Some(generation),
            last_transition_time: "2024-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn equal_conditions_need_no_write_and_foreign_ones_are_ignored() {
        let mut foreign = observed(true, "someone else's", 1);
        foreign.type_ = "example.com/Other".into();
        let stored = [observed(false, "", 2), foreign];
        assert!(!conditions_differ(
            &planned(false, ""),
            &stored,
            &PEER_CONFIG_TYPES
        ));
    }

    #[test]
    fn status_message_or_generation_changes_need_a_write() {
        let stored = [observed(false, "", 2)];
        assert!(conditions_differ(
            &planned(true, "x"),
            &stored,
            &PEER_CONFIG_TYPES
        ));
        assert!(conditions_differ(
            &planned(false, "y"),
            &stored,
            &PEER_CONFIG_TYPES
        ));
        assert!(conditions_differ(
            &planned(false, ""),
            &[observed(false, "", 1)],
            &PEER_CONFIG_TYPES
        ));
        assert!(conditions_differ(
            &planned(false, ""),
            &[],
            &PEER_CONFIG_TYPES
        ));
    }

    #[test]
    fn a_condition_no_longer_planned_needs_a_write_to_remove_it() {
        let mut extra = observed(true, "dup", 2);
        extra.type_ = "ferrule.io/DuplicateNames".into();
        let planned = PlannedConditions {
            generation: Some(2),
            conditions: Vec::new(),
        };
        assert!(conditions_differ(&planned, &[extra], &CLUSTER_CONFIG_TYPES));
    }

    #[test]
    fn the_transition_time_moves_only_when_the_status_flips() {
        let stored = [observed(false, "", 1)];
        let same = status_body(
            "CiliumBGPPeerConfig",
            "p",
            &planned(false, ""),
            &stored,
            "2025-05-05T00:00:00Z",
        );
        assert_eq!(
            same["status"]["conditions"][0]["lastTransitionTime"],
            "2024-01-01T00:00:00Z"
        );
        assert_eq!(same["status"]["conditions"][0]["observedGeneration"], 2);
        let flipped = status_body(
            "CiliumBGPPeerConfig",
            "p",
            &planned(true, "m"),
            &stored,
            "2025-05-05T00:00:00Z",
        );
        assert_eq!(
            flipped["status"]["conditions"][0]["lastTransitionTime"],
            "2025-05-05T00:00:00Z"
        );
        assert_eq!(flipped["status"]["conditions"][0]["status"], "True");
    }
}
