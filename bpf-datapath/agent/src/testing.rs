//! Small builders for test inputs.

use std::net::IpAddr;

use ferrule_bpf_loader::model::{Protocol, ResponderKey, TrafficPolicy};

use crate::Error;
use crate::observed::{
    Endpoint, EndpointPort, ObservedEndpointSlice, ObservedService, ServiceKey, ServicePort,
};
use crate::responder::Announcer;

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("test addresses parse")
}

fn key(namespace: &str, name: &str) -> ServiceKey {
    ServiceKey {
        namespace: namespace.to_string(),
        name: name.to_string(),
    }
}

impl ObservedService {
    /// A Cluster-policy service without VIPs or ports.
    pub fn test(namespace: &str, name: &str) -> Self {
        Self {
            key: key(namespace, name),
            vips: Vec::new(),
            ports: Vec::new(),
            policy: TrafficPolicy::Cluster,
        }
    }

    pub fn vip(mut self, addr: &str) -> Self {
        self.vips.push(ip(addr));
        self
    }

    pub fn port(mut self, name: &str, port: u16, protocol: Protocol) -> Self {
        self.ports.push(ServicePort {
            name: name.to_string(),
            port,
            protocol,
        });
        self
    }

    pub fn local(mut self) -> Self {
        self.policy = TrafficPolicy::Local;
        self
    }
}

impl ObservedEndpointSlice {
    pub fn test(namespace: &str, service: &str) -> Self {
        Self {
            service: key(namespace, service),
            ports: Vec::new(),
            endpoints: Vec::new(),
        }
    }

    pub fn port(mut self, name: &str, port: u16, protocol: Protocol) -> Self {
        self.ports.push(EndpointPort {
            name: name.to_string(),
            port,
            protocol,
        });
        self
    }

    pub fn ready(self, addr: &str, node: &str) -> Self {
        self.endpoint(addr, node, true)
    }

    pub fn endpoint(mut self, addr: &str, node: &str, ready: bool) -> Self {
        self.endpoints.push(Endpoint {
            addresses: vec![ip(addr)],
            ready,
            node_name: Some(node.to_string()),
        });
        self
    }
}

/// The [`Announcer`] test double: records what would have been sent; fails for addresses in
/// `fail`.
#[derive(Debug, Default)]
pub struct RecordingAnnouncer {
    pub sent: Vec<ResponderKey>,
    pub fail: Vec<IpAddr>,
}

impl Announcer for RecordingAnnouncer {
    fn announce(&mut self, key: ResponderKey) -> Result<(), Error> {
        if self.fail.contains(&key.addr) {
            return Err(Error::Announce {
                ifindex: key.ifindex,
                addr: key.addr,
                reason: "interface down".to_string(),
            });
        }
        self.sent.push(key);
        Ok(())
    }
}
