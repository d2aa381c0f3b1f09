//! Type information of the built-in kinds the server serves: which lists are associative
//! (`+listType=map` with `+listMapKey`s, `+listType=set`), which maps are string-keyed (and
//! which of those are `+mapType=atomic`), key defaults, and where strategic merge patch
//! disagrees with server-side apply.
//!
//! Sources: the `DeepMerge` implementations of k8s-openapi 0.28 (`v1_33`), which are
//! generated from the Kubernetes v1.33 OpenAPI extensions (`x-kubernetes-list-type`,
//! `x-kubernetes-map-type`, `x-kubernetes-patch-strategy`/`-merge-key`), cross-checked with the
//! tags in k8s.io/api `core/v1/types.go`, `meta/v1/types.go` and
//! `apiextensions/v1/types.go`. k8s-openapi keys map-lists by their `patchMergeKey` only; the
//! multi-key lists below use the real `+listMapKey`s (`ServicePort` and `ContainerPort`:
//! `+listMapKey=port|containerPort +listMapKey=protocol`; `topologySpreadConstraints`:
//! `+listMapKey=topologyKey +listMapKey=whenUnsatisfiable`). Every list not listed is atomic,
//! as it is in Kubernetes (`+listType=atomic`, or no tag at all).

use crate::typeinfo::{ListType, MapType, PatchStrategy, Step, TypeInfo};
use serde_json::Value;
use std::sync::Arc;

/// What the type tags say about one place. Places are written `.spec.ports`, with `[]` for
/// the items of a list and `.*` for the values of a string map.
#[derive(Debug, Clone, Copy)]
enum Tag {
    /// `+listType=map` with these `+listMapKey`s (the first is the `patchMergeKey`).
    MapList(&'static [&'static str]),
    /// `+listType=set` (`patchStrategy=merge` on a list of scalars).
    Set,
    /// A `map[string]T`: its keys are data, not declared fields.
    StringMap,
    /// A `map[string]T` with `+mapType=atomic`.
    AtomicStringMap,
    /// The default (JSON) of a key field of this map-list's items (`+default=`).
    KeyDefault(&'static str, &'static str),
    /// A map-list without `patchStrategy`: strategic merge patch replaces it.
    SmpReplace,
}

use Tag::{AtomicStringMap, KeyDefault, MapList, Set, SmpReplace, StringMap};

/// `ObjectMeta` (k8s.io/apimachinery `meta/v1/types.go`), part of every kind.
const OBJECT_META: &[(&str, Tag)] = &[
    (".metadata.labels", StringMap),
    (".metadata.annotations", StringMap),
    // +patchStrategy=merge +listType=set
    (".metadata.finalizers", Set),
    // +patchMergeKey=uid +patchStrategy=merge +listType=map +listMapKey=uid
    (".metadata.ownerReferences", MapList(&["uid"])),
];

/// `core/v1` Service.
const SERVICE: &[(&str, Tag)] = &[
    // +patchMergeKey=port +patchStrategy=merge +listType=map +listMapKey=port +listMapKey=protocol
    (".spec.ports", MapList(&["port", "protocol"])),
    // ServicePort.protocol: +default="TCP"
    (".spec.ports", KeyDefault("protocol", "\"TCP\"")),
    // +mapType=atomic
    (".spec.selector", AtomicStringMap),
    // clusterIPs, externalIPs, ipFamilies, loadBalancerSourceRanges: +listType=atomic;
    // status.loadBalancer.ingress: +listType=atomic.
    // +patchMergeKey=type +patchStrategy=merge +listType=map +listMapKey=type
    (".status.conditions", MapList(&["type"])),
];

/// `core/v1` Node.
const NODE: &[(&str, Tag)] = &[
    // +patchStrategy=merge +listType=set
    (".spec.podCIDRs", Set),
    // taints: no listType, no patchStrategy: atomic.
    // +patchMergeKey=type +patchStrategy=merge (no listType: structured-merge-diff keys it by
    // the patch merge key).
    (".status.addresses", MapList(&["type"])),
    (".status.conditions", MapList(&["type"])),
    (".status.capacity", StringMap),
    (".status.allocatable", StringMap),
];

/// The containers of a Pod (`containers`, `initContainers`, `ephemeralContainers`), relative
/// to the container.
const CONTAINER: &[(&str, Tag)] = &[
    // +patchMergeKey=name +patchStrategy=merge
    ("env", MapList(&["name"])),
    // +patchMergeKey=containerPort +patchStrategy=merge +listType=map
    // +listMapKey=containerPort +listMapKey=protocol
    ("ports", MapList(&["containerPort", "protocol"])),
    // ContainerPort.protocol: +default="TCP"
    ("ports", KeyDefault("protocol", "\"TCP\"")),
    // +patchMergeKey=mountPath +patchStrategy=merge
    ("volumeMounts", MapList(&["mountPath"])),
    // +patchMergeKey=devicePath +patchStrategy=merge
    ("volumeDevices", MapList(&["devicePath"])),
    // ResourceRequirements.claims: +listType=map +listMapKey=name, no patchStrategy.
    ("resources.claims", MapList(&["name"])),
    ("resources.claims", SmpReplace),
    ("resources.limits", StringMap),
    ("resources.requests", StringMap),
];

