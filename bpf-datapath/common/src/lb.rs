//! Service load-balancer maps: frontends, services, backends, conntrack.

use core::mem::size_of;

/// Key of `lb_frontends`: a VIP, port and protocol.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LbFrontendKey {
    pub ip: [u8; 16],
    /// Network order.
    pub port: u16,
    /// `IPPROTO_TCP` (6) or `IPPROTO_UDP` (17).
    pub proto: u8,
    pub family: u8,
}
const _: () = assert!(size_of::<LbFrontendKey>() == 20);

/// Value of `lb_frontends`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LbService {
    /// Row of `lb_maglev` and index of `lb_service_counters`.
    pub id: u32,
    pub backend_count: u16,
    /// `LB_SERVICE_F_*`.
    pub flags: u16,
}
const _: () = assert!(size_of::<LbService>() == 8);

/// Value of `lb_maglev` (key: service id `u32`): the backend id of every slot, 0 = none.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LbMaglevRow {
    pub backends: [u32; crate::LB_MAGLEV_M as usize],
}
const _: () = assert!(size_of::<LbMaglevRow>() == 4084);

impl Default for LbMaglevRow {
    fn default() -> Self {
        Self {
            backends: [0; crate::LB_MAGLEV_M as usize],
        }
    }
}

/// Value of `lb_backends` (key: backend id `u32`, never 0).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LbBackend {
    pub ip: [u8; 16],
    /// Network order.
    pub port: u16,
    pub family: u8,
    /// `LB_BACKEND_F_*`.
    pub flags: u8,
}
const _: () = assert!(size_of::<LbBackend>() == 20);

/// Key of `lb_conntrack`: the flow as it arrives.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LbCtKey {
    pub saddr: [u8; 16],
    pub daddr: [u8; 16],
    /// Network order.
    pub sport: u16,
    /// Network order.
    pub dport: u16,
    pub proto: u8,
    pub family: u8,
    pub pad: [u8; 2],
}
const _: () = assert!(size_of::<LbCtKey>() == 40);

/// Value of `lb_conntrack`: how to rewrite the flow (see abi.h for what `nat` and `snat`
/// mean in each direction).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LbCtValue {
    pub nat_ip: [u8; 16],
    /// Network order.
    pub nat_port: u16,
    pub family: u8,
    /// `LB_CT_F_*`.
    pub flags: u8,
    pub backend_id: u32,
    pub service_id: u32,
    /// Network order; 0 without `LB_CT_F_SNAT`.
    pub snat_port: u16,
    pub pad: u16,
    pub last_seen_ns: u64,
    pub snat_ip: [u8; 16],
}
const _: () = assert!(size_of::<LbCtValue>() == 56);

/// Value of `lb_node_addrs` (key: `LB_NODE_ADDR_V4` / `LB_NODE_ADDR_V6`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LbNodeAddr {
    pub ip: [u8; 16],
}
const _: () = assert!(size_of::<LbNodeAddr>() == 16);

/// Key of `lb_frags`: one fragmented datagram.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LbFragKey {
    pub saddr: [u8; 16],
    pub daddr: [u8; 16],
    /// Host order: the IPv4 identification, or the IPv6 fragment header's.
    pub id: u32,
    /// IPv4 protocol; for IPv6 the fragment header's next header.
    pub proto: u8,
    pub family: u8,
    pub pad: [u8; 2],
}
const _: () = assert!(size_of::<LbFragKey>() == 40);

/// Value of `lb_frags`: the ports the first fragment carried.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LbFragValue {
    /// Network order.
    pub sport: u16,
    /// Network order.
    pub dport: u16,
    /// The L4 protocol (TCP or UDP).
    pub proto: u8,
    pub pad: [u8; 3],
}
const _: () = assert!(size_of::<LbFragValue>() == 8);
