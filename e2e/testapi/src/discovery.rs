//! Non-resource paths: /version, discovery (/api, /apis, group and version resource lists),
//! health endpoints, and the admin (fault injection) API.

use crate::registry::ResourceDef;
use crate::server::{ApiServer, Method, Reply, Request};
use crate::status::ApiError;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The Kubernetes version the server reports.
pub const KUBE_MINOR: &str = "35";

pub fn handle(server: &Arc<ApiServer>, request: &Request) -> Reply {
    let path = request.path.trim_end_matches('/');
    if let Some(admin) = path.strip_prefix("/ferrule-testapi") {
        return crate::admin::handle(server, admin, request);
    }
    if request.method != Method::Get {
        return ApiError::method_not_allowed(format!("{} only answers GET", request.path)).into();
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["version"] => Reply::ok(json!({
            "major": "1",
            "minor": KUBE_MINOR,
            "emulationMajor": "1",
            "emulationMinor": KUBE_MINOR,
            "gitVersion": format!("v1.{KUBE_MINOR}.0-ferrule-testapi"),
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": "go1.25",
            "compiler": "gc",
            "platform": "linux/amd64",
        })),
        ["healthz" | "readyz" | "livez"] => Reply::Json {
            code: 200,
            body: Value::String("ok".into()),
            warnings: Vec::new(),
            content_type: "text/plain",
        },
        ["api"] => Reply::ok(json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": "" }],
        })),
        ["apis"] => Reply::ok(json!({
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": groups(server),
        })),
        ["api", version] => resource_list(server, "", version),
        ["apis", group] => match groups(server).into_iter().find(|g| g["name"] == *group) {
            Some(mut group) => {
                group["kind"] = json!("APIGroup");
                group["apiVersion"] = json!("v1");
                Reply::ok(group)
            }
            None => ApiError::no_route(&request.path).into(),
        },
        ["apis", group, version] => resource_list(server, group, version),
        ["openapi", "v3"] => Reply::ok(crate::openapi::root(server)),
        ["openapi", "v3", gv @ ..] => match crate::openapi::group_version(server, &gv.join("/")) {
            Some(document) => Reply::ok(document),
            None => ApiError::no_route(&request.path).into(),
        },
        ["openapi", "v2"] => Reply::Raw {
            content_type: crate::openapi::V2_PROTOBUF,
            body: crate::openapi::v2_protobuf(server).into(),
        },
        // Only the protobuf v2 index kubectl's fallback reads is published (see openapi.rs).
        ["openapi", ..] | ["swagger.json"] => ApiError::no_route(&request.path).into(),
        _ => ApiError::no_route(&request.path).into(),
    }
}

/// Kubernetes version ordering: GA before beta before alpha, higher numbers first.
fn version_priority(version: &str) -> (u8, i64, i64) {
    let rest = version.strip_prefix('v').unwrap_or(version);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let major: i64 = digits.parse().unwrap_or(0);
    let tail = &rest[digits.len()..];
    let (stage, minor) = if tail.is_empty() {
        (3, 0)
    } else if let Some(n) = tail.strip_prefix("beta") {
        (2, n.parse().unwrap_or(0))
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (1, n.parse().unwrap_or(0))
    } else {
        (0, 0)
    };
    (stage, major, minor)
}

fn groups(server: &ApiServer) -> Vec<Value> {
    let mut by_group: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for def in server.registry().all() {
        if def.group.is_empty() {
            continue;
        }
        let versions = by_group.entry(def.group.clone()).or_default();
        if !versions.contains(&def.version) {
            versions.push(def.version.clone());
        }
    }
    by_group
        .into_iter()
        .map(|(group, mut versions)| {
            versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
            let entries: Vec<Value> = versions
                .iter()
                .map(|v| json!({ "groupVersion": format!("{group}/{v}"), "version": v }))
                .collect();
            json!({ "name": group, "versions": entries, "preferredVersion": entries[0] })
        })
        .collect()
}

fn verbs(def: &ResourceDef) -> Vec<&'static str> {
    vec![
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ]
    .into_iter()
    .filter(|v| def.plural != "namespaces" || *v != "deletecollection")
    .collect()
}

fn resource_list(server: &ApiServer, group: &str, version: &str) -> Reply {
    let registry = server.registry();
    let defs: Vec<_> = registry
        .all()
        .filter(|d| d.group == group && d.version == version)
        .collect();
    if defs.is_empty() {
        return ApiError::no_route(&format!("{group}/{version}")).into();
    }
    let mut resources = Vec::new();
    for def in defs {
        let mut entry = json!({
            "name": def.plural,
            "singularName": def.singular,
            "namespaced": def.namespaced,
            "kind": def.kind,
            "verbs": verbs(def),
        });
        if !def.short_names.is_empty() {
            entry["shortNames"] = json!(def.short_names);
        }
        if !def.categories.is_empty() {
            entry["categories"] = json!(def.categories);
        }
        resources.push(entry);
        if def.status_subresource {
            resources.push(json!({
                "name": format!("{}/status", def.plural),
                "singularName": "",
                "namespaced": def.namespaced,
                "kind": def.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Reply::ok(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_like_kubernetes() {
        let mut versions = vec!["v2alpha1", "v1beta1", "v2", "v1", "v10alpha1"];
        versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        assert_eq!(versions, ["v2", "v1", "v1beta1", "v10alpha1", "v2alpha1"]);
    }
}
