//! `ferrule-lab http-probe`: HTTP requests to one address in a tight loop, from inside the
//! client namespace, one line per request on stdout:
//!
//! ```text
//! <unix time of the answer, µs> ok <peer the backend saw> <backend>
//! <unix time of the failure, µs> err <reason>
//! ```
//!
//! Each request is a new connection, so each one follows the client's current neighbour
//! entry for the Service IP: the `peer` (the SNAT address of the node that carried it) shows
//! when another node took the IP over. Wall-clock stamps, so that another process (the
//! benchmark, which sends the kill) can relate them to its own events.

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One line of the probe's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeLine {
    pub unix_micros: u128,
    /// The peer the backend saw and the backend's address, or why the request failed.
    pub outcome: Result<(IpAddr, IpAddr), String>,
}

impl ProbeLine {
    pub fn parse(line: &str) -> Option<Self> {
        let mut words = line.splitn(3, ' ');
        let unix_micros = words.next()?.parse().ok()?;
        let outcome = match (words.next()?, words.next().unwrap_or_default()) {
            ("ok", rest) => {
                let (peer, backend) = rest.split_once(' ')?;
                Ok((peer.parse().ok()?, backend.trim().parse().ok()?))
            }
            ("err", reason) => Err(reason.to_owned()),
            _ => return None,
        };
        Some(Self {
            unix_micros,
            outcome,
        })
    }
}

impl std::fmt::Display for ProbeLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.outcome {
            Ok((peer, backend)) => write!(f, "{} ok {peer} {backend}", self.unix_micros),
            Err(reason) => write!(f, "{} err {reason}", self.unix_micros),
        }
    }
}

pub fn unix_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or_default()
}

/// One `GET /` on a new connection, bounded by `timeout` in total; the answer's two
/// addresses (see [`crate::http_backend`]).
pub fn get(addr: SocketAddr, timeout: Duration) -> Result<(IpAddr, IpAddr), String> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let host = match addr.ip() {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut text = String::new();
    stream
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no complete answer")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!(
            "answer {:?}",
            head.lines().next().unwrap_or_default()
        ));
    }
    let (peer, backend) = body.trim().split_once(' ').ok_or("unexpected body")?;
    Ok((
        peer.parse().map_err(|_| "unexpected body")?,
        backend.parse().map_err(|_| "unexpected body")?,
    ))
}

/// Requests forever, `interval` between the end of one and the start of the next.
pub fn run(addr: SocketAddr, interval: Duration, timeout: Duration) -> std::io::Result<()> {
    let stdout = std::io::stdout();
    loop {
        let outcome = get(addr, timeout);
        let line = ProbeLine {
            unix_micros: unix_micros(),
            outcome,
        };
        let mut out = stdout.lock();
        writeln!(out, "{line}")?;
        out.flush()?;
        drop(out);
        std::thread::sleep(interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        for line in [
            "1700000000000000 ok 192.0.2.12 198.51.100.11",
            "1700000000000001 err connection refused (os error 111)",
        ] {
            let parsed = ProbeLine::parse(line).expect("parses");
            assert_eq!(parsed.to_string(), line);
        }
        assert_eq!(ProbeLine::parse("garbage"), None);
    }
}
