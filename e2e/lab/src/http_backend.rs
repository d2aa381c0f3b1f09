//! The lab's HTTP backends: one small server per backend namespace, on port 8080 of both its
//! addresses, started by `up` as `ferrule-lab serve-http` inside the namespace.
//!
//! Every answer is `<peer> <own>\n`: the source address the backend saw and the address it was
//! reached on. Behind a node's datapath (externalTrafficPolicy Cluster) the peer is the SNAT
//! address of the node that carried the request, so a client learns which node announced the
//! Service IP it used — what the L2 failover tests and benchmark measure.
//!
//! A thread per connection with a read timeout: a connection whose client vanished mid-way
//! (its node stopped announcing) must not hold up the next request.

use crate::addresses::{AddressPlan, Host};
use crate::error::Error;
use std::convert::Infallible;
use std::io::{Read as _, Write as _};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The port every backend listens on (the example EndpointSlice's).
pub const BACKEND_PORT: u16 = 8080;
const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest request head read; the lab's clients send a few dozen bytes.
const MAX_REQUEST: usize = 8 * 1024;

/// The body a backend answers with.
pub fn answer_body(peer: IpAddr, own: IpAddr) -> String {
    format!("{} {}\n", peer.to_canonical(), own.to_canonical())
}

/// `ferrule-lab serve-http`: serves on every address until killed.
pub fn serve(addrs: &[SocketAddr]) -> Result<Infallible, Error> {
    let mut threads = Vec::new();
    for &addr in addrs {
        let listener = TcpListener::bind(addr).map_err(|source| Error::Listen { addr, source })?;
        threads.push(std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || answer(stream));
            }
        }));
    }
    for thread in threads {
        let _ = thread.join();
    }
    Err(Error::Unexpected {
        what: "every listener of serve-http stopped".to_owned(),
    })
}

fn answer(mut stream: TcpStream) {
    let (Ok(peer), Ok(own)) = (stream.peer_addr(), stream.local_addr()) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let body = answer_body(peer.ip(), own.ip());
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// The running backend servers; dropping stops them.
#[derive(Debug, Default)]
pub struct HttpBackends {
    running: Vec<(Host, Child)>,
}

impl HttpBackends {
    /// Starts `exe serve-http` in every backend namespace of `plan`, output to a log each.
    pub fn start(plan: &AddressPlan, exe: &Path, logs: &Path) -> Result<Self, Error> {
        let mut started = Self::default();
        for host in &plan.backends {
            let log = logs.join(format!("http-{}.log", host.namespace));
            let file = std::fs::File::create(&log).map_err(|source| Error::Write {
                path: log.clone(),
                source,
            })?;
            let v4 = SocketAddr::from((host.ipv4, BACKEND_PORT)).to_string();
            let v6 = SocketAddr::from((host.ipv6, BACKEND_PORT)).to_string();
            let child = Command::new("ip")
                .args(["netns", "exec", &host.namespace])
                .arg(exe)
                .args(["serve-http", "--listen", &v4, "--listen", &v6])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(file)
                .spawn()
                .map_err(|source| Error::Spawn {
                    command: format!(
                        "ip netns exec {} {} serve-http",
                        host.namespace,
                        exe.display()
                    ),
                    source,
                })?;
            started.running.push((host.clone(), child));
        }
        Ok(started)
    }

    pub fn stop(&mut self) {
        for (_, child) in &mut self.running {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.running.clear();
    }
}

impl Drop for HttpBackends {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Display for HttpBackends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let listed: Vec<String> = self
            .running
            .iter()
            .map(|(host, _)| {
                format!(
                    "{} {}:{BACKEND_PORT} [{}]:{BACKEND_PORT}",
                    host.namespace, host.ipv4, host.ipv6
                )
            })
            .collect();
        write!(f, "http backends: {}", listed.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead as _;

    #[test]
    fn a_backend_names_the_peer_it_saw_and_its_own_address() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let addr = listener.local_addr().expect("bound");
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || answer(stream));
            }
        });
        // A client that never sends a request does not hold up the next one.
        let _silent = TcpStream::connect(addr).expect("connects");
        let mut stream = TcpStream::connect(addr).expect("connects");
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("request sent");
        let mut lines = std::io::BufReader::new(stream)
            .lines()
            .map_while(Result::ok);
        assert_eq!(lines.next().as_deref(), Some("HTTP/1.1 200 OK"));
        assert_eq!(lines.last().as_deref(), Some("127.0.0.1 127.0.0.1"));
    }
}
