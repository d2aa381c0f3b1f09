//! What a service asks of LB-IPAM: whether it is ours at all, which families, which
//! specific IPs. Semantics follow Cilium's `isResponsibleForSVC`, `serviceIPFamilyRequest`
//! and `getSVCRequestedIPs` (operator/pkg/lbipam/lbipam.go), except where noted.

use super::model::{Config, ServiceInput};
use super::ranges::{Family, Ip, parse_ip};
use super::sharing::annotation_value;
use ferrule_api::names::{annotation, lb_class};
use std::collections::BTreeSet;

/// Whether LB-IPAM manages a service, and if not, why (for the release Event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Management {
    Managed,
    NotLoadBalancer,
    /// No class while `require_lb_class` is set.
    ClassRequired,
    ForeignClass(String),
}

impl Management {
    pub fn of(config: &Config, svc: &ServiceInput) -> Self {
        if svc.service_type != "LoadBalancer" {
            return Self::NotLoadBalancer;
        }
        match svc.load_balancer_class.as_deref() {
            None if config.require_lb_class => Self::ClassRequired,
            None => Self::Managed,
            Some(class) if lb_class::LBIPAM.contains(&class) => Self::Managed,
            Some(class) => Self::ForeignClass(class.to_owned()),
        }
    }

    /// Why the service is not ours, for humans.
    pub fn why_not(&self) -> String {
        match self {
            Self::Managed => "LB-IPAM manages the service".into(),
            Self::NotLoadBalancer => "the service is no longer of type LoadBalancer".into(),
            Self::ClassRequired => {
                "the service has no loadBalancerClass and LB-IPAM requires one".into()
            }
            Self::ForeignClass(class) => {
                format!("loadBalancerClass {class:?} is not handled by LB-IPAM")
            }
        }
    }
}

/// A requested IP that is not an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidEntry {
    /// Where it was written: an annotation name or `spec.loadBalancerIP`.
    pub source: &'static str,
    pub value: String,
}

/// A managed service's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Families wanted when no specific IPs are requested (indexed by `Family::index`).
    pub families: [bool; 2],
    /// `RequireDualStack` families LB-IPAM has disabled: the documentation calls such a
    /// service unsatisfied (Cilium's code quietly hands out one family).
    pub families_disabled: Vec<Family>,
    /// Specific IPs, first occurrence order, no duplicates. When present, families are
    /// ignored (as in Cilium): the service wants exactly these.
    pub ips: Vec<Ip>,
    /// The same, for lookups (an annotation can list tens of thousands).
    set: BTreeSet<Ip>,
    /// Entries that are not IPs (Cilium logs and drops them; we also report them).
    pub invalid: Vec<InvalidEntry>,
}

impl Request {
    pub fn of(config: &Config, svc: &ServiceInput) -> Self {
        let (families, families_disabled) = families(config, svc);
        let mut ips = Vec::new();
        let mut seen = BTreeSet::new();
        let mut invalid = Vec::new();
        let mut add = |source: &'static str, text: &str| {
            let text = text.trim();
            if text.is_empty() {
                return;
            }
            match parse_ip(text) {
                Some(ip) => {
                    if seen.insert(ip) {
                        ips.push(ip);
                    }
                }
                None => invalid.push(InvalidEntry {
                    source,
                    value: text.to_owned(),
                }),
            }
        };
        if let Some(ip) = &svc.load_balancer_ip {
            add("spec.loadBalancerIP", ip);
        }
        let keys = [annotation::LBIPAM_IPS, annotation::LBIPAM_IPS_LEGACY];
        if let Some(list) = annotation_value(svc, &keys) {
            let source = keys
                .into_iter()
                .find(|k| svc.annotations.contains_key(*k))
                .unwrap_or(annotation::LBIPAM_IPS);
            for entry in list.split(',') {
                add(source, entry);
            }
        }
        Self {
            families,
            families_disabled,
            ips,
            set: seen,
            invalid,
        }
    }

    /// Whether `ip` is among the requested IPs.
    pub fn requests(&self, ip: Ip) -> bool {
        self.set.contains(&ip)
    }

    pub fn wants(&self, family: Family) -> bool {
        self.families[family.index()]
    }
}

