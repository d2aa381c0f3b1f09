//! Two speakers of this crate peering over loopback: the driver end to end without root.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, TcpListener};
use std::time::Duration;

use ferrule_bgp_speaker::*;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

fn peer_status(s: &Speaker) -> PeerStatus {
    s.status().into_iter().next().unwrap()
}

fn family(s: &PeerStatus, f: Family) -> FamilyStatus {
    s.families.iter().find(|x| x.family == f).unwrap().clone()
}

const LO: &str = "127.0.0.1";

/// `a` listens (passive peer), `b` connects to it.
fn pair(port: u16, ibgp: bool) -> (Speaker, Speaker) {
    let lo: IpAddr = LO.parse().unwrap();
    let b_asn = if ibgp { 65000 } else { 4_200_000_001 };
    let a = Speaker::new(GlobalConfig {
        asn: 65000,
        router_id: "192.0.2.1".parse().unwrap(),
        listen_port: Some(port),
    })
    .unwrap();
    let b = Speaker::new(GlobalConfig {
        asn: b_asn,
        router_id: "192.0.2.2".parse().unwrap(),
        listen_port: None,
    })
    .unwrap();
    let mut pa = PeerConfig::new("b", lo, Some(b_asn));
    pa.passive = true;
    pa.hold_time = 9;
    let mut pb = PeerConfig::new("a", lo, Some(65000));
    pb.port = port;
    pb.hold_time = 30;
    pb.connect_retry = Duration::from_secs(1);
    pb.families = vec![Family::Ipv4Unicast];
    assert!(a.apply_peers(vec![pa]).is_empty());
    assert!(b.apply_peers(vec![pb]).is_empty());
    (a, b)
}

fn route(p: &str) -> Route {
    Route::new(p.parse().unwrap())
}

#[tokio::test]
async fn sessions_establish_exchange_routes_and_send_only_differences() {
    let (a, b) = pair(free_port(), false);
    eventually("established", || {
        peer_status(&a).state == State::Established && peer_status(&b).state == State::Established
    })
    .await;
    let sb = peer_status(&b);
    assert_eq!((sb.hold_time, sb.keepalive), (Some(9), Some(3)));
    assert!(sb.uptime.is_some());
    // b asked for IPv4 only, so IPv6 is not negotiated on a's side.
    let sa = peer_status(&a);
    assert!(family(&sa, Family::Ipv4Unicast).negotiated);
    assert!(!family(&sa, Family::Ipv6Unicast).negotiated);

    let lo: IpAddr = LO.parse().unwrap();
    b.set_routes(
        lo,
        vec![
            route("203.0.113.0/24"),
            route("198.51.100.0/24"),
            route("2001:db8::/32"),
        ],
    );
    eventually("two routes received", || {
        family(&peer_status(&a), Family::Ipv4Unicast).received == 2
    })
    .await;
    assert_eq!(family(&peer_status(&b), Family::Ipv4Unicast).advertised, 2);
    b.set_routes(lo, vec![route("203.0.113.0/24")]);
    eventually("withdrawal", || {
        family(&peer_status(&a), Family::Ipv4Unicast).received == 1
    })
    .await;

    // BFD Down: torn down at once, then back.
    assert!(b.peer_down(lo, "BFD down"));
    eventually("teardown", || peer_status(&b).state != State::Established).await;
    assert_eq!(peer_status(&b).last_error.as_deref(), Some("BFD down"));
    eventually("re-established", || {
        peer_status(&b).state == State::Established
    })
    .await;
    eventually("routes re-sent", || {
        family(&peer_status(&a), Family::Ipv4Unicast).received == 1
    })
    .await;

    b.shutdown().await;
    eventually("a sees the cease", || {
        peer_status(&a).state != State::Established
    })
    .await;
    let err = peer_status(&a).last_error.unwrap();
    assert!(err.contains("cease (6/2)"), "{err}");
}

