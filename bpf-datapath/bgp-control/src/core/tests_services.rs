//! Service advertisements, one test per rule of "BGP Control Plane Resources".

use super::desired_bgp;
use super::fixtures::*;
use crate::family::Family::{Ipv4Unicast, Ipv6Unicast};
use crate::inputs::Inputs;
use serde_json::{Value, json};

/// The standard node with one advertisement (selected by the peer config) and `services`.
fn with_services(service_advertisement: Value, selector: Value, services: Vec<Value>) -> Inputs {
    let mut inputs = inputs();
    inputs.advertisements = vec![object(advertisement(
        "services",
        json!({"advertise": "bgp"}),
        json!([{"advertisementType": "Service", "service": service_advertisement, "selector": selector}]),
    ))];
    inputs.services = services.into_iter().map(service_view).collect();
    inputs
}

fn all_services() -> Value {
    json!({"matchExpressions": [{"key": "somekey", "operator": "NotIn", "values": ["never-used-value"]}]})
}

fn lb_ips() -> Value {
    json!({"addresses": ["LoadBalancerIP"]})
}

#[test]
fn not_in_with_a_dummy_key_announces_every_service() {
    let inputs = with_services(
        lb_ips(),
        all_services(),
        vec![
            lb_service("a", "198.51.100.1", json!({})),
            lb_service("b", "198.51.100.2", json!({})),
        ],
    );
    let desired = desired_bgp(&inputs);
    assert_eq!(
        prefixes(&desired, Ipv4Unicast),
        ["198.51.100.1/32", "198.51.100.2/32"]
    );
    assert!(desired.problems.is_empty(), "{:?}", desired.problems);
}

#[test]
fn an_unset_selector_announces_no_service() {
    let inputs = with_services(
        lb_ips(),
        Value::Null,
        vec![lb_service("a", "198.51.100.1", json!({}))],
    );
    assert!(prefixes(&desired_bgp(&inputs), Ipv4Unicast).is_empty());
}

#[test]
fn labels_and_the_special_namespace_and_name_keys_select_services() {
    let mut labelled = lb_service("labelled", "198.51.100.1", json!({}));
    labelled["metadata"]["labels"] = json!({"color": "blue"});
    let mut other_namespace = lb_service("web", "198.51.100.3", json!({}));
    other_namespace["metadata"]["namespace"] = json!("prod");
    let services = vec![
        labelled,
        lb_service("web", "198.51.100.2", json!({})),
        other_namespace,
    ];
    let by_label = with_services(
        lb_ips(),
        json!({"matchLabels": {"color": "blue"}}),
        services.clone(),
    );
    assert_eq!(
        prefixes(&desired_bgp(&by_label), Ipv4Unicast),
        ["198.51.100.1/32"]
    );
    let by_name = with_services(
        lb_ips(),
        json!({"matchLabels": {"io.kubernetes.service.namespace": "prod", "io.kubernetes.service.name": "web"}}),
        services,
    );
    assert_eq!(
        prefixes(&desired_bgp(&by_name), Ipv4Unicast),
        ["198.51.100.3/32"]
    );
}

#[test]
fn only_the_bgp_load_balancer_class_or_none_is_announced() {
    let inputs = with_services(
        lb_ips(),
        all_services(),
        vec![
            lb_service("unset", "198.51.100.1", json!({})),
            lb_service(
                "bgp",
                "198.51.100.2",
                json!({"loadBalancerClass": "io.cilium/bgp-control-plane"}),
            ),
            lb_service(
                "l2",
                "198.51.100.3",
                json!({"loadBalancerClass": "io.cilium/l2-announcer"}),
            ),
            lb_service(
                "other",
                "198.51.100.4",
                json!({"loadBalancerClass": "example.com/lb"}),
            ),
        ],
    );
    assert_eq!(
        prefixes(&desired_bgp(&inputs), Ipv4Unicast),
        ["198.51.100.1/32", "198.51.100.2/32"]
    );
}

#[test]
fn load_balancer_ips_come_only_from_load_balancer_services() {
    // A ClusterIP Service carrying a stale ingress IP is not a load balancer.
    let inputs = with_services(
        lb_ips(),
        all_services(),
        vec![lb_service(
            "stale",
            "198.51.100.1",
            json!({"type": "ClusterIP"}),
        )],
    );
    assert!(prefixes(&desired_bgp(&inputs), Ipv4Unicast).is_empty());
}

#[test]
fn each_address_type_announces_its_own_addresses() {
    let service = lb_service(
        "web",
        "198.51.100.1",
        json!({"externalIPs": ["203.0.113.7"], "clusterIPs": ["10.96.0.10", "fd00::10"]}),
    );
    let only = |types: Value| {
        let inputs = with_services(
            json!({"addresses": types}),
            all_services(),
            vec![service.clone()],
        );
        let desired = desired_bgp(&inputs);
        (
            prefixes(&desired, Ipv4Unicast),
            prefixes(&desired, Ipv6Unicast),
        )
    };
    assert_eq!(only(json!(["LoadBalancerIP"])).0, ["198.51.100.1/32"]);
    assert_eq!(only(json!(["ExternalIP"])).0, ["203.0.113.7/32"]);
    assert_eq!(
        only(json!(["ClusterIP"])),
        (
            vec!["10.96.0.10/32".to_owned()],
            vec!["fd00::10/128".to_owned()]
        )
    );
    assert_eq!(
        only(json!(["LoadBalancerIP", "ExternalIP", "ClusterIP"]))
            .0
            .len(),
        3
    );
}

