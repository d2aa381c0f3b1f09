//! From "this node announces IP X on interfaces matching these regexes" (the node's
//! L2Announcement, written by its ferrule-l2announcer) to responder entries (ifindex, IP).
//!
//! The announcer does not know this node's devices, so it passes the policies' interface
//! regexes through and the agent resolves them here against the devices it attached to
//! (`--devices`, kept current by the device rescan): no regex means every attached device, as
//! Cilium's `interfaces` field does, and a policy can only select devices the agent attached
//! to (the responder runs nowhere else). A regex that does not compile selects nothing for its announcement and is reported;
//! the announcer has already surfaced it on the policy's status.

use std::collections::BTreeSet;
use std::net::IpAddr;

use regex::Regex;

/// One announced IP and the interface regexes it is announced on (OR-ed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announced {
    pub ip: IpAddr,
    pub interface_regexes: Vec<String>,
}

/// An attached device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub ifindex: u32,
    pub name: String,
}

/// The entries, and the regexes that failed to compile (with the error).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Resolved {
    pub entries: BTreeSet<(u32, IpAddr)>,
    pub bad_regexes: Vec<(String, String)>,
}

pub fn resolve(announced: &[Announced], devices: &[Device]) -> Resolved {
    let mut out = Resolved::default();
    for a in announced {
        let mut regexes = Vec::with_capacity(a.interface_regexes.len());
        for pattern in &a.interface_regexes {
            match Regex::new(pattern) {
                Ok(r) => regexes.push(r),
                Err(e) => out.bad_regexes.push((pattern.clone(), e.to_string())),
            }
        }
        let all = a.interface_regexes.is_empty();
        for d in devices {
            if all || regexes.iter().any(|r| r.is_match(&d.name)) {
                out.entries.insert((d.ifindex, a.ip));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn devices() -> Vec<Device> {
        [(2, "eth0"), (3, "eth1"), (4, "fl-n0")]
            .into_iter()
            .map(|(ifindex, name)| Device {
                ifindex,
                name: name.into(),
            })
            .collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn no_regex_means_every_attached_device() {
        let r = resolve(
            &[Announced {
                ip: ip("203.0.113.1"),
                interface_regexes: vec![],
            }],
            &devices(),
        );
        assert_eq!(
            r.entries,
            BTreeSet::from([
                (2, ip("203.0.113.1")),
                (3, ip("203.0.113.1")),
                (4, ip("203.0.113.1"))
            ])
        );
    }

    #[test]
    fn regexes_are_ored_and_unanchored_like_go_match_string() {
        let r = resolve(
            &[Announced {
                ip: ip("2001:db8::1"),
                interface_regexes: vec!["^eth1$".into(), "n0".into()],
            }],
            &devices(),
        );
        assert_eq!(
            r.entries,
            BTreeSet::from([(3, ip("2001:db8::1")), (4, ip("2001:db8::1"))])
        );
    }

    #[test]
    fn a_bad_regex_selects_nothing_and_is_reported() {
        let r = resolve(
            &[Announced {
                ip: ip("203.0.113.2"),
                interface_regexes: vec!["eth[".into()],
            }],
            &devices(),
        );
        assert!(r.entries.is_empty());
        assert_eq!(r.bad_regexes.len(), 1);
        assert_eq!(r.bad_regexes[0].0, "eth[");
    }

    #[test]
    fn a_device_the_agent_did_not_attach_to_is_never_selected() {
        let r = resolve(
            &[Announced {
                ip: ip("203.0.113.3"),
                interface_regexes: vec!["^wlan0$".into()],
            }],
            &devices(),
        );
        assert!(r.entries.is_empty());
        assert!(r.bad_regexes.is_empty());
    }
}
