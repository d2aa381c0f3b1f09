//! Per-program and per-service counters (per-CPU arrays; userspace sums the CPUs).

use core::mem::size_of;

use crate::FERRULE_DROP_REASONS;

/// Value of `prog_counters` and `lb_service_counters`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FerruleCounters {
    pub packets: u64,
    pub bytes: u64,
    /// Indexed by [`DropReason`].
    pub drops: [u64; FERRULE_DROP_REASONS],
}
const _: () = assert!(size_of::<FerruleCounters>() == 144);

impl FerruleCounters {
    pub fn drops_for(&self, reason: DropReason) -> u64 {
        self.drops[reason as usize]
    }

    /// Sums the per-CPU values the kernel returns for one index.
    pub fn sum<'a>(per_cpu: impl IntoIterator<Item = &'a FerruleCounters>) -> FerruleCounters {
        per_cpu
            .into_iter()
            .fold(FerruleCounters::default(), |mut acc, c| {
                acc.packets += c.packets;
                acc.bytes += c.bytes;
                for (a, d) in acc.drops.iter_mut().zip(c.drops.iter()) {
                    *a += d;
                }
                acc
            })
    }
}

/// `enum ferrule_drop_reason`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    Malformed = crate::FERRULE_DROP_MALFORMED,
    NoBackend = crate::FERRULE_DROP_NO_BACKEND,
    NoLocalBackend = crate::FERRULE_DROP_NO_LOCAL_BACKEND,
    NoIfMac = crate::FERRULE_DROP_NO_IFMAC,
    CtFull = crate::FERRULE_DROP_CT_FULL,
    Fragment = crate::FERRULE_DROP_FRAGMENT,
    NoNodeAddr = crate::FERRULE_DROP_NO_NODE_ADDR,
    SnatPorts = crate::FERRULE_DROP_SNAT_PORTS,
    NoRoute = crate::FERRULE_DROP_NO_ROUTE,
    TtlExceeded = crate::FERRULE_DROP_TTL_EXCEEDED,
}

impl DropReason {
    /// Every reason, in index order.
    pub const ALL: [DropReason; 10] = [
        Self::Malformed,
        Self::NoBackend,
        Self::NoLocalBackend,
        Self::NoIfMac,
        Self::CtFull,
        Self::Fragment,
        Self::NoNodeAddr,
        Self::SnatPorts,
        Self::NoRoute,
        Self::TtlExceeded,
    ];

    /// Fixed label for metrics.
    pub fn label(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::NoBackend => "no_backend",
            Self::NoLocalBackend => "no_local_backend",
            Self::NoIfMac => "no_interface_mac",
            Self::CtFull => "conntrack_full",
            Self::Fragment => "fragment",
            Self::NoNodeAddr => "no_node_address",
            Self::SnatPorts => "snat_ports_exhausted",
            Self::NoRoute => "no_route",
            Self::TtlExceeded => "ttl_exceeded",
        }
    }
}

impl Program {
    pub const ALL: [Program; 2] = [Self::L2Responder, Self::Lb];

    /// Fixed label for metrics and `state`.
    pub fn label(self) -> &'static str {
        match self {
            Self::L2Responder => "l2_responder",
            Self::Lb => "lb",
        }
    }
}

/// `enum ferrule_program`: index of `prog_counters`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Program {
    L2Responder = crate::FERRULE_PROG_L2_RESPONDER,
    Lb = crate::FERRULE_PROG_LB,
}
