//! Root tests of RFC 5881 on the wire, with a hand-made peer instead of a router: what we
//! send (TTL 255, source and destination ports) and what we accept (TTL 255 only).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{OUR_V4, THEIR_V4, ip};
use ferrule_bfd::runtime::socket::{self, LocalEndpoint, SOURCE_PORTS};
use ferrule_bfd::{Bfd, ControlPacket, PeerSpec, SessionState};
use tokio::time::timeout;

#[test]
fn wire_ports_and_ttl_255_both_ways() {
    if !common::require_root() {
        return;
    }
    let link = common::link("bg");
    common::on_own_thread(|| {
        // The fake peer's sockets are made in the router's namespace, ours in ours; both are
        // then driven from this one thread.
        link.far.enter();
        let peer_endpoint = LocalEndpoint {
            address: ip(THEIR_V4),
            interface: None,
        };
        let peer_rx = socket::receiver(&peer_endpoint).expect("fake peer control port");
        let peer_tx = socket::sender(&peer_endpoint, 0).expect("fake peer source port");
        link.near.enter();
        let bfd = Bfd::new();
        let mut status = bfd
            .add_peer(PeerSpec::new(ip(OUR_V4), ip(THEIR_V4)))
            .expect("add peer");
        async move {
            // Dropping the handle would stop the session.
            let _bfd = bfd;
            let mut buf = [0u8; 64];
            let received = timeout(
                Duration::from_secs(5),
                socket::recv_with_ttl(&peer_rx, &mut buf),
            )
            .await
            .expect("our first packet arrives at once")
            .expect("recvmsg");
            assert_eq!(received.ttl, Some(255), "GTSM: we send with TTL 255");
            assert!(SOURCE_PORTS.contains(&received.source.port()));
            let ours = ControlPacket::decode(&buf[..received.len]).expect("valid packet");
            assert_eq!(ours.state, SessionState::Down);

            let hello = ControlPacket {
                state: SessionState::Down,
                detect_mult: 3,
                my_discriminator: 0x5151,
                desired_min_tx_us: 1_000_000,
                required_min_rx_us: 1_000_000,
                ..ControlPacket::default()
            }
            .encode();
            let to_us: SocketAddr = (ip(OUR_V4), socket::CONTROL_PORT).into();
            peer_tx.set_ttl(254).expect("set TTL");
            for _ in 0..5 {
                peer_tx.send_to(&hello, to_us).await.expect("send");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let ignored = status.borrow().clone();
            assert_eq!(
                (ignored.state, ignored.remote_discriminator),
                (SessionState::Down, 0),
                "packets with TTL 254 must be dropped"
            );

            peer_tx.set_ttl(255).expect("set TTL");
            peer_tx.send_to(&hello, to_us).await.expect("send");
            timeout(
                Duration::from_secs(5),
                status.wait_for(|s| s.state == SessionState::Init),
            )
            .await
            .expect("the same packet with TTL 255 is accepted")
            .expect("session alive");
            assert_eq!(status.borrow().remote_discriminator, 0x5151);
        }
    });
}
