//! LB-IPAM core benchmark: the allocator in a /8 and a /64, and `plan()` over 10,000 services
//! and 50 pools. A plain `main` printing a table:
//!
//!     cargo bench -p ferrule-lbipam --bench allocator
//!
//! Memory per allocation is the growth of this process's resident set (VmRSS in
//! /proc/self/status) while the allocations are held, divided by their number. Each memory
//! scenario runs in a fresh child process (this binary re-executed), so memory freed by an
//! earlier scenario cannot hide the growth of a later one. All addresses are numbers in
//! memory; nothing touches a network.

use ferrule_lbipam::core::allocator::RangeAllocator;
use ferrule_lbipam::core::model::{Config, Input, ServicePlan};
use ferrule_lbipam::core::plan;
use ferrule_lbipam::core::ranges::{IpRange, parse_cidr};
use ferrule_lbipam::core::testing::{Pool, Svc, written};
use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

const COUNT: u128 = 1_000_000;
const CHILD_ENV: &str = "FERRULE_ALLOCATOR_BENCH_SCENARIO";

fn main() {
    if let Ok(scenario) = std::env::var(CHILD_ENV) {
        run_child(&scenario);
        return;
    }
    println!("LB-IPAM allocator: {COUNT} allocations, then {COUNT} releases");
    println!(
        "{:<36} {:>12} {:>12} {:>12} {:>10}",
        "scenario", "ns/allocate", "ns/release", "bytes/alloc", "fragments"
    );
    for scenario in [
        "v4-8-next",
        "v4-8-scattered",
        "v6-64-next",
        "v6-64-scattered",
    ] {
        match child(scenario) {
            Some(line) => println!("{line}"),
            None => println!("{scenario:<36} (child failed)"),
        }
    }
    println!();
    plan_benchmark();
}

/// Runs one scenario in a fresh process and returns its table row.
fn child(scenario: &str) -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let out = Command::new(exe).env(CHILD_ENV, scenario).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn range(cidr: &str) -> IpRange {
    match parse_cidr(cidr) {
        Ok(r) => r,
        Err(e) => panic!("benchmark CIDR {cidr}: {e}"),
    }
}

/// One allocator scenario: "next" takes the lowest free address each time (the planner's
/// path; taken addresses merge into one run), "scattered" takes every other address as a
/// specific request (the worst case for the run-length store: one run per allocation).
fn run_child(scenario: &str) {
    let (cidr, scattered) = match scenario {
        // Only the plan() part, for profiling: FERRULE_ALLOCATOR_BENCH_SCENARIO=plan.
        "plan" => return plan_benchmark(),
        "v4-8-next" => ("10.0.0.0/8", false),
        "v4-8-scattered" => ("10.0.0.0/8", true),
        "v6-64-next" => ("2001:db8::/64", false),
        "v6-64-scattered" => ("2001:db8::/64", true),
        other => panic!("unknown scenario {other}"),
    };
    let r = range(cidr);
    let mut alloc = RangeAllocator::new(vec![r]);
    let addresses: Vec<u128> = (0..COUNT).map(|i| r.first + 2 * i).collect();
    // The address list itself is allocated before the baseline is read.
    let rss_before = rss_bytes();
    let start = Instant::now();
    if scattered {
        for &x in &addresses {
            if alloc.allocate(x).is_err() {
                panic!("scattered allocation of {x} failed");
            }
        }
    } else {
        for _ in 0..COUNT {
            black_box(alloc.allocate_next());
        }
    }
    let allocate = start.elapsed();
    let rss_after = rss_bytes();
    let fragments = alloc.fragments();
    assert_eq!(alloc.used(), COUNT);

    // Release in a scrambled but fixed order, so neighbouring runs split and merge.
    let order = scrambled(COUNT as usize);
    let start = Instant::now();
    for i in order {
        let x = if scattered {
            addresses[i]
        } else {
            r.first + i as u128
        };
        black_box(alloc.release(x));
    }
    let release = start.elapsed();
    assert_eq!(alloc.used(), 0);

    let per = |d: Duration| d.as_nanos() as f64 / COUNT as f64;
    let bytes = rss_after.saturating_sub(rss_before) as f64 / COUNT as f64;
    let label = format!(
        "{cidr} {}",
        if scattered {
            "scattered (1 run/IP)"
        } else {
            "lowest-free"
        }
    );
    println!(
        "{label:<36} {:>12.1} {:>12.1} {:>12.1} {:>10}",
        per(allocate),
        per(release),
        bytes,
        fragments
    );
}

