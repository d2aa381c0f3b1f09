//! Which addresses of a Service an advertisement announces from this node, as prefixes:
//! load-balancer ingress IPs (LoadBalancer Services of the BGP class or no class), external
//! IPs and cluster IPs; traffic policy Local gates on a ready local endpoint and disables
//! aggregation.

use crate::problems::Problem;
use crate::views::{EndpointSliceView, ServiceView};
use ferrule_api::bgp::advertisement::{ServiceAddressType, ServiceAdvertisement};
use ferrule_bgp_speaker::Prefix;
use std::collections::HashSet;
use std::net::IpAddr;

/// Services (namespace, name) with at least one ready endpoint on the node.
pub(crate) fn services_with_local_endpoints(
    slices: &[std::sync::Arc<EndpointSliceView>],
) -> HashSet<(&str, &str)> {
    slices
        .iter()
        .filter(|slice| slice.ready_on_node)
        .filter_map(|slice| Some((slice.namespace.as_str(), slice.service.as_deref()?)))
        .collect()
}

/// The prefixes `advertisement` announces for `service`.
pub(crate) fn service_prefixes(
    advertisement_name: &str,
    advertisement: &ServiceAdvertisement,
    service: &ServiceView,
    has_local_endpoint: bool,
    problems: &mut Vec<Problem>,
) -> Vec<Prefix> {
    let mut prefixes = Vec::new();
    for address_type in &advertisement.addresses {
        let (addresses, local_only) = match address_type {
            ServiceAddressType::LoadBalancerIp => {
                (&service.load_balancer_ips, service.external_traffic_local)
            }
            ServiceAddressType::ExternalIp => {
                (&service.external_ips, service.external_traffic_local)
            }
            ServiceAddressType::ClusterIp => (&service.cluster_ips, service.internal_traffic_local),
        };
        if local_only && !has_local_endpoint {
            continue;
        }
        for &address in addresses {
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
