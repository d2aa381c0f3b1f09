//! Strategic merge patch on Services and Pods, with the built-in type information.

use crate::builtin_types::builtin_type_info;
use crate::patch::{PatchError, strategic_merge_patch};
use serde_json::{Value, json};

fn smp(kind: &str, target: &Value, patch: Value) -> Result<Value, PatchError> {
    strategic_merge_patch(target, &patch, builtin_type_info("", kind).as_ref())
}

fn service() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s", "finalizers": ["x", "y", "z"]},
        "spec": {
            "selector": {"app": "a"},
            "ports": [{"port": 80, "name": "http", "targetPort": 8080}, {"port": 443, "name": "https"}]
        }
    })
}

fn pod() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "containers": [
                {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]},
                {"name": "b", "image": "b:1"}
            ],
            "tolerations": [{"key": "k", "operator": "Exists"}],
            "volumes": [{"name": "v", "emptyDir": {}}]
        }
    })
}

fn names(list: &Value, key: &str) -> Vec<Value> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|i| i[key].clone())
        .collect()
}

#[test]
fn service_ports_merge_by_port() {
    let patched = smp(
        "Service",
        &service(),
        json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}),
    )
    .expect("patch");
    assert_eq!(
        patched["spec"]["ports"],
        json!([{"port": 80, "name": "http", "targetPort": 9090}, {"port": 443, "name": "https"}])
    );
}

#[test]
fn new_items_come_first_as_upstream_orders_them() {
    // mergeSortedSlice puts patch items not in the live list before the server-only items.
    let patched = smp(
        "Service",
        &service(),
        json!({"spec": {"ports": [{"port": 8443, "name": "alt"}]}}),
    )
    .expect("patch");
    assert_eq!(
        names(&patched["spec"]["ports"], "port"),
        vec![json!(8443), json!(80), json!(443)]
    );
    let patched = smp(
        "Service",
        &service(),
        json!({"metadata": {"finalizers": ["w", "y"]}}),
    )
    .expect("patch");
    assert_eq!(
        patched["metadata"]["finalizers"],
        json!(["w", "x", "y", "z"])
    );
}

#[test]
fn patch_directives_on_list_items() {
    let deleted = smp(
        "Service",
        &service(),
        json!({"spec": {"ports": [{"port": 443, "$patch": "delete"}]}}),
    )
    .expect("patch");
    assert_eq!(names(&deleted["spec"]["ports"], "port"), vec![json!(80)]);
    let replaced = smp(
        "Service",
        &service(),
        json!({"spec": {"ports": [{"$patch": "replace"}, {"port": 9000}]}}),
    )
    .expect("patch");
    assert_eq!(replaced["spec"]["ports"], json!([{"port": 9000}]));
    let err = smp(
        "Service",
        &service(),
        json!({"spec": {"ports": [{"$patch": "merge"}]}}),
    )
    .expect_err("merge directive");
    assert_eq!(
        err,
        PatchError::Merge("merging lists cannot yet be specified in the patch".into())
    );
}

#[test]
fn patch_directives_on_maps() {
    let replaced = smp(
        "Service",
        &service(),
        json!({"spec": {"selector": {"$patch": "replace", "tier": "web"}}}),
    )
    .expect("patch");
    assert_eq!(replaced["spec"]["selector"], json!({"tier": "web"}));
    let deleted = smp("Service", &service(), json!({"spec": {"$patch": "delete"}})).expect("patch");
    assert_eq!(
        deleted["spec"],
        json!({}),
        "upstream turns a deleted map into an empty one"
    );
    // A map the live object lacks is stored as patched, and typed decoding drops `$patch`.
    let patched = smp(
        "Service",
        &service(),
        json!({"metadata": {"labels": {"$patch": "frob"}}}),
    )
    .expect("patch");
    assert_eq!(patched["metadata"]["labels"], json!({}));
    let err = smp(
        "Service",
        &service(),
        json!({"spec": {"selector": {"$patch": "frob"}}}),
    )
    .expect_err("unknown directive");
    assert_eq!(
        err.message(),
        "unknown patch type: frob in map: map[$patch:frob]"
    );
    assert_eq!((err.code(), err.reason()), (500, ""));
}

