use super::*;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;

const DEFAULT: Duration = Duration::from_secs(15);

fn at(base: Instant, ms: u64) -> Instant {
    base + Duration::from_millis(ms)
}

/// A Lease as the announcer writes it: a holder, a 2s duration, renewed at `second` (its
/// own wall clock, which the fence must never compare with ours).
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
    let d = fence.decide(at(base, 1_999));
    assert!(d.answer);
    assert_eq!(d.reason, Reason::Renewed);
    assert_eq!(d.recheck_at, Some(at(base, 2_000)));
    let d = fence.decide(at(base, 2_000));
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
    assert_eq!(d.recheck_at, Some(at(base, 5_000)));
    assert!(!fence.decide(at(base, 5_000)).answer);
}

#[test]
fn an_unchanged_record_seen_again_is_not_a_renewal() {
    let base = Instant::now();
    let mut fence = listed(base, Some(lease(Some("n1"), 100)));
    // A relist after a broken watch returns the same record: the announcer did not renew.
    fence.observe(Event::Init, at(base, 1_500));
    fence.observe(Event::InitApply(lease(Some("n1"), 100)), at(base, 1_500));
    fence.observe(Event::InitDone, at(base, 1_500));
    let d = fence.decide(at(base, 2_000));
    assert!(!d.answer);
    assert_eq!(d.reason, Reason::Expired);
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
    assert_eq!(fence.decide(base).recheck_at, Some(base + DEFAULT));
}

#[test]
fn lease_names_match_the_announcers() {
    let r = LeaseRef::for_node("kube-system", DEFAULT_LEASE_PREFIX, "node-1");
    assert_eq!(r.name, "ferrule-l2announce-node-1");
    assert_eq!(r.namespace, "kube-system");
}
