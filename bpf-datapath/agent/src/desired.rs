//! The pure computation: observed Services and EndpointSlices on this node → desired map
//! contents. No I/O; the current map contents come in only to adopt existing ids.

use std::collections::{BTreeMap, BTreeSet};

use ferrule_bpf_loader::MapContents;
use ferrule_bpf_loader::model::{
    Backend, BackendAddr, BackendId, Family, Frontend, ResponderKey, ServiceEntry, ServiceId,
    TrafficPolicy,
};

use crate::ids;
use crate::maglev::{self, MaglevTableSize};
use crate::observed::{ObservedEndpointSlice, ObservedService, ServiceKey, ServicePort};

/// Everything the computation reads.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// This node's name (endpoints' `nodeName` is compared with it).
    pub node_name: &'a str,
    pub services: &'a [ObservedService],
    pub slices: &'a [ObservedEndpointSlice],
    /// Responder entries, from the L2 announcements feature via [`crate::responder`].
    pub responders: &'a BTreeSet<ResponderKey>,
    pub maglev_size: MaglevTableSize,
    pub limits: Limits,
}

/// Id spaces of the datapath's maps (ids are exclusive upper bounds; 0 is never used).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub services: u32,
    pub backends: u32,
}

impl Limits {
    /// What abi.h sizes the maps for.
    pub const DATAPATH: Self = Self {
        services: ferrule_bpf_common::LB_MAX_SERVICES,
        backends: ferrule_bpf_common::LB_MAX_BACKENDS,
    };
}

/// Two Services claim the same VIP, port and protocol (externalIPs are not checked by the API
/// server). The first in namespace/name order keeps the frontend; the other is reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontendConflict {
    pub frontend: Frontend,
    pub kept: ServiceKey,
    pub dropped: ServiceKey,
}

/// The desired map contents and what could not be programmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub contents: MapContents,
    pub conflicts: Vec<FrontendConflict>,
    /// Frontends left out because the service id space is full.
    pub frontends_over_limit: Vec<Frontend>,
    /// Backends left out of every table because the backend id space is full.
    pub backends_over_limit: Vec<BackendAddr>,
}

struct FrontendPlan<'a> {
    service: &'a ObservedService,
    port: &'a ServicePort,
}

/// Computes the desired map contents; `current` (what the maps hold now) only provides ids to
/// keep, see [`crate::ids`].
pub fn compute(inputs: &Inputs<'_>, current: &MapContents) -> Desired {
    let mut services: Vec<&ObservedService> = inputs.services.iter().collect();
    services.sort_by(|a, b| a.key.cmp(&b.key));

    let mut plans: BTreeMap<Frontend, FrontendPlan<'_>> = BTreeMap::new();
    let mut conflicts = Vec::new();
    for service in services {
        for vip in &service.vips {
            for port in &service.ports {
                let frontend = Frontend {
                    addr: *vip,
                    port: port.port,
                    protocol: port.protocol,
                };
                if let Some(kept) = plans.get(&frontend) {
                    conflicts.push(FrontendConflict {
                        frontend,
                        kept: kept.service.key.clone(),
                        dropped: service.key.clone(),
                    });
                    continue;
                }
                plans.insert(frontend, FrontendPlan { service, port });
            }
        }
    }

    let mut slices_by_service: BTreeMap<&ServiceKey, Vec<&ObservedEndpointSlice>> = BTreeMap::new();
    for slice in inputs.slices {
        slices_by_service
            .entry(&slice.service)
            .or_default()
            .push(slice);
    }

    // Backends of each frontend, and whether each backend runs here.
    let mut frontend_backends: BTreeMap<Frontend, BTreeSet<BackendAddr>> = BTreeMap::new();
    let mut local: BTreeMap<BackendAddr, bool> = BTreeMap::new();
    for (frontend, plan) in &plans {
        let slices = slices_by_service
            .get(&plan.service.key)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut addrs = BTreeSet::new();
        for slice in slices {
            // Service and EndpointSlice ports pair up by name and protocol.
            let Some(slice_port) = slice
                .ports
                .iter()
                .find(|p| p.name == plan.port.name && p.protocol == plan.port.protocol)
            else {
                continue;
            };
            for endpoint in slice.endpoints.iter().filter(|e| e.ready) {
                let is_local = endpoint.node_name.as_deref() == Some(inputs.node_name);
                if plan.service.policy == TrafficPolicy::Local && !is_local {
                    continue;
                }
                // No NAT46/64: a VIP is served by backends of its own family.
                for addr in endpoint
                    .addresses
                    .iter()
                    .filter(|a| Family::of(**a) == frontend.family())
                {
                    let backend = BackendAddr {
                        addr: *addr,
                        port: slice_port.port,
                    };
                    *local.entry(backend).or_default() |= is_local;
                    addrs.insert(backend);
                }
            }
        }
        frontend_backends.insert(*frontend, addrs);
    }

    let current_backend_ids: BTreeMap<BackendAddr, u32> = current
        .backends
        .iter()
        .map(|(id, b)| (b.addr, id.0))
        .collect();
    let backend_ids = ids::assign(
        &current_backend_ids,
        &local.keys().copied().collect(),
        inputs.limits.backends,
    );
    let current_service_ids: BTreeMap<Frontend, u32> = current
        .frontends
        .iter()
        .map(|(f, e)| (*f, e.id.0))
        .collect();
    let service_ids = ids::assign(
        &current_service_ids,
        &plans.keys().copied().collect(),
        inputs.limits.services,
    );

    let mut contents = MapContents {
        responders: inputs.responders.clone(),
        ..MapContents::default()
    };
    for (addr, id) in &backend_ids.ids {
        let remote = !local.get(addr).copied().unwrap_or_default();
        contents.backends.insert(
            BackendId(*id),
            Backend {
                addr: *addr,
                remote,
            },
        );
    }
    for (frontend, plan) in &plans {
        let Some(id) = service_ids.ids.get(frontend).map(|id| ServiceId(*id)) else {
            continue;
        };
        let members: Vec<(BackendId, BackendAddr)> = frontend_backends
            .get(frontend)
            .into_iter()
            .flatten()
            .filter_map(|a| Some((BackendId(*backend_ids.ids.get(a)?), *a)))
            .collect();
        if !members.is_empty() {
            contents
                .maglev
                .insert(id, maglev::populate(&members, inputs.maglev_size));
        }
        contents.frontends.insert(
            *frontend,
            ServiceEntry {
                id,
                policy: plan.service.policy,
                backend_count: u32::try_from(members.len()).unwrap_or(u32::MAX),
            },
        );
    }
    Desired {
        contents,
        conflicts,
        frontends_over_limit: service_ids.unassigned,
        backends_over_limit: backend_ids.unassigned,
    }
}

#[cfg(test)]
#[path = "desired_tests.rs"]
mod tests;