#[test]
fn null_deletes_and_primitive_list_deletion() {
    let patched = smp(
        "Service",
        &service(),
        json!({"spec": {"selector": null}, "metadata": {"$deleteFromPrimitiveList/finalizers": ["y", "nope"]}}),
    )
    .expect("patch");
    assert!(patched["spec"].get("selector").is_none());
    assert_eq!(patched["metadata"]["finalizers"], json!(["x", "z"]));
    let err = smp(
        "Service",
        &service(),
        json!({"metadata": {"$deleteFromPrimitiveList": ["y"]}}),
    )
    .expect_err("no field");
    assert_eq!(
        (err.code(), err.message()),
        (400, "invalid patch format of primitive list".to_owned())
    );
}

#[test]
fn pod_containers_merge_by_name() {
    let patched = smp(
        "Pod",
        &pod(),
        json!({"spec": {"containers": [{"name": "a", "image": "a:2", "env": [{"name": "Y", "value": "2"}]}]}}),
    )
    .expect("patch");
    let a = &patched["spec"]["containers"][0];
    assert_eq!(a["image"], "a:2");
    assert_eq!(
        names(&a["env"], "name"),
        vec![json!("Y"), json!("X")],
        "env merges by name too"
    );
    assert_eq!(
        patched["spec"]["containers"][1],
        json!({"name": "b", "image": "b:1"})
    );
}

#[test]
fn atomic_lists_are_replaced() {
    let patched = smp(
        "Pod",
        &pod(),
        json!({"spec": {"tolerations": [{"key": "other", "operator": "Exists"}]}}),
    )
    .expect("patch");
    assert_eq!(
        patched["spec"]["tolerations"],
        json!([{"key": "other", "operator": "Exists"}])
    );
}

#[test]
fn set_element_order_orders_the_merged_list() {
    let patched = smp(
        "Pod",
        &pod(),
        json!({"spec": {
            "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}, {"name": "c"}],
            "containers": [{"name": "c", "image": "c:1"}]
        }}),
    )
    .expect("patch");
    assert_eq!(
        names(&patched["spec"]["containers"], "name"),
        vec![json!("b"), json!("a"), json!("c")]
    );
    let err = smp(
        "Pod",
        &pod(),
        json!({"spec": {"$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "c", "image": "c:1"}]}}),
    )
    .expect_err("order does not cover the patch");
    assert!(
        err.message().starts_with("The order in patch list:"),
        "{err}"
    );
}

#[test]
fn retain_keys_clears_other_fields() {
    let patched = smp(
        "Pod",
        &pod(),
        json!({"spec": {"volumes": [{"name": "v", "$retainKeys": ["name", "configMap"], "configMap": {"name": "cm"}}]}}),
    )
    .expect("patch");
    assert_eq!(
        patched["spec"]["volumes"],
        json!([{"name": "v", "configMap": {"name": "cm"}}])
    );
    let err = smp(
        "Pod",
        &pod(),
        json!({"spec": {"volumes": [{"name": "v", "$retainKeys": ["name"], "secret": {}}]}}),
    )
    .expect_err("patch sets a key it does not retain");
    assert_eq!(
        (err.code(), err.message()),
        (400, "invalid patch format of retainKeys".to_owned())
    );
}

#[test]
fn malformed_patches() {
    let err = smp(
        "Service",
        &service(),
        json!({"spec": {"ports": [{"name": "x"}]}}),
    )
    .expect_err("no merge key");
    assert_eq!(
        err.message(),
        "map: map[name:x] does not contain declared merge key: port"
    );
    let err = smp(
        "Service",
        &service(),
        json!({"metadata": {"finalizers": [["a"]]}}),
    )
    .expect_err("list of lists");
    assert_eq!(
        (err.code(), err.message()),
        (422, crate::patch::UNPROCESSABLE_MESSAGE.to_owned())
    );
    let err = smp("Service", &service(), json!([1])).expect_err("not an object");
    assert_eq!(
        err,
        PatchError::BadRequest(
            "json: cannot unmarshal array into Go value of type map[string]interface {}".into()
        )
    );
    assert_eq!(smp("Service", &service(), json!(null)), Ok(service()));
}

#[test]
fn values_new_to_the_object_lose_their_directives() {
    let patched = smp(
        "Service",
        &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}),
        json!({"spec": {"ports": [{"port": 1}, {"port": 2, "$patch": "delete"}], "selector": {"a": "b", "c": null}}}),
    )
    .expect("patch");
    assert_eq!(
        patched["spec"],
        json!({"ports": [{"port": 1}], "selector": {"a": "b"}})
    );
}
