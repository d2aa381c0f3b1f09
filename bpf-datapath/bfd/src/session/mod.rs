//! One BFD session as a pure state machine (RFC 5880 sections 6.2, 6.5, 6.8): no sockets, no
//! clock. The caller passes `now` in, feeds it received packets, asks it for packets to send
//! and wakes it at [`Session::next_wakeup`].

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use crate::packet::{ControlPacket, Diagnostic, SessionState};
use crate::timers::{self, Jitter, SLOW_TX};

#[cfg(test)]
mod tests;

/// The locally configured timer parameters of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// bfd.DesiredMinTxInterval once the session is Up.
    pub desired_min_tx: Duration,
    /// bfd.RequiredMinRxInterval.
    pub required_min_rx: Duration,
    /// bfd.DetectMult (must be at least 1).
    pub detect_mult: u8,
}

/// A change of `bfd.SessionState`, with the diagnostic that explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: SessionState,
    pub to: SessionState,
    pub diagnostic: Diagnostic,
}

/// The state variables of RFC 5880 section 6.8.1, plus the timers that drive them.
#[derive(Debug, Clone)]
pub struct Session {
    config: SessionConfig,
    state: SessionState,
    remote_state: SessionState,
    local_discr: NonZeroU32,
    remote_discr: u32,
    local_diag: Diagnostic,
    remote_min_rx: Duration,
    remote_desired_min_tx: Duration,
    remote_detect_mult: u8,
    remote_demand: bool,
    /// The values carried in our packets (bfd.DesiredMinTxInterval, bfd.RequiredMinRxInterval).
    advertised_tx: Duration,
    advertised_rx: Duration,
    /// The values actually in force; they lag the advertised ones during a Poll Sequence
    /// when changing them at once could make the remote declare us down (section 6.8.3).
    tx_in_use: Duration,
    rx_in_use: Duration,
    poll_active: bool,
    /// Set when a Poll arrived: the Final answering it is due from that instant.
    final_due: Option<Instant>,
    next_tx: Instant,
    /// When the last valid packet arrived; `None` once the detection time has passed.
    last_rx: Option<Instant>,
    jitter: Jitter,
}

impl Session {
    /// A session in state Down that transmits its first packet at once. `jitter_seed`
    /// seeds the transmit jitter (any value; fixed in tests for reproducibility).
    pub fn new(
        config: SessionConfig,
        local_discr: NonZeroU32,
        jitter_seed: u64,
        now: Instant,
    ) -> Self {
        let config = sanitize(config);
        let advertised_tx = config.desired_min_tx.max(SLOW_TX);
        Self {
            config,
            state: SessionState::Down,
            remote_state: SessionState::Down,
            local_discr,
            remote_discr: 0,
            local_diag: Diagnostic::NoDiagnostic,
            remote_min_rx: Duration::from_micros(1),
            remote_desired_min_tx: Duration::ZERO,
            remote_detect_mult: 0,
            remote_demand: false,
            advertised_tx,
            advertised_rx: config.required_min_rx,
            tx_in_use: advertised_tx,
            rx_in_use: config.required_min_rx,
            poll_active: false,
            final_due: None,
            next_tx: now,
            last_rx: None,
            jitter: Jitter::new(jitter_seed),
        }
    }

    pub fn state(&self) -> SessionState {
        self.state
    }

    pub fn remote_state(&self) -> SessionState {
        self.remote_state
    }

    /// bfd.LocalDiag: why the session last changed state.
    pub fn diagnostic(&self) -> Diagnostic {
        self.local_diag
    }

    pub fn local_discriminator(&self) -> NonZeroU32 {
        self.local_discr
    }

    /// bfd.RemoteDiscr; zero until the remote has been heard (and again after it went silent).
    pub fn remote_discriminator(&self) -> u32 {
        self.remote_discr
    }

    pub fn config(&self) -> SessionConfig {
        self.config
    }

