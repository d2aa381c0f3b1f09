//! Schemas the API server refuses, with the causes it returns for the CRD.

use super::lines;
use crate::schema::{SchemaError, StructuralSchema};
use serde_json::{Value, json};

fn refused(schema: Value) -> Vec<String> {
    match StructuralSchema::from_json(&schema) {
        Err(SchemaError::Invalid(errs)) => lines(&errs),
        Err(other) => panic!("expected Invalid, got {other}"),
        Ok(_) => panic!("schema was accepted: {schema}"),
    }
}

fn with_spec(spec: Value) -> Value {
    json!({"type": "object", "properties": {"spec": spec}})
}

#[test]
fn fields_without_type_are_not_structural() {
    assert_eq!(
        refused(with_spec(
            json!({"type": "object", "properties": {"foo": {}}})
        )),
        [
            "openAPIV3Schema.properties[spec].properties[foo].type: Required value: must not be empty for specified object fields"
        ]
    );
    assert_eq!(
        refused(with_spec(json!({"type": "array", "items": {}}))),
        [
            "openAPIV3Schema.properties[spec].items.type: Required value: must not be empty for specified array items"
        ]
    );
    assert_eq!(
        refused(json!({"properties": {}})),
        ["openAPIV3Schema.type: Required value: must not be empty at the root"]
    );
    assert_eq!(
        refused(with_spec(json!({"type": "array"}))),
        ["openAPIV3Schema.properties[spec].items: Required value: must be specified"]
    );
}

#[test]
fn value_validations_may_not_carry_structure() {
    assert_eq!(
        refused(with_spec(
            json!({"type": "object", "properties": {"a": {"type": "string"}},
            "anyOf": [{"type": "object", "properties": {"a": {"type": "string"}}}]})
        )),
        [
            "openAPIV3Schema.properties[spec].anyOf[0].properties[a].type: Forbidden: must be empty to be structural",
            "openAPIV3Schema.properties[spec].anyOf[0].type: Forbidden: must be empty to be structural",
        ]
    );
    // Completeness: what value validations talk about must be specified. Upstream checks
    // this from the root's value validations only (validateStructuralCompleteness).
    assert_eq!(
        refused(
            json!({"type": "object", "properties": {"spec": {"type": "object"}},
            "anyOf": [{"properties": {"status": {}}}, {"properties": {"spec": {"required": ["x"]}}}]})
        ),
        [
            "openAPIV3Schema.properties[status]: Required value: because it is defined in openAPIV3Schema.anyOf[0].properties[status]"
        ]
    );
    // The int-or-string pattern is the allowed exception.
    StructuralSchema::from_json(&with_spec(
        json!({"type": "object", "properties": {"port": {
        "x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]}}}),
    ))
    .expect("int-or-string anyOf is structural");
}

#[test]
fn root_and_metadata_rules() {
    assert_eq!(
        refused(json!({"type": "object", "additionalProperties": {"type": "string"}})),
        ["openAPIV3Schema.additionalProperties: Forbidden: must not be used at the root"]
    );
    assert_eq!(
        refused(
            json!({"type": "object", "properties": {"metadata": {"type": "object",
            "properties": {"labels": {"type": "object"}}}}})
        ),
        [
            "openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified"
        ]
    );
    StructuralSchema::from_json(
        &json!({"type": "object", "properties": {"metadata": {"type": "object",
        "properties": {"name": {"type": "string", "maxLength": 20}}}}}),
    )
    .expect("restricting metadata.name is allowed");
    assert_eq!(
        refused(
            json!({"type": "object", "properties": {"metadata": {"type": "object", "default": {}}}})
        ),
        [
            "openAPIV3Schema.properties[metadata].default: Forbidden: must not be set in top-level metadata"
        ]
    );
    assert_eq!(
        refused(json!({"type": "object", "nullable": true})),
        ["openAPIV3Schema.nullable: Forbidden: nullable cannot be true at the root"]
    );
}

#[test]
fn list_type_rules() {
    assert_eq!(
        refused(with_spec(
            json!({"type": "array", "x-kubernetes-list-type": "map",
            "items": {"type": "object", "properties": {"name": {"type": "string"}}}})
        )),
        [
            "openAPIV3Schema.properties[spec].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map"
        ]
    );
    assert_eq!(
        refused(with_spec(
            json!({"type": "array", "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            "items": {"type": "object", "properties": {"name": {"type": "string"}}}})
        )),
        [
            "openAPIV3Schema.properties[spec].items.properties[name].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property"
        ]
    );
    assert_eq!(
        refused(with_spec(
            json!({"type": "array", "x-kubernetes-list-type": "bag",
            "items": {"type": "string"}})
        )),
        [
            r#"openAPIV3Schema.properties[spec].x-kubernetes-list-type: Unsupported value: "bag": supported values: "atomic", "set", "map""#
        ]
    );
    assert_eq!(
        refused(with_spec(
            json!({"type": "array", "x-kubernetes-list-type": "set",
            "items": {"type": "object", "properties": {"a": {"type": "string"}}}})
        )),
        [
            "openAPIV3Schema.properties[spec].items.x-kubernetes-map-type: Invalid value: null: must be atomic as item of a list with x-kubernetes-list-type=set"
        ]
    );
}

#[test]
fn defaults_must_validate_and_be_pruned() {
    assert_eq!(
        refused(with_spec(
            json!({"type": "object", "properties": {"n": {"type": "integer", "default": "x"}}})
        )),
        [
            r#"openAPIV3Schema.properties[spec].properties[n].default: Invalid value: "string":  in body must be of type integer: "string""#
        ]
    );
    assert_eq!(
        refused(with_spec(json!({"type": "object", "default": {"a": 1},
            "properties": {"b": {"type": "integer"}}}))),
        [
            r#"openAPIV3Schema.properties[spec].default: Invalid value: {"a":1}: must not have unknown fields"#
        ]
    );
}

#[test]
fn unsupported_keywords_and_bad_patterns() {
    assert_eq!(
        refused(with_spec(
            json!({"type": "object", "$ref": "#/definitions/x"})
        )),
        ["openAPIV3Schema.properties[spec].$ref: Forbidden: $ref is not supported"]
    );
    assert_eq!(
        refused(with_spec(
            json!({"type": "array", "uniqueItems": true, "items": {"type": "string"}})
        )),
        [
            "openAPIV3Schema.properties[spec].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic"
        ]
    );
    let errs = refused(with_spec(json!({"type": "string", "pattern": "(unclosed"})));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with(r#"openAPIV3Schema.properties[spec].pattern: Invalid value: "(unclosed": must be a valid regular expression, but isn't: error parsing regexp"#),
        "{errs:?}"
    );
    assert_eq!(
        refused(with_spec(
            json!({"type": "object", "properties": {"a": {"type": "string"}},
            "additionalProperties": {"type": "string"}})
        )),
        [
            "openAPIV3Schema.properties[spec].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive"
        ]
    );
}

#[test]
fn undecodable_schemas_are_malformed() {
    let err =
        StructuralSchema::from_json(&with_spec(json!({"type": "string", "maxLength": "ten"})))
            .expect_err("maxLength must be an integer");
    assert!(
        matches!(err, SchemaError::Malformed { ref path, .. } if path == "openAPIV3Schema.properties[spec].maxLength"),
        "{err:?}"
    );
}
