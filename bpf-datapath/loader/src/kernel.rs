//! [`DatapathMaps`] over the kernel's BPF maps (aya), in the layouts of abi.h.
//!
//! Whoever loads the programs (or opens their pins under /sys/fs/bpf/ferrule) hands the maps
//! over as [`Map`]s; this type only reads and writes entries. Every write is a single-entry
//! update or delete; a service's whole Maglev row is one entry, so replacing it is atomic and
//! a new flow never hashes into a half-written table.

use std::collections::BTreeMap;
use std::path::Path;

use aya::maps::{HashMap, Map, MapData, PerCpuArray};
use ferrule_bpf_common::{
    FerruleCounters, L2ResponderKey, L2ResponderStats, LB_MAGLEV_M, LB_NODE_ADDR_V4,
    LB_NODE_ADDR_V6, LbBackend, LbFrontendKey, LbMaglevRow, LbNodeAddr, LbService, Program,
    map_names,
};

use crate::abi;
use crate::contents::{MapContents, MapOp};
use crate::error::{MapError, MapName};
use crate::maps::DatapathMaps;
use crate::model::{
    BackendId, Frontend, MaglevTable, ProgramCounters, ResponderCounters, ResponderKey,
    ServiceCounters, ServiceId,
};

/// The datapath's maps, typed.
pub struct KernelMaps {
    frontends: HashMap<MapData, LbFrontendKey, LbService>,
    backends: HashMap<MapData, u32, LbBackend>,
    maglev: HashMap<MapData, u32, LbMaglevRow>,
    responders: HashMap<MapData, L2ResponderKey, L2ResponderStats>,
    service_counters: PerCpuArray<MapData, FerruleCounters>,
}

impl std::fmt::Debug for KernelMaps {
    // aya's array types have no Debug; the map handles say nothing useful anyway.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelMaps").finish_non_exhaustive()
    }
}

/// The maps [`KernelMaps`] needs, as aya hands them out (`Ebpf::take_map`, or
/// `Map::from_map_data(MapData::from_pin(..))`).
#[derive(Debug)]
pub struct KernelMapSet {
    pub frontends: Map,
    pub backends: Map,
    pub maglev: Map,
    pub responders: Map,
    pub service_counters: Map,
}

fn read_err(map: MapName) -> impl Fn(aya::maps::MapError) -> MapError {
    move |e| MapError::Read {
        map,
        reason: e.to_string(),
    }
}

fn write_err(map: MapName) -> impl Fn(aya::maps::MapError) -> MapError {
    move |e| MapError::Write {
        map,
        reason: e.to_string(),
    }
}

fn decode_err(map: MapName) -> impl Fn(abi::AbiError) -> MapError {
    move |e| MapError::Read {
        map,
        reason: e.to_string(),
    }
}

impl KernelMaps {
    /// Checks each map's type and key/value sizes against the ABI.
    pub fn new(set: KernelMapSet) -> Result<Self, MapError> {
        Ok(Self {
            frontends: HashMap::try_from(set.frontends).map_err(read_err(MapName::Frontends))?,
            backends: HashMap::try_from(set.backends).map_err(read_err(MapName::Backends))?,
            maglev: HashMap::try_from(set.maglev).map_err(read_err(MapName::Maglev))?,
            responders: HashMap::try_from(set.responders).map_err(read_err(MapName::Responders))?,
            service_counters: PerCpuArray::try_from(set.service_counters)
                .map_err(read_err(MapName::Counters))?,
        })
    }

    /// Opens the maps pinned in `dir` under their C names (an agent restart adopts these).
    pub fn open_pinned(dir: &Path) -> Result<Self, MapError> {
        let open = |name: &str, map: MapName| {
            let path = dir.join(name);
            MapData::from_pin(&path)
                .and_then(Map::from_map_data)
                .map_err(|e| MapError::Read {
                    map,
                    reason: format!("opening the pin {}: {e}", path.display()),
                })
        };
        Self::new(KernelMapSet {
            frontends: open(map_names::LB_FRONTENDS, MapName::Frontends)?,
            backends: open(map_names::LB_BACKENDS, MapName::Backends)?,
            maglev: open(map_names::LB_MAGLEV, MapName::Maglev)?,
            responders: open(map_names::L2_RESPONDER, MapName::Responders)?,
            service_counters: open(map_names::LB_SERVICE_COUNTERS, MapName::Counters)?,
        })
    }
}

