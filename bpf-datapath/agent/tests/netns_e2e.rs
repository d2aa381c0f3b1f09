//! End to end on a real kernel: clients in one network namespace reach LoadBalancer IPs
//! through a node namespace where ferrule-agent's tc and XDP programs are attached, and land
//! on echo servers in a backend namespace (see `netns_e2e/topo.rs` for the layout).
//!
//! Each scenario below builds its own namespaces (named with a scenario tag and the process
//! id, so scenarios run in parallel threads), starts the echo server in the backend
//! namespace, then re-executes this binary in the node namespace to run the scenario's node
//! side there: an in-process ferrule-testapi with the Service and EndpointSlice, the agent
//! (in-process, or the real binary for restarts) on a private bpffs, and a client process in
//! the client namespace driven over a pipe. Namespaces, processes and pin directories are
//! removed at the end, also on failure. Needs root, `arping` and `ndisc6`.

#[path = "netns_e2e/mod.rs"]
mod e2e;

use e2e::roles::{run_node, spawn_echo};
use e2e::scenario_families::{BACKEND4, BACKEND6};
use e2e::scenario_rebalance::BACKENDS;
use e2e::topo::Topology;

/// Builds the namespaces, serves `backend_ips` and runs the node side of `scenario`.
/// Drop order tears down the echo server before its namespace.
fn scenario(tag: &str, scenario: &str, backend_ips: &[&str]) {
    let topo = Topology::build(tag, backend_ips);
    let _echo = spawn_echo(&topo, backend_ips);
    run_node(&topo, tag, scenario);
}

#[test]
fn tcp_and_udp_over_ipv4_through_a_load_balancer_ip() {
    scenario("4", "ipv4", &[BACKEND4]);
}

#[test]
fn tcp_and_udp_over_ipv6_through_a_load_balancer_ip() {
    scenario("6", "ipv6", &[BACKEND6]);
}

#[test]
fn traffic_policy_local_keeps_the_client_ip_and_drops_without_a_local_backend() {
    scenario("l", "etp_local", &[BACKEND4]);
}

/// The SNATed packet is forwarded by the program itself (FIB lookup + redirect): handed to
/// the stack, IPv4 input routing would drop it as a martian (its source is a node address).
#[test]
fn traffic_policy_cluster_snats_to_a_backend_on_another_node_over_ipv4() {
    scenario("r", "etp_cluster_remote4", &[BACKEND4]);
}

#[test]
fn traffic_policy_cluster_snats_to_a_backend_on_another_node_over_ipv6() {
    scenario("s", "etp_cluster_remote6", &[BACKEND6]);
}

#[test]
fn removing_a_backend_moves_only_its_flows() {
    scenario("m", "rebalance", &BACKENDS);
}

#[test]
fn agent_restarts_keep_open_connections_working() {
    scenario("a", "restart", &[BACKEND4]);
}

#[test]
fn l2_responder_answers_arp_and_ndp_only_for_its_entries_on_selected_devices() {
    scenario("2", "l2", &[BACKEND4]);
}

#[test]
fn a_device_created_after_start_answers_arp_and_ndp_once_rescanned() {
    scenario("d", "l2_rescan", &[BACKEND4]);
}

/// Not a test of its own: the entry point of the processes the scenarios start inside their
/// namespaces (see `netns_e2e/roles.rs`).
#[test]
#[ignore = "runs only as a child process of the scenarios, inside their namespaces"]
fn role() {
    e2e::roles::dispatch();
}
