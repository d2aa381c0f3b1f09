//! Policy problems and externalTrafficPolicy Local, seen from the API: a bad interface regex
//! becomes Cilium's condition and announces nothing until fixed; an eTP Local Service without
//! a ready local endpoint is not announced and gets a Warning Event.

mod support;

use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, PostParams};
use support::{AgentStub, Announcer, Cluster, WITHIN, eventually, wait_announcements};

const REGEX_CONDITION: &str = "io.cilium/bad-interface-regex";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_interface_regex_is_reported_and_announces_nothing_until_fixed() {
    let cluster = Cluster::start().await;
    cluster.node("node-a").await;
    cluster.service("web", "192.0.2.10", false).await;
    cluster.policy("lab", &["eth("]).await;
    let agent = AgentStub::start().await;
    let announcer = Announcer::start(&cluster, "node-a", &agent);

    let (status, message) = eventually("the regex condition turns True", WITHIN, || async {
        cluster
            .policy_condition("lab", REGEX_CONDITION)
            .await
            .filter(|(s, _)| s == "True")
    })
    .await;
    assert_eq!(status, "True");
    assert!(message.contains("eth("), "{message}");
    // The announcer is live and has written its object: empty, the broken policy is dropped.
    let empty = wait_announcements(&cluster, "node-a writes its (empty) object", |a| {
        a.contains_key("node-a")
    })
    .await;
    assert_eq!(empty["node-a"], Vec::<String>::new(), "{}", announcer.log());

    cluster.policy("lab", &["^eth0$"]).await;
    eventually("the regex condition turns False", WITHIN, || async {
        cluster
            .policy_condition("lab", REGEX_CONDITION)
            .await
            .filter(|(s, m)| s == "False" && m.is_empty())
    })
    .await;
    wait_announcements(&cluster, "web is announced once fixed", |a| {
        a.get("node-a").is_some_and(|s| s == &["web"])
    })
    .await;
    let object = cluster.announcement("node-a").await.expect("written");
    assert_eq!(object.spec.announcements[0].ip, "192.0.2.10");
    assert_eq!(object.spec.announcements[0].interface_regexes, ["^eth0$"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_traffic_policy_needs_a_ready_local_endpoint() {
    let cluster = Cluster::start().await;
    for node in ["node-a", "node-b"] {
        cluster.node(node).await;
    }
    cluster.policy("all", &[]).await;
    cluster.service("local", "192.0.2.20", true).await;
    let agents = [AgentStub::start().await, AgentStub::start().await];
    let _announcers = [
        Announcer::start(&cluster, "node-a", &agents[0]),
        Announcer::start(&cluster, "node-b", &agents[1]),
    ];
    eventually("a NoLocalEndpoint Warning", WITHIN, || async {
        cluster
            .event_reasons("local")
            .await
            .contains(&"NoLocalEndpoint".to_owned())
            .then_some(())
    })
    .await;
    let none = cluster.announcements().await;
    assert!(none.values().all(Vec::is_empty), "not announced: {none:?}");

    // A ready endpoint on node-b: node-b, and only node-b, announces it.
    let slice: EndpointSlice = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "local-1", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "local"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["198.51.100.5"], "nodeName": "node-b",
                       "conditions": {"ready": true}}],
    }))
    .expect("a slice");
    Api::<EndpointSlice>::namespaced(cluster.client.clone(), "default")
        .create(&PostParams::default(), &slice)
        .await
        .expect("the slice is created");
    wait_announcements(&cluster, "node-b announces the local service", |a| {
        a.get("node-b").is_some_and(|s| s == &["local"])
            && a.get("node-a").is_none_or(Vec::is_empty)
    })
    .await;
    let warnings = cluster
        .event_reasons("local")
        .await
        .iter()
        .filter(|r| *r == "NoLocalEndpoint")
        .count();
    assert_eq!(warnings, 1, "one Warning per appearance, not one per pass");
}
