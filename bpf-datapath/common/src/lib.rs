//! `#[repr(C)]` mirrors of `bpf-datapath/bpf/include/abi.h`, the contract between the C eBPF
//! programs and the loader.
//!
//! abi.h is the single source of truth. Every struct here has a compile-time size assertion,
//! and `tests/abi_matches_c.rs` parses abi.h's `FERRULE_ABI_SIZE` and `FERRULE_ABI_OFFSET` lines, `#define`s and enum
//! values and checks them against [`ABI_SIZES`], [`ABI_OFFSETS`] and [`ABI_CONSTANTS`], so a change on one side
//! without the other fails the build's tests.
//!
//! Fields documented "network order" hold big-endian values (`u16::to_be`); everything else is
//! host order. IP addresses are 16 bytes: IPv4 in the first 4 bytes, zeros after.
#![no_std]

mod constants;
mod counters;
mod l2;
mod lb;
#[cfg(feature = "aya")]
mod pod;

pub use constants::*;
pub use counters::{DropReason, FerruleCounters, Program};
pub use l2::{L2IfMac, L2ResponderKey, L2ResponderStats};
pub use lb::{
    LbBackend, LbCtKey, LbCtValue, LbFragKey, LbFragValue, LbFrontendKey, LbMaglevRow, LbNodeAddr,
    LbService,
};

use core::mem::{offset_of, size_of};

/// C struct name (without `struct`) and the size of its Rust mirror, for the ABI test.
pub const ABI_SIZES: &[(&str, usize)] = &[
    ("l2_responder_key", size_of::<L2ResponderKey>()),
    ("l2_responder_stats", size_of::<L2ResponderStats>()),
    ("l2_ifmac", size_of::<L2IfMac>()),
    ("lb_frontend_key", size_of::<LbFrontendKey>()),
    ("lb_service", size_of::<LbService>()),
    ("lb_backend", size_of::<LbBackend>()),
    ("lb_maglev_row", size_of::<LbMaglevRow>()),
    ("lb_ct_key", size_of::<LbCtKey>()),
    ("lb_ct_value", size_of::<LbCtValue>()),
    ("ferrule_counters", size_of::<FerruleCounters>()),
    ("lb_node_addr", size_of::<LbNodeAddr>()),
    ("lb_frag_key", size_of::<LbFragKey>()),
    ("lb_frag_value", size_of::<LbFragValue>()),
];

/// C struct name, field name and the field's offset in the Rust mirror, for the ABI test.
pub const ABI_OFFSETS: &[(&str, &str, usize)] = &[
    (
        "l2_responder_key",
        "ifindex",
        offset_of!(L2ResponderKey, ifindex),
    ),
    (
        "l2_responder_key",
        "family",
        offset_of!(L2ResponderKey, family),
    ),
    ("l2_responder_key", "pad", offset_of!(L2ResponderKey, pad)),
    ("l2_responder_key", "ip", offset_of!(L2ResponderKey, ip)),
    (
        "l2_responder_stats",
        "responses",
        offset_of!(L2ResponderStats, responses),
    ),
    ("l2_ifmac", "mac", offset_of!(L2IfMac, mac)),
    ("l2_ifmac", "pad", offset_of!(L2IfMac, pad)),
    ("lb_frontend_key", "ip", offset_of!(LbFrontendKey, ip)),
    ("lb_frontend_key", "port", offset_of!(LbFrontendKey, port)),
    ("lb_frontend_key", "proto", offset_of!(LbFrontendKey, proto)),
    (
        "lb_frontend_key",
        "family",
        offset_of!(LbFrontendKey, family),
    ),
    ("lb_service", "id", offset_of!(LbService, id)),
    (
        "lb_service",
        "backend_count",
        offset_of!(LbService, backend_count),
    ),
    ("lb_service", "flags", offset_of!(LbService, flags)),
    ("lb_backend", "ip", offset_of!(LbBackend, ip)),
    ("lb_backend", "port", offset_of!(LbBackend, port)),
    ("lb_backend", "family", offset_of!(LbBackend, family)),
    ("lb_backend", "flags", offset_of!(LbBackend, flags)),
    (
        "lb_maglev_row",
        "backends",
        offset_of!(LbMaglevRow, backends),
    ),
    ("lb_ct_key", "saddr", offset_of!(LbCtKey, saddr)),
    ("lb_ct_key", "daddr", offset_of!(LbCtKey, daddr)),
    ("lb_ct_key", "sport", offset_of!(LbCtKey, sport)),
    ("lb_ct_key", "dport", offset_of!(LbCtKey, dport)),
    ("lb_ct_key", "proto", offset_of!(LbCtKey, proto)),
    ("lb_ct_key", "family", offset_of!(LbCtKey, family)),
    ("lb_ct_key", "pad", offset_of!(LbCtKey, pad)),
    ("lb_ct_value", "nat_ip", offset_of!(LbCtValue, nat_ip)),
    ("lb_ct_value", "nat_port", offset_of!(LbCtValue, nat_port)),
    ("lb_ct_value", "family", offset_of!(LbCtValue, family)),
    ("lb_ct_value", "flags", offset_of!(LbCtValue, flags)),
    (
        "lb_ct_value",
        "backend_id",
        offset_of!(LbCtValue, backend_id),
    ),
    (
        "lb_ct_value",
        "service_id",
        offset_of!(LbCtValue, service_id),
    ),
    ("lb_ct_value", "snat_port", offset_of!(LbCtValue, snat_port)),
    ("lb_ct_value", "pad", offset_of!(LbCtValue, pad)),
    (
        "lb_ct_value",
        "last_seen_ns",
        offset_of!(LbCtValue, last_seen_ns),
    ),
    ("lb_ct_value", "snat_ip", offset_of!(LbCtValue, snat_ip)),
    ("lb_node_addr", "ip", offset_of!(LbNodeAddr, ip)),
    ("lb_frag_key", "saddr", offset_of!(LbFragKey, saddr)),
    ("lb_frag_key", "daddr", offset_of!(LbFragKey, daddr)),
    ("lb_frag_key", "id", offset_of!(LbFragKey, id)),
    ("lb_frag_key", "proto", offset_of!(LbFragKey, proto)),
    ("lb_frag_key", "family", offset_of!(LbFragKey, family)),
    ("lb_frag_key", "pad", offset_of!(LbFragKey, pad)),
    ("lb_frag_value", "sport", offset_of!(LbFragValue, sport)),
    ("lb_frag_value", "dport", offset_of!(LbFragValue, dport)),
    ("lb_frag_value", "proto", offset_of!(LbFragValue, proto)),
    ("lb_frag_value", "pad", offset_of!(LbFragValue, pad)),
    (
        "ferrule_counters",
        "packets",
        offset_of!(FerruleCounters, packets),
    ),
    (
        "ferrule_counters",
        "bytes",
        offset_of!(FerruleCounters, bytes),
    ),
    (
        "ferrule_counters",
        "drops",
        offset_of!(FerruleCounters, drops),
    ),
];

/// Stores `ip` in the 16-byte ABI form: IPv4 in the first 4 bytes, zeros after.
pub fn ipv4_bytes(ip: [u8; 4]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..4].copy_from_slice(&ip);
    out
}
