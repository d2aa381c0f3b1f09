//! Numeric constants of abi.h (`#define`s and enum values), same names as in C.

/// `AF_INET`, the family tag of IPv4 keys.
pub const FERRULE_AF_INET: u8 = 2;
/// `AF_INET6`, the family tag of IPv6 keys.
pub const FERRULE_AF_INET6: u8 = 10;

pub const FERRULE_L2_RESPONDER_MAX_ENTRIES: u32 = 4096;
pub const FERRULE_L2_IFMAC_MAX_ENTRIES: u32 = 256;

/// `lb_service.flags`: externalTrafficPolicy Local.
pub const LB_SERVICE_F_ETP_LOCAL: u16 = 1 << 0;
/// `lb_backend.flags`: the backend runs on this node.
pub const LB_BACKEND_F_NODE_LOCAL: u8 = 1 << 0;
/// Slots of a service's `lb_maglev` row (prime).
pub const LB_MAGLEV_M: u32 = 1021;
pub const LB_MAX_SERVICES: u32 = 16384;
pub const LB_MAX_BACKENDS: u32 = 65536;
/// `lb_ct_value.flags`: entry translates the reply direction.
pub const LB_CT_F_REPLY: u8 = 1 << 0;
/// `lb_ct_value.flags`: source rewritten to the node IP.
pub const LB_CT_F_SNAT: u8 = 1 << 1;
/// `lb_node_addrs` index of the node's IPv4 address.
pub const LB_NODE_ADDR_V4: u32 = 0;
/// `lb_node_addrs` index of the node's IPv6 address.
pub const LB_NODE_ADDR_V6: u32 = 1;
pub const LB_NODE_ADDR_MAX: u32 = 2;
pub const LB_SNAT_PORT_TRIES: u32 = 4;
pub const LB_SNAT_PORT_MIN: u32 = 32768;
pub const LB_SNAT_PORT_RANGE: u32 = 28232;
pub const LB_CONNTRACK_MAX_ENTRIES: u32 = 262_144;
pub const LB_FRAGS_MAX_ENTRIES: u32 = 8192;

pub const FERRULE_DROP_MALFORMED: u32 = 0;
pub const FERRULE_DROP_NO_BACKEND: u32 = 1;
pub const FERRULE_DROP_NO_LOCAL_BACKEND: u32 = 2;
pub const FERRULE_DROP_NO_IFMAC: u32 = 3;
pub const FERRULE_DROP_CT_FULL: u32 = 4;
pub const FERRULE_DROP_FRAGMENT: u32 = 5;
pub const FERRULE_DROP_NO_NODE_ADDR: u32 = 6;
pub const FERRULE_DROP_SNAT_PORTS: u32 = 7;
pub const FERRULE_DROP_NO_ROUTE: u32 = 8;
pub const FERRULE_DROP_TTL_EXCEEDED: u32 = 9;
/// Length of `ferrule_counters.drops`.
pub const FERRULE_DROP_REASONS: usize = 16;

pub const FERRULE_PROG_L2_RESPONDER: u32 = 0;
pub const FERRULE_PROG_LB: u32 = 1;
/// Entries of the `prog_counters` array.
pub const FERRULE_PROG_MAX: u32 = 4;

/// Map names as the C programs declare them; the loader opens maps by these names.
pub mod map_names {
    pub const L2_RESPONDER: &str = "l2_responder";
    pub const L2_IFMAC: &str = "l2_ifmac";
    pub const PROG_COUNTERS: &str = "prog_counters";
    pub const LB_FRONTENDS: &str = "lb_frontends";
    pub const LB_BACKENDS: &str = "lb_backends";
    pub const LB_MAGLEV: &str = "lb_maglev";
    pub const LB_CONNTRACK: &str = "lb_conntrack";
    pub const LB_SERVICE_COUNTERS: &str = "lb_service_counters";
    pub const LB_NODE_ADDRS: &str = "lb_node_addrs";
    pub const LB_FRAGS: &str = "lb_frags";
}

