//! JSON patch and JSON merge patch.

use crate::patch::{
    MAX_JSON_PATCH_OPERATIONS, PatchError, UNPROCESSABLE_MESSAGE, json_patch, merge_patch,
};
use serde_json::json;

fn cm() -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "1"}}, "data": {"k": "v"}})
}

#[test]
fn json_patch_operations() {
    let patched = json_patch(
        &cm(),
        &json!([
            {"op": "test", "path": "/data/k", "value": "v"},
            {"op": "add", "path": "/metadata/labels/b", "value": "2"},
            {"op": "replace", "path": "/data/k", "value": "w"},
            {"op": "remove", "path": "/metadata/labels/a"},
            {"op": "copy", "from": "/data/k", "path": "/data/copy"},
            {"op": "move", "from": "/data/copy", "path": "/data/moved"},
            {"op": "add", "path": "/metadata/finalizers", "value": []},
            {"op": "add", "path": "/metadata/finalizers/-", "value": "x"}
        ]),
    )
    .expect("patch applies");
    assert_eq!(patched["metadata"]["labels"], json!({"b": "2"}));
    assert_eq!(patched["data"], json!({"k": "w", "moved": "w"}));
    assert_eq!(patched["metadata"]["finalizers"], json!(["x"]));
    assert_eq!(
        json_patch(&cm(), &json!(null)),
        Ok(cm()),
        "null is an empty patch"
    );
}

#[test]
fn test_with_null_asserts_absence_as_evanphx_does() {
    let absent = json!([{"op": "test", "path": "/metadata/labels/missing", "value": null}, {"op": "add", "path": "/metadata/labels/missing", "value": "now"}]);
    let patched = json_patch(&cm(), &absent).expect("absent key tests as null");
    assert_eq!(patched["metadata"]["labels"]["missing"], "now");
    let present = json!([{"op": "test", "path": "/metadata/labels/a", "value": null}]);
    assert_eq!(json_patch(&cm(), &present).map_err(|e| e.code()), Err(422));
    let no_parent = json!([{"op": "test", "path": "/metadata/annotations/x", "value": null}]);
    assert_eq!(
        json_patch(&cm(), &no_parent).map_err(|e| e.code()),
        Err(422)
    );
}

#[test]
fn json_patch_that_does_not_apply_is_422_without_detail() {
    for patch in [
        json!([{"op": "test", "path": "/data/k", "value": "other"}]),
        json!([{"op": "remove", "path": "/spec/affinity"}]),
        json!([{"op": "replace", "path": "/data/missing", "value": 1}]),
        json!([{"op": "frobnicate", "path": "/data"}]),
        json!([{"op": "add", "path": "/data/x"}]),
    ] {
        let err = json_patch(&cm(), &patch).expect_err("does not apply");
        assert!(
            matches!(err, PatchError::Unprocessable { .. }),
            "{patch}: {err:?}"
        );
        assert_eq!(
            (err.code(), err.reason(), err.message().as_str()),
            (422, "Invalid", UNPROCESSABLE_MESSAGE)
        );
    }
    // A failed test leaves the object as it was: patches apply all or nothing.
    let err = json_patch(
        &cm(),
        &json!([{"op": "add", "path": "/data/x", "value": "1"}, {"op": "test", "path": "/data/k", "value": "no"}]),
    );
    assert!(err.is_err());
}

#[test]
fn malformed_json_patch_is_400_with_gos_decoding_error() {
    let err = json_patch(&cm(), &json!({"op": "add"})).expect_err("not a list");
    assert_eq!(
        err,
        PatchError::BadRequest(
            "json: cannot unmarshal object into Go value of type jsonpatch.Patch".into()
        )
    );
    assert_eq!((err.code(), err.reason()), (400, "BadRequest"));
    let err = json_patch(&cm(), &json!(["add"])).expect_err("not an operation");
    assert_eq!(
        err.message(),
        "json: cannot unmarshal string into Go value of type jsonpatch.Operation"
    );
}

#[test]
fn json_patch_limits_and_root_replacement() {
    let ops: Vec<_> = (0..=MAX_JSON_PATCH_OPERATIONS)
        .map(|_| json!({"op": "test", "path": "/kind", "value": "ConfigMap"}))
        .collect();
    let err = json_patch(&cm(), &serde_json::Value::Array(ops)).expect_err("too many operations");
    assert_eq!(
        (err.code(), err.message()),
        (
            413,
            "The allowed maximum operations in a JSON patch is 10000, got 10001".to_owned()
        )
    );
    let err = json_patch(&cm(), &json!([{"op": "replace", "path": "", "value": [1]}]))
        .expect_err("root replaced by a list");
    assert_eq!(err.code(), 422);
}

#[test]
fn merge_patch_basics() {
    let patched = merge_patch(
        &cm(),
        &json!({"metadata": {"labels": {"a": null, "b": "2"}}, "data": {"new": {"x": 1, "gone": null}}, "spec": [1, null]}),
    )
    .expect("merge patch");
    assert_eq!(patched["metadata"]["labels"], json!({"b": "2"}));
    // evanphx prunes nulls from values that land where nothing was, in lists too.
    assert_eq!(patched["data"], json!({"k": "v", "new": {"x": 1}}));
    assert_eq!(patched["spec"], json!([1]));
    let replaced = merge_patch(&cm(), &json!({"data": "now a string"})).expect("merge patch");
    assert_eq!(replaced["data"], "now a string");
}

#[test]
fn merge_patch_errors() {
    for bad in [json!(null), json!("x"), json!(3)] {
        assert_eq!(
            merge_patch(&cm(), &bad),
            Err(PatchError::BadRequest("Invalid JSON Patch".into()))
        );
    }
    let err = merge_patch(&cm(), &json!([1])).expect_err("a list replaces the object");
    assert_eq!(err.code(), 422);
    assert_eq!(
        err.message(),
        r#" "" is invalid: patch: Invalid value: "[1]": json: cannot unmarshal array into Go value of type map[string]interface {}"#
    );
}
