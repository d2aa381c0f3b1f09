//! What server-side apply's typed conversion refuses in an applied configuration of a custom
//! resource: structured-merge-diff's `validatingObjectWalker` over the schema `schemaconv`
//! derives from the CRD. Fields the schema does not declare and values of the wrong kind fail
//! there, before any OpenAPI validation, and the API server answers them with a bare 500
//! ("failed to create typed patch object"), not with a 422. Key problems of associative lists
//! are left to the SSA walker, which reports them from the same conversion.

use super::node::{Additional, Node};
use crate::gofmt;
use crate::ssa::PathElement;
use serde_json::Value;

/// The fields of a resource root (and of an embedded resource) the CRD's schema does not
/// describe but the published OpenAPI types (`metav1.ObjectMeta` is the server's business).
const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// The conversion errors of `object` against the root schema `root`, as (rendered path,
/// message) in walk order: `(".spec.foo", "field not declared in schema")`.
pub(crate) fn conversion_errors(root: &Node, object: &Value) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    walk(object, root, true, &mut String::new(), &mut errors);
    errors
}

fn walk(v: &Value, s: &Node, resource: bool, path: &mut String, out: &mut Vec<(String, String)>) {
    // Null is valid for every type; int-or-string is untyped (any value).
    if v.is_null() || s.x_int_or_string {
        return;
    }
    let mut fail = |message: String| out.push((path.clone(), message));
    match s.type_.as_str() {
        "object" => walk_map(v, s, resource, path, out),
        "array" => walk_list(v, s, path, out),
        "string" if !v.is_string() => fail(format!("expected string, got {}", sharp_v(v))),
        "integer" | "number" if !v.is_number() => fail(format!(
            "expected numeric (int or float), got {}",
            gofmt::type_name(v)
        )),
        "boolean" if !v.is_boolean() => fail(format!("expected boolean, got &{{{}}}", gofmt::v(v))),
        // No type: x-kubernetes-preserve-unknown-fields, which smd deduces from the value.
        "" if v.is_object() && !s.properties.is_empty() => walk_map(v, s, resource, path, out),
        _ => {}
    }
}

fn walk_map(
    v: &Value,
    s: &Node,
    resource: bool,
    path: &mut String,
    out: &mut Vec<(String, String)>,
) {
    let Value::Object(map) = v else {
        out.push((
            path.clone(),
            format!("expected map, got &{{{}}}", gofmt::v(v)),
        ));
        return;
    };
    // Go iterates the map in random order; sorted keys make the answer reproducible.
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for key in keys {
        if resource && META_FIELDS.contains(&key.as_str()) {
            continue;
        }
        let child = match (s.properties.get(key), &s.additional_properties) {
            (Some(property), _) => Some(property),
            (None, Some(Additional::Schema(values))) => Some(values.as_ref()),
            (None, Some(Additional::Bool(true))) => None,
            (None, _) if s.preserves_unknown_fields() => None,
            (None, _) => {
                let field = PathElement::Field(key.clone());
                out.push((
                    format!("{path}{field}"),
                    "field not declared in schema".into(),
                ));
                // smd stops walking a map at its first undeclared field.
                return;
            }
        };
        if let Some(child) = child {
            let len = path.len();
            path.push_str(&PathElement::Field(key.clone()).to_string());
            walk(&map[key], child, child.x_embedded_resource, path, out);
            path.truncate(len);
        }
    }
}

