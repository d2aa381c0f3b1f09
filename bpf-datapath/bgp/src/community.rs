//! BGP communities (RFC 1997, with the well-known names) and large communities (RFC 8092).

use std::fmt;
use std::str::FromStr;

/// A standard community: 32 bits, written `asn:value` or by a well-known name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Community(pub u32);

impl Community {
    /// RFC 1997 NO_EXPORT.
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    /// RFC 1997 NO_ADVERTISE.
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);
    /// RFC 1997 NO_EXPORT_SUBCONFED.
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xFFFF_FF03);
    /// RFC 3765 NOPEER.
    pub const NO_PEER: Community = Community(0xFFFF_FF04);
    /// RFC 7999 BLACKHOLE.
    pub const BLACKHOLE: Community = Community(0xFFFF_029A);
    /// RFC 8326 GRACEFUL_SHUTDOWN.
    pub const GRACEFUL_SHUTDOWN: Community = Community(0xFFFF_0000);

    const NAMES: [(&'static str, Community); 7] = [
        ("no-export", Community::NO_EXPORT),
        ("no-advertise", Community::NO_ADVERTISE),
        ("no-export-subconfed", Community::NO_EXPORT_SUBCONFED),
        ("local-as", Community::NO_EXPORT_SUBCONFED),
        ("no-peer", Community::NO_PEER),
        ("blackhole", Community::BLACKHOLE),
        ("graceful-shutdown", Community::GRACEFUL_SHUTDOWN),
    ];
}

/// Why a community could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid community {0:?}")]
pub struct CommunityError(pub String);

impl FromStr for Community {
    type Err = CommunityError;

    /// `asn:value` (each 0..=65535), a plain 32-bit number, or a well-known name
    /// (`no-export`, `no-advertise`, `no-export-subconfed`/`local-as`, `no-peer`, `blackhole`,
    /// `graceful-shutdown`; case-insensitive, `_` accepted for `-`).
    fn from_str(s: &str) -> Result<Community, CommunityError> {
        let err = || CommunityError(s.to_owned());
        let lower = s.trim().to_ascii_lowercase().replace('_', "-");
        if let Some((_, c)) = Community::NAMES.iter().find(|(n, _)| *n == lower) {
            return Ok(*c);
        }
        match lower.split_once(':') {
            Some((hi, lo)) => {
                let hi: u16 = hi.parse().map_err(|_| err())?;
                let lo: u16 = lo.parse().map_err(|_| err())?;
                Ok(Community((u32::from(hi) << 16) | u32::from(lo)))
            }
            None => lower.parse().map(Community).map_err(|_| err()),
        }
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.0 >> 16, self.0 & 0xFFFF)
    }
}

/// A large community (RFC 8092): `global:local1:local2`, three 32-bit numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LargeCommunity {
    /// The global administrator (an ASN).
    pub global: u32,
    /// First local data part.
    pub local1: u32,
    /// Second local data part.
    pub local2: u32,
}

impl FromStr for LargeCommunity {
    type Err = CommunityError;

    fn from_str(s: &str) -> Result<LargeCommunity, CommunityError> {
        let err = || CommunityError(s.to_owned());
        let mut parts = s
            .trim()
            .split(':')
            .map(|p| p.parse::<u32>().map_err(|_| err()));
        let c = LargeCommunity {
            global: parts.next().ok_or_else(err)??,
            local1: parts.next().ok_or_else(err)??,
            local2: parts.next().ok_or_else(err)??,
        };
        match parts.next() {
            None => Ok(c),
            Some(_) => Err(err()),
        }
    }
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_communities_parse_from_numbers_and_names() {
        assert_eq!("65000:100".parse(), Ok(Community(65000 << 16 | 100)));
        assert_eq!("No_Export".parse(), Ok(Community::NO_EXPORT));
        assert_eq!("no-advertise".parse(), Ok(Community::NO_ADVERTISE));
        assert_eq!("4294967041".parse(), Ok(Community::NO_EXPORT));
        assert!("65536:1".parse::<Community>().is_err());
        assert!("bogus".parse::<Community>().is_err());
        assert_eq!(Community(65000 << 16 | 100).to_string(), "65000:100");
    }

    #[test]
    fn large_communities_need_exactly_three_parts() {
        let c: LargeCommunity = "4200000000:1:2".parse().unwrap();
        assert_eq!((c.global, c.local1, c.local2), (4_200_000_000, 1, 2));
        assert_eq!(c.to_string(), "4200000000:1:2");
        assert!("1:2".parse::<LargeCommunity>().is_err());
        assert!("1:2:3:4".parse::<LargeCommunity>().is_err());
    }
}
