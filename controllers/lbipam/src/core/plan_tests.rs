//! Behaviour of `plan`, one test per rule of the LB-IPAM page and the stability rules.

use super::conditions as c;
use super::model::{
    ConditionPlan, EventType, Input, Plan, PlannedEvent, Regarding, ServiceKey, ServicePlan, Status,
};
use super::plan;
use super::testing::{Pool, Svc, input, written};
use ferrule_api::meta::LabelSelectorOperator;
use ferrule_api::names::{annotation, lb_class, selector_key};

fn key(ns: &str, name: &str) -> ServiceKey {
    ServiceKey {
        namespace: ns.into(),
        name: name.into(),
    }
}

/// The planned IPs of `default/<name>` as text.
fn ips(plan: &Plan, name: &str) -> Vec<String> {
    ips_in(plan, "default", name)
}

fn ips_in(plan: &Plan, ns: &str, name: &str) -> Vec<String> {
    match plan.services.get(&key(ns, name)) {
        Some(ServicePlan::Managed { ingress_ips, .. }) => {
            ingress_ips.iter().map(ToString::to_string).collect()
        }
        other => panic!("{ns}/{name} should be managed, is {other:?}"),
    }
}

fn condition<'p>(plan: &'p Plan, name: &str) -> &'p ConditionPlan {
    match plan.services.get(&key("default", name)) {
        Some(ServicePlan::Managed { condition, .. }) => condition,
        other => panic!("default/{name} should be managed, is {other:?}"),
    }
}

fn assert_satisfied(plan: &Plan, name: &str) {
    let cond = condition(plan, name);
    assert_eq!(cond.type_, c::SVC_REQUEST_SATISFIED);
    assert_eq!(
        (cond.status, cond.reason.as_str(), cond.message.as_str()),
        (Status::True, c::REASON_SATISFIED, ""),
        "{name} should be satisfied"
    );
}

fn assert_unsatisfied(plan: &Plan, name: &str, reason: &str, message_part: &str) {
    let cond = condition(plan, name);
    assert_eq!(cond.status, Status::False, "{name}: {cond:?}");
    assert_eq!(cond.reason, reason, "{name}: {cond:?}");
    assert!(
        cond.message.contains(message_part),
        "{name}: {:?} should contain {message_part:?}",
        cond.message
    );
}

fn pool_condition<'p>(plan: &'p Plan, pool: &str, type_: &str) -> &'p ConditionPlan {
    plan.pools
        .get(pool)
        .and_then(|p| p.conditions.iter().find(|c| c.type_ == type_))
        .unwrap_or_else(|| panic!("pool {pool} should have condition {type_}"))
}

fn counts(plan: &Plan, pool: &str) -> (u128, u128, u128) {
    let p = &plan.pools.get(pool).expect("pool is planned").counts;
    (p.total, p.available, p.used)
}

fn events_for<'p>(plan: &'p Plan, name: &str) -> Vec<&'p PlannedEvent> {
    plan.events
        .iter()
        .filter(|e| e.regarding == Regarding::Service(key("default", name)))
        .collect()
}

/// Plans, writes the plan back, plans again: the second plan must be the same, with no
/// Events. Returns the first plan.
fn plan_settled(input: &Input) -> Plan {
    let first = plan(input);
    let again = plan(&written(input, &first));
    assert_eq!(first.services, again.services, "a written plan is stable");
    assert_eq!(first.pools, again.pools, "a written plan is stable");
    assert!(
        again.events.is_empty(),
        "a settled cluster has no events: {:?}",
        again.events
    );
    first
}

// ---- Pools -------------------------------------------------------------------------------

#[test]
fn lowest_free_address_of_the_first_pool_in_creation_order() {
    let i = input(
        vec![
            Pool::test("young")
                .cidr("198.51.100.0/24")
                .created_at(20)
                .build(),
            Pool::test("old")
                .cidr("192.0.2.0/24")
                .created_at(10)
                .build(),
        ],
        vec![
            Svc::test("default", "b").created_at(2).build(),
            Svc::test("default", "a").created_at(1).build(),
            Svc::test("default", "c").created_at(2).build(),
        ],
    );
    let p = plan_settled(&i);
    assert_eq!(ips(&p, "a"), ["192.0.2.0"]);
    assert_eq!(ips(&p, "b"), ["192.0.2.1"]);
    assert_eq!(
        ips(&p, "c"),
        ["192.0.2.2"],
        "same age: namespace/name order"
    );
    assert_satisfied(&p, "a");
    assert_eq!(counts(&p, "old"), (256, 253, 3));
    assert_eq!(counts(&p, "young"), (256, 256, 0));
}

#[test]
fn start_stop_ranges_and_v6_slash_64_pools() {
    let i = input(
        vec![
            Pool::test("range")
                .range("192.0.2.10", "192.0.2.12")
                .build(),
            Pool::test("v6").cidr("2001:db8::/64").build(),
        ],
        vec![
            Svc::test("default", "dual")
                .policy("PreferDualStack")
                .build(),
            Svc::test("default", "v6").families(&["IPv6"]).build(),
        ],
    );
    let p = plan_settled(&i);
    assert_eq!(ips(&p, "dual"), ["192.0.2.10", "2001:db8::"]);
    assert_eq!(ips(&p, "v6"), ["2001:db8::1"]);
    assert_eq!(counts(&p, "range"), (3, 2, 1));
    assert_eq!(counts(&p, "v6"), (1 << 64, (1 << 64) - 2, 2));
    assert_eq!(
        pool_condition(&p, "v6", c::POOL_IPS_TOTAL).message,
        "18446744073709551616"
    );
}

