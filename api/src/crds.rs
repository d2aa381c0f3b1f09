//! The CRDs ferrule serves, assembled from the per-version Rust types.
//!
//! kube-derive emits one CRD per version with schemars conventions; [`all`] merges the
//! versions and rewrites the schema into the shape controller-gen gives upstream Cilium, so a
//! ferrule CRD can replace Cilium's in place (same served/storage versions, same validation).

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};
use kube::core::crd::merge_crds;
use serde_json::{Map, Value, json};

/// How one CRD is put together from its per-version types.
pub(crate) struct Assembly {
    /// One CRD per version, as kube-derive generates them.
    pub(crate) versions: Vec<CustomResourceDefinition>,
    /// The version stored in etcd.
    pub(crate) storage: &'static str,
    /// The root's required fields, as upstream lists them (controller-gen leaves out
    /// `omitempty` fields, so this differs between CRDs).
    pub(crate) root_required: &'static [&'static str],
}

/// Every CRD ferrule generates, sorted by name, in the upstream-compatible shape.
pub fn all() -> Vec<CustomResourceDefinition> {
    let assemblies = [
        crate::lbipam::assembly(),
        // BGP control plane CRDs
        crate::bgp::cluster_config::assembly(),
        crate::bgp::peer_config::assembly(),
        crate::bgp::advertisement::assembly(),
        crate::bgp::node_config::assembly(),
        crate::bgp::node_config_override::assembly(),
        // other feature CRDs
        crate::l2announcement::assembly(),
        crate::egress_gateway::assembly(),
        crate::pod_ip_pool::assembly(),
        crate::gateway_class_config::assembly(),
        // ferrule.io: derived objects Cilium has no CRD for
        crate::node_l2announcements::assembly(),
    ];
    let mut crds: Vec<_> = assemblies.into_iter().map(assemble).collect();
    crds.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    crds
}

fn assemble(assembly: Assembly) -> CustomResourceDefinition {
    let mut crd = merge_crds(assembly.versions, assembly.storage)
        .expect("every version of a CRD is declared with the same group, kind and scope");
    // kube-derive leaves listKind to the API server's default; upstream spells it out.
    crd.spec.names.list_kind = Some(format!("{}List", crd.spec.names.kind));
    for version in &mut crd.spec.versions {
        if let Some(validation) = version.schema.as_mut()
            && let Some(schema) = validation.open_api_v3_schema.take()
        {
            validation.open_api_v3_schema = Some(normalize_root(schema, assembly.root_required));
        }
    }
    crd
}

/// Rewrites a kube-derive root schema into controller-gen's shape.
fn normalize_root(schema: JSONSchemaProps, required: &[&str]) -> JSONSchemaProps {
    let mut value = serde_json::to_value(schema).expect("JSONSchemaProps serializes to JSON");
    normalize(&mut value);
    let root = value
        .as_object_mut()
        .expect("a CRD root schema is an object");
    root.remove("title");
    let properties = root
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .expect("root properties are an object");
    properties.insert(
        "apiVersion".into(),
        json!({
            "description": "APIVersion defines the versioned schema of this representation of an object.",
            "type": "string",
        }),
    );
    properties.insert(
        "kind".into(),
        json!({
            "description": "Kind is a string value representing the REST resource this object represents.",
            "type": "string",
        }),
    );
    properties.insert("metadata".into(), json!({ "type": "object" }));
    root.insert("required".into(), json!(required));
    serde_json::from_value(value).expect("a normalized schema is still a valid JSONSchemaProps")
}

/// Drops the schemars conventions that controller-gen does not use.
///
/// `nullable` and `null` enum members come from `Option<T>` fields; upstream CRDs have none, and
/// keeping them would make the API server store explicit nulls that Cilium's schema prunes.
fn normalize(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("nullable");
            if let Some(Value::Array(members)) = map.get_mut("enum") {
                members.retain(|m| !m.is_null());
            }
            map.values_mut().for_each(normalize);
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}
