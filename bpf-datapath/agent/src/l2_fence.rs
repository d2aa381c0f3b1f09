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
//! The rule, [`LeaseFence::decide`], is the announcers' own (client-go's): the node answers
//! while its Lease is held and its record changed within `leaseDurationSeconds`, measured on
//! this process's monotonic clock from when the change was *observed* (renewTime was written
//! with the announcer's clock, which may be skewed; it is never compared with ours). A released
//! Lease (holder empty or absent, a graceful shutdown) or a deleted one fences at once, since
//! the others reassign at once. A renewal observed later lifts the fence, and the entries come
//! back as additions, so gratuitous ARP / unsolicited NA tell the neighbours again.
//!
//! Watch broken: a broken watch delivers no renewals, so the Lease looks expired after its
//! duration and the node stops answering. That is the partition case, and deliberately so:
//! from inside, "the API server is unreachable" and "this node is partitioned" look the same,
//! and in the second case the other nodes already answer. The price is that a control-plane
//! outage longer than the lease duration also silences L2 announcements (as in Cilium, whose
//! agents stop announcing when they cannot renew their Leases).
//!
//! Start and restart: the responder entries the previous agent pinned keep answering while no
//! agent runs, and a restarted agent must not drop them before it knows better, so nothing is
//! withdrawn before the Lease watch has listed once. A Lease first seen counts as changed
//! "now" (so a held Lease keeps the node answering for a full duration before it can look
//! stale). One bound remains: an agent that cannot list the Lease within the default duration
//! of its start is in the partition case above, and fences ([`Reason::NeverListed`]).

use std::time::{Duration, Instant};

use ferrule_runtime::leader::RecordClock;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use kube::runtime::watcher::Event;

/// The announcer's Lease names: this prefix and the node name.
pub const DEFAULT_LEASE_PREFIX: &str = "ferrule-l2announce-";

/// The announcer's default `--lease-duration`: used for a Lease without
/// `leaseDurationSeconds`, and as the start-up bound for listing it.
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);

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
    /// Held and renewed within its duration.
    Renewed,
    /// The Lease watch did not list within the default duration of the start.
    NeverListed,
    /// No such Lease (never created, or deleted).
    Absent,
    /// Held by nobody: released on purpose.
    Released,
    /// Not seen to change for its whole duration.
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
    relist: Option<Option<LeaseSpec>>,
    lease: Option<LeaseSpec>,
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
            Event::InitApply(lease) => self.relist = Some(lease.spec),
            Event::InitDone => {
                self.listed = true;
                let spec = self.relist.take().flatten();
                self.set(spec, now);
            }
            Event::Apply(lease) => self.set(Some(lease.spec.unwrap_or_default()), now),
            Event::Delete(_) => self.set(None, now),
        }
    }

    fn set(&mut self, spec: Option<LeaseSpec>, now: Instant) {
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
        let duration = match spec.lease_duration_seconds {
            Some(seconds) if seconds > 0 => Duration::from_secs(u64::from(seconds.unsigned_abs())),
            _ => self.default_duration,
        };
        let Some(until) = self.clock.changed_at().map(|at| at + duration) else {
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