impl KernelMaps {
    /// Every frontend with its counters, without reading Maglev rows or backends: what a
    /// metrics scrape needs, at one lookup per service.
    pub fn frontend_counters(&self) -> Result<Vec<(Frontend, ServiceCounters)>, MapError> {
        let mut out = Vec::new();
        for e in self.frontends.iter() {
            let (k, v) = e.map_err(read_err(MapName::Frontends))?;
            let frontend = abi::frontend_from_key(&k).map_err(decode_err(MapName::Frontends))?;
            let per_cpu = self
                .service_counters
                .get(&v.id, 0)
                .map_err(read_err(MapName::Counters))?;
            out.push((frontend, abi::service_counters(per_cpu.iter())));
        }
        Ok(out)
    }
}

impl DatapathMaps for KernelMaps {
    fn read(&self) -> Result<MapContents, MapError> {
        let mut contents = MapContents::default();
        for entry in self.frontends.iter() {
            let (k, v) = entry.map_err(read_err(MapName::Frontends))?;
            let frontend = abi::frontend_from_key(&k).map_err(decode_err(MapName::Frontends))?;
            contents
                .frontends
                .insert(frontend, abi::service_from_value(&v));
        }
        for entry in self.backends.iter() {
            let (id, v) = entry.map_err(read_err(MapName::Backends))?;
            let backend = abi::backend_from_value(&v).map_err(decode_err(MapName::Backends))?;
            contents.backends.insert(BackendId(id), backend);
        }
        for entry in self.maglev.iter() {
            let (id, row) = entry.map_err(read_err(MapName::Maglev))?;
            contents.maglev.insert(
                ServiceId(id),
                MaglevTable(row.backends.iter().copied().map(BackendId).collect()),
            );
        }
        for key in self.responders.keys() {
            let key = key.map_err(read_err(MapName::Responders))?;
            contents
                .responders
                .insert(abi::responder_from_key(&key).map_err(decode_err(MapName::Responders))?);
        }
        Ok(contents)
    }

    fn apply(&mut self, op: MapOp) -> Result<(), MapError> {
        match op {
            MapOp::UpdateFrontend(k, v) => {
                let value = abi::service_value(&v).map_err(|e| MapError::Write {
                    map: MapName::Frontends,
                    reason: e.to_string(),
                })?;
                self.frontends
                    .insert(abi::frontend_key(&k), value, 0)
                    .map_err(write_err(MapName::Frontends))
            }
            MapOp::DeleteFrontend(k) => self
                .frontends
                .remove(&abi::frontend_key(&k))
                .map_err(write_err(MapName::Frontends)),
            MapOp::UpdateBackend(id, b) => self
                .backends
                .insert(id.0, abi::backend_value(&b), 0)
                .map_err(write_err(MapName::Backends)),
            MapOp::DeleteBackend(id) => self
                .backends
                .remove(&id.0)
                .map_err(write_err(MapName::Backends)),
            MapOp::UpdateMaglev(id, table) => {
                if table.0.len() != LB_MAGLEV_M as usize {
                    return Err(MapError::Write {
                        map: MapName::Maglev,
                        reason: format!(
                            "table of {} slots, the datapath's rows hold {LB_MAGLEV_M}",
                            table.0.len()
                        ),
                    });
                }
                let mut row = LbMaglevRow::default();
                for (slot, backend) in row.backends.iter_mut().zip(&table.0) {
                    *slot = backend.0;
                }
                self.maglev
                    .insert(id.0, row, 0)
                    .map_err(write_err(MapName::Maglev))
            }
            MapOp::DeleteMaglev(id) => self
                .maglev
                .remove(&id.0)
                .map_err(write_err(MapName::Maglev)),
            MapOp::UpdateResponder(k) => self
                .responders
                .insert(abi::responder_key(&k), L2ResponderStats::default(), 0)
                .map_err(write_err(MapName::Responders)),
            MapOp::DeleteResponder(k) => self
                .responders
                .remove(&abi::responder_key(&k))
                .map_err(write_err(MapName::Responders)),
        }
    }

