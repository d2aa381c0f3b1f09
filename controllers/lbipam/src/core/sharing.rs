//! Sharing keys: when two services may hold the same IP.
//!
//! The rules are Cilium's (`ServiceView.isCompatible` in operator/pkg/lbipam), with one
//! deliberate difference: two services conflict on a port only when port AND protocol are
//! equal (so DNS over TCP/53 and UDP/53 can share an address). Cilium compares port numbers
//! only because its datapath could not tell protocols apart (cilium/cilium#9207); the
//! ferrule datapath keys services by protocol.

use super::conditions::incompatible;
use super::model::{ServiceInput, ServicePort};
use ferrule_api::names::annotation;
use std::collections::BTreeMap;

/// Older spellings Cilium still reads (`annotation.LBIPAMSharingKeyAlias` and
/// `LBIPAMSharingAcrossNamespaceAlias` in cilium's pkg/annotation); ferrule-api only names the
/// current ones.
pub const SHARING_KEY_ALIAS: &str = "io.cilium/lb-ipam-sharing-key";
pub const SHARING_CROSS_NAMESPACE_ALIAS: &str = "io.cilium/lb-ipam-sharing-cross-namespace";
/// `*` in the cross-namespace annotation allows every namespace (lbipam.go
/// `ciliumSvcLBISKCNWildward`).
const ANY_NAMESPACE: &str = "*";

/// What decides whether a service may share an IP with another.
#[derive(Debug, Clone)]
pub struct SharingProfile<'a> {
    /// The sharing key; `None` means the service never shares.
    pub key: Option<&'a str>,
    pub namespace: &'a str,
    /// Namespaces this service agrees to share with (`*` = all).
    pub cross_namespace: Vec<&'a str>,
    pub ports: &'a [ServicePort],
    /// `Local` external traffic policy (unset or anything else is `Cluster`).
    pub local_traffic: bool,
    pub pod_selector: &'a BTreeMap<String, String>,
}

/// The first annotation present among `keys` (Cilium's `annotation.Get`), ignoring empty values.
pub fn annotation_value<'a>(svc: &'a ServiceInput, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|k| svc.annotations.get(*k))
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
}

impl<'a> SharingProfile<'a> {
    pub fn of(svc: &'a ServiceInput) -> Self {
        let key = annotation_value(svc, &[annotation::LBIPAM_SHARING_KEY, SHARING_KEY_ALIAS]);
        let cross_namespace = annotation_value(
            svc,
            &[
                annotation::LBIPAM_SHARING_CROSS_NAMESPACE,
                SHARING_CROSS_NAMESPACE_ALIAS,
            ],
        )
        // Cilium splits without trimming; trimming only makes "a, b" mean what it says.
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .collect()
        })
        .unwrap_or_default();
        Self {
            key,
            namespace: &svc.key.namespace,
            cross_namespace,
            ports: &svc.ports,
            local_traffic: svc.external_traffic_policy.as_deref() == Some("Local"),
            pod_selector: &svc.pod_selector,
        }
    }

    fn allows_namespace(&self, namespace: &str) -> bool {
        self.cross_namespace
            .iter()
            .any(|n| *n == namespace || *n == ANY_NAMESPACE)
    }

    /// Whether `self` and `other` may hold the same IP; the error is Cilium's reason text.
    pub fn compatible(&self, other: &SharingProfile<'_>) -> Result<(), &'static str> {
        match (self.key, other.key) {
            (Some(a), Some(b)) if a == b => {}
            _ => return Err(incompatible::DIFFERENT_SHARING_KEY),
        }
        if self.namespace != other.namespace
            && !(self.allows_namespace(other.namespace) && other.allows_namespace(self.namespace))
        {
            return Err(incompatible::NAMESPACE_NOT_PERMITTED);
        }
        let clash = self.ports.iter().any(|a| {
            other
                .ports
                .iter()
                .any(|b| a.port == b.port && protocol(a) == protocol(b))
        });
        if clash {
            return Err(incompatible::SAME_PORT);
        }
        if self.local_traffic != other.local_traffic {
            return Err(incompatible::DIFFERENT_ETP);
        }
        // With `Local`, traffic may only reach nodes running the pods, so both services
        // must pick the same pods, and by selector (endpoints-only services are refused).
        if self.local_traffic
            && (self.pod_selector.is_empty()
                || other.pod_selector.is_empty()
                || self.pod_selector != other.pod_selector)
        {
            return Err(incompatible::LOCAL_DIFFERENT_PODS);
        }
        Ok(())
    }
}

