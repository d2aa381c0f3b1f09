//! Which addresses of a Service an advertisement announces from this node, as prefixes:
//! load-balancer ingress IPs (LoadBalancer Services of the BGP class or no class), external
//! IPs and cluster IPs; traffic policy Local gates on a ready local endpoint and disables
//! aggregation.

use crate::problems::Problem;
use ferrule_api::bgp::advertisement::{ServiceAddressType, ServiceAdvertisement};
use ferrule_api::names::{label, lb_class};
use ferrule_bgp_speaker::Prefix;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use std::collections::HashSet;
use std::net::IpAddr;

/// Services (namespace, name) with at least one ready endpoint on the node.
pub(crate) fn services_with_local_endpoints<'a>(
    slices: &'a [std::sync::Arc<EndpointSlice>],
    node: &str,
) -> HashSet<(&'a str, &'a str)> {
    let mut out = HashSet::new();
    for slice in slices {
        let (Some(namespace), Some(service)) = (
            slice.metadata.namespace.as_deref(),
            slice
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(label::ENDPOINTSLICE_SERVICE_NAME)),
        ) else {
            continue;
        };
        // An unset `ready` is an unknown state, which consumers treat as ready.
        let local_ready = slice.endpoints.iter().any(|endpoint| {
            endpoint.node_name.as_deref() == Some(node)
                && endpoint
                    .conditions
                    .as_ref()
                    .and_then(|c| c.ready)
                    .unwrap_or(true)
        });
        if local_ready {
            out.insert((namespace, service.as_str()));
        }
    }
    out
}

/// The prefixes `advertisement` announces for `service`.
pub(crate) fn service_prefixes(
    advertisement_name: &str,
    advertisement: &ServiceAdvertisement,
    service: &Service,
    has_local_endpoint: bool,
    problems: &mut Vec<Problem>,
) -> Vec<Prefix> {
    let Some(spec) = service.spec.as_ref() else {
        return Vec::new();
    };
    let external_local = spec.external_traffic_policy.as_deref() == Some("Local");
    let internal_local = spec.internal_traffic_policy.as_deref() == Some("Local");
    let mut prefixes = Vec::new();
    for address_type in &advertisement.addresses {
        let (addresses, local_only): (Vec<&str>, bool) = match address_type {
            ServiceAddressType::LoadBalancerIp => {
                let class_ok = spec
                    .load_balancer_class
                    .as_deref()
                    .is_none_or(|class| class == lb_class::BGP_CONTROL_PLANE);
                if spec.type_.as_deref() != Some("LoadBalancer") || !class_ok {
                    continue;
                }
                let ingress = service
                    .status
                    .as_ref()
                    .and_then(|s| s.load_balancer.as_ref())
                    .and_then(|lb| lb.ingress.as_ref());
                let ips = ingress
                    .into_iter()
                    .flatten()
                    .filter_map(|i| i.ip.as_deref())
                    .collect();
                (ips, external_local)
            }
            ServiceAddressType::ExternalIp => (
                spec.external_ips
                    .iter()
                    .flatten()
                    .map(String::as_str)
                    .collect(),
                external_local,
            ),
            ServiceAddressType::ClusterIp => {
                let mut ips: Vec<&str> = spec
                    .cluster_ips
                    .iter()
                    .flatten()
                    .map(String::as_str)
                    .collect();
                if ips.is_empty() {
                    ips.extend(spec.cluster_ip.as_deref());
                }
                (ips, internal_local)
            }
        };
        if local_only && !has_local_endpoint {
            continue;
        }
        for text in addresses {
            let Ok(address) = text.trim().parse::<IpAddr>() else {
                continue; // "None" (headless) or an address the API server would not accept
            };
            let prefix = if local_only {
                Prefix::host(address)
            } else {
                aggregate(advertisement_name, advertisement, address, problems)
            };
            prefixes.push(prefix);
        }
    }
    prefixes
}

/// The address as the aggregate the advertisement asks for, or as a host route.
fn aggregate(
    advertisement_name: &str,
    advertisement: &ServiceAdvertisement,
    address: IpAddr,
    problems: &mut Vec<Problem>,
) -> Prefix {
    let length = if address.is_ipv4() {
        advertisement.aggregation_length_ipv4
    } else {
        advertisement.aggregation_length_ipv6
    };
    match length.map(|l| (l, Prefix::new(address, l))) {
        None => Prefix::host(address),
        Some((_, Ok(prefix))) => prefix,
        Some((value, Err(_))) => {
            problems.push(Problem::InvalidAggregationLength {
                advertisement: advertisement_name.to_owned(),
                value,
            });
            Prefix::host(address)
        }
    }
}
