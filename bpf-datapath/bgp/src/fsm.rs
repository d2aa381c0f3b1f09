//! The session finite state machine of RFC 4271 section 8, as a pure function of events.
//!
//! No I/O and no clock: the driver feeds [`Event`]s (including timer expiries it scheduled
//! because of an earlier [`Action::StartTimer`]) and carries out the returned [`Action`]s in
//! order. Route handling stays outside: the FSM only reports [`Action::Established`],
//! [`Action::Received`] and [`Action::Down`].

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::wire::notification::{code, fsm as fsm_sub};
use crate::wire::open::{Negotiated, OpenPolicy, negotiate};
use crate::wire::{
    AS_TRANS, Capability, GracefulRestartCap, Message, Notification, Open, Update, WireError,
};

/// The hold time proposed while waiting for the peer's OPEN (RFC 4271 8: "a large value").
pub const OPEN_HOLD_TIME: Duration = Duration::from_secs(240);

/// Session states (RFC 4271 8.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Not trying to connect.
    Idle,
    /// Waiting for an outgoing TCP connection.
    Connect,
    /// Waiting for the peer to connect (or for the next connect attempt).
    Active,
    /// OPEN sent, waiting for the peer's.
    OpenSent,
    /// OPENs exchanged, waiting for a KEEPALIVE.
    OpenConfirm,
    /// Exchanging routes.
    Established,
}

impl State {
    /// The lower-case name Cilium's status uses ("established", "idle", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::Connect => "connect",
            State::Active => "active",
            State::OpenSent => "opensent",
            State::OpenConfirm => "openconfirm",
            State::Established => "established",
        }
    }
}

/// Timers the FSM asks the driver to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// ConnectRetryTimer; the driver adds the jitter ([`crate::timers`]).
    ConnectRetry,
    /// HoldTimer.
    Hold,
    /// KeepaliveTimer.
    Keepalive,
    /// Delay before restarting after the session went down (RFC 4271 IdleHoldTimer).
    IdleHold,
}

/// Inputs to the FSM.
// Events are handled as soon as they are made; boxing the message would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// ManualStart / AutomaticStart.
    Start,
    /// ManualStop: send `notification` if connected, close; come back after IdleHold when
    /// `restart`.
    Stop {
        /// What to tell the peer, if anything.
        notification: Option<Notification>,
        /// Start again after IdleHold.
        restart: bool,
        /// Why, for the status.
        reason: String,
    },
    /// A timer started by [`Action::StartTimer`] ran out.
    TimerExpired(Timer),
    /// A TCP connection to the peer is up (outgoing or accepted).
    TcpConnected,
    /// The TCP connection failed or was closed by the peer.
    TcpFailed,
    /// The driver replaced the connection after a collision (RFC 4271 6.8); the FSM goes back
    /// to Active and the driver then feeds [`Event::TcpConnected`] and the new OPEN.
    ConnectionReplaced,
    /// A message arrived.
    Message(Message),
    /// A message could not be decoded.
    Malformed(WireError),
}

/// What the driver must do, in order.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start an outgoing TCP connection; report [`Event::TcpConnected`] or
    /// [`Event::TcpFailed`].
    Connect,
    /// Close the connection and abandon any connection attempt.
    Disconnect,
    /// Send a message.
    Send(Message),
    /// (Re)start a timer.
    StartTimer(Timer, Duration),
    /// Stop a timer.
    StopTimer(Timer),
    /// The session is established with these parameters: send the routes.
    Established(Negotiated),
    /// An UPDATE arrived in Established.
    Received(Update),
    /// The session (or attempt) went down, for this reason.
    Down(String),
}

/// Per-session FSM configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsmConfig {
    /// What we announce and expect in OPENs.
    pub policy: OpenPolicy,
    /// Never connect; only accept.
    pub passive: bool,
    /// The configured ConnectRetry time (before jitter).
    pub connect_retry: Duration,
    /// Delay before restarting after a session failure.
    pub idle_hold: Duration,
    /// Graceful restart restart time, when graceful restart is enabled.
    pub graceful_restart: Option<u16>,
    /// Set the R bit in the OPEN until the first session is established (the speaker has
    /// restarted).
    pub restarted: bool,
}

/// One session's state machine.
#[derive(Debug)]
pub struct Fsm {
    config: FsmConfig,
    state: State,
    negotiated: Option<Negotiated>,
    restarted: bool,
}