#[test]
fn pool_status_has_exactly_ciliums_four_conditions() {
    let p = plan(&input(
        vec![Pool::test("blue").cidr("192.0.2.0/30").build()],
        vec![Svc::test("default", "a").build()],
    ));
    let conds = &p.pools.get("blue").expect("planned").conditions;
    let summary: Vec<(&str, Status, &str, &str)> = conds
        .iter()
        .map(|c| (c.type_, c.status, c.reason.as_str(), c.message.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("cilium.io/IPsAvailable", Status::Unknown, "noreason", "3"),
            ("cilium.io/IPsTotal", Status::Unknown, "noreason", "4"),
            ("cilium.io/IPsUsed", Status::Unknown, "noreason", "1"),
            ("cilium.io/PoolConflict", Status::False, "resolved", ""),
        ]
    );
}

#[test]
fn allow_first_last_ips_no_reserves_cidr_ends_only() {
    let i = input(
        vec![
            Pool::test("a")
                .cidr("192.0.2.0/30")
                .cidr("198.51.100.0/31")
                .range("203.0.113.0", "203.0.113.3")
                .allow_first_last(false)
                .build(),
        ],
        (0..9)
            .map(|n| Svc::test("default", &format!("s{n}")).created_at(n).build())
            .collect(),
    );
    let p = plan_settled(&i);
    let got: Vec<String> = (0..9).flat_map(|n| ips(&p, &format!("s{n}"))).collect();
    assert_eq!(
        got,
        [
            "192.0.2.1",
            "192.0.2.2",
            "198.51.100.0",
            "198.51.100.1",
            "203.0.113.0",
            "203.0.113.1",
            "203.0.113.2",
            "203.0.113.3"
        ],
        "the /30 loses .0 and .3; the /31 and the range keep every address"
    );
    assert_unsatisfied(&p, "s8", c::REASON_OUT_OF_IPS, c::MSG_OUT_OF_IPS);
    // Cilium counts the reserved addresses as used.
    assert_eq!(counts(&p, "a"), (10, 0, 10));
}

#[test]
fn allow_first_last_yes_or_unset_uses_every_address() {
    for pool in [
        Pool::test("a").cidr("192.0.2.0/30"),
        Pool::test("a").cidr("192.0.2.0/30").allow_first_last(true),
    ] {
        let p = plan(&input(
            vec![pool.build()],
            vec![Svc::test("default", "s").build()],
        ));
        assert_eq!(ips(&p, "s"), ["192.0.2.0"]);
    }
}

#[test]
fn service_selector_with_labels_and_special_keys() {
    let i = input(
        vec![
            Pool::test("team-a")
                .cidr("192.0.2.0/24")
                .select("team", "a")
                .created_at(1)
                .build(),
            Pool::test("ns-prod")
                .cidr("198.51.100.0/24")
                .select(selector_key::SERVICE_NAMESPACE, "prod")
                .created_at(2)
                .build(),
            Pool::test("by-name")
                .cidr("203.0.113.0/24")
                .select_expr(
                    selector_key::SERVICE_NAME,
                    LabelSelectorOperator::In,
                    &["special"],
                )
                .created_at(3)
                .build(),
        ],
        vec![
            Svc::test("default", "a").label("team", "a").build(),
            Svc::test("prod", "web").build(),
            Svc::test("default", "special").build(),
            Svc::test("default", "nobody").build(),
            // A label cannot impersonate the namespace key.
            Svc::test("default", "forged")
                .label(selector_key::SERVICE_NAMESPACE, "prod")
                .build(),
        ],
    );
    let p = plan_settled(&i);
    assert_eq!(ips(&p, "a"), ["192.0.2.0"]);
    assert_eq!(ips_in(&p, "prod", "web"), ["198.51.100.0"]);
    assert_eq!(ips(&p, "special"), ["203.0.113.0"]);
    assert!(ips(&p, "nobody").is_empty());
    assert_unsatisfied(&p, "nobody", c::REASON_NO_POOL, c::MSG_NO_MATCHING_POOL);
    assert!(ips(&p, "forged").is_empty());
}

#[test]
fn a_disabled_pool_allocates_nothing_new_but_keeps_and_counts_existing() {
    let i = input(
        vec![Pool::test("a").cidr("192.0.2.0/24").disabled().build()],
        vec![
            Svc::test("default", "old").current(&["192.0.2.7"]).build(),
            Svc::test("default", "new").build(),
            Svc::test("default", "wants").request("192.0.2.9").build(),
        ],
    );
    let p = plan_settled(&i);
    assert_eq!(ips(&p, "old"), ["192.0.2.7"]);
    assert_satisfied(&p, "old");
    assert_unsatisfied(&p, "new", c::REASON_NO_POOL, c::MSG_NO_MATCHING_POOL);
    assert_unsatisfied(&p, "wants", c::REASON_NO_POOL, "is disabled");
    assert_eq!(counts(&p, "a"), (256, 255, 1));
}

