//! Properties of `plan` over random small clusters: pools that overlap, disable, reserve and
//! select; services that share, request, hold stale or duplicate IPs.

use super::model::{Input, Plan, PoolInput, ServiceInput, ServiceKey, ServicePlan};
use super::plan;
use super::ranges::{Ip, parse_block, parse_ip};
use super::sharing::SharingProfile;
use super::testing::{Pool, Svc, input, written};
use ferrule_api::lbipam::v2::{AllowFirstLastIps, PoolBlock};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

fn cidr(text: String) -> PoolBlock {
    PoolBlock {
        cidr: Some(text),
        ..Default::default()
    }
}

/// Small blocks over a few dozen addresses, so overlaps and exhaustion are common.
fn block() -> impl Strategy<Value = PoolBlock> {
    prop_oneof![
        (0u8..6, 28u8..=32).prop_map(|(i, len)| cidr(format!("192.0.2.{}/{len}", i * 8))),
        (0u8..40, 0u8..6).prop_map(|(s, n)| PoolBlock {
            cidr: None,
            start: Some(format!("192.0.2.{s}")),
            stop: Some(format!("192.0.2.{}", s + n)),
        }),
        (0u8..3, 125u8..=127).prop_map(|(i, len)| cidr(format!("2001:db8::{:x}/{len}", i * 8))),
    ]
}

fn pool() -> impl Strategy<
    Value = (
        Vec<PoolBlock>,
        Option<&'static str>,
        bool,
        Option<bool>,
        u32,
    ),
> {
    (
        proptest::collection::vec(block(), 1..3),
        prop_oneof![Just(None), Just(Some("a")), Just(Some("b"))],
        proptest::bool::weighted(0.15),
        prop_oneof![Just(None), Just(Some(true)), Just(Some(false))],
        0u32..4,
    )
}

/// An address from the blocks above (or just outside them).
fn address() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (0u8..50).prop_map(|n| format!("192.0.2.{n}")),
        1 => (0u8..26).prop_map(|n| format!("2001:db8::{n:x}")),
    ]
}

#[derive(Debug, Clone)]
struct SvcSpec {
    ns: usize,
    team: Option<&'static str>,
    policy: Option<&'static str>,
    key: Option<&'static str>,
    ports: Vec<(i32, &'static str)>,
    cross: bool,
    local: bool,
    request: Option<String>,
    current: Vec<String>,
    created: u32,
    foreign: bool,
}

fn service() -> impl Strategy<Value = SvcSpec> {
    (
        (
            0usize..2,
            prop_oneof![Just(None), Just(Some("a")), Just(Some("b"))],
            prop_oneof![
                Just(None),
                Just(Some("PreferDualStack")),
                Just(Some("RequireDualStack")),
                Just(Some("v6"))
            ],
            prop_oneof![2 => Just(None), 1 => Just(Some("k1")), 1 => Just(Some("k2"))],
            proptest::sample::subsequence(vec![(80, "TCP"), (80, "UDP"), (443, "TCP")], 0..=2),
        ),
        (
            any::<bool>(),
            proptest::bool::weighted(0.2),
            proptest::option::weighted(0.2, address()),
            proptest::collection::vec(address(), 0..3),
            0u32..4,
            proptest::bool::weighted(0.1),
        ),
    )
        .prop_map(
            |(
                (ns, team, policy, key, ports),
                (cross, local, request, current, created, foreign),
            )| {
                SvcSpec {
                    ns,
                    team,
                    policy,
                    key,
                    ports,
                    cross,
                    local,
                    request,
                    current,
                    created,
                    foreign,
                }
            },
        )
}

fn cluster() -> impl Strategy<Value = Input> {
    cluster_of(4, 12)
}

fn cluster_of(max_pools: usize, max_services: usize) -> impl Strategy<Value = Input> {
    (
        proptest::collection::vec(pool(), 0..max_pools),
        proptest::collection::vec(service(), 1..max_services),
    )
        .prop_map(|(pools, services)| {
            let pools = pools
                .into_iter()
                .enumerate()
                .map(|(i, (blocks, team, disabled, allow, created))| {
                    let mut p = Pool::test(&format!("pool{i}")).created_at(created);
                    for b in blocks {
                        p = p.block(b);
                    }
                    if let Some(team) = team {
                        p = p.select("team", team);
                    }
                    if disabled {
                        p = p.disabled();
                    }
                    if let Some(allow) = allow {
                        p = p.allow_first_last(allow);
                    }
                    p.build()
                })
                .collect();
            let services = services
                .into_iter()
                .enumerate()
                .map(|(i, s)| {
                    let mut b = Svc::test(&format!("ns{}", s.ns), &format!("s{i}"))
                        .created_at(s.created)
                        .pod_selector("app", "x");
                    if let Some(team) = s.team {
                        b = b.label("team", team);
                    }
                    b = match s.policy {
                        Some("v6") => b.policy("SingleStack").families(&["IPv6"]),
                        Some(policy) => b.policy(policy),
                        None => b,
                    };
                    if let Some(key) = s.key {
                        b = b.sharing_key(key);
                    }
                    for (port, proto) in s.ports {
                        b = b.port(port, proto);
                    }
                    if s.cross {
                        b = b.cross_namespace("*");
                    }
                    if s.local {
                        b = b.traffic_policy("Local");
                    }
                    if let Some(ip) = s.request {
                        b = b.request(&ip);
                    }
                    if s.foreign {
                        b = b.class("example.com/other");
                    }
                    let current: Vec<&str> = s.current.iter().map(String::as_str).collect();
                    b.current(&current).build()
                })
                .collect();
            input(pools, services)
        })
}

fn managed(plan: &Plan) -> BTreeMap<&ServiceKey, BTreeSet<Ip>> {
    plan.services
        .iter()
        .filter_map(|(k, p)| match p {
            ServicePlan::Managed { ingress_ips, .. } => {
                Some((k, ingress_ips.iter().map(|a| Ip::from(*a)).collect()))
            }
            ServicePlan::Released => None,
        })
        .collect()
}

fn input_service<'i>(input: &'i Input, key: &ServiceKey) -> &'i ServiceInput {
    input
        .services
        .iter()
        .find(|s| &s.key == key)
        .expect("every planned service is in the input")
}

