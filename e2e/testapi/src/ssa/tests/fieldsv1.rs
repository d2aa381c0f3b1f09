//! FieldsV1 and managedFields round trips on examples from the Kubernetes documentation and
//! from what `kubectl get -o json --show-managed-fields` shows.

use crate::builtin_types::builtin_type_info;
use crate::ssa::{FieldSet, field_set_of, read_managed_fields, write_managed_fields};
use serde_json::json;

/// The multi-manager ConfigMap of the Server-Side Apply documentation ("Operations in scope
/// for field management").
fn docs_config_map() -> serde_json::Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "test-cm",
            "namespace": "default",
            "labels": {"test-label": "test"},
            "managedFields": [
                {
                    "manager": "kubectl",
                    "operation": "Apply",
                    "time": "2019-03-30T15:00:00.000Z",
                    "apiVersion": "v1",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:metadata": {"f:labels": {"f:test-label": {}}}}
                },
                {
                    "manager": "kube-controller-manager",
                    "operation": "Update",
                    "apiVersion": "v1",
                    "time": "2019-03-30T16:00:00.000Z",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:data": {"f:key": {}}}
                }
            ]
        },
        "data": {"key": "new value"}
    })
}

#[test]
fn docs_managed_fields_round_trip_exactly() {
    let obj = docs_config_map();
    let entries = read_managed_fields(&obj).expect("valid managedFields");
    assert_eq!(entries.len(), 2);
    let mut written = obj.clone();
    write_managed_fields(&mut written, &entries);
    assert_eq!(written, obj);
}

#[test]
fn docs_fields_are_what_the_object_sets() {
    // The applier's fields of the first docs example are exactly the field set of what it
    // applied.
    let config = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"labels": {"test-label": "test"}},
        "data": {"key": "some value"}
    });
    let set = field_set_of(&config, builtin_type_info("", "ConfigMap").as_ref());
    assert_eq!(
        set.to_fields_v1(),
        json!({
            "f:apiVersion": {},
            "f:kind": {},
            "f:data": {"f:key": {}},
            "f:metadata": {"f:labels": {"f:test-label": {}}}
        })
    );
}

/// A Deployment's managedFields as the API server writes them, with map-list keys and "."
/// (structured-merge-diff v6 writes "." first).
const DEPLOYMENT_FIELDS: &str = r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:replicas":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{".":{},"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{},"f:protocol":{}}}}}}}}}"#;

#[test]
fn fields_v1_text_is_byte_for_byte() {
    let value: serde_json::Value = serde_json::from_str(DEPLOYMENT_FIELDS).expect("valid JSON");
    let set = FieldSet::from_fields_v1(&value).expect("valid FieldsV1");
    assert_eq!(set.to_fields_v1_string(), DEPLOYMENT_FIELDS);
    assert_eq!(set.to_fields_v1(), value);
    let rendered: Vec<String> = set.paths().iter().map(ToString::to_string).collect();
    assert!(rendered.contains(&r#".spec.template.spec.containers[name="nginx"].ports[containerPort=80,protocol="TCP"].protocol"#.to_owned()));
    assert!(rendered.contains(&".metadata.labels".to_owned()));
}

#[test]
fn sets_and_numeric_keys_order_like_upstream() {
    // Upstream orders keys by value (80 before 443), not by their text.
    let value = json!({
        "f:spec": {
            "f:ports": {
                "k:{\"port\":443,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}},
                "k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}}
            }
        },
        "f:metadata": {"f:finalizers": {".": {}, "v:\"b\"": {}, "v:\"a\"": {}}}
    });
    let set = FieldSet::from_fields_v1(&value).expect("valid");
    assert_eq!(
        set.to_fields_v1_string(),
        r#"{"f:metadata":{"f:finalizers":{".":{},"v:\"a\"":{},"v:\"b\"":{}}},"f:spec":{"f:ports":{"k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{},"f:port":{}},"k:{\"port\":443,\"protocol\":\"TCP\"}":{".":{},"f:port":{}}}}}"#
    );
}

#[test]
fn invalid_managed_fields_are_errors() {
    let mut obj = docs_config_map();
    obj["metadata"]["managedFields"][0]["fieldsV1"] = json!({"q": {}});
    assert!(
        read_managed_fields(&obj).is_err(),
        "a one-character key is not a path element"
    );
    obj["metadata"]["managedFields"][0]["fieldsV1"] = json!({"f:a": []});
    assert!(read_managed_fields(&obj).is_err());
}
