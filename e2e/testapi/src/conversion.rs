//! Kinds that two API groups serve from one storage: `events.k8s.io/v1` Events are core
//! `v1` Events underneath (as in kube-apiserver), so `kubectl get events` shows what kube-rs's
//! event recorder wrote through events.k8s.io.

use crate::registry::ResourceDef;
use serde_json::{Map, Value};

/// events.k8s.io/v1 field ↔ core/v1 field; the fields not listed keep their names.
const EVENT_FIELDS: [(&str, &str); 8] = [
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("reportingInstance", "reportingInstance"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

fn is_events_k8s_io(def: &ResourceDef) -> bool {
    def.group == "events.k8s.io" && def.plural == "events"
}

/// Where `def`'s objects are stored when another group owns the storage.
pub fn storage_group(def: &ResourceDef) -> Option<&'static str> {
    is_events_k8s_io(def).then_some("")
}

fn rename(object: Value, pairs: impl Iterator<Item = (&'static str, &'static str)>) -> Value {
    let Value::Object(mut map) = object else {
        return object;
    };
    let mut renamed = Map::new();
    for (from, to) in pairs {
        if let Some(value) = map.remove(from) {
            renamed.insert(to.to_owned(), value);
        }
    }
    map.extend(renamed);
    Value::Object(map)
}

/// The stored object in `def`'s shape.
pub fn from_storage(def: &ResourceDef, stored: Value) -> Value {
    if is_events_k8s_io(def) {
        rename(stored, EVENT_FIELDS.iter().map(|(new, old)| (*old, *new)))
    } else {
        stored
    }
}

/// An object in `def`'s shape, in the shape it is stored in.
pub fn to_storage(def: &ResourceDef, object: Value) -> Value {
    if is_events_k8s_io(def) {
        let mut stored = rename(object, EVENT_FIELDS.iter().copied());
        stored["apiVersion"] = Value::String("v1".into());
        stored["kind"] = Value::String("Event".into());
        stored
    } else {
        object
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;
    use serde_json::json;

    #[test]
    fn events_round_trip_between_groups() {
        let registry = Registry::with_builtins();
        let new = registry
            .get("events.k8s.io", "v1", "events")
            .expect("events.k8s.io");
        let event = json!({
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": { "name": "e1", "namespace": "default" },
            "regarding": { "kind": "Service", "name": "web" },
            "note": "assigned 203.0.113.10",
            "reason": "IPAllocated",
            "type": "Normal",
            "reportingController": "ferrule-lbipam",
        });
        let stored = to_storage(&new, event.clone());
        assert_eq!(stored["apiVersion"], "v1");
        assert_eq!(stored["message"], "assigned 203.0.113.10");
        assert_eq!(stored["involvedObject"]["name"], "web");
        assert_eq!(stored["reportingComponent"], "ferrule-lbipam");
        assert_eq!(stored["reason"], "IPAllocated");
        let mut back = from_storage(&new, stored);
        back["apiVersion"] = json!("events.k8s.io/v1");
        assert_eq!(back, event);
    }
}
