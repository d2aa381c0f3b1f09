//! What a sync could not program, reported once when it appears (not on every sync).
//!
//! Conflicting Services (two claiming the same VIP, port and protocol) get a Warning Event on
//! the Service that lost, so its owner sees it with `kubectl describe`; a full service or
//! backend id space is logged. A problem reported once is reported again only after it went
//! away and came back, so a steady conflict does not flood the API with Events.

use std::collections::BTreeSet;

use ferrule_bpf_loader::model::{BackendAddr, Frontend};

use crate::desired::Desired;
use crate::observed::ServiceKey;

/// One thing the datapath does not do although the cluster asks for it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    /// `dropped` asks for `frontend`, which `kept` (first in namespace/name order) serves.
    Conflict {
        frontend: Frontend,
        kept: ServiceKey,
        dropped: ServiceKey,
    },
    /// No service id left for this frontend (abi.h's LB_MAX_SERVICES).
    FrontendOverLimit(Frontend),
    /// No backend id left for this backend (LB_MAX_BACKENDS).
    BackendOverLimit(BackendAddr),
}

impl Problem {
    /// The Service an Event about this problem belongs to, if any.
    pub fn service(&self) -> Option<&ServiceKey> {
        match self {
            Self::Conflict { dropped, .. } => Some(dropped),
            _ => None,
        }
    }

    pub fn reason(&self) -> &'static str {
        match self {
            Self::Conflict { .. } => "FrontendConflict",
            Self::FrontendOverLimit(_) => "ServiceLimit",
            Self::BackendOverLimit(_) => "BackendLimit",
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Conflict {
                frontend,
                kept,
                dropped,
            } => write!(
                f,
                "{frontend} is already served by Service {kept}; Service {dropped} does not \
                 get it until one of them changes its IPs or ports"
            ),
            Self::FrontendOverLimit(frontend) => write!(
                f,
                "{frontend} is not load balanced: the datapath holds at most {} frontends",
                ferrule_bpf_common::LB_MAX_SERVICES
            ),
            Self::BackendOverLimit(backend) => write!(
                f,
                "backend {backend} is left out: the datapath holds at most {} backends",
                ferrule_bpf_common::LB_MAX_BACKENDS
            ),
        }
    }
}

/// The problems of the last sync, to tell new ones from known ones.
#[derive(Debug, Default)]
pub struct Problems {
    known: BTreeSet<Problem>,
}

impl Problems {
    /// The problems `desired` has that the previous call's did not; remembers `desired`'s.
    pub fn newly_seen(&mut self, desired: &Desired) -> Vec<Problem> {
        let now: BTreeSet<Problem> = desired
            .conflicts
            .iter()
            .map(|c| Problem::Conflict {
                frontend: c.frontend,
                kept: c.kept.clone(),
                dropped: c.dropped.clone(),
            })
            .chain(
                desired
                    .frontends_over_limit
                    .iter()
                    .copied()
                    .map(Problem::FrontendOverLimit),
            )
            .chain(
                desired
                    .backends_over_limit
                    .iter()
                    .copied()
                    .map(Problem::BackendOverLimit),
            )
            .collect();
        let new = now.difference(&self.known).cloned().collect();
        self.known = now;
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::FrontendConflict;
    use ferrule_bpf_loader::MapContents;
    use ferrule_bpf_loader::model::Protocol;

    fn key(ns: &str, name: &str) -> ServiceKey {
        ServiceKey {
            namespace: ns.into(),
            name: name.into(),
        }
    }

    fn desired(conflicts: usize) -> Desired {
        let frontend = Frontend {
            addr: "203.0.113.10".parse().expect("ip"),
            port: 80,
            protocol: Protocol::Tcp,
        };
        Desired {
            contents: MapContents::default(),
            conflicts: (0..conflicts)
                .map(|i| FrontendConflict {
                    frontend,
                    kept: key("a", "first"),
                    dropped: key("b", &format!("second-{i}")),
                })
                .collect(),
            frontends_over_limit: Vec::new(),
            backends_over_limit: Vec::new(),
        }
    }

    #[test]
    fn a_conflict_is_reported_once_and_again_only_after_it_cleared() {
        let mut problems = Problems::default();
        let first = problems.newly_seen(&desired(1));
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].service(), Some(&key("b", "second-0")));
        assert_eq!(first[0].reason(), "FrontendConflict");
        assert_eq!(
            first[0].to_string(),
            "203.0.113.10:80/TCP is already served by Service a/first; Service b/second-0 does \
             not get it until one of them changes its IPs or ports"
        );
        assert!(problems.newly_seen(&desired(1)).is_empty(), "steady: quiet");
        assert_eq!(
            problems.newly_seen(&desired(2)).len(),
            1,
            "only the new one"
        );
        assert!(problems.newly_seen(&desired(0)).is_empty());
        assert_eq!(problems.newly_seen(&desired(1)).len(), 1, "back again");
    }
}
