//! The status conditions ferrule-bgp owns, with Cilium's types and reasons. Every Cilium
//! condition is always present: `True` while the problem lasts, `False` once it is fixed.
//! The one ferrule addition ([`DUPLICATE_NAMES`]) is only present while true.

use super::model::{ClusterConfigInput, PeerConfigInput, PlannedCondition};
use super::selection::Selection;
use std::collections::{BTreeMap, BTreeSet};

/// `.spec.nodeSelector` selects no node (or is invalid).
pub const NO_MATCHING_NODE: &str = "cilium.io/NoMatchingNode";
/// A `peerConfigRef` names a `CiliumBGPPeerConfig` that does not exist.
pub const MISSING_PEER_CONFIGS: &str = "cilium.io/MissingPeerConfigs";
/// Another cluster config selects some of the same nodes and keeps them.
pub const CONFLICTING_CLUSTER_CONFIG: &str = "cilium.io/ConflictingClusterConfig";
/// On a peer config: its `authSecretRef` names a Secret missing from the secrets namespace.
pub const MISSING_AUTH_SECRET: &str = "cilium.io/MissingAuthSecret";
/// Two instances, or two peers of one instance, share a name. The API server's list-map
/// validation normally refuses this; should such an object get through, the first of each
/// name is used and this condition says so. Not a Cilium condition, hence ferrule's domain.
pub const DUPLICATE_NAMES: &str = "ferrule.io/DuplicateNames";

pub const REASON_NO_MATCHING_NODE: &str = "NoMatchingNode";
pub const REASON_MISSING_PEER_CONFIGS: &str = "MissingPeerConfigs";
pub const REASON_CONFLICTING: &str = "ConflictingClusterConfigs";
pub const REASON_MISSING_AUTH_SECRET: &str = "MissingAuthSecret";
pub const REASON_DUPLICATE_NAMES: &str = "DuplicateNames";
/// Event reason when ip-pool mode runs out of router IDs.
pub const REASON_POOL_EXHAUSTED: &str = "RouterIDPoolExhausted";

/// The condition types ferrule-bgp writes on cluster configs.
pub const CLUSTER_CONFIG_TYPES: [&str; 4] = [
    NO_MATCHING_NODE,
    MISSING_PEER_CONFIGS,
    CONFLICTING_CLUSTER_CONFIG,
    DUPLICATE_NAMES,
];
/// The condition types ferrule-bgp writes on peer configs.
pub const PEER_CONFIG_TYPES: [&str; 1] = [MISSING_AUTH_SECRET];

/// A cluster config's conditions, sorted by type.
pub fn cluster_config(
    config: &ClusterConfigInput,
    selection: &Selection,
    peer_configs: &BTreeMap<String, impl Sized>,
) -> Vec<PlannedCondition> {
    let mut conditions = vec![
        no_matching_node(config, selection),
        missing_peer_configs(config, peer_configs),
        conflicting(config, selection),
    ];
    conditions.extend(duplicate_names(config));
    conditions.sort_by_key(|c| c.type_);
    conditions
}

fn no_matching_node(config: &ClusterConfigInput, selection: &Selection) -> PlannedCondition {
    let invalid = selection.invalid_selectors.get(&config.name);
    let none = selection
        .selected
        .get(&config.name)
        .is_none_or(BTreeSet::is_empty);
    let message = match invalid {
        Some(error) => format!("spec.nodeSelector is invalid and selects no node: {error}"),
        None if none => "No node matches spec.nodeSelector".to_owned(),
        None => String::new(),
    };
    PlannedCondition {
        type_: NO_MATCHING_NODE,
        status: none,
        reason: REASON_NO_MATCHING_NODE,
        message,
    }
}

