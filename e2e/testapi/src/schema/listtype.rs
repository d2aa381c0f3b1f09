//! `x-kubernetes-list-type: set|map` uniqueness, a port of apiextensions'
//! `listtype.ValidateListSetsAndMaps` (run by the custom resource strategy after the schema
//! validation).

use super::errors::{FieldError, FieldPath};
use super::node::Node;
use crate::gofmt::{self, GoNumber};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Errors for duplicate set items and duplicate map-list keys anywhere in `obj`.
pub(crate) fn validate(path: &FieldPath, s: &Node, obj: &Map<String, Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort();
    if let Some(ap) = s.additional_schema() {
        for k in &keys {
            if let Some(v) = obj.get(k.as_str()) {
                errs.extend(validate_value(&path.key(k), ap, v));
            }
        }
    }
    for k in &keys {
        if let (Some(sub), Some(v)) = (s.properties.get(k.as_str()), obj.get(k.as_str())) {
            errs.extend(validate_value(&path.child(k), sub, v));
        }
    }
    errs
}

fn validate_value(path: &FieldPath, s: &Node, v: &Value) -> Vec<FieldError> {
    match v {
        Value::Array(items) => validate_array(path, s, items),
        Value::Object(obj) => validate(path, s, obj),
        _ => Vec::new(),
    }
}

fn validate_array(path: &FieldPath, s: &Node, items: &[Value]) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match s.x_list_type.as_deref() {
        Some("set") => {
            let keys: Vec<SetKey> = items.iter().map(SetKey::of).collect();
            for i in non_unique(&keys) {
                errs.push(FieldError::duplicate(
                    path.index(i).as_str(),
                    items[i].clone(),
                ));
            }
        }
        Some("map") => errs.extend(validate_map(path, s, items)),
        _ => {}
    }
    if let Some(item_schema) = &s.items {
        for (i, item) in items.iter().enumerate() {
            errs.extend(validate_value(&path.index(i), item_schema, item));
        }
    }
    errs
}

/// How Go's `validateListSet` tells values apart: scalars by Go equality (an int64 never
/// equals a float64), compounds by their JSON, plus the "key not specified" marker.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum SetKey {
    Unspecified,
    Null,
    Bool(bool),
    Int(i64),
    Float(u64),
    String(String),
    Compound(String),
}

impl SetKey {
    fn of(v: &Value) -> Self {
        match v {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(*b),
            Value::Number(n) => match GoNumber::of(n) {
                GoNumber::Int(i) => Self::Int(i),
                // Go compares float64 keys by value; 0.0 and -0.0 are equal there.
                GoNumber::Float(f) => Self::Float(if f == 0.0 { 0 } else { f.to_bits() }),
            },
            Value::String(s) => Self::String(s.clone()),
            other => Self::Compound(gofmt::json(other)),
        }
    }
}

/// Indices of the second appearance of every repeated key (later repeats are not reported).
fn non_unique(keys: &[SetKey]) -> Vec<usize> {
    if keys.len() <= 1 {
        return Vec::new();
    }
    let mut seen: HashMap<&SetKey, usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let times = seen.entry(k).or_insert(0);
        *times += 1;
        if *times == 2 {
            out.push(i);
        }
    }
    out
}

fn validate_map(path: &FieldPath, s: &Node, items: &[Value]) -> Vec<FieldError> {
    for (i, x) in items.iter().enumerate() {
        if !x.is_null() && !x.is_object() {
            return vec![FieldError::invalid(
                path.index(i).as_str(),
                x.clone(),
                "must be an object for an array of list-type map",
            )];
        }
    }
    if items.len() <= 1 {
        return Vec::new();
    }
    if let [key_field] = s.x_list_map_keys.as_slice() {
        let keys: Vec<SetKey> = items
            .iter()
            .map(|x| match x.get(key_field) {
                Some(k) => SetKey::of(k),
                None => SetKey::Unspecified,
            })
            .collect();
        return non_unique(&keys)
            .into_iter()
            .map(|i| {
                let shown = match items[i].get(key_field) {
                    Some(k) => {
                        let mut m = Map::new();
                        m.insert(key_field.clone(), k.clone());
                        Value::Object(m)
                    }
                    None => Value::Object(Map::new()),
                };
                FieldError::duplicate(path.index(i).as_str(), shown)
            })
            .collect();
    }
    let key_maps: Vec<Value> = items
        .iter()
        .map(|x| {
            let mut m = Map::new();
            for k in &s.x_list_map_keys {
                if let Some(v) = x.get(k) {
                    m.insert(k.clone(), v.clone());
                }
            }
            Value::Object(m)
        })
        .collect();
    let keys: Vec<SetKey> = key_maps.iter().map(SetKey::of).collect();
    non_unique(&keys)
        .into_iter()
        .map(|i| FieldError::duplicate(path.index(i).as_str(), key_maps[i].clone()))
        .collect()
}
