//! The lab's LoadBalancer Services and the IPs LB-IPAM gave them: what `ferrule-lab up`
//! shows once the components run.

use crate::error::Error;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, ListParams};
use std::fmt;
use std::time::{Duration, Instant};

/// LB-IPAM's Service condition (Cilium's spelling).
const SATISFIED: &str = "cilium.io/IPAMRequestSatisfied";
const POLL: Duration = Duration::from_millis(200);

/// One LoadBalancer Service as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancer {
    /// `namespace/name`.
    pub service: String,
    /// `status.loadBalancer.ingress[].ip`.
    pub ips: Vec<String>,
    /// LB-IPAM's condition as `status reason: message`, when written.
    pub condition: Option<String>,
}

impl LoadBalancer {
    fn of(service: &Service) -> Self {
        let namespace = service.metadata.namespace.as_deref().unwrap_or_default();
        let name = service.metadata.name.as_deref().unwrap_or_default();
        let status = service.status.as_ref();
        let ips = status
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .map(|ingress| ingress.iter().filter_map(|i| i.ip.clone()).collect())
            .unwrap_or_default();
        let condition = status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|conditions| conditions.iter().find(|c| c.type_ == SATISFIED))
            .map(|c| {
                let mut text = format!("{} {}", c.status, c.reason);
                if !c.message.is_empty() {
                    text.push_str(&format!(": {}", c.message));
                }
                text
            });
        Self {
            service: format!("{namespace}/{name}"),
            ips,
            condition,
        }
    }

    /// LB-IPAM has decided: IPs, or a condition saying why not.
    fn settled(&self) -> bool {
        !self.ips.is_empty() || self.condition.is_some()
    }
}

impl fmt::Display for LoadBalancer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ips = if self.ips.is_empty() {
            "<pending>".to_owned()
        } else {
            self.ips.join(",")
        };
        write!(f, "{}: {ips}", self.service)?;
        if let Some(condition) = &self.condition {
            write!(f, " ({condition})")?;
        }
        Ok(())
    }
}

/// Every LoadBalancer Service, sorted by `namespace/name`.
pub async fn load_balancers(client: &kube::Client) -> Result<Vec<LoadBalancer>, Error> {
    let services: Api<Service> = Api::all(client.clone());
    let list = services
        .list(&ListParams::default())
        .await
        .map_err(|e| Error::kube("listing Services", e))?;
    let mut found: Vec<LoadBalancer> = list
        .items
        .iter()
        .filter(|s| s.spec.as_ref().and_then(|spec| spec.type_.as_deref()) == Some("LoadBalancer"))
        .map(LoadBalancer::of)
        .collect();
    found.sort_by(|a, b| a.service.cmp(&b.service));
    Ok(found)
}

/// The LoadBalancer Services once LB-IPAM has decided on each (or `within` passed: then
/// the undecided ones show as `<pending>`).
pub async fn wait_for_load_balancers(
    client: &kube::Client,
    within: Duration,
) -> Result<Vec<LoadBalancer>, Error> {
    let deadline = Instant::now() + within;
    loop {
        let found = load_balancers(client).await?;
        if found.iter().all(LoadBalancer::settled) || Instant::now() >= deadline {
            return Ok(found);
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_shows_its_ips_and_condition() {
        let service: Service = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"type": "LoadBalancer"},
            "status": {
                "loadBalancer": {"ingress": [{"ip": "203.0.113.1"}]},
                "conditions": [{"type": SATISFIED, "status": "True", "reason": "satisfied",
                                "message": "", "lastTransitionTime": "2025-01-01T00:00:00Z"}]
            }
        }))
        .expect("a valid Service");
        let lb = LoadBalancer::of(&service);
        assert!(lb.settled());
        assert_eq!(lb.to_string(), "default/web: 203.0.113.1 (True satisfied)");
    }

    #[test]
    fn an_undecided_service_is_pending() {
        let service: Service = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"type": "LoadBalancer"}
        }))
        .expect("a valid Service");
        let lb = LoadBalancer::of(&service);
        assert!(!lb.settled());
        assert_eq!(lb.to_string(), "default/web: <pending>");
    }
}