#[test]
fn the_later_pool_of_an_overlapping_pair_conflicts_and_recovers() {
    let blue = Pool::test("blue")
        .cidr("192.0.2.0/24")
        .select("team", "blue")
        .created_at(1);
    let red = Pool::test("red")
        .cidr("192.0.2.128/25")
        .cidr("198.51.100.0/24")
        .select("team", "red")
        .created_at(2);
    let svc = Svc::test("default", "r").label("team", "red");
    let p = plan_settled(&input(
        vec![blue.clone().build(), red.clone().build()],
        vec![svc.clone().build()],
    ));
    let conflict = pool_condition(&p, "red", c::POOL_CONFLICT);
    assert_eq!(conflict.status, Status::True);
    assert_eq!(conflict.reason, c::REASON_CIDR_OVERLAP);
    assert_eq!(
        conflict.message,
        "Pool conflicts since range '192.0.2.128 - 192.0.2.255' overlaps range \
         '192.0.2.0 - 192.0.2.255' from IP Pool 'blue'"
    );
    assert_eq!(
        pool_condition(&p, "blue", c::POOL_CONFLICT).status,
        Status::False
    );
    assert!(
        ips(&p, "r").is_empty(),
        "a conflicting pool allocates nothing"
    );
    assert_unsatisfied(&p, "r", c::REASON_NO_POOL, c::MSG_NO_MATCHING_POOL);

    // The overlap goes away: red recovers and the service is satisfied, nothing else moves.
    let red_fixed = Pool::test("red")
        .cidr("198.51.100.0/24")
        .select("team", "red")
        .created_at(2);
    let before = written(
        &input(vec![blue.build(), red.build()], vec![svc.build()]),
        &p,
    );
    let mut after = before.clone();
    after.pools[1] = red_fixed.build();
    let p2 = plan(&after);
    assert_eq!(
        pool_condition(&p2, "red", c::POOL_CONFLICT).reason,
        c::REASON_RESOLVED
    );
    assert_eq!(ips(&p2, "r"), ["198.51.100.0"]);
    assert_satisfied(&p2, "r");
}

#[test]
fn ips_of_a_pool_that_becomes_conflicting_stay_put() {
    // `young` handed out an IP; then `old` (created earlier) is edited to overlap it, which
    // makes `young` the conflicting one. Its services keep their addresses (stability), and
    // `old` never hands the same address out again.
    let i = input(
        vec![
            Pool::test("old").cidr("192.0.2.0/24").created_at(1).build(),
            Pool::test("young")
                .cidr("192.0.2.0/30")
                .created_at(2)
                .build(),
        ],
        vec![
            Svc::test("default", "holder")
                .current(&["192.0.2.0"])
                .created_at(5)
                .build(),
            Svc::test("default", "newcomer").created_at(6).build(),
        ],
    );
    let p = plan_settled(&i);
    assert_eq!(
        pool_condition(&p, "young", c::POOL_CONFLICT).status,
        Status::True
    );
    assert_eq!(ips(&p, "holder"), ["192.0.2.0"]);
    assert_eq!(ips(&p, "newcomer"), ["192.0.2.1"]);
    // The held IP counts against the winning pool, which contains it.
    assert_eq!(counts(&p, "old"), (256, 254, 2));
}

#[test]
fn malformed_blocks_are_reported_and_the_rest_of_the_pool_works() {
    let i = input(
        vec![
            Pool::test("p")
                .cidr("not-a-cidr")
                .cidr("192.0.2.0/24")
                .range("198.51.100.9", "198.51.100.1")
                .range("198.51.100.1", "2001:db8::1")
                .block(Default::default())
                .build(),
        ],
        vec![Svc::test("default", "a").build()],
    );
    let p = plan_settled(&i);
    assert_eq!(ips(&p, "a"), ["192.0.2.0"]);
    let cond = pool_condition(&p, "p", c::POOL_INVALID_SPEC);
    assert_eq!(
        (cond.status, cond.reason.as_str()),
        (Status::True, c::REASON_INVALID_BLOCK)
    );
    for part in [
        "spec.blocks[0]: cidr \"not-a-cidr\"",
        "spec.blocks[2]: start 198.51.100.9 is after stop 198.51.100.1",
        "spec.blocks[3]: start 198.51.100.1 and stop 2001:db8::1 are of different IP families",
        "spec.blocks[4]: the block has neither cidr nor start",
        "1 valid block(s) remain in use",
    ] {
        assert!(
            cond.message.contains(part),
            "{:?} lacks {part:?}",
            cond.message
        );
    }
    assert_eq!(counts(&p, "p"), (256, 255, 1));
    // Valid pools carry no such condition.
    let ok = plan(&input(
        vec![Pool::test("ok").cidr("192.0.2.0/24").build()],
        vec![],
    ));
    assert!(
        ok.pools["ok"]
            .conditions
            .iter()
            .all(|c| c.type_ != c::POOL_INVALID_SPEC)
    );
}

#[test]
fn an_invalid_selector_stops_new_allocations_but_keeps_existing_ones() {
    let i = input(
        vec![
            Pool::test("p")
                .cidr("192.0.2.0/24")
                .select_expr("team", LabelSelectorOperator::In, &[])
                .build(),
        ],
        vec![
            Svc::test("default", "old").current(&["192.0.2.5"]).build(),
            Svc::test("default", "new").build(),
        ],
    );
    let p = plan_settled(&i);
    assert_eq!(ips(&p, "old"), ["192.0.2.5"]);
    assert!(ips(&p, "new").is_empty());
    let cond = pool_condition(&p, "p", c::POOL_INVALID_SPEC);
    assert_eq!(cond.reason, c::REASON_INVALID_SELECTOR);
    assert!(
        cond.message.contains("needs at least one value"),
        "{}",
        cond.message
    );
}

// ---- Which services -------------------------------------------------------------------------