    fn service_counters(&self) -> Result<BTreeMap<ServiceId, ServiceCounters>, MapError> {
        let mut out = BTreeMap::new();
        for e in self.frontends.iter() {
            let (_, v) = e.map_err(read_err(MapName::Frontends))?;
            let per_cpu = self
                .service_counters
                .get(&v.id, 0)
                .map_err(read_err(MapName::Counters))?;
            out.insert(ServiceId(v.id), abi::service_counters(per_cpu.iter()));
        }
        Ok(out)
    }

    fn responder_counters(&self) -> Result<BTreeMap<ResponderKey, ResponderCounters>, MapError> {
        let mut out = BTreeMap::new();
        for e in self.responders.iter() {
            let (k, v) = e.map_err(read_err(MapName::Responders))?;
            let key = abi::responder_from_key(&k).map_err(decode_err(MapName::Responders))?;
            out.insert(
                key,
                ResponderCounters {
                    responses: v.responses,
                },
            );
        }
        Ok(out)
    }
}

/// Each program's counters (`prog_counters`, summed over CPUs) from the maps pinned in `dir`:
/// packets and bytes handled, drops by reason. Separate from [`KernelMaps`] because only
/// reporting (`state`, metrics) needs them, never the reconcile.
pub fn program_counters(dir: &Path) -> Result<Vec<(Program, ProgramCounters)>, MapError> {
    let path = dir.join(map_names::PROG_COUNTERS);
    let map = MapData::from_pin(&path)
        .and_then(Map::from_map_data)
        .map_err(|e| MapError::Read {
            map: MapName::Counters,
            reason: format!("opening the pin {}: {e}", path.display()),
        })?;
    let counters: PerCpuArray<MapData, FerruleCounters> =
        PerCpuArray::try_from(map).map_err(read_err(MapName::Counters))?;
    Program::ALL
        .into_iter()
        .map(|program| {
            let per_cpu = counters
                .get(&(program as u32), 0)
                .map_err(read_err(MapName::Counters))?;
            Ok((program, abi::service_counters(per_cpu.iter())))
        })
        .collect()
}

/// Overwrites the node's SNAT source addresses (`lb_node_addrs`) in the maps pinned in `dir`.
/// A family given as None keeps its current entry: the node may simply have no address of
/// that family in its status.
pub fn write_node_addrs(
    dir: &Path,
    v4: Option<std::net::Ipv4Addr>,
    v6: Option<std::net::Ipv6Addr>,
) -> Result<(), MapError> {
    let path = dir.join(map_names::LB_NODE_ADDRS);
    let map = MapData::from_pin(&path)
        .and_then(Map::from_map_data)
        .map_err(|e| MapError::Write {
            map: MapName::NodeAddrs,
            reason: format!("opening the pin {}: {e}", path.display()),
        })?;
    let mut addrs: aya::maps::Array<MapData, LbNodeAddr> =
        aya::maps::Array::try_from(map).map_err(write_err(MapName::NodeAddrs))?;
    if let Some(v4) = v4 {
        let mut ip = [0u8; 16];
        ip[..4].copy_from_slice(&v4.octets());
        addrs
            .set(LB_NODE_ADDR_V4, LbNodeAddr { ip }, 0)
            .map_err(write_err(MapName::NodeAddrs))?;
    }
    if let Some(v6) = v6 {
        addrs
            .set(LB_NODE_ADDR_V6, LbNodeAddr { ip: v6.octets() }, 0)
            .map_err(write_err(MapName::NodeAddrs))?;
    }
    Ok(())
}
