//! The interface between the agent's reconciler and the maps.

use std::collections::BTreeMap;

use crate::contents::{MapContents, MapOp};
use crate::error::MapError;
use crate::model::{ResponderCounters, ResponderKey, ServiceCounters, ServiceId};

/// Typed access to the datapath maps. Writes go one entry at a time (`apply`), because the
/// kernel maps are only ever changed by diff: a flush-and-refill would drop live traffic.
pub trait DatapathMaps {
    /// Reads back everything the maps hold (pinned maps after a restart: adoption).
    fn read(&self) -> Result<MapContents, MapError>;

    /// Applies one update or delete.
    fn apply(&mut self, op: MapOp) -> Result<(), MapError>;

    /// Per-service counters, for `ferrule-agent state` and metrics.
    fn service_counters(&self) -> Result<BTreeMap<ServiceId, ServiceCounters>, MapError>;

    /// Per-responder-entry counters.
    fn responder_counters(&self) -> Result<BTreeMap<ResponderKey, ResponderCounters>, MapError>;
}
