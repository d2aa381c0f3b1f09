//! One speaker per BGP instance of the desired state, kept in step with it: instances that
//! appear get a speaker, those that go away (or change ASN, router ID or listen port, which
//! a running speaker cannot) are shut down with a Cease. Peers and routes are handed to the
//! speakers, which send only what changed; BFD runs for the peers that ask for it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;

use ferrule_bfd::{SessionState, StateChange};
use ferrule_bgp_control::{DesiredBgp, DesiredInstance, DesiredPeer, RouteTable};
use ferrule_bgp_speaker::{GlobalConfig, PeerStatus, Prefix, Route, Speaker};
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;

use super::bfd::{BfdSessions, Protected, peer_spec, routed_source};
use super::mapping::{InterfaceAddresses, configured_source, global_config, peer_config, routes};

/// A running instance.
#[derive(Debug)]
struct Running {
    global: GlobalConfig,
    speaker: Speaker,
    peers: Vec<DesiredPeer>,
    /// Forwards the speaker's changes to the status loop.
    forwarder: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.forwarder.abort();
    }
}

/// The instances, their BFD sessions, and the signal the status loop waits on.
#[derive(Debug)]
pub struct Instances {
    running: BTreeMap<String, Running>,
    bfd: BfdSessions,
    changed: Arc<Notify>,
    /// Errors logged by the last apply, so a lasting one is logged once, not every tick.
    logged: BTreeSet<String>,
    /// The speaker tables of the last apply and the desired tables each was made from:
    /// peers with the same routes share one, and an unchanged one is not rebuilt.
    tables: Vec<SpeakerTable>,
}

/// A route table as the speaker takes it, and the desired family tables it was made from.
#[derive(Debug)]
struct SpeakerTable {
    from: Vec<Arc<RouteTable>>,
    routes: Arc<BTreeMap<Prefix, Route>>,
}

impl SpeakerTable {
    fn made_from(&self, peer: &DesiredPeer) -> bool {
        self.from.len() == peer.families.len()
            && self
                .from
                .iter()
                .zip(peer.families.values())
                .all(|(table, family)| Arc::ptr_eq(table, &family.routes))
    }
}

/// The speaker table of `peer`: one made for an earlier peer of this apply, or by the last
/// apply, or a new one (which is remembered in `made`).
fn speaker_table(
    peer: &DesiredPeer,
    made: &mut Vec<SpeakerTable>,
    last: &[SpeakerTable],
) -> Arc<BTreeMap<Prefix, Route>> {
    if let Some(table) = made.iter().find(|t| t.made_from(peer)) {
        return Arc::clone(&table.routes);
    }
    let routes = match last.iter().find(|t| t.made_from(peer)) {
        Some(table) => Arc::clone(&table.routes),
        None => Arc::new(routes(peer)),
    };
    made.push(SpeakerTable {
        from: peer
            .families
            .values()
            .map(|f| Arc::clone(&f.routes))
            .collect(),
        routes: Arc::clone(&routes),
    });
    routes
}

/// What the status loop reads: per instance its sessions, with the BFD state of each.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub instance: String,
    pub status: PeerStatus,
    pub bfd: Option<SessionState>,
}

impl Instances {
    /// `changed` is notified whenever a session or the set of sessions changes.
    pub fn new(changed: Arc<Notify>) -> Self {
        Self {
            running: BTreeMap::new(),
            bfd: BfdSessions::default(),
            changed,
            logged: BTreeSet::new(),
            tables: Vec::new(),
        }
    }

    pub fn bfd_events(&self) -> broadcast::Receiver<StateChange> {
        self.bfd.subscribe()
    }

