//! One test per RFC 5880 clause the state machine implements; time is explicit.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use super::{Session, SessionConfig, Transition};
use crate::packet::{ControlPacket, Diagnostic, SessionState};

const MS: Duration = Duration::from_millis(1);
const OURS: u32 = 0x1111;
const THEIRS: u32 = 0x2222;

fn config(tx_ms: u32, rx_ms: u32, mult: u8) -> SessionConfig {
    SessionConfig {
        desired_min_tx: MS * tx_ms,
        required_min_rx: MS * rx_ms,
        detect_mult: mult,
    }
}

fn session(now: Instant) -> Session {
    Session::new(
        config(100, 100, 3),
        NonZeroU32::new(OURS).expect("non-zero"),
        42,
        now,
    )
}

/// A packet from the remote system, which runs 100 ms x 3 once Up and 1 s while not Up.
fn remote(state: SessionState) -> ControlPacket {
    let tx_ms = if state == SessionState::Up { 100 } else { 1000 };
    ControlPacket {
        state,
        detect_mult: 3,
        my_discriminator: THEIRS,
        your_discriminator: if state == SessionState::Down { 0 } else { OURS },
        desired_min_tx_us: tx_ms * 1000,
        required_min_rx_us: 100_000,
        ..ControlPacket::default()
    }
}

fn went(from: SessionState, to: SessionState, diagnostic: Diagnostic) -> Option<Transition> {
    Some(Transition {
        from,
        to,
        diagnostic,
    })
}

/// Three-way handshake, then the Poll that the switch to fast timers starts is answered.
fn up_and_fast(t0: Instant) -> Session {
    let mut s = session(t0);
    s.handle_packet(&remote(SessionState::Down), t0);
    s.handle_packet(&remote(SessionState::Up), t0);
    assert_eq!(s.state(), SessionState::Up);
    let answer = ControlPacket {
        final_: true,
        ..remote(SessionState::Up)
    };
    s.handle_packet(&answer, t0);
    assert!(!s.poll_in_progress());
    s
}

#[test]
fn s6_2_three_way_handshake_from_down() {
    let t0 = Instant::now();
    let mut s = session(t0);
    assert_eq!(
        s.handle_packet(&remote(SessionState::Down), t0),
        went(
            SessionState::Down,
            SessionState::Init,
            Diagnostic::NoDiagnostic
        )
    );
    assert_eq!(
        s.handle_packet(&remote(SessionState::Up), t0 + MS),
        went(
            SessionState::Init,
            SessionState::Up,
            Diagnostic::NoDiagnostic
        )
    );
}

#[test]
fn s6_8_6_init_from_the_remote_brings_a_down_session_straight_up() {
    let t0 = Instant::now();
    let mut s = session(t0);
    assert_eq!(
        s.handle_packet(&remote(SessionState::Init), t0),
        went(
            SessionState::Down,
            SessionState::Up,
            Diagnostic::NoDiagnostic
        )
    );
}

#[test]
fn s6_8_6_up_from_the_remote_does_not_bring_a_down_session_up() {
    let t0 = Instant::now();
    let mut s = session(t0);
    assert_eq!(s.handle_packet(&remote(SessionState::Up), t0), None);
    assert_eq!(s.state(), SessionState::Down);
}

#[test]
fn s6_8_6_remote_down_while_up_means_neighbor_signaled_down() {
    let t0 = Instant::now();
    let mut s = up_and_fast(t0);
    assert_eq!(
        s.handle_packet(&remote(SessionState::Down), t0 + MS),
        went(
            SessionState::Up,
            SessionState::Down,
            Diagnostic::NeighborSignaledSessionDown
        )
    );
}

#[test]
fn s6_8_6_remote_admin_down() {
    let t0 = Instant::now();
    let mut s = up_and_fast(t0);
    assert_eq!(
        s.handle_packet(&remote(SessionState::AdminDown), t0 + MS),
        went(
            SessionState::Up,
            SessionState::Down,
            Diagnostic::NeighborSignaledSessionDown
        )
    );
    assert_eq!(
        s.handle_packet(&remote(SessionState::AdminDown), t0 + MS * 2),
        None,
        "an AdminDown remote keeps a Down session Down"
    );
    assert_eq!(s.state(), SessionState::Down);
}