/// `core/v1` Pod, container lists aside.
const POD: &[(&str, Tag)] = &[
    (".spec.containers", MapList(&["name"])),
    (".spec.initContainers", MapList(&["name"])),
    (".spec.ephemeralContainers", MapList(&["name"])),
    // +patchMergeKey=name +patchStrategy=merge,retainKeys
    (".spec.volumes", MapList(&["name"])),
    (".spec.imagePullSecrets", MapList(&["name"])),
    (".spec.hostAliases", MapList(&["ip"])),
    (
        ".spec.topologySpreadConstraints",
        MapList(&["topologyKey", "whenUnsatisfiable"]),
    ),
    (
        ".spec.topologySpreadConstraints[].labelSelector.matchLabels",
        StringMap,
    ),
    (".spec.resourceClaims", MapList(&["name"])),
    (".spec.schedulingGates", MapList(&["name"])),
    // +mapType=atomic
    (".spec.nodeSelector", AtomicStringMap),
    (".spec.overhead", StringMap),
    (".spec.resources.claims", MapList(&["name"])),
    (".spec.resources.claims", SmpReplace),
    (".spec.resources.limits", StringMap),
    (".spec.resources.requests", StringMap),
    // tolerations, readinessGates: atomic. containerStatuses & co: +listType=atomic.
    (".status.conditions", MapList(&["type"])),
    (".status.podIPs", MapList(&["ip"])),
    (".status.hostIPs", MapList(&["ip"])),
    (".status.resourceClaimStatuses", MapList(&["name"])),
];

const NAMESPACE: &[(&str, Tag)] = &[
    // spec.finalizers: +listType=atomic.
    (".status.conditions", MapList(&["type"])),
];

const CONFIG_MAP: &[(&str, Tag)] = &[(".data", StringMap), (".binaryData", StringMap)];

const SECRET: &[(&str, Tag)] = &[(".data", StringMap), (".stringData", StringMap)];

/// `apiextensions/v1` CustomResourceDefinition: spec.versions and names lists are atomic.
const CUSTOM_RESOURCE_DEFINITION: &[(&str, Tag)] = &[
    // +listType=map +listMapKey=type, no patchStrategy.
    (".status.conditions", MapList(&["type"])),
    (".status.conditions", SmpReplace),
];

/// The kind's own table. Endpoints (subsets), EndpointSlice (endpoints, ports), Ingress,
/// IngressClass, Lease and both Events have only atomic lists.
fn table(group: &str, kind: &str) -> &'static [(&'static str, Tag)] {
    match (group, kind) {
        ("", "Service") => SERVICE,
        ("", "Node") => NODE,
        ("", "Pod") => POD,
        ("", "Namespace") => NAMESPACE,
        ("", "ConfigMap") => CONFIG_MAP,
        ("", "Secret") => SECRET,
        ("apiextensions.k8s.io", "CustomResourceDefinition") => CUSTOM_RESOURCE_DEFINITION,
        _ => &[],
    }
}

/// Type information of one built-in kind.
#[derive(Debug, Clone)]
pub struct BuiltinTypes {
    tags: Vec<(String, Tag)>,
}

impl BuiltinTypes {
    fn new(group: &str, kind: &str) -> Self {
        let mut tags: Vec<(String, Tag)> = OBJECT_META
            .iter()
            .chain(table(group, kind))
            .map(|(p, t)| ((*p).to_owned(), *t))
            .collect();
        if (group, kind) == ("", "Pod") {
            for list in ["containers", "initContainers", "ephemeralContainers"] {
                tags.extend(
                    CONTAINER
                        .iter()
                        .map(|(p, t)| (format!(".spec.{list}[].{p}"), *t)),
                );
            }
        }
        Self { tags }
    }

    fn tags_at<'a>(&'a self, path: &[Step]) -> impl Iterator<Item = Tag> + 'a {
        let rendered = render(path);
        self.tags
            .iter()
            .filter(move |(p, _)| *p == rendered)
            .map(|(_, t)| *t)
    }
}

/// `.spec.ports[].name`-style rendering of a type-information path.
fn render(path: &[Step]) -> String {
    let mut s = String::new();
    for step in path {
        match step {
            Step::Field(f) => {
                s.push('.');
                s.push_str(f);
            }
            Step::Item => s.push_str("[]"),
            Step::Value => s.push_str(".*"),
        }
    }
    s
}

impl TypeInfo for BuiltinTypes {
    fn list_type(&self, path: &[Step]) -> ListType {
        for tag in self.tags_at(path) {
            match tag {
                MapList(keys) => {
                    return ListType::Map(keys.iter().map(|k| (*k).to_owned()).collect());
                }
                Set => return ListType::Set,
                _ => {}
            }
        }
        ListType::Atomic
    }

