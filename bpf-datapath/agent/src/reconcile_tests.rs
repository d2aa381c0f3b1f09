use std::collections::BTreeSet;

use ferrule_bpf_loader::InMemoryMaps;
use ferrule_bpf_loader::model::{Protocol, ResponderKey};
use proptest::prelude::*;

use super::*;
use crate::desired::{Inputs, Limits, compute};
use crate::maglev::MaglevTableSize;
use crate::observed::{ObservedEndpointSlice, ObservedService};
use crate::testing::ip;

const NODE: &str = "node-a";

fn desired_for(
    services: &[ObservedService],
    slices: &[ObservedEndpointSlice],
    current: &MapContents,
) -> MapContents {
    let responders = BTreeSet::new();
    let inputs = Inputs {
        node_name: NODE,
        services,
        slices,
        responders: &responders,
        maglev_size: MaglevTableSize::DEFAULT,
        limits: Limits::DATAPATH,
    };
    compute(&inputs, current).contents
}

/// One agent pass: read (adopt), compute, reconcile.
fn sync(
    maps: &mut InMemoryMaps,
    services: &[ObservedService],
    slices: &[ObservedEndpointSlice],
) -> Applied {
    let current = maps.read().expect("in-memory read");
    let desired = desired_for(services, slices, &current);
    let applied = reconcile_from(&current, &desired, maps).expect("reconcile applies");
    assert_eq!(
        maps.read().expect("read"),
        desired,
        "maps hold the desired contents"
    );
    applied
}

fn web() -> ObservedService {
    ObservedService::test("default", "web")
        .vip("192.0.2.10")
        .port("http", 80, Protocol::Tcp)
}

fn web_slice(backends: &[&str]) -> ObservedEndpointSlice {
    backends.iter().fold(
        ObservedEndpointSlice::test("default", "web").port("http", 8080, Protocol::Tcp),
        |s, b| s.ready(b, NODE),
    )
}

#[test]
fn a_second_reconcile_with_the_same_desired_state_makes_zero_map_operations() {
    let mut maps = InMemoryMaps::default();
    let first = sync(&mut maps, &[web()], &[web_slice(&["10.0.0.1", "10.0.0.2"])]);
    assert_eq!(first.updates(), 4, "two backends, one table, one frontend");
    assert_eq!(first.deletes(), 0);
    maps.clear_ops();
    let second = sync(&mut maps, &[web()], &[web_slice(&["10.0.0.1", "10.0.0.2"])]);
    assert!(second.ops.is_empty(), "settled state: {:?}", second.ops);
    assert!(maps.ops().is_empty());
}

#[test]
fn a_restarted_agent_adopts_pinned_maps_without_writing() {
    let mut previous = InMemoryMaps::default();
    sync(
        &mut previous,
        &[web()],
        &[web_slice(&["10.0.0.1", "10.0.0.2"])],
    );
    // A new agent process finds the pinned maps as the old one left them.
    let pinned = previous.read().expect("read");
    let mut maps = InMemoryMaps::with_contents(pinned.clone());
    let applied = reconcile(
        &desired_for(&[web()], &[web_slice(&["10.0.0.1", "10.0.0.2"])], &pinned),
        &mut maps,
    )
    .expect("reconcile");
    assert!(applied.ops.is_empty(), "adoption rewrote {:?}", applied.ops);
}

#[test]
fn removing_a_backend_rewrites_only_what_refers_to_it() {
    let mut maps = InMemoryMaps::default();
    sync(
        &mut maps,
        &[web()],
        &[web_slice(&["10.0.0.1", "10.0.0.2", "10.0.0.3"])],
    );
    let before = maps.read().expect("read");
    maps.clear_ops();
    sync(&mut maps, &[web()], &[web_slice(&["10.0.0.1", "10.0.0.3"])]);

    let gone = before
        .backends
        .iter()
        .find(|(_, b)| b.addr.addr == ip("10.0.0.2"))
        .map(|(id, _)| *id)
        .expect("backend was programmed");
    let ops = maps.ops();
    assert_eq!(
        ops.len(),
        3,
        "table, frontend count, backend delete: {ops:?}"
    );
    assert!(matches!(ops[0], MapOp::UpdateMaglev(..)));
    assert!(matches!(ops[1], MapOp::UpdateFrontend(_, e) if e.backend_count == 2));
    assert_eq!(
        ops[2],
        MapOp::DeleteBackend(gone),
        "deleted after the table stopped naming it"
    );
}

