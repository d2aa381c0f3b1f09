//! Parsing a REST path and query into what is being asked for.

use crate::status::ApiError;
use std::collections::HashMap;

/// The object or collection a request addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub group: String,
    pub version: String,
    pub resource: String,
    /// `Some` for a namespaced path (`.../namespaces/{ns}/{resource}`).
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// The deprecated `/watch/` path prefix was used.
    pub watch_prefix: bool,
}

/// Splits a resource path; `None` when the path is not a resource path (discovery etc.).
pub fn parse_path(path: &str) -> Option<Target> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    let (watch_prefix, rest) = match rest {
        ["watch", rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    let target =
        |namespace: Option<&str>, resource: &str, name: Option<&&str>, sub: Option<&&str>| Target {
            group: group.to_owned(),
            version: version.to_owned(),
            resource: resource.to_owned(),
            namespace: namespace.map(str::to_owned),
            name: name.map(|n| (*n).to_owned()),
            subresource: sub.map(|s| (*s).to_owned()),
            watch_prefix,
        };
    match rest {
        [] => None,
        // A namespace object and its subresources.
        ["namespaces", name] => Some(target(None, "namespaces", Some(name), None)),
        ["namespaces", name, sub @ ("status" | "finalize")] if group.is_empty() => {
            Some(target(None, "namespaces", Some(name), Some(sub)))
        }
        ["namespaces", ns, resource, tail @ ..] if tail.len() <= 2 => {
            Some(target(Some(ns), resource, tail.first(), tail.get(1)))
        }
        [resource, tail @ ..] if tail.len() <= 2 => {
            Some(target(None, resource, tail.first(), tail.get(1)))
        }
        _ => None,
    }
}

/// Query parameters with the API's spelling.
#[derive(Debug, Clone, Default)]
pub struct Query {
    params: HashMap<String, String>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        let params = raw
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        Self { params }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some("true" | "1"))
    }

    pub fn u64(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| ApiError::bad_request(format!("invalid {name}: {v:?}")))
            })
            .transpose()
    }

    /// `dryRun=All` is the only value the API accepts.
    pub fn dry_run(&self) -> Result<bool, ApiError> {
        match self.get("dryRun") {
            None => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "Invalid dryRun value: {other:?}: supported values: \"All\""
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(path: &str) -> Target {
        parse_path(path).unwrap_or_else(|| panic!("{path} should parse"))
    }

    #[test]
    fn core_and_group_paths() {
        let pods = t("/api/v1/namespaces/default/pods/web/status");
        assert_eq!((pods.group.as_str(), pods.resource.as_str()), ("", "pods"));
        assert_eq!(pods.namespace.as_deref(), Some("default"));
        assert_eq!(pods.name.as_deref(), Some("web"));
        assert_eq!(pods.subresource.as_deref(), Some("status"));

        let pools = t("/apis/cilium.io/v2/ciliumloadbalancerippools/pool-a");
        assert_eq!(pools.group, "cilium.io");
        assert_eq!(pools.namespace, None);
        assert_eq!(pools.name.as_deref(), Some("pool-a"));

        let all_leases = t("/apis/coordination.k8s.io/v1/leases");
        assert_eq!((all_leases.namespace, all_leases.name), (None, None));
    }

    #[test]
    fn namespaces_are_objects_and_scopes() {
        let ns = t("/api/v1/namespaces/kube-system");
        assert_eq!(
            (ns.resource.as_str(), ns.name.as_deref()),
            ("namespaces", Some("kube-system"))
        );
        let finalize = t("/api/v1/namespaces/x/finalize");
        assert_eq!(finalize.subresource.as_deref(), Some("finalize"));
        let svcs = t("/api/v1/namespaces/x/services");
        assert_eq!(
            (svcs.resource.as_str(), svcs.namespace.as_deref()),
            ("services", Some("x"))
        );
        let watch = t("/api/v1/watch/namespaces/x/services");
        assert!(watch.watch_prefix);
    }

    #[test]
    fn non_resource_paths() {
        for path in ["/version", "/apis", "/api", "/openapi/v2", "/healthz"] {
            assert_eq!(parse_path(path), None, "{path}");
        }
    }
}
