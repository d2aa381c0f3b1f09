//! `aya::Pod` for every ABI type, so the loader can use them as typed map keys and values.
#![allow(
    unsafe_code,
    reason = "aya::Pod is an unsafe marker trait; sound here because every type is #[repr(C)], \
              made only of integers and byte arrays with explicit padding (no implicit padding \
              bytes, asserted by size), so any bit pattern is valid"
)]

use crate::{
    FerruleCounters, L2IfMac, L2ResponderKey, L2ResponderStats, LbBackend, LbCtKey, LbCtValue,
    LbFrontendKey, LbMaglevRow, LbNodeAddr, LbService,
};

// SAFETY: see the module attribute: plain old data, no padding, every bit pattern valid.
unsafe impl aya::Pod for L2ResponderKey {}
// SAFETY: as above.
unsafe impl aya::Pod for L2ResponderStats {}
// SAFETY: as above.
unsafe impl aya::Pod for L2IfMac {}
// SAFETY: as above.
unsafe impl aya::Pod for LbFrontendKey {}
// SAFETY: as above.
unsafe impl aya::Pod for LbService {}
// SAFETY: as above.
unsafe impl aya::Pod for LbBackend {}
// SAFETY: as above.
unsafe impl aya::Pod for LbCtKey {}
// SAFETY: as above.
unsafe impl aya::Pod for LbCtValue {}
// SAFETY: as above.
unsafe impl aya::Pod for FerruleCounters {}
// SAFETY: as above.
unsafe impl aya::Pod for LbNodeAddr {}
// SAFETY: as above.
unsafe impl aya::Pod for LbMaglevRow {}
