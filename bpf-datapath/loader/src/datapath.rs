//! Loading both embedded programs with every map pinned (and reused) under one directory.
//!
//! Layout under the pin root (default /sys/fs/bpf/ferrule):
//! - `maps/<C map name>`: every map of both objects. A map already pinned there is *reused*
//!   rather than created (aya's per-map pin path opens an existing pin first), so an agent
//!   restart keeps conntrack and service state and established flows never notice.
//!   `prog_counters`, declared by both objects, is one shared map this way.
//! - `links/<program>-<ifname>`: the bpf_links attaching the programs (see [`crate::attach`]).

use std::path::PathBuf;

use aya::maps::{Array, HashMap};
use aya::programs::{SchedClassifier, Xdp};
use aya::{Ebpf, EbpfLoader};
use ferrule_bpf_common::{L2IfMac, LB_NODE_ADDR_V4, LB_NODE_ADDR_V6, LbNodeAddr, map_names};
use ferrule_bpf_programs::{L2_RESPONDER, L2_RESPONDER_PROGRAM, LB, LB_PROGRAM};

use crate::bpffs;
use crate::error::LoadError;
use crate::netif::Interface;
use crate::pin_compat::{self, ReplacedPin};

/// Default mount point of the BPF filesystem.
pub const BPFFS: &str = "/sys/fs/bpf";
/// Default pin root of the datapath.
pub const DEFAULT_PIN_DIR: &str = "/sys/fs/bpf/ferrule";

/// Maps of the l2_responder object, by C name.
pub const L2_MAPS: &[&str] = &[
    map_names::L2_RESPONDER,
    map_names::L2_IFMAC,
    map_names::PROG_COUNTERS,
];
/// Maps of the lb object, by C name.
pub const LB_MAPS: &[&str] = &[
    map_names::LB_FRONTENDS,
    map_names::LB_BACKENDS,
    map_names::LB_MAGLEV,
    map_names::LB_CONNTRACK,
    map_names::LB_NODE_ADDRS,
    map_names::LB_FRAGS,
    map_names::LB_SERVICE_COUNTERS,
    map_names::PROG_COUNTERS,
];

/// Where the pins live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinLayout {
    /// Mount point of the bpffs holding `root` (mounted if missing).
    pub bpffs: PathBuf,
    /// The datapath's directory on it.
    pub root: PathBuf,
}

impl Default for PinLayout {
    fn default() -> Self {
        Self::new(DEFAULT_PIN_DIR)
    }
}

impl PinLayout {
    /// A pin root on the bpffs mounted at /sys/fs/bpf.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            bpffs: PathBuf::from(BPFFS),
            root: root.into(),
        }
    }

    pub fn maps_dir(&self) -> PathBuf {
        self.root.join("maps")
    }

    pub fn links_dir(&self) -> PathBuf {
        self.root.join("links")
    }

    pub fn map(&self, name: &str) -> PathBuf {
        self.maps_dir().join(name)
    }
}

/// Both programs loaded (verified, in the kernel) with their maps pinned.
pub struct Datapath {
    pub(crate) l2: Ebpf,
    pub(crate) lb: Ebpf,
    pub(crate) pins: PinLayout,
    replaced_pins: Vec<ReplacedPin>,
}

impl std::fmt::Debug for Datapath {
    // aya's Ebpf has no Debug; the pin root is what identifies this datapath.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Datapath")
            .field("pins", &self.pins)
            .finish_non_exhaustive()
    }
}

fn load_err(object: &'static str) -> impl Fn(String) -> LoadError {
    move |reason| LoadError::Load { object, reason }
}