fn walk_list(v: &Value, s: &Node, path: &mut String, out: &mut Vec<(String, String)>) {
    let Value::Array(items) = v else {
        out.push((
            path.clone(),
            format!("expected list, got &{{{}}}", gofmt::v(v)),
        ));
        return;
    };
    let Some(item_schema) = s.items.as_deref() else {
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let element = match s.x_list_type.as_deref() {
            Some("map") => {
                let Some(fields) = item.as_object() else {
                    continue;
                };
                let keys: Option<Vec<(String, Value)>> = s
                    .x_list_map_keys
                    .iter()
                    .map(|k| {
                        let default = || item_schema.properties.get(k)?.default.clone();
                        Some((k.clone(), fields.get(k).cloned().or_else(default)?))
                    })
                    .collect();
                match keys {
                    Some(keys) => PathElement::key(keys),
                    // Reported by the SSA walker ("omits key field").
                    None => continue,
                }
            }
            Some("set") if item.is_object() || item.is_array() || item.is_null() => continue,
            Some("set") => PathElement::Value(item.clone()),
            _ => PathElement::Index(i),
        };
        let len = path.len();
        path.push_str(&element.to_string());
        walk(
            item,
            item_schema,
            item_schema.x_embedded_resource,
            path,
            out,
        );
        path.truncate(len);
    }
}

/// Go's `%#v` of an smd value holding a decoded JSON value.
fn sharp_v(v: &Value) -> String {
    format!("&value.valueUnstructured{{Value:{}}}", sharp(v))
}

/// Go's `%#v` of a decoded JSON value inside an `interface{}`.
fn sharp(v: &Value) -> String {
    match v {
        Value::Null => "interface {}(nil)".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(_) => gofmt::v(v),
        Value::String(s) => gofmt::quote(s),
        Value::Array(items) => format!(
            "[]interface {{}}{{{}}}",
            items.iter().map(sharp).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", gofmt::quote(k), sharp(&map[k])))
                .collect();
            format!("map[string]interface {{}}{{{}}}", inner.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> super::super::StructuralSchema {
        super::super::StructuralSchema::from_json(&json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "disabled": { "type": "boolean" },
                        "name": { "type": "string" },
                        "count": { "type": "integer" },
                        "blocks": {
                            "type": "array",
                            "items": { "type": "object", "properties": { "cidr": { "type": "string" } } },
                        },
                        "ports": {
                            "type": "array",
                            "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["name"],
                            "items": {
                                "type": "object",
                                "required": ["name"],
                                "properties": { "name": { "type": "string" } },
                            },
                        },
                        "extra": { "type": "object", "x-kubernetes-preserve-unknown-fields": true },
                    },
                },
            },
        }))
        .expect("a structural schema")
    }

    fn errors(object: &Value) -> Vec<String> {
        schema()
            .conversion_errors(object)
            .into_iter()
            .map(|(path, message)| format!("{path}: {message}"))
            .collect()
    }

    #[test]
    fn undeclared_fields_are_named_like_structured_merge_diff() {
        let object = json!({
            "apiVersion": "x/v1", "kind": "K", "metadata": { "name": "a", "anything": 1 },
            "spec": {
                "blocks": [{ "cidr": "192.0.2.0/24", "bar": true }],
                "extra": { "whatever": { "deep": 1 } },
                "foo": 1,
                // After the first undeclared field of a map, smd walks no further.
                "ports": [{ "name": "http", "baz": 1 }],
            },
        });
        assert_eq!(
            errors(&object),
            [
                ".spec.blocks[0].bar: field not declared in schema",
                ".spec.foo: field not declared in schema",
            ]
        );
        let keyed = json!({ "spec": { "ports": [{ "name": "http", "baz": 1 }] } });
        assert_eq!(
            errors(&keyed),
            [r#".spec.ports[name="http"].baz: field not declared in schema"#]
        );
    }

    #[test]
    fn scalars_of_the_wrong_kind_print_as_go_does() {
        let object = json!({ "spec": { "disabled": "yes", "name": ["a", 1], "count": "3" } });
        assert_eq!(
            errors(&object),
            [
                r#".spec.count: expected numeric (int or float), got string"#,
                r#".spec.disabled: expected boolean, got &{yes}"#,
                r#".spec.name: expected string, got &value.valueUnstructured{Value:[]interface {}{"a", 1}}"#,
            ]
        );
    }
}
