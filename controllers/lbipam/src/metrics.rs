//! `ferrule_lbipam_*` metrics, registered into the runtime's registry. Labels are fixed sets
//! (write kinds, results, IP families), never object names.

use ferrule_runtime::Metrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Unit;

/// What a status write was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// A Service's ingress IPs and condition.
    ServiceStatus,
    /// Giving up a Service LB-IPAM no longer manages (empty status apply).
    ServiceRelease,
    /// A pool's conditions.
    PoolStatus,
}

impl WriteKind {
    fn label(self) -> &'static str {
        match self {
            WriteKind::ServiceStatus => "service_status",
            WriteKind::ServiceRelease => "service_release",
            WriteKind::PoolStatus => "pool_status",
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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FamilyLabels {
    family: String,
}

/// Plan durations from 100µs to 10s: a plan of 10,000 services should take milliseconds.
const PLAN_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 1.0, 10.0,
];

/// Handles to LB-IPAM's metrics; cheap to clone.
#[derive(Debug, Clone)]
pub struct LbipamMetrics {
    passes: Family<ResultLabels, Counter>,
    writes: Family<WriteLabels, Counter>,
    allocations: Family<FamilyLabels, Gauge>,
    services: Gauge,
    pools: Gauge,
    plan_duration: Histogram,
}

impl LbipamMetrics {
    /// Registers every `ferrule_lbipam_*` metric into `metrics`.
    pub fn register(metrics: &Metrics) -> Self {
        let this = Self {
            passes: Family::default(),
            writes: Family::default(),
            allocations: Family::default(),
            services: Gauge::default(),
            pools: Gauge::default(),
            plan_duration: Histogram::new(PLAN_BUCKETS),
        };
        metrics.register(
            "ferrule_lbipam_passes",
            "Whole-cluster reconcile passes, by result (success or an error label)",
            this.passes.clone(),
        );
        metrics.register(
            "ferrule_lbipam_writes",
            "Status writes issued, by kind (service_status, service_release, pool_status) and result",
            this.writes.clone(),
        );
        metrics.register(
            "ferrule_lbipam_allocations",
            "LoadBalancer IPs currently assigned to managed Services, by IP family",
            this.allocations.clone(),
        );
        metrics.register(
            "ferrule_lbipam_services",
            "Services LB-IPAM manages (type LoadBalancer, recognised class)",
            this.services.clone(),
        );
        metrics.register(
            "ferrule_lbipam_pools",
            "CiliumLoadBalancerIPPools observed",
            this.pools.clone(),
        );
        metrics.register_with_unit(
            "ferrule_lbipam_plan_duration",
            "Time the pure core takes to plan the whole cluster",
            Unit::Seconds,
            this.plan_duration.clone(),
        );
        this
    }

    /// Counts one finished pass.
    pub fn pass(&self, result: &str) {
        self.passes
            .get_or_create(&ResultLabels {
                result: result.to_owned(),
            })
            .inc();
    }

    /// Counts one status write.
    pub fn write(&self, kind: WriteKind, result: &str) {
        self.writes
            .get_or_create(&WriteLabels {
                kind: kind.label().to_owned(),
                result: result.to_owned(),
            })
            .inc();
    }

    /// Records how long planning took.
    pub fn plan_duration(&self, seconds: f64) {
        self.plan_duration.observe(seconds);
    }

    /// Sets the gauges from a plan's outcome.
    pub fn set_state(&self, services: usize, pools: usize, ipv4: usize, ipv6: usize) {
        self.services.set(saturating_i64(services));
        self.pools.set(saturating_i64(pools));
        for (family, count) in [("ipv4", ipv4), ("ipv6", ipv6)] {
            self.allocations
                .get_or_create(&FamilyLabels {
                    family: family.to_owned(),
                })
                .set(saturating_i64(count));
        }
    }
}

fn saturating_i64(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
