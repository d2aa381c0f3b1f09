//! Ownership recorded by create, update and patch.

use super::{T1, T2, T3, applied, entry, fields, managers};
use crate::builtin_types::builtin_type_info;
use crate::ssa::update_managed_fields;
use serde_json::{Value, json};

fn update(old: Option<&Value>, new: &Value, manager: &str, now: &str) -> Value {
    update_managed_fields(
        old,
        new,
        manager,
        None,
        "v1",
        now,
        builtin_type_info("", "ConfigMap").as_ref(),
    )
}

fn cm(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default", "uid": "u"}, "data": data})
}

#[test]
fn create_records_an_update_entry() {
    let obj = update(None, &cm(json!({"a": "1"})), "kubectl-create", T1);
    assert_eq!(
        obj["metadata"]["managedFields"],
        json!([{
            "manager": "kubectl-create",
            "operation": "Update",
            "apiVersion": "v1",
            "time": T1,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {".": {}, "f:a": {}}}
        }])
    );
}

#[test]
fn an_update_takes_changed_fields_and_keeps_the_rest() {
    let obj = update(None, &cm(json!({"a": "1", "b": "2"})), "creator", T1);
    let mut edited = obj.clone();
    edited["data"]["b"] = json!("changed");
    edited["data"]["c"] = json!("new");
    let obj = update(Some(&obj), &edited, "editor", T2);
    assert_eq!(
        fields(&obj, "editor", "Update"),
        json!({"f:data": {"f:b": {}, "f:c": {}}})
    );
    assert_eq!(
        fields(&obj, "creator", "Update"),
        json!({"f:data": {".": {}, "f:a": {}}})
    );
    assert_eq!(managers(&obj), vec!["creator", "editor"]);
}

#[test]
fn removed_fields_leave_every_manager_and_empty_entries_go() {
    let obj = update(None, &cm(json!({"a": "1"})), "creator", T1);
    let obj = applied(
        Some(&obj),
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}),
        "applier",
        T2,
    );
    let mut edited = obj.clone();
    edited["data"] = json!({});
    let obj = update(Some(&obj), &edited, "editor", T3);
    assert!(entry(&obj, "applier", "Apply").is_none());
    assert_eq!(
        fields(&obj, "creator", "Update"),
        json!({"f:data": {}}),
        "the emptied map is still there"
    );
}

#[test]
fn a_noop_update_keeps_times() {
    let obj = update(None, &cm(json!({"a": "1"})), "creator", T1);
    let again = update(Some(&obj), &obj, "creator", T2);
    assert_eq!(again, obj);
    let other = update(Some(&obj), &obj, "someone-else", T3);
    assert_eq!(
        other, obj,
        "a write that changes nothing gives its writer nothing"
    );
}

#[test]
fn managed_fields_can_be_reset() {
    let obj = update(None, &cm(json!({"a": "1"})), "creator", T1);
    // The docs' reset: a list with one empty entry (an empty list resets too, as upstream).
    for reset in [json!([{}]), json!([])] {
        let mut req = obj.clone();
        req["metadata"]["managedFields"] = reset;
        let after = update(Some(&obj), &req, "resetter", T2);
        assert!(after["metadata"].get("managedFields").is_none(), "{after}");
    }
}

#[test]
fn a_request_without_managed_fields_keeps_the_live_ones() {
    let obj = update(None, &cm(json!({"a": "1"})), "creator", T1);
    let mut req = obj.clone();
    if let Some(m) = req["metadata"].as_object_mut() {
        m.remove("managedFields");
    }
    req["data"]["b"] = json!("2");
    let after = update(Some(&obj), &req, "editor", T2);
    assert_eq!(managers(&after), vec!["creator", "editor"]);
}

#[test]
fn status_writes_are_entries_of_their_own() {
    let types = builtin_type_info("", "ConfigMap");
    let obj = update(None, &cm(json!({"a": "1"})), "ctl", T1);
    let mut new = obj.clone();
    new["data"]["a"] = json!("2");
    let obj = update_managed_fields(
        Some(&obj),
        &new,
        "ctl",
        Some("status"),
        "v1",
        T2,
        types.as_ref(),
    );
    let entries = obj["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1]["subresource"], "status");
}

#[test]
fn update_managers_are_capped_at_ten() {
    let mut obj = update(None, &cm(json!({})), "creator", T1);
    for i in 0..12 {
        let mut new = obj.clone();
        new["data"][format!("k{i}")] = json!("v");
        obj = update(
            Some(&obj),
            &new,
            &format!("m{i:02}"),
            &format!("2024-05-01T10:00:{i:02}Z"),
        );
    }
    let names = managers(&obj);
    assert_eq!(names.len(), 10);
    assert!(names.contains(&"ancient-changes".to_owned()), "{names:?}");
}
