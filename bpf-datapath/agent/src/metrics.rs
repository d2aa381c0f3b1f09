//! The agent's metrics: the datapath's own counters, read from the pinned maps at scrape time
//! (the kernel keeps them; copying them on a timer would only make them stale), and the
//! agent's announcement results.
//!
//! Datapath series (`ferrule_datapath_*`), all counters from the BPF maps:
//! - `packets_total`, `bytes_total`, `drops_total{reason}` per `program` (`lb`,
//!   `l2_responder`; for the responder, packets are replies sent);
//! - `service_packets_total`, `service_bytes_total`, `service_drops_total{reason}` per
//!   `frontend` (`VIP:port/PROTO`, the key the datapath balances on);
//! - `responder_replies_total` per responder entry (`ifindex`, `address`).
//!
//! `ferrule_datapath_maps_readable` is 0 when the pins cannot be read (e.g. someone deleted
//! the pin directory), so an alert can tell "no traffic" from "no data".

use std::path::PathBuf;

use ferrule_bpf_loader::DatapathMaps as _;
use ferrule_bpf_loader::kernel::{KernelMaps, program_counters};
use ferrule_bpf_loader::model::{DropCounts, ServiceCounters};
use ferrule_runtime::Metrics;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric as _};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};

type Labels = Vec<(&'static str, String)>;

/// One scrape's worth of datapath counters.
#[derive(Debug, Default)]
struct Snapshot {
    programs: Vec<(&'static str, ServiceCounters)>,
    services: Vec<(String, ServiceCounters)>,
    responders: Vec<(u32, String, u64)>,
}

impl Snapshot {
    fn read(maps_dir: &std::path::Path) -> Result<Self, ferrule_bpf_loader::MapError> {
        let maps = KernelMaps::open_pinned(maps_dir)?;
        let programs = program_counters(maps_dir)?
            .into_iter()
            .map(|(p, c)| (p.label(), c))
            .collect();
        let services = maps
            .frontend_counters()?
            .into_iter()
            .map(|(f, c)| (f.to_string(), c))
            .collect();
        let responders = maps
            .responder_counters()?
            .into_iter()
            .map(|(k, c)| (k.ifindex, k.addr.to_string(), c.responses))
            .collect();
        Ok(Self {
            programs,
            services,
            responders,
        })
    }
}

/// Reads the pinned maps under `maps_dir` on every scrape.
#[derive(Debug)]
pub struct DatapathCollector {
    maps_dir: PathBuf,
}

impl DatapathCollector {
    pub fn new(maps_dir: impl Into<PathBuf>) -> Self {
        Self {
            maps_dir: maps_dir.into(),
        }
    }

    /// Adds the datapath series to `metrics`' registry.
    pub fn register(self, metrics: &Metrics) {
        metrics.with_registry(|r| r.register_collector(Box::new(self)));
    }
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: impl IntoIterator<Item = (Labels, u64)>,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in series {
        ConstCounter::new(value).encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

fn drops<'a>(base: &'a Labels, drops: &'a DropCounts) -> impl Iterator<Item = (Labels, u64)> + 'a {
    drops.nonzero().map(move |(reason, n)| {
        let mut labels = base.clone();
        labels.push(("reason", reason.to_owned()));
        (labels, n)
    })
}

impl Collector for DatapathCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snapshot = match Snapshot::read(&self.maps_dir) {
            Ok(s) => Some(s),
            Err(error) => {
                tracing::warn!(%error, dir = %self.maps_dir.display(), "datapath maps unreadable for metrics");
                None
            }
        };
        let readable = ConstGauge::new(i64::from(snapshot.is_some()));
        let metric = encoder.encode_descriptor(
            "ferrule_datapath_maps_readable",
            "1 when the pinned datapath maps could be read for this scrape",
            None,
            readable.metric_type(),
        )?;
        readable.encode(metric)?;
        let Some(s) = snapshot else { return Ok(()) };

        let by_program: Vec<(Labels, &ServiceCounters)> = s
            .programs
            .iter()
            .map(|(p, c)| (vec![("program", (*p).to_owned())], c))
            .collect();
        counter(
            &mut encoder,
            "ferrule_datapath_packets",
            "Packets a datapath program handled (the L2 responder: replies sent)",
            by_program.iter().map(|(l, c)| (l.clone(), c.packets)),
        )?;
        counter(
            &mut encoder,
            "ferrule_datapath_bytes",
            "Bytes a datapath program handled",
            by_program.iter().map(|(l, c)| (l.clone(), c.bytes)),
        )?;
        counter(
            &mut encoder,
            "ferrule_datapath_drops",
            "Packets a datapath program dropped (or passed untranslated), by reason",
            by_program.iter().flat_map(|(l, c)| drops(l, &c.drops)),
        )?;

        let by_frontend: Vec<(Labels, &ServiceCounters)> = s
            .services
            .iter()
            .map(|(f, c)| (vec![("frontend", f.clone())], c))
            .collect();
        counter(
            &mut encoder,
            "ferrule_datapath_service_packets",
            "Packets the load balancer translated for a frontend",
            by_frontend.iter().map(|(l, c)| (l.clone(), c.packets)),
        )?;
        counter(
            &mut encoder,
            "ferrule_datapath_service_bytes",
            "Bytes the load balancer translated for a frontend",
            by_frontend.iter().map(|(l, c)| (l.clone(), c.bytes)),
        )?;
        counter(
            &mut encoder,
            "ferrule_datapath_service_drops",
            "Packets to a frontend the load balancer dropped, by reason",
            by_frontend.iter().flat_map(|(l, c)| drops(l, &c.drops)),
        )?;
        counter(
            &mut encoder,
            "ferrule_datapath_responder_replies",
            "ARP / neighbour advertisement replies sent for a responder entry",
            s.responders.iter().map(|(ifindex, addr, n)| {
                (
                    vec![("ifindex", ifindex.to_string()), ("address", addr.clone())],
                    *n,
                )
            }),
        )?;
        Ok(())
    }
}

/// Gratuitous ARP / unsolicited NA outcomes, by `result` (`sent`, `failed`), and whether the
/// L2 responder is fenced (`ferrule_agent_l2_fenced`, 1 while this node's liveness Lease is
/// not seen renewed and its responder entries are withdrawn; see [`crate::l2_fence`]).
#[derive(Debug, Clone, Default)]
pub struct AgentMetrics {
    announcements: Family<Vec<(&'static str, &'static str)>, Counter>,
    l2_fenced: Gauge,
}

impl AgentMetrics {
    pub fn register(metrics: &Metrics) -> Self {
        let this = Self::default();
        metrics.register(
            "ferrule_agent_announcements",
            "Gratuitous ARP / unsolicited neighbour advertisements, by result",
            this.announcements.clone(),
        );
        metrics.register(
            "ferrule_agent_l2_fenced",
            "1 while this node withholds ARP / NDP answers because its liveness Lease is not seen renewed",
            this.l2_fenced.clone(),
        );
        this
    }

    pub fn set_l2_fenced(&self, fenced: bool) {
        self.l2_fenced.set(i64::from(fenced));
    }

    /// The current value of `ferrule_agent_l2_fenced`.
    pub fn l2_fenced(&self) -> bool {
        self.l2_fenced.get() != 0
    }

    pub fn announced(&self, sent: usize, failed: usize) {
        for (result, n) in [("sent", sent), ("failed", failed)] {
            if n > 0 {
                self.announcements
                    .get_or_create(&vec![("result", result)])
                    .inc_by(n as u64);
            }
        }
    }
}
