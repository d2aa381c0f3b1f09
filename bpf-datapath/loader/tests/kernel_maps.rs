//! KernelMaps against real BPF maps, created by loading the embedded objects: what is written
//! reads back identically (so adoption after a restart rewrites nothing), and pinned maps
//! reopen with the same contents. Needs root (CAP_BPF); it fails, never skips, without it.

use std::collections::BTreeSet;
use std::net::IpAddr;

use aya::Ebpf;
use aya::maps::Map;
use ferrule_bpf_common::{LB_MAGLEV_M, map_names};
use ferrule_bpf_loader::datapath::{Datapath, PinLayout};
use ferrule_bpf_loader::kernel::{KernelMapSet, KernelMaps};
use ferrule_bpf_loader::model::{
    Backend, BackendAddr, BackendId, Frontend, MaglevTable, Protocol, ResponderKey, ServiceEntry,
    ServiceId, TrafficPolicy,
};
use ferrule_bpf_loader::pin_compat;
use ferrule_bpf_loader::{DatapathMaps, InMemoryMaps, MapContents, MapOp};

fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status readable");
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .expect("Uid line in /proc/self/status");
    assert_eq!(
        euid, "0",
        "KernelMaps tests create BPF maps and must run as root"
    );
}

/// A bpffs directory for this test's pins, removed even when the test fails.
struct PinDir(std::path::PathBuf);

