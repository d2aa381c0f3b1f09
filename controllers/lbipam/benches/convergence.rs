//! Convergence benchmark of the real `ferrule-lbipam` binary against ferrule-testapi.
//!
//! 1. 10,000 LoadBalancer Services over 50 pools (25 IPv4, 25 IPv6; IPv4, IPv6, dual-stack
//!    and sharing-key services) are created at once: time until every one is satisfied, API
//!    writes issued, peak RSS of the binary.
//! 2. Restart with every service allocated: time to ready, time to the first full pass,
//!    writes issued, reassignments.
//!
//! `cargo bench -p ferrule-lbipam --bench convergence` (release build of the binary);
//! `FERRULE_BENCH_SERVICES=1000` for a quick run, `FERRULE_BENCH_POOLS` for the pool count.

#[path = "../tests/support/mod.rs"]
mod support;

use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, PostParams};
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher;
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};
use support::{Cluster, Controller, PoolBuilder, ServiceBuilder, condition_of, ips_of};

/// Flags for the benchmark: release-like logging, and a client rate limit that lets the
/// API server, not the client, set the pace.
const FLAGS: &[&str] = &[
    "--log-level",
    "info",
    "--kube-api-qps",
    "20000",
    "--kube-api-burst",
    "40000",
    "--resync-period",
    "10m",
];
/// Creations in flight at once, from the benchmark's own client.
const CREATE_CONCURRENCY: usize = 64;

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Service `i`: its spec and how many IPs it should end up with.
fn service(i: usize, groups: usize) -> (ServiceBuilder, usize) {
    let group = i % groups;
    let base =
        ServiceBuilder::new("default", &format!("svc-{i:05}")).label("group", &format!("g{group}"));
    match i % 20 {
        // 15 %: IPv6 only.
        0..=2 => (base.policy("SingleStack", &["IPv6"]), 1),
        // 15 %: dual-stack.
        3..=5 => (base.policy("RequireDualStack", &["IPv4", "IPv6"]), 2),
        // 10 %: sharing an IP in pairs (different ports).
        6 | 7 => (
            base.annotation("lbipam.cilium.io/sharing-key", &format!("pair-{}", i / 20))
                .ports(&[(8000 + (i % 20) as i32, "TCP")]),
            1,
        ),
        // 60 %: IPv4.
        _ => (base, 1),
    }
}

