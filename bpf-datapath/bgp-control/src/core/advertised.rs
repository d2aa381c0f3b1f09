//! The routes one `CiliumBGPAdvertisement` object contributes on this node, in every family:
//! pod CIDRs, pod IP pool allocations, Service addresses and interface addresses, each with
//! the attributes of the entry that announces it.

use super::attributes::route_attributes;
use super::services::service_prefixes;
use crate::desired::RouteTable;
use crate::inputs::Inputs;
use crate::problems::Problem;
use ferrule_api::bgp::advertisement::v2::{
    Advertisement, AdvertisementType, CiliumBGPAdvertisement,
};
use ferrule_api::meta::LabelSelector;
use ferrule_api::selector::{ExtendedLabels, Selector};
use ferrule_bgp_speaker::Prefix;
use std::collections::HashSet;

/// What an advertisement object announces here, merged over its entries.
pub(crate) fn advertisement_routes(
    inputs: &Inputs,
    local_endpoints: &HashSet<(&str, &str)>,
    advertisement: &CiliumBGPAdvertisement,
    problems: &mut Vec<Problem>,
) -> RouteTable {
    let name = advertisement.metadata.name.as_deref().unwrap_or_default();
    let mut table = RouteTable::new();
    for entry in &advertisement.spec.advertisements {
        let attributes = route_attributes(name, entry.attributes.as_ref(), problems);
        for prefix in entry_prefixes(inputs, local_endpoints, name, entry, problems) {
            table.entry(prefix).or_default().merge(&attributes);
        }
    }
    table
}

fn entry_prefixes(
    inputs: &Inputs,
    local_endpoints: &HashSet<(&str, &str)>,
    name: &str,
    entry: &Advertisement,
    problems: &mut Vec<Problem>,
) -> Vec<Prefix> {
    match entry.advertisement_type {
        AdvertisementType::PodCidr => pod_cidrs(inputs, problems),
        AdvertisementType::CiliumPodIpPool => {
            let Some(selector) = selector(name, entry.selector.as_ref(), problems) else {
                return Vec::new();
            };
            pool_prefixes(inputs, &selector, problems)
        }
        AdvertisementType::Service => {
            let Some(service) = entry.service.as_ref() else {
                problems.push(Problem::IncompleteAdvertisement {
                    advertisement: name.to_owned(),
                    kind: "Service",
                    field: "service",
                });
                return Vec::new();
            };
            let Some(selector) = selector(name, entry.selector.as_ref(), problems) else {
                return Vec::new();
            };
            let mut prefixes = Vec::new();
            for svc in &inputs.services {
                let (namespace, svc_name) = (svc.namespace.as_str(), svc.name.as_str());
                let labels = ExtendedLabels::service(namespace, svc_name, svc.labels.as_ref());
                if !selector.matches(&labels) {
                    continue;
                }
                let local = local_endpoints.contains(&(namespace, svc_name));
                prefixes.extend(service_prefixes(name, service, svc, local, problems));
            }
            prefixes
        }
        AdvertisementType::Interface => {
            let Some(interface) = entry.interface.as_ref() else {
                problems.push(Problem::IncompleteAdvertisement {
                    advertisement: name.to_owned(),
                    kind: "Interface",
                    field: "interface",
                });
                return Vec::new();
            };
            inputs
                .interface_addresses
                .get(&interface.name)
                .into_iter()
                .flatten()
                .map(|address| Prefix::host(*address))
                .collect()
        }
    }
}

/// An entry's selector; unset selects nothing (`None`), as an invalid one does after being
/// reported.
fn selector(
    advertisement: &str,
    selector: Option<&LabelSelector>,
    problems: &mut Vec<Problem>,
) -> Option<Selector> {
    match selector?.to_selector() {
        Ok(selector) => Some(selector),
        Err(error) => {
            problems.push(Problem::InvalidSelector {
                object: format!("CiliumBGPAdvertisement {advertisement}"),
                error: error.to_string(),
            });
            None
        }
    }
}

/// The node's `spec.podCIDRs` (or the older single `podCIDR`).
fn pod_cidrs(inputs: &Inputs, problems: &mut Vec<Problem>) -> Vec<Prefix> {
    let Some(spec) = inputs.node.as_ref().and_then(|n| n.spec.as_ref()) else {
        return Vec::new();
    };
    let mut texts: Vec<&str> = spec
        .pod_cidrs
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    if texts.is_empty() {
        texts.extend(spec.pod_cidr.as_deref());
    }
    texts
        .into_iter()
        .filter_map(|text| match text.trim().parse::<Prefix>() {
            Ok(prefix) => Some(prefix),
            Err(_) => {
                problems.push(Problem::InvalidPodCidr {
                    node: inputs.node_name.clone(),
                    value: text.to_owned(),
                });
                None
            }
        })
        .collect()
}

/// The CIDRs allocated to this node from the pools the selector picks.
fn pool_prefixes(inputs: &Inputs, selector: &Selector, problems: &mut Vec<Problem>) -> Vec<Prefix> {
    let mut prefixes = Vec::new();
    for pool in &inputs.pod_ip_pools {
        let meta = &pool.metadata;
        let name = meta.name.as_deref().unwrap_or_default();
        // Pools are cluster-scoped: their namespace key is empty, as in Cilium.
        let namespace = meta.namespace.as_deref().unwrap_or_default();
        let labels = ExtendedLabels::pod_ip_pool(namespace, name, meta.labels.as_ref());
        if !selector.matches(&labels) {
            continue;
        }
        for text in inputs.pool_allocations.get(name).into_iter().flatten() {
            match text.trim().parse::<Prefix>() {
                Ok(prefix) => prefixes.push(prefix),
                Err(_) => problems.push(Problem::InvalidPoolCidr {
                    pool: name.to_owned(),
                    value: text.clone(),
                }),
            }
        }
    }
    prefixes
}
