//! The node's network interfaces as the datapath needs them: name, ifindex, MAC, addresses.
//!
//! Read from /sys/class/net (ifindex, MAC) and `ip -j addr` (addresses): std only, no netlink
//! crate, and both are what an operator would look at when debugging.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::Command;

use regex::Regex;
use serde::Deserialize;

use crate::error::LoadError;

/// One interface of the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub ifindex: u32,
    pub mac: [u8; 6],
    /// First global-scope IPv4 address, if any.
    pub ipv4: Option<Ipv4Addr>,
    /// First global-scope IPv6 address, if any.
    pub ipv6: Option<Ipv6Addr>,
    /// `ip -d`'s link kind (`veth`, `bridge`, ...); `None` for physical devices.
    pub kind: Option<String>,
}

impl Interface {
    /// Whether native (driver) XDP is worth trying. veth has a native mode, but a frame its
    /// XDP program sends back (XDP_TX: every ARP/NDP answer) reaches the peer only if the
    /// peer itself runs XDP; otherwise the kernel drops it silently after the program
    /// counted a reply. Generic mode goes through the normal transmit path and always
    /// delivers, so veth gets generic mode.
    pub fn prefers_native_xdp(&self) -> bool {
        self.kind.as_deref() != Some("veth")
    }
}

fn iface_err(interface: &str, reason: String) -> LoadError {
    LoadError::Interface {
        interface: interface.to_owned(),
        reason,
    }
}

/// Parses `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.trim().split(':');
    for byte in &mut out {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

#[derive(Deserialize)]
struct IpLink {
    #[serde(default)]
    addr_info: Vec<IpAddrInfo>,
    #[serde(default)]
    linkinfo: Option<IpLinkInfo>,
}

#[derive(Deserialize)]
struct IpLinkInfo {
    #[serde(default)]
    info_kind: Option<String>,
}

/// What `ip -j -d addr show dev X` says about one device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpDetails {
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6: Option<Ipv6Addr>,
    pub kind: Option<String>,
}

#[derive(Deserialize)]
struct IpAddrInfo {
    local: IpAddr,
    #[serde(default)]
    scope: String,
}

/// The first global IPv4 and IPv6 address and the link kind in `ip -j -d addr show dev X`
/// output.
pub fn parse_ip_json(json: &str) -> Result<IpDetails, String> {
    let links: Vec<IpLink> = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let mut v4 = None;
    let mut v6 = None;
    let kind = links
        .iter()
        .find_map(|l| l.linkinfo.as_ref().and_then(|i| i.info_kind.clone()));
    for info in links.iter().flat_map(|l| &l.addr_info) {
        // Link-local and host addresses cannot be SNAT sources for traffic leaving the node.
        if info.scope != "global" {
            continue;
        }
        match info.local {
            IpAddr::V4(a) if v4.is_none() => v4 = Some(a),
            IpAddr::V6(a) if v6.is_none() => v6 = Some(a),
            _ => {}
        }
    }
    Ok(IpDetails {
        ipv4: v4,
        ipv6: v6,
        kind,
    })
}

fn read_sys(name: &str, file: &str) -> Result<String, LoadError> {
    let path = Path::new("/sys/class/net").join(name).join(file);
    std::fs::read_to_string(&path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| iface_err(name, format!("reading {}: {e}", path.display())))
}

/// Reads one interface.
pub fn read(name: &str) -> Result<Interface, LoadError> {
    let ifindex = read_sys(name, "ifindex")?
        .parse()
        .map_err(|e| iface_err(name, format!("ifindex: {e}")))?;
    let mac_s = read_sys(name, "address")?;
    let mac = parse_mac(&mac_s).ok_or_else(|| iface_err(name, format!("MAC {mac_s:?}")))?;
    let out = Command::new("ip")
        .args(["-j", "-d", "addr", "show", "dev", name])
        .output()
        .map_err(|e| iface_err(name, format!("running ip: {e}")))?;
    if !out.status.success() {
        return Err(iface_err(
            name,
            format!("ip addr: {}", String::from_utf8_lossy(&out.stderr).trim()),
        ));
    }
    let details = parse_ip_json(&String::from_utf8_lossy(&out.stdout))
        .map_err(|e| iface_err(name, format!("parsing ip -j output: {e}")))?;
    Ok(Interface {
        name: name.to_owned(),
        ifindex,
        mac,
        ipv4: details.ipv4,
        ipv6: details.ipv6,
        kind: details.kind,
    })
}

/// Every interface whose name matches `devices`, sorted by name (so "the first interface's
/// address" is stable across restarts).
pub fn matching(devices: &Regex) -> Result<Vec<Interface>, LoadError> {
    let dir = std::fs::read_dir("/sys/class/net")
        .map_err(|e| iface_err("*", format!("listing /sys/class/net: {e}")))?;
    let mut names: Vec<String> = dir
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| devices.is_match(n))
        .collect();
    names.sort();
    names.iter().map(|n| read(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_parse_and_bad_ones_do_not() {
        assert_eq!(
            parse_mac("02:00:5e:10:00:0a\n"),
            Some([2, 0, 0x5e, 0x10, 0, 0x0a])
        );
        assert_eq!(parse_mac("02:00:5e:10:00"), None);
        assert_eq!(parse_mac("02:00:5e:10:00:0a:01"), None);
        assert_eq!(parse_mac("zz:00:5e:10:00:0a"), None);
    }

    #[test]
    fn first_global_addresses_are_picked() {
        let json = r#"[{"ifname":"eth0","linkinfo":{"info_kind":"veth"},"addr_info":[
            {"family":"inet6","local":"fe80::1","scope":"link"},
            {"family":"inet","local":"192.0.2.10","scope":"global"},
            {"family":"inet","local":"192.0.2.11","scope":"global"},
            {"family":"inet6","local":"2001:db8::10","scope":"global"}]}]"#;
        let d = parse_ip_json(json).expect("valid json");
        assert_eq!(d.ipv4, Some("192.0.2.10".parse().expect("ip")));
        assert_eq!(d.ipv6, Some("2001:db8::10".parse().expect("ip")));
        assert_eq!(d.kind.as_deref(), Some("veth"));
        let d = parse_ip_json(r#"[{"ifname":"lo"}]"#).expect("valid json");
        assert_eq!(d, IpDetails::default());
    }
}

#[cfg(test)]
mod mode_tests {
    use super::*;

    fn iface(kind: Option<&str>) -> Interface {
        Interface {
            name: "x".into(),
            ifindex: 2,
            mac: [2, 0, 0, 0, 0, 1],
            ipv4: None,
            ipv6: None,
            kind: kind.map(str::to_owned),
        }
    }

    #[test]
    fn veth_gets_generic_xdp_and_physical_devices_native() {
        assert!(!iface(Some("veth")).prefers_native_xdp());
        assert!(iface(None).prefers_native_xdp());
        assert!(iface(Some("vlan")).prefers_native_xdp());
    }
}
