//! Server-side apply through kube-rs: field ownership, conflicts between managers, force.

use crate::support::{api_error, start, value_of};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

fn applied(name: &str, data: serde_json::Value) -> serde_json::Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": { "name": name },
        "data": data,
    })
}

/// Managers that own `field` according to managedFields.
fn owners(cm: &ConfigMap, field: &str) -> Vec<String> {
    let needle = format!("\"f:{field}\"");
    cm.metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|entry| {
            entry
                .fields_v1
                .as_ref()
                .is_some_and(|f| f.0.to_string().contains(&needle))
        })
        .filter_map(|entry| entry.manager.clone())
        .collect()
}

#[tokio::test]
async fn apply_creates_records_ownership_and_prunes_dropped_fields() {
    let (_server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let params = PatchParams::apply("mgr");
    let created = cms
        .patch(
            "ssa",
            &params,
            &Patch::Apply(applied("ssa", json!({ "value": "1", "extra": "x" }))),
        )
        .await
        .expect("apply creates the object");
    assert_eq!(value_of(&created), Some("1"));
    let entry = created
        .metadata
        .managed_fields
        .as_ref()
        .and_then(|m| m.first())
        .expect("a managedFields entry");
    assert_eq!(entry.manager.as_deref(), Some("mgr"));
    assert_eq!(entry.operation.as_deref(), Some("Apply"));
    assert_eq!(owners(&created, "extra"), ["mgr"]);

    let again = cms
        .patch(
            "ssa",
            &params,
            &Patch::Apply(applied("ssa", json!({ "value": "1", "extra": "x" }))),
        )
        .await
        .expect("re-apply");
    assert_eq!(
        again.metadata.resource_version, created.metadata.resource_version,
        "applying the same configuration changes nothing"
    );

    let pruned = cms
        .patch(
            "ssa",
            &params,
            &Patch::Apply(applied("ssa", json!({ "value": "2" }))),
        )
        .await
        .expect("apply without `extra`");
    assert_eq!(value_of(&pruned), Some("2"));
    assert!(
        pruned
            .data
            .as_ref()
            .is_some_and(|d| !d.contains_key("extra")),
        "a field the manager no longer applies is removed: {:?}",
        pruned.data
    );
}

#[tokio::test]
async fn two_managers_conflict_until_one_forces() {
    let (_server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    cms.patch(
        "shared",
        &PatchParams::apply("mgr-a"),
        &Patch::Apply(applied("shared", json!({ "value": "a", "a-only": "1" }))),
    )
    .await
    .expect("mgr-a applies");

    let status = api_error(
        cms.patch(
            "shared",
            &PatchParams::apply("mgr-b"),
            &Patch::Apply(applied("shared", json!({ "value": "b" }))),
        )
        .await,
        "mgr-b applying a field mgr-a owns",
    );
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    assert!(
        status.message.contains(r#"conflict with "mgr-a""#)
            && status.message.contains(".data.value"),
        "{}",
        status.message
    );
    let causes = status.details.expect("conflict details").causes;
    assert!(
        causes
            .iter()
            .any(|c| c.reason == "FieldManagerConflict" && c.field == ".data.value"),
        "{causes:?}"
    );
    let unchanged = cms.get("shared").await.expect("get");
    assert_eq!(value_of(&unchanged), Some("a"));

    // The same value is no conflict: both managers then share the field.
    let shared = cms
        .patch(
            "shared",
            &PatchParams::apply("mgr-c"),
            &Patch::Apply(applied("shared", json!({ "value": "a" }))),
        )
        .await
        .expect("applying an equal value");
    let mut value_owners = owners(&shared, "value");
    value_owners.sort();
    assert_eq!(value_owners, ["mgr-a", "mgr-c"]);

    let forced = cms
        .patch(
            "shared",
            &PatchParams::apply("mgr-b").force(),
            &Patch::Apply(applied("shared", json!({ "value": "b" }))),
        )
        .await
        .expect("force takes the field");
    assert_eq!(value_of(&forced), Some("b"));
    assert_eq!(owners(&forced, "value"), ["mgr-b"], "force moves ownership");
    assert_eq!(
        owners(&forced, "a-only"),
        ["mgr-a"],
        "mgr-a keeps the fields nobody took"
    );
}

#[tokio::test]
async fn apply_without_a_name_targets_the_object_on_the_url() {
    let (_server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let unnamed = json!({ "apiVersion": "v1", "kind": "ConfigMap", "data": { "value": "1" } });
    let status = api_error(
        cms.patch("anon", &PatchParams::apply("mgr"), &Patch::Apply(&unnamed))
            .await,
        "creating through apply without a name",
    );
    assert_eq!(status.code, 400);
    assert_eq!(
        status.message,
        "the name of the object () does not match the name on the URL (anon)"
    );

    cms.patch(
        "anon",
        &PatchParams::apply("mgr"),
        &Patch::Apply(applied("anon", json!({ "value": "0" }))),
    )
    .await
    .expect("create with a name");
    let updated = cms
        .patch("anon", &PatchParams::apply("mgr"), &Patch::Apply(&unnamed))
        .await
        .expect("an existing object is updated from an unnamed configuration");
    assert_eq!(value_of(&updated), Some("1"));
    assert_eq!(updated.metadata.name.as_deref(), Some("anon"));

    let status = api_error(
        cms.patch(
            "anon",
            &PatchParams::apply("mgr"),
            &Patch::Apply(applied("other", json!({ "value": "2" }))),
        )
        .await,
        "applying a configuration that names another object",
    );
    assert_eq!(status.code, 400);
}
