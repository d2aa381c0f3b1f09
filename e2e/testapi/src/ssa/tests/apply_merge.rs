//! Apply merging, ownership and pruning without conflicts.

use super::{T1, T2, T3, applied, apply_v1, entry, fields, managers};
use crate::ssa::{ApplyError, apply};
use crate::typeinfo::Untyped;
use serde_json::{Value, json};

fn cm(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "test-cm", "namespace": "default"}, "data": data})
}

#[test]
fn apply_creates_the_object_with_one_apply_entry() {
    let config = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "test-cm", "namespace": "default", "labels": {"test-label": "test"}},
        "data": {"key": "some value"}
    });
    let obj = applied(None, &config, "kubectl", T1);
    // The docs' example: type meta, name and namespace belong to nobody.
    assert_eq!(
        obj["metadata"]["managedFields"],
        json!([{
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "v1",
            "time": T1,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {"f:key": {}}, "f:metadata": {"f:labels": {"f:test-label": {}}}}
        }])
    );
    assert_eq!(obj["data"], json!({"key": "some value"}));
    assert_eq!(obj["metadata"]["labels"], json!({"test-label": "test"}));
}

#[test]
fn managers_of_different_fields_merge() {
    let obj = applied(None, &cm(json!({"a": "1"})), "alice", T1);
    let obj = applied(Some(&obj), &cm(json!({"b": "2"})), "bob", T2);
    assert_eq!(obj["data"], json!({"a": "1", "b": "2"}));
    assert_eq!(managers(&obj), vec!["alice", "bob"]);
    assert_eq!(
        fields(&obj, "alice", "Apply"),
        json!({"f:data": {"f:a": {}}})
    );
    assert_eq!(fields(&obj, "bob", "Apply"), json!({"f:data": {"f:b": {}}}));
}

#[test]
fn dropping_a_field_removes_it() {
    let obj = applied(None, &cm(json!({"a": "1", "b": "2"})), "alice", T1);
    let obj = applied(Some(&obj), &cm(json!({"a": "1"})), "alice", T2);
    assert_eq!(obj["data"], json!({"a": "1"}));
    assert_eq!(
        fields(&obj, "alice", "Apply"),
        json!({"f:data": {"f:a": {}}})
    );
    assert_eq!(
        entry(&obj, "alice", "Apply").map(|e| e["time"].clone()),
        Some(json!(T2))
    );
}

#[test]
fn dropping_a_shared_field_keeps_it_for_the_other_owner() {
    let obj = applied(None, &cm(json!({"shared": "x", "a": "1"})), "alice", T1);
    // Same value: shared ownership, no conflict (docs: "they share ownership of that field").
    let obj = applied(Some(&obj), &cm(json!({"shared": "x"})), "bob", T2);
    assert_eq!(
        fields(&obj, "bob", "Apply"),
        json!({"f:data": {"f:shared": {}}})
    );
    let obj = applied(Some(&obj), &cm(json!({"a": "1"})), "alice", T3);
    assert_eq!(
        obj["data"],
        json!({"a": "1", "shared": "x"}),
        "bob still owns it"
    );
    assert_eq!(
        fields(&obj, "alice", "Apply"),
        json!({"f:data": {"f:a": {}}})
    );
    let obj = applied(Some(&obj), &cm(json!({"other": "y"})), "bob", T3);
    assert_eq!(
        obj["data"],
        json!({"a": "1", "other": "y"}),
        "nobody owns it any more"
    );
}

#[test]
fn dropping_the_last_field_of_a_struct_removes_the_struct() {
    let svc = |spec: Value| json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": spec});
    let obj = applied(
        None,
        &svc(
            json!({"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10}}, "type": "ClusterIP"}),
        ),
        "alice",
        T1,
    );
    let obj = applied(Some(&obj), &svc(json!({"type": "ClusterIP"})), "alice", T2);
    assert_eq!(obj["spec"], json!({"type": "ClusterIP"}));
}

#[test]
fn unowned_fields_survive_pruning() {
    let obj = applied(None, &cm(json!({"a": "1", "b": "2"})), "alice", T1);
    // Something the server set (no manager owns it).
    let mut obj = obj;
    obj["data"]["server-set"] = json!("s");
    let obj = applied(Some(&obj), &cm(json!({"a": "1"})), "alice", T2);
    assert_eq!(obj["data"], json!({"a": "1", "server-set": "s"}));
}

#[test]
fn identical_reapply_changes_nothing() {
    let config = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s", "namespace": "default", "labels": {"app": "x"}},
        "spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"app": "x"}}
    });
    let first = applied(None, &config, "ferrule-lbipam", T1);
    let mut live = first.clone();
    // The server adds system fields; an identical re-apply must leave everything alone.
    live["metadata"]["uid"] = json!("1234");
    live["metadata"]["resourceVersion"] = json!("7");
    live["spec"]["clusterIP"] = json!("10.0.0.1");
    let again = applied(Some(&live), &config, "ferrule-lbipam", T2);
    assert_eq!(
        again, live,
        "no change at all, managedFields times included"
    );
    let forced =
        apply_v1(Some(&live), &config, "ferrule-lbipam", true, T3).expect("forced re-apply");
    assert_eq!(forced, live);
}

