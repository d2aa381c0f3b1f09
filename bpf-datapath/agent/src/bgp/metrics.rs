//! The BGP series of the agent's /metrics, encoded from the last status snapshot at scrape
//! time (so sessions that went away leave no stale series):
//! - `ferrule_agent_bgp_problems`: configuration problems found in the node's BGP objects;
//! - `ferrule_agent_bgp_session_state{instance,peer}`: the session's FSM state as the BGP MIB
//!   numbers it (1 idle, 2 connect, 3 active, 4 opensent, 5 openconfirm, 6 established);
//! - `ferrule_agent_bgp_routes_advertised{instance,peer,family}`: prefixes advertised now.
//!
//! `peer` is the peer's address (Cilium's `neighbor`); `family` is `ipv4-unicast` or
//! `ipv6-unicast`.

use std::sync::{Arc, Mutex, PoisonError};

use ferrule_runtime::Metrics;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric as _};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;

use super::instances::SessionView;
use super::mapping::state_number;

type Labels = Vec<(&'static str, String)>;

#[derive(Debug, Default)]
struct Snapshot {
    problems: i64,
    sessions: Vec<(Labels, i64)>,
    advertised: Vec<(Labels, i64)>,
}

/// Shared between the loops that learn the values and the registry that encodes them.
#[derive(Debug, Clone, Default)]
pub struct BgpMetrics {
    snapshot: Arc<Mutex<Snapshot>>,
}

impl BgpMetrics {
    /// Adds the BGP series to `metrics`' registry.
    pub fn register(&self, metrics: &Metrics) {
        let collector = Box::new(self.clone());
        metrics.with_registry(|r| r.register_collector(collector));
    }

    pub fn set_problems(&self, count: usize) {
        self.lock().problems = i64::try_from(count).unwrap_or(i64::MAX);
    }

    pub fn set_sessions(&self, sessions: &[SessionView]) {
        let mut states = Vec::new();
        let mut advertised = Vec::new();
        for s in sessions {
            let base: Labels = vec![
                ("instance", s.instance.clone()),
                ("peer", s.status.address.to_string()),
            ];
            states.push((base.clone(), state_number(s.status.state)));
            for f in &s.status.families {
                let mut labels = base.clone();
                let family = format!("{}-{}", f.family.afi_name(), f.family.safi_name());
                labels.push(("family", family));
                advertised.push((labels, i64::from(f.advertised)));
            }
        }
        let mut snapshot = self.lock();
        snapshot.sessions = states;
        snapshot.advertised = advertised;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Snapshot> {
        self.snapshot.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn gauges(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: &[(Labels, i64)],
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in series {
        ConstGauge::new(*value).encode(metric.encode_family(labels)?)?;
    }
    Ok(())
}

impl Collector for BgpMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snapshot = self.lock();
        let problems = ConstGauge::new(snapshot.problems);
        let metric = encoder.encode_descriptor(
            "ferrule_agent_bgp_problems",
            "Configuration problems in this node's BGP objects (see the agent's log)",
            None,
            problems.metric_type(),
        )?;
        problems.encode(metric)?;
        gauges(
            &mut encoder,
            "ferrule_agent_bgp_session_state",
            "BGP session state: 1 idle, 2 connect, 3 active, 4 opensent, 5 openconfirm, 6 established",
            &snapshot.sessions,
        )?;
        gauges(
            &mut encoder,
            "ferrule_agent_bgp_routes_advertised",
            "Prefixes currently advertised to the peer, per address family",
            &snapshot.advertised,
        )
    }
}