#[test]
fn a_removed_service_is_deleted_top_down_after_all_updates() {
    let other = ObservedService::test("default", "other")
        .vip("192.0.2.11")
        .port("", 53, Protocol::Udp);
    let other_slice = ObservedEndpointSlice::test("default", "other")
        .port("", 53, Protocol::Udp)
        .ready("10.0.5.5", "node-b");
    let mut maps = InMemoryMaps::default();
    sync(
        &mut maps,
        &[web(), other.clone()],
        &[web_slice(&["10.0.0.1"]), other_slice],
    );
    maps.clear_ops();
    sync(&mut maps, &[web()], &[web_slice(&["10.0.0.1", "10.0.0.9"])]);
    let kinds: Vec<&str> = maps
        .ops()
        .iter()
        .map(|op| match op {
            MapOp::UpdateBackend(..) => "update backend",
            MapOp::UpdateMaglev(..) => "update maglev",
            MapOp::UpdateFrontend(..) => "update frontend",
            MapOp::DeleteFrontend(..) => "delete frontend",
            MapOp::DeleteMaglev(..) => "delete maglev",
            MapOp::DeleteBackend(..) => "delete backend",
            MapOp::UpdateResponder(..) | MapOp::DeleteResponder(..) => "responder",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "update backend",
            "update maglev",
            "update frontend",
            "delete frontend",
            "delete maglev",
            "delete backend"
        ]
    );
}

#[test]
fn responder_entries_are_diffed_like_the_rest() {
    let key = |i: u32, a: &str| ResponderKey {
        ifindex: i,
        addr: ip(a),
    };
    let mut maps = InMemoryMaps::default();
    let one = MapContents {
        responders: BTreeSet::from([key(2, "192.0.2.10"), key(2, "2001:db8::10")]),
        ..MapContents::default()
    };
    reconcile(&one, &mut maps).expect("reconcile");
    let two = MapContents {
        responders: BTreeSet::from([key(2, "2001:db8::10"), key(3, "192.0.2.10")]),
        ..MapContents::default()
    };
    let applied = reconcile(&two, &mut maps).expect("reconcile");
    assert_eq!(
        applied.ops,
        vec![
            MapOp::UpdateResponder(key(3, "192.0.2.10")),
            MapOp::DeleteResponder(key(2, "192.0.2.10")),
        ]
    );
}

#[test]
fn a_failed_operation_reports_how_far_the_reconcile_got() {
    let mut maps = InMemoryMaps::default();
    let believed = desired_for(
        &[web()],
        &[web_slice(&["10.0.0.1"])],
        &MapContents::default(),
    );
    // The reconciler believes entries exist that the maps do not hold: deleting them fails.
    let err = reconcile_from(&believed, &MapContents::default(), &mut maps)
        .expect_err("deleting entries the maps do not hold fails");
    assert!(matches!(err, Error::ApplyOp { applied: 0, .. }), "{err:?}");
    assert_eq!(err.metric_label(), "apply_op");
}

fn service(i: usize) -> ObservedService {
    ObservedService::test("ns", &format!("svc{i}"))
        .vip(&format!("192.0.2.{}", 10 + i))
        .port("", 80, Protocol::Tcp)
}

fn slice(i: usize, backends: &[bool]) -> ObservedEndpointSlice {
    backends.iter().enumerate().filter(|(_, on)| **on).fold(
        ObservedEndpointSlice::test("ns", &format!("svc{i}")).port("", 8080, Protocol::Tcp),
        |s, (b, _)| {
            s.ready(
                &format!("10.0.{i}.{b}"),
                if b % 2 == 0 { NODE } else { "node-b" },
            )
        },
    )
}

type World = Vec<Option<Vec<bool>>>;

fn world() -> impl Strategy<Value = World> {
    prop::collection::vec(
        prop::option::of(prop::collection::vec(any::<bool>(), 0..5)),
        4,
    )
}

fn inputs(world: &World) -> (Vec<ObservedService>, Vec<ObservedEndpointSlice>) {
    let present = world
        .iter()
        .enumerate()
        .filter_map(|(i, w)| w.as_ref().map(|b| (i, b)));
    present.map(|(i, b)| (service(i), slice(i, b))).unzip()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// From any state to any other: the maps end up exactly desired, a repeat is a no-op, and
    /// services present in both keep their ids.
    #[test]
    fn any_transition_converges_and_settles(a in world(), b in world()) {
        let mut maps = InMemoryMaps::default();
        let (sa, la) = inputs(&a);
        sync(&mut maps, &sa, &la);
        let ids_a = maps.read().expect("read").frontends;
        let (sb, lb) = inputs(&b);
        sync(&mut maps, &sb, &lb);
        let again = sync(&mut maps, &sb, &lb);
        prop_assert!(again.ops.is_empty());
        for (f, entry) in maps.read().expect("read").frontends {
            if let Some(old) = ids_a.get(&f) {
                prop_assert_eq!(old.id, entry.id);
            }
        }
    }
}