/// 0..n in a fixed pseudo-random order (a full-period LCG walk over the next power of two).
fn scrambled(n: usize) -> Vec<usize> {
    let size = n.next_power_of_two();
    let mut x = 0usize;
    let mut out = Vec::with_capacity(n);
    for _ in 0..size {
        x = (x.wrapping_mul(5).wrapping_add(12_345)) & (size - 1);
        if x < n {
            out.push(x);
        }
    }
    out
}

/// Resident set size from /proc/self/status (0 where that file does not exist).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

/// 10,000 services over 50 pools: 35 IPv4 pools (/22 each, as numbers in 10.0.0.0/8), 15
/// IPv6 /64 pools; selectors by team label, by namespace, or none; 20% PreferDualStack,
/// 10% IPv6-only, 10% sharing a key in groups of four (distinct ports), 2% requesting a
/// specific IP (inside the last IPv4 pool).
fn cluster() -> Input {
    let mut pools = Vec::new();
    for p in 0..50u32 {
        let mut pool = if p < 35 {
            Pool::test(&format!("v4-{p:02}")).cidr(&format!(
                "10.{}.{}.0/22",
                p / 4,
                (p % 4) * 4 * 16
            ))
        } else {
            Pool::test(&format!("v6-{p:02}")).cidr(&format!("2001:db8:{:x}::/64", p))
        };
        pool = match p % 5 {
            0 | 1 => pool.select("team", &format!("t{}", p % 10)),
            2 => pool.select("io.kubernetes.service.namespace", &format!("ns-{}", p % 20)),
            _ => pool,
        };
        pools.push(pool.created_at(p).build());
    }
    let mut services = Vec::new();
    for s in 0..10_000u32 {
        let ns = format!("ns-{}", s % 20);
        let mut svc = Svc::test(&ns, &format!("svc-{s:05}"))
            .label("team", &format!("t{}", s % 10))
            .port(80 + (s % 4) as i32, "TCP")
            .created_at(s);
        svc = match s % 10 {
            0 | 1 => svc.policy("PreferDualStack"),
            2 => svc.policy("SingleStack").families(&["IPv6"]),
            _ => svc,
        };
        if s % 10 == 3 {
            svc = svc.sharing_key(&format!("group-{}", s / 40));
        }
        if s % 50 == 7 {
            // Inside pool v4-34 (10.8.128.0/22), which generic allocation rarely reaches.
            svc = svc.request(&format!("10.8.130.{}", s / 50));
        }
        services.push(svc.build());
    }
    Input {
        config: Config {
            ipv4: true,
            ipv6: true,
            require_lb_class: false,
        },
        pools,
        services,
    }
}

fn time_plan(input: &Input, runs: usize) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            black_box(plan(black_box(input)));
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[times.len() / 2], times[0])
}

fn plan_benchmark() {
    let cold = cluster();
    let first = plan(&cold);
    let settled = written(&cold, &first);
    let satisfied = first
        .services
        .values()
        .filter(|p| matches!(p, ServicePlan::Managed { condition, .. } if condition.reason == "satisfied"))
        .count();
    let ips: usize = first
        .services
        .values()
        .map(|p| match p {
            ServicePlan::Managed { ingress_ips, .. } => ingress_ips.len(),
            ServicePlan::Released => 0,
        })
        .sum();
    let again = plan(&settled);
    assert!(again.events.is_empty(), "a settled cluster plans no events");
    assert_eq!(
        again.services, first.services,
        "a settled cluster plans no change"
    );

    println!(
        "plan(): {} services, {} pools -> {} satisfied, {} ingress IPs, {} events",
        cold.services.len(),
        cold.pools.len(),
        satisfied,
        ips,
        first.events.len()
    );
    println!("{:<36} {:>12} {:>12}", "input", "median ms", "best ms");
    for (label, input) in [
        ("nothing allocated yet (first pass)", &cold),
        ("settled (every resync)", &settled),
    ] {
        let (median, best) = time_plan(input, 15);
        println!(
            "{label:<36} {:>12.2} {:>12.2}",
            median.as_secs_f64() * 1e3,
            best.as_secs_f64() * 1e3
        );
    }
}
