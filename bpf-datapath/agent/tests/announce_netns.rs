//! The real announcer on a real kernel: what a neighbour notices at failover.
//!
//! ```text
//!  fl-ans-PID (sender: LinkAnnouncer)             fl-anp-PID (peer: tcpdump, neighbour cache)
//!  s0 02:00:5e:00:0a:01 192.0.2.1 2001:db8::1 ─veth─ p0 192.0.2.2 2001:db8::2
//! ```
//! The peer has cached the service IPs 192.0.2.10 and 2001:db8::10 at an old MAC (as if another
//! node had owned them). The sender announces both on s0; the peer must capture exactly the
//! gratuitous ARP (request and reply form) and the unsolicited NA, and its neighbour cache must
//! then hold s0's MAC for both. In the sender namespace the IPv6 announcement must have joined
//! 2001:db8::10's solicited-node group on s0, and withdrawing the entry must leave it; a
//! restarted announcer must rejoin it from the table alone (`retain`).
//!
//! The parent builds the namespaces and runs the capture; the announcer runs in a re-execution
//! of this binary inside the sender namespace (`ip netns exec`). Needs root.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferrule_agent::Error;
use ferrule_agent::announce::LinkAnnouncer;
use ferrule_agent::responder::Announcer;
use ferrule_bpf_loader::model::ResponderKey;
use ferrule_netns_testkit::{Netns, run};

const ROLE_ENV: &str = "FERRULE_ANNOUNCE_ROLE";
const SENDER_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x0a, 0x01];
const SENDER_MAC_S: &str = "02:00:5e:00:0a:01";
const OLD_MAC_S: &str = "02:00:00:00:00:01";
const VIP4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);

fn ip(args: &[&str]) -> String {
    run("ip", args)
}

/// A namespace whose link-local addresses are usable at once instead of after a second of
/// DAD; deleted on drop (also when the test panics).
fn netns(kind: &str) -> Netns {
    let ns = Netns::new(&format!("fan{kind}-"));
    ns.sysctl("net.ipv6.conf.default.accept_dad=0");
    ns
}

/// The capture: tcpdump killed and its file removed on drop.
struct Capture {
    child: Child,
    file: PathBuf,
}

impl Capture {
    /// Inbound ARP and NA on p0, each handed over and written as it arrives (immediate mode,
    /// -U), not when a capture buffer fills.
    fn start(ns: &str, file: PathBuf) -> Self {
        let mut child = Command::new("ip")
            .args([
                "netns",
                "exec",
                ns,
                "tcpdump",
                "-i",
                "p0",
                "-Q",
                "in",
                "--immediate-mode",
                "-U",
                "-n",
            ])
            .arg("-w")
            .arg(&file)
            .arg("arp or (icmp6 and ip6[40] == 136)")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tcpdump starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let mut capture = Self { child, file };
        for line in BufReader::new(stderr).lines() {
            let line = line.expect("tcpdump output");
            if line.contains("listening on") {
                return capture;
            }
        }
        let _ = capture.child.kill();
        panic!("tcpdump exited before listening");
    }

    /// SIGTERM, so tcpdump closes the file properly (`ip netns exec` exec'd it: same pid).
    fn stop(mut self) -> Vec<Vec<u8>> {
        run("kill", &["-TERM", &self.child.id().to_string()]);
        let _ = self.child.wait();
        let bytes = std::fs::read(&self.file).expect("the capture file");
        pcap_frames(&bytes)
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.file);
    }
}

/// The frames of a classic pcap file (what `tcpdump -w` writes).
fn pcap_frames(bytes: &[u8]) -> Vec<Vec<u8>> {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    assert!(bytes.len() >= 24, "pcap header missing");
    assert!(
        [0xa1b2_c3d4, 0xa1b2_3c4d].contains(&u32_at(0)),
        "a little-endian pcap file"
    );
    assert_eq!(u32_at(20), 1, "Ethernet link type");
    let mut frames = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let len = u32_at(at + 8) as usize;
        frames.push(bytes[at + 16..at + 16 + len].to_vec());
        at += 16 + len;
    }
    frames
}

/// What a frame says, field by field, for readable assertions.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Arp {
        eth_dst: [u8; 6],
        eth_src: [u8; 6],
        op: u16,
        sender: ([u8; 6], Ipv4Addr),
        target: ([u8; 6], Ipv4Addr),
    },
    Na {
        eth_dst: [u8; 6],
        eth_src: [u8; 6],
        hop_limit: u8,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        /// Router, Solicited, Override.
        flags: (bool, bool, bool),
        target: Ipv6Addr,
        /// (type, length in 8-byte units, link-layer address)
        option: (u8, u8, [u8; 6]),
    },
}