fn pool_ranges(pool: &PoolInput) -> Vec<super::ranges::Block> {
    pool.spec
        .blocks
        .iter()
        .filter_map(|b| parse_block(b).ok())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Two services hold the same IP only when every pair of them may share.
    #[test]
    fn never_the_same_ip_outside_a_compatible_sharing_key(i in cluster()) {
        let p = plan(&i);
        let mut holders: BTreeMap<Ip, Vec<&ServiceKey>> = BTreeMap::new();
        for (k, ips) in managed(&p) {
            for ip in ips {
                holders.entry(ip).or_default().push(k);
            }
        }
        for (ip, keys) in holders {
            for (n, a) in keys.iter().enumerate() {
                for b in &keys[n + 1..] {
                    let pa = SharingProfile::of(input_service(&i, a));
                    let pb = SharingProfile::of(input_service(&i, b));
                    prop_assert!(pa.compatible(&pb).is_ok(), "{ip} held by {a} and {b}");
                }
            }
        }
    }

    /// Writing the plan and planning again changes nothing and raises no Event.
    #[test]
    fn a_written_plan_is_a_fixed_point(i in cluster()) {
        let first = plan(&i);
        let again = plan(&written(&i, &first));
        prop_assert_eq!(managed(&first), managed(&again));
        prop_assert_eq!(&first.pools, &again.pools);
        prop_assert!(again.events.is_empty(), "events after settling: {:?}", again.events);
        let third = plan(&written(&written(&i, &first), &again));
        prop_assert_eq!(&again, &third);
    }

    /// The same on crowded clusters, where sharing groups grow and pools run out.
    #[test]
    fn a_written_crowded_plan_is_a_fixed_point(i in cluster_of(6, 40)) {
        let first = plan(&i);
        let again = plan(&written(&i, &first));
        prop_assert_eq!(managed(&first), managed(&again));
        prop_assert_eq!(&first.pools, &again.pools);
        prop_assert!(again.events.is_empty(), "events after settling: {:?}", again.events);
    }

    /// Pool edits that keep every held IP valid move nobody.
    #[test]
    fn pool_edits_that_keep_ips_valid_never_move_them(i in cluster(), edit in 0usize..4, which in 0usize..4) {
        let before = plan(&i);
        let settled = written(&i, &before);
        let mut edited = settled.clone();
        let n = edited.pools.len();
        match edit {
            // A younger pool over fresh addresses.
            0 => edited.pools.push(Pool::test("fresh").cidr("198.51.100.0/28").created_at(9).build()),
            // Disabling.
            1 if n > 0 => edited.pools[which % n].spec.disabled = true,
            // A fresh block.
            2 if n > 0 => edited.pools[which % n].spec.blocks.push(cidr("203.0.113.0/28".into())),
            // Flipping allowFirstLastIPs.
            3 if n > 0 => {
                let spec = &mut edited.pools[which % n].spec;
                spec.allow_first_last_ips = match spec.allow_first_last_ips {
                    Some(AllowFirstLastIps::No) => Some(AllowFirstLastIps::Yes),
                    _ => Some(AllowFirstLastIps::No),
                };
            }
            _ => {}
        }
        let after = plan(&edited);
        let after_ips = managed(&after);
        for (k, ips) in managed(&before) {
            let now = after_ips.get(k).cloned().unwrap_or_default();
            prop_assert!(ips.is_subset(&now), "{k}: {ips:?} became {now:?}");
        }
    }

    /// Counts add up, and every planned IP lies in a pool and is counted exactly once.
    #[test]
    fn counts_add_up(i in cluster()) {
        let p = plan(&i);
        let planned: BTreeSet<Ip> = managed(&p).into_values().flatten().collect();
        let mut used_sum = 0u128;
        let mut reserved_unplanned = 0u128;
        for pool in &i.pools {
            let counts = &p.pools[&pool.name].counts;
            used_sum += counts.used;
            let conflicting = p.pools[&pool.name]
                .conditions
                .iter()
                .any(|c| c.type_ == super::conditions::POOL_CONFLICT && c.status == super::model::Status::True);
            if !conflicting {
                prop_assert_eq!(counts.used + counts.available, counts.total);
            }
            let allow = pool.spec.allow_first_last_ips != Some(AllowFirstLastIps::No);
            // Per block, like Cilium's per-range allocators (a pool listing a block twice
            // conflicts with itself and reserves its ends twice).
            let reserved: Vec<Ip> = pool_ranges(pool)
                .iter()
                .filter_map(|b| b.reserved(allow))
                .flat_map(|(a, b)| [a, b])
                .collect();
            reserved_unplanned += reserved.iter().filter(|r| !planned.contains(r)).count() as u128;
        }
        for ip in &planned {
            prop_assert!(
                i.pools.iter().flat_map(pool_ranges).any(|b| b.range.contains(*ip)),
                "{ip} is in no pool"
            );
        }
        prop_assert_eq!(used_sum, planned.len() as u128 + reserved_unplanned);
    }

    /// The input's order is irrelevant.
    #[test]
    fn input_order_does_not_matter(i in cluster()) {
        let mut reversed = i.clone();
        reversed.pools.reverse();
        reversed.services.reverse();
        prop_assert_eq!(plan(&i), plan(&reversed));
    }
}

