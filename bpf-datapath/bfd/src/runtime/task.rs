//! The task that drives one [`Session`]: feeds it packets and time, sends what it asks for,
//! and publishes its state.

use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;

use super::socket::{CONTROL_PORT, LocalEndpoint};
use super::{Command, PeerKey, PeerStatus, StateChange};
use crate::packet::{ControlPacket, SessionState};
use crate::session::{Session, Transition};

/// AdminDown packets sent when a session is removed, and their spacing: enough for the
/// peer to hear one despite a lost packet, short enough not to hold up a removal.
const FAREWELL_PACKETS: u32 = 3;
const FAREWELL_SPACING: Duration = Duration::from_millis(50);

pub(super) struct SessionTask {
    pub key: PeerKey,
    pub session: Session,
    pub sender: UdpSocket,
    pub destination: SocketAddr,
    pub inbox: mpsc::Receiver<ControlPacket>,
    pub commands: mpsc::Receiver<Command>,
    pub status: watch::Sender<PeerStatus>,
    pub events: broadcast::Sender<StateChange>,
}

pub(super) fn destination(endpoint: &LocalEndpoint, remote: IpAddr) -> io::Result<SocketAddr> {
    Ok(match remote {
        IpAddr::V4(ip) => SocketAddr::V4(SocketAddrV4::new(ip, CONTROL_PORT)),
        IpAddr::V6(ip) => {
            let scope = if ip.is_unicast_link_local() {
                LocalEndpoint {
                    address: remote,
                    interface: endpoint.interface.clone(),
                }
                .scope_id()?
            } else {
                0
            };
            SocketAddr::V6(SocketAddrV6::new(ip, CONTROL_PORT, 0, scope))
        }
    })
}

async fn sleep_until(wake: Option<std::time::Instant>) {
    match wake {
        Some(at) => tokio::time::sleep_until(Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

pub(super) async fn run(mut task: SessionTask) {
    let mut down_count = 0;
    loop {
        let wake = task.session.next_wakeup();
        tokio::select! {
            command = task.commands.recv() => match command {
                Some(Command::Reconfigure(config)) => {
                    task.session.set_config(config, Instant::now().into_std());
                }
                None => {
                    task.farewell(down_count).await;
                    return;
                }
            },
            Some(packet) = task.inbox.recv() => {
                let transition = task.session.handle_packet(&packet, Instant::now().into_std());
                task.publish(transition, &mut down_count);
            }
            () = sleep_until(wake) => {}
        }
        let now = Instant::now().into_std();
        let transition = task.session.handle_timeout(now);
        task.publish(transition, &mut down_count);
        while let Some(packet) = task.session.poll_transmit(now) {
            task.send(&packet).await;
        }
        task.update_status(down_count);
    }
}

impl SessionTask {
    fn publish(&mut self, transition: Option<Transition>, down_count: &mut u64) {
        let Some(Transition {
            from,
            to,
            diagnostic,
        }) = transition
        else {
            return;
        };
        if from == SessionState::Up {
            *down_count += 1;
        }
        tracing::info!(peer = %self.key, %from, %to, ?diagnostic, "BFD session state changed");
        // Publishing the status before the event lets a subscriber that reacts to the event
        // read a status that already agrees with it.
        self.update_status(*down_count);
        let _no_subscribers_is_fine = self.events.send(StateChange {
            peer: self.key.clone(),
            from,
            to,
            diagnostic,
            at: Instant::now(),
        });
    }

    fn update_status(&self, down_count: u64) {
        let fresh = PeerStatus::of(self.key.clone(), &self.session, down_count);
        self.status.send_if_modified(|current| {
            let changed = *current != fresh;
            if changed {
                *current = fresh;
            }
            changed
        });
    }

    async fn send(&self, packet: &ControlPacket) {
        if let Err(error) = self
            .sender
            .send_to(&packet.encode(), self.destination)
            .await
        {
            // Expected while the link is down; detection is what reports the failure.
            tracing::debug!(peer = %self.key, %error, "sending BFD packet failed");
        }
    }

    /// RFC 5880 section 6.8.16: tell the peer we are going away on purpose.
    async fn farewell(&mut self, mut down_count: u64) {
        let transition = self.session.set_admin_down(Instant::now().into_std());
        self.publish(transition, &mut down_count);
        let goodbye = self.session.announcement();
        for n in 0..FAREWELL_PACKETS {
            if n > 0 {
                tokio::time::sleep(FAREWELL_SPACING).await;
            }
            self.send(&goodbye).await;
        }
    }
}
