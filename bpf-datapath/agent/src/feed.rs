//! Watch events → [`Index`] updates, including the relist protocol of kube's watcher
//! (`Init`, `InitApply`…, `InitDone`): objects of a relist are buffered and replace the index
//! only when the list is complete, so a relist never shows the datapath a half-listed world
//! (which would delete every service not yet listed).

use ferrule_api::node_l2announcements::v1alpha1::NodeL2Announcement;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::watcher::Event;

use crate::index::Index;
use crate::l2_entries::Announced;

/// One event of either watch (boxed: a Service event is several times a slice event's size).
#[derive(Debug)]
pub enum Change {
    Services(Box<Event<Service>>),
    Slices(Box<Event<EndpointSlice>>),
    /// This node's NodeL2Announcement (a watch filtered to its name).
    Announcement(Box<Event<NodeL2Announcement>>),
}

/// Relist buffers and "has this watch listed once" per resource.
#[derive(Debug, Default)]
pub struct Feeder {
    services: Relist<Service>,
    slices: Relist<EndpointSlice>,
    announcement: Relist<NodeL2Announcement>,
    /// Whether the announcement watch runs: then a sync also waits for its first list, so a
    /// restart never withdraws adopted responder entries before knowing what to announce.
    wants_announcement: bool,
}

#[derive(Debug)]
struct Relist<K> {
    buffer: Option<Vec<K>>,
    listed: bool,
}

impl<K> Default for Relist<K> {
    fn default() -> Self {
        Self {
            buffer: None,
            listed: false,
        }
    }
}

/// What the relist bookkeeping says to do with one event.
enum Step<K> {
    Nothing,
    Apply(K),
    Delete(K),
    Reset(Vec<K>),
}

impl<K> Relist<K> {
    fn step(&mut self, event: Event<K>) -> Step<K> {
        match event {
            Event::Init => {
                self.buffer = Some(Vec::new());
                Step::Nothing
            }
            Event::InitApply(obj) => {
                self.buffer.get_or_insert_with(Vec::new).push(obj);
                Step::Nothing
            }
            Event::InitDone => {
                self.listed = true;
                Step::Reset(self.buffer.take().unwrap_or_default())
            }
            Event::Apply(obj) => Step::Apply(obj),
            Event::Delete(obj) => Step::Delete(obj),
        }
    }
}

impl Feeder {
    /// A feeder that also waits for this node's NodeL2Announcement.
    pub fn with_announcement() -> Self {
        Self {
            wants_announcement: true,
            ..Self::default()
        }
    }

    /// Applies one event; returns whether the index changed.
    pub fn apply(&mut self, index: &mut Index, change: Change) -> bool {
        match change {
            Change::Announcement(event) => match self.announcement.step(*event) {
                Step::Nothing => false,
                Step::Apply(a) => index.set_announced(announced_of(Some(&a))),
                Step::Delete(_) => index.set_announced(Vec::new()),
                // The watch selects one name: a relist holds that object or nothing.
                Step::Reset(all) => index.set_announced(announced_of(all.first())),
            },
            Change::Services(event) => match self.services.step(*event) {
                Step::Nothing => false,
                Step::Apply(svc) => index.apply_service(&svc),
                Step::Delete(svc) => index.delete_service(&svc),
                Step::Reset(all) => index.reset_services(&all),
            },
            Change::Slices(event) => match self.slices.step(*event) {
                Step::Nothing => false,
                Step::Apply(s) => index.apply_slice(&s),
                Step::Delete(s) => index.delete_slice(&s),
                Step::Reset(all) => index.reset_slices(&all),
            },
        }
    }

    /// Both watches have completed their first list: the index describes the cluster and a
    /// sync may program (and so may delete from) the maps. Before that, a sync would remove
    /// every adopted entry of a service not yet listed, breaking established flows at start.
    pub fn initially_listed(&self) -> bool {
        self.services.listed
            && self.slices.listed
            && (!self.wants_announcement || self.announcement.listed)
    }
}

/// The announced IPs of a NodeL2Announcement (unparsable IPs left out: the CRD's pattern
/// already refuses most, and one bad entry must not stop the others).
fn announced_of(object: Option<&NodeL2Announcement>) -> Vec<Announced> {
    let Some(object) = object else {
        return Vec::new();
    };
    object
        .spec
        .announcements
        .iter()
        .filter_map(|a| {
            Some(Announced {
                ip: a.ip.parse().ok()?,
                interface_regexes: a.interface_regexes.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
#[path = "feed_tests.rs"]
mod tests;
