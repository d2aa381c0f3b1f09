//! Whole-plan tests: what a user sees in the node configs and conditions.

use super::conditions::{CONFLICTING_CLUSTER_CONFIG, MISSING_PEER_CONFIGS, NO_MATCHING_NODE};
use super::model::{Config, Input, Ipv4Pool, NodeConfigInput, Plan, RouterIdMode};
use super::plan;
use super::testing::{cluster_config, input, node, node_config_owned_by, node_override, peer};

fn default_mode() -> Config {
    Config {
        router_id: RouterIdMode::Default,
    }
}

fn pool_mode(pool: &str) -> Config {
    Config {
        router_id: RouterIdMode::IpPool(Ipv4Pool::parse(pool).expect("a valid pool")),
    }
}

fn condition(plan: &Plan, config: &str, type_: &str) -> bool {
    plan.cluster_configs[config]
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("{type_} on {config}"))
        .status
}

/// The input after the plan's node configs were written (and the pruned ones deleted).
fn after_writes(mut input: Input, plan: &Plan) -> Input {
    for name in &plan.prune {
        input.node_configs.remove(name);
    }
    for (name, desired) in &plan.node_configs {
        input.node_configs.insert(
            name.clone(),
            NodeConfigInput {
                name: name.clone(),
                uid: format!("uid-nc-{name}"),
                owners: vec![desired.owner.clone()],
                spec: desired.spec.clone(),
            },
        );
    }
    input
}

fn rack_cluster() -> Input {
    input()
        .node(node("a").label("bgp", "yes").ipv4("192.0.2.1"))
        .node(node("b").label("bgp", "yes").ipv4("192.0.2.2"))
        .node(node("c").ipv4("192.0.2.3"))
        .peer_config("generic", None)
        .cluster_config(
            cluster_config("tor")
                .created("2024-01-01T00:00:00Z")
                .select("bgp", "yes")
                .instance(
                    "i",
                    65000,
                    vec![
                        peer("tor")
                            .address("198.51.100.1")
                            .asn(65001)
                            .config("generic"),
                    ],
                ),
        )
}

#[test]
fn every_selected_node_gets_one_node_config_owned_by_the_cluster_config() {
    let plan = plan(&default_mode(), &rack_cluster());
    let nodes: Vec<&str> = plan.node_configs.keys().map(String::as_str).collect();
    assert_eq!(nodes, ["a", "b"]);
    let a = &plan.node_configs["a"];
    assert_eq!(a.owner.name, "tor");
    assert_eq!(a.owner.uid, "uid-tor");
    assert_eq!(
        a.spec.bgp_instances[0].router_id.as_deref(),
        Some("192.0.2.1")
    );
    assert_eq!(
        plan.node_configs["b"].spec.bgp_instances[0]
            .router_id
            .as_deref(),
        Some("192.0.2.2")
    );
    assert!(plan.prune.is_empty());
    assert!(!condition(&plan, "tor", NO_MATCHING_NODE));
    assert!(plan.events.is_empty(), "{:?}", plan.events);
}

#[test]
fn an_override_changes_only_its_node() {
    let input = rack_cluster().node_override(
        node_override("b")
            .router_id("i", "203.0.113.2")
            .local_asn("i", 65002)
            .local_address("i", "tor", "192.0.2.102"),
    );
    let plan = plan(&default_mode(), &input);
    let b = &plan.node_configs["b"].spec.bgp_instances[0];
    assert_eq!(b.router_id.as_deref(), Some("203.0.113.2"));
    assert_eq!(b.local_asn, Some(65002));
    assert_eq!(b.peers[0].local_address.as_deref(), Some("192.0.2.102"));
    let a = &plan.node_configs["a"].spec.bgp_instances[0];
    assert_eq!(a.local_asn, Some(65000));
    assert_eq!(a.peers[0].local_address, None);
}

#[test]
fn a_node_that_stops_matching_loses_its_node_config() {
    let first = plan(&default_mode(), &rack_cluster());
    let mut input = after_writes(rack_cluster(), &first);
    input.nodes.get_mut("b").expect("b").labels.clear();
    let second = plan(&default_mode(), &input);
    assert!(!second.node_configs.contains_key("b"));
    assert_eq!(second.prune.iter().collect::<Vec<_>>(), ["b"]);
}

#[test]
fn deleting_the_cluster_config_prunes_its_node_configs() {
    let first = plan(&default_mode(), &rack_cluster());
    let mut input = after_writes(rack_cluster(), &first);
    input.cluster_configs.clear();
    let second = plan(&default_mode(), &input);
    assert!(second.node_configs.is_empty());
    assert_eq!(second.prune.len(), 2);
}

#[test]
fn node_configs_nobody_derived_are_left_alone() {
    let mut input = rack_cluster();
    input.node_configs.insert(
        "c".into(),
        NodeConfigInput {
            name: "c".into(),
            uid: "hand-made".into(),
            ..NodeConfigInput::default()
        },
    );
    assert!(plan(&default_mode(), &input).prune.is_empty());
}

