//! The pure core: [`desired_bgp`] turns a node's observed state into what its BGP speaker
//! should run and announce. No kube client, no clock, no I/O.

mod advertised;
mod attributes;
mod bfd;
mod instance;
mod peer;
mod services;

use crate::desired::DesiredBgp;
use crate::inputs::Inputs;

/// What the node's speaker should do given `inputs`; configuration problems are reported in
/// [`DesiredBgp::problems`] and never stop the parts they do not concern.
pub fn desired_bgp(inputs: &Inputs) -> DesiredBgp {
    let mut problems = Vec::new();
    let instances = instance::instances(inputs, &mut problems);
    problems.sort();
    problems.dedup();
    DesiredBgp {
        instances,
        problems,
    }
}

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests_advertisements;
#[cfg(test)]
mod tests_peers;
#[cfg(test)]
mod tests_services;
#[cfg(test)]
mod tests_sharing;
