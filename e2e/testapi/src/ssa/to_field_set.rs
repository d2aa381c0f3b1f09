//! Which fields an object sets (structured-merge-diff `typed/tofieldset.go`), and the
//! "named fields are members" widening that pruning uses (`Set.EnsureNamedFieldsAreMembers`).

use super::fieldset::FieldSet;
use super::path::PathElement;
use super::walk::{Shape, field_step, item_element, shape};
use crate::typeinfo::{Step, TypeInfo};
use serde_json::Value;
use std::collections::BTreeSet;

/// The field set of `v`: every leaf (scalar, null, atomic map or list), every item of an
/// associative list, every key of a string map, and every empty or null field. Items whose
/// path element cannot be built are skipped (validate first to report them).
pub fn field_set_of(v: &Value, types: &dyn TypeInfo) -> FieldSet {
    let mut set = FieldSet::new();
    walk(v, &mut Vec::new(), &mut Vec::new(), types, &mut set);
    set
}

fn walk(
    v: &Value,
    steps: &mut Vec<Step>,
    path: &mut Vec<PathElement>,
    types: &dyn TypeInfo,
    set: &mut FieldSet,
) {
    match shape(v, steps, types) {
        Shape::Leaf => set.insert(path),
        Shape::Map(m) => {
            for (k, child) in m {
                let step = field_step(steps, k, types);
                let declared = matches!(step, Step::Field(_));
                steps.push(step);
                path.push(PathElement::Field(k.clone()));
                walk(child, steps, path, types, set);
                let empty = match child {
                    Value::Null => true,
                    Value::Object(o) => o.is_empty(),
                    _ => false,
                };
                if empty || !declared {
                    set.insert(path);
                }
                path.pop();
                steps.pop();
            }
        }
        Shape::List(items, kind) => {
            let pes: Vec<Option<PathElement>> = items
                .iter()
                .map(|item| item_element(item, &kind, steps, types).ok())
                .collect();
            // Duplicated items are owned as a whole, not field by field.
            let mut seen = BTreeSet::new();
            let mut duplicates = BTreeSet::new();
            for pe in pes.iter().flatten() {
                if !seen.insert(pe.clone()) {
                    duplicates.insert(pe.clone());
                }
            }
            for pe in &duplicates {
                path.push(pe.clone());
                set.insert(path);
                path.pop();
            }
            steps.push(Step::Item);
            for (item, pe) in items.iter().zip(pes) {
                let Some(pe) = pe else { continue };
                if duplicates.contains(&pe) {
                    continue;
                }
                path.push(pe);
                walk(item, steps, path, types, set);
                set.insert(path);
                path.pop();
            }
            steps.pop();
        }
    }
}

/// `set` plus every declared (struct) field that has members below it: such a parent goes
/// away with its last owned child when pruning, while a string map's key is already a member
/// of its own.
pub(crate) fn ensure_named_fields_are_members(set: &FieldSet, types: &dyn TypeInfo) -> FieldSet {
    ensure_at(set, &mut Vec::new(), types)
}

fn ensure_at(set: &FieldSet, steps: &mut Vec<Step>, types: &dyn TypeInfo) -> FieldSet {
    let mut out = FieldSet {
        members: set.members.clone(),
        children: Default::default(),
    };
    for (pe, child) in &set.children {
        let step = match pe {
            PathElement::Field(name) => {
                let step = field_step(steps, name, types);
                if matches!(step, Step::Field(_)) {
                    out.members.insert(pe.clone());
                }
                step
            }
            _ => Step::Item,
        };
        steps.push(step);
        out.children
            .insert(pe.clone(), ensure_at(child, steps, types));
        steps.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::typeinfo::{ListType, MapType, Untyped};
    use serde_json::json;

    /// `spec.ports` is a map-list keyed by port and protocol, `spec.tags` a set,
    /// `metadata.labels` a string map; everything else is a struct.
    struct Types;
    impl TypeInfo for Types {
        fn list_type(&self, path: &[Step]) -> ListType {
            match path {
                [Step::Field(a), Step::Field(b)] if a == "spec" && b == "ports" => {
                    ListType::Map(vec!["port".into(), "protocol".into()])
                }
                [Step::Field(a), Step::Field(b)] if a == "spec" && b == "tags" => ListType::Set,
                _ => ListType::Atomic,
            }
        }
        fn map_type(&self, _: &[Step]) -> MapType {
            MapType::Granular
        }
        fn is_declared_field(&self, path: &[Step], _: &str) -> bool {
            !matches!(path, [Step::Field(a), Step::Field(b)] if a == "metadata" && b == "labels")
        }
        fn key_default(&self, _: &[Step], key: &str) -> Option<Value> {
            (key == "protocol").then(|| json!("TCP"))
        }
    }

    #[test]
    fn fields_of_an_object() {
        let obj = json!({
            "metadata": {"labels": {"app": "x"}},
            "spec": {
                "ports": [{"port": 80, "name": "http"}],
                "tags": ["a", "b"],
                "args": ["x", "y"],
                "empty": {},
            }
        });
        let set = field_set_of(&obj, &Types);
        assert_eq!(
            set.to_fields_v1(),
            json!({
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:args": {},
                    "f:empty": {},
                    "f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:name": {}, "f:port": {}}},
                    "f:tags": {"v:\"a\"": {}, "v:\"b\"": {}},
                }
            })
        );
    }

    #[test]
    fn schemaless_keys_are_members() {
        let set = field_set_of(&json!({"spec": {"a": 1}}), &Untyped);
        assert_eq!(set.to_fields_v1(), json!({"f:spec": {".": {}, "f:a": {}}}));
    }

    #[test]
    fn named_parents_become_members() {
        let set = field_set_of(
            &json!({"metadata": {"labels": {"app": "x"}}, "spec": {"x": {"y": 1}}}),
            &Types,
        );
        let widened = ensure_named_fields_are_members(&set, &Types);
        assert_eq!(
            widened.to_fields_v1(),
            json!({
                "f:metadata": {".": {}, "f:labels": {".": {}, "f:app": {}}},
                "f:spec": {".": {}, "f:x": {".": {}, "f:y": {}}},
            })
        );
    }
}
