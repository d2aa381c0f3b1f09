//! Errors of the agent library. User mistakes (conflicting VIPs, unsupported protocols) are not
//! errors: the computation reports or skips them.

use ferrule_bpf_loader::MapError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the current map contents (adoption) failed.
    #[error("reading the datapath maps")]
    ReadMaps(#[source] MapError),

    /// Applying one operation failed after `applied` others succeeded; the next reconcile
    /// re-reads the maps and continues from wherever this one stopped.
    #[error("applying a map operation after {applied} succeeded")]
    ApplyOp {
        applied: usize,
        #[source]
        source: MapError,
    },

    /// Sending a gratuitous ARP / unsolicited neighbour advertisement failed.
    #[error("announcing {addr} on interface {ifindex}: {reason}")]
    Announce {
        ifindex: u32,
        addr: std::net::IpAddr,
        reason: String,
    },

    /// A watch stream ended (the watcher retries with backoff, so only shutdown ends it).
    #[error("the Service/EndpointSlice watch ended")]
    WatchEnded,

    /// Rendering `state -o json` failed.
    #[error("rendering the state as JSON")]
    RenderJson(#[source] serde_json::Error),
}

impl Error {
    /// A fixed label per variant for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::ReadMaps(_) => "read_maps",
            Self::ApplyOp { .. } => "apply_op",
            Self::Announce { .. } => "announce",
            Self::RenderJson(_) => "render_json",
            Self::WatchEnded => "watch_ended",
        }
    }
}

impl ferrule_runtime::MetricLabel for Error {
    fn metric_label(&self) -> &'static str {
        Error::metric_label(self)
    }
}