#[test]
fn s6_8_6_local_admin_down_discards_packets() {
    let t0 = Instant::now();
    let mut s = up_and_fast(t0);
    assert_eq!(
        s.set_admin_down(t0),
        went(
            SessionState::Up,
            SessionState::AdminDown,
            Diagnostic::AdministrativelyDown
        )
    );
    assert_eq!(s.handle_packet(&remote(SessionState::Down), t0 + MS), None);
    assert_eq!(s.state(), SessionState::AdminDown);
    let sent = s
        .poll_transmit(t0 + MS * 2000)
        .expect("AdminDown is still announced");
    assert_eq!(
        (sent.state, sent.diagnostic),
        (SessionState::AdminDown, Diagnostic::AdministrativelyDown)
    );
    assert_eq!(
        s.set_admin_up(t0 + MS * 3000),
        went(
            SessionState::AdminDown,
            SessionState::Down,
            Diagnostic::NoDiagnostic
        )
    );
}

#[test]
fn s6_8_4_detection_time_expiry_takes_the_session_down() {
    let t0 = Instant::now();
    let mut s = up_and_fast(t0);
    assert_eq!(s.detection_time(), Some(MS * 300), "3 x max(100, 100)");
    assert_eq!(s.next_wakeup().map(|t| t <= t0 + MS * 300), Some(true));
    assert_eq!(s.handle_timeout(t0 + MS * 299), None);
    assert_eq!(
        s.handle_timeout(t0 + MS * 300),
        went(
            SessionState::Up,
            SessionState::Down,
            Diagnostic::ControlDetectionTimeExpired
        )
    );
    assert_eq!(
        s.remote_discriminator(),
        0,
        "section 6.8.1: remote forgotten"
    );
    let sent = s.poll_transmit(t0 + MS * 5000).expect("Down is announced");
    assert_eq!(
        (sent.state, sent.your_discriminator),
        (SessionState::Down, 0)
    );
}

#[test]
fn s6_8_4_every_packet_restarts_detection() {
    let t0 = Instant::now();
    let mut s = up_and_fast(t0);
    for step in 1..=10 {
        s.handle_packet(&remote(SessionState::Up), t0 + MS * (250 * step));
        assert_eq!(s.handle_timeout(t0 + MS * (250 * step + 299)), None);
    }
    assert_eq!(s.state(), SessionState::Up);
}

#[test]
fn s6_8_4_detection_uses_remote_mult_and_slower_of_our_rx_and_their_tx() {
    let t0 = Instant::now();
    let mut s = session(t0);
    let slow_remote = ControlPacket {
        detect_mult: 5,
        desired_min_tx_us: 400_000,
        ..remote(SessionState::Down)
    };
    s.handle_packet(&slow_remote, t0);
    assert_eq!(s.detection_time(), Some(MS * 2000));
    assert_eq!(s.handle_timeout(t0 + MS * 1999), None);
    assert_eq!(
        s.handle_timeout(t0 + MS * 2000),
        went(
            SessionState::Init,
            SessionState::Down,
            Diagnostic::ControlDetectionTimeExpired
        ),
        "Init times out like Up"
    );
}

#[test]
fn s6_8_3_slow_transmission_until_up_then_poll_for_fast() {
    let t0 = Instant::now();
    let mut s = session(t0);
    let first = s.poll_transmit(t0).expect("first packet at once");
    assert_eq!(first.desired_min_tx_us, 1_000_000, "not Up: at least 1 s");
    assert_eq!(first.required_min_rx_us, 100_000);
    assert!(!first.poll);
    assert_eq!(
        s.poll_transmit(t0 + MS * 740),
        None,
        "no packet before 75% of 1 s"
    );

    s.handle_packet(&remote(SessionState::Init), t0 + MS * 800);
    assert_eq!(s.state(), SessionState::Up);
    assert_eq!(s.tx_interval(), MS * 100, "a decrease applies at once");
    let polling = s
        .poll_transmit(t0 + MS * 900)
        .expect("faster rate applies now");
    assert!(polling.poll, "section 6.5: parameter change is polled");
    assert_eq!(polling.desired_min_tx_us, 100_000);

    let answer = ControlPacket {
        final_: true,
        ..remote(SessionState::Up)
    };
    s.handle_packet(&answer, t0 + MS * 910);
    assert!(!s.poll_in_progress());
    let after = s.poll_transmit(t0 + MS * 1100).expect("periodic packet");
    assert!(!after.poll, "P is cleared once the Final arrived");
}

