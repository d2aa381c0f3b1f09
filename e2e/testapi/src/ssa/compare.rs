//! Which fields changed between two versions of an object (structured-merge-diff
//! `typed/compare.go`): leaves added, removed or modified, and containers (granular maps,
//! associative lists and their items) added or removed as a whole.

use super::fieldset::FieldSet;
use super::path::PathElement;
use super::value;
use super::walk::{Shape, child_steps, field_step, item_element, shape};
use crate::typeinfo::{Step, TypeInfo};
use serde_json::Value;
use std::collections::BTreeMap;

/// The fields that differ between an old and a new object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// In the old object only.
    pub removed: FieldSet,
    /// In both, with different values (leaves only).
    pub modified: FieldSet,
    /// In the new object only.
    pub added: FieldSet,
}

impl Comparison {
    /// Whether nothing changed.
    pub fn is_same(&self) -> bool {
        self.removed.is_empty() && self.modified.is_empty() && self.added.is_empty()
    }
}

/// Compares `old` with `new`.
pub fn compare(old: &Value, new: &Value, types: &dyn TypeInfo) -> Comparison {
    let mut cmp = Comparison::default();
    compare_at(Some(old), Some(new), &[], &mut Vec::new(), types, &mut cmp);
    cmp
}

fn compare_at(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    steps: &[Step],
    path: &mut Vec<PathElement>,
    types: &dyn TypeInfo,
    cmp: &mut Comparison,
) {
    let ls = lhs.map(|v| shape(v, steps, types));
    let rs = rhs.map(|v| shape(v, steps, types));
    match (ls, rs) {
        (None, None) => {}
        (Some(l), Some(r)) if !l.same_kind(&r) => {
            // A type change: what the old container held is gone, what the new one holds is
            // new, and the place itself counts as modified.
            mismatched_side(&l, true, steps, path, types, cmp);
            mismatched_side(&r, false, steps, path, types, cmp);
        }
        (l, r) => {
            let kind = r.as_ref().or(l.as_ref());
            let in_leaf = match kind {
                Some(Shape::Leaf) => true,
                Some(Shape::Map(_)) | Some(Shape::List(..)) => {
                    let both_empty = l.as_ref().is_none_or(Shape::is_empty_container)
                        && r.as_ref().is_none_or(Shape::is_empty_container);
                    if both_empty {
                        true
                    } else {
                        visit_children(l.as_ref(), r.as_ref(), steps, path, types, cmp);
                        false
                    }
                }
                None => return,
            };
            if in_leaf {
                match (lhs, rhs) {
                    (None, _) => cmp.added.insert(path),
                    (_, None) => cmp.removed.insert(path),
                    (Some(a), Some(b)) if !value::equals(a, b) => cmp.modified.insert(path),
                    _ => {}
                }
            } else if lhs.is_none() {
                cmp.added.insert(path);
            } else if rhs.is_none() {
                cmp.removed.insert(path);
            }
        }
    }
}

/// One side of a type change: an empty container or a leaf marks the place modified, a
/// container with entries has them all removed (old side) or added (new side).
fn mismatched_side(
    s: &Shape<'_>,
    old_side: bool,
    steps: &[Step],
    path: &mut Vec<PathElement>,
    types: &dyn TypeInfo,
    cmp: &mut Comparison,
) {
    if matches!(s, Shape::Leaf) || s.is_empty_container() {
        cmp.modified.insert(path);
    } else if old_side {
        visit_children(Some(s), None, steps, path, types, cmp);
    } else {
        visit_children(None, Some(s), steps, path, types, cmp);
    }
}

fn visit_children(
    l: Option<&Shape<'_>>,
    r: Option<&Shape<'_>>,
    steps: &[Step],
    path: &mut Vec<PathElement>,
    types: &dyn TypeInfo,
    cmp: &mut Comparison,
) {
    match (l, r) {
        (Some(Shape::Map(_)) | None, Some(Shape::Map(_)) | None) => {
            let lm = match l {
                Some(Shape::Map(m)) => Some(*m),
                _ => None,
            };
            let rm = match r {
                Some(Shape::Map(m)) => Some(*m),
                _ => None,
            };
            let mut keys: Vec<&String> = lm
                .into_iter()
                .flat_map(|m| m.keys())
                .chain(rm.into_iter().flat_map(|m| m.keys()))
                .collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let cs = child_steps(steps, field_step(steps, k, types));
                path.push(PathElement::Field(k.clone()));
                compare_at(
                    lm.and_then(|m| m.get(k)),
                    rm.and_then(|m| m.get(k)),
                    &cs,
                    path,
                    types,
                    cmp,
                );
                path.pop();
            }
        }
        _ => {
            let ll = match l {
                Some(Shape::List(items, kind)) => Some((*items, kind.clone())),
                _ => None,
            };
            let rl = match r {
                Some(Shape::List(items, kind)) => Some((*items, kind.clone())),
                _ => None,
            };
            compare_lists(ll, rl, steps, path, types, cmp);
        }
    }
}

