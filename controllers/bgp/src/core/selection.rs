//! Which cluster config each node gets.
//!
//! A node selected by several cluster configs is a conflict (Cilium rejects the additional
//! config). To never flap, the config that already owns the node's `CiliumBGPNodeConfig` keeps
//! it as long as it still selects the node; otherwise the oldest config (creationTimestamp)
//! wins, ties broken by name. Only the losers report `cilium.io/ConflictingClusterConfig`.

use super::model::{ClusterConfigInput, Input};
use std::collections::{BTreeMap, BTreeSet};

/// The outcome of matching every cluster config's node selector against every node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// The winning cluster config of each selected node.
    pub owner_of: BTreeMap<String, String>,
    /// The nodes each cluster config selects (won or not).
    pub selected: BTreeMap<String, BTreeSet<String>>,
    /// For each losing config: the winning configs and the nodes they took from it.
    pub lost: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    /// Configs whose selector is invalid (they select nothing), with the reason.
    pub invalid_selectors: BTreeMap<String, String>,
}

pub fn select(input: &Input) -> Selection {
    let mut selection = Selection::default();
    let mut candidates: BTreeMap<&str, Vec<&ClusterConfigInput>> = BTreeMap::new();
    for config in input.cluster_configs.values() {
        let nodes = selection.selected.entry(config.name.clone()).or_default();
        let selector = match config.node_selector.as_ref().map(|s| s.to_selector()) {
            None => None,
            Some(Ok(selector)) => Some(selector),
            Some(Err(error)) => {
                selection
                    .invalid_selectors
                    .insert(config.name.clone(), error.to_string());
                continue;
            }
        };
        for node in input.nodes.values() {
            if selector.as_ref().is_none_or(|s| s.matches(&node.labels)) {
                nodes.insert(node.name.clone());
                candidates.entry(&node.name).or_default().push(config);
            }
        }
    }
    for (node, mut configs) in candidates {
        let current = input
            .node_configs
            .get(node)
            .map(|existing| existing.owners.as_slice())
            .unwrap_or_default();
        let incumbent = configs.iter().position(|config| {
            current
                .iter()
                .any(|owner| owner.name == config.name && owner.uid == config.uid)
        });
        let winner = match incumbent {
            Some(position) => configs.swap_remove(position),
            None => {
                configs.sort_by(|a, b| seniority(a).cmp(&seniority(b)));
                configs.remove(0)
            }
        };
        for loser in configs {
            selection
                .lost
                .entry(loser.name.clone())
                .or_default()
                .entry(winner.name.clone())
                .or_default()
                .insert(node.to_owned());
        }
        selection
            .owner_of
            .insert(node.to_owned(), winner.name.clone());
    }
    selection
}

/// Older first; a config without a creation time (never from a real API server) last.
fn seniority(config: &ClusterConfigInput) -> (bool, Option<jiff::Timestamp>, &str) {
    let created = config
        .created
        .as_deref()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok());
    (created.is_none(), created, &config.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{cluster_config, input, node, node_config_owned_by};

    fn names(set: &BTreeSet<String>) -> Vec<&str> {
        set.iter().map(String::as_str).collect()
    }

    #[test]
    fn an_unset_selector_selects_every_node() {
        let input = input()
            .node(node("a").label("rack", "r0"))
            .node(node("b"))
            .cluster_config(cluster_config("all"));
        let selection = select(&input);
        assert_eq!(names(&selection.selected["all"]), ["a", "b"]);
        assert_eq!(selection.owner_of.len(), 2);
        assert!(selection.lost.is_empty());
    }

    #[test]
    fn match_labels_selects_only_matching_nodes() {
        let input = input()
            .node(node("a").label("rack", "r0"))
            .node(node("b").label("rack", "r1"))
            .cluster_config(cluster_config("r0").select("rack", "r0"));
        let selection = select(&input);
        assert_eq!(names(&selection.selected["r0"]), ["a"]);
        assert_eq!(selection.owner_of.get("b"), None);
    }

    #[test]
    fn the_older_config_wins_a_contested_node() {
        let input = input()
            .node(node("a").label("rack", "r0"))
            .node(node("b"))
            .cluster_config(cluster_config("newer").created("2024-02-01T00:00:00Z"))
            .cluster_config(
                cluster_config("older")
                    .created("2024-01-01T00:00:00Z")
                    .select("rack", "r0"),
            );
        let selection = select(&input);
        assert_eq!(selection.owner_of["a"], "older");
        assert_eq!(selection.owner_of["b"], "newer", "uncontested nodes stay");
        assert_eq!(names(&selection.lost["newer"]["older"]), ["a"]);
        assert!(!selection.lost.contains_key("older"));
    }

    #[test]
    fn equal_age_is_decided_by_name() {
        let input = input()
            .node(node("a"))
            .cluster_config(cluster_config("zeta").created("2024-01-01T00:00:00Z"))
            .cluster_config(cluster_config("alpha").created("2024-01-01T00:00:00Z"));
        assert_eq!(select(&input).owner_of["a"], "alpha");
    }

    #[test]
    fn the_current_owner_keeps_the_node_against_an_older_config() {
        let owner = cluster_config("newer").created("2024-02-01T00:00:00Z");
        let input = input()
            .node(node("a"))
            .node_config(node_config_owned_by("a", &owner))
            .cluster_config(owner)
            .cluster_config(cluster_config("older").created("2024-01-01T00:00:00Z"));
        let selection = select(&input);
        assert_eq!(selection.owner_of["a"], "newer", "no flapping");
        assert_eq!(names(&selection.lost["older"]["newer"]), ["a"]);
    }

    #[test]
    fn a_recreated_owner_with_a_new_uid_is_not_the_incumbent() {
        let stale = cluster_config("newer").uid("old-uid");
        let input = input()
            .node(node("a"))
            .node_config(node_config_owned_by("a", &stale))
            .cluster_config(cluster_config("newer").created("2024-02-01T00:00:00Z"))
            .cluster_config(cluster_config("older").created("2024-01-01T00:00:00Z"));
        assert_eq!(select(&input).owner_of["a"], "older");
    }

    #[test]
    fn an_invalid_selector_selects_nothing_and_says_why() {
        let input = input()
            .node(node("a"))
            .cluster_config(cluster_config("bad").select("bad key!", "x"));
        let selection = select(&input);
        assert!(selection.selected["bad"].is_empty());
        assert!(selection.invalid_selectors["bad"].contains("bad key!"));
        assert!(selection.owner_of.is_empty());
    }
}