    pub fn poll_in_progress(&self) -> bool {
        self.poll_active
    }

    /// The interval between periodic transmissions before jitter (section 6.8.7).
    pub fn tx_interval(&self) -> Duration {
        timers::negotiated_tx(self.tx_in_use, self.remote_min_rx)
    }

    /// The detection time in force, once the remote has been heard.
    pub fn detection_time(&self) -> Option<Duration> {
        (self.remote_detect_mult > 0).then(|| {
            timers::detection_time(
                self.remote_detect_mult,
                self.rx_in_use,
                self.remote_desired_min_tx,
            )
        })
    }

    /// The earliest time at which [`Session::handle_timeout`] or [`Session::poll_transmit`]
    /// has something to do.
    pub fn next_wakeup(&self) -> Option<Instant> {
        let detect = self.detection_deadline();
        let transmit = self
            .final_due
            .or_else(|| self.periodic_enabled().then_some(self.next_tx));
        match (detect, transmit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Section 6.8.6, from "If the A bit is set ..." on: the packet already passed
    /// [`ControlPacket::decode`] and was matched to this session by the caller.
    pub fn handle_packet(&mut self, packet: &ControlPacket, now: Instant) -> Option<Transition> {
        self.remote_discr = packet.my_discriminator;
        self.remote_state = packet.state;
        self.remote_demand = packet.demand;
        self.remote_min_rx = timers::from_wire(packet.required_min_rx_us);
        self.remote_desired_min_tx = timers::from_wire(packet.desired_min_tx_us);
        self.remote_detect_mult = packet.detect_mult;
        if packet.final_ && self.poll_active {
            self.poll_active = false;
            self.tx_in_use = self.advertised_tx;
            self.rx_in_use = self.advertised_rx;
        }
        self.last_rx = Some(now);
        // A faster negotiated rate takes effect now rather than after the old interval.
        let sooner = now + self.tx_interval();
        if self.next_tx > sooner {
            self.next_tx = sooner;
        }
        if self.state == SessionState::AdminDown {
            return None;
        }
        if packet.poll {
            self.final_due = Some(now);
        }
        use SessionState::{AdminDown, Down, Init, Up};
        let next = match (self.state, packet.state) {
            (Down, AdminDown) => None,
            (_, AdminDown) | (Up, Down) => Some((Down, Diagnostic::NeighborSignaledSessionDown)),
            (Down, Down) => Some((Init, self.local_diag)),
            (Down, Init) | (Init, Init | Up) => Some((Up, self.local_diag)),
            _ => None,
        };
        next.map(|(to, diagnostic)| self.transition(to, diagnostic, now))
    }

    /// Section 6.8.4: the detection time passed without a packet from the remote.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Transition> {
        let deadline = self.detection_deadline()?;
        if now < deadline {
            return None;
        }
        self.last_rx = None;
        // Section 6.8.1: the remote discriminator is forgotten with the remote.
        self.remote_discr = 0;
        self.remote_state = SessionState::Down;
        self.remote_min_rx = Duration::from_micros(1);
        self.remote_demand = false;
        match self.state {
            SessionState::Init | SessionState::Up => Some(self.transition(
                SessionState::Down,
                Diagnostic::ControlDetectionTimeExpired,
                now,
            )),
            SessionState::Down | SessionState::AdminDown => None,
        }
    }

    /// The next packet to send, if one is due: a Final answering a Poll at once (section
    /// 6.8.7: without respect to the transmission timer), else a periodic packet, jittered.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<ControlPacket> {
        if self.final_due.take().is_some() {
            return Some(self.packet(false, true));
        }
        if !self.periodic_enabled() || now < self.next_tx {
            return None;
        }
        let random = self.jitter.sample();
        self.next_tx = now + timers::jittered(self.tx_interval(), self.config.detect_mult, random);
        Some(self.packet(self.poll_active, false))
    }

