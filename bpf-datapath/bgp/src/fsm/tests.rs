use std::net::Ipv4Addr;
use std::time::Duration;

use super::*;
use crate::prefix::Family;
use crate::wire::open::OpenPolicy;

const RETRY: Duration = Duration::from_secs(5);
const IDLE_HOLD: Duration = Duration::from_secs(1);

fn config() -> FsmConfig {
    FsmConfig {
        policy: OpenPolicy {
            local_asn: 4_200_000_000,
            peer_asn: Some(65001),
            router_id: Ipv4Addr::new(192, 0, 2, 10),
            hold_time: 9,
            keepalive: None,
            families: vec![Family::Ipv4Unicast, Family::Ipv6Unicast],
        },
        passive: false,
        connect_retry: RETRY,
        idle_hold: IDLE_HOLD,
        graceful_restart: Some(30),
        restarted: true,
    }
}

fn peer_open(asn: u16, hold: u16) -> Event {
    Event::Message(Message::Open(Open {
        my_as: asn,
        hold_time: hold,
        bgp_id: Ipv4Addr::new(192, 0, 2, 1),
        capabilities: vec![Capability::FourOctetAs(asn.into())],
    }))
}

fn sent(actions: &[Action]) -> Vec<Message> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn notification(actions: &[Action]) -> Option<(u8, u8)> {
    sent(actions).into_iter().find_map(|m| match m {
        Message::Notification(n) => Some((n.code, n.subcode)),
        _ => None,
    })
}

fn established() -> Fsm {
    let mut fsm = Fsm::new(config());
    fsm.handle(Event::Start);
    fsm.handle(Event::TcpConnected);
    fsm.handle(peer_open(65001, 90));
    fsm.handle(Event::Message(Message::Keepalive));
    assert_eq!(fsm.state(), State::Established);
    fsm
}

#[test]
fn start_connects_actively_with_the_connect_retry_timer() {
    let mut fsm = Fsm::new(config());
    let a = fsm.handle(Event::Start);
    assert_eq!(
        a,
        vec![
            Action::Connect,
            Action::StartTimer(Timer::ConnectRetry, RETRY)
        ]
    );
    assert_eq!(fsm.state(), State::Connect);
}

#[test]
fn passive_sessions_wait_in_active_and_never_connect() {
    let mut fsm = Fsm::new(FsmConfig {
        passive: true,
        ..config()
    });
    assert!(fsm.handle(Event::Start).is_empty());
    assert_eq!(fsm.state(), State::Active);
    assert!(
        fsm.handle(Event::TimerExpired(Timer::ConnectRetry))
            .is_empty()
    );
    let a = fsm.handle(Event::TcpConnected);
    assert!(matches!(sent(&a)[..], [Message::Open(_)]));
    assert_eq!(fsm.state(), State::OpenSent);
}

#[test]
fn failed_connect_goes_active_and_retries_when_connect_retry_expires() {
    let mut fsm = Fsm::new(config());
    fsm.handle(Event::Start);
    let a = fsm.handle(Event::TcpFailed);
    assert_eq!(a, vec![Action::StartTimer(Timer::ConnectRetry, RETRY)]);
    assert_eq!(fsm.state(), State::Active);
    let a = fsm.handle(Event::TimerExpired(Timer::ConnectRetry));
    assert_eq!(
        a,
        vec![
            Action::Connect,
            Action::StartTimer(Timer::ConnectRetry, RETRY)
        ]
    );
    assert_eq!(fsm.state(), State::Connect);
    // Still connecting when the timer fires again: abandon the attempt and start another.
    let a = fsm.handle(Event::TimerExpired(Timer::ConnectRetry));
    assert_eq!(a[..2], [Action::Disconnect, Action::Connect]);
}

#[test]
fn connection_sends_open_with_as_trans_four_octet_as_and_a_large_hold_timer() {
    let mut fsm = Fsm::new(config());
    fsm.handle(Event::Start);
    let a = fsm.handle(Event::TcpConnected);
    assert_eq!(fsm.state(), State::OpenSent);
    assert!(a.contains(&Action::StartTimer(Timer::Hold, OPEN_HOLD_TIME)));
    assert!(a.contains(&Action::StopTimer(Timer::ConnectRetry)));
    let [Message::Open(open)] = &sent(&a)[..] else {
        panic!("no OPEN in {a:?}")
    };
    assert_eq!(open.my_as, AS_TRANS);
    assert_eq!(open.asn(), 4_200_000_000);
    assert_eq!(open.hold_time, 9);
    assert_eq!(
        open.families(),
        vec![Family::Ipv4Unicast, Family::Ipv6Unicast]
    );
}

