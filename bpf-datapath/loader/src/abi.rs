//! Conversions between the domain model and the `#[repr(C)]` map types of abi.h
//! (`ferrule-bpf-common`). Both directions, because the maps are read back on every start
//! (adoption): whatever is written must read back as exactly the value that was written, or the
//! next reconcile would rewrite it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ferrule_bpf_common::{
    FERRULE_AF_INET, FERRULE_AF_INET6, FerruleCounters, L2ResponderKey, LB_BACKEND_F_NODE_LOCAL,
    LB_SERVICE_F_ETP_LOCAL, LbBackend, LbFrontendKey, LbService,
};

use crate::model::{
    Backend, BackendAddr, DropCounts, Frontend, Protocol, ResponderKey, ServiceCounters,
    ServiceEntry, ServiceId, TrafficPolicy,
};

const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;

/// A map entry that does not decode: written by something else, or by a newer ABI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AbiError {
    #[error("unknown address family {0}")]
    Family(u8),
    #[error("unknown IP protocol {0}")]
    Protocol(u8),
    #[error("{0} backends do not fit the 16-bit backend count")]
    BackendCount(u32),
}

fn ip_bytes(addr: IpAddr) -> (u8, [u8; 16]) {
    match addr {
        IpAddr::V4(a) => {
            let mut out = [0u8; 16];
            out[..4].copy_from_slice(&a.octets());
            (FERRULE_AF_INET, out)
        }
        IpAddr::V6(a) => (FERRULE_AF_INET6, a.octets()),
    }
}

fn ip_from(family: u8, bytes: [u8; 16]) -> Result<IpAddr, AbiError> {
    match family {
        FERRULE_AF_INET => Ok(IpAddr::V4(Ipv4Addr::new(
            bytes[0], bytes[1], bytes[2], bytes[3],
        ))),
        FERRULE_AF_INET6 => Ok(IpAddr::V6(Ipv6Addr::from(bytes))),
        other => Err(AbiError::Family(other)),
    }
}

pub fn frontend_key(f: &Frontend) -> LbFrontendKey {
    let (family, ip) = ip_bytes(f.addr);
    LbFrontendKey {
        ip,
        port: f.port.to_be(),
        proto: match f.protocol {
            Protocol::Tcp => IPPROTO_TCP,
            Protocol::Udp => IPPROTO_UDP,
        },
        family,
    }
}

pub fn frontend_from_key(k: &LbFrontendKey) -> Result<Frontend, AbiError> {
    Ok(Frontend {
        addr: ip_from(k.family, k.ip)?,
        port: u16::from_be(k.port),
        protocol: match k.proto {
            IPPROTO_TCP => Protocol::Tcp,
            IPPROTO_UDP => Protocol::Udp,
            other => return Err(AbiError::Protocol(other)),
        },
    })
}

pub fn service_value(e: &ServiceEntry) -> Result<LbService, AbiError> {
    Ok(LbService {
        id: e.id.0,
        backend_count: u16::try_from(e.backend_count)
            .map_err(|_| AbiError::BackendCount(e.backend_count))?,
        flags: match e.policy {
            TrafficPolicy::Local => LB_SERVICE_F_ETP_LOCAL,
            TrafficPolicy::Cluster => 0,
        },
    })
}

pub fn service_from_value(v: &LbService) -> ServiceEntry {
    ServiceEntry {
        id: ServiceId(v.id),
        policy: if v.flags & LB_SERVICE_F_ETP_LOCAL != 0 {
            TrafficPolicy::Local
        } else {
            TrafficPolicy::Cluster
        },
        backend_count: u32::from(v.backend_count),
    }
}

pub fn backend_value(b: &Backend) -> LbBackend {
    let (family, ip) = ip_bytes(b.addr.addr);
    LbBackend {
        ip,
        port: b.addr.port.to_be(),
        family,
        flags: if b.remote { 0 } else { LB_BACKEND_F_NODE_LOCAL },
    }
}

pub fn backend_from_value(v: &LbBackend) -> Result<Backend, AbiError> {
    Ok(Backend {
        addr: BackendAddr {
            addr: ip_from(v.family, v.ip)?,
            port: u16::from_be(v.port),
        },
        remote: v.flags & LB_BACKEND_F_NODE_LOCAL == 0,
    })
}

pub fn responder_key(k: &ResponderKey) -> L2ResponderKey {
    let (family, ip) = ip_bytes(k.addr);
    L2ResponderKey {
        ifindex: k.ifindex,
        family,
        pad: [0; 3],
        ip,
    }
}

pub fn responder_from_key(k: &L2ResponderKey) -> Result<ResponderKey, AbiError> {
    Ok(ResponderKey {
        ifindex: k.ifindex,
        addr: ip_from(k.family, k.ip)?,
    })
}

/// Sums a service's (or program's) per-CPU counters.
pub fn service_counters<'a>(
    per_cpu: impl IntoIterator<Item = &'a FerruleCounters>,
) -> ServiceCounters {
    let total = FerruleCounters::sum(per_cpu);
    ServiceCounters {
        packets: total.packets,
        bytes: total.bytes,
        drops: DropCounts(total.drops),
    }
}

#[cfg(test)]
#[path = "abi_tests.rs"]
mod tests;
