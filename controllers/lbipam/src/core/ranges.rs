//! Address arithmetic: an IP is its family plus a `u128`, a block is an inclusive range, and
//! nothing is ever enumerated, so an IPv6 /64 costs as much as a /32.

use ferrule_api::lbipam::v2::PoolBlock;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 or IPv6. IPv4 orders first, like `IpAddr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub const ALL: [Family; 2] = [Family::V4, Family::V6];

    pub fn bits(self) -> u32 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }

    /// The spelling of `spec.ipFamilies`.
    pub fn name(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }

    /// Index into per-family arrays.
    pub fn index(self) -> usize {
        match self {
            Family::V4 => 0,
            Family::V6 => 1,
        }
    }
}

/// An address as family + number, so arithmetic and ordering are plain integer operations.
/// (A separate family keeps 192.0.2.1 and ::c000:201 apart.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ip {
    pub family: Family,
    pub bits: u128,
}

impl Ip {
    pub fn v4(bits: u32) -> Self {
        Self {
            family: Family::V4,
            bits: u128::from(bits),
        }
    }

    pub fn addr(self) -> IpAddr {
        match self.family {
            // An IPv4 `Ip` is only ever built from a u32, so the low 32 bits are the address.
            Family::V4 => IpAddr::V4(Ipv4Addr::from(self.bits as u32)),
            Family::V6 => IpAddr::V6(Ipv6Addr::from(self.bits)),
        }
    }
}

impl From<IpAddr> for Ip {
    fn from(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(v4) => Ip::v4(u32::from(v4)),
            IpAddr::V6(v6) => Ip {
                family: Family::V6,
                bits: u128::from(v6),
            },
        }
    }
}

impl fmt::Display for Ip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.addr().fmt(f)
    }
}

/// Parses one address the way Go's `netip.ParseAddr` does for our purposes (surrounding
/// whitespace is the caller's business).
pub fn parse_ip(text: &str) -> Option<Ip> {
    text.parse::<IpAddr>().ok().map(Ip::from)
}

/// An inclusive range of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IpRange {
    pub family: Family,
    pub first: u128,
    pub last: u128,
}

impl IpRange {
    pub fn contains(&self, ip: Ip) -> bool {
        ip.family == self.family && self.first <= ip.bits && ip.bits <= self.last
    }

    pub fn overlaps(&self, other: &IpRange) -> bool {
        self.family == other.family && self.first <= other.last && other.first <= self.last
    }

    /// Number of addresses (0 for an inverted range); saturates for `::/0`, whose 2^128
    /// addresses do not fit a u128.
    pub fn size(&self) -> u128 {
        match self.last.checked_sub(self.first) {
            Some(span) => span.saturating_add(1),
            None => 0,
        }
    }

    pub fn first_ip(&self) -> Ip {
        Ip {
            family: self.family,
            bits: self.first,
        }
    }

    pub fn last_ip(&self) -> Ip {
        Ip {
            family: self.family,
            bits: self.last,
        }
    }
}

/// Cilium's `ipNetStr`: `first - last`.
impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} - {}", self.first_ip(), self.last_ip())
    }
}

/// A parsed pool block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub range: IpRange,
    /// Written as `cidr` (allowFirstLastIPs applies) rather than start/stop.
    pub from_cidr: bool,
}

impl Block {
    /// The first and last address when `allowFirstLastIPs: No` reserves them: CIDR blocks
    /// of more than two addresses only (Cilium skips /32, /31, /128, /127 because reserving
    /// would leave nothing, and never touches start/stop ranges).
    pub fn reserved(&self, allow_first_last: bool) -> Option<(Ip, Ip)> {
        (!allow_first_last && self.from_cidr && self.range.size() > 2)
            .then(|| (self.range.first_ip(), self.range.last_ip()))
    }
}

/// Why a block cannot be used; the pool's `ferrule.io/InvalidSpec` condition quotes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("cidr {cidr:?} is not a valid CIDR ({why})")]
    BadCidr { cidr: String, why: &'static str },
    #[error("start {0:?} is not an IP address")]
    BadStart(String),
    #[error("stop {0:?} is not an IP address")]
    BadStop(String),
    #[error("start {start} and stop {stop} are of different IP families")]
    MixedFamilies { start: String, stop: String },
    #[error("start {start} is after stop {stop}")]
    StartAfterStop { start: String, stop: String },
    #[error("the block has neither cidr nor start")]
    Empty,
}

/// Parses a block like Cilium's `ipRangeFromBlock`: a non-empty `cidr` wins over start/stop,
/// host bits of a CIDR are masked off, and a missing `stop` means the single IP `start`.
pub fn parse_block(block: &PoolBlock) -> Result<Block, BlockError> {
    fn non_empty(s: &Option<String>) -> Option<&str> {
        s.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    if let Some(cidr) = non_empty(&block.cidr) {
        return parse_cidr(cidr).map(|range| Block {
            range,
            from_cidr: true,
        });
    }
    let Some(start_text) = non_empty(&block.start) else {
        return Err(BlockError::Empty);
    };
    let start = parse_ip(start_text).ok_or_else(|| BlockError::BadStart(start_text.into()))?;
    let stop = match non_empty(&block.stop) {
        None => start,
        Some(text) => parse_ip(text).ok_or_else(|| BlockError::BadStop(text.into()))?,
    };
    if start.family != stop.family {
        return Err(BlockError::MixedFamilies {
            start: start.to_string(),
            stop: stop.to_string(),
        });
    }
    if start.bits > stop.bits {
        return Err(BlockError::StartAfterStop {
            start: start.to_string(),
            stop: stop.to_string(),
        });
    }
    Ok(Block {
        range: IpRange {
            family: start.family,
            first: start.bits,
            last: stop.bits,
        },
        from_cidr: false,
    })
}

/// `a.b.c.d/n` or `x::y/n`, host bits masked (Cilium's `prefix.Masked()`).
pub fn parse_cidr(text: &str) -> Result<IpRange, BlockError> {
    let bad = |why| BlockError::BadCidr {
        cidr: text.into(),
        why,
    };
    let (addr, prefix) = text.split_once('/').ok_or_else(|| bad("missing /prefix"))?;
    let ip = parse_ip(addr).ok_or_else(|| bad("the address part is not an IP address"))?;
    // Only plain decimal digits: `u32::from_str` would also take "+8".
    if prefix.is_empty() || prefix.len() > 3 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("the prefix length is not a number"));
    }
    let len: u32 = prefix
        .parse()
        .map_err(|_| bad("the prefix length is not a number"))?;
    let bits = ip.family.bits();
    if len > bits {
        return Err(bad("the prefix length is longer than the address"));
    }
    let host = host_mask(bits - len);
    Ok(IpRange {
        family: ip.family,
        first: ip.bits & !host,
        last: (ip.bits & !host) | host,
    })
}

/// A mask of the lowest `host_bits` bits (all 128 for `::/0`, where a shift would overflow).
fn host_mask(host_bits: u32) -> u128 {
    if host_bits >= 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(cidr: Option<&str>, start: Option<&str>, stop: Option<&str>) -> PoolBlock {
        PoolBlock {
            cidr: cidr.map(Into::into),
            start: start.map(Into::into),
            stop: stop.map(Into::into),
        }
    }

    fn ip(text: &str) -> Ip {
        parse_ip(text).expect("a valid test address")
    }

    #[test]
    fn cidr_blocks_cover_the_whole_prefix_and_mask_host_bits() {
        let b = parse_block(&block(Some("192.0.2.77/24"), None, None)).expect("valid cidr");
        assert!(b.from_cidr);
        assert_eq!(b.range.first_ip(), ip("192.0.2.0"));
        assert_eq!(b.range.last_ip(), ip("192.0.2.255"));
        assert_eq!(b.range.size(), 256);
        assert_eq!(b.range.to_string(), "192.0.2.0 - 192.0.2.255");
    }

    #[test]
    fn a_v6_slash_64_is_just_two_numbers() {
        let r = parse_cidr("2001:db8:1:2::/64").expect("valid cidr");
        assert_eq!(r.size(), 1u128 << 64);
        assert!(r.contains(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")));
        assert!(!r.contains(ip("2001:db8:1:3::")));
        assert_eq!(parse_cidr("::/0").expect("valid").size(), u128::MAX);
        assert_eq!(parse_cidr("0.0.0.0/0").expect("valid").size(), 1u128 << 32);
    }

    #[test]
    fn start_stop_ranges_and_single_ips() {
        let r = parse_block(&block(None, Some("198.51.100.10"), Some("198.51.100.20")))
            .expect("valid range");
        assert!(!r.from_cidr);
        assert_eq!(r.range.size(), 11);
        let single = parse_block(&block(None, Some("2001:db8::5"), None)).expect("single ip");
        assert_eq!(single.range.size(), 1);
        // An empty cidr string is absent, as in Cilium.
        let empty_cidr = parse_block(&block(Some(""), Some("203.0.113.1"), Some("")))
            .expect("start wins over an empty cidr");
        assert_eq!(empty_cidr.range.size(), 1);
    }

    #[test]
    fn malformed_blocks_say_what_is_wrong() {
        let cases = [
            (block(Some("192.0.2.0"), None, None), "missing /prefix"),
            (
                block(Some("192.0.2.0/33"), None, None),
                "longer than the address",
            ),
            (block(Some("192.0.2.0/+8"), None, None), "not a number"),
            (block(Some("192.0.2/24"), None, None), "not an IP address"),
            (block(None, Some("garbage"), None), "start \"garbage\""),
            (block(None, Some("192.0.2.1"), Some("x")), "stop \"x\""),
            (
                block(None, Some("192.0.2.1"), Some("2001:db8::1")),
                "different IP families",
            ),
            (
                block(None, Some("192.0.2.9"), Some("192.0.2.1")),
                "is after stop",
            ),
            (
                block(None, None, Some("192.0.2.1")),
                "neither cidr nor start",
            ),
            (block(None, None, None), "neither cidr nor start"),
        ];
        for (b, expected) in cases {
            let err = parse_block(&b).expect_err("a malformed block is rejected");
            assert!(
                err.to_string().contains(expected),
                "{err} should say {expected:?}"
            );
        }
    }

    #[test]
    fn first_and_last_are_reserved_only_for_cidrs_larger_than_two() {
        let of = |cidr| parse_block(&block(Some(cidr), None, None)).expect("valid");
        assert_eq!(
            of("192.0.2.0/30").reserved(false),
            Some((ip("192.0.2.0"), ip("192.0.2.3")))
        );
        assert_eq!(of("192.0.2.0/30").reserved(true), None);
        for small in [
            "192.0.2.0/31",
            "192.0.2.0/32",
            "2001:db8::/127",
            "2001:db8::/128",
        ] {
            assert_eq!(of(small).reserved(false), None, "{small}");
        }
        let range =
            parse_block(&block(None, Some("192.0.2.0"), Some("192.0.2.255"))).expect("valid range");
        assert_eq!(range.reserved(false), None);
    }

    #[test]
    fn overlap_is_per_family() {
        let a = parse_cidr("192.0.2.0/25").expect("valid");
        let b = parse_cidr("192.0.2.64/26").expect("valid");
        let c = parse_cidr("192.0.2.128/25").expect("valid");
        let v6 = parse_cidr("::c000:200/120").expect("valid");
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c));
        assert!(!a.overlaps(&v6));
    }
}
