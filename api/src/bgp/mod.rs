//! The BGP control plane CRDs (`cilium.io`, versions `v2` and deprecated `v2alpha1`).
//!
//! Users write [`CiliumBGPClusterConfig`](cluster_config::v2::CiliumBGPClusterConfig) (which
//! nodes run which BGP instances and peers), [`CiliumBGPPeerConfig`](peer_config::v2::CiliumBGPPeerConfig)
//! (how to talk to a peer), [`CiliumBGPAdvertisement`](advertisement::v2::CiliumBGPAdvertisement)
//! (what to announce) and optionally
//! [`CiliumBGPNodeConfigOverride`](node_config_override::v2::CiliumBGPNodeConfigOverride)
//! (per-node tweaks). ferrule-bgp derives one
//! [`CiliumBGPNodeConfig`](node_config::v2::CiliumBGPNodeConfig) per node from them; the node's
//! BGP speaker reports session state in its status.

pub mod advertisement;
pub mod cluster_config;
pub mod common;
pub mod node_config;
pub mod node_config_override;
pub mod peer_config;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceSubresources,
};

/// Declares an explicitly empty `subresources` on every version of a CRD without a status.
///
/// kube-derive leaves `subresources` unset when there is no status; controller-gen writes `{}`.
/// Both mean "no subresources"; writing `{}` keeps the manifest identical to upstream's.
fn with_empty_subresources(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    for version in &mut crd.spec.versions {
        version
            .subresources
            .get_or_insert_with(CustomResourceSubresources::default);
    }
    crd
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// Fails when a serialized object carries an explicit `null` anywhere (upstream's schema
    /// prunes them, so a round trip through the API server would change the object).
    pub(crate) fn assert_no_nulls(value: &Value) {
        fn walk(value: &Value, path: &str) {
            match value {
                Value::Null => panic!("null at {path}"),
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        walk(item, &format!("{path}[{i}]"));
                    }
                }
                Value::Object(map) => {
                    for (key, item) in map {
                        walk(item, &format!("{path}.{key}"));
                    }
                }
                _ => {}
            }
        }
        walk(value, "");
    }
}
