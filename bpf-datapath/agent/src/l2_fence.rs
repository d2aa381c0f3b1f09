//! Partition fencing of the L2 responder: this node answers ARP / NDP for what its
//! NodeL2Announcement lists only while it sees its ferrule-l2announcer renew the node's
//! liveness Lease (`ferrule-l2announce-<node>`).
//!
//! Why the agent watches the Lease itself: the other announcers reassign this node's services
//! once its Lease expires, and the status-writing one empties this node's NodeL2Announcement.
//! But when this node is cut off from the API server, that emptying never reaches it: its copy
//! of the object is stale, not deleted, and without a fence it would keep answering next to the
//! new owner (two MACs for one IP, a neighbour flapping between them). The Lease is what the
//! rest of the cluster judges this node by, so the agent judges itself by the same signal.
//!
//! The rule, [`LeaseFence::decide`], is the announcers' own (client-go's clock rule): the node
//! answers while its Lease is held and its record changed within the *failover delay* F,
//! measured on this process's monotonic clock from when the change was *observed* (renewTime
//! was written with the announcer's clock, which may be skewed; it is never compared with
//! ours). A released Lease (holder empty or absent, a graceful shutdown) or a deleted one
//! fences at once, since the others reassign at once. A renewal observed later lifts the
//! fence, and the entries come back as additions, so gratuitous ARP / unsolicited NA tell the
//! neighbours again.
//!
//! F is what the other announcers wait before they take this node's services over: the
//! announcer writes it on its Lease as the annotation
//! [`ferrule_api::names::ferrule_annotation::L2_FAILOVER_AFTER`] (max(lease duration − renew
//! deadline, renew deadline); the reasoning is in ferrule-l2announce's `liveness` module),
//! capped at `leaseDurationSeconds`, which counts alone for a Lease without it. The fence
//! closes a margin of F/10 *before* F ([`fence_after`]): the others start counting F from
//! their own observation of the same last renewal, one watch latency away from ours, and
//! this node going quiet a little early costs nothing (the new owner's gratuitous ARP follows
//! within that margin), while answering next to the new owner splits the clients. F/10 is at
//! most the announcer's retry period at its defaults (15s/5s/2s: 1 s of 10 s) and at 2s/1s/200ms
//! (100 ms of 1 s), and the agent does not know the retry period.
//!
//! Watch broken: a broken watch delivers no renewals, so the Lease looks expired after its
//! duration and the node stops answering. That is the partition case, and deliberately so:
//! from inside, "the API server is unreachable" and "this node is partitioned" look the same,
//! and in the second case the other nodes already answer. The price is that a control-plane
//! outage longer than the fence delay (about F: 9 s at the default timings, where it was the
//! 15 s lease duration before F existed) also silences L2 announcements (as in Cilium, whose
//! agents stop announcing when they cannot renew their Leases, after the lease duration).
//!
//! Start and restart: the responder entries the previous agent pinned keep answering while no
//! agent runs, and a restarted agent must not drop them before it knows better, so nothing is
//! withdrawn before the Lease watch has listed once. A Lease first seen counts as changed
//! "now" (so a held Lease keeps the node answering for its whole fence delay before it can look
//! stale). One bound remains: an agent that cannot list the Lease within the default duration
//! of its start is in the partition case above, and fences ([`Reason::NeverListed`]).

use std::time::{Duration, Instant};

use ferrule_api::names::ferrule_annotation::L2_FAILOVER_AFTER;
use ferrule_runtime::config::parse_duration;
use ferrule_runtime::leader::RecordClock;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use kube::runtime::watcher::Event;

/// The announcer's Lease names: this prefix and the node name.
pub const DEFAULT_LEASE_PREFIX: &str = "ferrule-l2announce-";

/// The announcer's default `--lease-duration`: used for a Lease without
/// `leaseDurationSeconds`, and as the start-up bound for listing it.
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);

/// How long after the last observed change of its Lease this node stops answering: the
/// failover delay the Lease announces (capped at `leaseDurationSeconds`; without it,
/// `leaseDurationSeconds`; without that, `default_duration`), less a tenth of it (see the
/// module doc).
pub fn fence_after(lease: &Lease, default_duration: Duration) -> Duration {
    let duration = match lease.spec.as_ref().and_then(|s| s.lease_duration_seconds) {
        Some(seconds) if seconds > 0 => Duration::from_secs(u64::from(seconds.unsigned_abs())),
        _ => default_duration,
    };
    let announced = lease
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(L2_FAILOVER_AFTER))
        .and_then(|text| parse_duration(text).ok())
        .filter(|d| !d.is_zero());
    let failover_after = announced.map_or(duration, |f| f.min(duration));
    failover_after - failover_after / 10
}