#[test]
fn a_contested_node_stays_with_its_current_owner_and_the_other_config_reports_it() {
    let newer = cluster_config("newer")
        .created("2024-06-01T00:00:00Z")
        .instance("j", 65100, vec![]);
    let input = rack_cluster()
        .node_config(node_config_owned_by("a", &newer))
        .cluster_config(newer);
    let plan = plan(&default_mode(), &input);
    assert_eq!(plan.node_configs["a"].owner.name, "newer");
    assert_eq!(plan.node_configs["a"].spec.bgp_instances[0].name, "j");
    assert_eq!(
        plan.node_configs["b"].owner.name, "tor",
        "the older config wins a fresh node"
    );
    assert_eq!(plan.node_configs["c"].owner.name, "newer");
    assert!(condition(&plan, "tor", CONFLICTING_CLUSTER_CONFIG));
    // Each config reports the nodes it lost, naming the config that has them.
    assert!(condition(&plan, "newer", CONFLICTING_CLUSTER_CONFIG));
    let notes: Vec<(&str, &str)> = plan
        .events
        .iter()
        .filter(|e| e.reason == "ConflictingClusterConfigs")
        .map(|e| (e.cluster_config.as_str(), e.note.as_str()))
        .collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes[0].0 == "newer"
            && notes[0]
                .1
                .contains("node(s) b are configured by CiliumBGPClusterConfig tor"),
        "{notes:?}"
    );
    assert!(
        notes[1].0 == "tor"
            && notes[1]
                .1
                .contains("node(s) a are configured by CiliumBGPClusterConfig newer"),
        "{notes:?}"
    );
}

#[test]
fn a_conflict_clears_once_the_selectors_no_longer_overlap() {
    let input = rack_cluster().cluster_config(
        cluster_config("zz-newer")
            .created("2030-01-01T00:00:00Z")
            .instance("j", 1, vec![]),
    );
    let first = plan(&default_mode(), &input);
    assert!(condition(&first, "zz-newer", CONFLICTING_CLUSTER_CONFIG));
    let mut input = after_writes(input, &first);
    let fixed = cluster_config("zz-newer")
        .created("2030-01-01T00:00:00Z")
        .select("bgp", "no")
        .instance("j", 1, vec![]);
    input = input.cluster_config(fixed);
    let second = plan(&default_mode(), &input);
    assert!(!condition(&second, "zz-newer", CONFLICTING_CLUSTER_CONFIG));
    assert!(condition(&second, "zz-newer", NO_MATCHING_NODE));
}

#[test]
fn a_missing_peer_config_is_reported_but_the_nodes_are_still_configured() {
    let input = rack_cluster().cluster_config(cluster_config("tor").select("bgp", "yes").instance(
        "i",
        65000,
        vec![peer("tor").config("typo")],
    ));
    let plan = plan(&default_mode(), &input);
    assert!(condition(&plan, "tor", MISSING_PEER_CONFIGS));
    assert_eq!(plan.node_configs.len(), 2);
}

#[test]
fn pool_mode_ids_survive_a_restart_and_a_new_node_gets_a_fresh_one() {
    let config = pool_mode("10.0.0.0/24");
    let first = plan(&config, &rack_cluster());
    let id = |plan: &Plan, node: &str| {
        plan.node_configs[node].spec.bgp_instances[0]
            .router_id
            .clone()
    };
    assert_eq!(id(&first, "a").as_deref(), Some("10.0.0.1"));
    assert_eq!(id(&first, "b").as_deref(), Some("10.0.0.2"));
    // A restart, with an earlier-sorting node added meanwhile: nobody moves.
    let input = after_writes(rack_cluster(), &first).node(node("0-new").label("bgp", "yes"));
    let second = plan(&config, &input);
    assert_eq!(id(&second, "a"), id(&first, "a"));
    assert_eq!(id(&second, "b"), id(&first, "b"));
    assert_eq!(id(&second, "0-new").as_deref(), Some("10.0.0.3"));
    let third = plan(&config, &after_writes(input, &second));
    assert_eq!(
        third.node_configs, second.node_configs,
        "a settled plan is a fixed point"
    );
}

#[test]
fn pool_exhaustion_keeps_the_existing_node_config_and_warns() {
    let config = pool_mode("10.0.0.0/31");
    let three = rack_cluster().node(node("c").label("bgp", "yes"));
    let mut input = three.clone();
    input.nodes.remove("c");
    let first = plan(&config, &input);
    let mut input = after_writes(three, &first);
    input.node_configs.insert(
        "c".into(),
        NodeConfigInput {
            name: "c".into(),
            uid: "uid-nc-c".into(),
            owners: vec![first.node_configs["a"].owner.clone()],
            ..NodeConfigInput::default()
        },
    );
    let second = plan(&config, &input);
    assert_eq!(second.node_configs.len(), 2, "a and b keep theirs");
    assert!(!second.node_configs.contains_key("c"));
    assert!(second.prune.is_empty(), "c's old config is not torn down");
    assert!(
        second
            .events
            .iter()
            .any(|e| e.reason == "RouterIDPoolExhausted" && e.note.contains("node c"))
    );
}

#[test]
fn peer_configs_report_missing_auth_secrets() {
    let mut input = rack_cluster().peer_config("with-auth", Some("bgp-auth"));
    let missing = plan(&default_mode(), &input);
    assert!(missing.peer_configs["with-auth"].conditions[0].status);
    assert!(!missing.peer_configs["generic"].conditions[0].status);
    input.secrets.insert("bgp-auth".into());
    assert!(!plan(&default_mode(), &input).peer_configs["with-auth"].conditions[0].status);
}