#[test]
fn only_load_balancers_of_our_classes_are_planned() {
    let i = input(
        vec![Pool::test("p").cidr("192.0.2.0/24").build()],
        vec![
            Svc::test("default", "none").build(),
            Svc::test("default", "l2")
                .class(lb_class::L2_ANNOUNCER)
                .build(),
            Svc::test("default", "bgp")
                .class(lb_class::BGP_CONTROL_PLANE)
                .build(),
            Svc::test("default", "foreign")
                .class("example.com/lb")
                .build(),
            Svc::test("default", "clusterip")
                .service_type("ClusterIP")
                .build(),
        ],
    );
    let p = plan_settled(&i);
    assert_eq!(ips(&p, "none").len(), 1);
    assert_eq!(ips(&p, "l2").len(), 1);
    assert_eq!(ips(&p, "bgp").len(), 1);
    assert!(
        !p.services.contains_key(&key("default", "foreign")),
        "ignored entirely"
    );
    assert!(!p.services.contains_key(&key("default", "clusterip")));

    let mut strict = i.clone();
    strict.config.require_lb_class = true;
    let p = plan(&strict);
    assert!(!p.services.contains_key(&key("default", "none")));
    assert_eq!(ips(&p, "bgp"), ["192.0.2.0"]);
    assert_eq!(ips(&p, "l2"), ["192.0.2.1"]);
}

#[test]
fn a_service_we_stop_managing_is_released_with_an_event() {
    let i = input(
        vec![Pool::test("p").cidr("192.0.2.0/24").build()],
        vec![
            Svc::test("default", "was-lb")
                .service_type("ClusterIP")
                .current(&["192.0.2.1"])
                .condition(Status::True, c::REASON_SATISFIED, "")
                .build(),
            // Another controller's class with an address from an overlapping range: our
            // empty apply is harmless, and no event fires because we never managed it.
            Svc::test("default", "foreign")
                .class("example.com/lb")
                .current(&["192.0.2.200"])
                .build(),
            Svc::test("default", "unrelated")
                .class("example.com/lb")
                .current(&["203.0.113.1"])
                .build(),
        ],
    );
    let p = plan(&i);
    assert_eq!(
        p.services.get(&key("default", "was-lb")),
        Some(&ServicePlan::Released)
    );
    assert_eq!(
        p.services.get(&key("default", "foreign")),
        Some(&ServicePlan::Released)
    );
    assert!(!p.services.contains_key(&key("default", "unrelated")));
    let events = events_for(&p, "was-lb");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].reason, c::EVENT_IP_RELEASED);
    assert!(events[0].note.contains("192.0.2.1"), "{}", events[0].note);
    assert!(events[0].note.contains("no longer of type LoadBalancer"));
    assert!(events_for(&p, "foreign").is_empty());
    // Once written, the released service drops out of the plan.
    let again = plan(&written(&i, &p));
    assert!(!again.services.contains_key(&key("default", "was-lb")));
    assert!(again.events.is_empty());
}

// ---- Families -------------------------------------------------------------------------------

fn dual_pools() -> Vec<super::model::PoolInput> {
    vec![
        Pool::test("v4").cidr("192.0.2.0/24").build(),
        Pool::test("v6").cidr("2001:db8::/64").build(),
    ]
}

#[test]
fn families_and_policies() {
    let i = input(
        dual_pools(),
        vec![
            Svc::test("default", "single").created_at(1).build(),
            Svc::test("default", "single6")
                .policy("SingleStack")
                .families(&["IPv6"])
                .created_at(2)
                .build(),
            Svc::test("default", "prefer")
                .policy("PreferDualStack")
                .created_at(3)
                .build(),
            Svc::test("default", "require")
                .policy("RequireDualStack")
                .created_at(4)
                .build(),
        ],
    );
    let p = plan_settled(&i);
    assert_eq!(ips(&p, "single"), ["192.0.2.0"]);
    assert_eq!(ips(&p, "single6"), ["2001:db8::"]);
    assert_eq!(ips(&p, "prefer"), ["192.0.2.1", "2001:db8::1"]);
    assert_eq!(ips(&p, "require"), ["192.0.2.2", "2001:db8::2"]);
    for s in ["single", "single6", "prefer", "require"] {
        assert_satisfied(&p, s);
    }
}

#[test]
fn single_family_clusters_per_the_documentation() {
    let mut i = input(
        dual_pools(),
        vec![
            Svc::test("default", "prefer")
                .policy("PreferDualStack")
                .build(),
            Svc::test("default", "require")
                .policy("RequireDualStack")
                .build(),
        ],
    );
    i.config.ipv6 = false;
    let p = plan_settled(&i);
    assert_eq!(ips(&p, "prefer"), ["192.0.2.0"]);
    assert_satisfied(&p, "prefer");
    assert_eq!(
        ips(&p, "require"),
        ["192.0.2.1"],
        "the enabled family is still assigned"
    );
    assert_unsatisfied(
        &p,
        "require",
        c::REASON_IP_FAMILY_DISABLED,
        "IPv6 is not enabled",
    );
}

#[test]
fn a_missing_family_pool_leaves_dual_stack_partially_unsatisfied() {
    let i = input(
        vec![Pool::test("v4").cidr("192.0.2.0/24").build()],
        vec![Svc::test("default", "d").policy("RequireDualStack").build()],
    );
    let p = plan_settled(&i);
    assert_eq!(ips(&p, "d"), ["192.0.2.0"]);
    assert_unsatisfied(&p, "d", c::REASON_NO_POOL, c::MSG_NO_MATCHING_POOL);
}

// ---- Requested IPs ----------------------------------------------------------------------------

#[test]
fn requested_ips_from_annotations_and_load_balancer_ip() {
    let i = input(
        dual_pools(),
        vec![
            Svc::test("default", "ann")
                .request("192.0.2.50,2001:db8::50")
                .build(),
            Svc::test("default", "legacy")
                .annotation(annotation::LBIPAM_IPS_LEGACY, "192.0.2.51")
                .build(),
            Svc::test("default", "spec")
                .load_balancer_ip("192.0.2.52")
                .build(),
            Svc::test("default", "plain").build(),
        ],
    );
    let p = plan_settled(&i);
    assert_eq!(ips(&p, "ann"), ["192.0.2.50", "2001:db8::50"]);
    assert_eq!(ips(&p, "legacy"), ["192.0.2.51"]);
    assert_eq!(ips(&p, "spec"), ["192.0.2.52"]);
    assert_eq!(ips(&p, "plain"), ["192.0.2.0"]);
    for s in ["ann", "legacy", "spec", "plain"] {
        assert_satisfied(&p, s);
    }
}

