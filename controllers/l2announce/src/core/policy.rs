//! A CiliumL2AnnouncementPolicy compiled once into what the core evaluates: selectors and
//! interface expressions that are known to work, or the problems that keep it from working.
//!
//! A policy with any problem announces nothing (Cilium drops such a policy too): announcing
//! with half a policy — say, every node because the node selector could not be read — would
//! put IPs on nodes the user excluded.

use ferrule_api::l2announcement::v2alpha1::L2AnnouncementPolicySpec;
use ferrule_api::meta::LabelSelector;
use ferrule_api::selector::{Selector, SelectorError};
use regex::Regex;

/// One `spec.interfaces` entry. Go's RE2 syntax, which Cilium compiles these with, is close
/// to the `regex` crate's; both match anywhere in the name unless anchored.
#[derive(Debug, Clone)]
pub struct InterfacePattern {
    source: String,
    regex: Regex,
}

impl InterfacePattern {
    pub fn new(source: &str) -> Result<Self, regex::Error> {
        Ok(Self {
            source: source.to_owned(),
            regex: Regex::new(source)?,
        })
    }

    /// The expression as the user wrote it (what the derived object carries to the agent).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn is_match(&self, device: &str) -> bool {
        self.regex.is_match(device)
    }
}

impl PartialEq for InterfacePattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}
impl Eq for InterfacePattern {}
impl PartialOrd for InterfacePattern {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for InterfacePattern {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.source.cmp(&other.source)
    }
}

/// The devices to announce on: every device the agent selected, or those matching any of a
/// set of expressions (sorted by source, no duplicates; a `Vec` because a compiled `Regex`
/// caches internally, which set keys must not do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interfaces {
    All,
    Matching(Vec<InterfacePattern>),
}

impl Interfaces {
    /// Widens `self` to also cover `other` (policies selecting the same service and node add
    /// up; one policy without expressions means every device).
    pub fn union_with(&mut self, other: &Interfaces) {
        match (&mut *self, other) {
            (Interfaces::All, _) => {}
            (_, Interfaces::All) => *self = Interfaces::All,
            (Interfaces::Matching(mine), Interfaces::Matching(theirs)) => {
                mine.extend(theirs.iter().cloned());
                mine.sort();
                mine.dedup();
            }
        }
    }

    /// Whether `device` (one of the agent's devices) is announced on.
    pub fn selects(&self, device: &str) -> bool {
        match self {
            Interfaces::All => true,
            Interfaces::Matching(patterns) => patterns.iter().any(|p| p.is_match(device)),
        }
    }
}

/// A policy that can be evaluated.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    pub service_selector: Selector,
    pub node_selector: Selector,
    pub interfaces: Interfaces,
    pub external_ips: bool,
    pub load_balancer_ips: bool,
}

/// What is wrong with a policy, one message per Cilium condition type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems {
    pub service_selector: Option<String>,
    pub node_selector: Option<String>,
    pub interface_regex: Option<String>,
}

impl Problems {
    pub fn is_empty(&self) -> bool {
        self.service_selector.is_none()
            && self.node_selector.is_none()
            && self.interface_regex.is_none()
    }
}

/// A compiled policy: usable only when there are no problems.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub policy: Option<Policy>,
    pub problems: Problems,
}

/// Compiles `spec`. Unlike Cilium, which stops at the first problem it meets, every part is
/// checked, so a user fixing one mistake sees the next one at once.
pub fn compile(name: &str, spec: &L2AnnouncementPolicySpec) -> Compiled {
    let mut problems = Problems::default();
    let service_selector = selector(spec.service_selector.as_ref())
        .map_err(|e| problems.service_selector = Some(e.to_string()))
        .ok();
    let node_selector = selector(spec.node_selector.as_ref())
        .map_err(|e| problems.node_selector = Some(e.to_string()))
        .ok();
    let interfaces = interfaces(&spec.interfaces)
        .map_err(|e| problems.interface_regex = Some(e))
        .ok();
    let policy = match (service_selector, node_selector, interfaces) {
        (Some(service_selector), Some(node_selector), Some(interfaces)) => Some(Policy {
            name: name.to_owned(),
            service_selector,
            node_selector,
            interfaces,
            external_ips: spec.external_ips,
            load_balancer_ips: spec.load_balancer_ips,
        }),
        _ => None,
    };
    Compiled { policy, problems }
}

/// An unset selector selects everything.
fn selector(selector: Option<&LabelSelector>) -> Result<Selector, SelectorError> {
    selector.map_or(Ok(Selector::default()), LabelSelector::to_selector)
}

