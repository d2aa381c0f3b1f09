//! Merging an applied configuration into a live object (structured-merge-diff
//! `typed/merge.go`): leaves take the configuration's value, granular maps merge key by key,
//! associative lists merge item by item, ordered the way upstream orders them.

use super::path::PathElement;
use super::walk::{Items, Shape, child_steps, field_step, item_element, shape};
use crate::typeinfo::{Step, TypeInfo};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// `lhs` with `rhs` merged in; no field is removed.
pub fn merge(lhs: &Value, rhs: &Value, types: &dyn TypeInfo) -> Value {
    merge_at(Some(lhs), Some(rhs), &[], types).unwrap_or(Value::Null)
}

fn merge_at(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    steps: &[Step],
    types: &dyn TypeInfo,
) -> Option<Value> {
    let (l, r) = match (lhs, rhs) {
        (None, None) => return None,
        // What only one side has is kept as it is.
        (Some(l), None) => return Some(l.clone()),
        (None, Some(r)) => return Some(r.clone()),
        (Some(l), Some(r)) => (l, r),
    };
    let ls = shape(l, steps, types);
    let rs = shape(r, steps, types);
    if !ls.same_kind(&rs) || (ls.is_empty_container() && rs.is_empty_container()) {
        return Some(r.clone());
    }
    match (ls, rs) {
        (Shape::Map(lm), Shape::Map(rm)) => Some(Value::Object(merge_maps(lm, rm, steps, types))),
        (Shape::List(ll, kind), Shape::List(rl, _)) => {
            Some(Value::Array(merge_lists(ll, rl, &kind, steps, types)))
        }
        _ => Some(r.clone()),
    }
}

fn merge_maps(
    lm: &Map<String, Value>,
    rm: &Map<String, Value>,
    steps: &[Step],
    types: &dyn TypeInfo,
) -> Map<String, Value> {
    let mut out = Map::new();
    let keys: BTreeSet<&String> = lm.keys().chain(rm.keys()).collect();
    for k in keys {
        let cs = child_steps(steps, field_step(steps, k, types));
        if let Some(v) = merge_at(lm.get(k), rm.get(k), &cs, types) {
            out.insert(k.clone(), v);
        }
    }
    out
}

/// The path elements of a list's items with their indexes, and each item by path element:
/// itself, or `None` when the list has it more than once (upstream does not merge duplicates
/// with the configuration's item).
type Observed<'a> = (
    Vec<(PathElement, usize)>,
    BTreeMap<PathElement, Option<&'a Value>>,
);

fn observe<'a>(
    items: &'a [Value],
    kind: &Items,
    steps: &[Step],
    types: &dyn TypeInfo,
) -> Observed<'a> {
    let mut pes = Vec::new();
    let mut observed: BTreeMap<PathElement, Option<&Value>> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let Ok(pe) = item_element(item, kind, steps, types) else {
            continue;
        };
        observed
            .entry(pe.clone())
            .and_modify(|seen| *seen = None)
            .or_insert(Some(item));
        pes.push((pe, i));
    }
    (pes, observed)
}

/// Upstream's `visitListItems` for merging: configuration items in configuration order, with
/// live-only items kept next to the items they followed.
fn merge_lists(
    lhs: &[Value],
    rhs: &[Value],
    kind: &Items,
    steps: &[Step],
    types: &dyn TypeInfo,
) -> Vec<Value> {
    let (rhs_pes, observed_rhs) = observe(rhs, kind, steps, types);
    let (lhs_pes, observed_lhs) = observe(lhs, kind, steps, types);
    let item_steps = child_steps(steps, Step::Item);
    let null = Value::Null;
    // The live item to merge with: itself, or null for a duplicated one.
    let live = |pe: &PathElement| -> Option<&Value> {
        observed_lhs.get(pe).map(|seen| seen.unwrap_or(&null))
    };
    let applied = |pe: &PathElement| -> Option<&Value> { observed_rhs.get(pe).copied().flatten() };

    let mut shared: VecDeque<&PathElement> = rhs_pes
        .iter()
        .map(|(pe, _)| pe)
        .filter(|pe| observed_lhs.contains_key(*pe))
        .collect();
    let mut next_shared = shared.pop_front();
    let mut merged_rhs: BTreeSet<&PathElement> = BTreeSet::new();
    let mut out = Vec::with_capacity(lhs.len().max(rhs.len()));
    let (mut li, mut ri) = (0, 0);
    while li < lhs_pes.len() || ri < rhs_pes.len() {
        if li < lhs_pes.len() && ri < rhs_pes.len() {
            let pe = &lhs_pes[li].0;
            if *pe == rhs_pes[ri].0 {
                merged_rhs.insert(pe);
                out.extend(merge_at(live(pe), applied(pe), &item_steps, types));
                li += 1;
                ri += 1;
                next_shared = shared.pop_front();
                continue;
            }
            if observed_rhs.contains_key(pe) && next_shared.is_some_and(|n| n != pe) {
                // A shared item, but not the one due in this round.
                li += 1;
                continue;
            }
        }
        if li < lhs_pes.len() {
            let (pe, index) = &lhs_pes[li];
            if !observed_rhs.contains_key(pe) {
                out.extend(merge_at(Some(&lhs[*index]), None, &item_steps, types));
                li += 1;
                continue;
            } else if merged_rhs.contains(pe) {
                li += 1;
            }
        }
        if ri < rhs_pes.len() {
            let pe = &rhs_pes[ri].0;
            merged_rhs.insert(pe);
            out.extend(merge_at(live(pe), applied(pe), &item_steps, types));
            ri += 1;
            if next_shared.is_some_and(|n| n == pe) {
                next_shared = shared.pop_front();
            }
        }
    }
    out
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
                Some(Step::Field(f)) if f == "items" => ListType::Map(vec!["name".into()]),
                Some(Step::Field(f)) if f == "tags" => ListType::Set,
                _ => ListType::Atomic,
            }
        }
        fn map_type(&self, path: &[Step]) -> MapType {
            match path.last() {
                Some(Step::Field(f)) if f == "selector" => MapType::Atomic,
                _ => MapType::Granular,
            }
        }
    }

    #[test]
    fn maps_merge_atomics_replace() {
        let live = json!({"a": 1, "b": {"c": 1, "d": 2}, "selector": {"x": "1"}, "args": [1, 2]});
        let cfg = json!({"b": {"c": 5}, "selector": {"y": "2"}, "args": [3]});
        assert_eq!(
            merge(&live, &cfg, &Types),
            json!({"a": 1, "b": {"c": 5, "d": 2}, "selector": {"y": "2"}, "args": [3]})
        );
    }

    #[test]
    fn associative_lists_merge_by_key_in_upstream_order() {
        let live =
            json!({"items": [{"name": "a", "v": 1}, {"name": "b", "v": 2}, {"name": "c", "v": 3}]});
        let cfg = json!({"items": [{"name": "d"}, {"name": "b", "v": 20}]});
        assert_eq!(
            merge(&live, &cfg, &Types),
            json!({"items": [{"name": "a", "v": 1}, {"name": "d"}, {"name": "b", "v": 20}, {"name": "c", "v": 3}]})
        );
        let tags = merge(
            &json!({"tags": ["x", "y"]}),
            &json!({"tags": ["z", "x"]}),
            &Types,
        );
        assert_eq!(tags, json!({"tags": ["z", "x", "y"]}));
    }
}