    fn map_type(&self, path: &[Step]) -> MapType {
        if self.tags_at(path).any(|t| matches!(t, AtomicStringMap)) {
            MapType::Atomic
        } else {
            MapType::Granular
        }
    }

    fn is_declared_field(&self, path: &[Step], _name: &str) -> bool {
        !self
            .tags_at(path)
            .any(|t| matches!(t, StringMap | AtomicStringMap))
    }

    fn key_default(&self, path: &[Step], key: &str) -> Option<Value> {
        self.tags_at(path).find_map(|t| match t {
            KeyDefault(k, default) if k == key => serde_json::from_str(default).ok(),
            _ => None,
        })
    }

    fn patch_strategy(&self, path: &[Step]) -> PatchStrategy {
        if self.tags_at(path).any(|t| matches!(t, SmpReplace)) {
            PatchStrategy::Replace
        } else {
            PatchStrategy::from_list_type(&self.list_type(path))
        }
    }
}

/// The type information of built-in kind `kind` of API group `group` (`""` for core). Kinds
/// without a table get the `ObjectMeta` rules only, which also suit any kind's `metadata`.
pub fn builtin_type_info(group: &str, kind: &str) -> Arc<dyn TypeInfo> {
    Arc::new(BuiltinTypes::new(group, kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn steps(path: &str) -> Vec<Step> {
        let mut out = Vec::new();
        for part in path.split('.').filter(|p| !p.is_empty()) {
            match part.strip_suffix("[]") {
                Some(f) => {
                    out.push(Step::Field(f.to_owned()));
                    out.push(Step::Item);
                }
                None if part == "*" => out.push(Step::Value),
                None => out.push(Step::Field(part.to_owned())),
            }
        }
        out
    }

    #[test]
    fn service_ports_are_keyed_by_port_and_protocol() {
        let t = builtin_type_info("", "Service");
        assert_eq!(
            t.list_type(&steps("spec.ports")),
            ListType::Map(vec!["port".into(), "protocol".into()])
        );
        assert_eq!(
            t.key_default(&steps("spec.ports"), "protocol"),
            Some(json!("TCP"))
        );
        assert_eq!(
            t.patch_strategy(&steps("spec.ports")),
            PatchStrategy::MergeByKey("port".into())
        );
        assert_eq!(t.map_type(&steps("spec.selector")), MapType::Atomic);
        assert_eq!(t.list_type(&steps("spec.ipFamilies")), ListType::Atomic);
        assert_eq!(
            t.list_type(&steps("status.loadBalancer.ingress")),
            ListType::Atomic
        );
        assert_eq!(
            t.list_type(&steps("status.conditions")),
            ListType::Map(vec!["type".into()])
        );
    }

    #[test]
    fn metadata_rules_apply_to_every_kind() {
        for (group, kind) in [
            ("", "ConfigMap"),
            ("coordination.k8s.io", "Lease"),
            ("cilium.io", "Anything"),
        ] {
            let t = builtin_type_info(group, kind);
            assert_eq!(t.list_type(&steps("metadata.finalizers")), ListType::Set);
            assert_eq!(
                t.list_type(&steps("metadata.ownerReferences")),
                ListType::Map(vec!["uid".into()])
            );
            assert!(!t.is_declared_field(&steps("metadata.labels"), "app"));
            assert!(t.is_declared_field(&steps("metadata"), "labels"));
        }
    }

    #[test]
    fn pod_containers_and_their_ports() {
        let t = builtin_type_info("", "Pod");
        assert_eq!(
            t.list_type(&steps("spec.containers")),
            ListType::Map(vec!["name".into()])
        );
        assert_eq!(
            t.list_type(&steps("spec.initContainers[].ports")),
            ListType::Map(vec!["containerPort".into(), "protocol".into()])
        );
        assert_eq!(
            t.patch_strategy(&steps("spec.containers[].ports")),
            PatchStrategy::MergeByKey("containerPort".into())
        );
        assert_eq!(
            t.patch_strategy(&steps("spec.containers[].resources.claims")),
            PatchStrategy::Replace
        );
        assert_eq!(t.list_type(&steps("spec.tolerations")), ListType::Atomic);
        assert_eq!(
            t.patch_strategy(&steps("spec.tolerations")),
            PatchStrategy::Replace
        );
    }

    #[test]
    fn node_lists() {
        let t = builtin_type_info("", "Node");
        assert_eq!(t.list_type(&steps("spec.podCIDRs")), ListType::Set);
        assert_eq!(
            t.patch_strategy(&steps("spec.podCIDRs")),
            PatchStrategy::MergeScalars
        );
        assert_eq!(t.list_type(&steps("spec.taints")), ListType::Atomic);
        assert_eq!(
            t.list_type(&steps("status.addresses")),
            ListType::Map(vec!["type".into()])
        );
    }
}