#[test]
fn requested_ip_mistakes_get_ciliums_reasons_and_an_event() {
    let i = input(
        vec![
            Pool::test("sel")
                .cidr("192.0.2.0/24")
                .select("team", "x")
                .build(),
            Pool::test("res")
                .cidr("198.51.100.0/24")
                .allow_first_last(false)
                .build(),
        ],
        vec![
            Svc::test("default", "outside")
                .request("203.0.113.5")
                .build(),
            Svc::test("default", "mismatch")
                .request("192.0.2.5")
                .build(),
            Svc::test("default", "reserved")
                .request("198.51.100.255")
                .build(),
            Svc::test("default", "garbage")
                .request("192.0.2.300")
                .build(),
        ],
    );
    let p = plan_settled(&i);
    assert_unsatisfied(
        &p,
        "outside",
        c::REASON_NO_POOL,
        "No pool exists with a CIDR containing '203.0.113.5'",
    );
    assert_unsatisfied(
        &p,
        "mismatch",
        c::REASON_POOL_SELECTOR_MISMATCH,
        "The pool with the CIDR containing '192.0.2.5', doesn't select this service",
    );
    assert_unsatisfied(&p, "reserved", c::REASON_ALREADY_ALLOCATED, "is reserved");
    assert_unsatisfied(
        &p,
        "garbage",
        c::REASON_INVALID_IP,
        "The value '192.0.2.300' in lbipam.cilium.io/ips is not an IP address",
    );
    assert!(
        ips(&p, "garbage").is_empty(),
        "no random address for a mistyped request"
    );
    for s in ["outside", "mismatch", "reserved", "garbage"] {
        assert!(ips(&p, s).is_empty());
        let events = events_for(&p, s);
        assert_eq!(events.len(), 1, "{s}: {events:?}");
        assert_eq!(events[0].type_, EventType::Warning);
        assert_eq!(events[0].reason, c::EVENT_REQUEST_UNSATISFIED);
        assert_eq!(events[0].note, condition(&p, s).message);
    }
}

#[test]
fn a_requested_ip_held_by_another_service() {
    let i = input(
        vec![Pool::test("p").cidr("192.0.2.0/24").build()],
        vec![
            Svc::test("default", "holder")
                .current(&["192.0.2.9"])
                .port(80, "TCP")
                .created_at(1)
                .build(),
            Svc::test("default", "nokey")
                .request("192.0.2.9")
                .created_at(2)
                .build(),
            Svc::test("default", "keyed")
                .request("192.0.2.9")
                .sharing_key("k")
                .created_at(3)
                .build(),
        ],
    );
    let p = plan_settled(&i);
    assert_eq!(
        ips(&p, "holder"),
        ["192.0.2.9"],
        "the existing allocation wins"
    );
    assert_unsatisfied(
        &p,
        "nokey",
        c::REASON_ALREADY_ALLOCATED,
        "The IP '192.0.2.9' is already allocated to another service",
    );
    assert_unsatisfied(
        &p,
        "keyed",
        c::REASON_ALREADY_ALLOCATED_INCOMPATIBLE,
        "The IP '192.0.2.9' is already allocated to an incompatible service. Reason: different sharing key",
    );
}

#[test]
fn a_requested_ip_with_a_sharing_key_joins_the_holders() {
    let i = input(
        vec![Pool::test("p").cidr("192.0.2.0/24").build()],
        vec![
            Svc::test("default", "a")
                .sharing_key("k")
                .port(80, "TCP")
                .created_at(1)
                .build(),
            Svc::test("default", "b")
                .sharing_key("k")
                .port(443, "TCP")
                .request("192.0.2.0")
                .created_at(2)
                .build(),
        ],
    );
    let p = plan_settled(&i);
    assert_eq!(ips(&p, "a"), ["192.0.2.0"]);
    assert_eq!(ips(&p, "b"), ["192.0.2.0"]);
    assert_satisfied(&p, "b");
    assert_eq!(counts(&p, "p").2, 1, "a shared IP is used once");
}

// ---- Sharing keys --------------------------------------------------------------------------

#[test]
fn sharing_keys_share_until_ports_clash_then_add_an_ip() {
    let web = |name: &str, port, at| {
        Svc::test("default", name)
            .sharing_key("k")
            .port(port, "TCP")
            .created_at(at)
            .build()
    };
    let i = input(
        vec![Pool::test("p").cidr("192.0.2.0/24").build()],
        vec![
            web("http", 80, 1),
            web("https", 443, 2),
            web("http-2", 80, 3),
            web("admin", 8080, 4),
            Svc::test("default", "other")
                .port(9, "TCP")
                .created_at(5)
                .build(),
        ],
    );
    let p = plan_settled(&i);
    assert_eq!(ips(&p, "http"), ["192.0.2.0"]);
    assert_eq!(ips(&p, "https"), ["192.0.2.0"]);
    assert_eq!(
        ips(&p, "http-2"),
        ["192.0.2.1"],
        "port 80 clashes: a second IP for the key"
    );
    assert_eq!(
        ips(&p, "admin"),
        ["192.0.2.0"],
        "lowest compatible IP of the key"
    );
    assert_eq!(ips(&p, "other"), ["192.0.2.2"]);
}

