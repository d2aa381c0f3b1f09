//! The checks the API server runs on a CRD version's `openAPIV3Schema` before serving it
//! (`validateCustomResourceDefinitionValidation`), in its order: structural invariants and
//! completeness (`schema.ValidateStructural`, here), valid and pruned defaults
//! ([`defaults::check`]) and the OpenAPI rules of CRDs ([`crd_rules`]). Error paths and texts
//! are the server's.
//!
//! Not reproduced: the CEL compilation and cost checks of `x-kubernetes-validations` (only
//! their static shape is checked), the `fieldPath` resolution of rules, the root-field
//! restriction that depends on the status subresource, and the ObjectMeta checks of
//! defaults inside embedded resources.

use super::errors::{FieldError, FieldPath};
use super::node::{Additional, Node};
use super::{crd_rules, defaults};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Item,
    Field,
}

/// All errors for the schema rooted at `base` (`…openAPIV3Schema`), in the server's order.
pub(crate) fn check(root: &Node, base: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if root.nullable {
        errs.push(FieldError::forbidden(
            base.child("nullable").as_str(),
            "nullable cannot be true at the root",
        ));
    }
    let init_error = first_conversion_error(root);
    if init_error.is_none() {
        let structural = validate_structural(root, base);
        if structural.is_empty() {
            errs.extend(defaults::check(root, base, true, false));
        } else {
            errs.extend(structural);
        }
    }
    crd_rules::check(root, base, &mut errs);
    if errs.is_empty()
        && let Some(msg) = init_error
    {
        errs.push(FieldError::invalid(
            base.as_str(),
            Value::String(String::new()),
            msg,
        ));
    }
    errs
}

/// `NewStructural`'s refusal of keywords it cannot represent (first one found).
fn first_conversion_error(n: &Node) -> Option<String> {
    if let Some(kw) = n.unsupported_keywords.first() {
        let name = if *kw == "$schema" { "schema" } else { kw };
        return Some(format!("OpenAPIV3Schema '{name}' is not supported"));
    }
    let nested = n
        .not
        .iter()
        .map(|b| b.as_ref())
        .chain(n.all_of.iter())
        .chain(n.any_of.iter())
        .chain(n.one_of.iter());
    for sub in nested {
        if let Some(e) = first_conversion_error(sub) {
            return Some(e);
        }
    }
    if let Some(ap) = n.additional_schema()
        && let Some(e) = first_conversion_error(ap)
    {
        return Some(e);
    }
    if n.x_preserve_unknown_fields == Some(false) {
        return Some(
            "internal error: 'x-kubernetes-preserve-unknown-fields' must be true or undefined"
                .to_string(),
        );
    }
    if n.items_array {
        return Some("OpenAPIV3Schema 'items' must be a schema, but is an array".to_string());
    }
    if let Some(items) = &n.items
        && let Some(e) = first_conversion_error(items)
    {
        return Some(e);
    }
    n.properties.values().find_map(first_conversion_error)
}

fn validate_structural(root: &Node, base: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    invariants(root, Level::Root, base, &mut errs);
    completeness(root, Some(root), base, base, &mut errs);
    // The server sorts by message to be deterministic despite Go's map order.
    errs.sort_by_key(ToString::to_string);
    errs
}