#[test]
fn headless_services_have_no_cluster_ip_to_announce() {
    let inputs = with_services(
        json!({"addresses": ["ClusterIP"]}),
        all_services(),
        vec![lb_service(
            "headless",
            "198.51.100.1",
            json!({"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"]}),
        )],
    );
    assert!(prefixes(&desired_bgp(&inputs), Ipv4Unicast).is_empty());
}

#[test]
fn external_traffic_policy_local_needs_a_ready_endpoint_on_this_node() {
    let service = lb_service(
        "local",
        "198.51.100.1",
        json!({"externalTrafficPolicy": "Local", "externalIPs": ["203.0.113.7"]}),
    );
    let addresses = json!({"addresses": ["LoadBalancerIP", "ExternalIP"]});
    let announced = |slices: Vec<Value>| {
        let mut inputs = with_services(addresses.clone(), all_services(), vec![service.clone()]);
        inputs.endpoint_slices = slices.into_iter().map(slice_view).collect();
        prefixes(&desired_bgp(&inputs), Ipv4Unicast)
    };
    assert!(announced(vec![]).is_empty(), "no endpoints at all");
    assert!(
        announced(vec![slice("local", "node-2", Some(true))]).is_empty(),
        "remote endpoint only"
    );
    assert!(
        announced(vec![slice("local", NODE, Some(false))]).is_empty(),
        "local endpoint not ready"
    );
    assert!(
        announced(vec![slice("other", NODE, Some(true))]).is_empty(),
        "another service's endpoint"
    );
    assert_eq!(
        announced(vec![slice("local", NODE, Some(true))]),
        ["198.51.100.1/32", "203.0.113.7/32"]
    );
    // An unknown readiness counts as ready, as Kubernetes asks consumers to treat it.
    assert_eq!(announced(vec![slice("local", NODE, None)]).len(), 2);
}

#[test]
fn external_traffic_policy_cluster_announces_without_local_endpoints() {
    let inputs = with_services(
        lb_ips(),
        all_services(),
        vec![lb_service(
            "cluster",
            "198.51.100.1",
            json!({"externalTrafficPolicy": "Cluster"}),
        )],
    );
    assert_eq!(
        prefixes(&desired_bgp(&inputs), Ipv4Unicast),
        ["198.51.100.1/32"]
    );
}

#[test]
fn cluster_ips_follow_internal_traffic_policy_and_ignore_the_external_one() {
    let announced = |spec: Value, slices: Vec<Value>| {
        let mut inputs = with_services(
            json!({"addresses": ["ClusterIP"]}),
            all_services(),
            vec![lb_service("web", "198.51.100.1", spec)],
        );
        inputs.endpoint_slices = slices.into_iter().map(slice_view).collect();
        prefixes(&desired_bgp(&inputs), Ipv4Unicast)
    };
    assert!(announced(json!({"internalTrafficPolicy": "Local"}), vec![]).is_empty());
    assert_eq!(
        announced(
            json!({"internalTrafficPolicy": "Local"}),
            vec![slice("web", NODE, Some(true))]
        ),
        ["10.96.0.10/32"]
    );
    assert_eq!(
        announced(
            json!({"externalTrafficPolicy": "Local", "internalTrafficPolicy": "Cluster"}),
            vec![]
        ),
        ["10.96.0.10/32"]
    );
}

#[test]
fn load_balancer_ips_ignore_internal_traffic_policy() {
    let inputs = with_services(
        lb_ips(),
        all_services(),
        vec![lb_service(
            "web",
            "198.51.100.1",
            json!({"internalTrafficPolicy": "Local"}),
        )],
    );
    assert_eq!(
        prefixes(&desired_bgp(&inputs), Ipv4Unicast),
        ["198.51.100.1/32"]
    );
}

#[test]
fn aggregation_lengths_announce_covering_prefixes() {
    let inputs = with_services(
        json!({"addresses": ["LoadBalancerIP"], "aggregationLengthIPv4": 24, "aggregationLengthIPv6": 64}),
        all_services(),
        vec![
            lb_service("a", "198.51.100.1", json!({})),
            lb_service("b", "198.51.100.200", json!({})),
            lb_service("c", "2001:db8::5", json!({})),
        ],
    );
    let desired = desired_bgp(&inputs);
    assert_eq!(prefixes(&desired, Ipv4Unicast), ["198.51.100.0/24"]);
    assert_eq!(prefixes(&desired, Ipv6Unicast), ["2001:db8::/64"]);
}

#[test]
fn aggregation_is_ignored_for_external_traffic_policy_local() {
    let mut inputs = with_services(
        json!({"addresses": ["LoadBalancerIP"], "aggregationLengthIPv4": 24}),
        all_services(),
        vec![
            lb_service(
                "local",
                "198.51.100.1",
                json!({"externalTrafficPolicy": "Local"}),
            ),
            lb_service("cluster", "203.0.113.9", json!({})),
        ],
    );
    inputs.endpoint_slices = vec![slice_view(slice("local", NODE, Some(true)))];
    assert_eq!(
        prefixes(&desired_bgp(&inputs), Ipv4Unicast),
        ["198.51.100.1/32", "203.0.113.0/24"]
    );
}

#[test]
fn ipv6_addresses_go_to_the_ipv6_family_only() {
    let inputs = with_services(
        lb_ips(),
        all_services(),
        vec![lb_service("v6", "2001:db8::1", json!({}))],
    );
    let desired = desired_bgp(&inputs);
    assert!(prefixes(&desired, Ipv4Unicast).is_empty());
    assert_eq!(prefixes(&desired, Ipv6Unicast), ["2001:db8::1/128"]);
}
