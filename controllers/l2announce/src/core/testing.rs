//! Small builders for the core's tests.

use super::model::{NodeInput, ServiceInput, ServiceKey};
use super::policy::{Policy, compile};
use ferrule_api::l2announcement::v2alpha1::L2AnnouncementPolicySpec;
use ferrule_api::meta::LabelSelector;
use std::collections::BTreeMap;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub fn node(name: &str, labels: &[(&str, &str)]) -> NodeInput {
    NodeInput {
        name: name.to_owned(),
        labels: map(labels),
    }
}

pub fn service(namespace: &str, name: &str) -> ServiceInput {
    ServiceInput {
        key: ServiceKey::new(namespace, name),
        ..Default::default()
    }
}

impl ServiceInput {
    pub fn labels(mut self, labels: &[(&str, &str)]) -> Self {
        self.labels = map(labels);
        self
    }
    pub fn ingress(mut self, ips: &[&str]) -> Self {
        self.ingress_ips = ips.iter().map(|s| (*s).to_owned()).collect();
        self
    }
    pub fn external(mut self, ips: &[&str]) -> Self {
        self.external_ips = ips.iter().map(|s| (*s).to_owned()).collect();
        self
    }
    /// externalTrafficPolicy Local with ready endpoints on `nodes`.
    pub fn local(mut self, nodes: &[&str]) -> Self {
        self.external_traffic_local = true;
        self.ready_local_nodes = nodes.iter().map(|s| (*s).to_owned()).collect();
        self
    }
}

#[derive(Debug)]
pub struct PolicyBuilder {
    name: String,
    spec: L2AnnouncementPolicySpec,
}

pub fn policy(name: &str) -> PolicyBuilder {
    PolicyBuilder {
        name: name.to_owned(),
        spec: L2AnnouncementPolicySpec::default(),
    }
}

impl PolicyBuilder {
    pub fn lb_ips(mut self) -> Self {
        self.spec.load_balancer_ips = true;
        self
    }
    pub fn external_ips(mut self) -> Self {
        self.spec.external_ips = true;
        self
    }
    pub fn service_labels(mut self, labels: &[(&str, &str)]) -> Self {
        self.spec.service_selector = Some(LabelSelector {
            match_labels: map(labels),
            ..Default::default()
        });
        self
    }
    pub fn node_labels(mut self, labels: &[(&str, &str)]) -> Self {
        self.spec.node_selector = Some(LabelSelector {
            match_labels: map(labels),
            ..Default::default()
        });
        self
    }
    pub fn interfaces(mut self, interfaces: &[&str]) -> Self {
        self.spec.interfaces = interfaces.iter().map(|s| (*s).to_owned()).collect();
        self
    }
    pub fn build(self) -> Policy {
        compile(&self.name, &self.spec)
            .policy
            .expect("test policy is valid")
    }
}