#[test]
fn sharing_across_namespaces_needs_both_annotations() {
    let svc = |ns: &str, port, at| {
        Svc::test(ns, "s")
            .sharing_key("k")
            .port(port, "TCP")
            .created_at(at)
    };
    let pools = || vec![Pool::test("p").cidr("192.0.2.0/24").build()];
    let one_sided = plan_settled(&input(
        pools(),
        vec![
            svc("a", 1, 1).cross_namespace("b").build(),
            svc("b", 2, 2).build(),
        ],
    ));
    assert_ne!(ips_in(&one_sided, "a", "s"), ips_in(&one_sided, "b", "s"));
    let both = plan_settled(&input(
        pools(),
        vec![
            svc("a", 1, 1).cross_namespace("b").build(),
            svc("b", 2, 2).cross_namespace("*").build(),
        ],
    ));
    assert_eq!(ips_in(&both, "a", "s"), ips_in(&both, "b", "s"));
}

#[test]
fn dual_stack_services_share_per_family() {
    let i = input(
        dual_pools(),
        vec![
            Svc::test("default", "a")
                .policy("PreferDualStack")
                .sharing_key("k")
                .port(1, "TCP")
                .created_at(1)
                .build(),
            Svc::test("default", "b")
                .sharing_key("k")
                .port(2, "TCP")
                .created_at(2)
                .build(),
            Svc::test("default", "c")
                .families(&["IPv6"])
                .sharing_key("k")
                .port(3, "TCP")
                .created_at(3)
                .build(),
        ],
    );
    let p = plan_settled(&i);
    assert_eq!(ips(&p, "a"), ["192.0.2.0", "2001:db8::"]);
    assert_eq!(ips(&p, "b"), ["192.0.2.0"]);
    assert_eq!(ips(&p, "c"), ["2001:db8::"]);
}

// ---- Unsatisfied until a pool appears --------------------------------------------------------

#[test]
fn an_unsatisfied_service_is_satisfied_when_a_pool_appears() {
    let i = input(vec![], vec![Svc::test("default", "a").build()]);
    let p = plan_settled(&i);
    assert_unsatisfied(&p, "a", c::REASON_NO_POOL, c::MSG_NO_MATCHING_POOL);
    let mut next = written(&i, &p);
    next.pools
        .push(Pool::test("late").cidr("203.0.113.0/24").build());
    let p2 = plan(&next);
    assert_eq!(ips(&p2, "a"), ["203.0.113.0"]);
    assert_satisfied(&p2, "a");
    assert!(
        p2.events.is_empty(),
        "a new allocation is not an event: {:?}",
        p2.events
    );
}

#[test]
fn out_of_ips_when_every_matching_pool_is_full() {
    let i = input(
        vec![Pool::test("tiny").cidr("192.0.2.0/32").build()],
        vec![
            Svc::test("default", "a").created_at(1).build(),
            Svc::test("default", "b").created_at(2).build(),
        ],
    );
    let p = plan_settled(&i);
    assert_eq!(ips(&p, "a"), ["192.0.2.0"]);
    assert_unsatisfied(&p, "b", c::REASON_OUT_OF_IPS, c::MSG_OUT_OF_IPS);
}

// ---- Stability -----------------------------------------------------------------------------

/// A settled cluster: pool `p` (team=a selector) with three services.
fn settled() -> (Input, Plan) {
    let i = input(
        vec![
            Pool::test("p")
                .cidr("192.0.2.0/28")
                .select("team", "a")
                .build(),
        ],
        (0..3)
            .map(|n| {
                Svc::test("default", &format!("s{n}"))
                    .label("team", "a")
                    .created_at(n)
                    .build()
            })
            .collect(),
    );
    let p = plan_settled(&i);
    (written(&i, &p), p)
}

#[test]
fn pool_edits_that_keep_ips_valid_never_move_a_service() {
    let (base, before) = settled();
    let edits: Vec<(&str, super::model::PoolInput)> = vec![
        (
            "add a block in front",
            Pool::test("p")
                .cidr("192.0.2.0/28")
                .cidr("192.0.2.0/32")
                .build(),
        ),
        (
            "add a lower block",
            Pool::test("p")
                .cidr("198.51.100.0/24")
                .cidr("192.0.2.0/28")
                .select("team", "a")
                .build(),
        ),
        (
            "drop the selector",
            Pool::test("p").cidr("192.0.2.0/28").build(),
        ),
        (
            "a different selector that still matches",
            Pool::test("p")
                .cidr("192.0.2.0/28")
                .select_expr("team", LabelSelectorOperator::In, &["a", "b"])
                .build(),
        ),
        (
            "disable",
            Pool::test("p")
                .cidr("192.0.2.0/28")
                .select("team", "a")
                .disabled()
                .build(),
        ),
        (
            "reserve first and last",
            Pool::test("p")
                .cidr("192.0.2.0/28")
                .select("team", "a")
                .allow_first_last(false)
                .build(),
        ),
    ];
    for (what, pool) in edits {
        let mut edited = base.clone();
        edited.pools = vec![pool];
        let after = plan(&edited);
        for n in 0..3 {
            let name = format!("s{n}");
            assert_eq!(
                ips(&after, &name),
                ips(&before, &name),
                "{what}: {name} moved"
            );
        }
        assert!(after.events.is_empty(), "{what}: {:?}", after.events);
    }
}