/// Cilium's `serviceIPFamilyRequest`: SingleStack (or unset) takes `ipFamilies[0]` when
/// given, else IPv4 if enabled, else IPv6; PreferDualStack takes the listed (or all)
/// families that are enabled; RequireDualStack takes the enabled ones and records the
/// disabled ones as unsatisfiable.
fn families(config: &Config, svc: &ServiceInput) -> ([bool; 2], Vec<Family>) {
    let enabled = [config.ipv4, config.ipv6];
    let listed = |f: Family| svc.ip_families.iter().any(|x| x == f.name());
    match svc.ip_family_policy.as_deref() {
        Some("PreferDualStack") => {
            let pick = |f: Family| enabled[f.index()] && (svc.ip_families.is_empty() || listed(f));
            ([pick(Family::V4), pick(Family::V6)], Vec::new())
        }
        Some("RequireDualStack") => {
            let disabled = Family::ALL
                .into_iter()
                .filter(|f| !enabled[f.index()])
                .collect();
            (enabled, disabled)
        }
        // SingleStack, unset, or a value the API server would have rejected.
        _ => {
            let single = match svc.ip_families.first() {
                Some(first) if first == Family::V4.name() => Some(Family::V4),
                Some(_) => Some(Family::V6),
                None if config.ipv4 => Some(Family::V4),
                None if config.ipv6 => Some(Family::V6),
                None => None,
            };
            let mut families = [false; 2];
            if let Some(f) = single {
                families[f.index()] = true;
            }
            (families, Vec::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Svc, dual_stack};
    use super::*;

    fn config(ipv4: bool, ipv6: bool) -> Config {
        Config {
            ipv4,
            ipv6,
            require_lb_class: false,
        }
    }

    fn fams(config: &Config, svc: Svc) -> [bool; 2] {
        Request::of(config, &svc.build()).families
    }

    #[test]
    fn only_load_balancers_with_our_classes_are_managed() {
        let cfg = dual_stack();
        let of = |s: Svc| Management::of(&cfg, &s.build());
        assert_eq!(of(Svc::test("d", "a")), Management::Managed);
        assert_eq!(
            of(Svc::test("d", "a").class(lb_class::L2_ANNOUNCER)),
            Management::Managed
        );
        assert_eq!(
            of(Svc::test("d", "a").class(lb_class::BGP_CONTROL_PLANE)),
            Management::Managed
        );
        assert_eq!(
            of(Svc::test("d", "a").class("metallb")),
            Management::ForeignClass("metallb".into())
        );
        assert_eq!(
            of(Svc::test("d", "a").service_type("NodePort")),
            Management::NotLoadBalancer
        );
        let strict = Config {
            require_lb_class: true,
            ..dual_stack()
        };
        assert_eq!(
            Management::of(&strict, &Svc::test("d", "a").build()),
            Management::ClassRequired
        );
        assert_eq!(
            Management::of(
                &strict,
                &Svc::test("d", "a").class(lb_class::L2_ANNOUNCER).build()
            ),
            Management::Managed
        );
    }

    #[test]
    fn single_stack_prefers_v4_and_honours_ip_families() {
        let both = config(true, true);
        assert_eq!(fams(&both, Svc::test("d", "a")), [true, false]);
        assert_eq!(
            fams(&both, Svc::test("d", "a").policy("SingleStack")),
            [true, false]
        );
        assert_eq!(
            fams(&config(false, true), Svc::test("d", "a")),
            [false, true]
        );
        assert_eq!(
            fams(&both, Svc::test("d", "a").families(&["IPv6", "IPv4"])),
            [false, true]
        );
        assert_eq!(
            fams(&config(false, false), Svc::test("d", "a")),
            [false, false]
        );
    }

    #[test]
    fn prefer_dual_stack_takes_what_is_enabled() {
        let svc = || Svc::test("d", "a").policy("PreferDualStack");
        assert_eq!(fams(&config(true, true), svc()), [true, true]);
        assert_eq!(fams(&config(true, false), svc()), [true, false]);
        assert_eq!(
            fams(&config(true, true), svc().families(&["IPv6"])),
            [false, true]
        );
        let r = Request::of(&config(true, false), &svc().build());
        assert!(
            r.families_disabled.is_empty(),
            "PreferDualStack is satisfied by one"
        );
    }

    #[test]
    fn require_dual_stack_records_disabled_families() {
        let svc = Svc::test("d", "a").policy("RequireDualStack").build();
        let r = Request::of(&config(true, false), &svc);
        assert_eq!(r.families, [true, false]);
        assert_eq!(r.families_disabled, vec![Family::V6]);
        assert!(
            Request::of(&config(true, true), &svc)
                .families_disabled
                .is_empty()
        );
    }

    #[test]
    fn requested_ips_from_spec_and_both_annotations() {
        let svc = Svc::test("d", "a")
            .load_balancer_ip("192.0.2.1")
            .request(" 192.0.2.2 , 2001:db8::1,, 192.0.2.1,garbage")
            .build();
        let r = Request::of(&dual_stack(), &svc);
        let texts: Vec<String> = r.ips.iter().map(ToString::to_string).collect();
        assert_eq!(texts, ["192.0.2.1", "192.0.2.2", "2001:db8::1"]);
        assert_eq!(
            r.invalid,
            vec![InvalidEntry {
                source: annotation::LBIPAM_IPS,
                value: "garbage".into()
            }]
        );
        let legacy = Svc::test("d", "a")
            .annotation(annotation::LBIPAM_IPS_LEGACY, "203.0.113.7")
            .build();
        let r = Request::of(&dual_stack(), &legacy);
        assert_eq!(r.ips.len(), 1);
        let bad_spec = Svc::test("d", "a").load_balancer_ip("300.1.1.1").build();
        let r = Request::of(&dual_stack(), &bad_spec);
        assert_eq!(r.invalid[0].source, "spec.loadBalancerIP");
    }
}
