//! Node objects for the node namespaces: what a kubelet would register, so controllers see
//! the same nodes, names and InternalIPs that the datapath runs on.

use crate::addresses::Node;
use crate::error::Error;
use crate::manifests::FIELD_MANAGER;
use k8s_openapi::api::core::v1::Node as NodeObject;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

/// Annotation naming the network namespace that plays this node, for people debugging the lab.
pub const NAMESPACE_ANNOTATION: &str = "ferrule.io/lab-network-namespace";

/// Creates (or updates) one Node per lab node, with Ready=True: the lab is this node's
/// kubelet, and it is up as long as the namespace exists.
pub async fn register(client: &kube::Client, nodes: &[Node]) -> Result<(), Error> {
    let api: Api<NodeObject> = Api::all(client.clone());
    let params = PatchParams::apply(FIELD_MANAGER).force();
    for node in nodes {
        let (object, status) = manifests(node);
        api.patch(&node.name, &params, &Patch::Apply(&object))
            .await
            .map_err(|e| Error::kube(format!("applying Node {}", node.name), e))?;
        // Status is a subresource: the main resource ignores it, as on a real API server.
        // A merge patch, not apply: `status.addresses` is keyed by `type` for server-side
        // apply, so a dual-stack node's two InternalIPs would collide (kubelets patch too).
        api.patch_status(&node.name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .map_err(|e| Error::kube(format!("applying the status of Node {}", node.name), e))?;
    }
    Ok(())
}

/// The Node object (an apply configuration) and its status (a merge patch).
fn manifests(node: &Node) -> (serde_json::Value, serde_json::Value) {
    let object = json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node.name,
            "labels": {
                "kubernetes.io/hostname": node.name,
                "kubernetes.io/os": "linux",
            },
            "annotations": { NAMESPACE_ANNOTATION: node.host.namespace },
        },
    });
    // Kubernetes timestamps carry whole seconds.
    let now = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string();
    let status = json!({
        "status": {
            "addresses": [
                { "type": "InternalIP", "address": node.host.ipv4.to_string() },
                { "type": "InternalIP", "address": node.host.ipv6.to_string() },
                { "type": "Hostname", "address": node.name },
            ],
            "conditions": [{
                "type": "Ready",
                "status": "True",
                "reason": "LabNamespaceUp",
                "message": format!("network namespace {} is up", node.host.namespace),
                "lastHeartbeatTime": now,
                "lastTransitionTime": now,
            }],
        },
    });
    (object, status)
}
