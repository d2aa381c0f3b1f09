//! Value validation corner cases, each pinned to what kube-openapi and apiextensions do.

use super::{inline, lines};
use crate::schema::FieldErrorKind;
use proptest::prelude::*;
use serde_json::{Value, json};

fn spec_schema(spec: Value) -> crate::schema::StructuralSchema {
    inline(json!({"type": "object", "properties": {"spec": spec}}))
}

fn errors(spec_schema_json: Value, spec: Value) -> Vec<String> {
    lines(&spec_schema(spec_schema_json).validate(&json!({"spec": spec})))
}

#[test]
fn nulls_are_type_errors_unless_nullable() {
    let s = json!({"type": "object", "properties": {"a": {"type": "string"},
        "b": {"type": "string", "nullable": true}}});
    assert_eq!(
        errors(s.clone(), json!({"a": null})),
        [r#"spec.a: Invalid value: "null": spec.a in body must be of type string: "null""#]
    );
    assert!(errors(s.clone(), json!({"b": null})).is_empty());
    // What the server actually sees: pruning drops the non-nullable null first.
    let schema = spec_schema(s);
    let mut obj = json!({"spec": {"a": null, "b": null}});
    schema.prune(&mut obj);
    assert_eq!(obj, json!({"spec": {"b": null}}));
    assert!(schema.validate(&obj).is_empty());
}

#[test]
fn null_list_items_are_kept_and_rejected() {
    let s = spec_schema(json!({"type": "array", "items": {"type": "string"}}));
    let mut obj = json!({"spec": ["a", null]});
    s.prune(&mut obj);
    assert_eq!(
        lines(&s.validate(&obj)),
        [r#"spec[1]: Invalid value: "null": spec[1] in body must be of type string: "null""#]
    );
}

#[test]
fn int_or_string_accepts_both_and_names_both_types() {
    let s = json!({"type": "object", "properties": {"port": {"x-kubernetes-int-or-string": true,
        "anyOf": [{"type": "integer"}, {"type": "string"}]}}});
    assert!(errors(s.clone(), json!({"port": 80})).is_empty());
    assert!(errors(s.clone(), json!({"port": "http"})).is_empty());
    assert_eq!(
        errors(s, json!({"port": true})),
        [
            r#"spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean""#,
            r#"<nil>: Invalid value: "": "spec.port" must validate at least one schema (anyOf)"#,
            r#"spec.port: Invalid value: "boolean": spec.port in body must be of type integer: "boolean""#,
        ]
    );
}

#[test]
fn numbers_follow_go_semantics() {
    let s = json!({"type": "object", "properties": {
        "i": {"type": "integer", "maximum": 10, "exclusiveMinimum": true, "minimum": 0},
        "n": {"type": "number", "maximum": 1.5},
        "m": {"type": "integer", "multipleOf": 5}}});
    assert!(
        errors(s.clone(), json!({"i": 3.0})).is_empty(),
        "integral floats are integers"
    );
    assert_eq!(
        errors(s.clone(), json!({"i": 2.5})),
        [r#"spec.i: Invalid value: "number": spec.i in body must be of type integer: "number""#]
    );
    assert_eq!(
        errors(s.clone(), json!({"i": 0})),
        ["spec.i: Invalid value: 0: spec.i in body should be greater than 0"]
    );
    assert_eq!(
        errors(s.clone(), json!({"n": 2.5})),
        ["spec.n: Invalid value: 2.5: spec.n in body should be less than or equal to 1.5"]
    );
    // An integer is compared with int64(maximum): Go truncates 1.5 to 1.
    assert_eq!(
        errors(s.clone(), json!({"n": 2})),
        ["spec.n: Invalid value: 2: spec.n in body should be less than or equal to 1"]
    );
    assert_eq!(
        errors(s, json!({"m": 7})),
        ["spec.m: Invalid value: 7: spec.m in body should be a multiple of 5"]
    );
}

#[test]
fn collection_bounds() {
    let s = json!({"type": "object", "properties": {
        "l": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
        "o": {"type": "object", "additionalProperties": {"type": "string"}, "maxProperties": 1},
        "p": {"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 1},
        "s": {"type": "string", "minLength": 2}}});
    let errs = spec_schema(s.clone()).validate(&json!({"spec": {"l": ["a", "b", "c"]}}));
    assert_eq!(
        lines(&errs),
        ["spec.l: Too many: 3: must have at most 2 items"]
    );
    assert_eq!(errs[0].kind, FieldErrorKind::TooMany);
    assert_eq!(
        errors(s.clone(), json!({"l": []})),
        ["spec.l: Invalid value: 0: spec.l in body should have at least 1 items"]
    );
    assert_eq!(
        errors(s.clone(), json!({"o": {"a": "x", "b": "y"}})),
        ["spec.o: Too many: 2: must have at most 1 item"]
    );
    assert_eq!(
        errors(s.clone(), json!({"p": {}})),
        ["spec.p: Invalid value: 0: spec.p in body should have at least 1 properties"]
    );
    assert_eq!(
        errors(s, json!({"s": "x"})),
        [r#"spec.s: Invalid value: "x": spec.s in body should be at least 2 chars long"#]
    );
}

#[test]
fn set_lists_reject_duplicates_by_go_equality() {
    let s = json!({"type": "object", "properties": {"tags": {"type": "array",
        "x-kubernetes-list-type": "set", "items": {"type": "string"}}}});
    let errs = spec_schema(s).validate(&json!({"spec": {"tags": ["a", "b", "a", "a"]}}));
    assert_eq!(lines(&errs), [r#"spec.tags[2]: Duplicate value: "a""#]);
}

#[test]
fn map_lists_with_several_keys_and_missing_keys() {
    let s = json!({"type": "object", "properties": {"ports": {"type": "array",
        "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["port", "protocol"],
        "items": {"type": "object", "required": ["port"], "properties": {
            "port": {"type": "integer"}, "protocol": {"type": "string", "default": "TCP"}}}}}});
    let schema = spec_schema(s);
    let mut obj = json!({"spec": {"ports": [{"port": 80}, {"port": 80, "protocol": "TCP"}, {"port": 80, "protocol": "UDP"}]}});
    schema.apply_defaults(&mut obj);
    assert_eq!(
        lines(&schema.validate(&obj)),
        [r#"spec.ports[1]: Duplicate value: {"port":80,"protocol":"TCP"}"#]
    );
}

#[test]
fn the_enum_of_a_nullable_field_still_rejects_null() {
    let s = json!({"type": "object", "properties": {"e": {"type": "string", "nullable": true, "enum": ["a"]}}});
    assert_eq!(
        errors(s, json!({"e": null})),
        [r#"spec.e: Unsupported value: null: supported values: "a""#]
    );
}

#[test]
fn defaults_inside_defaults_and_list_items() {
    let s = spec_schema(json!({"type": "object", "properties": {
        "t": {"type": "object", "default": {}, "properties": {"x": {"type": "integer", "default": 1}}},
        "l": {"type": "array", "items": {"type": "object", "properties": {"y": {"type": "string", "default": "d"}}}}}}));
    let mut obj = json!({"spec": {"l": [{}, {"y": "set"}]}});
    s.apply_defaults(&mut obj);
    assert_eq!(
        obj,
        json!({"spec": {"t": {"x": 1}, "l": [{"y": "d"}, {"y": "set"}]}})
    );
    let mut absent = json!({});
    s.apply_defaults(&mut absent);
    assert_eq!(absent, json!({}), "no spec, no defaults inside it");
}

proptest! {
    #[test]
    fn max_length_counts_characters(s in "\\PC{0,12}", max in 0i64..10) {
        let schema = spec_schema(json!({"type": "string", "maxLength": max}));
        let errs = schema.validate(&json!({"spec": s}));
        let too_long = i64::try_from(s.chars().count()).expect("small") > max;
        prop_assert_eq!(errs.iter().any(|e| e.kind == FieldErrorKind::TooLong), too_long);
    }

    #[test]
    fn prune_then_default_is_idempotent(extra in "[a-z]{1,8}", n in any::<i64>()) {
        let schema = spec_schema(json!({"type": "object", "properties": {
            "a": {"type": "integer", "default": 7}, "b": {"type": "string"}}}));
        let mut obj = json!({"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "n"},
            "spec": {"b": "x", extra.clone(): n}});
        let first = schema.prune(&mut obj);
        schema.apply_defaults(&mut obj);
        let once = obj.clone();
        prop_assert!(schema.prune(&mut obj).is_empty());
        schema.apply_defaults(&mut obj);
        prop_assert_eq!(&obj, &once);
        prop_assert_eq!(&obj["kind"], &json!("K"));
        if extra != "a" && extra != "b" {
            prop_assert_eq!(first, vec![format!("spec.{extra}")]);
        }
    }
}

#[test]
fn updates_ratchet_errors_of_unchanged_values() {
    let s = spec_schema(json!({"type": "object", "properties": {
        "a": {"type": "string", "maxLength": 3},
        "b": {"type": "string", "maxLength": 3},
        "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
            "items": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string"}, "port": {"type": "integer", "maximum": 100}}}},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 1}}}}));
    let old =
        json!({"spec": {"a": "toolong", "ports": [{"name": "x", "port": 500}], "tags": ["long"]}});
    // Unchanged invalid values (even a moved map-list item) are let through…
    let new = json!({"spec": {"a": "toolong", "b": "ok",
        "ports": [{"name": "y", "port": 1}, {"name": "x", "port": 500}], "tags": ["long"]}});
    assert!(
        s.validate_update(&new, &old).is_empty(),
        "{:?}",
        lines(&s.validate_update(&new, &old))
    );
    assert_eq!(s.validate(&new).len(), 3, "a fresh create still fails");
    // …changed ones are not, and atomic list items do not correlate on their own.
    let new = json!({"spec": {"a": "toolong", "b": "toolong", "ports": [{"name": "x", "port": 501}],
        "tags": ["long", "x"]}});
    assert_eq!(
        lines(&s.validate_update(&new, &old)),
        [
            "spec.b: Too long: may not be more than 3 bytes",
            "spec.ports[0].port: Invalid value: 501: spec.ports[0].port in body should be less than or equal to 100",
            "spec.tags[0]: Too long: may not be more than 1 byte",
        ]
    );
}
