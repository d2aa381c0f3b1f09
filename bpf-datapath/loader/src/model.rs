//! What the datapath maps hold, in domain terms. Keys order totally (`Ord`) so dumps, diffs and
//! printed tables are stable.

use std::net::IpAddr;

use serde::Serialize;

/// Transport protocol of a frontend or backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Tcp => "TCP",
            Self::Udp => "UDP",
        })
    }
}

/// Address family; derived from the address so a key can never disagree with itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Self::V4,
            IpAddr::V6(_) => Self::V6,
        }
    }
}

/// Key of the frontends map: a VIP (LoadBalancer ingress IP or external IP) and service port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Frontend {
    pub addr: IpAddr,
    pub port: u16,
    pub protocol: Protocol,
}

impl Frontend {
    pub fn family(&self) -> Family {
        Family::of(self.addr)
    }
}

impl std::fmt::Display for Frontend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "{a}:{}/{}", self.port, self.protocol),
            IpAddr::V6(a) => write!(f, "[{a}]:{}/{}", self.port, self.protocol),
        }
    }
}

/// Identifier of one load-balanced service frontend; indexes the Maglev table and counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ServiceId(pub u32);

/// Identifier of one backend; what a Maglev table slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct BackendId(pub u32);

/// externalTrafficPolicy as the datapath needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum TrafficPolicy {
    /// Any ready backend; remote backends are reached with SNAT to the node IP.
    Cluster,
    /// Only this node's backends, client IP preserved; no local backend means a counted drop.
    Local,
}

/// Value of the frontends map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ServiceEntry {
    pub id: ServiceId,
    pub policy: TrafficPolicy,
    /// Number of backends in the Maglev table; 0 means "drop and count".
    pub backend_count: u32,
}

/// Address of a backend, the identity that survives restarts (ids are adopted from it). No
/// protocol: the datapath's backend entry has none (the frontend's applies), so one entry
/// serves `ip:port` over TCP and UDP alike and reads back exactly as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct BackendAddr {
    pub addr: IpAddr,
    pub port: u16,
}

impl std::fmt::Display for BackendAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

/// Value of the backends map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Backend {
    pub addr: BackendAddr,
    /// The backend runs on another node: traffic to it is SNATed to the node IP (eTP Cluster).
    pub remote: bool,
}

/// A service's Maglev lookup table: slot → backend. Its length is the table size M.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct MaglevTable(pub Vec<BackendId>);

/// Key of the L2 responder map: answer ARP / NS for `addr` on interface `ifindex`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ResponderKey {
    pub ifindex: u32,
    pub addr: IpAddr,
}

/// Per-service counters the datapath keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ServiceCounters {
    pub packets: u64,
    pub bytes: u64,
    pub drops: DropCounts,
}

/// Packets (or, for the L2 responder, replies) and drops of one program, over all services.
pub type ProgramCounters = ServiceCounters;

/// Drops by reason, indexed like `enum ferrule_drop_reason`; serialised as a map of the
/// reasons that occurred, by label (`{"no_backend": 3}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropCounts(pub [u64; ferrule_bpf_common::FERRULE_DROP_REASONS]);

impl DropCounts {
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    pub fn get(&self, reason: ferrule_bpf_common::DropReason) -> u64 {
        self.0[reason as usize]
    }

    /// The reasons with a nonzero count, with their labels.
    pub fn nonzero(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        ferrule_bpf_common::DropReason::ALL
            .into_iter()
            .map(|r| (r.label(), self.get(r)))
            .filter(|(_, n)| *n > 0)
    }
}

impl Serialize for DropCounts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.nonzero())
    }
}

/// Per-responder-entry counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ResponderCounters {
    pub responses: u64,
}
