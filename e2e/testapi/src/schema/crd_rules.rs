//! The OpenAPI rules a CRD schema must follow beyond structurality, a port of
//! apiextensions' `ValidateCustomResourceDefinitionOpenAPISchema` for newly created CRDs:
//! supported types and keywords, where defaults may appear, list and map types, and the
//! static shape of `x-kubernetes-validations` rules.

use super::errors::{FieldError, FieldPath};
use super::node::{Additional, Node};
use serde_json::Value;

/// Appends the errors for the schema rooted at `base`.
pub(crate) fn check(root: &Node, base: &FieldPath, errs: &mut Vec<FieldError>) {
    let ssv = Ssv {
        allow_defaults: true,
        forbidden_reason: String::new(),
        inside_resource_meta: false,
    };
    openapi_schema(root, base, &ssv, true, errs);
}

/// `specStandardValidatorV3` state.
#[derive(Debug, Clone)]
struct Ssv {
    allow_defaults: bool,
    forbidden_reason: String,
    inside_resource_meta: bool,
}

impl Ssv {
    fn forbid_defaults(&self, reason: &str) -> Self {
        Self {
            allow_defaults: false,
            forbidden_reason: reason.to_string(),
            inside_resource_meta: self.inside_resource_meta,
        }
    }

    fn inside_meta(&self) -> Self {
        Self {
            inside_resource_meta: true,
            ..self.clone()
        }
    }
}

const OPENAPI_TYPES: [&str; 6] = ["array", "boolean", "integer", "number", "object", "string"];
const RULE_REASONS: [&str; 4] = [
    "FieldValueDuplicate",
    "FieldValueForbidden",
    "FieldValueInvalid",
    "FieldValueRequired",
];

fn standard(s: &Node, path: &FieldPath, ssv: &Ssv, errs: &mut Vec<FieldError>) {
    if !s.type_.is_empty() && !OPENAPI_TYPES.contains(&s.type_.as_str()) {
        let valid: Vec<String> = OPENAPI_TYPES.iter().map(ToString::to_string).collect();
        errs.push(FieldError::not_supported(
            path.child("type").as_str(),
            Value::String(s.type_.clone()),
            &valid,
        ));
    }
    if s.default.is_some() && !ssv.allow_defaults {
        let mut detail = "must not be set".to_string();
        if !ssv.forbidden_reason.is_empty() {
            detail.push(' ');
            detail.push_str(&ssv.forbidden_reason);
        }
        errs.push(FieldError::forbidden(
            path.child("default").as_str(),
            detail,
        ));
    }
    for (kw, msg) in [
        ("id", "id is not supported"),
        ("additionalItems", "additionalItems is not supported"),
        ("patternProperties", "patternProperties is not supported"),
        ("definitions", "definitions is not supported"),
        ("dependencies", "dependencies is not supported"),
        ("$ref", "$ref is not supported"),
    ] {
        if s.unsupported_keywords.contains(&kw) {
            errs.push(FieldError::forbidden(path.child(kw).as_str(), msg));
        }
    }
    if s.type_ == "null" {
        errs.push(FieldError::forbidden(
            path.child("type").as_str(),
            "type cannot be set to null, use nullable as an alternative",
        ));
    }
    if s.items_array {
        errs.push(FieldError::forbidden(
            path.child("items").as_str(),
            "items must be a schema object and not an array",
        ));
    }
    if ssv.inside_resource_meta && s.x_embedded_resource {
        errs.push(FieldError::forbidden(
            path.child("x-kubernetes-embedded-resource").as_str(),
            "must not be used inside of resource meta",
        ));
    }
}

