//! Removing what a crashed or still-running lab left behind: every `fl-` namespace (and the
//! processes inside it: components, HTTP backends, the router's bgpd), every `fl-` link in
//! the root namespace, the state directory.
//!
//! The prefix is the whole safety argument: the lab creates nothing without it and deletes
//! nothing with another name, so cleanup cannot touch the machine's own networking.

use crate::addresses::{LAB_NAMESPACE, PREFIX};
use crate::command;
use crate::error::Error;
use crate::processes;
use crate::state::StateDir;
use std::path::PathBuf;
use std::time::Duration;

/// How long leftover processes get to exit on SIGTERM before SIGKILL.
const LEFTOVER_GRACE: Duration = Duration::from_secs(3);
/// How long a running lab gets to tear itself down after `down` asked it to.
const LAB_STOP_GRACE: Duration = Duration::from_secs(30);

/// What a cleanup found and removed, for the user to see.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub stopped_lab: Option<u32>,
    pub processes: Vec<u32>,
    pub namespaces: Vec<String>,
    pub links: Vec<String>,
    pub state_dir: Option<PathBuf>,
}

impl Removed {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl std::fmt::Display for Removed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(pid) = self.stopped_lab {
            parts.push(format!("running lab (pid {pid})"));
        }
        if !self.processes.is_empty() {
            let pids: Vec<_> = self.processes.iter().map(u32::to_string).collect();
            parts.push(format!("processes {}", pids.join(" ")));
        }
        if !self.namespaces.is_empty() {
            parts.push(format!("namespaces {}", self.namespaces.join(" ")));
        }
        if !self.links.is_empty() {
            parts.push(format!("links {}", self.links.join(" ")));
        }
        if let Some(dir) = &self.state_dir {
            parts.push(format!("state dir {}", dir.display()));
        }
        if parts.is_empty() {
            f.write_str("nothing")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// The pid of a live lab: the one recorded in `state`, or any `ferrule-lab` process inside
/// `fl-lab` (a lab started with another state directory still owns the same namespaces).
pub fn running_lab(state: &StateDir) -> Result<Option<u32>, Error> {
    if let Some(pid) = state.running_lab() {
        return Ok(Some(pid));
    }
    if !lab_namespaces()?.iter().any(|ns| ns == LAB_NAMESPACE) {
        return Ok(None);
    }
    let own = std::process::id();
    let listed = command::ip(&["netns", "pids", LAB_NAMESPACE])?;
    Ok(parse_pids(&listed).find(|&pid| pid != own && processes::is_lab(pid)))
}

/// `ferrule-lab down`: asks a running lab to tear itself down (it knows its children), then
/// removes whatever is left.
pub fn down(state: &StateDir) -> Result<Removed, Error> {
    let stopped_lab = running_lab(state)?;
    if let Some(pid) = stopped_lab {
        processes::signal(pid, "TERM");
        if !processes::wait_gone(&[pid], LAB_STOP_GRACE) {
            processes::signal(pid, "KILL");
            processes::wait_gone(&[pid], Duration::from_secs(2));
        }
    }
    let mut removed = remove_leftovers(state)?;
    removed.stopped_lab = stopped_lab;
    Ok(removed)
}

/// Deletes every `fl-` namespace and root-namespace link and the state directory. The caller
/// has made sure no live lab owns them.
pub fn remove_leftovers(state: &StateDir) -> Result<Removed, Error> {
    let namespaces = lab_namespaces()?;
    // Processes first: a namespace whose name is deleted lives on, unnamed and unreachable
    // for the next cleanup, as long as anything runs inside it.
    let own = std::process::id();
    let mut pids = Vec::new();
    for ns in &namespaces {
        let listed = command::ip(&["netns", "pids", ns])?;
        pids.extend(parse_pids(&listed).filter(|&pid| pid != own));
    }
    processes::terminate(&pids, LEFTOVER_GRACE);
    for ns in &namespaces {
        command::ip(&["netns", "del", ns])?;
    }
    let mut links = Vec::new();
    for link in lab_links()? {
        // Deleting one end of a veth pair deletes the other: it may be gone already.
        if lab_links()?.contains(&link) {
            command::ip(&["link", "del", &link])?;
            links.push(link);
        }
    }
    let state_dir = state.remove()?.then(|| state.root().to_owned());
    Ok(Removed {
        stopped_lab: None,
        processes: pids,
        namespaces,
        links,
        state_dir,
    })
}

/// Names of the `fl-` network namespaces that exist now.
pub fn lab_namespaces() -> Result<Vec<String>, Error> {
    Ok(parse_netns_list(&command::ip(&["netns", "list"])?))
}

/// Names of the `fl-` links in the caller's network namespace.
pub fn lab_links() -> Result<Vec<String>, Error> {
    Ok(parse_link_names(&command::ip(&["-o", "link", "show"])?))
}

/// `ip netns list` prints `name` or `name (id: N)` per line.
fn parse_netns_list(listing: &str) -> Vec<String> {
    listing
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| name.starts_with(PREFIX))
        .map(str::to_owned)
        .collect()
}

/// `ip -o link show` prints `IDX: NAME[@PEER]: <FLAGS> …` per line.
fn parse_link_names(listing: &str) -> Vec<String> {
    listing
        .lines()
        .filter_map(|line| line.split(": ").nth(1))
        .map(|name| name.split('@').next().unwrap_or(name))
        .filter(|name| name.starts_with(PREFIX))
        .map(str::to_owned)
        .collect()
}

fn parse_pids(listing: &str) -> impl Iterator<Item = u32> + '_ {
    listing.lines().filter_map(|line| line.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_prefixed_namespaces_are_ours() {
        let listing = "fl-node1 (id: 3)\ncni-1234\nfl-lab\nfl\n";
        assert_eq!(parse_netns_list(listing), ["fl-node1", "fl-lab"]);
    }

    #[test]
    fn link_names_drop_the_peer_suffix() {
        let listing = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536\n\
                       4: eth0: <BROADCAST,MULTICAST,UP> mtu 1400\n\
                       7: fl-node1@if2: <BROADCAST,MULTICAST> mtu 1500\n\
                       8: fl-br0: <BROADCAST,MULTICAST> mtu 1500\n\
                       9: flannel.1: <BROADCAST> mtu 1450\n";
        assert_eq!(parse_link_names(listing), ["fl-node1", "fl-br0"]);
    }

    #[test]
    fn pids_are_one_per_line() {
        assert_eq!(parse_pids("12\n 345\n\n").collect::<Vec<_>>(), [12, 345]);
    }

    #[test]
    fn the_summary_names_what_was_removed() {
        let removed = Removed {
            namespaces: vec!["fl-node1".into()],
            links: vec!["fl-br0".into()],
            ..Removed::default()
        };
        assert_eq!(removed.to_string(), "namespaces fl-node1, links fl-br0");
        assert_eq!(Removed::default().to_string(), "nothing");
    }
}