fn mac_at(f: &[u8], at: usize) -> [u8; 6] {
    f[at..at + 6].try_into().expect("6 bytes")
}

fn v4_at(f: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::from(<[u8; 4]>::try_from(&f[at..at + 4]).expect("4 bytes"))
}

fn v6_at(f: &[u8], at: usize) -> Ipv6Addr {
    Ipv6Addr::from(<[u8; 16]>::try_from(&f[at..at + 16]).expect("16 bytes"))
}

fn parse(f: &[u8]) -> Seen {
    let ethertype = u16::from_be_bytes([f[12], f[13]]);
    match ethertype {
        0x0806 => {
            assert_eq!(f.len(), 42, "an ARP frame, unpadded: {f:02x?}");
            assert_eq!(&f[14..20], &[0, 1, 8, 0, 6, 4], "Ethernet/IPv4 ARP");
            Seen::Arp {
                eth_dst: mac_at(f, 0),
                eth_src: mac_at(f, 6),
                op: u16::from_be_bytes([f[20], f[21]]),
                sender: (mac_at(f, 22), v4_at(f, 28)),
                target: (mac_at(f, 32), v4_at(f, 38)),
            }
        }
        0x86dd => {
            assert_eq!(f.len(), 86, "an NA with one option: {f:02x?}");
            assert_eq!((f[20], f[54], f[55]), (58, 136, 0), "ICMPv6 NA, code 0");
            assert_eq!(&f[59..62], &[0, 0, 0], "reserved bits zero");
            Seen::Na {
                eth_dst: mac_at(f, 0),
                eth_src: mac_at(f, 6),
                hop_limit: f[21],
                src: v6_at(f, 22),
                dst: v6_at(f, 38),
                flags: (f[58] & 0x80 != 0, f[58] & 0x40 != 0, f[58] & 0x20 != 0),
                target: v6_at(f, 62),
                option: (f[78], f[79], mac_at(f, 80)),
            }
        }
        other => panic!("unexpected ethertype {other:#06x}: {f:02x?}"),
    }
}

/// The peer's cached MAC for `addr`, if any.
fn cached_mac(ns: &str, addr: &str) -> Option<String> {
    let out = ip(&["-n", ns, "neigh", "show", addr, "dev", "p0"]);
    let words: Vec<&str> = out.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "lladdr")?;
    words.get(at + 1).map(|s| s.to_string())
}

