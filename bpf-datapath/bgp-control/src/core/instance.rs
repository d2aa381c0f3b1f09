//! BGP instances of the node config: ASN, router ID and listen port, then each peer with its
//! settings and, per family, the routes of the advertisements its peer config selects.

use super::advertised::advertisement_routes;
use super::peer::{peer_address, session_settings};
use super::services::services_with_local_endpoints;
use crate::desired::{DesiredInstance, DesiredPeer, FamilyAdvertisement, RouteTable};
use crate::family::Family;
use crate::inputs::Inputs;
use crate::problems::Problem;
use ferrule_api::bgp::advertisement::v2::CiliumBGPAdvertisement;
use ferrule_api::bgp::node_config::v2::{BgpInstance, BgpPeer};
use ferrule_api::meta::LabelSelector;
use ferrule_api::selector::ExtendedLabels;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// The runnable instances of the node config, in its order.
pub(crate) fn instances(inputs: &Inputs, problems: &mut Vec<Problem>) -> Vec<DesiredInstance> {
    let Some(config) = &inputs.node_config else {
        return Vec::new();
    };
    let mut context = Context {
        inputs,
        peer_configs: inputs
            .peer_configs
            .iter()
            .filter_map(|c| Some((c.metadata.name.as_deref()?, c.as_ref())))
            .collect(),
        local_endpoints: services_with_local_endpoints(&inputs.endpoint_slices),
        advertisement_tables: HashMap::new(),
        family_tables: HashMap::new(),
    };
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for instance in &config.spec.bgp_instances {
        if !seen.insert(instance.name.as_str()) {
            problems.push(Problem::DuplicateInstance {
                instance: instance.name.clone(),
            });
            continue;
        }
        if let Some(desired) = context.instance(instance, problems) {
            out.push(desired);
        }
    }
    out
}

struct Context<'a> {
    inputs: &'a Inputs,
    peer_configs: BTreeMap<&'a str, &'a ferrule_api::bgp::peer_config::v2::CiliumBGPPeerConfig>,
    local_endpoints: HashSet<(&'a str, &'a str)>,
    /// Routes of each advertisement object, computed once however many peers select it.
    advertisement_tables: HashMap<&'a str, RouteTable>,
    /// Family tables by what they are made of, shared by every peer they are made for.
    family_tables: HashMap<(Family, BTreeSet<&'a str>, bool), Arc<RouteTable>>,
}

impl<'a> Context<'a> {
    fn instance(
        &mut self,
        instance: &'a BgpInstance,
        problems: &mut Vec<Problem>,
    ) -> Option<DesiredInstance> {
        let name = &instance.name;
        let local_asn = match instance.local_asn {
            None => {
                problems.push(Problem::MissingLocalAsn {
                    instance: name.clone(),
                });
                return None;
            }
            Some(value) => match u32::try_from(value) {
                Ok(asn) if asn != 0 => asn,
                _ => {
                    problems.push(Problem::InvalidLocalAsn {
                        instance: name.clone(),
                        value,
                    });
                    return None;
                }
            },
        };
        let router_id = self.router_id(instance, problems)?;
        let listen_port = instance
            .local_port
            .and_then(|port| match u16::try_from(port) {
                Ok(p) if p != 0 => Some(p),
                _ => {
                    problems.push(Problem::InvalidLocalPort {
                        instance: name.clone(),
                        value: port,
                    });
                    None
                }
            });
        let mut seen = HashSet::new();
        let mut peers = Vec::new();
        for peer in &instance.peers {
            if !seen.insert(peer.name.as_str()) {
                problems.push(Problem::DuplicatePeer {
                    instance: name.clone(),
                    peer: peer.name.clone(),
                });
                continue;
            }
            if let Some(desired) = self.peer(name, local_asn, peer, problems) {
                peers.push(desired);
            }
        }
        Some(DesiredInstance {
            name: name.clone(),
            local_asn,
            router_id,
            listen_port,
            peers,
        })
    }

    /// `routerID`, else the node's IPv4 address (InternalIP first), else the fallback.
    fn router_id(&self, instance: &BgpInstance, problems: &mut Vec<Problem>) -> Option<Ipv4Addr> {
        if let Some(text) = &instance.router_id {
            let parsed = text.trim().parse().ok();
            if parsed.is_none() {
                problems.push(Problem::InvalidRouterId {
                    instance: instance.name.clone(),
                    value: text.clone(),
                });
            }
            return parsed;
        }
        let addresses = self
            .inputs
            .node
            .as_ref()
            .and_then(|n| n.status.as_ref())
            .and_then(|s| s.addresses.as_ref());
        let ipv4_of = |wanted_internal: bool| {
            addresses.into_iter().flatten().find_map(|a| {
                let internal = a.type_ == "InternalIP";
                if internal != wanted_internal {
                    return None;
                }
                a.address.parse::<Ipv4Addr>().ok()
            })
        };
        let derived = ipv4_of(true)
            .or_else(|| ipv4_of(false))
            .or(self.inputs.router_id_fallback);
        if derived.is_none() {
            problems.push(Problem::NoRouterId {
                instance: instance.name.clone(),
            });
        }
        derived
    }