#[test]
fn s6_5_poll_is_answered_at_once_with_final_and_without_poll() {
    let t0 = Instant::now();
    let mut s = up_and_fast(t0);
    s.poll_transmit(t0);
    let poll = ControlPacket {
        poll: true,
        ..remote(SessionState::Up)
    };
    s.handle_packet(&poll, t0 + MS);
    assert_eq!(s.next_wakeup(), Some(t0 + MS), "answer due immediately");
    let answer = s
        .poll_transmit(t0 + MS)
        .expect("Final without waiting for the timer");
    assert!(answer.final_ && !answer.poll, "never both P and F");
    assert_eq!(s.poll_transmit(t0 + MS), None, "one Final per Poll");
}

#[test]
fn s6_8_3_slower_tx_while_up_waits_for_the_final() {
    let t0 = Instant::now();
    let mut s = up_and_fast(t0);
    s.set_config(config(500, 100, 3), t0);
    let sent = s.poll_transmit(t0).expect("packet");
    assert!(sent.poll);
    assert_eq!(sent.desired_min_tx_us, 500_000, "advertised at once");
    assert_eq!(s.tx_interval(), MS * 100, "but the old rate is kept");
    let answer = ControlPacket {
        final_: true,
        ..remote(SessionState::Up)
    };
    s.handle_packet(&answer, t0 + MS);
    assert_eq!(s.tx_interval(), MS * 500);
}

#[test]
fn s6_8_3_faster_rx_while_up_keeps_old_detection_until_final() {
    let t0 = Instant::now();
    let mut s = up_and_fast(t0);
    let faster_remote = ControlPacket {
        desired_min_tx_us: 20_000,
        ..remote(SessionState::Up)
    };
    s.handle_packet(&faster_remote, t0);
    s.set_config(config(100, 20, 3), t0);
    assert_eq!(
        s.detection_time(),
        Some(MS * 300),
        "old 100 ms rx still used"
    );
    let answer = ControlPacket {
        final_: true,
        ..faster_remote
    };
    s.handle_packet(&answer, t0 + MS);
    assert_eq!(s.detection_time(), Some(MS * 60));
}

#[test]
fn s6_8_2_tx_interval_follows_the_remote_required_min_rx() {
    let t0 = Instant::now();
    let mut s = up_and_fast(t0);
    let slow_receiver = ControlPacket {
        required_min_rx_us: 300_000,
        ..remote(SessionState::Up)
    };
    s.handle_packet(&slow_receiver, t0);
    assert_eq!(s.tx_interval(), MS * 300);
}

#[test]
fn s6_8_7_periodic_packets_are_jittered_between_75_and_100_percent() {
    let t0 = Instant::now();
    let mut s = up_and_fast(t0);
    let mut now = t0;
    let mut last_sent = None;
    let mut gaps = Vec::new();
    while gaps.len() < 200 {
        s.handle_packet(&remote(SessionState::Up), now);
        if s.poll_transmit(now).is_some() {
            if let Some(last) = last_sent {
                gaps.push(now - last);
            }
            last_sent = Some(now);
        }
        now += MS;
    }
    assert!(
        gaps.iter().all(|g| *g >= MS * 75 && *g <= MS * 100),
        "{gaps:?}"
    );
    assert!(gaps.iter().any(|g| *g < MS * 85) && gaps.iter().any(|g| *g > MS * 90));
}

#[test]
fn s6_8_7_no_periodic_packets_when_remote_required_min_rx_is_zero() {
    let t0 = Instant::now();
    let mut s = up_and_fast(t0);
    let silent = ControlPacket {
        required_min_rx_us: 0,
        ..remote(SessionState::Up)
    };
    s.handle_packet(&silent, t0);
    assert_eq!(s.poll_transmit(t0 + MS * 5000), None);
}

#[test]
fn s6_8_7_packets_carry_our_state_and_the_remote_discriminator() {
    let t0 = Instant::now();
    let mut s = session(t0);
    s.handle_packet(&remote(SessionState::Down), t0);
    let sent = s.poll_transmit(t0).expect("packet");
    assert_eq!(
        (
            sent.state,
            sent.my_discriminator,
            sent.your_discriminator,
            sent.detect_mult
        ),
        (SessionState::Init, OURS, THEIRS, 3)
    );
    assert!(
        ControlPacket::decode(&sent.encode()).is_ok(),
        "our packets pass our own checks"
    );
}
