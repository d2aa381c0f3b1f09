//! The watch fan-out workload, shared by the benchmark and its smoke test: N kube-rs watchers on
//! one namespace's ConfigMaps while objects are created with bounded concurrency; each object
//! carries its send time so every watcher can measure its own delivery latency.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use ferrule_testapi::TestApi;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use kube::runtime::watcher::{self, Event};
use tokio::sync::watch as signal;

/// The annotation holding the client's send time, in microseconds since the run's epoch.
const SENT: &str = "bench.ferrule.io/sent-micros";
const NAMESPACE: &str = "default";

/// The shape of one run.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    pub objects: usize,
    pub watchers: usize,
    pub in_flight: usize,
    /// Give up waiting for deliveries after this long.
    pub deadline: Duration,
}

/// What one watcher saw.
#[derive(Debug, Default)]
pub struct WatcherLog {
    /// Apply events per object name: exactly one each in a correct run.
    pub deliveries: BTreeMap<String, u32>,
    /// Send-to-receive latency of each delivery, in microseconds.
    pub latencies_us: Vec<u64>,
    /// Initial lists the watcher did (1 unless it had to relist).
    pub relists: usize,
}

/// Memory of this process (server and clients together), from /proc/self/status.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss_kib: u64,
    pub peak_kib: u64,
}

impl Memory {
    pub fn now() -> Self {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kib| kib.parse().ok())
                .unwrap_or(0)
        };
        Self {
            rss_kib: field("VmRSS:"),
            peak_kib: field("VmHWM:"),
        }
    }
}

#[derive(Debug)]
pub struct Report {
    pub setup: Setup,
    pub create_elapsed: Duration,
    pub deliver_elapsed: Duration,
    pub watchers: Vec<WatcherLog>,
    pub before: Memory,
    pub after: Memory,
}

impl Report {
    pub fn creates_per_second(&self) -> f64 {
        self.setup.objects as f64 / self.create_elapsed.as_secs_f64()
    }

    /// Latency percentile (0..=100) over every delivery of every watcher.
    pub fn latency_percentile(&self, percentile: f64) -> Duration {
        let mut all: Vec<u64> = self
            .watchers
            .iter()
            .flat_map(|w| w.latencies_us.iter().copied())
            .collect();
        if all.is_empty() {
            return Duration::ZERO;
        }
        all.sort_unstable();
        let rank = ((percentile / 100.0) * (all.len() - 1) as f64).round() as usize;
        Duration::from_micros(all[rank.min(all.len() - 1)])
    }

    pub fn deliveries(&self) -> u64 {
        self.watchers
            .iter()
            .flat_map(|w| w.deliveries.values())
            .map(|n| u64::from(*n))
            .sum()
    }

    /// The result as a two-column table.
    pub fn table(&self) -> String {
        let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);
        let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
        let rows = [
            ("objects created", self.setup.objects.to_string()),
            ("watchers", self.setup.watchers.to_string()),
            ("creates in flight", self.setup.in_flight.to_string()),
            (
                "create throughput",
                format!(
                    "{:.0} objects/s ({:.2} s)",
                    self.creates_per_second(),
                    self.create_elapsed.as_secs_f64()
                ),
            ),
            (
                "deliveries",
                format!(
                    "{} of {}",
                    self.deliveries(),
                    self.setup.objects * self.setup.watchers
                ),
            ),
            ("delivery latency p50", ms(self.latency_percentile(50.0))),
            ("delivery latency p99", ms(self.latency_percentile(99.0))),
            ("delivery latency max", ms(self.latency_percentile(100.0))),
            (
                "all delivered after",
                format!("{:.2} s", self.deliver_elapsed.as_secs_f64()),
            ),
            ("VmRSS before", mib(self.before.rss_kib)),
            ("VmRSS after", mib(self.after.rss_kib)),
            ("VmHWM (peak) after", mib(self.after.peak_kib)),
        ];
        let mut out = String::new();
        for (name, value) in rows {
            out.push_str(&format!("| {name:<22} | {value:>26} |\n"));
        }
        out
    }
}

