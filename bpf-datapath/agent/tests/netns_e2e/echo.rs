//! The backend: a TCP and a UDP echo server on each given address. Every answer is
//! "<peer ip> <own ip> <line>", so the client learns which backend it reached and which
//! source address that backend saw (the client's, or the node's after SNAT).
//!
//! One socket per address rather than a wildcard bind: a UDP reply must leave from the
//! address the datagram was sent to, or the datapath could not match it to its flow.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{IpAddr, TcpListener, TcpStream, UdpSocket};

use super::roles::say;

pub const PORT: u16 = 8080;

pub fn answer(peer: IpAddr, own: IpAddr, line: &str) -> String {
    format!(
        "{} {} {}",
        peer.to_canonical(),
        own.to_canonical(),
        line.trim()
    )
}

fn serve_tcp(listener: TcpListener) {
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || serve_connection(stream));
    }
}

/// Answers every line until the client closes: long-lived connections are checked by
/// exchanging lines on them over time.
fn serve_connection(mut stream: TcpStream) {
    let (Ok(peer), Ok(own), Ok(read)) =
        (stream.peer_addr(), stream.local_addr(), stream.try_clone())
    else {
        return;
    };
    for line in BufReader::new(read).lines() {
        let Ok(line) = line else { return };
        if writeln!(stream, "{}", answer(peer.ip(), own.ip(), &line)).is_err() {
            return;
        }
    }
}

fn serve_udp(socket: UdpSocket) {
    let own = socket.local_addr().expect("bound").ip();
    let mut buf = [0u8; 1500];
    loop {
        let Ok((len, peer)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let line = String::from_utf8_lossy(&buf[..len]).into_owned();
        let _ = socket.send_to(answer(peer.ip(), own, &line).as_bytes(), peer);
    }
}

/// Runs until killed.
pub fn serve(ips: &[String]) {
    assert!(!ips.is_empty(), "the echo server needs addresses");
    let mut threads = Vec::new();
    for ip in ips {
        let ip: IpAddr = ip.parse().expect("an IP address");
        let tcp = TcpListener::bind((ip, PORT)).unwrap_or_else(|e| panic!("bind tcp {ip}: {e}"));
        let udp = UdpSocket::bind((ip, PORT)).unwrap_or_else(|e| panic!("bind udp {ip}: {e}"));
        threads.push(std::thread::spawn(move || serve_tcp(tcp)));
        threads.push(std::thread::spawn(move || serve_udp(udp)));
    }
    say("listening");
    for t in threads {
        let _ = t.join();
    }
}
