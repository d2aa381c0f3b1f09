//! The full contents of the datapath maps (read back, or desired) and the single-entry
//! operations that change them.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{
    Backend, BackendId, Frontend, MaglevTable, ResponderKey, ServiceEntry, ServiceId,
};

/// Everything the agent programs. The same type serves as "what the maps hold" and "what they
/// should hold", so a reconcile is a diff of two values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MapContents {
    pub frontends: BTreeMap<Frontend, ServiceEntry>,
    pub backends: BTreeMap<BackendId, Backend>,
    pub maglev: BTreeMap<ServiceId, MaglevTable>,
    /// The responder map's value is the kernel's counter; desired state only has keys.
    pub responders: std::collections::BTreeSet<ResponderKey>,
}

/// One update or delete of one map entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapOp {
    UpdateFrontend(Frontend, ServiceEntry),
    DeleteFrontend(Frontend),
    UpdateBackend(BackendId, Backend),
    DeleteBackend(BackendId),
    UpdateMaglev(ServiceId, MaglevTable),
    DeleteMaglev(ServiceId),
    UpdateResponder(ResponderKey),
    DeleteResponder(ResponderKey),
}

impl MapOp {
    pub fn is_delete(&self) -> bool {
        matches!(
            self,
            Self::DeleteFrontend(_)
                | Self::DeleteBackend(_)
                | Self::DeleteMaglev(_)
                | Self::DeleteResponder(_)
        )
    }
}
