//! Every generated CRD against its upstream Cilium counterpart in
//! `../shared/reference/cilium-crds/`, modulo the reasoned entries of `compat-allowlist.txt`.

use ferrule_crd_gen::compat::{Allowlist, compare};
use serde_json::Value;
use std::path::PathBuf;

/// The upstream CRDs ferrule implements (file names in the reference folder).
const UPSTREAM: &[&str] = &[
    "ciliumloadbalancerippools.yaml",
    "ciliuml2announcementpolicies.yaml",
    "ciliumbgpclusterconfigs.yaml",
    "ciliumbgppeerconfigs.yaml",
    "ciliumbgpadvertisements.yaml",
    "ciliumbgpnodeconfigs.yaml",
    "ciliumbgpnodeconfigoverrides.yaml",
    "ciliumegressgatewaypolicies.yaml",
    "ciliumpodippools.yaml",
    "ciliumgatewayclassconfigs.yaml",
];

fn reference_dir() -> PathBuf {
    std::env::var_os("FERRULE_REFERENCE_DIR").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/reference"
            ))
        },
        PathBuf::from,
    )
}

#[test]
fn generated_crds_match_upstream_cilium() {
    let dir = reference_dir().join("cilium-crds");
    let ours: Vec<Value> = ferrule_api::crds::all()
        .iter()
        .map(|crd| serde_json::to_value(crd).expect("a CRD serializes"))
        .collect();
    let allowlist = Allowlist::parse(include_str!("../compat-allowlist.txt"))
        .expect("compat-allowlist.txt is well-formed");

    let mut differences = Vec::new();
    let mut missing = Vec::new();
    for file in UPSTREAM {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "upstream CRD {} must be readable (set FERRULE_REFERENCE_DIR): {e}",
                path.display()
            )
        });
        let upstream: Value = serde_yaml::from_str(&text).expect("upstream CRD is YAML");
        let name = &upstream["metadata"]["name"];
        match ours.iter().find(|crd| &crd["metadata"]["name"] == name) {
            Some(generated) => differences.extend(compare(generated, &upstream)),
            None => missing.push(format!("  ferrule generates no CRD named {name}\n")),
        }
    }

    let (unexplained, unused) = allowlist.apply(&differences);
    let mut report = missing.concat();
    for d in &unexplained {
        report.push_str(&format!("  {d}\n"));
    }
    for entry in &unused {
        report.push_str(&format!("  allowlist entry matches nothing: {entry}\n"));
    }
    assert!(
        report.is_empty(),
        "generated CRDs differ from upstream:\n{report}"
    );
}

#[test]
fn a_drifted_field_is_reported() {
    let upstream_path = reference_dir().join("cilium-crds/ciliumloadbalancerippools.yaml");
    let text = std::fs::read_to_string(&upstream_path).expect("upstream LB pool CRD is readable");
    let upstream: Value = serde_yaml::from_str(&text).expect("upstream CRD is YAML");
    let mut ours = serde_json::to_value(
        ferrule_api::crds::all()
            .into_iter()
            .find(|crd| crd.metadata.name.as_deref() == Some("ciliumloadbalancerippools.cilium.io"))
            .expect("the LB pool CRD is generated"),
    )
    .expect("a CRD serializes");
    let disabled = &mut ours["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        ["properties"]["disabled"];
    disabled["default"] = Value::Bool(true);

    let found: Vec<String> = compare(&ours, &upstream)
        .iter()
        .map(|d| format!("{} {} {}", d.version, d.path, d.aspect))
        .collect();
    assert_eq!(found, ["v2 .spec.disabled default"]);
}
