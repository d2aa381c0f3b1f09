//! One pass's decisions, purely from a [`Snapshot`]: what this node announces, which policy
//! statuses to write, which Services to warn about. The I/O is in [`crate::reconcile`].
//!
//! # Who writes policy status
//!
//! Every announcer computes the same conditions, so letting all of them write would make N
//! identical writers (and N times the conflicts). Only the live node that sorts first by name
//! writes policy status and publishes the `NoLocalEndpoint` Events. Every announcer sees the
//! same live set, so exactly one acts; while views briefly differ two may write the same
//! conditions, which is harmless (server-side apply of identical content is a no-op), and
//! when the first node dies the next one takes over when its Lease lapses.

use crate::core::assign::{NotAnnounced, assign};
use crate::core::eligible::eligible;
use crate::core::model::ServiceKey;
use crate::core::policy::{Interfaces, compile};
use crate::core::policy_status::{
    BAD_INTERFACE_REGEX, BAD_NODE_SELECTOR, BAD_SERVICE_SELECTOR, desired_conditions,
};
use crate::index::Snapshot;
use ferrule_api::meta::Condition;
use ferrule_api::node_l2announcements::v1alpha1::{
    Announcement, NodeL2AnnouncementSpec, ServiceRef,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// The condition types this controller owns on a policy.
pub const OWN_CONDITION_TYPES: [&str; 3] =
    [BAD_SERVICE_SELECTOR, BAD_NODE_SELECTOR, BAD_INTERFACE_REGEX];

/// What a pass should bring about.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// This node's NodeL2Announcement spec.
    pub own: NodeL2AnnouncementSpec,
    /// Whether it differs from what is stored (or nothing is stored).
    pub own_changed: bool,
    /// Whether this node writes policy status and publishes Events.
    pub writes_status: bool,
    /// Policies whose conditions differ from what they carry: name and our conditions.
    pub policy_status: Vec<(String, Vec<Condition>)>,
    /// Eligible eTP Local Services no live candidate node has a ready endpoint on.
    pub no_local_endpoint: Vec<ServiceKey>,
    /// Other nodes that are not live but whose NodeL2Announcement still lists something: their
    /// announcer died without withdrawing (kill -9, node lost), and their agent, if still
    /// running, would keep answering next to the new owner. Emptied by the status writer.
    pub stale: Vec<String>,
}