#[test]
fn open_exchange_negotiates_timers_and_keepalive_establishes() {
    let mut fsm = Fsm::new(config());
    fsm.handle(Event::Start);
    fsm.handle(Event::TcpConnected);
    let a = fsm.handle(peer_open(65001, 90));
    assert_eq!(fsm.state(), State::OpenConfirm);
    assert_eq!(sent(&a), vec![Message::Keepalive]);
    assert!(a.contains(&Action::StartTimer(Timer::Hold, Duration::from_secs(9))));
    assert!(a.contains(&Action::StartTimer(
        Timer::Keepalive,
        Duration::from_secs(3)
    )));
    let a = fsm.handle(Event::Message(Message::Keepalive));
    assert_eq!(fsm.state(), State::Established);
    let Some(Action::Established(n)) = a.iter().find(|a| matches!(a, Action::Established(_)))
    else {
        panic!("not established: {a:?}");
    };
    assert_eq!((n.peer_asn, n.hold_time, n.keepalive), (65001, 9, 3));
}

#[test]
fn zero_hold_time_runs_no_hold_or_keepalive_timer() {
    let mut fsm = Fsm::new(config());
    fsm.handle(Event::Start);
    fsm.handle(Event::TcpConnected);
    let a = fsm.handle(peer_open(65001, 0));
    assert!(a.contains(&Action::StopTimer(Timer::Hold)));
    assert!(
        !a.iter()
            .any(|a| matches!(a, Action::StartTimer(Timer::Hold | Timer::Keepalive, _)))
    );
}

#[test]
fn bad_open_sends_the_open_error_and_restarts_after_idle_hold() {
    let mut fsm = Fsm::new(config());
    fsm.handle(Event::Start);
    fsm.handle(Event::TcpConnected);
    let a = fsm.handle(peer_open(65002, 90));
    assert_eq!(notification(&a), Some((2, 2)));
    assert!(a.contains(&Action::Disconnect));
    assert!(a.contains(&Action::StartTimer(Timer::IdleHold, IDLE_HOLD)));
    assert_eq!(fsm.state(), State::Idle);
    let a = fsm.handle(Event::TimerExpired(Timer::IdleHold));
    assert_eq!(a[0], Action::Connect);
    assert_eq!(fsm.state(), State::Connect);
}

#[test]
fn hold_timer_expiry_sends_hold_timer_expired_and_drops_the_session() {
    let mut fsm = established();
    let a = fsm.handle(Event::TimerExpired(Timer::Hold));
    assert_eq!(notification(&a), Some((4, 0)));
    assert!(
        a.iter()
            .any(|a| matches!(a, Action::Down(r) if r.contains("hold timer")))
    );
    assert_eq!(fsm.state(), State::Idle);
}

#[test]
fn updates_and_keepalives_restart_the_hold_timer() {
    let mut fsm = established();
    let hold = Action::StartTimer(Timer::Hold, Duration::from_secs(9));
    assert_eq!(
        fsm.handle(Event::Message(Message::Keepalive)),
        vec![hold.clone()]
    );
    let a = fsm.handle(Event::Message(Message::Update(Update::default())));
    assert_eq!(a, vec![hold, Action::Received(Update::default())]);
    let a = fsm.handle(Event::TimerExpired(Timer::Keepalive));
    assert_eq!(sent(&a), vec![Message::Keepalive]);
    assert!(a.contains(&Action::StartTimer(
        Timer::Keepalive,
        Duration::from_secs(3)
    )));
}

