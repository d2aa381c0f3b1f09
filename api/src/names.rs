//! Well-known names of Cilium's API that ferrule honours: annotations, labels,
//! load-balancer classes, special selector keys and controller names.
//!
//! Manifests written for Cilium must work unchanged, so these are Cilium's spellings.

/// Annotations users put on Services, Ingresses and Namespaces.
pub mod annotation {
    /// Comma-separated IPs a Service requests from LB-IPAM.
    pub const LBIPAM_IPS: &str = "lbipam.cilium.io/ips";
    /// The older spelling of [`LBIPAM_IPS`], still honoured.
    pub const LBIPAM_IPS_LEGACY: &str = "io.cilium/lb-ipam-ips";
    /// Services with the same sharing key may share a LoadBalancer IP.
    pub const LBIPAM_SHARING_KEY: &str = "lbipam.cilium.io/sharing-key";
    /// Namespaces (comma-separated, or `*`) whose Services may share this Service's IP.
    pub const LBIPAM_SHARING_CROSS_NAMESPACE: &str = "lbipam.cilium.io/sharing-cross-namespace";

    /// ClusterMesh: the Service is global (merged across clusters).
    pub const SERVICE_GLOBAL: &str = "service.cilium.io/global";
    /// ClusterMesh: whether this cluster shares its endpoints of a global Service.
    pub const SERVICE_SHARED: &str = "service.cilium.io/shared";
    /// ClusterMesh: `local`, `remote` or `none` preference for global Service backends.
    pub const SERVICE_AFFINITY: &str = "service.cilium.io/affinity";
    /// ClusterMesh: synchronise EndpointSlices of a global Service from remote clusters.
    pub const SERVICE_GLOBAL_SYNC_ENDPOINT_SLICES: &str =
        "service.cilium.io/global-sync-endpoint-slices";
    /// Restricts which frontends (`LoadBalancer`, `NodePort`, `ClusterIP`) are created.
    pub const SERVICE_TYPE: &str = "service.cilium.io/type";
    /// Load-balancing algorithm of a Service (`random`, `maglev`).
    pub const SERVICE_LB_ALGORITHM: &str = "service.cilium.io/lb-algorithm";
    /// Forwarding mode of a Service (`snat`, `dsr`).
    pub const SERVICE_FORWARDING_MODE: &str = "service.cilium.io/forwarding-mode";
    /// Whether loadBalancerSourceRanges is an allow (`allow`) or deny (`deny`) list.
    pub const SERVICE_SRC_RANGES_POLICY: &str = "service.cilium.io/src-ranges-policy";
    /// Which nodes expose the Service (node-local frontends).
    pub const SERVICE_NODE: &str = "service.cilium.io/node";
    /// Label selector limiting the nodes that expose the Service.
    pub const SERVICE_NODE_SELECTOR: &str = "service.cilium.io/node-selector";
    /// Delegates a Service's L7 handling to a proxy.
    pub const SERVICE_PROXY_DELEGATION: &str = "service.cilium.io/proxy-delegation";
    /// Enables L7 load balancing of a Service.
    pub const SERVICE_LB_L7: &str = "service.cilium.io/lb-l7";
    /// L7 load-balancing algorithm of a Service.
    pub const SERVICE_LB_L7_ALGORITHM: &str = "service.cilium.io/lb-l7-algorithm";
    /// Label selector (as text) of the nodes Node IPAM may use for a Service.
    pub const NODEIPAM_MATCH_NODE_LABELS: &str = "io.cilium.nodeipam/match-node-labels";
    /// Multi-cluster Services: marks the Service derived from a ServiceImport.
    pub const MCS_DERIVED_SERVICE: &str = "multicluster.kubernetes.io/derived-service";

    /// Pod IPAM: the CiliumPodIPPool a Pod or Namespace allocates from.
    pub const IPAM_IP_POOL: &str = "ipam.cilium.io/ip-pool";
    /// Pod IPAM: the pool of a Namespace (older spelling).
    pub const IPAM_IPAM_POOL: &str = "ipam.cilium.io/ipam-pool";
    /// A fixed MAC address for a Pod's interface.
    pub const CNI_MAC_ADDRESS: &str = "cni.cilium.io/mac-address";

