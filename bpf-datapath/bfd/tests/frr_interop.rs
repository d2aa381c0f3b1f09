//! Root tests: our sessions against FRR's bfdd across a veth link in network namespaces.

mod common;

use std::time::Duration;

use common::{Bfdd, OUR_V4, OUR_V6, THEIR_V4, THEIR_V6, ip};
use ferrule_bfd::{Bfd, Diagnostic, PeerSpec, SessionState, StateChange};
use tokio::sync::broadcast;
use tokio::time::{Instant, timeout};

const INTERVAL: Duration = Duration::from_millis(100);
const MULT: u8 = 3;
/// Scheduling slack on a busy two-core machine, on top of interval x multiplier.
const MARGIN: Duration = Duration::from_millis(200);

async fn next_change(
    events: &mut broadcast::Receiver<StateChange>,
    to: SessionState,
) -> StateChange {
    timeout(Duration::from_secs(15), async {
        loop {
            match events.recv().await {
                Ok(change) if change.to == to => return change,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("event stream closed"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no change to {to} within 15 s"))
}

/// Up with FRR, FRR agrees on the timers, a cut link is detected within the detection time,
/// and the session comes back when the link does.
fn up_detect_recover(prefix: &str, ours: &'static str, theirs: &'static str) {
    if !common::require_root() {
        return;
    }
    let link = common::link(prefix);
    let bfdd = Bfdd::start(&link.far, &[(ours, theirs)], 100, MULT);
    common::enter_netns_then(&link.near, || async {
        let bfd = Bfd::new();
        let mut events = bfd.subscribe();
        let spec = PeerSpec::new(ip(ours), ip(theirs)).timers(INTERVAL, MULT);
        let mut status = bfd.add_peer(spec.clone()).expect("add peer");
        timeout(
            Duration::from_secs(15),
            status.wait_for(|s| {
                s.state == SessionState::Up
                    && s.tx_interval == INTERVAL
                    && s.detection_time == Some(INTERVAL * u32::from(MULT))
            }),
        )
        .await
        .expect("Up with fast timers within 15 s")
        .expect("session task alive");
        let our_discriminator = status.borrow().local_discriminator;

        bfdd.wait_for_peer(ours, "our session Up at 100 ms x 3", |p| {
            p["status"] == "up"
                && p["remote-id"] == our_discriminator
                && p["remote-receive-interval"] == 100
                && p["remote-transmit-interval"] == 100
                && p["remote-detect-multiplier"] == 3
        })
        .await;

        let cut_at = Instant::now();
        link.cut();
        let down = next_change(&mut events, SessionState::Down).await;
        let detected_after = down.at - cut_at;
        assert_eq!(down.diagnostic, Diagnostic::ControlDetectionTimeExpired);
        assert!(
            detected_after <= INTERVAL * u32::from(MULT) + MARGIN,
            "Down declared {detected_after:?} after the cut"
        );
        assert_eq!(status.borrow().down_count, 1);

        link.restore();
        next_change(&mut events, SessionState::Up).await;
        bfdd.wait_for_peer(ours, "the session Up again", |p| p["status"] == "up")
            .await;

        // New timers for a running session are negotiated by a Poll Sequence, without a flap.
        let slower = INTERVAL * 2;
        bfd.add_peer(spec.clone().timers(slower, MULT))
            .expect("reconfigure");
        timeout(
            Duration::from_secs(15),
            status.wait_for(|s| s.detection_time == Some(slower * u32::from(MULT))),
        )
        .await
        .expect("detection time follows our slower receive interval")
        .expect("session task alive");
        bfdd.wait_for_peer(ours, "our new 200 ms intervals", |p| {
            p["status"] == "up"
                && p["remote-receive-interval"] == 200
                && p["remote-transmit-interval"] == 200
        })
        .await;
        assert_eq!(status.borrow().state, SessionState::Up);
        assert_eq!(status.borrow().down_count, 1, "no flap while renegotiating");

        assert!(bfd.remove_peer(&spec.key()));
        bfdd.wait_for_peer(ours, "our AdminDown", |p| {
            p["status"] == "down" && p["remote-diagnostic"] == "administratively down"
        })
        .await;
        assert!(bfd.status().is_empty());
    });
}

#[test]
fn ipv4_session_with_frr() {
    up_detect_recover("b4", OUR_V4, THEIR_V4);
}

#[test]
fn ipv6_session_with_frr() {
    up_detect_recover("b6", OUR_V6, THEIR_V6);
}
