//! Applying YAML manifests the way `kubectl apply --server-side` does: the generated CRDs
//! from `deploy/crds`, then the lab's example objects.

use crate::error::Error;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::Scope;
use serde::Deserialize as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The field manager of everything the lab writes, so `kubectl get -o yaml --show-managed-fields`
/// tells lab-made fields apart from controller-made ones.
pub const FIELD_MANAGER: &str = "ferrule-lab";
const ESTABLISH_TIMEOUT: Duration = Duration::from_secs(10);
const CRD_KIND: &str = "CustomResourceDefinition";

/// One object from a manifest file.
#[derive(Debug, Clone)]
pub struct Document {
    pub path: PathBuf,
    pub value: serde_json::Value,
}

/// Every non-empty YAML document of every `*.yaml` file in `dir`, files in name order.
pub fn read_dir(dir: &Path) -> Result<Vec<Document>, Error> {
    let read_error = |source| Error::Read {
        path: dir.to_owned(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read_error)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(read_error)?;
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"));
    files.sort();
    let mut documents = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        for value in parse_documents(&text).map_err(|source| Error::ParseManifest {
            path: path.clone(),
            source,
        })? {
            documents.push(Document {
                path: path.clone(),
                value,
            });
        }
    }
    Ok(documents)
}

fn parse_documents(text: &str) -> Result<Vec<serde_json::Value>, serde_yaml::Error> {
    let mut values = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let value = serde_json::Value::deserialize(document)?;
        // `---` at the end of a file or between comments yields an empty document.
        if !value.is_null() {
            values.push(value);
        }
    }
    Ok(values)
}

/// Applies every CustomResourceDefinition in `dir` (other kinds, e.g. the kustomization, are
/// not CRDs and are left out) and waits until each is Established. Returns their names.
pub async fn apply_crds(client: &kube::Client, dir: &Path) -> Result<Vec<String>, Error> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let mut names = Vec::new();
    for document in read_dir(dir)? {
        if document.value.get("kind").and_then(|k| k.as_str()) != Some(CRD_KIND) {
            continue;
        }
        let crd: CustomResourceDefinition =
            serde_json::from_value(document.value).map_err(|e| Error::BadManifest {
                path: document.path.clone(),
                reason: format!("not a valid {CRD_KIND}: {e}"),
            })?;
        let name = crd
            .metadata
            .name
            .clone()
            .ok_or_else(|| Error::BadManifest {
                path: document.path.clone(),
                reason: format!("a {CRD_KIND} without metadata.name"),
            })?;
        api.patch(&name, &params, &Patch::Apply(&crd))
            .await
            .map_err(|e| Error::kube(format!("applying CRD {name}"), e))?;
        names.push(name);
    }
    for name in &names {
        let established = kube::runtime::wait::await_condition(
            api.clone(),
            name,
            kube::runtime::wait::conditions::is_crd_established(),
        );
        tokio::time::timeout(ESTABLISH_TIMEOUT, established)
            .await
            .map_err(|_| Error::Timeout {
                operation: format!("waiting for CRD {name} to be Established"),
                seconds: ESTABLISH_TIMEOUT.as_secs(),
            })?
            .map_err(|source| Error::Wait {
                operation: format!("waiting for CRD {name} to be Established"),
                source: Box::new(source),
            })?;
    }
    Ok(names)
}

/// Applies every object in `dir`, of any kind the server serves; namespaced objects without
/// a namespace go to `default`, as with kubectl. Returns `Kind namespace/name` per object.
pub async fn apply_objects(client: &kube::Client, dir: &Path) -> Result<Vec<String>, Error> {
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let mut applied = Vec::new();
    for document in read_dir(dir)? {
        let bad = |reason: String| Error::BadManifest {
            path: document.path.clone(),
            reason,
        };
        let object: DynamicObject = serde_json::from_value(document.value.clone())
            .map_err(|e| bad(format!("not a Kubernetes object: {e}")))?;
        let types = object
            .types
            .as_ref()
            .ok_or_else(|| bad("apiVersion and kind are required".to_owned()))?;
        let gvk = GroupVersionKind::try_from(types)
            .map_err(|e| bad(format!("bad apiVersion {:?}: {e}", types.api_version)))?;
        let name = object
            .metadata
            .name
            .clone()
            .ok_or_else(|| bad("metadata.name is required".to_owned()))?;
        let (resource, capabilities) =
            kube::discovery::pinned_kind(client, &gvk)
                .await
                .map_err(|e| {
                    Error::kube(format!("discovering {}/{}", gvk.api_version(), gvk.kind), e)
                })?;
        let (api, label): (Api<DynamicObject>, String) = match capabilities.scope {
            Scope::Namespaced => {
                let ns = object.metadata.namespace.as_deref().unwrap_or("default");
                (
                    Api::namespaced_with(client.clone(), ns, &resource),
                    format!("{} {ns}/{name}", gvk.kind),
                )
            }
            Scope::Cluster => (
                Api::all_with(client.clone(), &resource),
                format!("{} {name}", gvk.kind),
            ),
        };
        api.patch(&name, &params, &Patch::Apply(&document.value))
            .await
            .map_err(|e| Error::kube(format!("applying {label}"), e))?;
        applied.push(label);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_documents_are_skipped() {
        let text = "---\n# only a comment\n---\na: 1\n---\nb: 2\n---\n";
        let values = parse_documents(text).expect("valid YAML");
        assert_eq!(
            values,
            [serde_json::json!({"a": 1}), serde_json::json!({"b": 2})]
        );
    }

    #[test]
    fn the_examples_are_documentation_addresses_only() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let documents = read_dir(&dir).expect("the examples parse");
        assert!(documents.len() >= 3, "pool, L2 policy and Service expected");
        let text = serde_json::to_string(&documents.iter().map(|d| &d.value).collect::<Vec<_>>())
            .expect("JSON");
        assert!(
            text.contains("203.0.113.0/24"),
            "the LB pool uses TEST-NET-3"
        );
        for forbidden in ["\"10.", "172.16.", "192.168.", "198.18."] {
            assert!(
                !text.contains(forbidden),
                "{forbidden} is not a documentation range"
            );
        }
    }
}