#[test]
fn unexpected_messages_are_fsm_errors_with_rfc6608_subcodes() {
    let mut fsm = Fsm::new(config());
    fsm.handle(Event::Start);
    fsm.handle(Event::TcpConnected);
    assert_eq!(
        notification(&fsm.handle(Event::Message(Message::Keepalive))),
        Some((5, 1))
    );

    let mut fsm = Fsm::new(config());
    fsm.handle(Event::Start);
    fsm.handle(Event::TcpConnected);
    fsm.handle(peer_open(65001, 90));
    let a = fsm.handle(Event::Message(Message::Update(Update::default())));
    assert_eq!(notification(&a), Some((5, 2)));

    let mut fsm = established();
    assert_eq!(
        notification(&fsm.handle(peer_open(65001, 90))),
        Some((5, 3))
    );
    assert_eq!(fsm.state(), State::Idle);
}

#[test]
fn malformed_messages_send_their_notification() {
    let mut fsm = established();
    let e = WireError::new(3, 1, vec![], "bad");
    assert_eq!(notification(&fsm.handle(Event::Malformed(e))), Some((3, 1)));
    assert_eq!(fsm.state(), State::Idle);
}

#[test]
fn a_peer_notification_or_closed_connection_goes_idle_without_replying() {
    let mut fsm = established();
    let a = fsm.handle(Event::Message(Message::Notification(Notification::new(
        6, 2,
    ))));
    assert_eq!(notification(&a), None);
    assert!(a.contains(&Action::StartTimer(Timer::IdleHold, IDLE_HOLD)));
    assert_eq!(fsm.state(), State::Idle);

    let mut fsm = established();
    let a = fsm.handle(Event::TcpFailed);
    assert_eq!(notification(&a), None);
    assert_eq!(fsm.state(), State::Idle);
}

#[test]
fn connection_lost_in_opensent_goes_back_to_active() {
    let mut fsm = Fsm::new(config());
    fsm.handle(Event::Start);
    fsm.handle(Event::TcpConnected);
    let a = fsm.handle(Event::TcpFailed);
    assert!(a.contains(&Action::StartTimer(Timer::ConnectRetry, RETRY)));
    assert_eq!(fsm.state(), State::Active);
}

#[test]
fn manual_stop_sends_cease_and_stays_idle() {
    let mut fsm = established();
    let a = fsm.handle(Event::Stop {
        notification: Some(Notification::new(6, 2)),
        restart: false,
        reason: "shutdown".into(),
    });
    assert_eq!(notification(&a), Some((6, 2)));
    assert!(!a.iter().any(|a| matches!(a, Action::StartTimer(..))));
    assert_eq!(fsm.state(), State::Idle);
    // Stopping an idle session sends nothing.
    let a = fsm.handle(Event::Stop {
        notification: Some(Notification::new(6, 2)),
        restart: false,
        reason: String::new(),
    });
    assert_eq!(notification(&a), None);
}

#[test]
fn graceful_restart_capability_carries_the_r_bit_only_until_the_first_session() {
    let mut fsm = Fsm::new(config());
    let gr = |fsm: &Fsm| fsm.open_message().graceful_restart().cloned().unwrap();
    let first = gr(&fsm);
    assert!(first.restarting);
    assert_eq!(first.restart_time, 30);
    assert_eq!(
        first.families,
        vec![(Family::Ipv4Unicast, true), (Family::Ipv6Unicast, true)]
    );
    fsm.handle(Event::Start);
    fsm.handle(Event::TcpConnected);
    fsm.handle(peer_open(65001, 90));
    fsm.handle(Event::Message(Message::Keepalive));
    assert!(!gr(&fsm).restarting);

    let fsm = Fsm::new(FsmConfig {
        graceful_restart: None,
        ..config()
    });
    assert!(fsm.open_message().graceful_restart().is_none());
}

#[test]
fn collision_keeps_the_connection_opened_by_the_higher_identifier() {
    let low = Ipv4Addr::new(192, 0, 2, 1);
    let high = Ipv4Addr::new(192, 0, 2, 2);
    assert!(collision_keeps_peer_initiated(low, high));
    assert!(!collision_keeps_peer_initiated(high, low));
}

#[test]
fn replaced_connection_returns_to_active_for_the_new_handshake() {
    let mut fsm = Fsm::new(config());
    fsm.handle(Event::Start);
    fsm.handle(Event::TcpConnected);
    fsm.handle(Event::ConnectionReplaced);
    assert_eq!(fsm.state(), State::Active);
    fsm.handle(Event::TcpConnected);
    fsm.handle(peer_open(65001, 90));
    assert_eq!(fsm.state(), State::OpenConfirm);
}
