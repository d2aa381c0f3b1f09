//! Create, read, update, delete of built-in kinds, and the errors a client must be able to rely
//! on: Conflict on a stale resourceVersion, AlreadyExists, NotFound.

use crate::support::{api_error, config_map, start, value_of};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, LoadBalancerIngress, LoadBalancerStatus, Service, ServicePort, ServiceSpec,
    ServiceStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

#[tokio::test]
async fn config_map_round_trip() {
    let (_server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");

    let created = cms
        .create(&PostParams::default(), &config_map("app", "1", &[]))
        .await
        .expect("create succeeds");
    let meta = &created.metadata;
    assert_eq!(meta.namespace.as_deref(), Some("default"));
    assert!(
        meta.uid.as_deref().is_some_and(|u| u.len() == 36),
        "{meta:?}"
    );
    assert!(meta.creation_timestamp.is_some());
    let rv1 = meta.resource_version.clone().expect("a resourceVersion");

    let fetched = cms.get("app").await.expect("get succeeds");
    assert_eq!(fetched, created, "get returns what create stored");

    let mut changed = fetched.clone();
    changed.data = Some([("value".to_owned(), "2".to_owned())].into());
    let replaced = cms
        .replace("app", &PostParams::default(), &changed)
        .await
        .expect("replace with the current resourceVersion succeeds");
    assert_eq!(value_of(&replaced), Some("2"));
    let rv2 = replaced.metadata.resource_version.clone().expect("rv");
    assert_ne!(rv1, rv2, "every change gets a new resourceVersion");
    assert_eq!(replaced.metadata.uid, created.metadata.uid);

    let patched = cms
        .patch(
            "app",
            &PatchParams::default(),
            &Patch::Merge(json!({ "data": { "extra": "x" } })),
        )
        .await
        .expect("merge patch succeeds");
    assert_eq!(
        value_of(&patched),
        Some("2"),
        "a merge patch keeps other keys"
    );
    assert_eq!(
        patched
            .data
            .as_ref()
            .and_then(|d| d.get("extra"))
            .map(String::as_str),
        Some("x")
    );

    let names: Vec<_> = cms
        .list(&ListParams::default())
        .await
        .expect("list succeeds")
        .items
        .into_iter()
        .filter_map(|cm| cm.metadata.name)
        .collect();
    assert_eq!(names, ["app"]);

    let deleted = cms
        .delete("app", &DeleteParams::default())
        .await
        .expect("delete succeeds");
    assert!(
        deleted.is_right(),
        "without finalizers the object is gone at once"
    );
    let status = api_error(cms.get("app").await, "get after delete");
    assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));
}