fn pools(count: usize) -> Vec<PoolBuilder> {
    let groups = count / 2;
    let mut pools = Vec::new();
    for g in 0..groups {
        let selector = serde_json::json!({"matchLabels": {"group": format!("g{g}")}});
        // 198.18.0.0/15 (benchmarking range) cut into /20s: 4096 addresses per group.
        let v4 = format!("198.{}.{}.0/20", 18 + (g / 16), (g % 16) * 16);
        pools.push(
            PoolBuilder::new(&format!("v4-g{g}"))
                .cidr(&v4)
                .selector(selector.clone()),
        );
        let v6 = format!("2001:db8:{g:x}::/64");
        pools.push(
            PoolBuilder::new(&format!("v6-g{g}"))
                .cidr(&v6)
                .selector(selector),
        );
    }
    pools
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Waits until every service is satisfied with its expected IP count, watching.
async fn all_satisfied(client: &kube::Client, expected: &BTreeMap<String, usize>) -> Duration {
    let started = Instant::now();
    let api: Api<Service> = Api::namespaced(client.clone(), "default");
    let mut done: HashSet<String> = HashSet::new();
    let mut events =
        std::pin::pin!(watcher::watcher(api, watcher::Config::default()).default_backoff());
    while done.len() < expected.len() {
        let Some(event) = tokio::time::timeout(Duration::from_secs(120), events.try_next())
            .await
            .expect("progress within two minutes")
            .expect("the watch runs")
        else {
            panic!("the watch ended");
        };
        let services: Vec<Service> = match event {
            watcher::Event::Apply(s) | watcher::Event::InitApply(s) => vec![s],
            _ => Vec::new(),
        };
        for svc in services {
            let name = svc.metadata.name.clone().unwrap_or_default();
            let satisfied = condition_of(&svc).is_some_and(|c| c.status == "True")
                && Some(&ips_of(&svc).len()) == expected.get(&name);
            if satisfied {
                done.insert(name);
            } else {
                done.remove(&name);
            }
        }
    }
    started.elapsed()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let services = env_count("FERRULE_BENCH_SERVICES", 10_000);
    let pool_count = env_count("FERRULE_BENCH_POOLS", 50).max(2);
    let cluster = Cluster::start().await;
    for pool in pools(pool_count) {
        cluster.apply_pool(&pool).await;
    }
    let groups = pool_count / 2;
    let specs: Vec<(ServiceBuilder, usize)> = (0..services).map(|i| service(i, groups)).collect();
    let expected: BTreeMap<String, usize> =
        specs.iter().map(|(s, n)| (s.name.clone(), *n)).collect();

    let mut lbipam = Controller::start(&cluster, "lbipam-0", FLAGS).await;
    support::eventually("leadership", support::WITHIN, || async {
        lbipam.is_leader().then_some(())
    })
    .await;
    cluster.api.server().requests.reset();

    // Every service at once; the clock runs from the first creation.
    let started = Instant::now();
    let watch = {
        let client = cluster.client.clone();
        let expected = expected.clone();
        tokio::spawn(async move { all_satisfied(&client, &expected).await })
    };
    let api: Api<Service> = cluster.services("default");
    futures::stream::iter(specs.iter())
        .map(|(spec, _)| {
            let api = api.clone();
            async move {
                let object: Service = serde_json::from_value(spec.json()).expect("a valid Service");
                api.create(&PostParams::default(), &object)
                    .await
                    .expect("created");
            }
        })
        .buffer_unordered(CREATE_CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
    let created = started.elapsed();
    watch.await.expect("the watcher task");
    let converged = started.elapsed();
    // Let the last passes finish (pool counts), then count.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let requests = &cluster.api.server().requests;
    let service_writes = requests.count("patch", "services", "status");
    let pool_writes = requests.count("patch", "ciliumloadbalancerippools", "status");
    let event_writes = requests.writes("events");
    let rss = peak_rss_kib(lbipam.pid());
    let passes = lbipam
        .metric("ferrule_lbipam_passes_total{result=\"success\"}")
        .unwrap_or(0.0);
    let before = cluster.all_ips().await;

    // Restart with everything allocated.
    lbipam.stop().await;
    requests.reset();
    let restarted = Controller::start(&cluster, "lbipam-1", FLAGS).await;
    let ready = restarted.ready_after;
    let first_pass = support::eventually(
        "a pass after the restart",
        Duration::from_secs(60),
        || async {
            restarted
                .metric("ferrule_lbipam_passes_total{result=\"success\"}")
                .filter(|p| *p >= 1.0)
                .map(|_| restarted.started.elapsed())
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let restart_writes = cluster.controller_writes();
    let after = cluster.all_ips().await;
    let reassigned = before
        .iter()
        .filter(|(k, v)| after.get(*k) != Some(v))
        .count();
    let restart_rss = peak_rss_kib(restarted.pid());
    let ips: usize = before.values().map(Vec::len).sum();

    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "ferrule-lbipam convergence ({services} services, {pool_count} pools, {ips} IPs in status, {cpus} CPUs)"
    );
    println!("{:<44} {:>14}", "measure", "value");
    println!("{:<44} {:>14}", "-".repeat(44), "-".repeat(14));
    let row = |name: &str, value: String| println!("{name:<44} {value:>14}");
    row(
        "create all services (client side)",
        format!("{:.2} s", created.as_secs_f64()),
    );
    row(
        "first create → all satisfied",
        format!("{:.2} s", converged.as_secs_f64()),
    );
    row("service status writes", service_writes.to_string());
    row(
        "  per service",
        format!("{:.3}", service_writes as f64 / services as f64),
    );
    row("pool status writes", pool_writes.to_string());
    row("event writes", event_writes.to_string());
    row("passes", format!("{passes}"));
    row(
        "peak RSS (VmHWM)",
        format!("{:.1} MiB", rss as f64 / 1024.0),
    );
    row(
        "restart: spawn → /readyz 200",
        format!("{:.2} s", ready.as_secs_f64()),
    );
    row(
        "restart: spawn → first pass done",
        format!("{:.2} s", first_pass.as_secs_f64()),
    );
    row(
        "restart: writes (status + events)",
        restart_writes.to_string(),
    );
    row("restart: services reassigned", reassigned.to_string());
    row(
        "restart: peak RSS (VmHWM)",
        format!("{:.1} MiB", restart_rss as f64 / 1024.0),
    );
}
