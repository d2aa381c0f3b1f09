//! The reconcile glue (STYLE.md): index → pure computation → diff applied to the maps →
//! announcements for new responder entries. Short on purpose; the logic lives in the stages.

use ferrule_bpf_loader::DatapathMaps;

use crate::Error;
use crate::desired::{Desired, Inputs, Limits, compute};
use crate::index::Index;
use crate::l2_entries::Device;
use crate::maglev::MaglevTableSize;
use crate::reconcile::{Applied, reconcile_from};
use crate::responder::{Announcements, Announcer, ResponderTable, announce_added};

/// One node's agent state: what it observed, what it answers for, and where it writes.
#[derive(Debug)]
pub struct Agent<M, A> {
    pub node_name: String,
    pub index: Index,
    pub responders: ResponderTable,
    pub maglev_size: MaglevTableSize,
    pub limits: Limits,
    /// The devices the datapath is attached to: where announced IPs are answered.
    pub devices: Vec<Device>,
    maps: M,
    announcer: A,
}

/// What one [`Agent::sync`] did and what it could not do (for logs, metrics and Events).
#[derive(Debug)]
pub struct SyncReport {
    pub applied: Applied,
    pub desired: Desired,
    pub announcements: Announcements,
}

impl<M: DatapathMaps, A: Announcer> Agent<M, A> {
    pub fn new(node_name: impl Into<String>, maps: M, announcer: A) -> Self {
        Self {
            node_name: node_name.into(),
            index: Index::default(),
            responders: ResponderTable::default(),
            maglev_size: MaglevTableSize::DEFAULT,
            limits: Limits::DATAPATH,
            devices: Vec::new(),
            maps,
            announcer,
        }
    }

    /// Reads the maps (adopting whatever they hold), computes the desired contents from the
    /// index and responder table, writes the difference, then announces added responder IPs.
    pub fn sync(&mut self) -> Result<SyncReport, Error> {
        let current = self.maps.read().map_err(Error::ReadMaps)?;
        let services = self.index.services();
        let slices = self.index.slices();
        let inputs = Inputs {
            node_name: &self.node_name,
            services: &services,
            slices: &slices,
            responders: self.responders.entries(),
            maglev_size: self.maglev_size,
            limits: self.limits,
        };
        let desired = compute(&inputs, &current);
        let applied = reconcile_from(&current, &desired.contents, &mut self.maps)?;
        let mut announcements = announce_added(&applied, &mut self.announcer);
        // Entries adopted from the pinned map after a restart were never "added" by this
        // process: make the held state (IPv6 group memberships) match the whole table, which
        // also retries joins that failed before.
        announcements
            .failed
            .extend(self.announcer.retain(self.responders.entries()));
        Ok(SyncReport {
            applied,
            desired,
            announcements,
        })
    }

    /// Deletes every responder entry from the maps (withdrawing what announcing set up) and
    /// touches nothing else: the fence acting before the first full sync, while the index is
    /// not yet trusted for the other maps.
    pub fn withdraw_responders(&mut self) -> Result<Announcements, Error> {
        self.responders.set([]);
        let current = self.maps.read().map_err(Error::ReadMaps)?;
        let mut desired = current.clone();
        desired.responders.clear();
        let applied = reconcile_from(&current, &desired, &mut self.maps)?;
        let mut announcements = announce_added(&applied, &mut self.announcer);
        announcements
            .failed
            .extend(self.announcer.retain(self.responders.entries()));
        Ok(announcements)
    }

    pub fn maps(&self) -> &M {
        &self.maps
    }

    /// Gives the maps back (a restart in tests: a new agent over the same pinned maps).
    pub fn into_maps(self) -> M {
        self.maps
    }
}

#[cfg(test)]
#[path = "agent_tests.rs"]
mod tests;
