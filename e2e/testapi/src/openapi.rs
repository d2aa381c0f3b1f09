//! OpenAPI v3 documents (`/openapi/v3`, `/openapi/v3/apis/<group>/<version>`): enough for
//! kubectl to see that every resource accepts server-side field validation
//! (`fieldValidation` on PATCH) and to explain CRD schemas.
//!
//! Built-in kinds carry an open object schema: this server does not ship Kubernetes' own
//! OpenAPI models, so client-side features that need them (kubectl client-side apply's
//! strategic merge of built-ins) see an untyped object.

use crate::registry::ResourceDef;
use crate::server::ApiServer;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

/// `api/v1` or `apis/<group>/<version>`.
fn gv_path(def: &ResourceDef) -> String {
    if def.group.is_empty() {
        format!("api/{}", def.version)
    } else {
        format!("apis/{}/{}", def.group, def.version)
    }
}

/// The OpenAPI component name of a kind: reversed group, version, kind.
fn schema_name(def: &ResourceDef) -> String {
    let group = if def.group.is_empty() {
        "io.k8s.api.core".to_owned()
    } else {
        def.group.split('.').rev().collect::<Vec<_>>().join(".")
    };
    format!("{group}.{}.{}", def.version, def.kind)
}

fn defs_by_gv(server: &ApiServer) -> BTreeMap<String, Vec<ResourceDef>> {
    let mut by_gv: BTreeMap<String, Vec<ResourceDef>> = BTreeMap::new();
    for def in server.registry().all() {
        by_gv.entry(gv_path(def)).or_default().push((**def).clone());
    }
    by_gv
}

/// The discovery document listing each group-version's document.
pub fn root(server: &ApiServer) -> Value {
    let paths: Map<String, Value> = defs_by_gv(server)
        .into_iter()
        .map(|(gv, defs)| {
            let hash = document_hash(&group_version_document(&defs));
            let url = format!("/openapi/v3/{gv}?hash={hash:016X}");
            (gv, json!({ "serverRelativeURL": url }))
        })
        .collect();
    json!({ "paths": paths })
}

/// The document of one group-version, or `None` when nothing is served there.
pub fn group_version(server: &ApiServer, gv: &str) -> Option<Value> {
    defs_by_gv(server)
        .remove(gv)
        .map(|defs| group_version_document(&defs))
}

fn document_hash(document: &Value) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one(document.to_string())
}

fn parameter(name: &str) -> Value {
    json!({ "name": name, "in": "query", "schema": { "type": "string", "uniqueItems": true } })
}

fn group_version_document(defs: &[ResourceDef]) -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for def in defs {
        let gvk = json!({ "group": def.group, "version": def.version, "kind": def.kind });
        let prefix = format!("/{}", gv_path(def));
        let collection = if def.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}", def.plural)
        } else {
            format!("{prefix}/{}", def.plural)
        };
        let reference = json!({ "$ref": format!("#/components/schemas/{}", schema_name(def)) });
        let response = json!({ "200": { "description": "OK", "content": { "application/json": { "schema": reference } } } });
        let operation = |action: &str, params: Vec<Value>| {
            json!({
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
                "parameters": params,
                "responses": response,
            })
        };
        let write_params = || {
            vec![
                parameter("dryRun"),
                parameter("fieldManager"),
                parameter("fieldValidation"),
            ]
        };
        let mut patch_params = write_params();
        patch_params.push(parameter("force"));
        paths.insert(
            collection.clone(),
            json!({
                "get": operation("list", vec![parameter("labelSelector"), parameter("fieldSelector"), parameter("limit"), parameter("continue"), parameter("watch")]),
                "post": operation("post", write_params()),
                "delete": operation("deletecollection", vec![parameter("labelSelector")]),
            }),
        );
        let item = json!({
            "get": operation("get", Vec::new()),
            "put": operation("put", write_params()),
            "patch": operation("patch", patch_params.clone()),
            "delete": operation("delete", vec![parameter("dryRun")]),
        });
        paths.insert(format!("{collection}/{{name}}"), item);
        if def.status_subresource {
            paths.insert(
                format!("{collection}/{{name}}/status"),
                json!({
                    "get": operation("get", Vec::new()),
                    "put": operation("put", write_params()),
                    "patch": operation("patch", patch_params),
                }),
            );
        }
        let mut schema = def.schema_json.clone().unwrap_or_else(
            || json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true }),
        );
        schema["x-kubernetes-group-version-kind"] = json!([gvk]);
        schemas.insert(schema_name(def), schema);
    }
    json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes", "version": format!("v1.{}.0", crate::discovery::KUBE_MINOR) },
        "paths": paths,
        "components": { "schemas": schemas },
    })
}
