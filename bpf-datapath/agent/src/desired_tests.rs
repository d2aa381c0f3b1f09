use std::collections::BTreeSet;

use ferrule_bpf_loader::model::{BackendAddr, Protocol, ServiceEntry};

use super::*;
use crate::testing::ip;

const NODE: &str = "node-a";

fn compute_fresh(services: &[ObservedService], slices: &[ObservedEndpointSlice]) -> Desired {
    compute_with(services, slices, &MapContents::default())
}

fn compute_with(
    services: &[ObservedService],
    slices: &[ObservedEndpointSlice],
    current: &MapContents,
) -> Desired {
    compute_limited(services, slices, current, Limits::DATAPATH)
}

fn compute_limited(
    services: &[ObservedService],
    slices: &[ObservedEndpointSlice],
    current: &MapContents,
    limits: Limits,
) -> Desired {
    let responders = BTreeSet::new();
    let inputs = Inputs {
        node_name: NODE,
        services,
        slices,
        responders: &responders,
        maglev_size: MaglevTableSize::DEFAULT,
        limits,
    };
    compute(&inputs, current)
}

fn frontend(addr: &str, port: u16, protocol: Protocol) -> Frontend {
    Frontend {
        addr: ip(addr),
        port,
        protocol,
    }
}

fn backend_addrs(desired: &Desired, f: &Frontend) -> BTreeSet<(String, bool)> {
    let entry = desired
        .contents
        .frontends
        .get(f)
        .expect("frontend is programmed");
    desired
        .contents
        .maglev
        .get(&entry.id)
        .map(|t| t.0.iter().collect::<BTreeSet<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|id| {
            let b = desired
                .contents
                .backends
                .get(id)
                .expect("table names known backends");
            (b.addr.to_string(), b.remote)
        })
        .collect()
}

fn web() -> ObservedService {
    ObservedService::test("default", "web")
        .vip("192.0.2.10")
        .port("http", 80, Protocol::Tcp)
        .port("dns", 53, Protocol::Udp)
}

fn web_slice() -> ObservedEndpointSlice {
    ObservedEndpointSlice::test("default", "web")
        .port("http", 8080, Protocol::Tcp)
        .port("dns", 5353, Protocol::Udp)
        .ready("10.0.0.1", NODE)
        .ready("10.0.1.1", "node-b")
        .endpoint("10.0.2.1", NODE, false)
}

#[test]
fn one_frontend_per_vip_and_port_with_ready_backends_on_matching_ports() {
    let desired = compute_fresh(&[web()], &[web_slice()]);
    assert!(desired.conflicts.is_empty());
    let http = frontend("192.0.2.10", 80, Protocol::Tcp);
    let dns = frontend("192.0.2.10", 53, Protocol::Udp);
    assert_eq!(
        desired
            .contents
            .frontends
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        vec![dns, http]
    );
    assert_eq!(
        backend_addrs(&desired, &http),
        BTreeSet::from([
            ("10.0.0.1:8080".to_string(), false),
            ("10.0.1.1:8080".to_string(), true),
        ]),
        "the not-ready endpoint is left out; the other node's backend is SNATed"
    );
    assert_eq!(
        backend_addrs(&desired, &dns),
        BTreeSet::from([
            ("10.0.0.1:5353".to_string(), false),
            ("10.0.1.1:5353".to_string(), true),
        ])
    );
    let entry = desired.contents.frontends.get(&http).expect("programmed");
    assert_eq!(entry.backend_count, 2);
    assert_eq!(entry.policy, TrafficPolicy::Cluster);
    assert_eq!(
        desired.contents.maglev.get(&entry.id).map(|t| t.0.len()),
        Some(1021)
    );
}

#[test]
fn local_policy_keeps_only_this_nodes_backends() {
    let desired = compute_fresh(&[web().local()], &[web_slice()]);
    let http = frontend("192.0.2.10", 80, Protocol::Tcp);
    assert_eq!(
        backend_addrs(&desired, &http),
        BTreeSet::from([("10.0.0.1:8080".to_string(), false)])
    );
    assert_eq!(
        desired.contents.frontends.get(&http).map(|e| e.policy),
        Some(TrafficPolicy::Local)
    );
}

#[test]
fn local_policy_without_local_backends_programs_a_counted_drop() {
    let slice = ObservedEndpointSlice::test("default", "web")
        .port("http", 8080, Protocol::Tcp)
        .ready("10.0.1.1", "node-b");
    let desired = compute_fresh(&[web().local()], &[slice]);
    let http = frontend("192.0.2.10", 80, Protocol::Tcp);
    let entry: ServiceEntry = *desired
        .contents
        .frontends
        .get(&http)
        .expect("still programmed");
    assert_eq!(entry.backend_count, 0, "the datapath drops and counts");
    assert!(desired.contents.maglev.is_empty());
    assert!(desired.contents.backends.is_empty());
}