fn missing_peer_configs(
    config: &ClusterConfigInput,
    peer_configs: &BTreeMap<String, impl Sized>,
) -> PlannedCondition {
    let missing: BTreeSet<&str> = config
        .instances
        .iter()
        .flat_map(|i| &i.peers)
        .filter_map(|p| p.peer_config_ref.as_ref())
        .map(|r| r.name.as_str())
        .filter(|name| !peer_configs.contains_key(*name))
        .collect();
    let message = if missing.is_empty() {
        String::new()
    } else {
        format!(
            "Referenced CiliumBGPPeerConfig(s) do not exist: {}",
            join(missing)
        )
    };
    PlannedCondition {
        type_: MISSING_PEER_CONFIGS,
        status: !message.is_empty(),
        reason: REASON_MISSING_PEER_CONFIGS,
        message,
    }
}

fn conflicting(config: &ClusterConfigInput, selection: &Selection) -> PlannedCondition {
    let message = selection.lost.get(&config.name).map_or_else(String::new, |winners| {
        let parts: Vec<String> = winners
            .iter()
            .map(|(winner, nodes)| {
                format!(
                    "node(s) {} are configured by CiliumBGPClusterConfig {winner}",
                    join(nodes.iter().map(String::as_str))
                )
            })
            .collect();
        format!(
            "Another CiliumBGPClusterConfig selects the same node(s), which get no configuration from this one: {}",
            parts.join("; ")
        )
    });
    PlannedCondition {
        type_: CONFLICTING_CLUSTER_CONFIG,
        status: !message.is_empty(),
        reason: REASON_CONFLICTING,
        message,
    }
}

fn duplicate_names(config: &ClusterConfigInput) -> Option<PlannedCondition> {
    let mut problems = Vec::new();
    let mut instances = BTreeSet::new();
    for instance in &config.instances {
        if !instances.insert(instance.name.as_str()) {
            problems.push(format!("instance {} is defined twice", instance.name));
            continue;
        }
        let mut peers = BTreeSet::new();
        for peer in &instance.peers {
            if !peers.insert(peer.name.as_str()) {
                problems.push(format!(
                    "peer {} of instance {} is defined twice",
                    peer.name, instance.name
                ));
            }
        }
    }
    (!problems.is_empty()).then(|| PlannedCondition {
        type_: DUPLICATE_NAMES,
        status: true,
        reason: REASON_DUPLICATE_NAMES,
        message: format!("{}; the first definition is used", problems.join(", ")),
    })
}

/// A peer config's conditions.
pub fn peer_config(peer: &PeerConfigInput, secrets: &BTreeSet<String>) -> Vec<PlannedCondition> {
    let missing = peer
        .auth_secret_ref
        .as_deref()
        .filter(|name| !secrets.contains(*name));
    vec![PlannedCondition {
        type_: MISSING_AUTH_SECRET,
        status: missing.is_some(),
        reason: REASON_MISSING_AUTH_SECRET,
        message: missing.map_or_else(String::new, |name| {
            format!("Referenced auth Secret {name:?} does not exist in the BGP secrets namespace; sessions use an empty password")
        }),
    }]
}