#[test]
fn an_ip_that_stops_being_valid_is_reallocated_with_an_event() {
    let (base, _) = settled();
    let mut edited = base.clone();
    edited.pools = vec![
        Pool::test("p")
            .cidr("192.0.2.0/28")
            .select("team", "a")
            .build(),
        Pool::test("q")
            .cidr("198.51.100.0/24")
            .created_at(5)
            .build(),
    ];
    edited.services[1].labels.insert("team".into(), "b".into());
    let p = plan(&edited);
    assert_eq!(ips(&p, "s0"), ["192.0.2.0"]);
    assert_eq!(ips(&p, "s1"), ["198.51.100.0"]);
    assert_eq!(ips(&p, "s2"), ["192.0.2.2"]);
    let events = events_for(&p, "s1");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].type_, EventType::Warning);
    assert_eq!(events[0].reason, c::EVENT_IP_REALLOCATED);
    assert_eq!(
        events[0].note,
        "Released 192.0.2.1 (pool 'p' no longer selects this service); assigned 198.51.100.0"
    );
    assert_eq!(p.events.len(), 1, "nobody else is touched");
}

#[test]
fn a_removed_block_releases_its_ips() {
    let (base, _) = settled();
    let mut edited = base.clone();
    edited.pools = vec![
        Pool::test("p")
            .cidr("198.51.100.0/30")
            .select("team", "a")
            .build(),
    ];
    let p = plan(&edited);
    assert_eq!(ips(&p, "s0"), ["198.51.100.0"]);
    assert_eq!(ips(&p, "s2"), ["198.51.100.2"]);
    let note = &events_for(&p, "s0")[0].note;
    assert!(
        note.contains("192.0.2.0 (no CiliumLoadBalancerIPPool contains it)"),
        "{note}"
    );
    // Without any pool left, the IP is released and the request unsatisfied.
    let mut gone = base.clone();
    gone.pools.clear();
    let p = plan(&gone);
    assert!(ips(&p, "s0").is_empty());
    let reasons: Vec<&str> = events_for(&p, "s0")
        .iter()
        .map(|e| e.reason.as_str())
        .collect();
    assert_eq!(
        reasons,
        [c::EVENT_IP_RELEASED, c::EVENT_REQUEST_UNSATISFIED]
    );
}

#[test]
fn a_double_claimed_ip_stays_with_the_older_service() {
    let i = input(
        vec![Pool::test("p").cidr("192.0.2.0/24").build()],
        vec![
            Svc::test("default", "young")
                .current(&["192.0.2.1"])
                .created_at(9)
                .build(),
            Svc::test("default", "old")
                .current(&["192.0.2.1"])
                .created_at(1)
                .build(),
        ],
    );
    let p = plan(&i);
    assert_eq!(ips(&p, "old"), ["192.0.2.1"]);
    assert_eq!(ips(&p, "young"), ["192.0.2.0"]);
    let note = &events_for(&p, "young")[0].note;
    assert!(note.contains("held by older service default/old"), "{note}");
    assert!(events_for(&p, "old").is_empty());
    plan_settled(&i);
}

#[test]
fn changing_the_request_moves_the_service_with_a_normal_event() {
    let i = input(
        vec![Pool::test("p").cidr("192.0.2.0/24").build()],
        vec![
            Svc::test("default", "a")
                .current(&["192.0.2.0"])
                .request("192.0.2.77")
                .build(),
        ],
    );
    let p = plan(&i);
    assert_eq!(ips(&p, "a"), ["192.0.2.77"]);
    let e = &events_for(&p, "a")[0];
    assert_eq!(
        (e.type_, e.reason.as_str()),
        (EventType::Normal, c::EVENT_IP_REALLOCATED)
    );
    assert!(e.note.contains("not among the requested IPs"), "{}", e.note);
}

#[test]
fn foreign_surplus_and_garbage_status_entries_are_cleaned_up() {
    let i = input(
        vec![Pool::test("p").cidr("192.0.2.0/24").build()],
        vec![
            Svc::test("default", "a")
                .current(&[
                    "192.0.2.9",
                    "192.0.2.3",
                    "203.0.113.1",
                    "junk",
                    "2001:db8::1",
                ])
                .build(),
        ],
    );
    let p = plan(&i);
    assert_eq!(
        ips(&p, "a"),
        ["192.0.2.3"],
        "one IPv4 (the lowest valid) and nothing else"
    );
    let note = &events_for(&p, "a")[0].note;
    for part in [
        "192.0.2.9 (the service keeps 192.0.2.3 for this family)",
        "203.0.113.1 (no CiliumLoadBalancerIPPool contains it)",
        "junk (not an IP address)",
        "2001:db8::1 (the service no longer requests IPv6)",
    ] {
        assert!(note.contains(part), "{note} lacks {part}");
    }
    plan_settled(&i);
}

#[test]
fn restart_rebuilds_from_status_without_moving_anything() {
    // Statuses as another replica wrote them, in an order our allocator would not choose.
    let i = input(
        dual_pools(),
        vec![
            Svc::test("default", "a")
                .current(&["192.0.2.200"])
                .created_at(1)
                .build(),
            Svc::test("default", "b")
                .policy("PreferDualStack")
                .current(&["192.0.2.7", "2001:db8::99"])
                .created_at(2)
                .build(),
            Svc::test("default", "new").created_at(3).build(),
        ],
    );
    let p = plan_settled(&i);
    assert_eq!(ips(&p, "a"), ["192.0.2.200"]);
    assert_eq!(ips(&p, "b"), ["192.0.2.7", "2001:db8::99"]);
    assert_eq!(ips(&p, "new"), ["192.0.2.0"]);
    assert!(events_for(&p, "a").is_empty() && events_for(&p, "b").is_empty());
}

