//! Loading and attaching the datapath on the selected devices (the run mode's first step).

use regex::Regex;

use ferrule_bpf_loader::LoadError;
use ferrule_bpf_loader::attach::Attached;
use ferrule_bpf_loader::datapath::{Datapath, PinLayout};
use ferrule_bpf_loader::netif::{self, Interface};

/// Default `--devices`: the usual names of physical NICs, plus the lab's `fl-` veths.
pub const DEFAULT_DEVICES: &str = "^(eth|ens|enp|fl-)";

/// Loads both programs (reusing pinned maps), writes the interface maps and attaches to every
/// interface whose name matches `devices`. A pattern that matches nothing is an error: an agent
/// that attached nowhere would look healthy while balancing nothing.
pub fn bring_up(
    pins: &PinLayout,
    devices: &Regex,
) -> Result<Vec<(Interface, Attached)>, LoadError> {
    let interfaces = netif::matching(devices)?;
    if interfaces.is_empty() {
        return Err(LoadError::Interface {
            interface: devices.as_str().to_owned(),
            reason: "no interface matches --devices".into(),
        });
    }
    let mut datapath = Datapath::load(pins)?;
    for replaced in datapath.replaced_pins() {
        tracing::warn!(map = %replaced.map, "{replaced}");
    }
    datapath.write_interfaces(&interfaces)?;
    let mut out = Vec::with_capacity(interfaces.len());
    for interface in interfaces {
        let attached = datapath.attach(&interface)?;
        out.push((interface, attached));
    }
    // Dropping `datapath` closes this process's handles only: the maps and links are pinned.
    Ok(out)
}
