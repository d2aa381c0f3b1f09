use super::*;
use serde_json::json;

fn service(value: serde_json::Value) -> ServiceView {
    ServiceView::new(&serde_json::from_value(value).expect("a valid Service"))
}

fn ips(texts: &[&str]) -> Vec<IpAddr> {
    texts.iter().map(|t| t.parse().expect("an IP")).collect()
}

#[test]
fn a_service_keeps_what_advertisements_read() {
    let view = service(json!({
        "metadata": {"namespace": "shop", "name": "web", "labels": {"app": "web"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1", "fd00::1"],
            "externalIPs": ["198.51.100.7", "not-an-ip"], "externalTrafficPolicy": "Local",
            "ports": [{"port": 80}], "selector": {"app": "web"}},
        "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.5"}, {"hostname": "lb.example"}]}},
    }));
    assert_eq!(
        (view.namespace.as_str(), view.name.as_str()),
        ("shop", "web")
    );
    assert_eq!(
        view.labels
            .as_ref()
            .and_then(|l| l.get("app"))
            .map(String::as_str),
        Some("web")
    );
    assert!(view.external_traffic_local && !view.internal_traffic_local);
    assert_eq!(view.load_balancer_ips, ips(&["203.0.113.5"]));
    assert_eq!(view.external_ips, ips(&["198.51.100.7"]));
    assert_eq!(view.cluster_ips, ips(&["10.96.0.1", "fd00::1"]));
}

#[test]
fn ingress_ips_count_only_for_load_balancers_of_the_bgp_class_or_none() {
    let with = |spec: serde_json::Value| {
        service(json!({
            "metadata": {"namespace": "default", "name": "s"}, "spec": spec,
            "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.5"}]}},
        }))
        .load_balancer_ips
    };
    assert_eq!(with(json!({"type": "LoadBalancer"})), ips(&["203.0.113.5"]));
    let bgp = json!({"type": "LoadBalancer", "loadBalancerClass": "io.cilium/bgp-control-plane"});
    assert_eq!(with(bgp), ips(&["203.0.113.5"]));
    let other = json!({"type": "LoadBalancer", "loadBalancerClass": "example.com/other"});
    assert!(with(other).is_empty());
    assert!(
        with(json!({"type": "ClusterIP"})).is_empty(),
        "stale status"
    );
}

#[test]
fn the_single_cluster_ip_stands_in_for_an_empty_list_and_headless_has_none() {
    let single = service(json!({"metadata": {"name": "s"}, "spec": {"clusterIP": "10.96.0.2"}}));
    assert_eq!(single.cluster_ips, ips(&["10.96.0.2"]));
    let headless = service(json!({"metadata": {"name": "s"},
        "spec": {"clusterIP": "None", "clusterIPs": ["None"]}}));
    assert!(headless.cluster_ips.is_empty());
}

#[test]
fn a_slice_is_ready_on_the_node_when_an_endpoint_there_is_ready_or_unknown() {
    let slice = |endpoints: serde_json::Value| {
        let slice: EndpointSlice = serde_json::from_value(json!({
            "metadata": {"namespace": "shop", "name": "web-abc",
                "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4", "endpoints": endpoints,
        }))
        .expect("a valid EndpointSlice");
        EndpointSliceView::new(&slice, "node-1")
    };
    let ep = |node: &str, ready: serde_json::Value| json!({"addresses": ["192.0.2.10"], "nodeName": node, "conditions": {"ready": ready}});
    let ready_here = slice(json!([
        ep("node-2", json!(true)),
        ep("node-1", json!(true))
    ]));
    assert_eq!(ready_here.service.as_deref(), Some("web"));
    assert!(ready_here.ready_on_node);
    assert!(slice(json!([ep("node-1", json!(null))])).ready_on_node);
    assert!(!slice(json!([ep("node-1", json!(false))])).ready_on_node);
    assert!(!slice(json!([ep("node-2", json!(true))])).ready_on_node);
}