#[test]
fn the_generators_produce_parsable_addresses() {
    assert!(parse_ip("2001:db8::19").is_some());
}

/// Any text at all in the fields users write.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,24}",
        "[0-9a-f:./ ,-]{0,24}",
        address(),
        Just(String::new()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Garbage in every user-written field never panics, and the result still settles.
    #[test]
    fn garbage_never_panics(
        blocks in proptest::collection::vec((proptest::option::of(text()), proptest::option::of(text()), proptest::option::of(text())), 0..4),
        created in text(),
        requested in text(),
        lb_ip in proptest::option::of(text()),
        current in proptest::collection::vec(text(), 0..3),
        policy in proptest::option::of(text()),
        families in proptest::collection::vec(text(), 0..2),
        cross in text(),
    ) {
        let mut pool = Pool::test("p");
        for (cidr, start, stop) in blocks {
            pool = pool.block(PoolBlock { cidr, start, stop });
        }
        let mut pool = pool.build();
        pool.created = created.clone();
        let mut svc = Svc::test("default", "s")
            .request(&requested)
            .cross_namespace(&cross)
            .sharing_key("k")
            .build();
        svc.created = created;
        svc.load_balancer_ip = lb_ip;
        svc.current_ips = current;
        svc.ip_family_policy = policy;
        svc.ip_families = families;
        let i = input(vec![pool], vec![svc]);
        let first = plan(&i);
        let again = plan(&written(&i, &first));
        prop_assert_eq!(managed(&first), managed(&again));
        prop_assert!(again.events.is_empty());
    }
}