/// Starts a server, runs the workload against it, and reports.
pub async fn run(setup: Setup) -> anyhow::Result<Report> {
    let server = TestApi::start().await.context("starting ferrule-testapi")?;
    let before = Memory::now();
    let epoch = Instant::now();
    let (stop, stopped) = signal::channel(false);
    let mut logs = Vec::new();
    let mut ready = Vec::new();
    let mut tasks = Vec::new();
    for _ in 0..setup.watchers {
        // One client per watcher, as separate controllers would have.
        let client = server.client().await.context("building a watcher client")?;
        let log = Arc::new(Mutex::new(WatcherLog::default()));
        let seen = Arc::new(AtomicUsize::new(0));
        let (listed, is_listed) = signal::channel(false);
        tasks.push(tokio::spawn(watch(
            Api::namespaced(client, NAMESPACE),
            epoch,
            log.clone(),
            seen.clone(),
            listed,
            stopped.clone(),
        )));
        logs.push((log, seen));
        ready.push(is_listed);
    }
    for mut is_listed in ready {
        tokio::time::timeout(setup.deadline, is_listed.wait_for(|listed| *listed))
            .await
            .context("a watcher did not finish its initial list")?
            .context("a watcher ended before listing")?;
    }

    let client = server
        .client()
        .await
        .context("building the writer client")?;
    let cms: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let started = Instant::now();
    futures::stream::iter(0..setup.objects)
        .map(|i| {
            let cms = cms.clone();
            async move {
                let cm = ConfigMap {
                    metadata: ObjectMeta {
                        name: Some(format!("cm-{i:06}")),
                        annotations: Some(BTreeMap::from([(
                            SENT.to_owned(),
                            micros(epoch.elapsed()).to_string(),
                        )])),
                        ..ObjectMeta::default()
                    },
                    data: Some(BTreeMap::from([("index".to_owned(), i.to_string())])),
                    ..ConfigMap::default()
                };
                cms.create(&PostParams::default(), &cm).await
            }
        })
        .buffer_unordered(setup.in_flight)
        .try_for_each(|_| async { Ok(()) })
        .await
        .context("creating a ConfigMap")?;
    let create_elapsed = started.elapsed();

    let all_seen = async {
        while logs
            .iter()
            .any(|(_, seen)| seen.load(Ordering::Relaxed) < setup.objects)
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let waited = tokio::time::timeout(setup.deadline, all_seen).await;
    let deliver_elapsed = started.elapsed();
    // A short grace period lets a duplicate delivery show up before the watchers stop.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = stop.send(true);
    for task in tasks {
        task.await.context("a watcher task panicked")?;
    }
    let after = Memory::now();
    if waited.is_err() {
        let seen: Vec<usize> = logs
            .iter()
            .map(|(_, s)| s.load(Ordering::Relaxed))
            .collect();
        bail!(
            "not every watcher saw every object within {:?}: {seen:?}",
            setup.deadline
        );
    }
    let watchers = logs
        .into_iter()
        .map(|(log, _)| std::mem::take(&mut *log.lock().unwrap_or_else(|e| e.into_inner())))
        .collect();
    drop(server);
    Ok(Report {
        setup,
        create_elapsed,
        deliver_elapsed,
        watchers,
        before,
        after,
    })
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// One watcher: records each delivery until told to stop.
async fn watch(
    cms: Api<ConfigMap>,
    epoch: Instant,
    log: Arc<Mutex<WatcherLog>>,
    seen: Arc<AtomicUsize>,
    listed: signal::Sender<bool>,
    mut stop: signal::Receiver<bool>,
) {
    let mut events = watcher::watcher(cms, watcher::Config::default()).boxed();
    loop {
        let event = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            event = events.next() => event,
        };
        let Some(event) = event else { return };
        let received = micros(epoch.elapsed());
        let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Ok(Event::Init) => log.relists += 1,
            Ok(Event::InitDone) => {
                let _ = listed.send(true);
            }
            Ok(Event::Apply(cm)) => {
                let name = cm.metadata.name.clone().unwrap_or_default();
                let count = log.deliveries.entry(name).or_default();
                *count += 1;
                if *count == 1 {
                    seen.fetch_add(1, Ordering::Relaxed);
                }
                let sent = cm
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(SENT))
                    .and_then(|s| s.parse::<u64>().ok());
                if let Some(sent) = sent {
                    log.latencies_us.push(received.saturating_sub(sent));
                }
            }
            // Objects only appear in this workload; deletions and relists are counted as
            // anomalies by the caller through `relists`.
            Ok(Event::InitApply(_) | Event::Delete(_)) => {}
            Err(error) => eprintln!("watcher error: {error}"),
        }
    }
}
