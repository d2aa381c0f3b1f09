//! Object metadata the server owns: UIDs, timestamps, generation, resourceVersion, and the
//! rewriting of stored objects into the requested version.

use crate::registry::ResourceDef;
use serde_json::{Map, Value};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh RFC 4122 version-4-shaped UID, unique within the process.
pub fn new_uid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let state = RandomState::new();
    let hi = state.hash_one(n);
    let lo = state.hash_one(hi ^ n);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0x0fff,
        0x8000 | (lo >> 48 & 0x3fff),
        lo & 0xffff_ffff_ffff
    )
}

/// Seconds-precision RFC 3339 time, as `metav1.Time` serializes.
pub fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

pub fn name(object: &Value) -> Option<&str> {
    object["metadata"]["name"]
        .as_str()
        .filter(|n| !n.is_empty())
}

pub fn uid(object: &Value) -> Option<&str> {
    object["metadata"]["uid"].as_str()
}

pub fn finalizers(object: &Value) -> Vec<String> {
    object["metadata"]["finalizers"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub fn is_deleting(object: &Value) -> bool {
    object["metadata"]["deletionTimestamp"].is_string()
}

/// Ensures `object.metadata` is a JSON object and returns it.
pub fn metadata_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object["metadata"].is_object() {
        object["metadata"] = Value::Object(Map::new());
    }
    match &mut object["metadata"] {
        Value::Object(map) => map,
        _ => unreachable_metadata(),
    }
}

#[expect(clippy::panic, reason = "metadata was made an object just above")]
fn unreachable_metadata() -> ! {
    panic!("metadata is an object")
}

/// The parts of an object that count as its spec for `metadata.generation`: everything but
/// metadata and status (and the type fields).
pub fn spec_part(object: &Value) -> Value {
    match object {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| {
                    !matches!(k.as_str(), "metadata" | "status" | "apiVersion" | "kind")
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The stored object as the requested version presents it (CRD versions share one schema
/// shape here: conversion strategy None, which only rewrites apiVersion).
pub fn present(def: &ResourceDef, stored: &Value) -> Value {
    let mut object = crate::conversion::from_storage(def, stored.clone());
    object["apiVersion"] = Value::String(def.api_version());
    object["kind"] = Value::String(def.kind.clone());
    object
}

/// Drops empty/absent-equivalent metadata the server never stores (`null` maps and lists).
pub fn drop_nulls(value: &mut Value) {
    if let Value::Object(map) = value {
        map.retain(|_, v| !v.is_null());
        map.values_mut().for_each(drop_nulls);
    } else if let Value::Array(items) = value {
        items.iter_mut().for_each(drop_nulls);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_unique_and_uuid_shaped() {
        let a = new_uid();
        let b = new_uid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4", "version nibble");
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let t = now();
        assert!(t.ends_with('Z') && t.len() == 20, "{t}");
    }
}
