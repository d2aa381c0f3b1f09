//! The documentation addresses the load-balancer tests share: one VIP, node, client and remote
//! backend per family, so a reader sees the same topology in every test file.

use super::ip::Ip;

const fn v6(last: [u8; 2]) -> Ip {
    Ip::V6([
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last[0], last[1],
    ])
}

pub const VIP4: Ip = Ip::V4([203, 0, 113, 10]);
pub const NODE4: Ip = Ip::V4([192, 0, 2, 1]);
pub const CLIENT4: Ip = Ip::V4([198, 51, 100, 1]);
/// A backend on another node (eTP Cluster SNAT).
pub const REMOTE4: Ip = Ip::V4([192, 0, 2, 31]);
pub const VIP6: Ip = v6([0x10, 0x0a]);
pub const NODE6: Ip = v6([0x00, 0x01]);
pub const CLIENT6: Ip = v6([0x20, 0x01]);
pub const REMOTE6: Ip = v6([0x30, 0x31]);