#[tokio::test]
async fn wrong_peer_asn_is_refused_with_bad_peer_as() {
    let port = free_port();
    let lo: IpAddr = LO.parse().unwrap();
    let a = Speaker::new(GlobalConfig {
        asn: 65000,
        router_id: "192.0.2.1".parse().unwrap(),
        listen_port: Some(port),
    })
    .unwrap();
    let b = Speaker::new(GlobalConfig {
        asn: 65009,
        router_id: "192.0.2.2".parse().unwrap(),
        listen_port: None,
    })
    .unwrap();
    let mut pa = PeerConfig::new("b", lo, Some(65001));
    pa.passive = true;
    let mut pb = PeerConfig::new("a", lo, Some(65000));
    pb.port = port;
    pb.connect_retry = Duration::from_secs(1);
    a.apply_peers(vec![pa]);
    b.apply_peers(vec![pb]);
    eventually("b told why", || {
        peer_status(&b)
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("(2/2)"))
    })
    .await;
    assert_ne!(peer_status(&a).state, State::Established);
}

#[tokio::test]
async fn reconfiguring_a_peer_restarts_only_that_session() {
    let (a, b) = pair(free_port(), true);
    eventually("established", || {
        peer_status(&b).state == State::Established
    })
    .await;
    let lo: IpAddr = LO.parse().unwrap();
    let mut same = b.status();
    same[0].uptime = None;
    // Re-applying the same config keeps the session.
    let mut pb = PeerConfig::new("a", lo, Some(65000));
    pb.port = a.global().listen_port.unwrap();
    pb.hold_time = 30;
    pb.connect_retry = Duration::from_secs(1);
    pb.families = vec![Family::Ipv4Unicast];
    b.apply_peers(vec![pb.clone()]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(peer_status(&b).established_at, same[0].established_at);
    // A changed hold time restarts it with the new value.
    pb.hold_time = 6;
    b.apply_peers(vec![pb]);
    eventually("re-established with hold 6", || {
        let s = peer_status(&b);
        s.state == State::Established && s.hold_time == Some(6)
    })
    .await;
    // Removing the peer ends the session.
    b.apply_peers(vec![]);
    assert!(b.status().is_empty());
    eventually("a sees it go", || {
        peer_status(&a).state != State::Established
    })
    .await;
}

#[tokio::test]
async fn the_listener_refuses_addresses_that_are_not_configured_peers() {
    use tokio::io::AsyncReadExt;
    let port = free_port();
    let a = Speaker::new(GlobalConfig {
        asn: 65000,
        router_id: "192.0.2.1".parse().unwrap(),
        listen_port: Some(port),
    })
    .unwrap();
    let mut only = PeerConfig::new("other", "127.0.0.2".parse().unwrap(), Some(65001));
    only.passive = true;
    assert!(a.apply_peers(vec![only]).is_empty());
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(
        n, 0,
        "an unconfigured address got {n} bytes instead of a closed connection"
    );
}

#[tokio::test]
async fn a_passive_peer_without_a_listen_port_is_reported() {
    let s = Speaker::new(GlobalConfig {
        asn: 65000,
        router_id: "192.0.2.1".parse().unwrap(),
        listen_port: None,
    })
    .unwrap();
    let mut p = PeerConfig::new("p", "127.0.0.2".parse().unwrap(), None);
    p.passive = true;
    let errors = s.apply_peers(vec![p]);
    assert!(
        matches!(errors[..], [Error::PassiveWithoutListener(_)]),
        "{errors:?}"
    );
}

#[tokio::test]
async fn stop_peers_sends_cease_to_the_named_peers_only() {
    let (a, b) = pair(free_port(), false);
    eventually("established", || {
        peer_status(&b).state == State::Established
    })
    .await;
    let lo: IpAddr = LO.parse().unwrap();
    b.stop_peers(&["192.0.2.99".parse().unwrap()]).await;
    assert_eq!(peer_status(&b).state, State::Established);
    b.stop_peers(&[lo]).await;
    assert!(b.status().is_empty());
    eventually("a sees the cease", || {
        peer_status(&a)
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("cease (6/2)"))
    })
    .await;
}
