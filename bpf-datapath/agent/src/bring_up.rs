//! Loading and attaching the datapath on the selected devices (the run mode's first step).

use regex::Regex;

use crate::l2_entries::Device;

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

/// What identifies an attachment: a device recreated under the same name gets a new ifindex
/// and needs attaching again.
pub type Selection = std::collections::BTreeSet<(u32, String)>;

/// The interfaces `devices` selects right now.
pub fn selection(devices: &Regex) -> Result<Selection, LoadError> {
    Ok(netif::matching(devices)?
        .into_iter()
        .map(|i| (i.ifindex, i.name))
        .collect())
}

/// The L2 responder's view of a selection: where announced IPs can be answered.
pub fn devices_of(selection: &Selection) -> Vec<Device> {
    selection
        .iter()
        .map(|(ifindex, name)| Device {
            ifindex: *ifindex,
            name: name.clone(),
        })
        .collect()
}

/// Watches for selected interfaces appearing, disappearing or being recreated after start (a
/// NIC brought up late, a veth recreated), polling every `interval`, and runs [`bring_up`]
/// again when the selection changed: already attached interfaces get their links updated in
/// place (no gap), new ones are attached, and the interface maps are rewritten. Each new
/// selection is then published on `updates`, so the run loop recomputes the responder entries
/// (a new device answers ARP / NDP at once; a removed or recreated one loses the entries of
/// its old ifindex). Never returns; failures are logged and retried at the next tick.
pub async fn rescan_devices(
    pins: PinLayout,
    devices: Regex,
    mut attached: Selection,
    interval: std::time::Duration,
    updates: tokio::sync::watch::Sender<Vec<Device>>,
) -> crate::Error {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = match selection(&devices) {
            Ok(now) => now,
            Err(error) => {
                tracing::warn!(%error, "listing interfaces failed");
                continue;
            }
        };
        if now == attached {
            continue;
        }
        if now.is_empty() {
            // Nothing to attach to (bring_up refuses an empty selection), but the entries of
            // the devices that went away must go.
            attached = now;
            updates.send_replace(Vec::new());
            continue;
        }
        match bring_up(&pins, &devices) {
            Ok(done) => {
                for (interface, how) in &done {
                    tracing::info!(interface = %interface.name, ifindex = interface.ifindex, ?how, "datapath attached after a device change");
                }
                attached = done.into_iter().map(|(i, _)| (i.ifindex, i.name)).collect();
                updates.send_replace(devices_of(&attached));
            }
            Err(error) => tracing::warn!(%error, "re-attaching after a device change failed"),
        }
    }
}
