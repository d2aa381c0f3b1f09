//! Pruning of unknown fields (apiextensions' `pruning.PruneWithOptions`, which also reports
//! the pruned paths for strict field validation) and the removal of nulls the schema does not
//! allow (`defaulting.PruneNonNullableNullsWithoutDefaults`), in the order the server's
//! decoder runs them.

use super::node::Node;
use serde_json::Value;

const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// Builds the unknown-field paths the way `UnknownFieldPathOptions` does
/// (`spec.foo`, `spec.items[0].bar`).
struct Tracker {
    parent: Vec<String>,
    unknown: Vec<String>,
}

impl Tracker {
    fn push_key(&mut self, k: &str) {
        if !self.parent.is_empty() {
            self.parent.push(".".to_string());
        }
        self.parent.push(k.to_string());
    }

    fn push_index(&mut self, i: usize) {
        self.parent.push(format!("[{i}]"));
    }

    fn record(&mut self, k: &str) {
        let len = self.parent.len();
        self.push_key(k);
        self.unknown.push(self.parent.concat());
        self.parent.truncate(len);
    }
}

/// Prunes `obj` as the root of a resource (its `apiVersion`, `kind` and `metadata` are left
/// alone, as in embedded resources); returns the sorted pruned paths.
pub(crate) fn prune_resource(obj: &mut Value, s: &Node) -> Vec<String> {
    let mut t = Tracker {
        parent: Vec::new(),
        unknown: Vec::new(),
    };
    prune(obj, Some(s), true, &mut t);
    t.unknown.sort();
    t.unknown
}

/// Prunes a value that is not a resource root (used to check that defaults are pruned).
pub(crate) fn prune_value(obj: &mut Value, s: &Node) {
    let mut t = Tracker {
        parent: Vec::new(),
        unknown: Vec::new(),
    };
    let embedded = s.x_embedded_resource;
    prune(obj, Some(s), embedded, &mut t);
}

fn prune(x: &mut Value, s: Option<&Node>, embedded: bool, t: &mut Tracker) {
    if let Some(s) = s
        && s.preserves_unknown_fields()
    {
        skip_prune(x, s, embedded, t);
        return;
    }
    let depth = t.parent.len();
    match x {
        Value::Object(map) => {
            let Some(s) = s else {
                let keys: Vec<String> = map.keys().cloned().collect();
                for k in keys {
                    t.record(&k);
                    map.remove(&k);
                }
                return;
            };
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                if embedded && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                if let Some(prop) = s.properties.get(&k) {
                    t.push_key(&k);
                    if let Some(v) = map.get_mut(&k) {
                        prune(v, Some(prop), prop.x_embedded_resource, t);
                    }
                    t.parent.truncate(depth);
                } else if let Some(ap) = &s.additional_properties {
                    t.push_key(&k);
                    let ap_schema = match ap {
                        super::node::Additional::Schema(n) => Some(n.as_ref()),
                        super::node::Additional::Bool(_) => None,
                    };
                    let ap_embedded = ap_schema.is_some_and(|n| n.x_embedded_resource);
                    if let Some(v) = map.get_mut(&k) {
                        prune(v, ap_schema, ap_embedded, t);
                    }
                    t.parent.truncate(depth);
                } else {
                    if !META_FIELDS.contains(&k.as_str()) || !t.parent.is_empty() {
                        t.record(&k);
                    }
                    map.remove(&k);
                }
            }
        }
        Value::Array(items) => {
            let item_schema = s.and_then(|s| s.items.as_deref());
            let item_embedded = item_schema.is_some_and(|n| n.x_embedded_resource);
            for (i, v) in items.iter_mut().enumerate() {
                t.push_index(i);
                prune(v, item_schema, item_embedded, t);
                t.parent.truncate(depth);
            }
        }
        _ => {}
    }
}

/// Under `x-kubernetes-preserve-unknown-fields`: unknown fields stay, known ones are pruned
/// by their schemas.
fn skip_prune(x: &mut Value, s: &Node, embedded: bool, t: &mut Tracker) {
    let depth = t.parent.len();
    match x {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if embedded && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                if let Some(prop) = s.properties.get(k) {
                    t.push_key(k);
                    prune(v, Some(prop), prop.x_embedded_resource, t);
                    t.parent.truncate(depth);
                } else if let Some(ap) = &s.additional_properties {
                    t.push_key(k);
                    let ap_schema = match ap {
                        super::node::Additional::Schema(n) => Some(n.as_ref()),
                        super::node::Additional::Bool(_) => None,
                    };
                    let ap_embedded = ap_schema.is_some_and(|n| n.x_embedded_resource);
                    prune(v, ap_schema, ap_embedded, t);
                    t.parent.truncate(depth);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = s.items.as_deref() {
                for (i, v) in items.iter_mut().enumerate() {
                    t.push_index(i);
                    skip_prune(v, item_schema, item_schema.x_embedded_resource, t);
                    t.parent.truncate(depth);
                }
            }
        }
        _ => {}
    }
}

/// Removes object fields that are null although their schema is not nullable and has no
/// default (nulls with a default are left for defaulting to replace). List items are kept.
pub(crate) fn drop_non_nullable_nulls(x: &mut Value, s: Option<&Node>) {
    match x {
        Value::Object(map) => {
            let doomed: Vec<String> = map
                .iter()
                .filter(|(k, v)| {
                    v.is_null()
                        && s.and_then(|s| s.field_schema(k))
                            .is_some_and(|fs| !fs.nullable && fs.default.is_none())
                })
                .map(|(k, _)| k.clone())
                .collect();
            for k in doomed {
                map.remove(&k);
            }
            for (k, v) in map.iter_mut() {
                drop_non_nullable_nulls(v, s.and_then(|s| s.field_schema(k)));
            }
        }
        Value::Array(items) => {
            let item_schema = s.and_then(|s| s.items.as_deref());
            for v in items {
                drop_non_nullable_nulls(v, item_schema);
            }
        }
        _ => {}
    }
}