    fn peer(
        &mut self,
        instance: &str,
        local_asn: u32,
        peer: &BgpPeer,
        problems: &mut Vec<Problem>,
    ) -> Option<DesiredPeer> {
        let address = peer_address(instance, peer, self.inputs, problems)?;
        let peer_asn = match peer.peer_asn {
            None | Some(0) => None,
            Some(value) => match u32::try_from(value) {
                Ok(asn) => Some(asn),
                Err(_) => {
                    problems.push(Problem::InvalidPeerAsn {
                        instance: instance.to_owned(),
                        peer: peer.name.clone(),
                        value,
                    });
                    return None;
                }
            },
        };
        let local_address = match peer.local_address.as_deref() {
            None => None,
            Some(text) => match text.trim().parse::<IpAddr>() {
                Ok(address) => Some(address),
                Err(_) => {
                    problems.push(Problem::InvalidLocalAddress {
                        instance: instance.to_owned(),
                        peer: peer.name.clone(),
                        value: text.to_owned(),
                    });
                    return None;
                }
            },
        };
        let settings = session_settings(instance, peer, self.inputs, &self.peer_configs, problems);
        let external = peer_asn.is_some_and(|asn| asn != local_asn);
        let mut families = BTreeMap::new();
        for (family, selectors) in &settings.families {
            let advertisement =
                self.family_advertisement(settings.name, *family, selectors, external, problems);
            families.insert(*family, advertisement);
        }
        Some(DesiredPeer {
            name: peer.name.clone(),
            address,
            port: settings.port,
            peer_asn,
            local_address,
            source_interface: settings.source_interface,
            ebgp_multihop_ttl: settings.ebgp_multihop_ttl,
            timers: settings.timers,
            graceful_restart: settings.graceful_restart,
            md5_password: settings.md5_password,
            peer_config: settings.name.map(str::to_owned),
            families,
            bfd: settings.bfd,
        })
    }

    /// The advertisements the family's selectors pick and their routes of that family,
    /// merged; local preference is dropped for external peers.
    fn family_advertisement(
        &mut self,
        peer_config: Option<&str>,
        family: Family,
        selectors: &[Option<&LabelSelector>],
        external: bool,
        problems: &mut Vec<Problem>,
    ) -> FamilyAdvertisement {
        let mut selected: BTreeSet<&'a str> = BTreeSet::new();
        let mut objects: Vec<&'a CiliumBGPAdvertisement> = Vec::new();
        for selector in selectors.iter().flatten() {
            let selector = match selector.to_selector() {
                Ok(s) => s,
                Err(error) => {
                    problems.push(Problem::InvalidSelector {
                        object: format!(
                            "CiliumBGPPeerConfig {} family {:?}",
                            peer_config.unwrap_or("(defaults)"),
                            family
                        ),
                        error: error.to_string(),
                    });
                    continue;
                }
            };
            for advertisement in &self.inputs.advertisements {
                let meta = &advertisement.metadata;
                let Some(name) = meta.name.as_deref() else {
                    continue;
                };
                if selector.matches(&ExtendedLabels::plain(meta.labels.as_ref()))
                    && selected.insert(name)
                {
                    objects.push(advertisement);
                }
            }
        }
        let key = (family, selected.clone(), external);
        if let Some(routes) = self.family_tables.get(&key) {
            return FamilyAdvertisement {
                advertisements: selected.into_iter().map(str::to_owned).collect(),
                routes: Arc::clone(routes),
            };
        }
        let mut routes = RouteTable::new();
        for advertisement in objects {
            let name = advertisement.metadata.name.as_deref().unwrap_or_default();
            let inputs = self.inputs;
            let local_endpoints = &self.local_endpoints;
            let table = self.advertisement_tables.entry(name).or_insert_with(|| {
                advertisement_routes(inputs, local_endpoints, advertisement, problems)
            });
            for (prefix, attributes) in table.iter() {
                if prefix.family() != family {
                    continue;
                }
                routes.entry(*prefix).or_default().merge(attributes);
            }
        }
        if external {
            for attributes in routes.values_mut() {
                attributes.local_preference = None;
            }
        }
        let routes = Arc::new(routes);
        self.family_tables.insert(key, Arc::clone(&routes));
        FamilyAdvertisement {
            advertisements: selected.into_iter().map(str::to_owned).collect(),
            routes,
        }
    }
}