#[test]
fn the_plan_does_not_depend_on_input_order() {
    let mut i = input(
        vec![
            Pool::test("x").cidr("192.0.2.0/29").created_at(2).build(),
            Pool::test("y").cidr("192.0.2.8/29").created_at(1).build(),
        ],
        (0..12)
            .map(|n| {
                Svc::test("default", &format!("s{n:02}"))
                    .created_at(n % 3)
                    .build()
            })
            .collect(),
    );
    let forward = plan(&i);
    i.services.reverse();
    i.pools.reverse();
    assert_eq!(plan(&i), forward);
}

#[test]
fn an_unchanged_unsatisfied_condition_raises_no_new_event() {
    let i = input(
        vec![],
        vec![
            Svc::test("default", "a")
                .condition(Status::False, c::REASON_NO_POOL, c::MSG_NO_MATCHING_POOL)
                .build(),
        ],
    );
    assert!(plan(&i).events.is_empty());
}

// ---- Regressions found by the property tests -----------------------------------------------

#[test]
fn a_shared_ip_in_an_overlap_counts_against_the_same_pool_on_every_pass() {
    // `wide` conflicts with `narrow` (same age, name order). The IP is held via `narrow`
    // by one service and via `wide` by the other; it must count against `narrow` (the
    // non-conflicting pool containing it) whichever service claims it first.
    let i = input(
        vec![
            Pool::test("wide")
                .range("192.0.2.38", "192.0.2.42")
                .created_at(2)
                .build(),
            Pool::test("narrow")
                .cidr("192.0.2.32/28")
                .select("team", "a")
                .created_at(0)
                .build(),
        ],
        vec![
            Svc::test("ns0", "s0")
                .label("team", "a")
                .sharing_key("k")
                .current(&["192.0.2.38"])
                .created_at(2)
                .build(),
            Svc::test("ns0", "s1")
                .label("team", "b")
                .sharing_key("k")
                .created_at(0)
                .build(),
        ],
    );
    let p = plan_settled(&i);
    assert_eq!(counts(&p, "narrow").2, 1);
    assert_eq!(counts(&p, "wide").2, 0);
    assert!(
        ips_in(&p, "ns0", "s1").is_empty(),
        "team b may not join through `narrow`"
    );
}

#[test]
fn a_requested_ip_is_never_taken_through_a_conflicting_pool() {
    let i = input(
        vec![
            Pool::test("a-live")
                .range("192.0.2.3", "192.0.2.6")
                .select("team", "a")
                .build(),
            Pool::test("b-conflicting")
                .range("192.0.2.3", "192.0.2.6")
                .build(),
        ],
        vec![
            Svc::test("default", "wants")
                .request("192.0.2.6")
                .sharing_key("k")
                .build(),
            Svc::test("default", "z-late")
                .label("team", "a")
                .sharing_key("k")
                .current(&["192.0.2.6"])
                .created_at(3)
                .build(),
        ],
    );
    let p = plan_settled(&i);
    assert!(ips(&p, "wants").is_empty());
    assert_unsatisfied(
        &p,
        "wants",
        c::REASON_NO_POOL,
        "conflicts with pool 'a-live'",
    );
}

#[test]
fn the_incompatibility_reason_does_not_depend_on_join_order() {
    let i = input(
        vec![Pool::test("p").range("192.0.2.7", "192.0.2.11").build()],
        vec![
            Svc::test("ns0", "s0")
                .request("192.0.2.11")
                .sharing_key("k")
                .port(80, "UDP")
                .build(),
            Svc::test("ns1", "s1")
                .cross_namespace("*")
                .sharing_key("k")
                .build(),
            Svc::test("ns0", "s2")
                .cross_namespace("*")
                .sharing_key("k")
                .port(80, "UDP")
                .current(&["192.0.2.11"])
                .created_at(1)
                .build(),
        ],
    );
    let p = plan_settled(&i);
    let ServicePlan::Managed { condition, .. } = &p.services[&key("ns0", "s0")] else {
        panic!("ns0/s0 is managed");
    };
    assert_eq!(condition.reason, c::REASON_ALREADY_ALLOCATED_INCOMPATIBLE);
    assert!(
        condition
            .message
            .ends_with("Reason: different and not permitted namespace"),
        "the oldest holder (ns1/s1) is checked first: {}",
        condition.message
    );
}

#[test]
fn huge_garbage_annotations_are_clipped_to_api_limits() {
    // Distinct entries (identical ones would be reported once), about 250 KiB in all.
    let garbage: Vec<String> = (0..2_000)
        .map(|n| format!("{n}{}", "x".repeat(120)))
        .collect();
    let garbage = garbage.join(",");
    let p = plan_settled(&input(
        vec![Pool::test("p").cidr("192.0.2.0/24").build()],
        vec![Svc::test("default", "a").request(&garbage).build()],
    ));
    let cond = condition(&p, "a");
    assert_eq!(cond.reason, c::REASON_INVALID_IP);
    assert!(cond.message.len() <= c::MAX_CONDITION_MESSAGE);
    assert!(cond.message.ends_with("..."), "the message was clipped");
    assert!(
        events_for(&p, "a")
            .iter()
            .all(|e| e.note.len() <= c::MAX_EVENT_NOTE)
    );
}

#[test]
fn tens_of_thousands_of_requested_ips_plan_quickly() {
    // An annotation may hold ~30k addresses; nothing may be quadratic in that.
    let many: Vec<String> = (0..30_000u32)
        .map(|n| format!("2001:db8::{:x}", n))
        .collect();
    let started = std::time::Instant::now();
    let p = plan_settled(&input(
        vec![Pool::test("v6").cidr("2001:db8::/64").build()],
        vec![
            Svc::test("default", "a")
                .request(&many.join(","))
                .current(&["2001:db8::5"])
                .build(),
        ],
    ));
    assert_eq!(ips(&p, "a").len(), 30_000);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}