    /// New timer parameters; while Up they are negotiated with a Poll Sequence (section 6.5).
    pub fn set_config(&mut self, config: SessionConfig, now: Instant) {
        self.config = sanitize(config);
        self.apply_local_params(now);
    }

    /// Section 6.8.16: the session goes AdminDown and keeps telling the remote so.
    pub fn set_admin_down(&mut self, now: Instant) -> Option<Transition> {
        (self.state != SessionState::AdminDown).then(|| {
            self.transition(
                SessionState::AdminDown,
                Diagnostic::AdministrativelyDown,
                now,
            )
        })
    }

    /// Leaves AdminDown for Down, from where the session comes up again.
    pub fn set_admin_up(&mut self, now: Instant) -> Option<Transition> {
        (self.state == SessionState::AdminDown)
            .then(|| self.transition(SessionState::Down, Diagnostic::NoDiagnostic, now))
    }

    fn transition(&mut self, to: SessionState, diagnostic: Diagnostic, now: Instant) -> Transition {
        let from = self.state;
        self.state = to;
        self.local_diag = diagnostic;
        self.apply_local_params(now);
        Transition {
            from,
            to,
            diagnostic,
        }
    }

    fn detection_deadline(&self) -> Option<Instant> {
        Some(self.last_rx? + self.detection_time()?)
    }

    /// Section 6.8.7: no periodic packets when the remote asked for none (RequiredMinRx 0) or
    /// runs Demand mode with both ends Up.
    fn periodic_enabled(&self) -> bool {
        let remote_demand_active = self.remote_demand
            && self.state == SessionState::Up
            && self.remote_state == SessionState::Up;
        !self.remote_min_rx.is_zero() && !remote_demand_active
    }

    /// Section 6.8.3: recomputes what to advertise from the configuration and the state, and
    /// starts a Poll Sequence when it changed.
    fn apply_local_params(&mut self, now: Instant) {
        let up = self.state == SessionState::Up;
        let tx = if up {
            self.config.desired_min_tx
        } else {
            self.config.desired_min_tx.max(SLOW_TX)
        };
        let rx = self.config.required_min_rx;
        if tx == self.advertised_tx && rx == self.advertised_rx {
            return;
        }
        // A slower transmit rate, or a faster expected receive rate, only takes effect once the
        // remote has acknowledged it with a Final, or the remote could time us out.
        if !(up && tx > self.tx_in_use) {
            self.tx_in_use = tx;
        }
        if !(up && rx < self.rx_in_use) {
            self.rx_in_use = rx;
        }
        self.advertised_tx = tx;
        self.advertised_rx = rx;
        self.poll_active = true;
        let sooner = now + self.tx_interval();
        if self.next_tx > sooner {
            self.next_tx = sooner;
        }
    }

    /// A packet describing the session now, for sending outside the periodic schedule
    /// (such as the AdminDown notices of a session being removed).
    pub fn announcement(&self) -> ControlPacket {
        self.packet(self.poll_active, false)
    }

    fn packet(&self, poll: bool, final_: bool) -> ControlPacket {
        ControlPacket {
            diagnostic: self.local_diag,
            state: self.state,
            poll,
            final_,
            control_plane_independent: false,
            demand: false,
            detect_mult: self.config.detect_mult,
            my_discriminator: self.local_discr.get(),
            your_discriminator: self.remote_discr,
            desired_min_tx_us: timers::to_wire(self.advertised_tx),
            required_min_rx_us: timers::to_wire(self.advertised_rx),
            required_min_echo_rx_us: 0,
        }
    }
}

/// A zero Detect Mult or transmit interval would put illegal values on the wire.
fn sanitize(mut config: SessionConfig) -> SessionConfig {
    config.detect_mult = config.detect_mult.max(1);
    config.desired_min_tx = config.desired_min_tx.max(Duration::from_micros(1));
    config
}