#[test]
fn peers_learn_the_new_mac_from_the_announcements() {
    let sender = netns("s");
    let peer = netns("p");
    let (s, p) = (sender.name(), peer.name());
    ip(&[
        "-n",
        s,
        "link",
        "add",
        "s0",
        "address",
        SENDER_MAC_S,
        "type",
        "veth",
        "peer",
        "name",
        "p0",
        "address",
        "02:00:5e:00:0b:01",
        "netns",
        p,
    ]);
    for (ns, dev, v4, v6) in [
        (s, "s0", "192.0.2.1/24", "2001:db8::1/64"),
        (p, "p0", "192.0.2.2/24", "2001:db8::2/64"),
    ] {
        ip(&["-n", ns, "addr", "add", v4, "dev", dev]);
        ip(&["-n", ns, "addr", "add", v6, "dev", dev, "nodad"]);
        ip(&["-n", ns, "link", "set", dev, "up"]);
    }
    // A long-up interface has its multicast route; a new one gets it from addrconf shortly
    // after going up, and until then drops every multicast packet (the NA to ff02::1).
    for (ns, dev) in [(s, "s0"), (p, "p0")] {
        let route = format!("multicast ff00::/8 dev {dev}");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !ip(&["-n", ns, "-6", "route", "show", "table", "local"]).contains(&route) {
            assert!(Instant::now() < deadline, "{dev} never got {route}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    // What a user sees before failover: the service IPs cached at the previous owner's MAC.
    for vip in [VIP4.to_string(), VIP6.to_string()] {
        ip(&[
            "-n", p, "neigh", "replace", &vip, "lladdr", OLD_MAC_S, "dev", "p0", "nud", "stale",
        ]);
        assert_eq!(cached_mac(p, &vip).as_deref(), Some(OLD_MAC_S));
    }

    let file = std::env::temp_dir().join(format!("ferrule-announce-{}.pcap", std::process::id()));
    let capture = Capture::start(p, file);

    let out = Command::new("ip")
        .args(["netns", "exec", s])
        .arg(std::env::current_exe().expect("test binary path"))
        .args([
            "--exact",
            "announcer_in_the_sender_namespace",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE_ENV, "sender")
        .output()
        .expect("ip netns exec runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "sender child failed\n--- stdout\n{stdout}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Anything sent late (a duplicate, a stray frame) would show up in this window, which is
    // also ample for the peer to process what arrived.
    std::thread::sleep(Duration::from_millis(300));
    let seen: Vec<Seen> = capture.stop().iter().map(|f| parse(f)).collect();
    let broadcast = [0xff; 6];
    assert_eq!(
        seen,
        vec![
            Seen::Arp {
                eth_dst: broadcast,
                eth_src: SENDER_MAC,
                op: 1,
                sender: (SENDER_MAC, VIP4),
                target: ([0; 6], VIP4),
            },
            Seen::Arp {
                eth_dst: broadcast,
                eth_src: SENDER_MAC,
                op: 2,
                sender: (SENDER_MAC, VIP4),
                target: (SENDER_MAC, VIP4),
            },
            Seen::Na {
                eth_dst: [0x33, 0x33, 0, 0, 0, 1],
                eth_src: SENDER_MAC,
                hop_limit: 255,
                src: VIP6,
                dst: "ff02::1".parse().expect("ip"),
                flags: (false, false, true),
                target: VIP6,
                option: (2, 1, SENDER_MAC),
            },
        ]
    );

    // What the user notices: the peer now reaches the service IPs at this node's MAC (it
    // also proves the NA's checksum: the kernel drops NAs whose checksum is wrong).
    assert_eq!(
        cached_mac(p, &VIP4.to_string()).as_deref(),
        Some(SENDER_MAC_S)
    );
    assert_eq!(
        cached_mac(p, &VIP6.to_string()).as_deref(),
        Some(SENDER_MAC_S)
    );
}

/// `ip maddr show dev s0` of the current namespace.
fn groups_on_s0() -> String {
    ip(&["maddr", "show", "dev", "s0"])
}

#[test]
#[ignore = "runs only in the sender namespace of peers_learn_the_new_mac_from_the_announcements"]
fn announcer_in_the_sender_namespace() {
    assert_eq!(
        std::env::var(ROLE_ENV).as_deref(),
        Ok("sender"),
        "only peers_learn_the_new_mac_from_the_announcements runs this, in its namespace"
    );
    let ifindex: u32 = std::fs::read_to_string("/sys/class/net/s0/ifindex")
        .expect("s0 exists in this namespace")
        .trim()
        .parse()
        .expect("an ifindex");
    let v4 = ResponderKey {
        ifindex,
        addr: IpAddr::V4(VIP4),
    };
    let v6 = ResponderKey {
        ifindex,
        addr: IpAddr::V6(VIP6),
    };
    let mut announcer = LinkAnnouncer::new().expect("root can open packet sockets");

    assert!(!groups_on_s0().contains("ff02::1:ff00:10"));
    announcer.announce(v4).expect("gratuitous ARP sent");
    announcer.announce(v6).expect("unsolicited NA sent");
    let joined = groups_on_s0();
    assert!(
        joined.contains("inet6 ff02::1:ff00:10") && joined.contains("link  33:33:ff:00:00:10"),
        "solicited-node group of {VIP6} joined on s0:\n{joined}"
    );

    announcer.withdraw(v4).expect("nothing to undo for IPv4");
    announcer.withdraw(v6).expect("group left");
    let left = groups_on_s0();
    assert!(
        !left.contains("ff02::1:ff00:10") && !left.contains("33:33:ff:00:00:10"),
        "solicited-node group of {VIP6} left on s0:\n{left}"
    );

    // A restarted agent adopts the pinned entries: nothing is "added", so it is `retain` that
    // must rejoin the group (and send nothing: the peer sees no more frames).
    let mut restarted = LinkAnnouncer::new().expect("root can open packet sockets");
    let errors = restarted.retain(&BTreeSet::from([v4, v6]));
    assert!(errors.is_empty(), "{errors:?}");
    assert!(groups_on_s0().contains("inet6 ff02::1:ff00:10"));
    let errors = restarted.retain(&BTreeSet::new());
    assert!(errors.is_empty(), "{errors:?}");
    assert!(!groups_on_s0().contains("ff02::1:ff00:10"));

    // An interface that went away: a reported failure naming the entry, not a panic.
    let gone = ResponderKey {
        ifindex: 999_999,
        addr: IpAddr::V4(VIP4),
    };
    match announcer.announce(gone) {
        Err(e @ Error::Announce { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("192.0.2.10") && text.contains("999999"),
                "{text}"
            );
        }
        other => panic!("announcing on a missing interface: {other:?}"),
    }
}
