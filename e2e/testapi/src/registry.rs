//! The resources the server serves: built-in kinds and the versions of every established CRD.

use crate::schema::StructuralSchema;
use crate::typeinfo::{TypeInfo, Untyped};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where objects of a resource are stored: all versions of a resource share one collection.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupResource {
    pub group: String,
    pub resource: String,
}

/// One served (group, version, resource).
#[derive(Clone)]
pub struct ResourceDef {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub list_kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// Whether `/status` is a subresource (then writes to the main resource ignore status).
    pub status_subresource: bool,
    /// `additionalPrinterColumns` of a CRD version (JSON as in the CRD).
    pub printer_columns: Vec<Value>,
    /// The structural schema of a CRD version.
    pub schema: Option<StructuralSchema>,
    /// That schema as written in the CRD (published in the OpenAPI documents).
    pub schema_json: Option<Value>,
    /// Merge semantics of lists and maps.
    pub types: Arc<dyn TypeInfo>,
    /// The CRD that defines this resource, if any.
    pub crd: Option<String>,
}

impl std::fmt::Debug for ResourceDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ResourceDef({}/{} {})",
            self.group, self.version, self.plural
        )
    }
}

impl ResourceDef {
    /// `pods`, or `ciliumloadbalancerippools.cilium.io`: how the API server names a resource in
    /// messages.
    pub fn qualified_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn group_resource(&self) -> GroupResource {
        GroupResource {
            group: crate::conversion::storage_group(self)
                .map_or_else(|| self.group.clone(), str::to_owned),
            resource: self.plural.clone(),
        }
    }
}

/// (group, version, plural) → definition.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    defs: BTreeMap<(String, String, String), Arc<ResourceDef>>,
}

impl Registry {
    /// The built-in resources.
    pub fn with_builtins() -> Self {
        let mut registry = Self::default();
        for b in BUILTINS {
            registry.insert(ResourceDef {
                group: b.group.into(),
                version: b.version.into(),
                plural: b.plural.into(),
                singular: b.kind.to_ascii_lowercase(),
                kind: b.kind.into(),
                list_kind: format!("{}List", b.kind),
                namespaced: b.namespaced,
                short_names: b.short_names.iter().map(|s| (*s).to_owned()).collect(),
                categories: b.categories.iter().map(|s| (*s).to_owned()).collect(),
                status_subresource: b.status,
                printer_columns: Vec::new(),
                schema: None,
                schema_json: None,
                types: crate::builtin_types::builtin_type_info(b.group, b.kind),
                crd: None,
            });
        }
        registry
    }

    pub fn insert(&mut self, def: ResourceDef) {
        let key = (def.group.clone(), def.version.clone(), def.plural.clone());
        self.defs.insert(key, Arc::new(def));
    }

    /// Removes every version served for `crd`.
    pub fn remove_crd(&mut self, crd: &str) {
        self.defs.retain(|_, def| def.crd.as_deref() != Some(crd));
    }

    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceDef>> {
        self.defs
            .get(&(group.to_owned(), version.to_owned(), plural.to_owned()))
            .cloned()
    }

    /// Every definition, sorted by group, version, plural.
    pub fn all(&self) -> impl Iterator<Item = &Arc<ResourceDef>> {
        self.defs.values()
    }

    /// The definition of `kind` in `apiVersion` (for owner references and embedded objects).
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceDef>> {
        self.defs
            .values()
            .find(|def| def.kind == kind && def.api_version() == api_version)
            .cloned()
    }
}

struct Builtin {
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    status: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
}

const fn builtin(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    status: bool,
    short_names: &'static [&'static str],
) -> Builtin {
    Builtin {
        group,
        version,
        plural,
        kind,
        namespaced,
        status,
        short_names,
        categories: &[],
    }
}

/// The built-in kinds controllers and tests use; short names as kube-apiserver has them.
const BUILTINS: &[Builtin] = &[
    builtin("", "v1", "namespaces", "Namespace", false, true, &["ns"]),
    builtin("", "v1", "nodes", "Node", false, true, &["no"]),
    Builtin {
        categories: &["all"],
        ..builtin("", "v1", "pods", "Pod", true, true, &["po"])
    },
    Builtin {
        categories: &["all"],
        ..builtin("", "v1", "services", "Service", true, true, &["svc"])
    },
    builtin("", "v1", "endpoints", "Endpoints", true, false, &["ep"]),
    builtin("", "v1", "configmaps", "ConfigMap", true, false, &["cm"]),
    builtin("", "v1", "secrets", "Secret", true, false, &[]),
    builtin("", "v1", "events", "Event", true, false, &["ev"]),
    builtin(
        "events.k8s.io",
        "v1",
        "events",
        "Event",
        true,
        false,
        &["ev"],
    ),
    builtin(
        "discovery.k8s.io",
        "v1",
        "endpointslices",
        "EndpointSlice",
        true,
        false,
        &[],
    ),
    builtin(
        "coordination.k8s.io",
        "v1",
        "leases",
        "Lease",
        true,
        false,
        &[],
    ),
    builtin(
        "networking.k8s.io",
        "v1",
        "ingresses",
        "Ingress",
        true,
        true,
        &["ing"],
    ),
    builtin(
        "networking.k8s.io",
        "v1",
        "ingressclasses",
        "IngressClass",
        false,
        false,
        &[],
    ),
    // Stored but not enforced (writes answer with a warning saying so): upstream bundles such
    // as Gateway API's standard-install.yaml ship a policy next to their CRDs.
    builtin(
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicies",
        "ValidatingAdmissionPolicy",
        false,
        true,
        &[],
    ),
    builtin(
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicybindings",
        "ValidatingAdmissionPolicyBinding",
        false,
        false,
        &[],
    ),
    builtin(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        false,
        true,
        &["crd", "crds"],
    ),
];

/// Type information for resources with neither a schema nor a built-in table.
pub fn untyped() -> Arc<dyn TypeInfo> {
    Arc::new(Untyped)
}
