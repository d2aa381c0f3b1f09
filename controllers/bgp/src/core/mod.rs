//! The pure core: from the observed cluster ([`model::Input`]) to the node configs and
//! conditions it should have ([`model::Plan`]). No I/O, no clock.

pub mod conditions;
pub mod derive;
pub mod model;
pub mod router_id;
pub mod selection;
#[cfg(test)]
pub mod testing;

use model::{Config, DesiredNodeConfig, Input, Owner, Plan, PlannedConditions, PlannedEvent};
use router_id::Request;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// Plans every node config, prune and condition.
pub fn plan(config: &Config, input: &Input) -> Plan {
    let selection = selection::select(input);
    let mut plan = Plan::default();

    let mut requests = Vec::new();
    for (node_name, config_name) in &selection.owner_of {
        let (Some(node), Some(cluster)) = (
            input.nodes.get(node_name),
            input.cluster_configs.get(config_name),
        ) else {
            continue;
        };
        let adjust = input.overrides.get(node_name);
        let existing = input.node_configs.get(node_name);
        let mut seen = BTreeSet::new();
        for instance in cluster.instances.iter().filter(|i| seen.insert(&i.name)) {
            requests.push(Request {
                node,
                instance: &instance.name,
                override_id: adjust
                    .and_then(|a| a.instances.iter().find(|i| i.name == instance.name))
                    .and_then(|i| i.router_id.as_deref()),
                existing: existing
                    .and_then(|e| {
                        e.spec
                            .bgp_instances
                            .iter()
                            .find(|i| i.name == instance.name)
                    })
                    .and_then(|i| i.router_id.as_deref())
                    .and_then(|id| id.parse::<Ipv4Addr>().ok()),
            });
        }
    }
    let router_ids = router_id::assign(&config.router_id, &requests);

    // Node configs that cannot be derived now (no router ID left) stay as they are.
    let mut kept = BTreeSet::new();
    for (node_name, config_name) in &selection.owner_of {
        let Some(cluster) = input.cluster_configs.get(config_name) else {
            continue;
        };
        match derive::node_config_spec(
            cluster,
            input.overrides.get(node_name),
            node_name,
            &router_ids,
        ) {
            Ok(spec) => {
                let owner = Owner {
                    name: cluster.name.clone(),
                    uid: cluster.uid.clone(),
                };
                plan.node_configs
                    .insert(node_name.clone(), DesiredNodeConfig { owner, spec });
            }
            Err(exhausted) => {
                kept.insert(node_name.clone());
                plan.events.push(PlannedEvent {
                    cluster_config: cluster.name.clone(),
                    reason: conditions::REASON_POOL_EXHAUSTED,
                    note: format!(
                        "No free router ID for instance {} on node {node_name}: the router ID pool is exhausted",
                        exhausted.instance
                    ),
                });
            }
        }
    }

    plan.prune = input
        .node_configs
        .values()
        .filter(|existing| !existing.owners.is_empty())
        .filter(|existing| {
            !plan.node_configs.contains_key(&existing.name) && !kept.contains(&existing.name)
        })
        .map(|existing| existing.name.clone())
        .collect();

    for cluster in input.cluster_configs.values() {
        let planned = conditions::cluster_config(cluster, &selection, &input.peer_configs);
        for condition in planned.iter().filter(|c| c.status) {
            plan.events.push(PlannedEvent {
                cluster_config: cluster.name.clone(),
                reason: condition.reason,
                note: condition.message.clone(),
            });
        }
        plan.cluster_configs.insert(
            cluster.name.clone(),
            PlannedConditions {
                generation: cluster.generation,
                conditions: planned,
            },
        );
    }
    for peer in input.peer_configs.values() {
        plan.peer_configs.insert(
            peer.name.clone(),
            PlannedConditions {
                generation: peer.generation,
                conditions: conditions::peer_config(peer, &input.secrets),
            },
        );
    }
    plan.events.sort();
    plan
}

#[cfg(test)]
mod plan_tests;