/// Whether a collision keeps the connection the peer opened (RFC 4271 6.8): it does when our
/// BGP Identifier is the lower one; otherwise the connection we opened stays.
pub fn collision_keeps_peer_initiated(local_id: Ipv4Addr, remote_id: Ipv4Addr) -> bool {
    u32::from(local_id) < u32::from(remote_id)
}

impl Fsm {
    /// A state machine in Idle.
    pub fn new(config: FsmConfig) -> Fsm {
        let restarted = config.restarted;
        Fsm {
            config,
            state: State::Idle,
            negotiated: None,
            restarted,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The negotiated parameters while in OpenConfirm or Established.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// The configuration.
    pub fn config(&self) -> &FsmConfig {
        &self.config
    }

    /// The OPEN this side sends.
    pub fn open_message(&self) -> Open {
        let p = &self.config.policy;
        let mut capabilities: Vec<Capability> = p
            .families
            .iter()
            .map(|f| Capability::Multiprotocol(*f))
            .collect();
        capabilities.push(Capability::FourOctetAs(p.local_asn));
        if let Some(restart_time) = self.config.graceful_restart {
            capabilities.push(Capability::GracefulRestart(GracefulRestartCap {
                restarting: self.restarted,
                restart_time: restart_time.min(0x0FFF),
                // The datapath keeps forwarding while the speaker restarts.
                families: p.families.iter().map(|f| (*f, true)).collect(),
            }));
        }
        Open {
            my_as: u16::try_from(p.local_asn).unwrap_or(AS_TRANS),
            hold_time: p.hold_time,
            bgp_id: p.router_id,
            capabilities,
        }
    }

    /// Feeds one event and returns what to do.
    pub fn handle(&mut self, event: Event) -> Vec<Action> {
        use State::*;
        let mut out = Vec::new();
        match (self.state, event) {
            (
                _,
                Event::Stop {
                    notification,
                    restart,
                    reason,
                },
            ) => {
                if let Some(n) = notification.filter(|_| self.connected()) {
                    out.push(Action::Send(Message::Notification(n)));
                }
                self.go_idle(&mut out, restart, reason);
            }
            (Idle, Event::Start) | (Idle, Event::TimerExpired(Timer::IdleHold)) => {
                self.start(&mut out)
            }
            (Idle, _) | (_, Event::Start) => {}

            (Connect | Active, Event::TcpConnected) => {
                out.push(Action::StopTimer(Timer::ConnectRetry));
                out.push(Action::Send(Message::Open(self.open_message())));
                out.push(Action::StartTimer(Timer::Hold, OPEN_HOLD_TIME));
                self.state = OpenSent;
            }
            (Connect | Active, Event::TimerExpired(Timer::ConnectRetry)) => {
                if self.config.passive {
                    return out;
                }
                if self.state == Connect {
                    out.push(Action::Disconnect);
                }
                out.push(Action::Connect);
                out.push(Action::StartTimer(
                    Timer::ConnectRetry,
                    self.config.connect_retry,
                ));
                self.state = Connect;
            }
            (Connect, Event::TcpFailed) => {
                out.push(Action::StartTimer(
                    Timer::ConnectRetry,
                    self.config.connect_retry,
                ));
                self.state = Active;
            }
            (Connect | Active, _) => {}

            (OpenSent, Event::Message(Message::Open(open))) => {
                match negotiate(&self.config.policy, &open) {
                    Ok(n) => {
                        out.push(Action::StopTimer(Timer::ConnectRetry));
                        out.push(Action::Send(Message::Keepalive));
                        if n.hold_time > 0 {
                            let hold = Duration::from_secs(n.hold_time.into());
                            let keepalive = Duration::from_secs(n.keepalive.into());
                            out.push(Action::StartTimer(Timer::Hold, hold));
                            out.push(Action::StartTimer(Timer::Keepalive, keepalive));
                        } else {
                            out.push(Action::StopTimer(Timer::Hold));
                        }
                        self.negotiated = Some(n);
                        self.state = OpenConfirm;
                    }
                    Err(e) => self.fail(&mut out, Some(e.notification), e.reason.to_owned()),
                }
            }
            (OpenSent, Event::TcpFailed) => {
                // RFC 4271 8.2.2: back to Active, wait for the next attempt.
                out.push(Action::Disconnect);
                out.push(Action::StartTimer(
                    Timer::ConnectRetry,
                    self.config.connect_retry,
                ));
                out.push(Action::Down("connection closed in OpenSent".to_owned()));
                self.state = Active;
            }
            (OpenConfirm, Event::Message(Message::Keepalive)) => {
                if let Some(n) = self.negotiated.clone() {
                    if n.hold_time > 0 {
                        out.push(Action::StartTimer(Timer::Hold, secs(n.hold_time)));
                    }
                    self.restarted = false;
                    out.push(Action::Established(n));
                    self.state = Established;
                }
            }
            (Established, Event::Message(Message::Keepalive)) => self.restart_hold(&mut out),
            (Established, Event::Message(Message::Update(u))) => {
                self.restart_hold(&mut out);
                out.push(Action::Received(u));
            }
            (OpenConfirm | Established, Event::TimerExpired(Timer::Keepalive)) => {
                out.push(Action::Send(Message::Keepalive));
                let keepalive = self.negotiated.as_ref().map_or(0, |n| n.keepalive);
                out.push(Action::StartTimer(Timer::Keepalive, secs(keepalive)));
            }
            (_, Event::TimerExpired(Timer::Hold)) => self.fail(
                &mut out,
                Some(Notification::new(code::HOLD_TIMER_EXPIRED, 0)),
                "hold timer expired".to_owned(),
            ),
            (_, Event::Message(Message::Notification(n))) => {
                self.go_idle(&mut out, true, format!("peer sent NOTIFICATION: {n}"))
            }
            (_, Event::Malformed(e)) => {
                let reason = format!("malformed message from peer: {}", e.reason);
                self.fail(&mut out, Some(e.notification), reason)
            }
            (_, Event::TcpFailed) => {
                self.go_idle(&mut out, true, "connection closed by peer".to_owned())
            }
            (_, Event::ConnectionReplaced) => {
                for t in [Timer::Hold, Timer::Keepalive, Timer::ConnectRetry] {
                    out.push(Action::StopTimer(t));
                }
                self.negotiated = None;
                self.state = Active;
            }
            (state, Event::Message(_)) => {
                let subcode = match state {
                    OpenSent => fsm_sub::UNEXPECTED_IN_OPENSENT,
                    OpenConfirm => fsm_sub::UNEXPECTED_IN_OPENCONFIRM,
                    _ => fsm_sub::UNEXPECTED_IN_ESTABLISHED,
                };
                let n = Notification::new(code::FSM, subcode);
                self.fail(
                    &mut out,
                    Some(n),
                    format!("unexpected message in {}", state.as_str()),
                );
            }
            (_, Event::TimerExpired(_) | Event::TcpConnected) => {}
        }
        out
    }

    fn connected(&self) -> bool {
        matches!(
            self.state,
            State::OpenSent | State::OpenConfirm | State::Established
        )
    }

    fn start(&mut self, out: &mut Vec<Action>) {
        if self.config.passive {
            self.state = State::Active;
        } else {
            out.push(Action::Connect);
            out.push(Action::StartTimer(
                Timer::ConnectRetry,
                self.config.connect_retry,
            ));
            self.state = State::Connect;
        }
    }

    fn restart_hold(&self, out: &mut Vec<Action>) {
        if let Some(n) = self.negotiated.as_ref().filter(|n| n.hold_time > 0) {
            out.push(Action::StartTimer(Timer::Hold, secs(n.hold_time)));
        }
    }

    /// An error: tell the peer, close, restart later.
    fn fail(&mut self, out: &mut Vec<Action>, n: Option<Notification>, reason: String) {
        if let Some(n) = n.filter(|_| self.connected()) {
            out.push(Action::Send(Message::Notification(n)));
        }
        self.go_idle(out, true, reason);
    }

    fn go_idle(&mut self, out: &mut Vec<Action>, restart: bool, reason: String) {
        out.push(Action::Disconnect);
        for t in [
            Timer::ConnectRetry,
            Timer::Hold,
            Timer::Keepalive,
            Timer::IdleHold,
        ] {
            out.push(Action::StopTimer(t));
        }
        if restart {
            out.push(Action::StartTimer(Timer::IdleHold, self.config.idle_hold));
        }
        out.push(Action::Down(reason));
        self.negotiated = None;
        self.state = State::Idle;
    }
}

fn secs(s: u16) -> Duration {
    Duration::from_secs(s.into())
}

#[cfg(test)]
mod tests;