#[test]
fn each_vip_family_gets_only_backends_of_its_family() {
    let svc = ObservedService::test("default", "dual")
        .vip("192.0.2.20")
        .vip("2001:db8::20")
        .port("", 443, Protocol::Tcp);
    let slices = [
        ObservedEndpointSlice::test("default", "dual")
            .port("", 8443, Protocol::Tcp)
            .ready("10.0.0.5", NODE),
        ObservedEndpointSlice::test("default", "dual")
            .port("", 8443, Protocol::Tcp)
            .ready("2001:db8:1::5", NODE),
    ];
    let desired = compute_fresh(&[svc], &slices);
    assert_eq!(
        backend_addrs(&desired, &frontend("192.0.2.20", 443, Protocol::Tcp)),
        BTreeSet::from([("10.0.0.5:8443".to_string(), false)])
    );
    assert_eq!(
        backend_addrs(&desired, &frontend("2001:db8::20", 443, Protocol::Tcp)),
        BTreeSet::from([("[2001:db8:1::5]:8443".to_string(), false)])
    );
}

#[test]
fn slices_of_other_services_and_unmatched_ports_are_ignored() {
    let other = ObservedEndpointSlice::test("other", "web")
        .port("http", 8080, Protocol::Tcp)
        .ready("10.9.9.9", NODE);
    let wrong_port = ObservedEndpointSlice::test("default", "web")
        .port("metrics", 9090, Protocol::Tcp)
        .ready("10.8.8.8", NODE);
    let desired = compute_fresh(&[web()], &[other, wrong_port]);
    assert!(desired.contents.backends.is_empty());
    assert!(
        desired
            .contents
            .frontends
            .values()
            .all(|e| e.backend_count == 0)
    );
}

#[test]
fn a_frontend_claimed_twice_goes_to_the_first_service_and_is_reported() {
    let a = ObservedService::test("a", "first")
        .vip("198.51.100.1")
        .port("", 80, Protocol::Tcp);
    let b = ObservedService::test("b", "second")
        .vip("198.51.100.1")
        .port("", 80, Protocol::Tcp);
    let desired = compute_fresh(&[b, a], &[]);
    assert_eq!(desired.contents.frontends.len(), 1);
    assert_eq!(desired.conflicts.len(), 1);
    assert_eq!(desired.conflicts[0].kept.to_string(), "a/first");
    assert_eq!(desired.conflicts[0].dropped.to_string(), "b/second");
}

#[test]
fn unchanged_services_keep_their_ids_when_others_come_and_go() {
    let before = compute_fresh(&[web()], &[web_slice()]);
    // A service sorting before `web`, with its own backend, appears: web's ids must not move.
    let early = ObservedService::test("aaa", "early")
        .vip("192.0.2.1")
        .port("", 80, Protocol::Tcp);
    let early_slice = ObservedEndpointSlice::test("aaa", "early")
        .port("", 80, Protocol::Tcp)
        .ready("10.0.0.0", NODE);
    let after = compute_with(
        &[early, web()],
        &[early_slice, web_slice()],
        &before.contents,
    );
    for (f, entry) in &before.contents.frontends {
        assert_eq!(
            after.contents.frontends.get(f).map(|e| e.id),
            Some(entry.id)
        );
        assert_eq!(
            after.contents.maglev.get(&entry.id),
            before.contents.maglev.get(&entry.id),
            "backend ids and so the table are unchanged"
        );
    }
    let new_backend = BackendAddr {
        addr: ip("10.0.0.0"),
        port: 80,
    };
    assert!(
        after
            .contents
            .backends
            .iter()
            .any(|(id, b)| b.addr == new_backend && !before.contents.backends.contains_key(id))
    );
}

#[test]
fn fresh_computation_is_deterministic() {
    let a = compute_fresh(&[web()], &[web_slice()]);
    let b = compute_fresh(&[web()], &[web_slice()]);
    assert_eq!(a, b);
}

#[test]
fn what_exceeds_the_datapath_id_spaces_is_reported_not_programmed() {
    // Limits are exclusive and id 0 is unused: ids 1 and 2 only. web's two frontends fit, the
    // later service's does not; two of web's four backends (2 addresses x 2 ports) fit.
    let limits = Limits {
        services: 3,
        backends: 3,
    };
    let extra = ObservedService::test("zzz", "late")
        .vip("192.0.2.99")
        .port("", 80, Protocol::Tcp);
    let slice = ObservedEndpointSlice::test("default", "web")
        .port("http", 8080, Protocol::Tcp)
        .port("dns", 5353, Protocol::Udp)
        .ready("10.0.0.1", NODE)
        .ready("10.0.0.2", NODE);
    let desired = compute_limited(&[web(), extra], &[slice], &MapContents::default(), limits);
    assert_eq!(desired.contents.frontends.len(), 2);
    assert_eq!(
        desired.frontends_over_limit,
        vec![frontend("192.0.2.99", 80, Protocol::Tcp)]
    );
    assert_eq!(desired.contents.backends.len(), 2);
    assert_eq!(desired.backends_over_limit.len(), 2);
    let programmed: BTreeSet<_> = desired.contents.backends.keys().collect();
    for table in desired.contents.maglev.values() {
        assert!(table.0.iter().all(|id| programmed.contains(id)));
    }
}