    /// Ingress: `dedicated` or `shared` load balancer.
    pub const INGRESS_LOADBALANCER_MODE: &str = "ingress.cilium.io/loadbalancer-mode";
    /// Ingress: loadBalancerClass of the generated Service.
    pub const INGRESS_LOADBALANCER_CLASS: &str = "ingress.cilium.io/loadbalancer-class";
    /// Ingress: type of the generated Service (`LoadBalancer` or `NodePort`).
    pub const INGRESS_SERVICE_TYPE: &str = "ingress.cilium.io/service-type";
    /// Ingress: externalTrafficPolicy of the generated Service.
    pub const INGRESS_SERVICE_EXTERNAL_TRAFFIC_POLICY: &str =
        "ingress.cilium.io/service-external-traffic-policy";
    /// Ingress: NodePort for HTTP.
    pub const INGRESS_INSECURE_NODE_PORT: &str = "ingress.cilium.io/insecure-node-port";
    /// Ingress: NodePort for HTTPS.
    pub const INGRESS_SECURE_NODE_PORT: &str = "ingress.cilium.io/secure-node-port";
    /// Ingress: port of the host-network listener.
    pub const INGRESS_HOST_LISTENER_PORT: &str = "ingress.cilium.io/host-listener-port";
    /// Ingress: pass TLS through instead of terminating it.
    pub const INGRESS_TLS_PASSTHROUGH: &str = "ingress.cilium.io/tls-passthrough";
    /// Ingress: redirect HTTP to HTTPS.
    pub const INGRESS_FORCE_HTTPS: &str = "ingress.cilium.io/force-https";
}

/// Labels with a meaning to ferrule.
pub mod label {
    /// Kubernetes: nodes carrying this label are not used for external load balancers.
    pub const EXCLUDE_FROM_EXTERNAL_LOAD_BALANCERS: &str =
        "node.kubernetes.io/exclude-from-external-load-balancers";
    /// Kubernetes: a Service with this label is handled only by the named proxy.
    pub const SERVICE_PROXY_NAME: &str = "service.kubernetes.io/service-proxy-name";
    /// Kubernetes: the control-plane node role.
    pub const NODE_ROLE_CONTROL_PLANE: &str = "node-role.kubernetes.io/control-plane";
    /// CiliumEnvoyConfig: `"false"` for east-west proxies that must not keep source addresses.
    pub const USE_ORIGINAL_SOURCE_ADDRESS: &str = "cilium.io/use-original-source-address";
    /// Kubernetes: the service an EndpointSlice belongs to.
    pub const ENDPOINTSLICE_SERVICE_NAME: &str = "kubernetes.io/service-name";
    /// Kubernetes: the controller managing an EndpointSlice.
    pub const ENDPOINTSLICE_MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
}

/// Values of `Service.spec.loadBalancerClass` that select a Cilium feature.
pub mod lb_class {
    /// Announced on the local network by L2 announcements (ARP/NDP).
    pub const L2_ANNOUNCER: &str = "io.cilium/l2-announcer";
    /// Advertised by the BGP control plane.
    pub const BGP_CONTROL_PLANE: &str = "io.cilium/bgp-control-plane";
    /// Node IPAM: the Service takes the IPs of the nodes.
    pub const NODE: &str = "io.cilium/node";

    /// The classes LB-IPAM assigns addresses for (besides an unset class).
    pub const LBIPAM: [&str; 2] = [L2_ANNOUNCER, BGP_CONTROL_PLANE];
}

