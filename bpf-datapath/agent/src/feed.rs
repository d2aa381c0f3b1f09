//! Watch events → [`Index`] updates, including the relist protocol of kube's watcher
//! (`Init`, `InitApply`…, `InitDone`): objects of a relist are buffered and replace the index
//! only when the list is complete, so a relist never shows the datapath a half-listed world
//! (which would delete every service not yet listed).

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::watcher::Event;

use crate::index::Index;

/// One event of either watch (boxed: a Service event is several times a slice event's size).
#[derive(Debug)]
pub enum Change {
    Services(Box<Event<Service>>),
    Slices(Box<Event<EndpointSlice>>),
}

/// Relist buffers and "has this watch listed once" per resource.
#[derive(Debug, Default)]
pub struct Feeder {
    services: Relist<Service>,
    slices: Relist<EndpointSlice>,
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
    /// Applies one event; returns whether the index changed.
    pub fn apply(&mut self, index: &mut Index, change: Change) -> bool {
        match change {
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
        self.services.listed && self.slices.listed
    }
}

#[cfg(test)]
#[path = "feed_tests.rs"]
mod tests;