    /// Brings speakers, peers, routes and BFD sessions in line with `desired`.
    /// `interfaces` resolves `sourceInterface` and the next-hop hints.
    pub async fn apply(&mut self, desired: &DesiredBgp, interfaces: &InterfaceAddresses) {
        let wanted: BTreeMap<&str, &DesiredInstance> = desired
            .instances
            .iter()
            .map(|i| (i.name.as_str(), i))
            .collect();
        let outdated: Vec<String> = self
            .running
            .iter()
            .filter(|(name, r)| {
                wanted
                    .get(name.as_str())
                    .is_none_or(|i| global_config(i) != r.global)
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in outdated {
            if let Some(running) = self.running.remove(&name) {
                tracing::info!(subsys = "bgp-control-plane", instance = %name, "stopping BGP instance");
                running.speaker.shutdown().await;
            }
        }
        let mut errors = BTreeSet::new();
        let mut bfd = Vec::new();
        let mut tables = Vec::new();
        let last_tables = std::mem::take(&mut self.tables);
        for instance in &desired.instances {
            let Some(running) = self.running_for(instance, &mut errors) else {
                continue;
            };
            let mut configs = Vec::new();
            for peer in &instance.peers {
                let source =
                    configured_source(peer, interfaces).or_else(|| routed_source(peer.address));
                configs.push(peer_config(peer, interfaces, source));
                if let (Some(spec), Some(local)) = (&peer.bfd, source) {
                    let protected = (instance.name.clone(), peer.address);
                    bfd.push((protected, peer_spec(peer, spec, local)));
                }
            }
            let current: BTreeSet<IpAddr> = instance.peers.iter().map(|p| p.address).collect();
            for old in &running.peers {
                if !current.contains(&old.address) {
                    running.speaker.set_routes(old.address, Vec::new());
                }
            }
            // Routes first: a new session's first UPDATEs then carry the whole table.
            for peer in &instance.peers {
                let table = speaker_table(peer, &mut tables, &last_tables);
                running.speaker.set_route_table(peer.address, table);
            }
            for error in running.speaker.apply_peers(configs) {
                errors.insert(format!("BGP instance {}: {error}", instance.name));
            }
            running.peers = instance.peers.clone();
        }
        self.tables = tables;
        errors.extend(self.bfd.apply(bfd));
        for error in errors.difference(&self.logged) {
            tracing::error!(subsys = "bgp-control-plane", %error, "BGP configuration not applied");
        }
        self.logged = errors;
        self.changed.notify_one();
    }

    /// The running speaker of `instance`, started if it is not running yet.
    fn running_for(
        &mut self,
        instance: &DesiredInstance,
        errors: &mut BTreeSet<String>,
    ) -> Option<&mut Running> {
        if !self.running.contains_key(&instance.name) {
            let global = global_config(instance);
            let speaker = match Speaker::new(global.clone()) {
                Ok(s) => s,
                Err(error) => {
                    errors.insert(format!("BGP instance {}: {error}", instance.name));
                    return None;
                }
            };
            tracing::info!(
                subsys = "bgp-control-plane",
                instance = %instance.name,
                asn = global.asn,
                router_id = %global.router_id,
                listen_port = ?global.listen_port,
                "starting BGP instance"
            );
            let mut changes = speaker.changes();
            let changed = Arc::clone(&self.changed);
            let forwarder = tokio::spawn(async move {
                while changes.changed().await.is_ok() {
                    changed.notify_one();
                }
            });
            let running = Running {
                global,
                speaker,
                peers: Vec::new(),
                forwarder,
            };
            self.running.insert(instance.name.clone(), running);
        }
        self.running.get_mut(&instance.name)
    }

    /// Tears down the BGP sessions a failed BFD session protects, at once.
    pub fn bfd_change(&self, change: &StateChange) {
        for (instance, peer) in self.bfd.failed(change) {
            if let Some(running) = self.running.get(&instance) {
                tracing::warn!(
                    subsys = "bgp-control-plane",
                    %instance,
                    %peer,
                    diagnostic = ?change.diagnostic,
                    "BFD session down: resetting the BGP session"
                );
                running.speaker.peer_down(peer, "BFD down");
            }
        }
    }

    /// Every session of every instance.
    pub fn sessions(&self) -> Vec<SessionView> {
        let mut out = Vec::new();
        for (name, running) in &self.running {
            for status in running.speaker.status() {
                let protected: Protected = (name.clone(), status.address);
                out.push(SessionView {
                    instance: name.clone(),
                    bfd: self.bfd.state_of(&protected),
                    status,
                });
            }
        }
        out
    }

    /// SIGTERM. BFD sessions go AdminDown first, so no router mistakes the exit for a
    /// failure. Peers without graceful restart get a Cease (administrative shutdown) and
    /// withdraw our routes at once. Peers with graceful restart get nothing: the process exits
    /// with their sessions open, the kernel closes the connections, and the routers keep our
    /// routes as stale for the restart time we announced (RFC 4724) while the next agent
    /// starts — a Cease would make them drop the routes.
    pub async fn shutdown(&mut self) {
        self.bfd.remove_all().await;
        for (name, running) in std::mem::take(&mut self.running) {
            let (restarting, stopping): (Vec<&DesiredPeer>, Vec<&DesiredPeer>) = running
                .peers
                .iter()
                .partition(|p| p.graceful_restart.enabled);
            tracing::info!(
                subsys = "bgp-control-plane",
                instance = %name,
                ceased = stopping.len(),
                left_for_graceful_restart = restarting.len(),
                "shutting down BGP instance"
            );
            if restarting.is_empty() {
                running.speaker.shutdown().await;
                continue;
            }
            let addresses: Vec<IpAddr> = stopping.iter().map(|p| p.address).collect();
            running.speaker.stop_peers(&addresses).await;
            // Dropping the last handle would end the remaining sessions with a Cease (peer
            // de-configured); they must stay open until the process exits.
            std::mem::forget(running.speaker.clone());
        }
    }
}

#[cfg(test)]
#[path = "instances_tests.rs"]
mod tests;
