use std::collections::BTreeSet;

use ferrule_bpf_loader::model::{Backend, Protocol, ResponderCounters, ServiceEntry};
use ferrule_bpf_loader::{InMemoryMaps, MapContents};

use super::*;
use crate::maglev::{MaglevTableSize, populate};
use crate::testing::ip;

fn maps() -> InMemoryMaps {
    let b1 = BackendAddr {
        addr: ip("10.0.0.1"),
        port: 8080,
    };
    let b2 = BackendAddr {
        addr: ip("10.0.1.1"),
        port: 8080,
    };
    let size = MaglevTableSize::new(13).expect("prime");
    let mut contents = MapContents::default();
    contents.backends.insert(
        BackendId(1),
        Backend {
            addr: b1,
            remote: false,
        },
    );
    contents.backends.insert(
        BackendId(2),
        Backend {
            addr: b2,
            remote: true,
        },
    );
    contents.maglev.insert(
        ServiceId(1),
        populate(&[(BackendId(1), b1), (BackendId(2), b2)], size),
    );
    contents.frontends.insert(
        Frontend {
            addr: ip("192.0.2.10"),
            port: 80,
            protocol: Protocol::Tcp,
        },
        ServiceEntry {
            id: ServiceId(1),
            policy: TrafficPolicy::Cluster,
            backend_count: 2,
        },
    );
    contents.frontends.insert(
        Frontend {
            addr: ip("2001:db8::10"),
            port: 53,
            protocol: Protocol::Udp,
        },
        ServiceEntry {
            id: ServiceId(2),
            policy: TrafficPolicy::Local,
            backend_count: 0,
        },
    );
    let responder = ResponderKey {
        ifindex: 2,
        addr: ip("192.0.2.10"),
    };
    contents.responders = BTreeSet::from([responder]);
    let mut maps = InMemoryMaps::with_contents(contents);
    maps.set_service_counters(
        ServiceId(1),
        ServiceCounters {
            packets: 10,
            bytes: 1500,
            drops: DropCounts::default(),
        },
    );
    maps.set_service_counters(
        ServiceId(2),
        ServiceCounters {
            packets: 4,
            bytes: 300,
            drops: DropCounts([0, 3, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
        },
    );
    maps.set_responder_counters(responder, ResponderCounters { responses: 7 });
    maps
}

#[test]
fn table_output_lists_services_backends_and_responders() {
    let report = StateReport::read(&maps()).expect("in-memory maps read");
    assert_eq!(report.to_table(), GOLDEN_TABLE);
}

const GOLDEN_TABLE: &str = "\
ID  FRONTEND               POLICY   BACKENDS  BACKEND IDS  PACKETS  BYTES  DROPS
1   192.0.2.10:80/TCP      Cluster  2         1,2          10       1500   0
2   [2001:db8::10]:53/UDP  Local    0         -            4        300    4 (no_backend=3,snat_ports_exhausted=1)

BACKEND  ADDRESS        LOCATION
1        10.0.0.1:8080  local
2        10.0.1.1:8080  remote (SNAT)

IFINDEX  RESPONDS FOR  RESPONSES
2        192.0.2.10    7
";

#[test]
fn json_output_has_the_same_rows() {
    let report = StateReport::read(&maps()).expect("in-memory maps read");
    let json: serde_json::Value =
        serde_json::from_str(&report.to_json().expect("renders")).expect("valid JSON");
    assert_eq!(
        json["services"][0],
        serde_json::json!({
            "frontend": {"addr": "192.0.2.10", "port": 80, "protocol": "TCP"},
            "id": 1,
            "policy": "Cluster",
            "backend_count": 2,
            "backends": [1, 2],
            "counters": {"packets": 10, "bytes": 1500, "drops": {}}
        })
    );
    assert_eq!(
        json["services"][1]["counters"]["drops"],
        serde_json::json!({"no_backend": 3, "snat_ports_exhausted": 1})
    );
    assert_eq!(json["services"][1]["backends"], serde_json::json!([]));
    assert_eq!(
        json["backends"][1],
        serde_json::json!({
            "id": 2,
            "backend": {"addr": "10.0.1.1", "port": 8080},
            "remote": true
        })
    );
    assert_eq!(
        json["responders"],
        serde_json::json!([{"ifindex": 2, "addr": "192.0.2.10", "responses": 7}])
    );
}

#[test]
fn empty_maps_print_headers_only() {
    let report = StateReport::read(&InMemoryMaps::default()).expect("read");
    assert_eq!(
        report.to_table().lines().count(),
        5,
        "three headers, two separators"
    );
    assert_eq!(
        report.to_json().expect("renders"),
        "{\n  \"services\": [],\n  \"backends\": [],\n  \"responders\": [],\n  \"programs\": []\n}"
    );
}

#[test]
fn program_counters_get_their_own_table_with_drop_reasons() {
    let lb = ProgramCounters {
        packets: 12,
        bytes: 900,
        drops: DropCounts([0, 0, 2, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    };
    let report = StateReport::read(&InMemoryMaps::default())
        .expect("read")
        .with_programs(vec![
            (Program::L2Responder, ProgramCounters::default()),
            (Program::Lb, lb),
        ]);
    let table = report.to_table();
    assert!(
        table.ends_with(
            "PROGRAM       PACKETS  BYTES  DROPS\n\
             l2_responder  0        0      0\n\
             lb            12       900    7 (no_local_backend=2,fragment=5)\n"
        ),
        "{table}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&report.to_json().expect("renders")).expect("valid JSON");
    assert_eq!(json["programs"][1]["program"], "lb");
    assert_eq!(json["programs"][1]["counters"]["drops"]["fragment"], 5);
}
