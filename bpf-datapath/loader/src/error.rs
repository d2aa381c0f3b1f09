//! Failures of map access, named for the operation.

/// The maps a [`crate::DatapathMaps`] implementation manages (for error messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum MapName {
    Frontends,
    Backends,
    Maglev,
    Responders,
    Counters,
    NodeAddrs,
}

impl std::fmt::Display for MapName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Frontends => "frontends",
            Self::Backends => "backends",
            Self::Maglev => "maglev",
            Self::Responders => "responders",
            Self::Counters => "counters",
            Self::NodeAddrs => "node addresses",
        })
    }
}

/// Errors of reading or writing the datapath maps.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    /// Reading a map's contents back failed.
    #[error("reading the {map} map: {reason}")]
    Read { map: MapName, reason: String },

    /// An update or delete of one entry failed (map full, entry missing, ...).
    #[error("writing the {map} map: {reason}")]
    Write { map: MapName, reason: String },
}

impl MapError {
    /// A fixed label per variant for metrics (never a label per object).
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Read { .. } => "map_read",
            Self::Write { .. } => "map_write",
        }
    }
}

/// Errors of loading, pinning and attaching the datapath programs.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The BPF filesystem for the pins is missing and could not be mounted.
    #[error("bpffs at {path}: {reason}")]
    Bpffs {
        path: std::path::PathBuf,
        reason: String,
    },

    /// An embedded object failed to load (verifier, map creation, pin reuse).
    #[error("loading the {object} object: {reason}")]
    Load {
        object: &'static str,
        reason: String,
    },

    /// Reading the network interfaces failed.
    #[error("reading interface {interface}: {reason}")]
    Interface { interface: String, reason: String },

    /// Attaching, replacing, pinning or detaching a program on an interface failed.
    #[error("attaching {program} to {interface}: {reason}")]
    Attach {
        program: &'static str,
        interface: String,
        reason: String,
    },

    /// Writing the per-interface maps (MACs, node addresses) failed.
    #[error("writing the {map} map: {reason}")]
    Map { map: &'static str, reason: String },
}
