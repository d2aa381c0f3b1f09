//! ferrule's own CRD installed into the server, then used through its typed Rust API.

use crate::support::{api_error, install_pool_crd, start};
use ferrule_api::lbipam::v2::{CiliumLoadBalancerIPPool, PoolBlock, PoolSpec, PoolStatus};
use ferrule_api::meta::{Condition, ConditionStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

pub fn pool(name: &str, cidr: &str) -> CiliumLoadBalancerIPPool {
    CiliumLoadBalancerIPPool::new(
        name,
        PoolSpec {
            blocks: vec![PoolBlock {
                cidr: Some(cidr.to_owned()),
                ..PoolBlock::default()
            }],
            ..PoolSpec::default()
        },
    )
}

#[tokio::test]
async fn typed_crud_on_the_pool_crd() {
    let (_server, client) = start().await;
    install_pool_crd(&client).await;
    let pools: Api<CiliumLoadBalancerIPPool> = Api::all(client);

    let created = pools
        .create(&PostParams::default(), &pool("blue", "192.0.2.0/24"))
        .await
        .expect("a valid pool is accepted");
    assert_eq!(created.spec, pool("blue", "192.0.2.0/24").spec);
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(
        created.metadata.namespace, None,
        "the pool is cluster-scoped"
    );

    let mut changed = created.clone();
    changed.spec.disabled = true;
    let replaced = pools
        .replace("blue", &PostParams::default(), &changed)
        .await
        .expect("replace");
    assert!(replaced.spec.disabled);
    assert_eq!(
        replaced.metadata.generation,
        Some(2),
        "a spec change bumps generation"
    );

    let status = PoolStatus {
        conditions: vec![Condition {
            last_transition_time: Time(Timestamp::from_second(1_700_000_000).expect("time")),
            message: "254 of 254 IPs available".to_owned(),
            observed_generation: Some(2),
            reason: "Reconciled".to_owned(),
            status: ConditionStatus::True,
            r#type: "cilium.io/IPsAvailable".to_owned(),
        }],
    };
    let with_status = pools
        .patch_status(
            "blue",
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": status })),
        )
        .await
        .expect("patch_status");
    assert_eq!(with_status.status.as_ref(), Some(&status));
    assert_eq!(
        with_status.metadata.generation,
        Some(2),
        "a status write does not bump generation"
    );

    // The schema is enforced: a string where a boolean belongs is 422 Invalid.
    let invalid = api_error(
        pools
            .patch(
                "blue",
                &PatchParams::default(),
                &Patch::Merge(json!({ "spec": { "disabled": "yes" } })),
            )
            .await,
        "patching a pool with a wrongly typed field",
    );
    assert_eq!((invalid.code, invalid.reason.as_str()), (422, "Invalid"));
    assert!(
        invalid.message.contains("spec.disabled"),
        "{}",
        invalid.message
    );

    pools
        .create(&PostParams::default(), &pool("green", "2001:db8::/64"))
        .await
        .expect("an IPv6 pool");
    let names: Vec<_> = pools
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    assert_eq!(names, ["blue", "green"]);

    pools
        .delete("blue", &DeleteParams::default())
        .await
        .expect("delete");
    let gone = api_error(pools.get("blue").await, "get of a deleted pool");
    assert_eq!(gone.code, 404);
    assert_eq!(
        gone.message,
        r#"ciliumloadbalancerippools.cilium.io "blue" not found"#
    );
}
