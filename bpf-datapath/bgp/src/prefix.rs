//! IP prefixes and the address families the speaker handles.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An address family (AFI/SAFI pair). The speaker handles unicast IPv4 and IPv6 only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// AFI 1, SAFI 1.
    Ipv4Unicast,
    /// AFI 2, SAFI 1.
    Ipv6Unicast,
}

impl Family {
    /// Both families, in AFI order.
    pub const ALL: [Family; 2] = [Family::Ipv4Unicast, Family::Ipv6Unicast];

    /// The family of an address.
    pub fn of(addr: IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Ipv4Unicast,
            IpAddr::V6(_) => Family::Ipv6Unicast,
        }
    }

    /// The (AFI, SAFI) numbers on the wire.
    pub fn afi_safi(self) -> (u16, u8) {
        match self {
            Family::Ipv4Unicast => (1, 1),
            Family::Ipv6Unicast => (2, 1),
        }
    }

    /// The family with these wire numbers, if it is one the speaker handles.
    pub fn from_afi_safi(afi: u16, safi: u8) -> Option<Family> {
        match (afi, safi) {
            (1, 1) => Some(Family::Ipv4Unicast),
            (2, 1) => Some(Family::Ipv6Unicast),
            _ => None,
        }
    }

    /// "ipv4" or "ipv6", as Cilium's status names the AFI.
    pub fn afi_name(self) -> &'static str {
        match self {
            Family::Ipv4Unicast => "ipv4",
            Family::Ipv6Unicast => "ipv6",
        }
    }

    /// "unicast", as Cilium's status names the SAFI.
    pub fn safi_name(self) -> &'static str {
        "unicast"
    }

    pub(crate) fn max_len(self) -> u8 {
        match self {
            Family::Ipv4Unicast => 32,
            Family::Ipv6Unicast => 128,
        }
    }
}

/// An IP prefix with its host bits cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

/// Why a prefix could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// The length is longer than the address.
    #[error("prefix length {0} is too long for the address family")]
    TooLong(u8),
    /// The text is not `address/length`.
    #[error("invalid prefix {0:?}: expected address/length")]
    Syntax(String),
}

impl Prefix {
    /// A prefix; host bits of `addr` are cleared.
    pub fn new(addr: IpAddr, len: u8) -> Result<Prefix, PrefixError> {
        let family = Family::of(addr);
        if len > family.max_len() {
            return Err(PrefixError::TooLong(len));
        }
        let addr = match addr {
            IpAddr::V4(a) => {
                let mask = if len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(len))
                };
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) => {
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(len))
                };
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
            }
        };
        Ok(Prefix { addr, len })
    }

    /// The host route of `addr`: /32 or /128.
    pub fn host(addr: IpAddr) -> Prefix {
        Prefix {
            addr,
            len: Family::of(addr).max_len(),
        }
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn len(&self) -> u8 {
        self.len
    }

    /// Whether this is a default route (length 0).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The family of the prefix.
    pub fn family(&self) -> Family {
        Family::of(self.addr)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;

    fn from_str(s: &str) -> Result<Prefix, PrefixError> {
        let syntax = || PrefixError::Syntax(s.to_owned());
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (
                a.parse::<IpAddr>().map_err(|_| syntax())?,
                l.parse::<u8>().map_err(|_| syntax())?,
            ),
            None => {
                let a = s.parse::<IpAddr>().map_err(|_| syntax())?;
                (a, Family::of(a).max_len())
            }
        };
        Prefix::new(addr, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_bits_are_cleared_and_text_round_trips() {
        let p: Prefix = "203.0.113.77/24".parse().unwrap();
        assert_eq!(p.to_string(), "203.0.113.0/24");
        let p: Prefix = "2001:db8::1/32".parse().unwrap();
        assert_eq!(p.to_string(), "2001:db8::/32");
        let p: Prefix = "198.51.100.7".parse().unwrap();
        assert_eq!(p.len(), 32);
    }

    #[test]
    fn too_long_and_garbage_are_rejected() {
        assert_eq!(
            "192.0.2.0/33".parse::<Prefix>(),
            Err(PrefixError::TooLong(33))
        );
        assert!("192.0.2.0/x".parse::<Prefix>().is_err());
        assert!("nonsense".parse::<Prefix>().is_err());
    }
}
