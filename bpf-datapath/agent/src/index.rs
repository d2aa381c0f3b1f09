//! Watch events → a synchronous in-memory index of what the datapath needs. Objects are stored
//! already reduced ([`crate::observed`]), so the index holds no more than the computation reads.

use crate::l2_entries::Announced;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

use crate::observed::{ObservedEndpointSlice, ObservedService, ServiceKey};

/// namespace/name of any object (EndpointSlices are many per Service, so keyed by their own).
pub type ObjectKey = (String, String);

fn object_key(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> ObjectKey {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

/// An EndpointSlice as the index stores it, with its key; `None` when the datapath cannot
/// use it.
pub fn reduce_slice(slice: &EndpointSlice) -> Option<(ObjectKey, ObservedEndpointSlice)> {
    ObservedEndpointSlice::from_endpoint_slice(slice).map(|o| (object_key(&slice.metadata), o))
}

/// Observed Services and EndpointSlices. Every method returns whether the index changed, so the
/// caller recomputes only when something the datapath depends on moved.
#[derive(Debug, Clone, Default)]
pub struct Index {
    services: BTreeMap<ServiceKey, ObservedService>,
    slices: BTreeMap<ObjectKey, ObservedEndpointSlice>,
    announced: Vec<Announced>,
}

impl Index {
    /// What this node's NodeL2Announcement says to answer for; returns whether it changed.
    pub fn set_announced(&mut self, announced: Vec<Announced>) -> bool {
        let changed = announced != self.announced;
        self.announced = announced;
        changed
    }

    pub fn announced(&self) -> &[Announced] {
        &self.announced
    }

    /// An added or modified Service. One the datapath cannot use (no spec) is removed.
    pub fn apply_service(&mut self, svc: &Service) -> bool {
        let (namespace, name) = object_key(&svc.metadata);
        let key = ServiceKey { namespace, name };
        match ObservedService::from_service(svc) {
            Some(observed) => self.services.insert(key, observed.clone()) != Some(observed),
            None => self.services.remove(&key).is_some(),
        }
    }

    pub fn delete_service(&mut self, svc: &Service) -> bool {
        let (namespace, name) = object_key(&svc.metadata);
        self.services
            .remove(&ServiceKey { namespace, name })
            .is_some()
    }

    /// The watch relisted: the given Services are all there is.
    pub fn reset_services<'a>(&mut self, svcs: impl IntoIterator<Item = &'a Service>) -> bool {
        self.reset_reduced_services(svcs.into_iter().filter_map(ObservedService::from_service))
    }

    /// [`Self::reset_services`] with the Services already reduced (what a relist buffers).
    pub fn reset_reduced_services(
        &mut self,
        svcs: impl IntoIterator<Item = ObservedService>,
    ) -> bool {
        let fresh: BTreeMap<ServiceKey, ObservedService> =
            svcs.into_iter().map(|s| (s.key.clone(), s)).collect();
        let changed = fresh != self.services;
        self.services = fresh;
        changed
    }

    pub fn apply_slice(&mut self, slice: &EndpointSlice) -> bool {
        let key = object_key(&slice.metadata);
        match ObservedEndpointSlice::from_endpoint_slice(slice) {
            Some(observed) => self.slices.insert(key, observed.clone()) != Some(observed),
            None => self.slices.remove(&key).is_some(),
        }
    }

    pub fn delete_slice(&mut self, slice: &EndpointSlice) -> bool {
        self.slices.remove(&object_key(&slice.metadata)).is_some()
    }

    pub fn reset_slices<'a>(
        &mut self,
        slices: impl IntoIterator<Item = &'a EndpointSlice>,
    ) -> bool {
        self.reset_reduced_slices(slices.into_iter().filter_map(reduce_slice))
    }

    /// [`Self::reset_slices`] with the slices already reduced ([`reduce_slice`]).
    pub fn reset_reduced_slices(
        &mut self,
        slices: impl IntoIterator<Item = (ObjectKey, ObservedEndpointSlice)>,
    ) -> bool {
        let fresh: BTreeMap<ObjectKey, ObservedEndpointSlice> = slices.into_iter().collect();
        let changed = fresh != self.slices;
        self.slices = fresh;
        changed
    }

    pub fn services(&self) -> Vec<ObservedService> {
        self.services.values().cloned().collect()
    }

    pub fn slices(&self) -> Vec<ObservedEndpointSlice> {
        self.slices.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn service(name: &str, port: u16) -> Service {
        serde_json::from_value(json!({
            "metadata": {"namespace": "default", "name": name},
            "spec": {"externalIPs": ["192.0.2.1"], "ports": [{"port": port}]}
        }))
        .expect("a valid Service")
    }

    #[test]
    fn apply_reports_only_changes_the_datapath_sees() {
        let mut index = Index::default();
        assert!(index.apply_service(&service("a", 80)));
        assert!(!index.apply_service(&service("a", 80)));
        assert!(index.apply_service(&service("a", 81)));
        assert!(index.delete_service(&service("a", 81)));
        assert!(!index.delete_service(&service("a", 81)));
    }

    #[test]
    fn reset_replaces_everything_and_drops_what_vanished_during_a_relist() {
        let mut index = Index::default();
        index.apply_service(&service("gone", 80));
        assert!(index.reset_services([&service("a", 80), &service("b", 80)]));
        let names: Vec<String> = index
            .services()
            .iter()
            .map(|s| s.key.name.clone())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert!(!index.reset_services([&service("b", 80), &service("a", 80)]));
    }
}