fn join<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names.into_iter().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::selection::select;
    use crate::core::testing::{cluster_config as config, input, node, peer};

    fn find<'a>(conditions: &'a [PlannedCondition], type_: &str) -> Option<&'a PlannedCondition> {
        conditions.iter().find(|c| c.type_ == type_)
    }

    #[test]
    fn a_healthy_config_reports_every_cilium_condition_false() {
        let input = input()
            .node(node("a"))
            .peer_config("generic", None)
            .cluster_config(config("c").instance("i", 65000, vec![peer("p").config("generic")]));
        let conditions = cluster_config(
            &input.cluster_configs["c"],
            &select(&input),
            &input.peer_configs,
        );
        let types: Vec<&str> = conditions.iter().map(|c| c.type_).collect();
        assert_eq!(
            types,
            [
                CONFLICTING_CLUSTER_CONFIG,
                MISSING_PEER_CONFIGS,
                NO_MATCHING_NODE
            ]
        );
        assert!(conditions.iter().all(|c| !c.status), "{conditions:?}");
        assert_eq!(
            find(&conditions, CONFLICTING_CLUSTER_CONFIG).map(|c| c.reason),
            Some("ConflictingClusterConfigs")
        );
    }

    #[test]
    fn no_matching_node_is_true_when_nothing_is_selected() {
        let input = input()
            .node(node("a"))
            .cluster_config(config("c").select("rack", "r9"));
        let conditions = cluster_config(
            &input.cluster_configs["c"],
            &select(&input),
            &input.peer_configs,
        );
        let condition = find(&conditions, NO_MATCHING_NODE).expect("present");
        assert!(condition.status);
        assert_eq!(condition.reason, "NoMatchingNode");
    }

    #[test]
    fn missing_peer_configs_lists_each_missing_name_once() {
        let input = input()
            .node(node("a"))
            .peer_config("present", None)
            .cluster_config(
                config("c")
                    .instance(
                        "i",
                        65000,
                        vec![peer("p1").config("gone"), peer("p2").config("present")],
                    )
                    .instance(
                        "j",
                        65001,
                        vec![peer("p1").config("gone"), peer("p3").config("also-gone")],
                    ),
            );
        let conditions = cluster_config(
            &input.cluster_configs["c"],
            &select(&input),
            &input.peer_configs,
        );
        let condition = find(&conditions, MISSING_PEER_CONFIGS).expect("present");
        assert!(condition.status);
        assert!(
            condition.message.ends_with(": also-gone, gone"),
            "{}",
            condition.message
        );
    }

    #[test]
    fn only_the_losing_config_reports_the_conflict_and_names_the_winner() {
        let input = input()
            .node(node("a"))
            .cluster_config(config("old").created("2024-01-01T00:00:00Z"))
            .cluster_config(config("new").created("2024-06-01T00:00:00Z"));
        let selection = select(&input);
        let lost = cluster_config(
            &input.cluster_configs["new"],
            &selection,
            &input.peer_configs,
        );
        let won = cluster_config(
            &input.cluster_configs["old"],
            &selection,
            &input.peer_configs,
        );
        let condition = find(&lost, CONFLICTING_CLUSTER_CONFIG).expect("present");
        assert!(condition.status);
        assert!(
            condition
                .message
                .contains("node(s) a are configured by CiliumBGPClusterConfig old"),
            "{}",
            condition.message
        );
        assert!(
            !find(&won, CONFLICTING_CLUSTER_CONFIG)
                .expect("present")
                .status
        );
        assert!(
            !find(&lost, NO_MATCHING_NODE).expect("present").status,
            "it does select a node"
        );
    }

    #[test]
    fn duplicate_names_appear_only_while_true() {
        let clean = config("c").instance("i", 65000, vec![peer("p")]).build();
        assert!(duplicate_names(&clean).is_none());
        let dirty = config("c")
            .instance("i", 65000, vec![peer("p"), peer("p")])
            .instance("i", 65001, vec![])
            .build();
        let condition = duplicate_names(&dirty).expect("reported");
        assert_eq!(
            condition.message,
            "peer p of instance i is defined twice, instance i is defined twice; the first definition is used"
        );
    }

    #[test]
    fn missing_auth_secret_follows_the_secret() {
        let mut secrets = BTreeSet::new();
        let peer = PeerConfigInput {
            name: "pc".into(),
            generation: Some(1),
            auth_secret_ref: Some("bgp-auth".into()),
        };
        let missing = peer_config(&peer, &secrets);
        assert!(missing[0].status);
        assert_eq!(missing[0].type_, "cilium.io/MissingAuthSecret");
        assert!(missing[0].message.contains("\"bgp-auth\""));
        secrets.insert("bgp-auth".to_owned());
        assert!(!peer_config(&peer, &secrets)[0].status);
        let without = PeerConfigInput {
            auth_secret_ref: None,
            ..peer
        };
        assert!(
            !peer_config(&without, &BTreeSet::new())[0].status,
            "no ref, nothing missing"
        );
    }
}
