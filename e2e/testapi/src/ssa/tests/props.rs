//! Properties over generated objects: FieldsV1 round trips, apply idempotence, and that two
//! managers of disjoint fields never disturb each other.

use super::{T1, T2, T3, apply_v1};
use crate::builtin_types::builtin_type_info;
use crate::ssa::{FieldSet, field_set_of};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn small_map(prefix: &'static str) -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("[a-z]{1,3}", "[a-z0-9<&\"]{0,4}", 0..5).prop_map(move |m| {
        m.into_iter()
            .map(|(k, v)| (format!("{prefix}{k}"), Value::String(v)))
            .collect()
    })
}

fn ports() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::btree_set((1u16..200, prop::bool::ANY), 0..4).prop_map(|set| {
        set.into_iter()
            .map(|(port, udp)| {
                let mut p = json!({"port": port, "name": format!("p{port}")});
                if udp {
                    p["protocol"] = json!("UDP");
                }
                p
            })
            .collect()
    })
}

fn service(labels: Map<String, Value>, ports: Vec<Value>) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "s", "namespace": "default", "labels": labels},
        "spec": {"ports": ports}
    })
}

proptest! {
    #[test]
    fn fields_v1_round_trips(labels in small_map("l"), ports in ports()) {
        let set = field_set_of(&service(labels, ports), builtin_type_info("", "Service").as_ref());
        let value = set.to_fields_v1();
        prop_assert_eq!(FieldSet::from_fields_v1(&value).ok(), Some(set.clone()));
        let text: Value = serde_json::from_str(&set.to_fields_v1_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(text, value);
    }

    #[test]
    fn reapplying_is_a_noop(labels in small_map("l"), ports in ports()) {
        let config = service(labels, ports);
        let first = apply_v1(None, &config, "m", false, T1).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let second = apply_v1(Some(&first), &config, "m", false, T2).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(second, first);
    }

    #[test]
    fn disjoint_managers_do_not_interfere(a in small_map("a-"), b in small_map("b-"), a2 in small_map("a-")) {
        let cm = |data: &Map<String, Value>| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data});
        let obj = apply_v1(None, &cm(&a), "alice", false, T1).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let obj = apply_v1(Some(&obj), &cm(&b), "bob", false, T2).map_err(|e| TestCaseError::fail(e.to_string()))?;
        // Alice changes her mind entirely: bob's keys stay, alice's become exactly a2.
        let obj = apply_v1(Some(&obj), &cm(&a2), "alice", false, T3).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut expected = b.clone();
        expected.extend(a2.clone());
        let data = obj.get("data").cloned().unwrap_or_else(|| json!({}));
        prop_assert_eq!(data, Value::Object(expected));
    }
}
