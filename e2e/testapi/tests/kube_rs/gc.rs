//! Deletion as controllers see it: finalizers hold an object with a deletionTimestamp, and
//! ownerReferences make the garbage collector delete (or orphan) dependents.

use crate::support::{config_map, eventually, start};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use std::time::Duration;

const FINALIZER: &str = "ferrule.io/test-cleanup";

async fn remove_finalizers(cms: &Api<ConfigMap>, name: &str) {
    cms.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({ "metadata": { "finalizers": null } })),
    )
    .await
    .expect("removing the finalizers");
}

async fn exists(cms: &Api<ConfigMap>, name: &str) -> Option<ConfigMap> {
    cms.get_opt(name).await.expect("get_opt")
}

#[tokio::test]
async fn finalizer_holds_a_deleted_object_until_removed() {
    let (_server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut cm = config_map("held", "1", &[]);
    cm.metadata.finalizers = Some(vec![FINALIZER.to_owned()]);
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("create");

    let answer = cms
        .delete("held", &DeleteParams::default())
        .await
        .expect("delete is accepted");
    let terminating = answer
        .left()
        .expect("a held object is returned, not a Status");
    assert!(terminating.metadata.deletion_timestamp.is_some());

    let still = exists(&cms, "held")
        .await
        .expect("a finalizer keeps the object");
    assert!(still.metadata.deletion_timestamp.is_some());
    assert_eq!(still.metadata.finalizers, Some(vec![FINALIZER.to_owned()]));

    // A terminating object accepts no new finalizers.
    let refused = cms
        .patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({ "metadata": { "finalizers": [FINALIZER, "ferrule.io/other"] } })),
        )
        .await;
    assert!(
        matches!(&refused, Err(kube::Error::Api(s)) if s.code == 422),
        "{refused:?}"
    );

    remove_finalizers(&cms, "held").await;
    assert!(
        exists(&cms, "held").await.is_none(),
        "the last finalizer's removal completes the deletion"
    );
}

fn owned_by(name: &str, owner: &ConfigMap, block: bool) -> ConfigMap {
    let mut cm = config_map(name, "dependent", &[]);
    cm.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "v1".to_owned(),
        kind: "ConfigMap".to_owned(),
        name: owner.metadata.name.clone().expect("owner name"),
        uid: owner.metadata.uid.clone().expect("owner uid"),
        block_owner_deletion: block.then_some(true),
        controller: Some(true),
    }]);
    cm
}

/// An owner with two dependents: `<prefix>-a` (blocking, with a finalizer when `held`) and
/// `<prefix>-b` (non-blocking).
async fn family(cms: &Api<ConfigMap>, prefix: &str, held: bool) -> ConfigMap {
    let owner = cms
        .create(&PostParams::default(), &config_map(prefix, "owner", &[]))
        .await
        .expect("create owner");
    let mut a = owned_by(&format!("{prefix}-a"), &owner, true);
    if held {
        a.metadata.finalizers = Some(vec![FINALIZER.to_owned()]);
    }
    cms.create(&PostParams::default(), &a)
        .await
        .expect("create a");
    cms.create(
        &PostParams::default(),
        &owned_by(&format!("{prefix}-b"), &owner, false),
    )
    .await
    .expect("create b");
    owner
}

#[tokio::test]
async fn background_deletion_removes_dependents() {
    let (_server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    family(&cms, "bg", false).await;
    let answer = cms
        .delete("bg", &DeleteParams::background())
        .await
        .expect("delete");
    assert!(answer.is_right(), "the owner itself goes at once");
    eventually(
        "dependents are garbage collected",
        Duration::from_secs(5),
        || async {
            let left = exists(&cms, "bg-a").await.is_some() || exists(&cms, "bg-b").await.is_some();
            (!left).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn orphan_deletion_keeps_dependents_without_the_owner_reference() {
    let (_server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    family(&cms, "orph", false).await;
    cms.delete("orph", &DeleteParams::orphan())
        .await
        .expect("delete");
    eventually("the owner is deleted", Duration::from_secs(5), || async {
        exists(&cms, "orph").await.is_none().then_some(())
    })
    .await;
    for name in ["orph-a", "orph-b"] {
        let orphan = exists(&cms, name).await.expect("an orphan survives");
        assert_eq!(
            orphan.metadata.owner_references, None,
            "{name} loses its reference to the deleted owner"
        );
        assert!(orphan.metadata.deletion_timestamp.is_none());
    }
}

#[tokio::test]
async fn foreground_deletion_waits_only_for_blocking_dependents() {
    let (_server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let owner = cms
        .create(&PostParams::default(), &config_map("fg", "owner", &[]))
        .await
        .expect("create owner");
    // blocking and held by a finalizer / not blocking but held / not blocking, free.
    for (name, block, held) in [
        ("fg-a", true, true),
        ("fg-b", false, true),
        ("fg-c", false, false),
    ] {
        let mut dependent = owned_by(name, &owner, block);
        if held {
            dependent.metadata.finalizers = Some(vec![FINALIZER.to_owned()]);
        }
        cms.create(&PostParams::default(), &dependent)
            .await
            .expect("create dependent");
    }

    let answer = cms
        .delete("fg", &DeleteParams::foreground())
        .await
        .expect("delete");
    let terminating = answer.left().expect("the owner waits for its dependents");
    assert!(terminating.metadata.deletion_timestamp.is_some());
    assert!(
        terminating
            .metadata
            .finalizers
            .as_deref()
            .is_some_and(|f| f.iter().any(|f| f == "foregroundDeletion")),
        "{:?}",
        terminating.metadata.finalizers
    );

    // Every dependent is being deleted; the free one is gone, the held ones terminate.
    eventually(
        "the free dependent is deleted",
        Duration::from_secs(5),
        || async { exists(&cms, "fg-c").await.is_none().then_some(()) },
    )
    .await;
    for name in ["fg-a", "fg-b"] {
        let held = exists(&cms, name).await.expect("a held dependent remains");
        assert!(
            held.metadata.deletion_timestamp.is_some(),
            "{name} is being deleted"
        );
    }
    assert!(
        exists(&cms, "fg").await.is_some(),
        "the owner waits for its blocking dependent"
    );

    // Once the blocking dependent is gone the owner goes, although fg-b (which does not block
    // it) is still terminating.
    remove_finalizers(&cms, "fg-a").await;
    eventually(
        "the owner goes after its blocking dependent",
        Duration::from_secs(5),
        || async {
            (exists(&cms, "fg-a").await.is_none() && exists(&cms, "fg").await.is_none())
                .then_some(())
        },
    )
    .await;
    assert!(exists(&cms, "fg-b").await.is_some());
    remove_finalizers(&cms, "fg-b").await;
    assert!(exists(&cms, "fg-b").await.is_none());
}
