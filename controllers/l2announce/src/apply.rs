//! Writes: this node's NodeL2Announcement and policy status conditions, by server-side apply
//! with the field manager `ferrule-l2announcer` (forced: the announcer is the authority on
//! them). Each successful write puts the returned object into the index, so the next pass
//! compares against it even before the watch delivers it.

use crate::FIELD_MANAGER;
use crate::error::Error;
use crate::index::SharedIndex;
use crate::observed::policy_input;
use ferrule_api::l2announcement::v2alpha1::CiliumL2AnnouncementPolicy;
use ferrule_api::meta::Condition;
use ferrule_api::node_l2announcements::v1alpha1::{NodeL2Announcement, NodeL2AnnouncementSpec};
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

/// Applies `spec` as `node`'s NodeL2Announcement.
pub async fn announcement(
    client: &Client,
    index: &SharedIndex,
    node: &str,
    spec: &NodeL2AnnouncementSpec,
) -> Result<(), Error> {
    let api: Api<NodeL2Announcement> = Api::all(client.clone());
    let object = NodeL2Announcement::new(node, spec.clone());
    let stored = api
        .patch(
            node,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&object),
        )
        .await
        .map_err(|source| Error::ApplyAnnouncement {
            node: node.to_owned(),
            source: Box::new(source),
        })?;
    index.update(|i| {
        i.announcements.apply(node.to_owned(), stored.spec);
        false
    });
    Ok(())
}

/// Applies the conditions this controller owns on a policy's status (other writers'
/// conditions are left to them: the list is a map keyed by type).
pub async fn policy_status(
    client: &Client,
    index: &SharedIndex,
    name: &str,
    conditions: &[Condition],
) -> Result<(), Error> {
    let api: Api<CiliumL2AnnouncementPolicy> = Api::all(client.clone());
    let body = json!({
        "apiVersion": "cilium.io/v2alpha1",
        "kind": "CiliumL2AnnouncementPolicy",
        "metadata": { "name": name },
        "status": { "conditions": conditions },
    });
    let stored = api
        .patch_status(
            name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&body),
        )
        .await
        .map_err(|source| Error::ApplyPolicyStatus {
            name: name.to_owned(),
            source: Box::new(source),
        })?;
    if let Some(input) = policy_input(&stored) {
        index.update(|i| {
            i.policies.apply(input.name.clone(), input);
            false
        });
    }
    Ok(())
}
