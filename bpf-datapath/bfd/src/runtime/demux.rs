//! The receive side of one local endpoint: RFC 5881 GTSM check, decoding, and handing each
//! packet to the session it belongs to (RFC 5880 section 6.8.6, session selection).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Mutex, Weak};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::socket::{self, LocalEndpoint, TTL};
use super::{PeerKey, Table};
use crate::packet::ControlPacket;

pub(super) async fn run(socket: UdpSocket, endpoint: LocalEndpoint, table: Weak<Mutex<Table>>) {
    let mut buf = [0u8; 512];
    loop {
        let received = match socket::recv_with_ttl(&socket, &mut buf).await {
            Ok(received) => received,
            Err(error) => {
                tracing::warn!(%error, local = %endpoint.address, "receiving BFD packet failed");
                // Errors here are rare and usually persistent; do not spin on them.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if received.ttl != Some(TTL) {
            tracing::debug!(source = %received.source, ttl = ?received.ttl, "dropping BFD packet: TTL is not 255 (GTSM)");
            continue;
        }
        let packet = match ControlPacket::decode(&buf[..received.len]) {
            Ok(packet) => packet,
            Err(error) => {
                tracing::debug!(source = %received.source, %error, "dropping BFD packet");
                continue;
            }
        };
        let Some(table) = table.upgrade() else {
            return;
        };
        let inbox = {
            let table = table
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            route(&table, &endpoint, received.source.ip(), &packet)
        };
        match inbox {
            // A session that is this far behind is better served by newer packets later.
            Some(inbox) => drop(inbox.try_send(packet)),
            None => tracing::debug!(
                source = %received.source,
                your_discriminator = packet.your_discriminator,
                "dropping BFD packet: no matching session"
            ),
        }
    }
}

/// Your Discriminator selects the session when set; otherwise the addresses and interface do.
fn route(
    table: &Table,
    endpoint: &LocalEndpoint,
    source: IpAddr,
    packet: &ControlPacket,
) -> Option<mpsc::Sender<ControlPacket>> {
    let key = match NonZeroU32::new(packet.your_discriminator) {
        Some(discriminator) => table.by_discriminator.get(&discriminator)?.clone(),
        None => PeerKey {
            local: endpoint.address,
            remote: source,
            interface: endpoint.interface.clone(),
        },
    };
    let entry = table.peers.get(&key)?;
    // A discriminator names a session, but only that session's peer, on its link, speaks for it.
    (key.remote == source && entry.endpoint == *endpoint).then(|| entry.inbox.clone())
}
