use std::net::IpAddr;

use serde_json::json;

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test addresses parse")
}

#[test]
fn load_balancer_service_yields_ingress_and_external_ips() {
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"namespace": "default", "name": "web"},
        "spec": {
            "type": "LoadBalancer",
            "externalIPs": ["198.51.100.7", "not-an-ip"],
            "externalTrafficPolicy": "Local",
            "ports": [
                {"name": "http", "port": 80, "protocol": "TCP"},
                {"name": "dns", "port": 53, "protocol": "UDP"},
                {"name": "sctp", "port": 9, "protocol": "SCTP"}
            ]
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}, {"hostname": "lb.example"}]}}
    }))
    .expect("a valid Service");
    let observed = ObservedService::from_service(&svc).expect("a namespaced Service with a spec");
    assert_eq!(observed.vips, vec![ip("192.0.2.10"), ip("198.51.100.7")]);
    assert_eq!(observed.policy, TrafficPolicy::Local);
    assert_eq!(
        observed.ports,
        vec![
            ServicePort {
                name: "http".into(),
                port: 80,
                protocol: Protocol::Tcp
            },
            ServicePort {
                name: "dns".into(),
                port: 53,
                protocol: Protocol::Udp
            },
        ],
        "SCTP is not served by the datapath"
    );
}

#[test]
fn ingress_of_a_service_no_longer_load_balancer_is_ignored() {
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"namespace": "default", "name": "web"},
        "spec": {"type": "ClusterIP", "ports": [{"port": 80}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}
    }))
    .expect("a valid Service");
    let observed = ObservedService::from_service(&svc).expect("converts");
    assert!(observed.vips.is_empty());
    assert_eq!(observed.policy, TrafficPolicy::Cluster);
    assert_eq!(
        observed.ports[0].protocol,
        Protocol::Tcp,
        "protocol defaults to TCP"
    );
}

#[test]
fn endpoint_slice_reads_readiness_with_unset_as_ready() {
    let slice: EndpointSlice = serde_json::from_value(json!({
        "metadata": {"namespace": "default", "name": "web-abc",
                     "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [
            {"addresses": ["10.0.0.1"], "conditions": {"ready": true}, "nodeName": "n1"},
            {"addresses": ["10.0.0.2"], "conditions": {"ready": false}, "nodeName": "n2"},
            {"addresses": ["10.0.0.3"]}
        ]
    }))
    .expect("a valid EndpointSlice");
    let observed = ObservedEndpointSlice::from_endpoint_slice(&slice).expect("converts");
    assert_eq!(observed.service.to_string(), "default/web");
    let ready: Vec<bool> = observed.endpoints.iter().map(|e| e.ready).collect();
    assert_eq!(ready, vec![true, false, true]);
    assert_eq!(observed.ports[0].port, 8080);
}

#[test]
fn fqdn_and_unlabelled_slices_are_skipped() {
    let fqdn: EndpointSlice = serde_json::from_value(json!({
        "metadata": {"namespace": "default", "name": "x",
                     "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "FQDN", "endpoints": []
    }))
    .expect("valid");
    assert_eq!(ObservedEndpointSlice::from_endpoint_slice(&fqdn), None);
    let orphan: EndpointSlice = serde_json::from_value(json!({
        "metadata": {"namespace": "default", "name": "y"},
        "addressType": "IPv4", "endpoints": []
    }))
    .expect("valid");
    assert_eq!(ObservedEndpointSlice::from_endpoint_slice(&orphan), None);
}