#[test]
fn noop_apply_by_a_new_manager_adds_an_entry_without_time() {
    let obj = applied(None, &cm(json!({"a": "1"})), "alice", T1);
    let obj = applied(Some(&obj), &cm(json!({"a": "1"})), "bob", T2);
    let bob = entry(&obj, "bob", "Apply").expect("bob co-owns .data.a");
    // Upstream sets the time only when the object changed.
    assert!(bob.get("time").is_none());
    assert_eq!(
        managers(&obj),
        vec!["bob", "alice"],
        "entries without time sort first"
    );
}

#[test]
fn schemaless_objects_own_every_key() {
    let config = json!({"apiVersion": "example.com/v1", "kind": "Foo", "metadata": {"name": "f"}, "spec": {"a": 1, "b": {"c": 2}}});
    let obj = apply(
        None,
        &config,
        "m",
        false,
        "example.com/v1",
        None,
        T1,
        &Untyped,
    )
    .expect("apply");
    assert_eq!(
        fields(&obj, "m", "Apply"),
        json!({"f:spec": {".": {}, "f:a": {}, "f:b": {".": {}, "f:c": {}}}})
    );
    let config = json!({"apiVersion": "example.com/v1", "kind": "Foo", "metadata": {"name": "f"}, "spec": {"a": 1}});
    let obj = apply(
        Some(&obj),
        &config,
        "m",
        false,
        "example.com/v1",
        None,
        T2,
        &Untyped,
    )
    .expect("apply");
    assert_eq!(obj["spec"], json!({"a": 1}));
}

#[test]
fn nulls_in_the_configuration_are_unspecified_fields() {
    let obj = applied(None, &cm(json!({"a": "1", "b": null})), "alice", T1);
    assert_eq!(obj["data"], json!({"a": "1"}));
}

#[test]
fn subresource_applies_are_separate_entries() {
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"type": "LoadBalancer"}});
    let obj = applied(None, &svc, "ctl", T1);
    let status = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}});
    let types = crate::builtin_types::builtin_type_info("", "Service");
    let obj = apply(
        Some(&obj),
        &status,
        "ctl",
        false,
        "v1",
        Some("status"),
        T2,
        types.as_ref(),
    )
    .expect("status apply");
    let entries = obj["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1]["subresource"], "status");
    assert_eq!(
        entries[1]["fieldsV1"],
        json!({"f:status": {"f:loadBalancer": {"f:ingress": {}}}})
    );
    assert!(entries[0].get("subresource").is_none());
}

#[test]
fn requests_the_server_refuses() {
    let mut config = cm(json!({"a": "1"}));
    config["metadata"]["managedFields"] = json!([]);
    let err = apply_v1(None, &config, "m", false, T1).expect_err("managedFields in an apply");
    assert_eq!(
        err,
        ApplyError::BadRequest("metadata.managedFields must be nil".into())
    );
    assert_eq!((err.code(), err.reason()), (400, "BadRequest"));

    let mut config = cm(json!({"a": "1"}));
    config["apiVersion"] = json!("v2");
    let err = apply_v1(None, &config, "m", false, T1).expect_err("wrong version");
    assert_eq!(
        err.message(),
        "Incorrect version specified in apply patch. Specified patch version: v2, expected: v1"
    );
}

#[test]
fn invalid_configurations_are_refused_with_upstream_messages() {
    let svc = json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "default"},
        "spec": {"ports": [{"port": 80}, {"port": 80, "name": "again"}]}
    });
    let err = apply_v1(None, &svc, "m", false, T1).expect_err("duplicate keys");
    assert_eq!(
        err.message(),
        r#"failed to create typed patch object (default/s; /v1, Kind=Service): .spec.ports: duplicate entries for key [port=80,protocol="TCP"]"#
    );
    assert_eq!(err.code(), 500);
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [{"name": "x"}]}});
    let err = apply_v1(None, &svc, "m", false, T1).expect_err("missing key");
    assert_eq!(
        err.message(),
        r#"failed to create typed patch object (/s; /v1, Kind=Service): .spec.ports: element 0: associative list with keys has an element that omits key field "port" (and doesn't have default value)"#
    );
}
