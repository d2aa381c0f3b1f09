//! Removing the fields and items of a field set from an object (structured-merge-diff
//! `typed/remove.go`).

use super::fieldset::FieldSet;
use super::path::PathElement;
use super::walk::{Shape, child_steps, field_step, item_element, shape};
use crate::typeinfo::{Step, TypeInfo};
use serde_json::{Map, Value};

/// What becomes of a container whose every entry was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Emptied {
    /// It becomes null, as upstream: pruning computes field sets of intermediate objects, and
    /// a null field is still a (member) field there, which keeps its parent from being pruned.
    Null,
    /// It disappears, for the object that is finally stored: a built-in object decodes such a
    /// null into an absent field, and we store JSON.
    Drop,
}

/// `v` without the members of `set`.
pub(crate) fn remove_items(
    v: &Value,
    set: &FieldSet,
    types: &dyn TypeInfo,
    emptied: Emptied,
) -> Value {
    remove_at(v, set, &[], types, emptied).unwrap_or_else(|| Value::Object(Map::new()))
}

/// `None` when a container lost every entry.
fn remove_at(
    v: &Value,
    set: &FieldSet,
    steps: &[Step],
    types: &dyn TypeInfo,
    emptied: Emptied,
) -> Option<Value> {
    match shape(v, steps, types) {
        // Removal below a leaf (an atomic container) cannot be expressed; the leaf stays.
        Shape::Leaf => Some(v.clone()),
        Shape::Map(m) if m.is_empty() => Some(v.clone()),
        Shape::List([], _) => Some(v.clone()),
        Shape::Map(m) => {
            let mut out = Map::new();
            for (k, child) in m {
                let pe = PathElement::Field(k.clone());
                if set.members.contains(&pe) {
                    continue;
                }
                let subset = set.with_prefix(&pe);
                if subset.is_empty() {
                    out.insert(k.clone(), child.clone());
                    continue;
                }
                let cs = child_steps(steps, field_step(steps, k, types));
                match (remove_at(child, &subset, &cs, types, emptied), emptied) {
                    (Some(kept), _) => {
                        out.insert(k.clone(), kept);
                    }
                    (None, Emptied::Null) => {
                        out.insert(k.clone(), Value::Null);
                    }
                    (None, Emptied::Drop) => {}
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Shape::List(items, kind) => {
            let item_steps = child_steps(steps, Step::Item);
            let mut out = Vec::new();
            for item in items {
                let Ok(pe) = item_element(item, &kind, steps, types) else {
                    out.push(item.clone());
                    continue;
                };
                if set.members.contains(&pe) {
                    continue;
                }
                let subset = set.with_prefix(&pe);
                if subset.is_empty() {
                    out.push(item.clone());
                    continue;
                }
                match (
                    remove_at(item, &subset, &item_steps, types, emptied),
                    emptied,
                ) {
                    (Some(kept), _) => out.push(kept),
                    (None, Emptied::Null) => out.push(Value::Null),
                    // An item stays an item (its key fields are never removed with their
                    // siblings in practice); an emptied one is dropped like an emptied field.
                    (None, Emptied::Drop) => {}
                }
            }
            (!out.is_empty()).then_some(Value::Array(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssa::path::Path;
    use crate::typeinfo::{ListType, MapType};
    use serde_json::json;

    struct Types;
    impl TypeInfo for Types {
        fn list_type(&self, _: &[Step]) -> ListType {
            ListType::Map(vec!["name".into()])
        }
        fn map_type(&self, _: &[Step]) -> MapType {
            MapType::Granular
        }
    }

    #[test]
    fn removes_members_and_empties() {
        let obj = json!({"a": {"b": 1}, "c": 2, "items": [{"name": "x", "v": 1}, {"name": "y"}]});
        let set = FieldSet::from_paths(&[
            Path::fields(&["a", "b"]),
            Path(vec![
                PathElement::Field("items".into()),
                PathElement::key(vec![("name".into(), json!("y"))]),
            ]),
        ]);
        assert_eq!(
            remove_items(&obj, &set, &Types, Emptied::Null),
            json!({"a": null, "c": 2, "items": [{"name": "x", "v": 1}]})
        );
        assert_eq!(
            remove_items(&obj, &set, &Types, Emptied::Drop),
            json!({"c": 2, "items": [{"name": "x", "v": 1}]})
        );
    }
}
