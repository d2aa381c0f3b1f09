//! Pure translations between what bgp-control derives and what the speaker runs:
//! [`DesiredPeer`] → [`PeerConfig`], a peer's route tables → [`Route`]s, and the speaker's
//! [`PeerStatus`] → the [`PeerSessionStatus`] the status writer reports.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use ferrule_bgp_control::status::{PeerSessionStatus, RouteCounts};
use ferrule_bgp_control::{DesiredInstance, DesiredPeer};
use ferrule_bgp_speaker::{
    Community, GlobalConfig, GracefulRestart, PeerConfig, PeerStatus, Prefix, Route, RouteAttrs,
};

/// Interface name → its addresses (as the route reader reports them).
pub type InterfaceAddresses = BTreeMap<String, Vec<IpAddr>>;

/// The speaker identity of an instance: a change of any of these needs a new speaker.
pub fn global_config(instance: &DesiredInstance) -> GlobalConfig {
    GlobalConfig {
        asn: instance.local_asn,
        router_id: instance.router_id,
        listen_port: instance.listen_port,
    }
}

/// The address of `interface` to source a session to `peer` from: same family, global scope
/// preferred over link-local.
pub fn interface_source(
    interfaces: &InterfaceAddresses,
    interface: &str,
    peer: IpAddr,
) -> Option<IpAddr> {
    let same_family = interfaces
        .get(interface)?
        .iter()
        .copied()
        .filter(|a| a.is_ipv4() == peer.is_ipv4());
    let mut candidates: Vec<IpAddr> = same_family.collect();
    candidates.sort_by_key(|a| is_link_local(*a));
    candidates.first().copied()
}

fn is_link_local(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(a) => a.is_link_local(),
        IpAddr::V6(a) => a.segments()[0] & 0xffc0 == 0xfe80,
    }
}

/// The session's source address as configured: `localAddress`, else the address of
/// `transport.sourceInterface` (the speaker binds an address, not an interface).
pub fn configured_source(peer: &DesiredPeer, interfaces: &InterfaceAddresses) -> Option<IpAddr> {
    peer.local_address.or_else(|| {
        let interface = peer.source_interface.as_deref()?;
        interface_source(interfaces, interface, peer.address)
    })
}

/// The speaker's configuration of `peer`. `source` is the session's source address (see
/// [`configured_source`], or what routing picks); the other-family addresses of the interface
/// holding it become the next-hop hints, so IPv6 routes can go over an IPv4 session and back.
pub fn peer_config(
    peer: &DesiredPeer,
    interfaces: &InterfaceAddresses,
    source: Option<IpAddr>,
) -> PeerConfig {
    let mut config = PeerConfig::new(peer.name.clone(), peer.address, peer.peer_asn);
    config.port = peer.port;
    config.local_address = configured_source(peer, interfaces);
    config.hold_time = peer.timers.hold_time_seconds;
    config.keepalive = Some(peer.timers.keepalive_seconds);
    config.connect_retry = Duration::from_secs(u64::from(peer.timers.connect_retry_seconds));
    config.ebgp_multihop_ttl = peer.ebgp_multihop_ttl;
    config.families = peer.families.keys().copied().collect();
    config.graceful_restart = peer.graceful_restart.enabled.then_some(GracefulRestart {
        restart_time: peer.graceful_restart.restart_time_seconds,
    });
    config.md5_password = peer
        .md5_password
        .as_ref()
        .map(|p| p.expose().to_owned())
        .filter(|p| !p.is_empty());
    let holder = source.and_then(|s| {
        interfaces
            .iter()
            .find(|(_, addresses)| addresses.contains(&s))
    });
    if let Some((_, addresses)) = holder {
        let global = || addresses.iter().copied().filter(|a| !is_link_local(*a));
        config.next_hop_v4 = global().find_map(|a| match a {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        });
        config.next_hop_v6 = global().find_map(|a| match a {
            IpAddr::V6(a) => Some(a),
            IpAddr::V4(_) => None,
        });
    }
    config
}

/// Everything announced to `peer`: the union of its families' tables, by prefix.
pub fn routes(peer: &DesiredPeer) -> BTreeMap<Prefix, Route> {
    let all = peer
        .families
        .values()
        .flat_map(|family| family.routes.iter());
    all.map(|(prefix, attributes)| {
        let route = Route {
            prefix: *prefix,
            attrs: RouteAttrs {
                communities: attributes
                    .communities
                    .iter()
                    .copied()
                    .map(Community)
                    .collect(),
                large_communities: attributes.large_communities.iter().copied().collect(),
                local_preference: attributes.local_preference,
            },
        };
        (*prefix, route)
    })
    .collect()
}

/// The status writer's view of one of `instance`'s sessions.
pub fn session_status(instance: &str, status: &PeerStatus) -> PeerSessionStatus {
    PeerSessionStatus {
        instance: instance.to_owned(),
        peer_name: status.name.clone(),
        peer_address: status.address,
        peer_asn: status.peer_asn,
        state: status.state.as_str().to_owned(),
        uptime: status.uptime,
        applied_hold_time_seconds: status.hold_time,
        applied_keepalive_seconds: status.keepalive,
        route_counts: status
            .families
            .iter()
            .map(|f| {
                let counts = RouteCounts {
                    advertised: f.advertised,
                    received: f.received,
                };
                (f.family, counts)
            })
            .collect(),
    }
}

/// The BGP MIB's number of a session state (RFC 4273 bgpPeerState: idle 1 … established 6),
/// for the session-state gauge.
pub fn state_number(state: ferrule_bgp_speaker::State) -> i64 {
    use ferrule_bgp_speaker::State;
    match state {
        State::Idle => 1,
        State::Connect => 2,
        State::Active => 3,
        State::OpenSent => 4,
        State::OpenConfirm => 5,
        State::Established => 6,
    }
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
