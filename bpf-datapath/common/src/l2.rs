//! L2 responder maps: `l2_responder` and `l2_ifmac`.

use core::mem::size_of;

/// Key of `l2_responder`: an IP answered on one interface.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct L2ResponderKey {
    pub ifindex: u32,
    /// `FERRULE_AF_INET` or `FERRULE_AF_INET6`.
    pub family: u8,
    pub pad: [u8; 3],
    pub ip: [u8; 16],
}
const _: () = assert!(size_of::<L2ResponderKey>() == 24);

impl L2ResponderKey {
    pub fn ipv4(ifindex: u32, ip: [u8; 4]) -> Self {
        Self {
            ifindex,
            family: crate::FERRULE_AF_INET,
            pad: [0; 3],
            ip: crate::ipv4_bytes(ip),
        }
    }

    pub fn ipv6(ifindex: u32, ip: [u8; 16]) -> Self {
        Self {
            ifindex,
            family: crate::FERRULE_AF_INET6,
            pad: [0; 3],
            ip,
        }
    }
}

/// Value of `l2_responder`: replies sent for the entry.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct L2ResponderStats {
    pub responses: u64,
}
const _: () = assert!(size_of::<L2ResponderStats>() == 8);

/// Value of `l2_ifmac` (key: ifindex `u32`): the interface's MAC.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct L2IfMac {
    pub mac: [u8; 6],
    pub pad: [u8; 2],
}
const _: () = assert!(size_of::<L2IfMac>() == 8);

impl L2IfMac {
    pub fn new(mac: [u8; 6]) -> Self {
        Self { mac, pad: [0; 2] }
    }
}
