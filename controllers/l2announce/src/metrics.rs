//! `ferrule_l2announce_*` metrics. Labels are fixed sets, never object names.

use ferrule_runtime::Metrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

/// How one liveness Lease round ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenewResult {
    Success,
    /// The agent's health check failed: not renewed on purpose.
    AgentUnhealthy,
    /// The API call failed or timed out.
    Error,
    /// No renewal succeeded for the renew deadline.
    DeadlineMissed,
    /// Another identity holds this node's Lease.
    HeldByOther,
}

impl RenewResult {
    fn label(self) -> &'static str {
        match self {
            RenewResult::Success => "success",
            RenewResult::AgentUnhealthy => "agent_unhealthy",
            RenewResult::Error => "error",
            RenewResult::DeadlineMissed => "deadline_missed",
            RenewResult::HeldByOther => "held_by_other",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WriteLabels {
    kind: String,
    result: String,
}

/// Handles to the announcer's metrics; cheap to clone.
#[derive(Debug, Clone)]
pub struct AnnouncerMetrics {
    announced_services: Gauge,
    live_nodes: Gauge,
    renewals: Family<ResultLabels, Counter>,
    writes: Family<WriteLabels, Counter>,
}

impl AnnouncerMetrics {
    pub fn register(metrics: &Metrics) -> Self {
        let this = Self {
            announced_services: Gauge::default(),
            live_nodes: Gauge::default(),
            renewals: Family::default(),
            writes: Family::default(),
        };
        metrics.register(
            "ferrule_l2announce_announced_services",
            "Services this node announces (as written into its NodeL2Announcement)",
            this.announced_services.clone(),
        );
        metrics.register(
            "ferrule_l2announce_live_nodes",
            "Nodes whose liveness Lease is current, as judged by this announcer",
            this.live_nodes.clone(),
        );
        metrics.register(
            "ferrule_l2announce_lease_renewals",
            "Liveness Lease rounds, by result (success, agent_unhealthy, error, deadline_missed, held_by_other)",
            this.renewals.clone(),
        );
        metrics.register(
            "ferrule_l2announce_writes",
            "Writes issued, by kind (announcement, stale_announcement, policy_status) and result",
            this.writes.clone(),
        );
        this
    }

    pub fn renewal(&self, result: RenewResult) {
        self.renewals
            .get_or_create(&ResultLabels {
                result: result.label().to_owned(),
            })
            .inc();
    }

    pub fn write(&self, kind: &'static str, result: &str) {
        self.writes
            .get_or_create(&WriteLabels {
                kind: kind.to_owned(),
                result: result.to_owned(),
            })
            .inc();
    }

    pub fn set_state(&self, announced_services: usize, live_nodes: usize) {
        self.announced_services
            .set(i64::try_from(announced_services).unwrap_or(i64::MAX));
        self.live_nodes
            .set(i64::try_from(live_nodes).unwrap_or(i64::MAX));
    }
}
