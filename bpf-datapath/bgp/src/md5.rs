//! TCP MD5 signatures (RFC 2385) through the Linux `TCP_MD5SIG` socket option.
//!
//! No safe crate exposes this option, so this is the one module of the crate allowed unsafe
//! code: a single `setsockopt` call. Everything it passes is built safely first.
#![allow(unsafe_code)]

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

/// The longest key Linux accepts (TCP_MD5SIG_MAXKEYLEN).
pub const MAX_KEY_LEN: usize = 80;

/// `struct tcp_md5sig` from `<linux/tcp.h>`; the address is a `sockaddr_storage` kept as
/// bytes so it can be filled without unsafe code.
#[repr(C, align(8))]
struct TcpMd5Sig {
    addr: [u8; 128],
    flags: u8,
    prefix_len: u8,
    key_len: u16,
    ifindex: i32,
    key: [u8; MAX_KEY_LEN],
}

/// Writes `peer` as a `sockaddr_in`/`sockaddr_in6` matching the socket's family. An IPv4
/// peer on an IPv6 socket is given as its v4-mapped address, which Linux stores as an IPv4 key.
fn sockaddr_bytes(peer: IpAddr, v6_socket: bool) -> [u8; 128] {
    let mut out = [0u8; 128];
    match (peer, v6_socket) {
        (IpAddr::V4(a), false) => {
            out[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
            out[4..8].copy_from_slice(&a.octets());
        }
        (peer, _) => {
            let a = match peer {
                IpAddr::V4(a) => a.to_ipv6_mapped(),
                IpAddr::V6(a) => a,
            };
            out[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
            out[8..24].copy_from_slice(&a.octets());
        }
    }
    out
}

/// Installs (or, with an empty key, removes) the MD5 key for connections to/from `peer` on a
/// socket. Must be done before `connect` or on the listening socket before the peer connects.
pub fn set_key(fd: BorrowedFd<'_>, v6_socket: bool, peer: IpAddr, key: &[u8]) -> io::Result<()> {
    if key.len() > MAX_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "TCP MD5 key longer than 80 bytes",
        ));
    }
    let mut sig = TcpMd5Sig {
        addr: sockaddr_bytes(peer, v6_socket),
        flags: 0,
        prefix_len: 0,
        key_len: key.len() as u16,
        ifindex: 0,
        key: [0; MAX_KEY_LEN],
    };
    sig.key[..key.len()].copy_from_slice(key);
    // SAFETY: `fd` is a valid open socket for the borrow's lifetime; the pointer and length
    // describe `sig`, a live, fully initialised `#[repr(C)]` value laid out as the kernel's
    // `struct tcp_md5sig` (128-byte address storage, u8, u8, u16, int, 80-byte key); the
    // kernel only reads it during the call.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_MD5SIG,
            (&raw const sig).cast::<libc::c_void>(),
            std::mem::size_of::<TcpMd5Sig>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn struct_matches_the_kernel_layout() {
        assert_eq!(std::mem::size_of::<TcpMd5Sig>(), 216);
    }

    #[test]
    fn keys_install_and_remove_on_both_families() {
        let v4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        set_key(v4.as_fd(), false, "192.0.2.1".parse().unwrap(), b"secret").unwrap();
        set_key(v4.as_fd(), false, "192.0.2.1".parse().unwrap(), b"").unwrap();
        if let Ok(v6) = std::net::TcpListener::bind("[::1]:0") {
            set_key(v6.as_fd(), true, "2001:db8::1".parse().unwrap(), b"secret").unwrap();
            set_key(v6.as_fd(), true, "192.0.2.1".parse().unwrap(), b"secret").unwrap();
        }
        let long = [b'x'; 81];
        let err = set_key(v4.as_fd(), false, "192.0.2.1".parse().unwrap(), &long).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_mismatched_family_is_refused_by_the_kernel() {
        let v4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(set_key(v4.as_fd(), true, "2001:db8::1".parse().unwrap(), b"k").is_err());
    }
}