/// Which Lease fences this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRef {
    pub namespace: String,
    pub name: String,
    pub default_duration: Duration,
}

impl LeaseRef {
    /// `<prefix><node>` in `namespace`, with [`DEFAULT_LEASE_DURATION`].
    pub fn for_node(namespace: &str, prefix: &str, node: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            name: format!("{prefix}{node}"),
            default_duration: DEFAULT_LEASE_DURATION,
        }
    }
}

/// Why the node answers or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Not listed yet, within the start-up bound: adopted entries stay as they are.
    Starting,
    /// Held and renewed within its failover delay.
    Renewed,
    /// The Lease watch did not list within the default duration of the start.
    NeverListed,
    /// No such Lease (never created, or deleted).
    Absent,
    /// Held by nobody: released on purpose.
    Released,
    /// Not seen to change for its failover delay (less the margin).
    Expired,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Renewed => "renewed",
            Self::NeverListed => "never-listed",
            Self::Absent => "absent",
            Self::Released => "released",
            Self::Expired => "expired",
        }
    }
}

/// What [`LeaseFence::decide`] says at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the node answers for its announcements.
    pub answer: bool,
    pub reason: Reason,
    /// When the decision flips by itself if nothing is observed meanwhile.
    pub recheck_at: Option<Instant>,
}

/// The observed Lease and when its record last changed (this process's clock).
#[derive(Debug)]
pub struct LeaseFence {
    started: Instant,
    default_duration: Duration,
    listed: bool,
    /// Objects of a relist in progress (the watch selects one name: at most one).
    relist: Option<Option<Lease>>,
    lease: Option<LeaseSpec>,
    /// How long the record may stay unchanged (from [`fence_after`]).
    fence_after: Duration,
    clock: RecordClock,
}

impl LeaseFence {
    pub fn new(started: Instant, default_duration: Duration) -> Self {
        Self {
            started,
            default_duration,
            listed: false,
            relist: None,
            lease: None,
            fence_after: default_duration,
            clock: RecordClock::default(),
        }
    }

    /// Whether the Lease watch has completed a list.
    pub fn listed(&self) -> bool {
        self.listed
    }

    /// Takes in one event of the Lease watch, received at `now`. A relist replaces the Lease
    /// only when complete; an unchanged record does not move the clock, so a relist after a
    /// broken watch does not count as a renewal.
    pub fn observe(&mut self, event: Event<Lease>, now: Instant) {
        match event {
            Event::Init => self.relist = Some(None),
            Event::InitApply(lease) => self.relist = Some(Some(lease)),
            Event::InitDone => {
                self.listed = true;
                let lease = self.relist.take().flatten();
                self.set(lease, now);
            }
            Event::Apply(lease) => self.set(Some(lease), now),
            Event::Delete(_) => self.set(None, now),
        }
    }

    /// The clock follows the spec only: the annotation is not renewed.
    fn set(&mut self, lease: Option<Lease>, now: Instant) {
        if let Some(lease) = &lease {
            self.fence_after = fence_after(lease, self.default_duration);
        }
        let spec = lease.map(|l| l.spec.unwrap_or_default());
        self.clock.observe(spec.as_ref(), now);
        self.lease = spec;
    }

    /// Whether the node answers at `now` (see the module doc).
    pub fn decide(&self, now: Instant) -> Decision {
        let no = |reason| Decision {
            answer: false,
            reason,
            recheck_at: None,
        };
        if !self.listed {
            let bound = self.started + self.default_duration;
            return if now < bound {
                Decision {
                    answer: true,
                    reason: Reason::Starting,
                    recheck_at: Some(bound),
                }
            } else {
                no(Reason::NeverListed)
            };
        }
        let Some(spec) = &self.lease else {
            return no(Reason::Absent);
        };
        if spec.holder_identity.as_deref().is_none_or(str::is_empty) {
            return no(Reason::Released);
        }
        let Some(until) = self.clock.changed_at().map(|at| at + self.fence_after) else {
            return no(Reason::Absent);
        };
        if now < until {
            Decision {
                answer: true,
                reason: Reason::Renewed,
                recheck_at: Some(until),
            }
        } else {
            no(Reason::Expired)
        }
    }
}

#[cfg(test)]
#[path = "l2_fence_tests.rs"]
mod tests;
