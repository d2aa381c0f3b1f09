//! Every generated CRD against its upstream Cilium counterpart in
//! `../shared/reference/cilium-crds/`, modulo the reasoned entries of `compat-allowlist.txt`;
//! ferrule's own `ferrule.io` CRDs have no counterpart and are exempt by group.

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

/// The group of ferrule's own objects, which Cilium has no CRD for (see DESIGN.md): they have
/// no upstream to match and are skipped by name of group, never through the allowlist.
const FERRULE_GROUP: &str = "ferrule.io";

/// Everything wrong between `ours` and upstream, one line each; empty when compatible.
///
/// Every upstream CRD in [`UPSTREAM`] must be generated and match (modulo the allowlist), and
/// every generated CRD outside [`FERRULE_GROUP`] must have an upstream counterpart.
fn compatibility_report(ours: &[Value]) -> String {
    let dir = reference_dir().join("cilium-crds");
    let allowlist = Allowlist::parse(include_str!("../compat-allowlist.txt"))
        .expect("compat-allowlist.txt is well-formed");

    let mut differences = Vec::new();
    let mut report = String::new();
    let mut upstream_names = Vec::new();
    for file in UPSTREAM {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "upstream CRD {} must be readable (set FERRULE_REFERENCE_DIR): {e}",
                path.display()
            )
        });
        let upstream: Value = serde_yaml::from_str(&text).expect("upstream CRD is YAML");
        let name = upstream["metadata"]["name"].clone();
        match ours.iter().find(|crd| crd["metadata"]["name"] == name) {
            Some(generated) => differences.extend(compare(generated, &upstream)),
            None => report.push_str(&format!("  ferrule generates no CRD named {name}\n")),
        }
        upstream_names.push(name);
    }
    for crd in ours {
        let name = &crd["metadata"]["name"];
        if crd["spec"]["group"] != FERRULE_GROUP && !upstream_names.contains(name) {
            report.push_str(&format!(
                "  {name} is neither in {FERRULE_GROUP} nor compared with an upstream CRD\n"
            ));
        }
    }

    let (unexplained, unused) = allowlist.apply(&differences);
    for d in &unexplained {
        report.push_str(&format!("  {d}\n"));
    }
    for entry in &unused {
        report.push_str(&format!("  allowlist entry matches nothing: {entry}\n"));
    }
    report
}

fn generated() -> Vec<Value> {
    ferrule_api::crds::all()
        .iter()
        .map(|crd| serde_json::to_value(crd).expect("a CRD serializes"))
        .collect()
}

#[test]
fn generated_crds_match_upstream_cilium() {
    let ours = generated();
    assert!(
        ours.iter().any(|crd| crd["spec"]["group"] == FERRULE_GROUP),
        "ferrule.io CRDs are generated, and skipped below only because of their group"
    );
    let report = compatibility_report(&ours);
    assert!(
        report.is_empty(),
        "generated CRDs differ from upstream:\n{report}"
    );
}

#[test]
fn a_missing_cilium_crd_is_reported_despite_the_ferrule_skip() {
    let ours: Vec<Value> = generated()
        .into_iter()
        .filter(|crd| crd["metadata"]["name"] != "ciliuml2announcementpolicies.cilium.io")
        .collect();
    assert_eq!(
        compatibility_report(&ours),
        "  ferrule generates no CRD named \"ciliuml2announcementpolicies.cilium.io\"\n"
    );
}

#[test]
fn only_the_ferrule_group_is_exempt_from_comparison() {
    let mut ours = generated();
    let own = ours
        .iter_mut()
        .find(|crd| crd["spec"]["group"] == FERRULE_GROUP)
        .expect("a ferrule.io CRD is generated");
    own["spec"]["group"] = Value::from("cilium.io");
    own["metadata"]["name"] = Value::from("nodel2announcements.cilium.io");
    assert_eq!(
        compatibility_report(&ours),
        "  \"nodel2announcements.cilium.io\" is neither in ferrule.io nor compared with an upstream CRD\n"
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