fn invariants(s: &Node, lvl: Level, path: &FieldPath, errs: &mut Vec<FieldError>) {
    if s.type_ == "array" && s.items.is_none() {
        errs.push(FieldError::required(
            path.child("items").as_str(),
            "must be specified",
        ));
    }
    if let Some(items) = &s.items {
        invariants(items, Level::Item, &path.child("items"), errs);
    }
    for (k, v) in &s.properties {
        invariants(v, Level::Field, &path.child("properties").key(k), errs);
    }
    if let Some(ap) = &s.additional_properties {
        if lvl == Level::Root {
            errs.push(FieldError::forbidden(
                path.child("additionalProperties").as_str(),
                "must not be used at the root",
            ));
        }
        if let Additional::Schema(ap) = ap {
            invariants(ap, Level::Field, &path.child("additionalProperties"), errs);
        }
    }
    if s.x_int_or_string && s.preserves_unknown_fields() {
        errs.push(FieldError::invalid(
            path.child("x-kubernetes-preserve-unknown-fields").as_str(),
            Value::Bool(true),
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    if s.x_int_or_string && s.x_embedded_resource {
        errs.push(FieldError::invalid(
            path.child("x-kubernetes-embedded-resource").as_str(),
            Value::Bool(true),
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    let skip_any_of = is_int_or_string_any_of(&s.any_of);
    let skip_first_all_of_any_of = s
        .all_of
        .first()
        .is_some_and(|a| is_int_or_string_any_of(&a.any_of));
    value_validation(s, skip_any_of, skip_first_all_of_any_of, path, errs);

    let check_metadata = lvl == Level::Root || s.x_embedded_resource;
    if s.x_embedded_resource && s.type_ != "object" {
        let p = path.child("type");
        let msg = "must be object if x-kubernetes-embedded-resource is true";
        errs.push(if s.type_.is_empty() {
            FieldError::required(p.as_str(), msg)
        } else {
            FieldError::invalid(p.as_str(), Value::String(s.type_.clone()), msg)
        });
    } else if s.type_.is_empty() && !s.x_int_or_string && !s.preserves_unknown_fields() {
        let msg = match lvl {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        errs.push(FieldError::required(path.child("type").as_str(), msg));
    }
    if s.x_embedded_resource && s.additional_properties.is_some() {
        errs.push(FieldError::forbidden(
            path.child("additionalProperties").as_str(),
            "must not be used if x-kubernetes-embedded-resource is set",
        ));
    }
    if lvl == Level::Root && !s.type_.is_empty() && s.type_ != "object" {
        errs.push(FieldError::invalid(
            path.child("type").as_str(),
            Value::String(s.type_.clone()),
            "must be object at the root",
        ));
    }
    for meta in ["kind", "apiVersion"] {
        if let Some(p) = s.properties.get(meta)
            && check_metadata
            && p.type_ != "string"
        {
            errs.push(FieldError::invalid(
                path.child("properties").key(meta).child("type").as_str(),
                Value::String(p.type_.clone()),
                "must be string",
            ));
        }
    }
    if let Some(metadata) = s.properties.get("metadata") {
        let mp = path.child("properties").key("metadata");
        if check_metadata && metadata.type_ != "object" {
            errs.push(FieldError::invalid(
                mp.child("type").as_str(),
                Value::String(metadata.type_.clone()),
                "must be object",
            ));
        }
        if lvl == Level::Root && !is_plain_root_metadata(metadata) {
            errs.push(FieldError::forbidden(
                mp.as_str(),
                "must not specify anything other than name and generateName, but metadata is implicitly specified",
            ));
        }
    }
    if s.x_embedded_resource && !s.preserves_unknown_fields() && s.properties.is_empty() {
        errs.push(FieldError::required(
            path.child("properties").as_str(),
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ));
    }
}

/// Root `metadata` may only say `type: object` and restrict `name`/`generateName`.
fn is_plain_root_metadata(m: &Node) -> bool {
    let props_ok = m
        .properties
        .keys()
        .all(|k| k == "name" || k == "generateName");
    let mut rest = m.clone();
    rest.properties.clear();
    rest.type_.clear();
    rest.format.clear();
    rest.effective_format.clear();
    rest.default = None;
    props_ok && is_empty_node(&rest)
}

/// Whether nothing at all is specified in `n`.
fn is_empty_node(n: &Node) -> bool {
    n.type_.is_empty()
        && n.format.is_empty()
        && n.title.is_empty()
        && n.description.is_empty()
        && !n.nullable
        && n.default.is_none()
        && n.maximum.is_none()
        && !n.exclusive_maximum
        && n.minimum.is_none()
        && !n.exclusive_minimum
        && n.max_length.is_none()
        && n.min_length.is_none()
        && n.pattern.is_none()
        && n.max_items.is_none()
        && n.min_items.is_none()
        && !n.unique_items
        && n.multiple_of.is_none()
        && n.enum_.is_none()
        && n.max_properties.is_none()
        && n.min_properties.is_none()
        && n.required.is_empty()
        && n.items.is_none()
        && !n.items_array
        && n.all_of.is_empty()
        && n.one_of.is_empty()
        && n.any_of.is_empty()
        && n.not.is_none()
        && n.properties.is_empty()
        && n.additional_properties.is_none()
        && !n.external_docs
        && n.x_preserve_unknown_fields.is_none()
        && !n.x_embedded_resource
        && !n.x_int_or_string
        && n.x_list_map_keys.is_empty()
        && n.x_list_type.is_none()
        && n.x_map_type.is_none()
        && n.x_validations.is_empty()
}

/// `anyOf: [{type: integer}, {type: string}]`, nothing else in either branch.
fn is_int_or_string_any_of(any_of: &[Node]) -> bool {
    let only_type = |n: &Node, t: &str| {
        let mut rest = n.clone();
        let ok = rest.type_ == t;
        rest.type_.clear();
        ok && is_empty_node(&rest)
    };
    matches!(any_of, [a, b] if only_type(a, "integer") && only_type(b, "string"))
}

fn value_validation(
    v: &Node,
    skip_any_of: bool,
    skip_first_all_of_any_of: bool,
    path: &FieldPath,
    errs: &mut Vec<FieldError>,
) {
    if !skip_any_of {
        for (i, a) in v.any_of.iter().enumerate() {
            nested(a, false, &path.child("anyOf").index(i), errs);
        }
    }
    for (i, a) in v.all_of.iter().enumerate() {
        nested(
            a,
            skip_first_all_of_any_of && i == 0,
            &path.child("allOf").index(i),
            errs,
        );
    }
    for (i, a) in v.one_of.iter().enumerate() {
        nested(a, false, &path.child("oneOf").index(i), errs);
    }
    if let Some(not) = &v.not {
        nested(not, false, &path.child("not"), errs);
    }
    if let Some(p) = &v.pattern
        && let Err(e) = &p.compiled
    {
        errs.push(FieldError::invalid(
            path.child("pattern").as_str(),
            Value::String(p.source.clone()),
            format!("must be a valid regular expression, but isn't: {e}"),
        ));
    }
}

/// `validateNestedValueValidation`: inside allOf/anyOf/oneOf/not only value validations may
/// appear.
fn nested(v: &Node, skip_any_of: bool, path: &FieldPath, errs: &mut Vec<FieldError>) {
    value_validation(v, skip_any_of, false, path, errs);
    if let Some(items) = &v.items {
        nested(items, false, &path.child("items"), errs);
    }
    for (k, p) in &v.properties {
        nested(p, false, &path.child("properties").key(k), errs);
    }
    let mut forbid = |field: &str, msg: &str| {
        errs.push(FieldError::forbidden(path.child(field).as_str(), msg));
    };
    if !v.type_.is_empty() {
        forbid("type", "must be empty to be structural");
    }
    if v.additional_properties.is_some() {
        forbid("additionalProperties", "must be undefined to be structural");
    }
    if v.default.is_some() {
        forbid("default", "must be undefined to be structural");
    }
    if !v.title.is_empty() {
        forbid("title", "must be empty to be structural");
    }
    if !v.description.is_empty() {
        forbid("description", "must be empty to be structural");
    }
    if v.nullable {
        forbid("nullable", "must be false to be structural");
    }
    if v.external_docs {
        forbid("externalDocs", "must be undefined to be structural");
    }
    if v.preserves_unknown_fields() {
        forbid(
            "x-kubernetes-preserve-unknown-fields",
            "must be false to be structural",
        );
    }
    if v.x_embedded_resource {
        forbid(
            "x-kubernetes-embedded-resource",
            "must be false to be structural",
        );
    }
    if v.x_int_or_string {
        forbid(
            "x-kubernetes-int-or-string",
            "must be false to be structural",
        );
    }
    if !v.x_list_map_keys.is_empty() {
        forbid(
            "x-kubernetes-list-map-keys",
            "must be empty to be structural",
        );
    }
    if v.x_list_type.is_some() {
        forbid(
            "x-kubernetes-list-type",
            "must be undefined to be structural",
        );
    }
    if v.x_map_type.is_some() {
        forbid(
            "x-kubernetes-map-type",
            "must be undefined to be structural",
        );
    }
    if !v.x_validations.is_empty() {
        forbid("x-kubernetes-validations", "must be empty to be structural");
    }
    if v.properties.contains_key("metadata") {
        errs.push(FieldError::forbidden(
            path.child("properties").key("metadata").as_str(),
            "must not be specified in a nested context",
        ));
    }
}

/// `validateStructuralCompleteness`: whatever allOf/anyOf/oneOf/not talk about must also
/// be specified outside of them.
fn completeness(
    v: &Node,
    s: Option<&Node>,
    s_path: &FieldPath,
    v_path: &FieldPath,
    errs: &mut Vec<FieldError>,
) {
    let Some(s) = s else {
        errs.push(FieldError::required(
            s_path.as_str(),
            format!("because it is defined in {v_path}"),
        ));
        return;
    };
    if let Some(not) = &v.not {
        nested_completeness(not, s, s_path, &v_path.child("not"), errs);
    }
    for (name, list) in [
        ("allOf", &v.all_of),
        ("anyOf", &v.any_of),
        ("oneOf", &v.one_of),
    ] {
        for (i, sub) in list.iter().enumerate() {
            nested_completeness(sub, s, s_path, &v_path.child(name).index(i), errs);
        }
    }
}

fn nested_completeness(
    v: &Node,
    s: &Node,
    s_path: &FieldPath,
    v_path: &FieldPath,
    errs: &mut Vec<FieldError>,
) {
    completeness(v, Some(s), s_path, v_path, errs);
    if let Some(items) = &v.items {
        match &s.items {
            Some(s_items) => {
                nested_completeness(
                    items,
                    s_items,
                    &s_path.child("items"),
                    &v_path.child("items"),
                    errs,
                );
            }
            None => errs.push(FieldError::required(
                s_path.child("items").as_str(),
                format!("because it is defined in {}", v_path.child("items")),
            )),
        }
    }
    for (k, vf) in &v.properties {
        let sp = s_path.child("properties").key(k);
        let vp = v_path.child("properties").key(k);
        match s.properties.get(k) {
            Some(sf) => nested_completeness(vf, sf, &sp, &vp, errs),
            None => errs.push(FieldError::required(
                sp.as_str(),
                format!("because it is defined in {vp}"),
            )),
        }
    }
}
