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

/// The Content-Type kube-openapi answers the protobuf v2 document with: the media type
/// clients ask for (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`) is not
/// valid in a Content-Type (Go's mime parser rejects the `@`).
pub const V2_PROTOBUF: &str = "application/octet-stream";

/// Protocol buffers wire format, just what the v2 document needs: strings, bools, messages.
#[derive(Debug, Default)]
struct Proto(Vec<u8>);

impl Proto {
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            // Seven bits per byte, low first, high bit set on all but the last.
            self.0.push((value & 0x7f) as u8 | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
    }

    fn bytes(mut self, field: u64, data: &[u8]) -> Self {
        self.varint(field << 3 | 2);
        self.varint(data.len() as u64);
        self.0.extend_from_slice(data);
        self
    }

    fn string(self, field: u64, text: &str) -> Self {
        self.bytes(field, text.as_bytes())
    }

    fn message(self, field: u64, message: Proto) -> Self {
        self.bytes(field, &message.0)
    }

    fn bool(mut self, field: u64, value: bool) -> Self {
        self.varint(field << 3);
        self.varint(u64::from(value));
        self
    }
}

/// `/openapi/v2` as protobuf. kubectl 1.27+ reads v3, but falls back to v2 to ask whether a
/// kind supports server-side field validation when the v3 index lacks its group-version (a
/// manifest naming a CRD that is not installed yet). With no v2 document that fallback fails
/// with "failed to download openapi"; with one it reaches the answer a real cluster gives
/// ("no matches for kind ... ensure CRDs are installed first"). So the document carries what
/// that check reads: every resource's PATCH operation with its `fieldValidation` parameter
/// and group-version-kind extension. Schemas are not published here (v3 has them).
pub fn v2_protobuf(server: &ApiServer) -> Vec<u8> {
    let mut paths = Proto::default();
    for def in server.registry().all() {
        let item = if def.namespaced {
            format!(
                "/{}/namespaces/{{namespace}}/{}/{{name}}",
                gv_path(def),
                def.plural
            )
        } else {
            format!("/{}/{}/{{name}}", gv_path(def), def.plural)
        };
        let query = Proto::default()
            .string(2, "query")
            .string(4, "fieldValidation")
            .string(6, "string")
            .bool(20, true);
        // ParametersItem.parameter → Parameter.non_body_parameter → query_parameter_sub_schema.
        let parameter = Proto::default().message(
            1,
            Proto::default().message(2, Proto::default().message(3, query)),
        );
        let gvk = format!(
            "group: {:?}\nkind: {}\nversion: {}\n",
            def.group, def.kind, def.version
        );
        let extension = Proto::default()
            .string(1, "x-kubernetes-group-version-kind")
            .message(2, Proto::default().string(2, &gvk));
        let patch = Proto::default()
            .string(5, &format!("patch{}", def.kind))
            .message(8, parameter)
            .message(13, extension);
        let path_item = Proto::default().message(8, patch);
        paths = paths.message(2, Proto::default().string(1, &item).message(2, path_item));
    }
    let info = Proto::default()
        .string(1, "Kubernetes")
        .string(2, &format!("v1.{}.0", crate::discovery::KUBE_MINOR));
    Proto::default()
        .string(1, "2.0")
        .message(2, info)
        .message(8, paths)
        .0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_fields_follow_the_wire_format() {
        let mut varint = Proto::default();
        varint.varint(300);
        assert_eq!(varint.0, [0xac, 0x02]);
        let message = Proto::default().string(1, "2.0").bool(20, true);
        assert_eq!(message.0, [0x0a, 3, b'2', b'.', b'0', 0xa0, 0x01, 1]);
    }
}