/// Every constant above with its C name, for the ABI test. Values widened to u64.
pub const ABI_CONSTANTS: &[(&str, u64)] = &[
    ("FERRULE_AF_INET", FERRULE_AF_INET as u64),
    ("FERRULE_AF_INET6", FERRULE_AF_INET6 as u64),
    (
        "FERRULE_L2_RESPONDER_MAX_ENTRIES",
        FERRULE_L2_RESPONDER_MAX_ENTRIES as u64,
    ),
    (
        "FERRULE_L2_IFMAC_MAX_ENTRIES",
        FERRULE_L2_IFMAC_MAX_ENTRIES as u64,
    ),
    ("LB_SERVICE_F_ETP_LOCAL", LB_SERVICE_F_ETP_LOCAL as u64),
    ("LB_BACKEND_F_NODE_LOCAL", LB_BACKEND_F_NODE_LOCAL as u64),
    ("LB_MAGLEV_M", LB_MAGLEV_M as u64),
    ("LB_MAX_SERVICES", LB_MAX_SERVICES as u64),
    ("LB_MAX_BACKENDS", LB_MAX_BACKENDS as u64),
    ("LB_CT_F_REPLY", LB_CT_F_REPLY as u64),
    ("LB_CT_F_SNAT", LB_CT_F_SNAT as u64),
    ("LB_NODE_ADDR_V4", LB_NODE_ADDR_V4 as u64),
    ("LB_NODE_ADDR_V6", LB_NODE_ADDR_V6 as u64),
    ("LB_NODE_ADDR_MAX", LB_NODE_ADDR_MAX as u64),
    ("LB_SNAT_PORT_TRIES", LB_SNAT_PORT_TRIES as u64),
    ("LB_SNAT_PORT_MIN", LB_SNAT_PORT_MIN as u64),
    ("LB_SNAT_PORT_RANGE", LB_SNAT_PORT_RANGE as u64),
    ("LB_CONNTRACK_MAX_ENTRIES", LB_CONNTRACK_MAX_ENTRIES as u64),
    ("LB_FRAGS_MAX_ENTRIES", LB_FRAGS_MAX_ENTRIES as u64),
    ("FERRULE_DROP_MALFORMED", FERRULE_DROP_MALFORMED as u64),
    ("FERRULE_DROP_NO_BACKEND", FERRULE_DROP_NO_BACKEND as u64),
    (
        "FERRULE_DROP_NO_LOCAL_BACKEND",
        FERRULE_DROP_NO_LOCAL_BACKEND as u64,
    ),
    ("FERRULE_DROP_NO_IFMAC", FERRULE_DROP_NO_IFMAC as u64),
    ("FERRULE_DROP_CT_FULL", FERRULE_DROP_CT_FULL as u64),
    ("FERRULE_DROP_FRAGMENT", FERRULE_DROP_FRAGMENT as u64),
    (
        "FERRULE_DROP_NO_NODE_ADDR",
        FERRULE_DROP_NO_NODE_ADDR as u64,
    ),
    ("FERRULE_DROP_SNAT_PORTS", FERRULE_DROP_SNAT_PORTS as u64),
    ("FERRULE_DROP_NO_ROUTE", FERRULE_DROP_NO_ROUTE as u64),
    (
        "FERRULE_DROP_TTL_EXCEEDED",
        FERRULE_DROP_TTL_EXCEEDED as u64,
    ),
    ("FERRULE_DROP_REASONS", FERRULE_DROP_REASONS as u64),
    (
        "FERRULE_PROG_L2_RESPONDER",
        FERRULE_PROG_L2_RESPONDER as u64,
    ),
    ("FERRULE_PROG_LB", FERRULE_PROG_LB as u64),
    ("FERRULE_PROG_MAX", FERRULE_PROG_MAX as u64),
];
