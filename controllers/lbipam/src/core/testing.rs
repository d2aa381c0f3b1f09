//! Small builders for core inputs, shared by the unit tests, the property tests and the
//! benchmark: `Pool::test("blue").cidr("192.0.2.0/24").build()`,
//! `Svc::test("default", "web").label("team", "a").build()`.

use super::model::{
    Config, Input, ObservedCondition, Plan, PoolInput, ServiceInput, ServiceKey, ServicePlan,
    ServicePort, Status,
};
use ferrule_api::lbipam::v2::{AllowFirstLastIps, PoolBlock, PoolSpec};
use ferrule_api::meta::{LabelSelector, LabelSelectorOperator, LabelSelectorRequirement};
use ferrule_api::names::annotation;

/// `n` seconds after 2024-02-01T00:00:00Z as RFC 3339 (up to 27 days, then it saturates).
pub fn timestamp(n: u32) -> String {
    let n = n.min(27 * 86_400 + 86_399);
    let (day, rest) = (n / 86_400, n % 86_400);
    format!(
        "2024-02-{:02}T{:02}:{:02}:{:02}Z",
        day + 1,
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// A dual-stack cluster where an unset load-balancer class is ours.
pub fn dual_stack() -> Config {
    Config {
        ipv4: true,
        ipv6: true,
        require_lb_class: false,
    }
}

pub fn input(pools: Vec<PoolInput>, services: Vec<ServiceInput>) -> Input {
    Input {
        config: dual_stack(),
        pools,
        services,
    }
}

/// The input after the controller wrote `plan`: every planned service shows the planned IPs
/// and condition, released ones show nothing of ours. Feeding a settled plan back must give
/// the same plan and no Events.
pub fn written(input: &Input, plan: &Plan) -> Input {
    let mut next = input.clone();
    for svc in &mut next.services {
        match plan.services.get(&svc.key) {
            Some(ServicePlan::Managed {
                ingress_ips,
                condition,
            }) => {
                svc.current_ips = ingress_ips.iter().map(ToString::to_string).collect();
                svc.has_our_condition = true;
                svc.current_condition = Some(ObservedCondition {
                    status: condition.status,
                    reason: condition.reason.clone(),
                    message: condition.message.clone(),
                });
            }
            Some(ServicePlan::Released) => {
                svc.current_ips.clear();
                svc.has_our_condition = false;
                svc.current_condition = None;
            }
            None => {}
        }
    }
    next
}

/// Builds a [`PoolInput`].
#[derive(Debug, Clone)]
pub struct Pool(PoolInput);

impl Pool {
    pub fn test(name: &str) -> Self {
        Self(PoolInput {
            name: name.into(),
            uid: format!("uid-pool-{name}"),
            created: timestamp(0),
            generation: 1,
            spec: PoolSpec::default(),
        })
    }

    pub fn cidr(mut self, cidr: &str) -> Self {
        self.0.spec.blocks.push(PoolBlock {
            cidr: Some(cidr.into()),
            ..Default::default()
        });
        self
    }

    pub fn range(mut self, start: &str, stop: &str) -> Self {
        self.0.spec.blocks.push(PoolBlock {
            cidr: None,
            start: Some(start.into()),
            stop: (!stop.is_empty()).then(|| stop.into()),
        });
        self
    }

    pub fn block(mut self, block: PoolBlock) -> Self {
        self.0.spec.blocks.push(block);
        self
    }

    /// `serviceSelector.matchLabels[key] = value`.
    pub fn select(mut self, key: &str, value: &str) -> Self {
        self.0
            .spec
            .service_selector
            .get_or_insert_with(LabelSelector::default)
            .match_labels
            .insert(key.into(), value.into());
        self
    }

    /// `serviceSelector.matchExpressions += {key, operator, values}`.
    pub fn select_expr(
        mut self,
        key: &str,
        operator: LabelSelectorOperator,
        values: &[&str],
    ) -> Self {
        self.0
            .spec
            .service_selector
            .get_or_insert_with(LabelSelector::default)
            .match_expressions
            .push(LabelSelectorRequirement {
                key: key.into(),
                operator,
                values: values.iter().map(|v| (*v).into()).collect(),
            });
        self
    }

    pub fn disabled(mut self) -> Self {
        self.0.spec.disabled = true;
        self
    }

    pub fn allow_first_last(mut self, allow: bool) -> Self {
        self.0.spec.allow_first_last_ips = Some(if allow {
            AllowFirstLastIps::Yes
        } else {
            AllowFirstLastIps::No
        });
        self
    }

    /// Created `n` seconds after the test epoch.
    pub fn created_at(mut self, n: u32) -> Self {
        self.0.created = timestamp(n);
        self
    }

    pub fn build(self) -> PoolInput {
        self.0
    }
}

/// Builds a [`ServiceInput`]: by default a LoadBalancer service without class, policy,
/// families, ports or status, created at the test epoch.
#[derive(Debug, Clone)]
pub struct Svc(ServiceInput);

impl Svc {
    pub fn test(namespace: &str, name: &str) -> Self {
        Self(ServiceInput {
            key: ServiceKey {
                namespace: namespace.into(),
                name: name.into(),
            },
            uid: format!("uid-svc-{namespace}-{name}"),
            created: timestamp(0),
            labels: Default::default(),
            annotations: Default::default(),
            service_type: "LoadBalancer".into(),
            load_balancer_class: None,
            ip_family_policy: None,
            ip_families: Vec::new(),
            load_balancer_ip: None,
            ports: Vec::new(),
            current_ips: Vec::new(),
            has_our_condition: false,
            external_traffic_policy: None,
            pod_selector: Default::default(),
            current_condition: None,
        })
    }

    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.0.labels.insert(key.into(), value.into());
        self
    }

    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.0.annotations.insert(key.into(), value.into());
        self
    }

    /// `lbipam.cilium.io/ips`.
    pub fn request(self, ips: &str) -> Self {
        self.annotation(annotation::LBIPAM_IPS, ips)
    }

    pub fn load_balancer_ip(mut self, ip: &str) -> Self {
        self.0.load_balancer_ip = Some(ip.into());
        self
    }

    pub fn sharing_key(self, key: &str) -> Self {
        self.annotation(annotation::LBIPAM_SHARING_KEY, key)
    }

    pub fn cross_namespace(self, namespaces: &str) -> Self {
        self.annotation(annotation::LBIPAM_SHARING_CROSS_NAMESPACE, namespaces)
    }

    pub fn port(mut self, port: i32, protocol: &str) -> Self {
        self.0.ports.push(ServicePort {
            port,
            protocol: protocol.into(),
        });
        self
    }

    pub fn service_type(mut self, service_type: &str) -> Self {
        self.0.service_type = service_type.into();
        self
    }

    pub fn class(mut self, class: &str) -> Self {
        self.0.load_balancer_class = Some(class.into());
        self
    }

    pub fn policy(mut self, policy: &str) -> Self {
        self.0.ip_family_policy = Some(policy.into());
        self
    }

    pub fn families(mut self, families: &[&str]) -> Self {
        self.0.ip_families = families.iter().map(|f| (*f).into()).collect();
        self
    }

    pub fn traffic_policy(mut self, policy: &str) -> Self {
        self.0.external_traffic_policy = Some(policy.into());
        self
    }

    pub fn pod_selector(mut self, key: &str, value: &str) -> Self {
        self.0.pod_selector.insert(key.into(), value.into());
        self
    }

    /// `status.loadBalancer.ingress[].ip` as currently written.
    pub fn current(mut self, ips: &[&str]) -> Self {
        self.0.current_ips = ips.iter().map(|ip| (*ip).into()).collect();
        self
    }

    /// Our condition as currently written.
    pub fn condition(mut self, status: Status, reason: &str, message: &str) -> Self {
        self.0.has_our_condition = true;
        self.0.current_condition = Some(ObservedCondition {
            status,
            reason: reason.into(),
            message: message.into(),
        });
        self
    }

    pub fn created_at(mut self, n: u32) -> Self {
        self.0.created = timestamp(n);
        self
    }

    pub fn build(self) -> ServiceInput {
        self.0
    }
}
