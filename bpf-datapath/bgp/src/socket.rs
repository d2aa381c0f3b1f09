//! Socket setup: source address, TTL and MD5 before connecting; the dual-stack listener.

use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::os::fd::AsFd;

use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::config::PeerConfig;
use crate::md5;

fn set_ttl(s: SockRef<'_>, v6: bool, ttl: u8) -> io::Result<()> {
    if v6 {
        s.set_unicast_hops_v6(ttl.into())
    } else {
        s.set_ttl_v4(ttl.into())
    }
}

/// Sets the TTL (hop limit) on an accepted connection.
pub(crate) fn set_stream_ttl(stream: &TcpStream, ttl: u8) -> io::Result<()> {
    let v6 = stream.local_addr()?.is_ipv6();
    set_ttl(SockRef::from(stream), v6, ttl)
}

/// Connects to the peer: MD5 key and TTL are set and the source address bound before the
/// SYN goes out.
pub(crate) async fn connect(peer: PeerConfig, ttl: Option<u8>) -> io::Result<TcpStream> {
    let remote = SocketAddr::new(peer.address, peer.port);
    let v6 = remote.is_ipv6();
    let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
    let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    s.set_nonblocking(true)?;
    if let Some(ttl) = ttl {
        set_ttl(SockRef::from(&s), v6, ttl)?;
    }
    if let Some(key) = peer.md5_key() {
        md5::set_key(s.as_fd(), v6, peer.address, key)?;
    }
    if let Some(local) = peer.local_address {
        s.bind(&SocketAddr::new(local, 0).into())?;
    }
    let stream = TcpSocket::from_std_stream(std::net::TcpStream::from(s))
        .connect(remote)
        .await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A listener on every address: dual-stack `[::]` when IPv6 is available, else `0.0.0.0`.
/// Returns whether it is an IPv6 socket (MD5 keys must match its family).
pub(crate) fn listen(port: u16) -> io::Result<(TcpListener, bool)> {
    let bind = |v6: bool| -> io::Result<TcpListener> {
        let (domain, addr) = if v6 {
            (
                Domain::IPV6,
                SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
            )
        } else {
            (
                Domain::IPV4,
                SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), port),
            )
        };
        let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
        if v6 {
            s.set_only_v6(false)?;
        }
        s.set_reuse_address(true)?;
        s.set_nonblocking(true)?;
        s.bind(&addr.into())?;
        s.listen(128)?;
        TcpListener::from_std(std::net::TcpListener::from(s))
    };
    match bind(true) {
        Ok(l) => Ok((l, true)),
        Err(_) => bind(false).map(|l| (l, false)),
    }
}
