//! BFD sessions for the BGP peers whose peer config enables it. A BFD session leaving Up
//! (its detection time expired, or the peer reported Down) names the BGP sessions it protects,
//! which the owner tears down at once; the speaker then reconnects as usual. A peer that
//! signals AdminDown is taking BFD away on purpose (RFC 5882 section 3.2): not a failure.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};

use ferrule_bfd::{Bfd, Diagnostic, PeerKey, PeerSpec, SessionState, StateChange};
use ferrule_bgp_control::{BfdSpec, DesiredPeer};
use tokio::sync::broadcast;

/// The BFD port (RFC 5881); only used to ask routing for a source address.
const BFD_PORT: u16 = 3784;
/// How long the AdminDown packets of removed sessions take to go out (three, 50 ms apart).
const FAREWELL: std::time::Duration = std::time::Duration::from_millis(200);

/// A BGP session: instance name and peer address.
pub type Protected = (String, IpAddr);

/// The source address routing picks towards `peer` (no packet is sent: connecting a UDP
/// socket only selects the route).
pub fn routed_source(peer: IpAddr) -> Option<IpAddr> {
    let unspecified: IpAddr = if peer.is_ipv4() {
        std::net::Ipv4Addr::UNSPECIFIED.into()
    } else {
        std::net::Ipv6Addr::UNSPECIFIED.into()
    };
    let socket = UdpSocket::bind(SocketAddr::new(unspecified, 0)).ok()?;
    socket.connect(SocketAddr::new(peer, BFD_PORT)).ok()?;
    socket.local_addr().ok().map(|a| a.ip())
}

/// The BFD session for `peer` sourced from `local`.
pub fn peer_spec(peer: &DesiredPeer, bfd: &BfdSpec, local: IpAddr) -> PeerSpec {
    let mut spec = PeerSpec::new(local, peer.address);
    spec.desired_min_tx = bfd.min_tx;
    spec.required_min_rx = bfd.min_rx;
    spec.detect_mult = bfd.detect_multiplier;
    spec
}

/// The running BFD sessions and the BGP sessions each protects.
#[derive(Debug, Default)]
pub struct BfdSessions {
    bfd: Bfd,
    protected: HashMap<PeerKey, Vec<Protected>>,
}

impl BfdSessions {
    /// Every state change of every session, in order.
    pub fn subscribe(&self) -> broadcast::Receiver<StateChange> {
        self.bfd.subscribe()
    }

    /// Makes the sessions exactly `wanted` (sessions to the same peer from the same address
    /// are one BFD session protecting several BGP sessions). Returns the errors of sessions
    /// that could not start, as text for the logs.
    pub fn apply(&mut self, wanted: Vec<(Protected, PeerSpec)>) -> Vec<String> {
        let mut specs: HashMap<PeerKey, (PeerSpec, Vec<Protected>)> = HashMap::new();
        for (protected, spec) in wanted {
            specs
                .entry(spec.key())
                .or_insert_with(|| (spec, Vec::new()))
                .1
                .push(protected);
        }
        let gone: Vec<PeerKey> = self
            .protected
            .keys()
            .filter(|k| !specs.contains_key(k))
            .cloned()
            .collect();
        for key in gone {
            self.bfd.remove_peer(&key);
            self.protected.remove(&key);
        }
        let mut errors = Vec::new();
        for (key, (spec, protected)) in specs {
            // Adding a running session again only changes its timers (Poll Sequence).
            match self.bfd.add_peer(spec) {
                Ok(_) => {
                    self.protected.insert(key, protected);
                }
                Err(error) => {
                    self.protected.remove(&key);
                    errors.push(format!("BFD session {key}: {error}"));
                }
            }
        }
        errors
    }

    /// The BGP sessions to tear down because of `change`: those of a session that left Up,
    /// unless the peer took the session administratively down.
    pub fn failed(&self, change: &StateChange) -> Vec<Protected> {
        let failed = change.from == SessionState::Up && change.to == SessionState::Down;
        if !failed {
            return Vec::new();
        }
        if change.diagnostic == Diagnostic::NeighborSignaledSessionDown {
            let admin_down = self
                .bfd
                .status()
                .into_iter()
                .any(|s| s.peer == change.peer && s.remote_state == SessionState::AdminDown);
            if admin_down {
                return Vec::new();
            }
        }
        self.protected
            .get(&change.peer)
            .cloned()
            .unwrap_or_default()
    }

    /// The state of the session protecting `protected`, if BFD runs for it.
    pub fn state_of(&self, protected: &Protected) -> Option<SessionState> {
        let key = self
            .protected
            .iter()
            .find(|(_, p)| p.contains(protected))
            .map(|(k, _)| k)?;
        self.bfd
            .status()
            .into_iter()
            .find(|s| &s.peer == key)
            .map(|s| s.state)
    }

    /// Takes every session AdminDown (so routers do not see a failure) and waits for the
    /// farewell packets to go out.
    pub async fn remove_all(&mut self) {
        let any = !self.protected.is_empty();
        for (key, _) in self.protected.drain() {
            self.bfd.remove_peer(&key);
        }
        if any {
            tokio::time::sleep(FAREWELL).await;
        }
    }
}