/// Keys that selectors may use although no object carries them as labels: they are
/// synthesised from the selected object's identity (see [`crate::selector`]).
pub mod selector_key {
    /// The namespace of a selected Service.
    pub const SERVICE_NAMESPACE: &str = "io.kubernetes.service.namespace";
    /// The name of a selected Service.
    pub const SERVICE_NAME: &str = "io.kubernetes.service.name";
    /// The namespace of a selected Pod.
    pub const POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
    /// The namespace of a selected CiliumPodIPPool (BGP advertisements; pools are
    /// cluster-scoped, so the value is the empty string).
    pub const POD_IP_POOL_NAMESPACE: &str = "io.cilium.podippool.namespace";
    /// The name of a selected CiliumPodIPPool (BGP advertisements).
    pub const POD_IP_POOL_NAME: &str = "io.cilium.podippool.name";
}

/// Gateway API controller and class names.
pub mod gateway {
    /// ferrule's default `GatewayClass.spec.controllerName`.
    pub const CONTROLLER_NAME: &str = "ferrule.io/gateway-controller";
    /// ferrule's default GatewayClass name.
    pub const CLASS_NAME: &str = "ferrule";
    /// Cilium's controller name, for manifests that name it.
    pub const CILIUM_CONTROLLER_NAME: &str = "io.cilium/gateway-controller";
}

/// API groups.
pub mod group {
    /// Cilium's API group, which ferrule serves unchanged.
    pub const CILIUM: &str = "cilium.io";
    /// ferrule's own group for objects Cilium has no CRD for.
    pub const FERRULE: &str = "ferrule.io";
}

/// ferrule's own annotations, for settings Cilium's CRDs have no field for: the CRDs stay
/// schema-compatible with Cilium's, so these ride on the objects' metadata.
pub mod ferrule_annotation {
    /// Node: the MAC address (`aa:bb:cc:dd:ee:ff`) of the interface holding the node's
    /// InternalIP, written by ferrule-agent; ferrule-bgp derives the default router ID of an
    /// IPv6-only node from its lower 32 bits, as Cilium does.
    pub const HOST_MAC_ADDRESS: &str = "ferrule.io/host-mac-address";

    /// CiliumBGPPeerConfig: `"true"` runs BFD (RFC 5880/5881, single hop, asynchronous mode)
    /// with every peer using this config; a BFD Down tears the BGP session down at once.
    /// Absent or `"false"`: no BFD. Any other value is reported and leaves BFD off.
    pub const BFD_ENABLED: &str = "bfd.ferrule.io/enabled";
    /// CiliumBGPPeerConfig: desired minimum transmit interval as a Go duration (`"100ms"`);
    /// default [`BFD_DEFAULT_INTERVAL`]. An invalid value is reported and leaves BFD off.
    pub const BFD_MIN_TX_INTERVAL: &str = "bfd.ferrule.io/min-tx-interval";
    /// CiliumBGPPeerConfig: required minimum receive interval as a Go duration; default
    /// [`BFD_DEFAULT_INTERVAL`]. An invalid value is reported and leaves BFD off.
    pub const BFD_MIN_RX_INTERVAL: &str = "bfd.ferrule.io/min-rx-interval";
    /// CiliumBGPPeerConfig: detection multiplier, 1..=255; default
    /// [`BFD_DEFAULT_DETECT_MULTIPLIER`]. An invalid value is reported and leaves BFD off.
    pub const BFD_DETECT_MULTIPLIER: &str = "bfd.ferrule.io/detect-multiplier";
    /// The interval both BFD timers default to (FRR's default too).
    pub const BFD_DEFAULT_INTERVAL: &str = "300ms";
    /// The detection multiplier's default.
    pub const BFD_DEFAULT_DETECT_MULTIPLIER: u8 = 3;

    /// Lease (an L2 announcer's per-node liveness Lease): how long the others wait after the
    /// record last changed before they declare the node dead, as a Go duration (`"10s"`,
    /// `"1500ms"`). Written by ferrule-l2announcer as `max(leaseDuration − renewDeadline,
    /// renewDeadline)`; the node's ferrule-agent fences its ARP/NDP responder on it too.
    /// Absent or invalid: `leaseDurationSeconds` counts, as for any Lease.
    pub const L2_FAILOVER_AFTER: &str = "l2announce.ferrule.io/failover-after";
}
