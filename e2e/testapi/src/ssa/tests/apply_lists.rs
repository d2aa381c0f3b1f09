//! Map-lists merged by key and sets merged by value, with per-item ownership.

use super::{T1, T2, T3, applied, fields};
use serde_json::{Value, json};

fn svc(ports: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "default"}, "spec": {"ports": ports}})
}

#[test]
fn two_managers_each_own_their_port() {
    let obj = applied(
        None,
        &svc(json!([{"port": 80, "protocol": "TCP", "name": "http"}])),
        "alice",
        T1,
    );
    let obj = applied(
        Some(&obj),
        &svc(json!([{"port": 443, "name": "https"}])),
        "bob",
        T2,
    );
    assert_eq!(
        obj["spec"]["ports"],
        json!([{"port": 80, "protocol": "TCP", "name": "http"}, {"port": 443, "name": "https"}])
    );
    // The key of a port without protocol uses the schema default, TCP.
    assert_eq!(
        fields(&obj, "bob", "Apply"),
        json!({"f:spec": {"f:ports": {"k:{\"port\":443,\"protocol\":\"TCP\"}": {".": {}, "f:name": {}, "f:port": {}}}}})
    );
    assert_eq!(
        fields(&obj, "alice", "Apply"),
        json!({"f:spec": {"f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:name": {}, "f:port": {}, "f:protocol": {}}}}})
    );
    // Alice gives up her port: it goes, bob's stays.
    let obj = applied(Some(&obj), &svc(json!([])), "alice", T3);
    assert_eq!(
        obj["spec"]["ports"],
        json!([{"port": 443, "name": "https"}])
    );
    assert_eq!(fields(&obj, "alice", "Apply"), serde_json::Value::Null);
}

#[test]
fn same_port_different_protocol_are_different_items() {
    let obj = applied(
        None,
        &svc(json!([{"port": 53, "protocol": "UDP"}])),
        "a",
        T1,
    );
    let obj = applied(
        Some(&obj),
        &svc(json!([{"port": 53, "protocol": "TCP"}])),
        "b",
        T2,
    );
    assert_eq!(obj["spec"]["ports"].as_array().map(Vec::len), Some(2));
}

#[test]
fn conditions_of_two_controllers_merge_by_type() {
    let status = |conditions: Value| json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "status": {"conditions": conditions}});
    let cond = |t: &str| json!({"type": t, "status": "True", "reason": "R", "message": "m", "lastTransitionTime": T1});
    let obj = applied(None, &status(json!([cond("A")])), "ctl-a", T1);
    let obj = applied(Some(&obj), &status(json!([cond("B")])), "ctl-b", T2);
    assert_eq!(obj["status"]["conditions"], json!([cond("A"), cond("B")]));
    let obj = applied(Some(&obj), &status(json!([cond("A")])), "ctl-a", T3);
    assert_eq!(
        obj["status"]["conditions"],
        json!([cond("A"), cond("B")]),
        "re-applying A leaves B alone"
    );
}

#[test]
fn finalizers_are_a_set() {
    let cm = |finalizers: Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": finalizers}});
    let obj = applied(None, &cm(json!(["a.example/one"])), "one", T1);
    let obj = applied(Some(&obj), &cm(json!(["b.example/two"])), "two", T2);
    assert_eq!(
        obj["metadata"]["finalizers"],
        json!(["a.example/one", "b.example/two"])
    );
    assert_eq!(
        fields(&obj, "two", "Apply"),
        json!({"f:metadata": {"f:finalizers": {"v:\"b.example/two\"": {}}}})
    );
    let obj = applied(Some(&obj), &cm(json!([])), "one", T3);
    assert_eq!(obj["metadata"]["finalizers"], json!(["b.example/two"]));
}

#[test]
fn atomic_lists_are_replaced_and_owned_whole() {
    let ips = |ips: Value| json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"externalIPs": ips}});
    let obj = applied(None, &ips(json!(["192.0.2.1", "192.0.2.2"])), "a", T1);
    assert_eq!(
        fields(&obj, "a", "Apply"),
        json!({"f:spec": {"f:externalIPs": {}}})
    );
    let result = super::apply_v1(Some(&obj), &ips(json!(["192.0.2.3"])), "b", false, T2);
    assert!(
        result.is_err(),
        "another manager's atomic list conflicts as a whole"
    );
    let obj = applied(Some(&obj), &ips(json!(["198.51.100.1"])), "a", T2);
    assert_eq!(obj["spec"]["externalIPs"], json!(["198.51.100.1"]));
}

#[test]
fn pod_containers_merge_by_name_and_ports_by_port_and_protocol() {
    let pod = |containers: Value| json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}});
    let obj = applied(
        None,
        &pod(json!([{"name": "app", "image": "app:1", "ports": [{"containerPort": 80}]}])),
        "a",
        T1,
    );
    let obj = applied(
        Some(&obj),
        &pod(json!([{"name": "sidecar", "image": "proxy:1"}])),
        "b",
        T2,
    );
    let names: Vec<&str> = obj["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, vec!["app", "sidecar"]);
    assert_eq!(
        fields(&obj, "a", "Apply"),
        json!({"f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {
            ".": {}, "f:image": {}, "f:name": {},
            "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}
        }}}})
    );
}
