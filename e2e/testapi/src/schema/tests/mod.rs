//! Tests of the schema module against the upstream CRDs ferrule serves and against
//! hand-written schemas, with the API server's exact paths and messages as expectations.

mod crd_checks;
mod upstream;
mod values;

use super::StructuralSchema;
use serde::Deserialize as _;
use serde_json::Value;
use std::path::PathBuf;

/// `shared/reference`, or `$FERRULE_REFERENCE_DIR` (same convention as crd-gen's tests).
fn reference_dir() -> PathBuf {
    std::env::var_os("FERRULE_REFERENCE_DIR").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/reference"
            ))
        },
        PathBuf::from,
    )
}

/// Every YAML document of a reference file, as JSON.
fn load_docs(rel: &str) -> Vec<Value> {
    let path = reference_dir().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reference file {} must be readable (set FERRULE_REFERENCE_DIR): {e}",
            path.display()
        )
    });
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| {
            let yaml = serde_yaml::Value::deserialize(doc).expect("reference file is YAML");
            serde_json::to_value(yaml).expect("YAML converts to JSON")
        })
        .filter(|v| !v.is_null())
        .collect()
}

/// The `openAPIV3Schema` of `version` of the (only) CRD in `rel`.
fn schema_json(rel: &str, version: &str) -> Value {
    let crd = load_docs(rel)
        .into_iter()
        .find(|d| d["kind"] == "CustomResourceDefinition")
        .expect("file holds a CRD");
    crd["spec"]["versions"]
        .as_array()
        .expect("CRD has versions")
        .iter()
        .find(|v| v["name"] == version)
        .map(|v| v["schema"]["openAPIV3Schema"].clone())
        .expect("CRD has that version")
}

fn schema(rel: &str, version: &str) -> StructuralSchema {
    StructuralSchema::from_json(&schema_json(rel, version)).expect("upstream schema is accepted")
}

/// A schema written inline in a test.
fn inline(schema: Value) -> StructuralSchema {
    StructuralSchema::from_json(&schema).expect("test schema is accepted")
}

/// `path: message` lines of the errors, for compact assertions.
fn lines(errs: &[super::FieldError]) -> Vec<String> {
    errs.iter().map(ToString::to_string).collect()
}
