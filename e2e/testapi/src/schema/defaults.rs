//! Structural defaulting, a port of apiextensions' `defaulting.Default`: defaults fill
//! missing fields (and non-nullable nulls) of objects that exist; nothing is created inside an
//! absent parent unless the parent itself gets a default, whose own nested defaults then apply.
//! Also the CRD-time check that defaults validate and are pruned (`ValidateDefaults`).

use super::errors::{FieldError, FieldPath};
use super::node::Node;
use super::{prune, validate};
use serde_json::Value;

/// Whether `x` is a null that the schema does not allow.
fn is_non_nullable_null(x: &Value, s: Option<&Node>) -> bool {
    x.is_null() && s.is_some_and(|s| !s.nullable)
}

/// Applies the defaults of `s` to `x` in place.
pub(crate) fn apply(x: &mut Value, s: &Node) {
    match x {
        Value::Object(map) => {
            for (k, prop) in &s.properties {
                let Some(default) = &prop.default else {
                    continue;
                };
                let missing = match map.get(k) {
                    None => true,
                    Some(v) => is_non_nullable_null(v, Some(prop)),
                };
                if missing {
                    map.insert(k.clone(), default.clone());
                }
            }
            // Recurse after defaulting, so defaults inside a defaulted object apply too.
            for (k, v) in map.iter_mut() {
                if let Some(prop) = s.properties.get(k) {
                    apply(v, prop);
                } else if let Some(ap) = s.additional_schema() {
                    if is_non_nullable_null(v, Some(ap)) {
                        *v = ap.default.clone().unwrap_or(Value::Null);
                    }
                    apply(v, ap);
                }
            }
        }
        Value::Array(items) => {
            let Some(item_schema) = &s.items else {
                return;
            };
            for item in items.iter_mut() {
                if is_non_nullable_null(item, Some(item_schema)) {
                    *item = item_schema.default.clone().unwrap_or(Value::Null);
                }
                apply(item, item_schema);
            }
        }
        _ => {}
    }
}

/// `defaulting.ValidateDefaults`: every default (outside resource metadata; defaults under
/// `additionalProperties` are forbidden anyway) must be pruned and must validate against
/// its own schema.
pub(crate) fn check(
    s: &Node,
    path: &FieldPath,
    is_resource_root: bool,
    inside_meta: bool,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let embedded = is_resource_root || s.x_embedded_resource;
    let inside_meta = inside_meta && !s.x_embedded_resource;
    if let Some(default) = &s.default
        && !inside_meta
    {
        let default_path = path.child("default");
        let mut pruned = default.clone();
        prune::prune_value(&mut pruned, s);
        if &pruned != default {
            errs.push(FieldError::invalid(
                default_path.as_str(),
                default.clone(),
                "must not have unknown fields",
            ));
        }
        errs.extend(validate::validate_value_under(
            s,
            default,
            default_path.as_str(),
        ));
    }
    // additionalProperties is not followed: defaults are forbidden there.
    if let Some(items) = &s.items {
        errs.extend(check(items, &path.child("items"), false, inside_meta));
    }
    for (k, sub) in &s.properties {
        let sub_meta =
            inside_meta || (embedded && matches!(k.as_str(), "metadata" | "apiVersion" | "kind"));
        errs.extend(check(
            sub,
            &path.child("properties").key(k),
            false,
            sub_meta,
        ));
    }
    errs
}