impl PinDir {
    fn new(prefix: &str) -> Self {
        let dir = std::path::PathBuf::from(format!("/sys/fs/bpf/{prefix}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("bpffs is mounted at /sys/fs/bpf");
        Self(dir)
    }
}

impl Drop for PinDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test addresses parse")
}

/// Loads both objects (creating their maps) and hands the maps over. The `Ebpf`s are returned
/// so nothing is dropped early.
fn load() -> (Ebpf, Ebpf, KernelMapSet) {
    require_root();
    let mut lb = Ebpf::load(ferrule_bpf_programs::LB).expect("lb object loads");
    let mut l2 = Ebpf::load(ferrule_bpf_programs::L2_RESPONDER).expect("l2 object loads");
    let take = |ebpf: &mut Ebpf, name: &str| -> Map {
        ebpf.take_map(name)
            .unwrap_or_else(|| panic!("map {name} in the object"))
    };
    let set = KernelMapSet {
        frontends: take(&mut lb, map_names::LB_FRONTENDS),
        backends: take(&mut lb, map_names::LB_BACKENDS),
        maglev: take(&mut lb, map_names::LB_MAGLEV),
        service_counters: take(&mut lb, map_names::LB_SERVICE_COUNTERS),
        responders: take(&mut l2, map_names::L2_RESPONDER),
    };
    (lb, l2, set)
}

fn table(ids: &[u32]) -> MaglevTable {
    MaglevTable(
        (0..LB_MAGLEV_M as usize)
            .map(|slot| BackendId(ids[slot % ids.len()]))
            .collect(),
    )
}

fn ops() -> Vec<MapOp> {
    let v4 = Frontend {
        addr: ip("192.0.2.10"),
        port: 80,
        protocol: Protocol::Tcp,
    };
    let v6 = Frontend {
        addr: ip("2001:db8::10"),
        port: 53,
        protocol: Protocol::Udp,
    };
    let backend = |a: &str, remote| Backend {
        addr: BackendAddr {
            addr: ip(a),
            port: 8080,
        },
        remote,
    };
    vec![
        MapOp::UpdateBackend(BackendId(1), backend("10.0.0.1", false)),
        MapOp::UpdateBackend(BackendId(2), backend("10.0.1.1", true)),
        MapOp::UpdateBackend(BackendId(3), backend("2001:db8:1::1", false)),
        MapOp::UpdateMaglev(ServiceId(1), table(&[1, 2])),
        MapOp::UpdateMaglev(ServiceId(2), table(&[3])),
        MapOp::UpdateFrontend(
            v4,
            ServiceEntry {
                id: ServiceId(1),
                policy: TrafficPolicy::Cluster,
                backend_count: 2,
            },
        ),
        MapOp::UpdateFrontend(
            v6,
            ServiceEntry {
                id: ServiceId(2),
                policy: TrafficPolicy::Local,
                backend_count: 1,
            },
        ),
        MapOp::UpdateResponder(ResponderKey {
            ifindex: 1,
            addr: ip("192.0.2.10"),
        }),
        MapOp::UpdateResponder(ResponderKey {
            ifindex: 1,
            addr: ip("2001:db8::10"),
        }),
    ]
}

fn apply_all(maps: &mut impl DatapathMaps, ops: &[MapOp]) {
    for op in ops {
        maps.apply(op.clone()).expect("map operation applies");
    }
}

#[test]
fn written_entries_read_back_exactly_as_the_in_memory_model_holds_them() {
    let (_lb, _l2, set) = load();
    let mut kernel = KernelMaps::new(set).expect("maps match the ABI");
    let mut model = InMemoryMaps::default();
    apply_all(&mut kernel, &ops());
    apply_all(&mut model, &ops());
    let read = kernel.read().expect("kernel maps read");
    assert_eq!(read, model.read().expect("model read"));
    assert_eq!(read.maglev.len(), 2);

    // Counters start at zero for every programmed service and responder entry.
    let counters = kernel.service_counters().expect("counters read");
    assert_eq!(
        counters.keys().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([ServiceId(1), ServiceId(2)])
    );
    assert!(counters.values().all(|c| c.packets == 0));
    assert_eq!(kernel.responder_counters().expect("read").len(), 2);
}

#[test]
fn deletes_remove_entries_including_maglev_rows() {
    let (_lb, _l2, set) = load();
    let mut kernel = KernelMaps::new(set).expect("maps match the ABI");
    apply_all(&mut kernel, &ops());
    let deletes: Vec<MapOp> = ops()
        .into_iter()
        .rev()
        .map(|op| match op {
            MapOp::UpdateFrontend(k, _) => MapOp::DeleteFrontend(k),
            MapOp::UpdateBackend(k, _) => MapOp::DeleteBackend(k),
            MapOp::UpdateMaglev(k, _) => MapOp::DeleteMaglev(k),
            MapOp::UpdateResponder(k) => MapOp::DeleteResponder(k),
            other => other,
        })
        .collect();
    apply_all(&mut kernel, &deletes);
    assert_eq!(kernel.read().expect("read"), MapContents::default());
    let err = kernel
        .apply(MapOp::DeleteBackend(BackendId(1)))
        .expect_err("deleting a missing entry fails like ENOENT");
    assert_eq!(err.metric_label(), "map_write");
}

#[test]
fn a_maglev_table_of_the_wrong_size_is_refused() {
    let (_lb, _l2, set) = load();
    let mut kernel = KernelMaps::new(set).expect("maps match the ABI");
    let err = kernel
        .apply(MapOp::UpdateMaglev(
            ServiceId(1),
            MaglevTable(vec![BackendId(1); 13]),
        ))
        .expect_err("rows are LB_MAGLEV_M slots");
    assert_eq!(err.metric_label(), "map_write");
}

#[test]
fn pinned_maps_reopen_with_their_contents() {
    let (_lb, _l2, set) = load();
    let pins = PinDir::new("ferrule-loader-test");
    let dir = &pins.0;
    for (map, name) in [
        (&set.frontends, map_names::LB_FRONTENDS),
        (&set.backends, map_names::LB_BACKENDS),
        (&set.maglev, map_names::LB_MAGLEV),
        (&set.service_counters, map_names::LB_SERVICE_COUNTERS),
        (&set.responders, map_names::L2_RESPONDER),
    ] {
        map.pin(dir.join(name)).expect("map pins");
    }
    let mut kernel = KernelMaps::new(set).expect("maps match the ABI");
    apply_all(&mut kernel, &ops());
    let written = kernel.read().expect("read");
    drop(kernel);

    let reopened = KernelMaps::open_pinned(dir).expect("pinned maps open");
    assert_eq!(reopened.read().expect("read"), written);
}

/// After an upgrade that changed a map's layout, the pin under its name no longer fits the
/// programs: it is replaced (and reported), while compatible pins keep their entries.
#[test]
fn incompatible_pins_are_replaced_and_compatible_ones_kept() {
    let (_lb, _l2, set) = load();
    let pins = PinDir::new("ferrule-pin-compat");
    let layout = PinLayout::new(&pins.0);
    let maps = layout.maps_dir();
    std::fs::create_dir_all(&maps).expect("maps dir");
    // A "previous build's" conntrack: any map of another shape, pinned under that name.
    set.frontends
        .pin(maps.join(map_names::LB_CONNTRACK))
        .expect("pin the stand-in");
    set.backends
        .pin(maps.join(map_names::LB_BACKENDS))
        .expect("pin backends");
    let mut kernel = KernelMaps::new(set).expect("maps match the ABI");
    apply_all(&mut kernel, &ops());
    let backends_before = kernel.read().expect("read").backends;
    assert!(!backends_before.is_empty());
    drop(kernel);

    let datapath = Datapath::load(&layout).expect("loads despite the stale pin");
    let replaced = datapath.replaced_pins();
    assert_eq!(replaced.len(), 1, "{replaced:?}");
    assert_eq!(replaced[0].map, map_names::LB_CONNTRACK);
    assert_eq!(replaced[0].pinned.key_size, 20, "the stand-in's key");
    assert!(replaced[0].to_string().contains("entries are lost"));
    let now = pin_compat::pinned_shape(&layout.map(map_names::LB_CONNTRACK))
        .expect("readable")
        .expect("pinned again");
    assert_eq!(now, replaced[0].expected);
    drop(datapath);

    let reopened = KernelMaps::open_pinned(&maps).expect("pinned maps open");
    assert_eq!(reopened.read().expect("read").backends, backends_before);
    // A second load finds nothing to replace.
    let again = Datapath::load(&layout).expect("reload");
    assert!(
        again.replaced_pins().is_empty(),
        "{:?}",
        again.replaced_pins()
    );
}
