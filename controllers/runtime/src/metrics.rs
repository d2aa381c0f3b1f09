//! The Prometheus registry every binary exposes on /metrics, with the metrics shared by all
//! controllers. Feature crates register their own `ferrule_<feature>_*` metrics into it.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Metric, Registry, Unit};

use crate::error::MetricLabel;

/// Result label of a successful reconcile.
pub const RESULT_SUCCESS: &str = "success";
/// Result label of a reconcile whose future was dropped before it finished (e.g. shutdown).
pub const RESULT_CANCELLED: &str = "cancelled";

/// Reconcile durations from 1ms to 10s: controllers that take longer are broken, not slow.
const DURATION_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    controller: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ControllerLabels {
    controller: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LeaseLabels {
    lease: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// Shared handle to the registry and the common metrics; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Mutex<Registry>,
    reconcile_total: Family<ResultLabels, Counter>,
    reconcile_duration: HistogramFamily<ControllerLabels>,
    leader: Family<LeaseLabels, Gauge>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry holding `ferrule_reconcile_total`, `ferrule_reconcile_duration_seconds` and
    /// `ferrule_leader`.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let reconcile_total = Family::<ResultLabels, Counter>::default();
        // The counter suffix `_total` is added by the encoder.
        registry.register(
            "ferrule_reconcile",
            "Reconciles run, by controller and result (success or an error label)",
            reconcile_total.clone(),
        );
        let reconcile_duration: HistogramFamily<ControllerLabels> =
            Family::new_with_constructor(duration_histogram);
        registry.register_with_unit(
            "ferrule_reconcile_duration",
            "Time spent in one reconcile, by controller",
            Unit::Seconds,
            reconcile_duration.clone(),
        );
        let leader = Family::<LeaseLabels, Gauge>::default();
        registry.register(
            "ferrule_leader",
            "1 while this process holds the leader-election Lease, else 0",
            leader.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry: Mutex::new(registry),
                reconcile_total,
                reconcile_duration,
                leader,
            }),
        }
    }

    /// Starts timing one reconcile of `controller` (a fixed name such as `"lbipam"`, never an
    /// object key). Finish it with [`ReconcileTimer::finish`] or [`ReconcileTimer::observe`].
    pub fn reconcile_started(&self, controller: &str) -> ReconcileTimer {
        ReconcileTimer {
            metrics: self.clone(),
            controller: controller.to_owned(),
            started: Instant::now(),
            finished: false,
        }
    }

    /// Records whether this process holds the Lease `lease`.
    pub fn set_leader(&self, lease: &str, leading: bool) {
        self.inner
            .leader
            .get_or_create(&LeaseLabels {
                lease: lease.to_owned(),
            })
            .set(i64::from(leading));
    }

    /// Registers a feature crate's metric. Name it `ferrule_<feature>_<what>`; counters get
    /// `_total` appended by the encoder.
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        self.with_registry(|registry| registry.register(name, help, metric));
    }

    /// Like [`Metrics::register`] with a unit suffix (e.g. `Unit::Seconds`).
    pub fn register_with_unit(&self, name: &str, help: &str, unit: Unit, metric: impl Metric) {
        self.with_registry(|registry| registry.register_with_unit(name, help, unit, metric));
    }

    /// Full access to the registry, e.g. for sub-registries or collectors.
    pub fn with_registry<T>(&self, f: impl FnOnce(&mut Registry) -> T) -> T {
        // A panic while registering leaves the registry usable; keep serving metrics.
        let mut registry = self
            .inner
            .registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        f(&mut registry)
    }

    /// The registry in OpenMetrics text format, ending in `# EOF`.
    pub fn encode(&self) -> Result<String, fmt::Error> {
        let mut text = String::new();
        self.with_registry(|registry| {
            prometheus_client::encoding::text::encode(&mut text, registry)
        })?;
        Ok(text)
    }

    fn record(&self, controller: String, result: &str, seconds: f64) {
        self.inner
            .reconcile_duration
            .get_or_create(&ControllerLabels {
                controller: controller.clone(),
            })
            .observe(seconds);
        self.inner
            .reconcile_total
            .get_or_create(&ResultLabels {
                controller,
                result: result.to_owned(),
            })
            .inc();
    }
}

/// Times one reconcile; records `ferrule_reconcile_total` and
/// `ferrule_reconcile_duration_seconds` once finished. Dropped unfinished (the reconcile future
/// was cancelled), it records the result `cancelled`.
#[derive(Debug)]
#[must_use = "a reconcile timer records nothing until finished"]
pub struct ReconcileTimer {
    metrics: Metrics,
    controller: String,
    started: Instant,
    finished: bool,
}

impl ReconcileTimer {
    /// Records the reconcile with a fixed result label (`"success"` or an error's label).
    pub fn finish(mut self, result: &'static str) {
        self.record(result);
    }

    /// Records the reconcile from its outcome: `success`, or the error's
    /// [`MetricLabel::metric_label`].
    pub fn observe<T, E: MetricLabel>(self, outcome: &Result<T, E>) {
        let label = match outcome {
            Ok(_) => RESULT_SUCCESS,
            Err(error) => error.metric_label(),
        };
        self.finish(label);
    }

    fn record(&mut self, result: &str) {
        if self.finished {
            return;
        }
        self.finished = true;
        let seconds = self.started.elapsed().as_secs_f64();
        self.metrics
            .record(std::mem::take(&mut self.controller), result, seconds);
    }
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        self.record(RESULT_CANCELLED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Failure;

    impl MetricLabel for Failure {
        fn metric_label(&self) -> &'static str {
            "apply_service_status"
        }
    }

    fn encoded(metrics: &Metrics) -> String {
        metrics.encode().expect("the registry should encode")
    }

    #[test]
    fn reconciles_are_counted_by_controller_and_result() {
        let metrics = Metrics::new();
        metrics.reconcile_started("lbipam").finish(RESULT_SUCCESS);
        metrics
            .reconcile_started("lbipam")
            .observe(&Ok::<(), Failure>(()));
        metrics
            .reconcile_started("lbipam")
            .observe(&Err::<(), _>(Failure));
        let text = encoded(&metrics);
        assert!(
            text.contains(r#"ferrule_reconcile_total{controller="lbipam",result="success"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"ferrule_reconcile_total{controller="lbipam",result="apply_service_status"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"ferrule_reconcile_duration_seconds_count{controller="lbipam"} 3"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"ferrule_reconcile_duration_seconds_bucket{le="10.0",controller="lbipam"} 3"#
            ),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn dropped_timer_counts_as_cancelled() {
        let metrics = Metrics::new();
        drop(metrics.reconcile_started("bgp"));
        let text = encoded(&metrics);
        assert!(
            text.contains(r#"ferrule_reconcile_total{controller="bgp",result="cancelled"} 1"#),
            "{text}"
        );
    }

    #[test]
    fn leader_gauge_follows_leadership() {
        let metrics = Metrics::new();
        metrics.set_leader("ferrule-lbipam", true);
        assert!(encoded(&metrics).contains(r#"ferrule_leader{lease="ferrule-lbipam"} 1"#));
        metrics.set_leader("ferrule-lbipam", false);
        assert!(encoded(&metrics).contains(r#"ferrule_leader{lease="ferrule-lbipam"} 0"#));
    }

    #[test]
    fn feature_metrics_share_the_registry() {
        let metrics = Metrics::new();
        let pools: Gauge = Gauge::default();
        metrics.register("ferrule_lbipam_pools", "IP pools known", pools.clone());
        pools.set(3);
        assert!(encoded(&metrics).contains("ferrule_lbipam_pools 3"));
    }
}