fn interfaces(sources: &[String]) -> Result<Interfaces, String> {
    if sources.is_empty() {
        return Ok(Interfaces::All);
    }
    let mut patterns = Vec::new();
    let mut errors = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        match InterfacePattern::new(source) {
            Ok(p) => patterns.push(p),
            Err(e) => errors.push(format!("spec.interfaces[{i}] {source:?}: {e}")),
        }
    }
    if errors.is_empty() {
        patterns.sort();
        patterns.dedup();
        Ok(Interfaces::Matching(patterns))
    } else {
        Err(errors.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrule_api::meta::{LabelSelectorOperator, LabelSelectorRequirement};
    use std::collections::BTreeMap;

    fn bad_selector() -> LabelSelector {
        LabelSelector {
            match_expressions: vec![LabelSelectorRequirement {
                key: "app".into(),
                operator: LabelSelectorOperator::In,
                values: vec![],
            }],
            ..Default::default()
        }
    }

    fn spec_with_interfaces(interfaces: &[&str]) -> L2AnnouncementPolicySpec {
        L2AnnouncementPolicySpec {
            interfaces: interfaces.iter().map(|s| (*s).to_owned()).collect(),
            load_balancer_ips: true,
            ..Default::default()
        }
    }

    #[test]
    fn empty_policy_selects_every_service_node_and_device() {
        let compiled = compile("p", &L2AnnouncementPolicySpec::default());
        assert!(compiled.problems.is_empty());
        let policy = compiled.policy.expect("an empty policy compiles");
        assert!(policy.service_selector.is_everything());
        assert!(policy.node_selector.is_everything());
        assert_eq!(policy.interfaces, Interfaces::All);
        assert!(policy.interfaces.selects("anything0"));
    }

    #[test]
    fn interface_expressions_are_ored_and_unanchored_unless_anchored() {
        let compiled = compile("p", &spec_with_interfaces(&["^eth[0-9]+$", "lab"]));
        let interfaces = compiled.policy.expect("valid expressions").interfaces;
        assert!(interfaces.selects("eth0"));
        assert!(interfaces.selects("eth12"));
        assert!(!interfaces.selects("veth0"), "^ anchors");
        assert!(interfaces.selects("my-lab-1"), "unanchored matches inside");
        assert!(!interfaces.selects("wlan0"));
    }

    #[test]
    fn a_bad_expression_is_reported_with_its_position_and_disables_the_policy() {
        let compiled = compile("p", &spec_with_interfaces(&["^eth", "eth(", "[z-a]"]));
        assert!(compiled.policy.is_none());
        let message = compiled
            .problems
            .interface_regex
            .expect("bad regex reported");
        assert!(message.contains("spec.interfaces[1] \"eth(\""), "{message}");
        assert!(
            message.contains("spec.interfaces[2] \"[z-a]\""),
            "{message}"
        );
        assert!(!message.contains("interfaces[0]"), "{message}");
        assert_eq!(compiled.problems.service_selector, None);
        assert_eq!(compiled.problems.node_selector, None);
    }

    #[test]
    fn bad_selectors_are_reported_separately() {
        let spec = L2AnnouncementPolicySpec {
            service_selector: Some(bad_selector()),
            node_selector: Some(LabelSelector {
                match_labels: BTreeMap::from([("bad key!".into(), "x".into())]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let compiled = compile("p", &spec);
        assert!(compiled.policy.is_none());
        let service = compiled
            .problems
            .service_selector
            .expect("service selector");
        assert!(service.contains("\"app\""), "{service}");
        let node = compiled.problems.node_selector.expect("node selector");
        assert!(node.contains("bad key!"), "{node}");
        assert_eq!(compiled.problems.interface_regex, None);
    }

    #[test]
    fn union_of_interfaces_widens_and_all_absorbs() {
        let mut a = compile("a", &spec_with_interfaces(&["^eth0$"]))
            .policy
            .expect("valid")
            .interfaces;
        let b = compile("b", &spec_with_interfaces(&["^eth1$"]))
            .policy
            .expect("valid")
            .interfaces;
        a.union_with(&b);
        assert!(a.selects("eth0") && a.selects("eth1") && !a.selects("eth2"));
        a.union_with(&Interfaces::All);
        assert_eq!(a, Interfaces::All);
        let mut all = Interfaces::All;
        all.union_with(&b);
        assert_eq!(all, Interfaces::All);
    }
}