/// Decides for `node`; `self_live` is whether this node may announce (its Lease renewed
/// within the renew deadline and its agent healthy).
pub fn decide(snapshot: &Snapshot, node: &str, self_live: bool, now: &Time) -> Decision {
    let compiled: Vec<_> = snapshot
        .policies
        .iter()
        .map(|p| (p, compile(&p.name, &p.spec)))
        .collect();
    let valid: Vec<_> = compiled
        .iter()
        .filter_map(|(_, c)| c.policy.clone())
        .collect();
    let services = eligible(&snapshot.services, &snapshot.nodes, &valid);
    let assignment = assign(&services, &snapshot.live);
    let mine = if self_live {
        assignment.by_node.get(node).cloned().unwrap_or_default()
    } else {
        Vec::new()
    };
    let announcements = mine
        .iter()
        .flat_map(|a| {
            a.ips.iter().map(|(ip, interfaces)| Announcement {
                service: ServiceRef {
                    namespace: a.service.namespace.clone(),
                    name: a.service.name.clone(),
                },
                ip: ip.to_string(),
                interface_regexes: match interfaces {
                    Interfaces::All => Vec::new(),
                    Interfaces::Matching(patterns) => {
                        patterns.iter().map(|p| p.as_str().to_owned()).collect()
                    }
                },
            })
        })
        .collect();
    let own = NodeL2AnnouncementSpec::new(node, announcements);
    let own_changed = snapshot.own.as_ref() != Some(&own);
    let writes_status = self_live && snapshot.live.first().map(String::as_str) == Some(node);
    let mut policy_status = Vec::new();
    let mut no_local_endpoint = Vec::new();
    let mut stale = Vec::new();
    if writes_status {
        stale = snapshot
            .announcing
            .iter()
            .filter(|n| n.as_str() != node && !snapshot.live.contains(*n))
            .cloned()
            .collect();
        for (policy, compiled) in &compiled {
            let desired = desired_conditions(
                &policy.conditions,
                &compiled.problems,
                policy.generation,
                now,
            );
            if desired != policy.conditions {
                let ours = desired
                    .into_iter()
                    .filter(|c| OWN_CONDITION_TYPES.contains(&c.r#type.as_str()))
                    .collect();
                policy_status.push((policy.name.clone(), ours));
            }
        }
        no_local_endpoint = assignment
            .not_announced
            .iter()
            .filter(|(_, reason)| **reason == NotAnnounced::NoReadyLocalEndpoint)
            .map(|(key, _)| key.clone())
            .collect();
    }
    Decision {
        own,
        own_changed,
        writes_status,
        policy_status,
        no_local_endpoint,
        stale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{NodeInput, PolicyInput, ServiceInput};
    use ferrule_api::l2announcement::v2alpha1::L2AnnouncementPolicySpec;
    use ferrule_api::meta::ConditionStatus;
    use k8s_openapi::jiff::Timestamp;

    fn now() -> Time {
        Time(Timestamp::from_second(1_700_000_000).expect("in range"))
    }

    fn snapshot(live: &[&str], interfaces: &[&str]) -> Snapshot {
        let nodes = ["n1", "n2", "n3"]
            .iter()
            .map(|n| NodeInput {
                name: (*n).to_owned(),
                ..NodeInput::default()
            })
            .collect();
        let services = (0..30)
            .map(|i| ServiceInput {
                key: ServiceKey::new("default", format!("svc-{i:02}")),
                ingress_ips: vec![format!("192.0.2.{}", i + 1)],
                ..ServiceInput::default()
            })
            .collect();
        Snapshot {
            policies: vec![PolicyInput {
                name: "p".into(),
                generation: 1,
                spec: L2AnnouncementPolicySpec {
                    load_balancer_ips: true,
                    interfaces: interfaces.iter().map(|s| (*s).to_owned()).collect(),
                    ..L2AnnouncementPolicySpec::default()
                },
                conditions: Vec::new(),
            }],
            services,
            nodes,
            live: live.iter().map(|s| (*s).to_owned()).collect(),
            ..Snapshot::default()
        }
    }

    #[test]
    fn live_nodes_split_the_services_and_carry_the_interfaces() {
        let s = snapshot(&["n1", "n2", "n3"], &["^eth0$"]);
        let all: Vec<Decision> = ["n1", "n2", "n3"]
            .iter()
            .map(|n| decide(&s, n, true, &now()))
            .collect();
        let total: usize = all.iter().map(|d| d.own.announcements.len()).sum();
        assert_eq!(total, 30);
        assert!(all.iter().all(|d| d.own.announcements.len() <= 11));
        assert!(all.iter().all(|d| d.own_changed), "nothing stored yet");
        assert_eq!(all[0].own.announcements[0].interface_regexes, ["^eth0$"]);
        assert!(all[0].writes_status && !all[1].writes_status && !all[2].writes_status);
    }

    #[test]
    fn the_status_writer_empties_objects_of_nodes_that_are_not_live() {
        let mut s = snapshot(&["n1", "n3"], &[]);
        s.announcing = ["n1", "n2", "n3"].iter().map(|n| (*n).to_owned()).collect();
        assert_eq!(decide(&s, "n1", true, &now()).stale, ["n2"]);
        assert!(
            decide(&s, "n3", true, &now()).stale.is_empty(),
            "n3 writes no status"
        );
    }

    #[test]
    fn a_node_that_is_not_live_itself_announces_nothing_and_writes_no_status() {
        let s = snapshot(&["n1", "n2", "n3"], &[]);
        let d = decide(&s, "n1", false, &now());
        assert!(d.own.announcements.is_empty());
        assert!(!d.writes_status);
    }

    #[test]
    fn stored_spec_equal_to_the_desired_one_is_no_change() {
        let mut s = snapshot(&["n1"], &[]);
        let first = decide(&s, "n1", true, &now());
        s.own = Some(first.own.clone());
        assert!(!decide(&s, "n1", true, &now()).own_changed);
    }

    #[test]
    fn a_bad_regex_sets_its_condition_and_announces_nothing() {
        let mut s = snapshot(&["n1"], &["eth("]);
        let d = decide(&s, "n1", true, &now());
        assert!(d.own.announcements.is_empty());
        assert_eq!(d.policy_status.len(), 1);
        let (name, conditions) = &d.policy_status[0];
        assert_eq!(name, "p");
        assert_eq!(conditions[0].r#type, BAD_INTERFACE_REGEX);
        assert_eq!(conditions[0].status, ConditionStatus::True);
        // Written back: settled, no further write.
        s.policies[0].conditions = conditions.clone();
        assert!(decide(&s, "n1", true, &now()).policy_status.is_empty());
    }
}
