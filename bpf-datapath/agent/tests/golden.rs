//! Golden tests: Kubernetes objects in (`tests/golden/<case>.in.yaml`), the datapath map
//! contents out (`<case>.out.json`, as `ferrule-agent state -o json` prints them), so a change
//! in what the agent programs shows up as a reviewable diff. `FERRULE_BLESS=1 cargo test -p
//! ferrule-agent --test golden` rewrites the outputs.

use std::collections::BTreeSet;
use std::path::Path;

use ferrule_agent::desired::{Inputs, Limits, compute};
use ferrule_agent::maglev::MaglevTableSize;
use ferrule_agent::observed::{ObservedEndpointSlice, ObservedService};
use ferrule_agent::state_cmd::StateReport;
use ferrule_bpf_loader::{InMemoryMaps, MapContents};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

fn run_case(case: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let input = std::fs::read_to_string(dir.join(format!("{case}.in.yaml"))).expect("input exists");
    let objects: Vec<serde_json::Value> =
        serde_yaml::from_str(&input).expect("input is a YAML list");
    let mut services = Vec::new();
    let mut slices = Vec::new();
    for object in objects {
        match object["kind"].as_str() {
            Some("Service") => {
                let svc: Service = serde_json::from_value(object).expect("a valid Service");
                services.extend(ObservedService::from_service(&svc));
            }
            Some("EndpointSlice") => {
                let slice: EndpointSlice =
                    serde_json::from_value(object).expect("a valid EndpointSlice");
                slices.extend(ObservedEndpointSlice::from_endpoint_slice(&slice));
            }
            other => panic!("unexpected kind {other:?} in {case}"),
        }
    }
    let responders = BTreeSet::new();
    let desired = compute(
        &Inputs {
            node_name: "node-a",
            services: &services,
            slices: &slices,
            responders: &responders,
            maglev_size: MaglevTableSize::DEFAULT,
            limits: Limits::DATAPATH,
        },
        &MapContents::default(),
    );
    let maps = InMemoryMaps::with_contents(desired.contents);
    let actual = StateReport::read(&maps)
        .expect("in-memory read")
        .to_json()
        .expect("renders")
        + "\n";
    let golden = dir.join(format!("{case}.out.json"));
    if std::env::var("FERRULE_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&golden, &actual).expect("golden written");
    }
    let expected = std::fs::read_to_string(&golden)
        .expect("golden output exists (FERRULE_BLESS=1 creates it)");
    assert_eq!(
        actual,
        expected,
        "{case}: map contents differ from {}",
        golden.display()
    );
}

#[test]
fn two_services() {
    run_case("two-services");
}
