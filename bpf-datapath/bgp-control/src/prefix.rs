//! IP prefixes as the route table keys them: an address with its host bits cleared and a
//! length, ordered IPv4 before IPv6, then by address, then by length.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IPv4 or IPv6 prefix whose address has no bits set beyond its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix {
    address: IpAddr,
    length: u8,
}

/// Why a text or an address/length pair is not a prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    #[error("{0:?} is not an IP address or CIDR")]
    Syntax(String),
    #[error("prefix length {length} is longer than the {max} bits of {address}")]
    Length {
        address: IpAddr,
        length: u8,
        max: u8,
    },
}

impl Prefix {
    /// The prefix of `length` bits containing `address` (host bits are cleared, as an
    /// aggregate of the address would be).
    pub fn new(address: IpAddr, length: u8) -> Result<Self, PrefixError> {
        let max = max_length(address);
        if length > max {
            return Err(PrefixError::Length {
                address,
                length,
                max,
            });
        }
        let address = match address {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(u32::from(32 - length)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX.checked_shl(u32::from(128 - length)).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
            }
        };
        Ok(Self { address, length })
    }

    /// The host route of `address`: /32 or /128.
    pub fn host(address: IpAddr) -> Self {
        Self {
            address,
            length: max_length(address),
        }
    }

    /// The first address of the prefix.
    pub fn address(&self) -> IpAddr {
        self.address
    }

    /// The prefix length in bits.
    pub fn length(&self) -> u8 {
        self.length
    }

    pub fn is_ipv4(&self) -> bool {
        self.address.is_ipv4()
    }
}

fn max_length(address: IpAddr) -> u8 {
    if address.is_ipv4() { 32 } else { 128 }
}

/// Parses `a.b.c.d/len`, `x::y/len`, or a bare address (a host route). Host bits set in the
/// text are cleared rather than rejected, as Kubernetes accepts such pod CIDRs.
impl FromStr for Prefix {
    type Err = PrefixError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let syntax = || PrefixError::Syntax(text.to_owned());
        let trimmed = text.trim();
        match trimmed.split_once('/') {
            None => trimmed.parse().map(Self::host).map_err(|_| syntax()),
            Some((address, length)) => {
                let address: IpAddr = address.parse().map_err(|_| syntax())?;
                let length: u8 = length.parse().map_err(|_| syntax())?;
                Self::new(address, length)
            }
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_clears_host_bits_and_orders_ipv4_first() -> Result<(), PrefixError> {
        let v4: Prefix = "192.0.2.77/24".parse()?;
        assert_eq!(v4.to_string(), "192.0.2.0/24");
        let v6: Prefix = "2001:db8::1/64".parse()?;
        assert_eq!(v6.to_string(), "2001:db8::/64");
        assert_eq!(
            "198.51.100.7".parse::<Prefix>()?.to_string(),
            "198.51.100.7/32"
        );
        assert_eq!("0.0.0.0/0".parse::<Prefix>()?.length(), 0);
        assert!(v4 < v6);
        Ok(())
    }

    #[test]
    fn rejects_lengths_beyond_the_family_and_garbage() {
        assert!(matches!(
            "192.0.2.0/33".parse::<Prefix>(),
            Err(PrefixError::Length { max: 32, .. })
        ));
        assert!("2001:db8::/129".parse::<Prefix>().is_err());
        assert!("not-a-cidr".parse::<Prefix>().is_err());
        assert!("192.0.2.0/x".parse::<Prefix>().is_err());
    }
}
