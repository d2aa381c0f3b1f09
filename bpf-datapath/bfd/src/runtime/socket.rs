//! The sockets of RFC 5881 (single hop): one receiver per local address on port 3784 that
//! reports each datagram's TTL / hop limit, and one sender per session, bound to a source
//! port in 49152-65535, that sends with TTL 255.

use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket as StdUdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{
    self, AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType, SockaddrStorage,
    sockopt,
};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// RFC 5881 section 4: Control packets go to this port.
pub const CONTROL_PORT: u16 = 3784;
/// RFC 5881 section 4: the source port range for Control packets.
pub const SOURCE_PORTS: std::ops::RangeInclusive<u16> = 49152..=65535;
/// RFC 5881 section 5 (GTSM, RFC 5082): sent with, and required on receipt.
pub const TTL: u8 = 255;

/// Where a session's sockets live: a local address and, optionally, the interface it is
/// on (needed for IPv6 link-local addresses, and to pin single-hop traffic to one link).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LocalEndpoint {
    pub address: IpAddr,
    pub interface: Option<String>,
}

impl LocalEndpoint {
    fn socket_addr(&self, port: u16) -> io::Result<SocketAddr> {
        Ok(match self.address {
            IpAddr::V4(ip) => SocketAddr::V4(SocketAddrV4::new(ip, port)),
            IpAddr::V6(ip) => SocketAddr::V6(SocketAddrV6::new(ip, port, 0, self.scope_id()?)),
        })
    }

    /// The interface index when a link-local IPv6 address needs one, else 0.
    pub fn scope_id(&self) -> io::Result<u32> {
        match (&self.interface, self.address) {
            (Some(name), IpAddr::V6(ip)) if ip.is_unicast_link_local() => {
                nix::net::if_::if_nametoindex(name.as_str()).map_err(io::Error::from)
            }
            _ => Ok(0),
        }
    }

    fn new_socket(&self) -> io::Result<OwnedFd> {
        let family = match self.address {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        let fd = socket::socket(
            family,
            SockType::Datagram,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            None,
        )?;
        if let Some(name) = &self.interface {
            socket::setsockopt(&fd, sockopt::BindToDevice, &name.into())?;
        }
        Ok(fd)
    }
}

fn bind(fd: OwnedFd, addr: SocketAddr) -> io::Result<UdpSocket> {
    socket::bind(fd.as_raw_fd(), &SockaddrStorage::from(addr))?;
    UdpSocket::from_std(StdUdpSocket::from(fd))
}

/// The socket on port 3784 of one local endpoint, shared by every session on it.
pub fn receiver(local: &LocalEndpoint) -> io::Result<UdpSocket> {
    let fd = local.new_socket()?;
    // Several ferrule processes (or restarts racing the old one) may bind the same port.
    socket::setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    match local.address {
        IpAddr::V4(_) => socket::setsockopt(&fd, sockopt::Ipv4RecvTtl, &true)?,
        IpAddr::V6(_) => {
            socket::setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
            socket::setsockopt(&fd, sockopt::Ipv6RecvHopLimit, &true)?;
        }
    }
    bind(fd, local.socket_addr(CONTROL_PORT)?)
}

/// A session's sending socket. `start` picks where the search for a free source port in
/// [`SOURCE_PORTS`] begins, so that sessions do not all probe the same ports.
pub fn sender(local: &LocalEndpoint, start: u16) -> io::Result<UdpSocket> {
    let span = SOURCE_PORTS.end() - SOURCE_PORTS.start() + 1;
    let mut last_error = None;
    for offset in 0..span {
        let port = SOURCE_PORTS.start() + (start.wrapping_add(offset) % span);
        let fd = local.new_socket()?;
        match local.address {
            IpAddr::V4(_) => socket::setsockopt(&fd, sockopt::Ipv4Ttl, &i32::from(TTL))?,
            IpAddr::V6(_) => {
                socket::setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
                socket::setsockopt(&fd, sockopt::Ipv6Ttl, &i32::from(TTL))?;
            }
        }
        match bind(fd, local.socket_addr(port)?) {
            Ok(socket) => return Ok(socket),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::from(io::ErrorKind::AddrInUse)))
}

/// One received datagram with the TTL (IPv4) or hop limit (IPv6) it arrived with.
#[derive(Debug)]
pub struct Received {
    pub len: usize,
    pub source: SocketAddr,
    pub ttl: Option<u8>,
}

/// Receives one datagram into `buf`, reading the TTL from the control messages.
pub async fn recv_with_ttl(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<Received> {
    socket
        .async_io(Interest::READABLE, || {
            let mut control = nix::cmsg_space!(i32);
            let mut iov = [io::IoSliceMut::new(buf)];
            let msg = socket::recvmsg::<SockaddrStorage>(
                socket.as_raw_fd(),
                &mut iov,
                Some(&mut control),
                MsgFlags::empty(),
            )?;
            let ttl = msg.cmsgs()?.find_map(|cmsg| match cmsg {
                ControlMessageOwned::Ipv4Ttl(ttl) | ControlMessageOwned::Ipv6HopLimit(ttl) => {
                    u8::try_from(ttl).ok()
                }
                _ => None,
            });
            let source = msg
                .address
                .and_then(|a| {
                    a.as_sockaddr_in()
                        .map(|v4| SocketAddr::from((v4.ip(), v4.port())))
                        .or_else(|| {
                            a.as_sockaddr_in6()
                                .map(|v6| SocketAddr::from((v6.ip(), v6.port())))
                        })
                })
                .ok_or_else(|| io::Error::other("datagram without a source address"))?;
            Ok(Received {
                len: msg.bytes,
                source,
                ttl,
            })
        })
        .await
}
