//! Apply conflicts, forcing, and ownership taken by non-apply writes.

use super::{T1, T2, T3, applied, apply_v1, entry, fields};
use crate::builtin_types::builtin_type_info;
use crate::ssa::{ApplyError, update_managed_fields};
use serde_json::{Value, json};

fn cm(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "test-cm", "namespace": "default"}, "data": data})
}

fn conflicts(result: Result<Value, ApplyError>) -> (String, Vec<(String, String, String)>) {
    match result {
        Err(e @ ApplyError::Conflicts(_)) => {
            assert_eq!((e.code(), e.reason()), (409, "Conflict"));
            (e.message(), e.causes())
        }
        other => panic!("expected conflicts, got {other:?}"),
    }
}

#[test]
fn changing_another_appliers_field_conflicts() {
    let obj = applied(None, &cm(json!({"key": "a"})), "alice", T1);
    let (message, causes) = conflicts(apply_v1(
        Some(&obj),
        &cm(json!({"key": "b"})),
        "bob",
        false,
        T2,
    ));
    assert_eq!(
        message,
        r#"Apply failed with 1 conflict: conflict with "alice": .data.key"#
    );
    assert_eq!(
        causes,
        vec![(
            "FieldManagerConflict".to_owned(),
            r#"conflict with "alice""#.to_owned(),
            ".data.key".to_owned()
        )]
    );
}

#[test]
fn force_takes_ownership() {
    let obj = applied(None, &cm(json!({"key": "a", "other": "o"})), "alice", T1);
    let obj =
        apply_v1(Some(&obj), &cm(json!({"key": "b"})), "bob", true, T2).expect("forced apply");
    assert_eq!(obj["data"], json!({"key": "b", "other": "o"}));
    assert_eq!(
        fields(&obj, "alice", "Apply"),
        json!({"f:data": {"f:other": {}}})
    );
    assert_eq!(
        fields(&obj, "bob", "Apply"),
        json!({"f:data": {"f:key": {}}})
    );
    // Alice re-applying her old intent now conflicts with bob.
    let (message, _) = conflicts(apply_v1(
        Some(&obj),
        &cm(json!({"key": "a", "other": "o"})),
        "alice",
        false,
        T3,
    ));
    assert_eq!(
        message,
        r#"Apply failed with 1 conflict: conflict with "bob": .data.key"#
    );
}

#[test]
fn force_drops_an_emptied_entry() {
    let obj = applied(None, &cm(json!({"key": "a"})), "alice", T1);
    let obj =
        apply_v1(Some(&obj), &cm(json!({"key": "b"})), "bob", true, T2).expect("forced apply");
    assert!(entry(&obj, "alice", "Apply").is_none());
}

#[test]
fn an_update_steals_ownership_and_apply_then_conflicts() {
    let types = builtin_type_info("", "ConfigMap");
    let obj = applied(None, &cm(json!({"key": "a", "keep": "k"})), "alice", T1);
    // `kubectl edit`: a PUT of the whole object with one value changed.
    let mut edited = obj.clone();
    edited["data"]["key"] = json!("edited");
    let obj = update_managed_fields(
        Some(&obj),
        &edited,
        "kubectl-edit",
        None,
        "v1",
        T2,
        types.as_ref(),
    );
    assert_eq!(obj["data"]["key"], "edited");
    assert_eq!(
        fields(&obj, "alice", "Apply"),
        json!({"f:data": {"f:keep": {}}})
    );
    let edit = entry(&obj, "kubectl-edit", "Update").expect("an Update entry");
    assert_eq!(edit["fieldsV1"], json!({"f:data": {"f:key": {}}}));
    assert_eq!(
        (edit["apiVersion"].clone(), edit["time"].clone()),
        (json!("v1"), json!(T2))
    );

    let (message, causes) = conflicts(apply_v1(
        Some(&obj),
        &cm(json!({"key": "a", "keep": "k"})),
        "alice",
        false,
        T3,
    ));
    assert_eq!(
        message,
        r#"Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.key"#
    );
    assert_eq!(causes[0].1, r#"conflict with "kubectl-edit" using v1"#);
    // Agreeing with the edit shares the field instead.
    let obj = applied(
        Some(&obj),
        &cm(json!({"key": "edited", "keep": "k"})),
        "alice",
        T3,
    );
    assert_eq!(
        fields(&obj, "alice", "Apply"),
        json!({"f:data": {"f:keep": {}, "f:key": {}}})
    );
    assert_eq!(
        fields(&obj, "kubectl-edit", "Update"),
        json!({"f:data": {"f:key": {}}})
    );
}

#[test]
fn several_conflicts_are_listed_by_manager() {
    let types = builtin_type_info("", "ConfigMap");
    let obj = applied(None, &cm(json!({"a": "1", "b": "2"})), "zed", T1);
    let mut edited = obj.clone();
    edited["data"]["c"] = json!("3");
    let obj = update_managed_fields(
        Some(&obj),
        &edited,
        "editor",
        Some("status"),
        "v1",
        T2,
        types.as_ref(),
    );
    let (message, causes) = conflicts(apply_v1(
        Some(&obj),
        &cm(json!({"a": "x", "b": "y", "c": "z"})),
        "me",
        false,
        T3,
    ));
    assert_eq!(
        message,
        "Apply failed with 3 conflicts: conflicts with \"editor\" with subresource \"status\" using v1:\n- .data.c\nconflicts with \"zed\":\n- .data.a\n- .data.b"
    );
    assert_eq!(causes.len(), 3);
}

#[test]
fn status_conflicts_name_the_list_item() {
    let svc = |conditions: Value| json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "status": {"conditions": conditions}});
    let cond = |status: &str| json!([{"type": "Ready", "status": status, "reason": "R", "message": "", "lastTransitionTime": T1}]);
    let obj = applied(None, &svc(cond("True")), "a", T1);
    let (message, _) = conflicts(apply_v1(Some(&obj), &svc(cond("False")), "b", false, T2));
    assert_eq!(
        message,
        r#"Apply failed with 1 conflict: conflict with "a": .status.conditions[type="Ready"].status"#
    );
}
