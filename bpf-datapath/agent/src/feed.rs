//! Watch events → [`Index`] updates, including the relist protocol of kube's watcher
//! (`Init`, `InitApply`…, `InitDone`): objects of a relist are buffered and replace the index
//! only when the list is complete, so a relist never shows the datapath a half-listed world
//! (which would delete every service not yet listed).

use ferrule_api::node_l2announcements::v1alpha1::NodeL2Announcement;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::watcher::Event;

use crate::index::{Index, ObjectKey, reduce_slice};
use crate::l2_entries::Announced;
use crate::observed::{ObservedEndpointSlice, ObservedService};

/// One event of either watch (boxed: a Service event is several times a slice event's size).
#[derive(Debug)]
pub enum Change {
    Services(Box<Event<Service>>),
    Slices(Box<Event<EndpointSlice>>),
    /// This node's NodeL2Announcement (a watch filtered to its name).
    Announcement(Box<Event<NodeL2Announcement>>),
}

/// Relist buffers and "has this watch listed once" per resource. Services and slices are
/// buffered as the index keeps them: a full Service is over a kilobyte before its heap parts,
/// and a relist holds all of them until the list completes.
#[derive(Debug, Default)]
pub struct Feeder {
    services: Relist<ObservedService>,
    slices: Relist<(ObjectKey, ObservedEndpointSlice)>,
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

/// What the relist bookkeeping says to do with one event (`B`: an object as buffered).
enum Step<K, B> {
    Nothing,
    Apply(K),
    Delete(K),
    Reset(Vec<B>),
}

impl<B> Relist<B> {
    /// `buffered` reduces a listed object to what is kept until the list completes (`None`:
    /// nothing to keep).
    fn step<K>(&mut self, event: Event<K>, buffered: impl FnOnce(K) -> Option<B>) -> Step<K, B> {
        match event {
            Event::Init => {
                self.buffer = Some(Vec::new());
                Step::Nothing
            }
            Event::InitApply(obj) => {
                let buffer = self.buffer.get_or_insert_with(Vec::new);
                buffer.extend(buffered(obj));
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
            Change::Announcement(event) => match self.announcement.step(*event, Some) {
                Step::Nothing => false,
                Step::Apply(a) => index.set_announced(announced_of(Some(&a))),
                Step::Delete(_) => index.set_announced(Vec::new()),
                // The watch selects one name: a relist holds that object or nothing.
                Step::Reset(all) => index.set_announced(announced_of(all.first())),
            },
            Change::Services(event) => {
                let reduce = |svc: Service| ObservedService::from_service(&svc);
                match self.services.step(*event, reduce) {
                    Step::Nothing => false,
                    Step::Apply(svc) => index.apply_service(&svc),
                    Step::Delete(svc) => index.delete_service(&svc),
                    Step::Reset(all) => index.reset_reduced_services(all),
                }
            }
            Change::Slices(event) => {
                let reduce = |slice: EndpointSlice| reduce_slice(&slice);
                match self.slices.step(*event, reduce) {
                    Step::Nothing => false,
                    Step::Apply(s) => index.apply_slice(&s),
                    Step::Delete(s) => index.delete_slice(&s),
                    Step::Reset(all) => index.reset_reduced_slices(all),
                }
            }
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
