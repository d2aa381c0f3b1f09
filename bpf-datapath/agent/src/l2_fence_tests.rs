use super::*;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;

const DEFAULT: Duration = Duration::from_secs(15);

fn at(base: Instant, ms: u64) -> Instant {
    base + Duration::from_millis(ms)
}

/// A Lease as an announcer without the failover annotation writes it: a holder, a 2s
/// duration (so the fence closes after 1.8s), renewed at `second` (its own wall clock, which
/// the fence must never compare with ours).
fn lease(holder: Option<&str>, second: i64) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some("ferrule-l2announce-n1".into()),
            namespace: Some("kube-system".into()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: holder.map(str::to_owned),
            lease_duration_seconds: Some(2),
            renew_time: Some(MicroTime(Timestamp::from_second(second).expect("in range"))),
            ..LeaseSpec::default()
        }),
    }
}

/// [`lease`] with the failover delay annotation the announcer writes.
fn announcing(failover_after: &str, second: i64) -> Lease {
    let mut l = lease(Some("n1"), second);
    l.metadata.annotations = Some(
        [(L2_FAILOVER_AFTER.to_owned(), failover_after.to_owned())]
            .into_iter()
            .collect(),
    );
    l
}

fn listed(base: Instant, initial: Option<Lease>) -> LeaseFence {
    let mut fence = LeaseFence::new(base, DEFAULT);
    fence.observe(Event::Init, base);
    if let Some(l) = initial {
        fence.observe(Event::InitApply(l), base);
    }
    fence.observe(Event::InitDone, base);
    fence
}

#[test]
fn before_the_first_list_adopted_entries_keep_answering_until_the_start_up_bound() {
    let base = Instant::now();
    let fence = LeaseFence::new(base, DEFAULT);
    let d = fence.decide(at(base, 14_999));
    assert!(d.answer);
    assert_eq!(d.reason, Reason::Starting);
    assert_eq!(d.recheck_at, Some(base + DEFAULT));
    let d = fence.decide(base + DEFAULT);
    assert!(!d.answer);
    assert_eq!(d.reason, Reason::NeverListed);
}

#[test]
fn a_relist_in_progress_does_not_count_as_listed() {
    let base = Instant::now();
    let mut fence = LeaseFence::new(base, DEFAULT);
    fence.observe(Event::Init, base);
    fence.observe(Event::InitApply(lease(Some("n1"), 100)), base);
    assert!(!fence.listed());
    assert_eq!(fence.decide(base).reason, Reason::Starting);
}

#[test]
fn a_held_lease_first_seen_answers_for_its_whole_duration_whatever_its_renew_time() {
    let base = Instant::now();
    // renewTime is hours in the past by this node's wall clock: skew must not matter.
    let fence = listed(base, Some(lease(Some("n1"), 1)));
    let d = fence.decide(at(base, 1_799));
    assert!(d.answer);
    assert_eq!(d.reason, Reason::Renewed);
    assert_eq!(d.recheck_at, Some(at(base, 1_800)));
    let d = fence.decide(at(base, 1_800));
    assert!(!d.answer);
    assert_eq!(d.reason, Reason::Expired);
}

#[test]
fn an_observed_renewal_lifts_the_fence_and_restarts_the_duration() {
    let base = Instant::now();
    let mut fence = listed(base, Some(lease(Some("n1"), 100)));
    assert!(!fence.decide(at(base, 2_500)).answer);
    fence.observe(Event::Apply(lease(Some("n1"), 102)), at(base, 3_000));
    let d = fence.decide(at(base, 3_000));
    assert!(d.answer);
    assert_eq!(d.recheck_at, Some(at(base, 4_800)));
    assert!(!fence.decide(at(base, 4_800)).answer);
}

#[test]
fn an_unchanged_record_seen_again_is_not_a_renewal() {
    let base = Instant::now();
    let mut fence = listed(base, Some(lease(Some("n1"), 100)));
    // A relist after a broken watch returns the same record: the announcer did not renew.
    fence.observe(Event::Init, at(base, 1_500));
    fence.observe(Event::InitApply(lease(Some("n1"), 100)), at(base, 1_500));
    fence.observe(Event::InitDone, at(base, 1_500));
    let d = fence.decide(at(base, 1_800));
    assert!(!d.answer);
    assert_eq!(d.reason, Reason::Expired);
}

#[test]
fn the_fence_closes_just_before_the_failover_delay_the_lease_announces() {
    let base = Instant::now();
    // 1s: the others take over 1s after the last renewal they saw; this node stops 100ms
    // earlier, though its Lease says 2s.
    let mut fence = listed(base, Some(announcing("1s", 100)));
    assert_eq!(fence.decide(base).recheck_at, Some(at(base, 900)));
    assert!(fence.decide(at(base, 899)).answer);
    let d = fence.decide(at(base, 900));
    assert!(!d.answer);
    assert_eq!(d.reason, Reason::Expired);
    // A renewal lifts it for the same delay; the annotation alone changing is no renewal.
    fence.observe(Event::Apply(announcing("1s", 101)), at(base, 1_000));
    assert_eq!(
        fence.decide(at(base, 1_000)).recheck_at,
        Some(at(base, 1_900))
    );
    fence.observe(Event::Apply(announcing("1500ms", 101)), at(base, 1_500));
    let d = fence.decide(at(base, 1_500));
    assert_eq!(
        d.recheck_at,
        Some(at(base, 2_350)),
        "1.35s after the renewal at 1s"
    );
}

#[test]
fn a_failover_delay_that_is_unusable_or_longer_than_the_lease_counts_as_the_lease() {
    for value in ["soon", "0s", "-1s", "1m"] {
        assert_eq!(
            fence_after(&announcing(value, 1), DEFAULT),
            Duration::from_millis(1_800),
            "{value}"
        );
    }
    assert_eq!(
        fence_after(&announcing("10s", 1), DEFAULT),
        Duration::from_millis(1_800)
    );
}

#[test]
fn a_released_lease_fences_at_once() {
    let base = Instant::now();
    for holder in [None, Some("")] {
        let mut fence = listed(base, Some(lease(Some("n1"), 100)));
        fence.observe(Event::Apply(lease(holder, 100)), at(base, 10));
        let d = fence.decide(at(base, 10));
        assert!(!d.answer, "{holder:?}");
        assert_eq!(d.reason, Reason::Released);
        assert_eq!(d.recheck_at, None);
    }
}

#[test]
fn a_deleted_or_missing_lease_fences_at_once() {
    let base = Instant::now();
    let fence = listed(base, None);
    assert_eq!(fence.decide(base).reason, Reason::Absent);
    assert!(!fence.decide(base).answer);

    let mut fence = listed(base, Some(lease(Some("n1"), 100)));
    fence.observe(Event::Delete(lease(Some("n1"), 100)), at(base, 10));
    assert_eq!(fence.decide(at(base, 10)).reason, Reason::Absent);
}

#[test]
fn a_lease_without_a_duration_uses_the_default() {
    let base = Instant::now();
    let mut l = lease(Some("n1"), 100);
    if let Some(spec) = l.spec.as_mut() {
        spec.lease_duration_seconds = None;
    }
    let fence = listed(base, Some(l));
    assert_eq!(
        fence.decide(base).recheck_at,
        Some(base + DEFAULT - DEFAULT / 10)
    );
}

#[test]
fn lease_names_match_the_announcers() {
    let r = LeaseRef::for_node("kube-system", DEFAULT_LEASE_PREFIX, "node-1");
    assert_eq!(r.name, "ferrule-l2announce-node-1");
    assert_eq!(r.namespace, "kube-system");
}
