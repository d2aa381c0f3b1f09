//! An in-memory [`DatapathMaps`] for tests: BTreeMaps plus a log of every operation.

use std::collections::BTreeMap;

use crate::contents::{MapContents, MapOp};
use crate::error::{MapError, MapName};
use crate::maps::DatapathMaps;
use crate::model::{ResponderCounters, ResponderKey, ServiceCounters, ServiceId};

/// Maps held in memory. Deleting a missing entry fails like the kernel's `ENOENT` does, so a
/// reconciler that deletes what it never read is caught by tests.
#[derive(Debug, Clone, Default)]
pub struct InMemoryMaps {
    contents: MapContents,
    service_counters: BTreeMap<ServiceId, ServiceCounters>,
    responder_counters: BTreeMap<ResponderKey, ResponderCounters>,
    ops: Vec<MapOp>,
}

impl InMemoryMaps {
    /// Maps that already hold `contents`, as pinned maps do when an agent restarts.
    pub fn with_contents(contents: MapContents) -> Self {
        Self {
            contents,
            ..Self::default()
        }
    }

    /// Every operation applied so far, in order.
    pub fn ops(&self) -> &[MapOp] {
        &self.ops
    }

    /// Forgets the operation log (contents stay).
    pub fn clear_ops(&mut self) {
        self.ops.clear();
    }

    /// Sets a service's counters, standing in for the datapath counting packets.
    pub fn set_service_counters(&mut self, id: ServiceId, counters: ServiceCounters) {
        self.service_counters.insert(id, counters);
    }

    /// Sets a responder entry's counters.
    pub fn set_responder_counters(&mut self, key: ResponderKey, counters: ResponderCounters) {
        self.responder_counters.insert(key, counters);
    }
}

fn missing(map: MapName, key: impl std::fmt::Debug) -> MapError {
    MapError::Write {
        map,
        reason: format!("delete of missing key {key:?}"),
    }
}

impl DatapathMaps for InMemoryMaps {
    fn read(&self) -> Result<MapContents, MapError> {
        Ok(self.contents.clone())
    }

    fn apply(&mut self, op: MapOp) -> Result<(), MapError> {
        let c = &mut self.contents;
        match &op {
            MapOp::UpdateFrontend(k, v) => {
                c.frontends.insert(*k, *v);
            }
            MapOp::DeleteFrontend(k) => {
                c.frontends
                    .remove(k)
                    .ok_or_else(|| missing(MapName::Frontends, k))?;
            }
            MapOp::UpdateBackend(k, v) => {
                c.backends.insert(*k, *v);
            }
            MapOp::DeleteBackend(k) => {
                c.backends
                    .remove(k)
                    .ok_or_else(|| missing(MapName::Backends, k))?;
            }
            MapOp::UpdateMaglev(k, v) => {
                c.maglev.insert(*k, v.clone());
            }
            MapOp::DeleteMaglev(k) => {
                c.maglev
                    .remove(k)
                    .ok_or_else(|| missing(MapName::Maglev, k))?;
            }
            MapOp::UpdateResponder(k) => {
                c.responders.insert(*k);
            }
            MapOp::DeleteResponder(k) => {
                if !c.responders.remove(k) {
                    return Err(missing(MapName::Responders, k));
                }
                // The kernel drops an entry's counters with the entry.
                self.responder_counters.remove(k);
            }
        }
        self.ops.push(op);
        Ok(())
    }

    fn service_counters(&self) -> Result<BTreeMap<ServiceId, ServiceCounters>, MapError> {
        Ok(self.service_counters.clone())
    }

    fn responder_counters(&self) -> Result<BTreeMap<ResponderKey, ResponderCounters>, MapError> {
        Ok(self.responder_counters.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::model::{Frontend, Protocol, ServiceEntry, TrafficPolicy};

    fn frontend() -> Frontend {
        Frontend {
            addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
            port: 80,
            protocol: Protocol::Tcp,
        }
    }

    #[test]
    fn records_updates_and_deletes_in_order() {
        let mut maps = InMemoryMaps::default();
        let entry = ServiceEntry {
            id: ServiceId(1),
            policy: TrafficPolicy::Cluster,
            backend_count: 0,
        };
        maps.apply(MapOp::UpdateFrontend(frontend(), entry))
            .expect("update of a new key succeeds");
        maps.apply(MapOp::DeleteFrontend(frontend()))
            .expect("delete of a present key succeeds");
        assert_eq!(
            maps.ops(),
            &[
                MapOp::UpdateFrontend(frontend(), entry),
                MapOp::DeleteFrontend(frontend())
            ]
        );
        assert!(maps.read().expect("read").frontends.is_empty());
    }

    #[test]
    fn deleting_a_missing_key_fails_and_is_not_recorded() {
        let mut maps = InMemoryMaps::default();
        let err = maps
            .apply(MapOp::DeleteFrontend(frontend()))
            .expect_err("a delete of a key that is not there is a reconciler bug");
        assert_eq!(err.metric_label(), "map_write");
        assert!(maps.ops().is_empty());
    }

    #[test]
    fn deleting_a_responder_entry_drops_its_counters() {
        let key = ResponderKey {
            ifindex: 2,
            addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        };
        let mut maps = InMemoryMaps::default();
        maps.apply(MapOp::UpdateResponder(key)).expect("update");
        maps.set_responder_counters(key, ResponderCounters { responses: 3 });
        maps.apply(MapOp::DeleteResponder(key)).expect("delete");
        assert!(maps.responder_counters().expect("read").is_empty());
    }
}