type Indexed<'a> = (Vec<PathElement>, BTreeMap<PathElement, Vec<&'a Value>>);

fn index_items<'a>(
    list: Option<(&'a [Value], super::walk::Items)>,
    steps: &[Step],
    types: &dyn TypeInfo,
) -> Indexed<'a> {
    let mut order = Vec::new();
    let mut values: BTreeMap<PathElement, Vec<&Value>> = BTreeMap::new();
    if let Some((items, kind)) = list {
        for item in items {
            let Ok(pe) = item_element(item, &kind, steps, types) else {
                continue;
            };
            let entry = values.entry(pe.clone()).or_default();
            if entry.is_empty() {
                order.push(pe);
            }
            entry.push(item);
        }
    }
    (order, values)
}

/// Upstream's list comparison, including its treatment of duplicated items: duplicates are
/// compared as a whole, and a change between duplicated and unique counts as removal or
/// addition of the item.
fn compare_lists(
    l: Option<(&[Value], super::walk::Items)>,
    r: Option<(&[Value], super::walk::Items)>,
    steps: &[Step],
    path: &mut Vec<PathElement>,
    types: &dyn TypeInfo,
    cmp: &mut Comparison,
) {
    let (l_order, l_values) = index_items(l, steps, types);
    let (r_order, r_values) = index_items(r, steps, types);
    let mut all = l_order;
    all.extend(r_order.into_iter().filter(|pe| !l_values.contains_key(pe)));
    let item_steps = child_steps(steps, Step::Item);
    let empty = Vec::new();
    for pe in all {
        let ll = l_values.get(&pe).unwrap_or(&empty);
        let rl = r_values.get(&pe).unwrap_or(&empty);
        path.push(pe);
        match (ll.len(), rl.len()) {
            (0..=1, 0..=1) => compare_at(
                ll.first().copied(),
                rl.first().copied(),
                &item_steps,
                path,
                types,
                cmp,
            ),
            (2.., 2..) => {
                let same = ll.len() == rl.len()
                    && ll.iter().zip(rl.iter()).all(|(a, b)| value::equals(a, b));
                if !same {
                    cmp.modified.insert(path);
                }
            }
            (2.., _) => {
                if let Some(r0) = rl.first() {
                    compare_at(None, Some(r0), &item_steps, path, types, cmp);
                }
                cmp.removed.insert(path);
            }
            (_, _) => {
                if let Some(l0) = ll.first() {
                    compare_at(Some(l0), None, &item_steps, path, types, cmp);
                }
                cmp.added.insert(path);
            }
        }
        path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::typeinfo::{ListType, MapType};
    use serde_json::json;

    struct Types;
    impl TypeInfo for Types {
        fn list_type(&self, path: &[Step]) -> ListType {
            match path.last() {
                Some(Step::Field(f)) if f == "ports" => ListType::Map(vec!["port".into()]),
                _ => ListType::Atomic,
            }
        }
        fn map_type(&self, _: &[Step]) -> MapType {
            MapType::Granular
        }
    }

    fn rendered(set: &FieldSet) -> Vec<String> {
        set.paths().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn leaves_and_containers() {
        let old =
            json!({"spec": {"a": 1, "b": 2, "ports": [{"port": 80, "name": "x"}], "args": [1]}});
        let new =
            json!({"spec": {"a": 1, "b": 3, "c": {"d": 1}, "ports": [{"port": 81}], "args": [2]}});
        let cmp = compare(&old, &new, &Types);
        assert_eq!(rendered(&cmp.modified), vec![".spec.args", ".spec.b"]);
        assert_eq!(
            rendered(&cmp.added),
            vec![
                ".spec.c",
                ".spec.c.d",
                ".spec.ports[port=81]",
                ".spec.ports[port=81].port"
            ]
        );
        assert_eq!(
            rendered(&cmp.removed),
            vec![
                ".spec.ports[port=80]",
                ".spec.ports[port=80].name",
                ".spec.ports[port=80].port"
            ]
        );
        assert!(compare(&old, &old, &Types).is_same());
    }

    #[test]
    fn int_and_float_are_the_same_value() {
        assert!(compare(&json!({"a": 1}), &json!({"a": 1.0}), &Types).is_same());
    }

    #[test]
    fn type_change_is_a_modification() {
        let cmp = compare(&json!({"a": {"b": 1}}), &json!({"a": "x"}), &Types);
        assert_eq!(rendered(&cmp.modified), vec![".a"]);
        assert_eq!(rendered(&cmp.removed), vec![".a.b"]);
    }
}
