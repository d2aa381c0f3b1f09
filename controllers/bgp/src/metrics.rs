//! `ferrule_bgp_*` metrics, registered into the runtime's registry. Labels are fixed sets
//! (write kinds, results), never object names.

use ferrule_runtime::Metrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

/// What a write was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    NodeConfig,
    NodeConfigDelete,
    ClusterConfigStatus,
    PeerConfigStatus,
}

impl WriteKind {
    fn label(self) -> &'static str {
        match self {
            WriteKind::NodeConfig => "node_config",
            WriteKind::NodeConfigDelete => "node_config_delete",
            WriteKind::ClusterConfigStatus => "cluster_config_status",
            WriteKind::PeerConfigStatus => "peer_config_status",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WriteLabels {
    kind: &'static str,
    result: &'static str,
}

/// The controller's own metrics.
#[derive(Debug, Clone, Default)]
pub struct BgpMetrics {
    writes: Family<WriteLabels, Counter>,
    node_configs: Gauge,
    conflicting_cluster_configs: Gauge,
}

impl BgpMetrics {
    pub fn register(metrics: &Metrics) -> Self {
        let this = Self::default();
        metrics.register(
            "ferrule_bgp_writes",
            "Writes to the API server, by kind and result",
            this.writes.clone(),
        );
        metrics.register(
            "ferrule_bgp_node_configs",
            "CiliumBGPNodeConfigs the last pass derived",
            this.node_configs.clone(),
        );
        metrics.register(
            "ferrule_bgp_conflicting_cluster_configs",
            "CiliumBGPClusterConfigs that lost nodes to another config in the last pass",
            this.conflicting_cluster_configs.clone(),
        );
        this
    }

    pub fn write(&self, kind: WriteKind, result: &'static str) {
        self.writes
            .get_or_create(&WriteLabels {
                kind: kind.label(),
                result,
            })
            .inc();
    }

    pub fn set_state(&self, node_configs: usize, conflicting: usize) {
        self.node_configs
            .set(i64::try_from(node_configs).unwrap_or(i64::MAX));
        self.conflicting_cluster_configs
            .set(i64::try_from(conflicting).unwrap_or(i64::MAX));
    }
}