/// A port's protocol with Kubernetes' default.
fn protocol(port: &ServicePort) -> &str {
    if port.protocol.is_empty() {
        "TCP"
    } else {
        &port.protocol
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::Svc;
    use super::*;

    fn check(a: &ServiceInput, b: &ServiceInput) -> Result<(), &'static str> {
        let (pa, pb) = (SharingProfile::of(a), SharingProfile::of(b));
        let forward = pa.compatible(&pb);
        assert_eq!(forward, pb.compatible(&pa), "compatibility is symmetric");
        forward
    }

    #[test]
    fn same_key_distinct_ports_share() {
        let a = Svc::test("default", "a")
            .sharing_key("k")
            .port(80, "TCP")
            .build();
        let b = Svc::test("default", "b")
            .sharing_key("k")
            .port(443, "TCP")
            .build();
        assert_eq!(check(&a, &b), Ok(()));
    }

    #[test]
    fn no_key_or_different_keys_never_share() {
        let a = Svc::test("default", "a").build();
        let b = Svc::test("default", "b").build();
        assert_eq!(check(&a, &b), Err(incompatible::DIFFERENT_SHARING_KEY));
        let c = Svc::test("default", "c").sharing_key("x").build();
        let d = Svc::test("default", "d").sharing_key("y").build();
        assert_eq!(check(&c, &d), Err(incompatible::DIFFERENT_SHARING_KEY));
        assert_eq!(check(&a, &c), Err(incompatible::DIFFERENT_SHARING_KEY));
    }

    #[test]
    fn the_alias_annotation_is_read() {
        let a = Svc::test("default", "a")
            .annotation(SHARING_KEY_ALIAS, "k")
            .build();
        let b = Svc::test("default", "b")
            .sharing_key("k")
            .port(1, "TCP")
            .build();
        assert_eq!(check(&a, &b), Ok(()));
    }

    #[test]
    fn same_port_conflicts_only_with_the_same_protocol() {
        let tcp = Svc::test("default", "a")
            .sharing_key("k")
            .port(53, "TCP")
            .build();
        let udp = Svc::test("default", "b")
            .sharing_key("k")
            .port(53, "UDP")
            .build();
        let tcp2 = Svc::test("default", "c")
            .sharing_key("k")
            .port(53, "")
            .build();
        assert_eq!(check(&tcp, &udp), Ok(()));
        assert_eq!(check(&tcp, &tcp2), Err(incompatible::SAME_PORT));
    }

    #[test]
    fn cross_namespace_needs_both_sides() {
        let a = Svc::test("ns-a", "a").sharing_key("k").port(1, "TCP");
        let b = Svc::test("ns-b", "b").sharing_key("k").port(2, "TCP");
        let deny = Err(incompatible::NAMESPACE_NOT_PERMITTED);
        assert_eq!(check(&a.clone().build(), &b.clone().build()), deny);
        let a_allows = a.clone().cross_namespace("ns-b").build();
        assert_eq!(
            check(&a_allows, &b.clone().build()),
            deny,
            "one side is not enough"
        );
        let b_star = b.clone().cross_namespace("*").build();
        assert_eq!(check(&a_allows, &b_star), Ok(()));
        let a_list = a.clone().cross_namespace("ns-x, ns-b").build();
        assert_eq!(check(&a_list, &b_star), Ok(()));
        let a_other = a.cross_namespace("ns-x").build();
        assert_eq!(check(&a_other, &b_star), deny);
    }

    #[test]
    fn traffic_policy_rules() {
        let base = |n: &str, port| Svc::test("default", n).sharing_key("k").port(port, "TCP");
        let cluster = base("a", 1).build();
        let local = base("b", 2)
            .traffic_policy("Local")
            .pod_selector("app", "x")
            .build();
        assert_eq!(check(&cluster, &local), Err(incompatible::DIFFERENT_ETP));
        let local_same = base("c", 3)
            .traffic_policy("Local")
            .pod_selector("app", "x")
            .build();
        assert_eq!(check(&local, &local_same), Ok(()));
        let local_other = base("d", 4)
            .traffic_policy("Local")
            .pod_selector("app", "y")
            .build();
        assert_eq!(
            check(&local, &local_other),
            Err(incompatible::LOCAL_DIFFERENT_PODS)
        );
        let local_none = base("e", 5).traffic_policy("Local").build();
        let local_none2 = base("f", 6).traffic_policy("Local").build();
        assert_eq!(
            check(&local_none, &local_none2),
            Err(incompatible::LOCAL_DIFFERENT_PODS)
        );
    }
}