fn load_object(
    object: &'static str,
    bytes: &[u8],
    maps: &[&'static str],
    pins: &PinLayout,
) -> Result<Ebpf, LoadError> {
    let paths: Vec<(&'static str, PathBuf)> = maps.iter().map(|m| (*m, pins.map(m))).collect();
    let mut loader = EbpfLoader::new();
    for (name, path) in &paths {
        loader.map_pin_path(name, path.as_path());
    }
    let ebpf = loader
        .load(bytes)
        .map_err(|e| load_err(object)(e.to_string()))?;
    // A map this list forgot would be created fresh on every start and silently lose its
    // state on restart; refuse instead. Sections aya turns into maps (.rodata, .bss) are
    // per-load constants and need no pin.
    for (name, _) in ebpf.maps() {
        if !name.starts_with('.') && !maps.contains(&name) {
            return Err(load_err(object)(format!(
                "map {name} is not in the pin list; it would not survive a restart"
            )));
        }
    }
    Ok(ebpf)
}

/// Every pinned map's shape as the embedded objects declare it. A map both objects declare
/// (`prog_counters`) is one pinned map, so both declarations must agree.
fn declared_shapes() -> Result<std::collections::BTreeMap<String, pin_compat::MapShape>, LoadError>
{
    let mut shapes = pin_compat::declared_shapes("l2_responder", L2_RESPONDER, L2_MAPS)?;
    for (name, shape) in pin_compat::declared_shapes("lb", LB, LB_MAPS)? {
        match shapes.get(&name) {
            Some(other) if other != &shape => {
                return Err(load_err("lb")(format!(
                    "map {name} is shared with l2_responder but declared differently: {shape} vs {other}"
                )));
            }
            _ => {
                shapes.insert(name, shape);
            }
        }
    }
    Ok(shapes)
}

impl Datapath {
    /// Mounts bpffs if needed, creates the pin directories, replaces pinned maps whose shape
    /// the programs no longer match (see [`pin_compat`]), loads both objects reusing the other
    /// pinned maps, and loads (verifies) both programs.
    pub fn load(pins: &PinLayout) -> Result<Self, LoadError> {
        bpffs::ensure_mounted(&pins.bpffs)?;
        for dir in [pins.maps_dir(), pins.links_dir()] {
            std::fs::create_dir_all(&dir).map_err(|e| LoadError::Bpffs {
                path: dir.clone(),
                reason: format!("creating the pin directory: {e}"),
            })?;
        }
        let replaced_pins = pin_compat::replace_incompatible(pins, &declared_shapes()?)?;
        let mut l2 = load_object("l2_responder", L2_RESPONDER, L2_MAPS, pins)?;
        let mut lb = load_object("lb", LB, LB_MAPS, pins)?;
        let xdp: &mut Xdp = l2
            .program_mut(L2_RESPONDER_PROGRAM)
            .ok_or_else(|| load_err("l2_responder")(format!("no program {L2_RESPONDER_PROGRAM}")))?
            .try_into()
            .map_err(|e: aya::programs::ProgramError| load_err("l2_responder")(e.to_string()))?;
        xdp.load()
            .map_err(|e| load_err("l2_responder")(e.to_string()))?;
        let tc: &mut SchedClassifier = lb
            .program_mut(LB_PROGRAM)
            .ok_or_else(|| load_err("lb")(format!("no program {LB_PROGRAM}")))?
            .try_into()
            .map_err(|e: aya::programs::ProgramError| load_err("lb")(e.to_string()))?;
        tc.load().map_err(|e| load_err("lb")(e.to_string()))?;
        Ok(Self {
            l2,
            lb,
            pins: pins.clone(),
            replaced_pins,
        })
    }

    pub fn pins(&self) -> &PinLayout {
        &self.pins
    }

    /// Pinned maps this load found incompatible and created anew (normally none; after an
    /// upgrade that changed a map's layout, that map). The caller reports them.
    pub fn replaced_pins(&self) -> &[ReplacedPin] {
        &self.replaced_pins
    }

    /// Writes each interface's MAC into `l2_ifmac` (the responder answers with it) and, where
    /// `lb_node_addrs` has no address of a family yet, the first global address of that family
    /// among `interfaces` (the SNAT source for backends on other nodes). An address already
    /// there stays: the agent's Node watch replaces it with the Node's InternalIP, and a
    /// restart or device rescan must not undo that. Entries are overwritten in place, never
    /// cleared first, so there is never a window without them.
    pub fn write_interfaces(&mut self, interfaces: &[Interface]) -> Result<(), LoadError> {
        let map_err = |map: &'static str| {
            move |e: aya::maps::MapError| LoadError::Map {
                map,
                reason: e.to_string(),
            }
        };
        {
            let map = self
                .l2
                .map_mut(map_names::L2_IFMAC)
                .ok_or_else(|| LoadError::Map {
                    map: map_names::L2_IFMAC,
                    reason: "not in the object".into(),
                })?;
            let mut ifmac: HashMap<_, u32, L2IfMac> =
                HashMap::try_from(map).map_err(map_err(map_names::L2_IFMAC))?;
            for i in interfaces {
                ifmac
                    .insert(i.ifindex, L2IfMac::new(i.mac), 0)
                    .map_err(map_err(map_names::L2_IFMAC))?;
            }
        }
        let map = self
            .lb
            .map_mut(map_names::LB_NODE_ADDRS)
            .ok_or_else(|| LoadError::Map {
                map: map_names::LB_NODE_ADDRS,
                reason: "not in the object".into(),
            })?;
        let mut addrs: Array<_, LbNodeAddr> =
            Array::try_from(map).map_err(map_err(map_names::LB_NODE_ADDRS))?;
        let unset = |addrs: &Array<_, LbNodeAddr>, index| {
            addrs
                .get(&index, 0)
                .map(|a| a.ip == [0; 16])
                .unwrap_or(true)
        };
        let v4 = interfaces.iter().find_map(|i| i.ipv4);
        if let Some(v4) = v4.filter(|_| unset(&addrs, LB_NODE_ADDR_V4)) {
            let mut ip = [0u8; 16];
            ip[..4].copy_from_slice(&v4.octets());
            addrs
                .set(LB_NODE_ADDR_V4, LbNodeAddr { ip }, 0)
                .map_err(map_err(map_names::LB_NODE_ADDRS))?;
        }
        let v6 = interfaces.iter().find_map(|i| i.ipv6);
        if let Some(v6) = v6.filter(|_| unset(&addrs, LB_NODE_ADDR_V6)) {
            addrs
                .set(LB_NODE_ADDR_V6, LbNodeAddr { ip: v6.octets() }, 0)
                .map_err(map_err(map_names::LB_NODE_ADDRS))?;
        }
        Ok(())
    }
}
