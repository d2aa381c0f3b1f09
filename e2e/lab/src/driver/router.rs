//! What the lab's router (FRR's bgpd in `fl-router`) knows about BGP: its neighbors, the
//! paths it learned and their communities. See [`crate::frr`] for the router itself.

use super::LabProcess;
use crate::error::Error;
use crate::frr::{self, Family, LearnedPath, Neighbor};
use serde_json::Value;

fn json(lab: &LabProcess, command: &str) -> Result<Value, Error> {
    let text = frr::vtysh(&lab.state().router(), command)?;
    serde_json::from_str(&text).map_err(|e| Error::Unexpected {
        what: format!("vtysh -c {command:?} printed no JSON ({e}): {text}"),
    })
}

/// bgpd's neighbors and their session states (`show bgp neighbors`).
pub fn neighbors(lab: &LabProcess) -> Result<Vec<Neighbor>, Error> {
    Ok(frr::parse_neighbors(&json(lab, "show bgp neighbors json")?))
}

/// Every path bgpd holds for `family` (`show bgp ipv4 unicast`).
pub fn paths(lab: &LabProcess, family: Family) -> Result<Vec<LearnedPath>, Error> {
    let command = format!("show bgp {} unicast json", family.as_str());
    Ok(frr::parse_routes(&json(lab, &command)?))
}

/// The standard communities of each path for `prefix` (`203.0.113.1/32`), by peer; empty
/// when bgpd has no path for it.
pub fn communities(
    lab: &LabProcess,
    family: Family,
    prefix: &str,
) -> Result<Vec<(String, Vec<String>)>, Error> {
    let command = format!("show bgp {} unicast {prefix} json", family.as_str());
    Ok(frr::parse_communities(&json(lab, &command)?))
}
