//! The upstream Cilium and Gateway API CRDs: every served schema is accepted, and objects of
//! the kinds ferrule implements get the server's pruning, defaulting and errors.

use super::{lines, load_docs, reference_dir, schema};
use crate::schema::{FieldErrorKind, StructuralSchema, invalid_message};
use crate::typeinfo::{ListType, MapType, Step, TypeInfo};
use serde_json::{Value, json};

const POOLS: &str = "cilium-crds/ciliumloadbalancerippools.yaml";

fn crd_files(dir: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(reference_dir().join(dir))
        .unwrap_or_else(|e| panic!("reference dir {dir} must exist: {e}"))
        .map(|e| {
            e.expect("readable dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".yaml"))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_served_schema_of_the_upstream_crds_is_structural() {
    let mut files = crd_files("cilium-crds");
    files.extend(crd_files("gateway-api/standard"));
    let mut checked = 0;
    for file in files {
        for crd in load_docs(&file) {
            if crd["kind"] != "CustomResourceDefinition" {
                continue; // e.g. the ValidatingAdmissionPolicy shipped with Gateway API
            }
            for (i, v) in crd["spec"]["versions"]
                .as_array()
                .expect("versions")
                .iter()
                .enumerate()
            {
                if v["served"] != true {
                    continue;
                }
                let at = format!("spec.versions[{i}].schema.openAPIV3Schema");
                let s = StructuralSchema::from_json_at(&v["schema"]["openAPIV3Schema"], &at)
                    .unwrap_or_else(|e| panic!("{file} {}: {e}", v["name"]));
                assert!(
                    s.unsupported_features().is_empty(),
                    "{file} {}: {:?}",
                    v["name"],
                    s.unsupported_features()
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 20,
        "only {checked} schemas found: is the reference dir complete?"
    );
}

fn good_pool() -> Value {
    json!({
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumLoadBalancerIPPool",
        "metadata": {"name": "pool-a"},
        "spec": {
            "blocks": [{"cidr": "192.0.2.0/24"}, {"start": "198.51.100.10", "stop": "198.51.100.20"}],
            "allowFirstLastIPs": "No",
            "disabled": false,
            "serviceSelector": {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]
            }
        },
        "status": {"conditions": [{
            "type": "cilium.io/IPsAvailable",
            "status": "True",
            "reason": "Ok",
            "message": "",
            "lastTransitionTime": "2024-05-01T10:00:00Z",
            "observedGeneration": 1
        }]}
    })
}

fn pool_errors(mutate: impl FnOnce(&mut Value)) -> Vec<crate::schema::FieldError> {
    let mut pool = good_pool();
    mutate(&mut pool);
    schema(POOLS, "v2").validate(&pool)
}

#[test]
fn a_good_pool_validates() {
    for version in ["v2", "v2alpha1"] {
        let errs = schema(POOLS, version).validate(&good_pool());
        assert!(errs.is_empty(), "{version}: {:?}", lines(&errs));
    }
}

#[test]
fn a_wrongly_typed_field_is_one_type_error_with_the_servers_message() {
    let errs = pool_errors(|p| p["spec"]["disabled"] = json!("string"));
    assert_eq!(errs.len(), 1, "{:?}", lines(&errs));
    let e = &errs[0];
    assert_eq!(e.path, "spec.disabled");
    assert_eq!(e.kind, FieldErrorKind::TypeInvalid);
    assert_eq!(e.reason(), "FieldValueTypeInvalid");
    assert_eq!(
        e.message(),
        r#"Invalid value: "string": spec.disabled in body must be of type boolean: "string""#
    );
    assert_eq!(
        invalid_message("cilium.io", "CiliumLoadBalancerIPPool", "pool-a", &errs),
        r#"CiliumLoadBalancerIPPool.cilium.io "pool-a" is invalid: spec.disabled: Invalid value: "string": spec.disabled in body must be of type boolean: "string""#
    );
}

#[test]
fn a_value_outside_the_enum_is_not_supported() {
    let errs = pool_errors(|p| p["spec"]["allowFirstLastIPs"] = json!("Maybe"));
    assert_eq!(errs.len(), 1, "{:?}", lines(&errs));
    assert_eq!(errs[0].kind, FieldErrorKind::NotSupported);
    assert_eq!(
        errs[0].to_string(),
        r#"spec.allowFirstLastIPs: Unsupported value: "Maybe": supported values: "Yes", "No""#
    );
}

#[test]
fn a_map_value_that_does_not_match_the_pattern_is_invalid() {
    let errs = pool_errors(|p| p["spec"]["serviceSelector"]["matchLabels"]["app"] = json!("-web"));
    assert_eq!(
        lines(&errs),
        [
            r#"spec.serviceSelector.matchLabels.app: Invalid value: "-web": spec.serviceSelector.matchLabels.app in body should match '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$'"#
        ]
    );
    assert_eq!(errs[0].kind, FieldErrorKind::Invalid);
}

#[test]
fn a_too_long_string_is_too_long_counted_in_characters() {
    let errs =
        pool_errors(|p| p["spec"]["serviceSelector"]["matchLabels"]["app"] = json!("a".repeat(64)));
    assert_eq!(
        lines(&errs),
        ["spec.serviceSelector.matchLabels.app: Too long: may not be more than 63 bytes"]
    );
    assert_eq!(errs[0].kind, FieldErrorKind::TooLong);
    // 63 two-byte characters are 126 bytes but only 63 characters: accepted.
    let errs =
        pool_errors(|p| p["spec"]["serviceSelector"]["matchLabels"]["app"] = json!("é".repeat(63)));
    assert!(
        errs.iter().all(|e| e.kind != FieldErrorKind::TooLong),
        "{:?}",
        lines(&errs)
    );
}

#[test]
fn missing_required_fields_are_required() {
    let errs = pool_errors(|p| {
        p["status"]["conditions"][0]
            .as_object_mut()
            .expect("object")
            .remove("reason");
    });
    assert_eq!(
        lines(&errs),
        ["status.conditions[0].reason: Required value"]
    );
    assert_eq!(errs[0].reason(), "FieldValueRequired");
    let errs = pool_errors(|p| {
        p.as_object_mut().expect("object").remove("spec");
    });
    assert_eq!(lines(&errs), ["spec: Required value"]);
}

#[test]
fn duplicate_map_list_keys_are_duplicates() {
    let errs = pool_errors(|p| {
        let c = p["status"]["conditions"][0].clone();
        p["status"]["conditions"]
            .as_array_mut()
            .expect("list")
            .push(c);
    });
    assert_eq!(
        lines(&errs),
        [r#"status.conditions[1]: Duplicate value: {"type":"cilium.io/IPsAvailable"}"#]
    );
    assert_eq!(errs[0].kind, FieldErrorKind::Duplicate);
    assert_eq!(errs[0].reason(), "FieldValueDuplicate");
}

#[test]
fn formats_and_bounds_are_checked() {
    let errs = pool_errors(|p| p["spec"]["blocks"][0]["cidr"] = json!("not-a-cidr"));
    assert_eq!(
        lines(&errs),
        [
            r#"spec.blocks[0].cidr: Invalid value: "not-a-cidr": spec.blocks[0].cidr in body must be of type cidr: "not-a-cidr""#
        ]
    );
    assert_eq!(errs[0].kind, FieldErrorKind::TypeInvalid);
    let errs =
        pool_errors(|p| p["status"]["conditions"][0]["lastTransitionTime"] = json!("yesterday"));
    assert_eq!(
        lines(&errs),
        [
            r#"status.conditions[0].lastTransitionTime: Invalid value: "yesterday": status.conditions[0].lastTransitionTime in body must be of type date-time: "yesterday""#
        ]
    );
    let errs = pool_errors(|p| p["status"]["conditions"][0]["observedGeneration"] = json!(-1));
    assert_eq!(
        lines(&errs),
        [
            "status.conditions[0].observedGeneration: Invalid value: -1: status.conditions[0].observedGeneration in body should be greater than or equal to 0"
        ]
    );
}

#[test]
fn pool_defaults_fill_missing_fields() {
    let s = schema(POOLS, "v2");
    let mut pool = good_pool();
    pool["spec"]
        .as_object_mut()
        .expect("object")
        .remove("disabled");
    s.apply_defaults(&mut pool);
    assert_eq!(pool["spec"]["disabled"], json!(false));
    // A non-nullable null with a default survives pruning and is defaulted.
    let mut pool = good_pool();
    pool["spec"]["disabled"] = Value::Null;
    assert!(s.prune(&mut pool).is_empty());
    s.apply_defaults(&mut pool);
    assert_eq!(pool["spec"]["disabled"], json!(false));
    // …while one without a default is dropped.
    let mut pool = good_pool();
    pool["spec"]["allowFirstLastIPs"] = Value::Null;
    s.prune(&mut pool);
    assert!(pool["spec"].get("allowFirstLastIPs").is_none());
}

#[test]
fn nested_defaults_apply_only_inside_existing_parents() {
    let s = schema("cilium-crds/ciliumbgppeerconfigs.yaml", "v2");
    let mut peer = json!({"apiVersion": "cilium.io/v2", "kind": "CiliumBGPPeerConfig",
        "metadata": {"name": "p"}, "spec": {}});
    s.apply_defaults(&mut peer);
    assert!(
        peer["spec"].get("timers").is_none(),
        "no timers without a timers object: {peer}"
    );

    let mut peer = json!({"apiVersion": "cilium.io/v2", "kind": "CiliumBGPPeerConfig",
        "metadata": {"name": "p"}, "spec": {"timers": {"holdTimeSeconds": 9}}});
    s.apply_defaults(&mut peer);
    assert_eq!(
        peer["spec"]["timers"],
        json!({"holdTimeSeconds": 9, "keepAliveTimeSeconds": 30, "connectRetryTimeSeconds": 120})
    );
    assert!(
        s.validate(&peer).is_empty(),
        "{:?}",
        lines(&s.validate(&peer))
    );
    assert!(
        s.unenforced_cel_rules().contains(&(
            "spec.timers".to_string(),
            "self.keepAliveTimeSeconds <= self.holdTimeSeconds".to_string()
        )),
        "{:?}",
        s.unenforced_cel_rules()
    );
}

#[test]
fn unknown_fields_are_pruned_and_reported() {
    let s = schema(POOLS, "v2");
    let mut pool = good_pool();
    pool["spec"]["foo"] = json!(1);
    pool["spec"]["blocks"][1]["bar"] = json!({"x": 1});
    pool["extra"] = json!(true);
    pool["metadata"]["labels"] = json!({"a": "b"});
    pool["metadata"]["madeUp"] = json!("kept: metadata is the server's");
    let pruned = s.prune(&mut pool);
    assert_eq!(pruned, ["extra", "spec.blocks[1].bar", "spec.foo"]);
    let mut expected = good_pool();
    expected["metadata"]["labels"] = json!({"a": "b"});
    expected["metadata"]["madeUp"] = json!("kept: metadata is the server's");
    assert_eq!(pool, expected);
}

#[test]
fn preserve_unknown_fields_keeps_what_no_schema_describes() {
    let s = schema("cilium-crds/ciliumenvoyconfigs.yaml", "v2");
    let listener = json!({
        "@type": "type.googleapis.com/envoy.config.listener.v3.Listener",
        "name": "l", "filterChains": [{"filters": [{"name": "f", "typedConfig": {"a": 1}}]}]
    });
    let mut cec = json!({"apiVersion": "cilium.io/v2", "kind": "CiliumEnvoyConfig",
        "metadata": {"name": "c"}, "spec": {"resources": [listener.clone()], "bogus": 1}});
    assert_eq!(s.prune(&mut cec), ["spec.bogus"]);
    assert_eq!(cec["spec"]["resources"][0], listener);
    assert!(
        s.validate(&cec).is_empty(),
        "{:?}",
        lines(&s.validate(&cec))
    );
}

#[test]
fn list_and_map_types_come_from_the_schema() {
    let s = schema(POOLS, "v2");
    let f = |p: &[&str]| -> Vec<Step> { p.iter().map(|x| Step::Field((*x).to_string())).collect() };
    assert_eq!(
        s.list_type(&f(&["status", "conditions"])),
        ListType::Map(vec!["type".into()])
    );
    assert_eq!(s.list_type(&f(&["spec", "blocks"])), ListType::Atomic);
    assert_eq!(
        s.map_type(&f(&["spec", "serviceSelector"])),
        MapType::Atomic
    );
    assert_eq!(s.map_type(&f(&["spec"])), MapType::Granular);
    assert_eq!(s.list_type(&f(&["spec", "nope"])), ListType::Atomic);
    let mut labels = f(&["spec", "serviceSelector", "matchLabels"]);
    labels.push(Step::Value);
    assert_eq!(s.at(&labels).map(|n| n.type_name()), Some("string"));
    let mut cidr = f(&["spec", "blocks"]);
    cidr.extend([Step::Item, Step::Field("cidr".into())]);
    assert_eq!(s.at(&cidr).map(|n| n.format()), Some("cidr"));
}

#[test]
fn gateway_address_one_of_reports_like_the_server() {
    let s = schema(
        "gateway-api/standard/gateway.networking.k8s.io_gateways.yaml",
        "v1",
    );
    let gw = |addr: Value| {
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": "g"},
            "spec": {"gatewayClassName": "ferrule",
                "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
                "addresses": [addr]}})
    };
    let ok = gw(json!({"type": "IPAddress", "value": "192.0.2.1"}));
    assert!(s.validate(&ok).is_empty(), "{:?}", lines(&s.validate(&ok)));
    let ok = gw(json!({"type": "NamedAddress", "value": "my-address"}));
    assert!(s.validate(&ok).is_empty(), "{:?}", lines(&s.validate(&ok)));
    let bad = gw(json!({"type": "IPAddress", "value": "not-an-ip"}));
    let errs = lines(&s.validate(&bad));
    assert!(
        errs.contains(&r#"<nil>: Invalid value: "": "spec.addresses[0]" must validate one and only one schema (oneOf). Found none valid"#.to_string()),
        "{errs:?}"
    );
    assert!(
        errs.contains(&r#"<nil>: Invalid value: "": "spec.addresses[0].value" must validate at least one schema (anyOf)"#.to_string()),
        "{errs:?}"
    );
    assert!(
        errs.contains(&r#"spec.addresses[0].value: Invalid value: "not-an-ip": spec.addresses[0].value in body must be of type ipv4: "not-an-ip""#.to_string()),
        "{errs:?}"
    );
}