fn openapi_schema(
    s: &Node,
    path: &FieldPath,
    ssv: &Ssv,
    is_root: bool,
    errs: &mut Vec<FieldError>,
) {
    standard(s, path, ssv, errs);
    if s.unique_items {
        errs.push(FieldError::forbidden(
            path.child("uniqueItems").as_str(),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }
    if let Some(ap) = &s.additional_properties {
        let closed_or_schema = matches!(ap, Additional::Bool(false) | Additional::Schema(_));
        if !s.properties.is_empty() && closed_or_schema {
            errs.push(FieldError::forbidden(
                path.child("additionalProperties").as_str(),
                "additionalProperties and properties are mutual exclusive",
            ));
        }
        if let Additional::Schema(ap) = ap {
            let sub = if ssv.inside_resource_meta {
                ssv.forbid_defaults("inside additionalProperties applying to object metadata")
            } else {
                ssv.clone()
            };
            openapi_schema(ap, &path.child("additionalProperties"), &sub, false, errs);
        }
    }
    for (k, p) in &s.properties {
        let mut sub = ssv.clone();
        if (is_root || s.x_embedded_resource)
            && matches!(k.as_str(), "metadata" | "kind" | "apiVersion")
        {
            sub = sub.inside_meta();
            if is_root {
                sub = sub.forbid_defaults(&format!("in top-level {k}"));
            }
        }
        openapi_schema(p, &path.child("properties").key(k), &sub, false, errs);
    }
    if let Some(not) = &s.not {
        openapi_schema(not, &path.child("not"), ssv, false, errs);
    }
    for (name, list) in [
        ("allOf", &s.all_of),
        ("oneOf", &s.one_of),
        ("anyOf", &s.any_of),
    ] {
        for (i, sub) in list.iter().enumerate() {
            openapi_schema(sub, &path.child(name).index(i), ssv, false, errs);
        }
    }
    if let Some(items) = &s.items {
        openapi_schema(items, &path.child("items"), ssv, false, errs);
    }
    if s.x_preserve_unknown_fields == Some(false) {
        errs.push(FieldError::invalid(
            path.child("x-kubernetes-preserve-unknown-fields").as_str(),
            Value::Bool(false),
            "must be true or undefined",
        ));
    }
    list_and_map_types(s, path, errs);
    validation_rules(s, path, errs);
}

fn list_and_map_types(s: &Node, path: &FieldPath, errs: &mut Vec<FieldError>) {
    if let Some(mt) = &s.x_map_type {
        if s.type_ != "object" {
            let msg = "must be object if x-kubernetes-map-type is specified";
            let p = path.child("type");
            errs.push(if s.type_.is_empty() {
                FieldError::required(p.as_str(), msg)
            } else {
                FieldError::invalid(p.as_str(), Value::String(s.type_.clone()), msg)
            });
        }
        if mt != "atomic" && mt != "granular" {
            errs.push(FieldError::not_supported(
                path.child("x-kubernetes-map-type").as_str(),
                Value::String(mt.clone()),
                &["atomic".to_string(), "granular".to_string()],
            ));
        }
    }
    if let Some(lt) = &s.x_list_type {
        if s.type_ != "array" {
            let msg = "must be array if x-kubernetes-list-type is specified";
            let p = path.child("type");
            errs.push(if s.type_.is_empty() {
                FieldError::required(p.as_str(), msg)
            } else {
                FieldError::invalid(p.as_str(), Value::String(s.type_.clone()), msg)
            });
        } else if lt == "set"
            && let Some(is) = &s.items
        {
            let msg = "must be atomic as item of a list with x-kubernetes-list-type=set";
            let shown = is.x_list_type.clone().map_or(Value::Null, Value::String);
            match is.type_.as_str() {
                "array" if is.x_list_type.as_deref().is_some_and(|t| t != "atomic") => {
                    errs.push(FieldError::invalid(
                        path.child("items").child("x-kubernetes-list-type").as_str(),
                        shown,
                        msg,
                    ));
                }
                "object" if is.x_map_type.as_deref() != Some("atomic") => {
                    errs.push(FieldError::invalid(
                        path.child("items").child("x-kubernetes-map-type").as_str(),
                        shown,
                        msg,
                    ));
                }
                _ => {}
            }
        }
        if lt != "atomic" && lt != "set" && lt != "map" {
            errs.push(FieldError::not_supported(
                path.child("x-kubernetes-list-type").as_str(),
                Value::String(lt.clone()),
                &["atomic".to_string(), "set".to_string(), "map".to_string()],
            ));
        }
    }
    let keys_value = || Value::from(s.x_list_map_keys.clone());
    if !s.x_list_map_keys.is_empty() {
        let msg = "must be map if x-kubernetes-list-map-keys is non-empty";
        let p = path.child("x-kubernetes-list-type");
        match s.x_list_type.as_deref() {
            None => errs.push(FieldError::required(p.as_str(), msg)),
            Some("map") => {}
            Some(other) => errs.push(FieldError::invalid(
                p.as_str(),
                Value::String(other.into()),
                msg,
            )),
        }
    }
    if s.x_list_type.as_deref() == Some("map") {
        if s.x_list_map_keys.is_empty() {
            errs.push(FieldError::required(
                path.child("x-kubernetes-list-map-keys").as_str(),
                "must not be empty if x-kubernetes-list-type is map",
            ));
        }
        if s.items.is_none() && !s.items_array {
            errs.push(FieldError::required(
                path.child("items").as_str(),
                "must have a schema if x-kubernetes-list-type is map",
            ));
        }
        if s.items_array {
            errs.push(FieldError::invalid(
                path.child("items").as_str(),
                Value::Null,
                "must only have a single schema if x-kubernetes-list-type is map",
            ));
        }
        if let Some(items) = &s.items {
            if items.type_ != "object" {
                errs.push(FieldError::invalid(
                    path.child("items").child("type").as_str(),
                    Value::String(items.type_.clone()),
                    "must be object if parent array's x-kubernetes-list-type is map",
                ));
            } else {
                let mut seen: Vec<&str> = Vec::new();
                for k in &s.x_list_map_keys {
                    match items.properties.get(k) {
                        Some(p) if p.type_ == "array" || p.type_ == "object" => {
                            errs.push(FieldError::invalid(
                                path.child("items").child("properties").key(k).child("type").as_str(),
                                Value::String(items.type_.clone()),
                                "must be a scalar type if parent array's x-kubernetes-list-type is map",
                            ));
                        }
                        Some(_) => {}
                        None => errs.push(FieldError::invalid(
                            path.child("x-kubernetes-list-map-keys").as_str(),
                            keys_value(),
                            "entries must all be names of item properties",
                        )),
                    }
                    if seen.contains(&k.as_str()) {
                        errs.push(FieldError::invalid(
                            path.child("x-kubernetes-list-map-keys").as_str(),
                            keys_value(),
                            "must not contain duplicate entries",
                        ));
                    }
                    seen.push(k);
                }
            }
        }
    }
    // validateMapListKeysMapSet (required for newly created CRDs).
    if let (Some(lt @ ("set" | "map")), Some(items)) = (s.x_list_type.as_deref(), &s.items) {
        if items.nullable {
            errs.push(FieldError::forbidden(
                path.child("items").child("nullable").as_str(),
                format!("cannot be nullable when x-kubernetes-list-type is {lt}"),
            ));
        }
        if lt == "map" {
            for k in &s.x_list_map_keys {
                let Some(p) = items.properties.get(k) else {
                    continue;
                };
                let kp = path.child("items").child("properties").key(k);
                if !items.required.contains(k) && p.default.is_none() {
                    errs.push(FieldError::required(
                        kp.child("default").as_str(),
                        "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
                    ));
                }
                if p.nullable {
                    errs.push(FieldError::forbidden(
                        kp.child("nullable").as_str(),
                        "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
                    ));
                }
            }
        }
    }
}

fn has_newlines(s: &str) -> bool {
    s.contains('\n') || s.contains('\r')
}

/// The static checks of `x-kubernetes-validations` (the rules are not compiled).
fn validation_rules(s: &Node, path: &FieldPath, errs: &mut Vec<FieldError>) {
    for (i, r) in s.x_validations.iter().enumerate() {
        let p = path.child("x-kubernetes-validations").index(i);
        let rule = r.rule.trim();
        let msg = r.message.as_deref().unwrap_or("");
        let trimmed_msg = msg.trim();
        if rule.is_empty() {
            errs.push(FieldError::required(
                p.child("rule").as_str(),
                "rule is not specified",
            ));
        } else if !msg.is_empty() && trimmed_msg.is_empty() {
            errs.push(FieldError::invalid(
                p.child("message").as_str(),
                Value::String(msg.to_string()),
                "message must be non-empty if specified",
            ));
        } else if has_newlines(trimmed_msg) {
            errs.push(FieldError::invalid(
                p.child("message").as_str(),
                Value::String(msg.to_string()),
                "message must not contain line breaks",
            ));
        } else if has_newlines(rule) && trimmed_msg.is_empty() {
            errs.push(FieldError::required(
                p.child("message").as_str(),
                "message must be specified if rule contains line breaks",
            ));
        }
        if let Some(me) = &r.message_expression
            && !me.is_empty()
            && me.trim().is_empty()
        {
            errs.push(FieldError::required(
                p.child("messageExpression").as_str(),
                "messageExpression must be non-empty if specified",
            ));
        }
        if let Some(reason) = &r.reason
            && !RULE_REASONS.contains(&reason.as_str())
        {
            let valid: Vec<String> = RULE_REASONS.iter().map(ToString::to_string).collect();
            errs.push(FieldError::not_supported(
                p.child("reason").as_str(),
                Value::String(reason.clone()),
                &valid,
            ));
        }
        if let Some(fp) = &r.field_path {
            if !fp.is_empty() && fp.trim().is_empty() {
                errs.push(FieldError::invalid(
                    p.child("fieldPath").as_str(),
                    Value::String(fp.clone()),
                    "fieldPath must be non-empty if specified",
                ));
            }
            if has_newlines(fp) {
                errs.push(FieldError::invalid(
                    p.child("fieldPath").as_str(),
                    Value::String(fp.clone()),
                    "fieldPath must not contain line breaks",
                ));
            }
        }
    }
}
