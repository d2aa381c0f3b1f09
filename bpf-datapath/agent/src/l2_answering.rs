//! This node's responder table: the IPs its NodeL2Announcement lists, resolved against the
//! attached devices ([`crate::l2_entries`]), or nothing while the [`crate::l2_fence`] says the
//! node must not answer. The announcement stays cached while fenced, so a lifted fence brings
//! the entries back (and announces them) without waiting for the object to change.

use std::time::Instant;

use ferrule_bpf_loader::DatapathMaps;
use kube::runtime::watcher::Event;

use crate::agent::Agent;
use crate::l2_entries::resolve;
use crate::l2_fence::{LeaseFence, Reason};
use crate::metrics::AgentMetrics;
use crate::responder::Announcer;

/// What one [`L2Answering::program`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Programmed {
    /// The responder table changed: a sync must write it.
    pub changed: bool,
    /// When the fence's decision flips by itself if nothing is observed meanwhile.
    pub recheck_at: Option<Instant>,
}

/// The fence (when this node has a liveness Lease) and the answering state last applied.
#[derive(Debug)]
pub struct L2Answering {
    fence: Option<LeaseFence>,
    lease: String,
    answering: bool,
    bad_regexes: Vec<(String, String)>,
    metrics: AgentMetrics,
}

impl L2Answering {
    /// `fence` is `None` where no announcer renews a Lease for this node (the node then always
    /// answers for its announcement); `lease` names it in logs.
    pub fn new(fence: Option<LeaseFence>, lease: impl Into<String>, metrics: AgentMetrics) -> Self {
        metrics.set_l2_fenced(false);
        Self {
            fence,
            lease: lease.into(),
            // A starting agent's adopted entries answer until it decides otherwise.
            answering: true,
            bad_regexes: Vec::new(),
            metrics,
        }
    }

    /// Whether the Lease watch has listed once (always, without a fence).
    pub fn lease_listed(&self) -> bool {
        self.fence.as_ref().is_none_or(LeaseFence::listed)
    }

    /// Whether the node currently withholds its answers.
    pub fn fenced(&self) -> bool {
        !self.answering
    }

    pub fn observe_lease(
        &mut self,
        event: Event<k8s_openapi::api::coordination::v1::Lease>,
        now: Instant,
    ) {
        if let Some(fence) = &mut self.fence {
            fence.observe(event, now);
        }
    }

    /// Recomputes the responder table at `now` from the cached announcement, the agent's
    /// devices and the fence; logs and counts a change of the fence.
    pub fn program<M: DatapathMaps, A: Announcer>(
        &mut self,
        agent: &mut Agent<M, A>,
        now: Instant,
    ) -> Programmed {
        let decision = self.fence.as_ref().map(|f| f.decide(now));
        let answer = decision.is_none_or(|d| d.answer);
        if answer != self.answering {
            let reason = decision.map_or(Reason::Renewed, |d| d.reason).as_str();
            if answer {
                tracing::info!(lease = %self.lease, reason, "liveness Lease renewed: answering ARP / NDP for this node's announcements again");
            } else {
                tracing::warn!(lease = %self.lease, reason, "liveness Lease not renewed: withdrawing every responder entry (other nodes take over this node's IPs)");
            }
            self.answering = answer;
            self.metrics.set_l2_fenced(!answer);
        }
        let changed = if answer {
            let resolved = resolve(agent.index.announced(), &agent.devices);
            if resolved.bad_regexes != self.bad_regexes {
                for (pattern, error) in &resolved.bad_regexes {
                    tracing::warn!(%pattern, %error, "interface expression of a NodeL2Announcement does not compile; its IP is not announced there");
                }
                self.bad_regexes = resolved.bad_regexes;
            }
            agent.responders.set(resolved.entries)
        } else {
            agent.responders.set([])
        };
        Programmed {
            changed,
            recheck_at: decision.and_then(|d| d.recheck_at),
        }
    }
}
