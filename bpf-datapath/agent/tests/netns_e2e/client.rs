//! The client: a process in the client namespace that opens and uses connections on command,
//! so a scenario can keep TCP connections open across agent restarts and backend changes.
//!
//! Commands (stdin, one per line), each answered by one marked line "ok <text>" or
//! "err <reason>":
//! - `open <id> <addr>`: connect a TCP socket;
//! - `send <id> <text>`: one exchange on an open connection, answer is the echoed line;
//! - `tcp <addr> <text>`: connect, one exchange, close;
//! - `udp <addr> <text>`: one datagram from a socket connected to `addr`; the answer must come
//!   from `addr` itself (a connected socket drops anything else, so a reply not translated
//!   back to the VIP is never seen).

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Lines, Write as _};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::{ChildStdin, ChildStdout, Stdio};
use std::time::Duration;

use super::roles::{Owned, next_marked, reexec, say};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

struct Conn {
    write: TcpStream,
    read: BufReader<TcpStream>,
}

fn open(addr: SocketAddr) -> Result<Conn, String> {
    let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(ANSWER_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let read = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
    Ok(Conn {
        write: stream,
        read,
    })
}

fn exchange(conn: &mut Conn, text: &str) -> Result<String, String> {
    writeln!(conn.write, "{text}").map_err(|e| e.to_string())?;
    let mut line = String::new();
    match conn.read.read_line(&mut line) {
        Ok(0) => Err("connection closed".into()),
        Ok(_) => Ok(line.trim().to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

fn udp(addr: SocketAddr, text: &str) -> Result<String, String> {
    let local: SocketAddr = if addr.is_ipv4() {
        "0.0.0.0:0".parse().expect("literal")
    } else {
        "[::]:0".parse().expect("literal")
    };
    let socket = UdpSocket::bind(local).map_err(|e| e.to_string())?;
    socket.connect(addr).map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(ANSWER_TIMEOUT))
        .map_err(|e| e.to_string())?;
    socket.send(text.as_bytes()).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 1500];
    let (len, from) = socket.recv_from(&mut buf).map_err(|e| e.to_string())?;
    if from != addr {
        return Err(format!("answer from {from}, not {addr}"));
    }
    Ok(String::from_utf8_lossy(&buf[..len]).trim().to_owned())
}

fn parse_addr(s: Option<&str>) -> Result<SocketAddr, String> {
    s.ok_or("missing address")?
        .parse()
        .map_err(|e| format!("address: {e}"))
}

fn run_command(conns: &mut BTreeMap<String, Conn>, line: &str) -> Result<String, String> {
    let mut words = line.splitn(3, ' ');
    let verb = words.next().unwrap_or_default();
    let (first, rest) = (words.next(), words.next().unwrap_or_default());
    match verb {
        "open" => {
            let id = first.ok_or("missing id")?;
            let conn = open(parse_addr(Some(rest))?)?;
            conns.insert(id.to_owned(), conn);
            Ok(String::new())
        }
        "send" => {
            let conn = conns
                .get_mut(first.ok_or("missing id")?)
                .ok_or("no such connection")?;
            exchange(conn, rest)
        }
        "tcp" => exchange(&mut open(parse_addr(first)?)?, rest),
        "udp" => udp(parse_addr(first)?, rest),
        other => Err(format!("unknown command {other:?}")),
    }
}

/// The `client` role: serves commands until stdin closes.
pub fn serve() {
    let mut conns = BTreeMap::new();
    for line in std::io::stdin().lines() {
        let Ok(line) = line else { break };
        match run_command(&mut conns, line.trim()) {
            Ok(text) => say(&format!("ok {text}")),
            Err(e) => say(&format!("err {e}")),
        }
    }
}

/// The node side's handle on a client process.
pub struct Session {
    _child: Owned,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Session {
    pub fn start(client_ns: &str) -> Self {
        let mut child = Owned(
            reexec(client_ns, "client", &[])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("client process starts"),
        );
        let stdin = child.0.stdin.take().expect("piped stdin");
        let lines = BufReader::new(child.0.stdout.take().expect("piped stdout")).lines();
        Self {
            _child: child,
            stdin,
            lines,
        }
    }

    /// Sends one command and waits for its answer (bounded by the client's own timeouts).
    /// Blocks: called from the node side's async code through `block_in_place`.
    fn request(&mut self, command: &str) -> Result<String, String> {
        tokio::task::block_in_place(|| {
            writeln!(self.stdin, "{command}").expect("client stdin");
            let mut skipped = Vec::new();
            let answer = next_marked(&mut self.lines, &mut skipped)
                .unwrap_or_else(|| panic!("client process ended: {skipped:?}"));
            match answer.split_once(' ').unwrap_or((answer.as_str(), "")) {
                ("ok", text) => Ok(text.to_owned()),
                ("err", reason) => Err(reason.to_owned()),
                _ => panic!("client answered {answer:?}"),
            }
        })
    }

    pub fn open(&mut self, id: &str, addr: SocketAddr) -> Result<(), String> {
        self.request(&format!("open {id} {addr}")).map(|_| ())
    }

    pub fn send(&mut self, id: &str, text: &str) -> Result<String, String> {
        self.request(&format!("send {id} {text}"))
    }

    pub fn tcp(&mut self, addr: SocketAddr, text: &str) -> Result<String, String> {
        self.request(&format!("tcp {addr} {text}"))
    }

    pub fn udp(&mut self, addr: SocketAddr, text: &str) -> Result<String, String> {
        self.request(&format!("udp {addr} {text}"))
    }
}

/// An echo answer split into (peer the backend saw, backend address, echoed text).
pub fn parse_answer(answer: &str) -> (String, String, String) {
    let mut parts = answer.splitn(3, ' ');
    let mut next = || parts.next().unwrap_or_default().to_owned();
    (next(), next(), next())
}
