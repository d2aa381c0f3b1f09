//! A `kube::runtime::Controller` against the server: reconciles pools by applying their status
//! through /status, and a reconcile of a settled pool writes nothing.

use crate::crd::pool;
use crate::support::{eventually, install_pool_crd, start};
use ferrule_api::lbipam::v2::CiliumLoadBalancerIPPool;
use ferrule_api::meta::{Condition, ConditionStatus};
use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const MANAGER: &str = "ferrule-lbipam-test";
const AVAILABLE: &str = "cilium.io/IPsAvailable";

/// One reconcile: the resourceVersion it was handed and the one its status apply returned.
#[derive(Clone, Debug, PartialEq)]
struct Reconciled {
    name: String,
    before: String,
    after: String,
}

struct Context {
    pools: Api<CiliumLoadBalancerIPPool>,
    log: Mutex<Vec<Reconciled>>,
}

/// The condition the pool should carry; the transition time moves only when the status does.
fn desired(pool: &CiliumLoadBalancerIPPool) -> Condition {
    let status = if pool.spec.disabled {
        ConditionStatus::False
    } else {
        ConditionStatus::True
    };
    let since = pool
        .status
        .iter()
        .flat_map(|s| &s.conditions)
        .find(|c| c.r#type == AVAILABLE && c.status == status)
        .map_or_else(
            || {
                Time(
                    Timestamp::now()
                        .round(k8s_openapi::jiff::Unit::Second)
                        .unwrap_or(Timestamp::UNIX_EPOCH),
                )
            },
            |c| c.last_transition_time.clone(),
        );
    Condition {
        last_transition_time: since,
        message: format!("{} blocks", pool.spec.blocks.len()),
        observed_generation: pool.meta().generation,
        reason: if pool.spec.disabled {
            "Disabled"
        } else {
            "Reconciled"
        }
        .to_owned(),
        status,
        r#type: AVAILABLE.to_owned(),
    }
}

async fn reconcile(
    pool: Arc<CiliumLoadBalancerIPPool>,
    ctx: Arc<Context>,
) -> Result<Action, kube::Error> {
    let name = pool.name_any();
    // No metadata.name, as controller-rs writes status: the URL names the object.
    let status = json!({
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumLoadBalancerIPPool",
        "status": { "conditions": [desired(&pool)] },
    });
    let written = ctx
        .pools
        .patch_status(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(status),
        )
        .await?;
    ctx.log.lock().expect("log lock").push(Reconciled {
        name,
        before: pool.resource_version().unwrap_or_default(),
        after: written.resource_version().unwrap_or_default(),
    });
    Ok(Action::await_change())
}

fn retry(_: Arc<CiliumLoadBalancerIPPool>, _: &kube::Error, _: Arc<Context>) -> Action {
    Action::requeue(Duration::from_millis(100))
}

/// Waits until `count` reconciles happened and no more follow for a while.
async fn settled(ctx: &Context, count: usize) -> Vec<Reconciled> {
    eventually(
        "the controller reconciles",
        Duration::from_secs(10),
        || async { (ctx.log.lock().expect("log lock").len() >= count).then_some(()) },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    ctx.log.lock().expect("log lock").clone()
}

#[tokio::test]
async fn controller_status_reconcile_settles_without_writes() {
    let (server, client) = start().await;
    install_pool_crd(&client).await;
    let pools: Api<CiliumLoadBalancerIPPool> = Api::all(client);
    let ctx = Arc::new(Context {
        pools: pools.clone(),
        log: Mutex::new(Vec::new()),
    });
    let controller = Controller::new(pools.clone(), watcher::Config::default())
        .run(reconcile, retry, ctx.clone())
        .for_each(|_| futures::future::ready(()));
    let running = tokio::spawn(controller);

    let created = pools
        .create(&PostParams::default(), &pool("blue", "192.0.2.0/24"))
        .await
        .expect("create");
    let log = settled(&ctx, 2).await;
    assert_eq!(
        log.len(),
        2,
        "one write, then one reconcile of its own event: {log:?}"
    );
    assert_eq!(log[0].before, created.resource_version().expect("rv"));
    assert_ne!(
        log[0].after, log[0].before,
        "the first reconcile writes the status"
    );
    assert_eq!(
        log[1].before, log[0].after,
        "the second sees the first one's write"
    );
    assert_eq!(
        log[1].after, log[1].before,
        "the second reconcile of a settled pool makes no write"
    );
    let store_rv = server.server().resource_version();

    let reconciled = pools.get("blue").await.expect("get");
    let condition = reconciled
        .status
        .as_ref()
        .and_then(|s| s.conditions.first())
        .expect("a condition");
    assert_eq!(condition.r#type, AVAILABLE);
    assert_eq!(condition.observed_generation, Some(1));
    let status_manager = reconciled
        .managed_fields()
        .iter()
        .find(|m| m.manager.as_deref() == Some(MANAGER))
        .expect("the controller's managedFields entry");
    assert_eq!(status_manager.subresource.as_deref(), Some("status"));
    assert_eq!(status_manager.operation.as_deref(), Some("Apply"));

    // A spec change: one more status write for the new generation, then quiet again.
    pools
        .patch(
            "blue",
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "disabled": true } })),
        )
        .await
        .expect("disable the pool");
    let log = settled(&ctx, 4).await;
    assert_eq!(log.len(), 4, "{log:?}");
    assert_ne!(log[2].after, log[2].before);
    assert_eq!(log[3].after, log[3].before, "settled again: no write");
    let disabled = pools.get("blue").await.expect("get");
    let condition = disabled
        .status
        .as_ref()
        .and_then(|s| s.conditions.first())
        .expect("a condition");
    assert_eq!(condition.observed_generation, Some(2));
    assert_eq!(condition.status, ConditionStatus::False);
    assert!(server.server().resource_version() > store_rv);
    assert!(log.iter().all(|r| r.name == "blue"));
    running.abort();
}