#[tokio::test]
async fn stale_resource_version_is_a_conflict() {
    let (_server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let first = cms
        .create(&PostParams::default(), &config_map("race", "0", &[]))
        .await
        .expect("create");
    let mut winner = first.clone();
    winner.data = Some([("value".to_owned(), "winner".to_owned())].into());
    cms.replace("race", &PostParams::default(), &winner)
        .await
        .expect("the first writer wins");

    let mut loser = first;
    loser.data = Some([("value".to_owned(), "loser".to_owned())].into());
    let status = api_error(
        cms.replace("race", &PostParams::default(), &loser).await,
        "replacing with a stale resourceVersion",
    );
    assert_eq!(status.code, 409);
    assert_eq!(status.reason, "Conflict");
    assert!(
        status.message.contains("the object has been modified"),
        "{}",
        status.message
    );
    let kept = cms.get("race").await.expect("get");
    assert_eq!(
        value_of(&kept),
        Some("winner"),
        "the stale write changed nothing"
    );
}

#[tokio::test]
async fn already_exists_and_not_found() {
    let (_server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    cms.create(&PostParams::default(), &config_map("once", "1", &[]))
        .await
        .expect("create");
    let status = api_error(
        cms.create(&PostParams::default(), &config_map("once", "2", &[]))
            .await,
        "creating a second object with the same name",
    );
    assert_eq!(
        (status.code, status.reason.as_str()),
        (409, "AlreadyExists")
    );
    assert_eq!(status.message, r#"configmaps "once" already exists"#);

    let status = api_error(cms.get("missing").await, "get of a missing object");
    assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));
    assert_eq!(status.message, r#"configmaps "missing" not found"#);
    let status = api_error(
        cms.delete("missing", &DeleteParams::default()).await,
        "delete of a missing object",
    );
    assert_eq!(status.code, 404);
    let status = api_error(
        cms.replace(
            "missing",
            &PostParams::default(),
            &config_map("missing", "1", &[]),
        )
        .await,
        "replace of a missing object",
    );
    assert_eq!(status.code, 404);
    assert_eq!(
        cms.get_opt("missing")
            .await
            .expect("get_opt maps 404 to None"),
        None
    );

    let elsewhere: Api<ConfigMap> = Api::namespaced(cms.into_client(), "no-such-namespace");
    let status = api_error(
        elsewhere
            .create(&PostParams::default(), &config_map("x", "1", &[]))
            .await,
        "create in a missing namespace",
    );
    assert_eq!(status.code, 404);
    assert_eq!(
        status.message,
        r#"namespaces "no-such-namespace" not found"#
    );
}

#[tokio::test]
async fn generate_name_gives_unique_names() {
    let (_server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let template = ConfigMap {
        metadata: ObjectMeta {
            generate_name: Some("web-".to_owned()),
            ..ObjectMeta::default()
        },
        ..ConfigMap::default()
    };
    let mut names = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let created = cms
            .create(&PostParams::default(), &template)
            .await
            .expect("create with generateName");
        let name = created.metadata.name.expect("the server chose a name");
        assert!(name.starts_with("web-") && name.len() == 9, "{name}");
        assert_eq!(created.metadata.generate_name.as_deref(), Some("web-"));
        names.insert(name);
    }
    assert_eq!(names.len(), 20, "every generated name is unique");
}

fn service(name: &str) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".to_owned()),
            ports: Some(vec![ServicePort {
                port: 80,
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        status: Some(ingress_status("203.0.113.99")),
    }
}

fn ingress_status(ip: &str) -> ServiceStatus {
    ServiceStatus {
        load_balancer: Some(LoadBalancerStatus {
            ingress: Some(vec![LoadBalancerIngress {
                ip: Some(ip.to_owned()),
                ..LoadBalancerIngress::default()
            }]),
        }),
        ..ServiceStatus::default()
    }
}

fn ingress_ip(svc: &Service) -> Option<&str> {
    svc.status
        .as_ref()?
        .load_balancer
        .as_ref()?
        .ingress
        .as_ref()?
        .first()?
        .ip
        .as_deref()
}

#[tokio::test]
async fn service_status_is_written_only_through_the_status_subresource() {
    let (_server, client) = start().await;
    let svcs: Api<Service> = Api::namespaced(client, "default");
    let created = svcs
        .create(&PostParams::default(), &service("web"))
        .await
        .expect("create");
    assert_eq!(
        ingress_ip(&created),
        None,
        "status sent on create is dropped"
    );

    let patched = svcs
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": ingress_status("192.0.2.10") })),
        )
        .await
        .expect("patch_status");
    assert_eq!(ingress_ip(&patched), Some("192.0.2.10"));
    assert_eq!(
        patched.spec, created.spec,
        "a status write leaves the spec alone"
    );

    // An update of the main resource ignores status changes but keeps the status.
    let mut update = patched.clone();
    update.status = Some(ingress_status("198.51.100.1"));
    update.spec.as_mut().expect("spec").session_affinity = Some("ClientIP".to_owned());
    let updated = svcs
        .replace("web", &PostParams::default(), &update)
        .await
        .expect("replace");
    assert_eq!(ingress_ip(&updated), Some("192.0.2.10"));
    assert_eq!(
        updated
            .spec
            .as_ref()
            .and_then(|s| s.session_affinity.as_deref()),
        Some("ClientIP")
    );

    // replace_status takes the status and ignores spec changes.
    let mut status_write = updated.clone();
    status_write.status = Some(ingress_status("198.51.100.7"));
    status_write.spec.as_mut().expect("spec").session_affinity = Some("None".to_owned());
    let replaced = svcs
        .replace_status("web", &PostParams::default(), &status_write)
        .await
        .expect("replace_status");
    assert_eq!(ingress_ip(&replaced), Some("198.51.100.7"));
    assert_eq!(
        replaced
            .spec
            .as_ref()
            .and_then(|s| s.session_affinity.as_deref()),
        Some("ClientIP"),
        "a status write cannot change the spec"
    );
    let fetched = svcs.get_status("web").await.expect("get_status");
    assert_eq!(ingress_ip(&fetched), Some("198.51.100.7"));

    // A stale resourceVersion conflicts on /status too.
    let status = api_error(
        svcs.replace_status("web", &PostParams::default(), &status_write)
            .await,
        "replace_status with a stale resourceVersion",
    );
    assert_eq!(status.code, 409);
}

#[tokio::test]
async fn lease_round_trip_keeps_micro_times() {
    let (_server, client) = start().await;
    let leases: Api<Lease> = Api::namespaced(client, "kube-node-lease");
    let acquired = Timestamp::from_microsecond(1_700_000_000_123_456).expect("valid time");
    let lease = Lease {
        metadata: ObjectMeta {
            name: Some("node-a".to_owned()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some("node-a".to_owned()),
            lease_duration_seconds: Some(40),
            acquire_time: Some(MicroTime(acquired)),
            renew_time: Some(MicroTime(acquired)),
            lease_transitions: Some(0),
            ..LeaseSpec::default()
        }),
    };
    let created = leases
        .create(&PostParams::default(), &lease)
        .await
        .expect("create");
    assert_eq!(created.spec, lease.spec, "MicroTime keeps microseconds");

    let mut renewed = created.clone();
    let spec = renewed.spec.as_mut().expect("spec");
    spec.renew_time = Some(MicroTime(
        Timestamp::from_microsecond(1_700_000_010_000_001).expect("valid time"),
    ));
    let stored = leases
        .replace("node-a", &PostParams::default(), &renewed)
        .await
        .expect("renew");
    assert_eq!(stored.spec, renewed.spec);
    let status = api_error(
        leases
            .replace("node-a", &PostParams::default(), &created)
            .await,
        "renewing from a stale read",
    );
    assert_eq!(status.reason, "Conflict");
    leases
        .delete("node-a", &DeleteParams::default())
        .await
        .expect("delete");
    assert_eq!(leases.get_opt("node-a").await.expect("get_opt"), None);
}
