//! Removing one backend moves only that backend's flows: connections established on the
//! others keep working on the same backend, and no new connection lands on the removed one.

use std::collections::{BTreeMap, BTreeSet};

use ferrule_bpf_loader::model::Protocol;

use super::client::{Session, parse_answer};
use super::node::{Cluster, NODE, Pins, eventually, service_of, start_agent, vip, wait_for_maps};
use super::roles::NodeEnv;
use super::scenario_families::VIP4;

pub const BACKENDS: [&str; 3] = ["198.51.100.10", "198.51.100.11", "198.51.100.12"];
const CONNECTIONS: usize = 30;

/// The backend an answer came from, checking the echoed text on the way.
fn backend_of(answer: &str, text: &str) -> String {
    let (_, backend, echoed) = parse_answer(answer);
    assert_eq!(echoed, text, "answer {answer:?}");
    backend
}

pub async fn node(env: NodeEnv) {
    let cluster = Cluster::start().await;
    cluster.create_service(VIP4, "Cluster").await;
    let all: Vec<(&str, &str)> = BACKENDS.iter().map(|b| (*b, NODE)).collect();
    cluster.set_endpoints(&all).await;
    let pins = Pins::new(&env.tag);
    let _agent = start_agent(&cluster, &pins).await;
    let addr = vip(VIP4);
    wait_for_maps(&pins, "three backends", |c| {
        service_of(c, addr, Protocol::Tcp).is_some_and(|s| s.backend_count == 3)
    })
    .await;

    let mut client = Session::start(&env.client_ns);
    eventually("the first connection", || client.tcp(addr, "warm-up")).await;
    let mut landed: BTreeMap<String, String> = BTreeMap::new();
    for i in 0..CONNECTIONS {
        let id = format!("c{i}");
        client
            .open(&id, addr)
            .unwrap_or_else(|e| panic!("open {id}: {e}"));
        let answer = client
            .send(&id, &id)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        landed.insert(id.clone(), backend_of(&answer, &id));
    }
    let used: BTreeSet<&String> = landed.values().collect();
    assert!(
        used.len() >= 2,
        "{CONNECTIONS} connections all landed on {used:?}: no balancing"
    );
    // A backend that holds connections, leaving others that hold some too.
    let removed = (*used.first().expect("at least two")).clone();
    let survivors: Vec<(&str, &str)> = BACKENDS
        .iter()
        .filter(|b| **b != removed)
        .map(|b| (*b, NODE))
        .collect();
    cluster.set_endpoints(&survivors).await;
    wait_for_maps(&pins, "two backends", |c| {
        service_of(c, addr, Protocol::Tcp).is_some_and(|s| s.backend_count == 2)
    })
    .await;

    for (id, backend) in landed.iter().filter(|(_, b)| **b != removed) {
        let text = format!("{id}-again");
        let answer = client
            .send(id, &text)
            .unwrap_or_else(|e| panic!("{id} (on surviving {backend}) broke: {e}"));
        assert_eq!(
            &backend_of(&answer, &text),
            backend,
            "{id} moved off its surviving backend"
        );
    }
    for i in 0..CONNECTIONS {
        let text = format!("new{i}");
        let answer = client
            .tcp(addr, &text)
            .unwrap_or_else(|e| panic!("new connection {i}: {e}"));
        let backend = backend_of(&answer, &text);
        assert_ne!(
            backend, removed,
            "a new connection reached the removed backend"
        );
    }
}
