//! Interop against FRR bgpd and BIRD 2 in network namespaces (needs root; fails without it
//! when CI=true). The test binary doubles as the speaker child process (`--child`), so a
//! test can SIGSTOP or kill the speaker. Tests run in parallel threads, each in its own
//! namespaces; pass substrings to select tests.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

#[path = "support/child_main.rs"]
mod child_main;
mod support;

use std::time::Duration;

use ferrule_netns_testkit::{Bird, Frr, is_root};

use support::child::{SpeakerProc, field};
use support::netns::Lab;
use support::{eventually, never};

const T: Duration = Duration::from_secs(20);

fn frr_config(neighbors: &str, extra_v4: &str, extra_v6: &str) -> String {
    format!(
        "router bgp 65001
 bgp router-id 192.0.2.1
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 no bgp network import-check
 bgp graceful-restart
{neighbors}
 address-family ipv4 unicast
  network 198.51.100.128/25
{extra_v4}
 exit-address-family
 address-family ipv6 unicast
{extra_v6}
 exit-address-family
"
    )
}

fn established(frr: &Frr, addr: &str) {
    eventually(&format!("FRR established with {addr}"), T, || {
        (neighbor_state(frr, addr) == "Established").then_some(())
    });
}

/// FRR's `bgpState` for the neighbor at `addr` ("" when it has none).
fn neighbor_state(frr: &Frr, addr: &str) -> String {
    frr.neighbor(addr)["bgpState"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

fn path_text(frr: &Frr, afi: &str, prefix: &str) -> Option<String> {
    frr.paths(afi, prefix).first().map(|p| p.to_string())
}

/// eBGP over IPv4 and IPv6 transport: next hops, AS_PATH, communities, withdrawals,
/// received-route counts, and a family without a next hop reported in status.
fn frr_ebgp_ipv4_and_ipv6_transport() {
    let lab = Lab::new("e");
    let neighbors = " neighbor 192.0.2.2 remote-as 65000
 neighbor 192.0.2.2 timers connect 1
 neighbor 2001:db8::2 remote-as 65000
 neighbor 2001:db8::2 timers connect 1";
    let frr = Frr::bgpd(
        &lab.router,
        &frr_config(
            neighbors,
            "  neighbor 192.0.2.2 activate",
            "  neighbor 192.0.2.2 activate\n  neighbor 2001:db8::2 activate",
        ),
    );
    let mut spk = SpeakerProc::start(
        &lab.speaker,
        &[
            "asn=65000",
            "id=192.0.2.2",
            "peer=192.0.2.1,asn=65001,retry=1",
            "peer=2001:db8::1,asn=65001,retry=1,fam=6",
        ],
    );
    spk.send("routes 192.0.2.1 203.0.113.0/24,c=65000:100+no-export,l=65000:1:2 203.0.113.128/25 2001:db8:200::/48");
    spk.send("routes 2001:db8::1 2001:db8:100::/48,c=65000:200");
    established(&frr, "192.0.2.2");
    established(&frr, "2001:db8::2");

    let p = eventually("203.0.113.0/24 in FRR", T, || {
        frr.paths("ipv4", "203.0.113.0/24").first().cloned()
    });
    assert_eq!(p["nexthops"][0]["ip"], "192.0.2.2", "{p}");
    assert_eq!(p["aspath"]["string"], "65000", "{p}");
    assert_eq!(p["community"]["string"], "65000:100 no-export", "{p}");
    assert_eq!(p["largeCommunity"]["string"], "65000:1:2", "{p}");
    let p = eventually("2001:db8:100::/48 in FRR", T, || {
        frr.paths("ipv6", "2001:db8:100::/48").first().cloned()
    });
    assert_eq!(p["nexthops"][0]["ip"], "2001:db8::2", "{p}");
    assert_eq!(p["community"]["string"], "65000:200", "{p}");
    // IPv6 was negotiated on the IPv4 session, but it has no IPv6 next hop to offer.
    assert!(frr.paths("ipv6", "2001:db8:200::/48").is_empty());
    let s = eventually("FRR's route counted", T, || {
        let s = spk.status("192.0.2.1");
        (field(&s, "rcv4") == Some("1")).then_some(s)
    });
    assert!(s.contains(" established "), "{s}");
    assert_eq!(
        (field(&s, "hold"), field(&s, "ka")),
        (Some("90"), Some("30")),
        "{s}"
    );
    assert_eq!(
        (field(&s, "adv4"), field(&s, "adv6"), field(&s, "skipped6")),
        (Some("2"), Some("0"), Some("1")),
        "{s}"
    );

    spk.send("routes 192.0.2.1 203.0.113.0/24,c=65000:100+no-export,l=65000:1:2");
    eventually("203.0.113.128/25 withdrawn", T, || {
        frr.paths("ipv4", "203.0.113.128/25")
            .is_empty()
            .then_some(())
    });
    assert!(path_text(&frr, "ipv4", "203.0.113.0/24").is_some());
}

/// iBGP with BIRD: LOCAL_PREF (given and default), empty AS_PATH, communities, withdrawal.
fn bird_ibgp_local_preference_and_communities() {
    let lab = Lab::new("b");
    let bird = Bird::start(
        &lab.router,
        "router id 192.0.2.1;
protocol device {}
protocol bgp spk {
  local 192.0.2.1 as 65000;
  neighbor 192.0.2.2 as 65000;
  direct;
  connect retry time 1;
  ipv4 { import all; export none; };
}
",
    );
    let mut spk = SpeakerProc::start(
        &lab.speaker,
        &[
            "asn=65000",
            "id=192.0.2.2",
            "peer=192.0.2.1,asn=65000,retry=1,fam=4",
            "route=192.0.2.1@203.0.113.0/24,lp=200,c=65000:100+no-advertise,l=65000:1:2",
            "route=192.0.2.1@198.51.100.0/24",
        ],
    );
    let out = eventually("route in BIRD", T, || {
        let out = bird.birdc("show route 203.0.113.0/24 all");
        out.contains("BGP.local_pref").then_some(out)
    });
    assert!(out.contains("BGP.local_pref: 200"), "{out}");
    assert!(out.contains("BGP.next_hop: 192.0.2.2"), "{out}");
    assert!(
        out.contains("BGP.as_path: \n")
            || out.contains("BGP.as_path:\n")
            || !out.contains("BGP.as_path: 65000"),
        "{out}"
    );
    assert!(
        out.contains("(65000,100)") && out.contains("(65535,65282)"),
        "{out}"
    );
    assert!(out.contains("(65000, 1, 2)"), "{out}");
    let out = bird.birdc("show route 198.51.100.0/24 all");
    assert!(out.contains("BGP.local_pref: 100"), "{out}");

    spk.send("routes 192.0.2.1 203.0.113.0/24,lp=200,c=65000:100+no-advertise,l=65000:1:2");
    eventually("198.51.100.0/24 withdrawn from BIRD", T, || {
        (!bird
            .birdc("show route 198.51.100.0/24")
            .contains("198.51.100.0/24"))
        .then_some(())
    });
    let s = spk.status("192.0.2.1");
    assert_eq!(field(&s, "adv4"), Some("1"), "{s}");
}

/// TCP MD5: the right password establishes, a wrong one never does.
fn frr_md5_right_and_wrong_password() {
    let lab = Lab::new("m");
    let neighbors = " neighbor 192.0.2.2 remote-as 65000
 neighbor 192.0.2.2 password s3cret
 neighbor 192.0.2.2 timers connect 1
 neighbor 192.0.2.3 remote-as 65000
 neighbor 192.0.2.3 password s3cret
 neighbor 192.0.2.3 timers connect 1";
    let frr = Frr::bgpd(
        &lab.router,
        &frr_config(
            neighbors,
            "  neighbor 192.0.2.2 activate\n  neighbor 192.0.2.3 activate",
            "",
        ),
    );
    let _good = SpeakerProc::start(
        &lab.speaker,
        &[
            "asn=65000",
            "id=192.0.2.2",
            "peer=192.0.2.1,asn=65001,retry=1,fam=4,local=192.0.2.2,md5=s3cret",
        ],
    );
    let mut bad = SpeakerProc::start(
        &lab.speaker,
        &[
            "asn=65000",
            "id=192.0.2.3",
            "peer=192.0.2.1,asn=65001,retry=1,fam=4,local=192.0.2.3,md5=wrong",
        ],
    );
    established(&frr, "192.0.2.2");
    never(
        "established with the wrong password",
        Duration::from_secs(4),
        || {
            neighbor_state(&frr, "192.0.2.3") == "Established"
                || bad.status("192.0.2.1").contains(" established ")
        },
    );
}

/// A frozen speaker stops sending keepalives: FRR drops it when the hold timer expires.
fn frr_hold_timer_expires_when_the_speaker_is_frozen() {
    let lab = Lab::new("h");
    let neighbors = " neighbor 192.0.2.2 remote-as 65000
 neighbor 192.0.2.2 timers 1 3
 neighbor 192.0.2.2 timers connect 1";
    let frr = Frr::bgpd(
        &lab.router,
        &frr_config(neighbors, "  neighbor 192.0.2.2 activate", ""),
    );
    let spk = SpeakerProc::start(
        &lab.speaker,
        &[
            "asn=65000",
            "id=192.0.2.2",
            "peer=192.0.2.1,asn=65001,retry=1,hold=3,fam=4",
        ],
    );
    established(&frr, "192.0.2.2");
    // Established for longer than the hold time: keepalives flow.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(neighbor_state(&frr, "192.0.2.2"), "Established");
    spk.signal("-STOP");
    eventually(
        "FRR drops the frozen speaker",
        Duration::from_secs(10),
        || (neighbor_state(&frr, "192.0.2.2") != "Established").then_some(()),
    );
    let n = frr.vtysh("show bgp neighbors 192.0.2.2 json");
    assert!(n.contains("Hold Timer Expired"), "{n}");
    spk.signal("-CONT");
}

/// Graceful restart: FRR keeps our routes (stale) while we restart within restartTime,
/// refreshes them when we come back, and drops them when we do not.
fn frr_graceful_restart() {
    let lab = Lab::new("g");
    let neighbors = " neighbor 192.0.2.2 remote-as 65000
 neighbor 192.0.2.2 timers connect 1";
    let frr = Frr::bgpd(
        &lab.router,
        &frr_config(neighbors, "  neighbor 192.0.2.2 activate", ""),
    );
    let args = [
        "asn=65000",
        "id=192.0.2.2",
        "peer=192.0.2.1,asn=65001,retry=1,gr=6,fam=4",
        "route=192.0.2.1@203.0.113.0/24",
    ];
    let stale =
        |frr: &Frr| path_text(frr, "ipv4", "203.0.113.0/24").map(|p| p.contains("\"stale\":true"));

    let spk = SpeakerProc::start(&lab.speaker, &args);
    eventually("route in FRR", T, || {
        (stale(&frr) == Some(false)).then_some(())
    });
    spk.kill();
    eventually("route kept as stale", T, || {
        (stale(&frr) == Some(true)).then_some(())
    });

    let spk = SpeakerProc::start(&lab.speaker, &args);
    established(&frr, "192.0.2.2");
    eventually("route fresh again", T, || {
        (stale(&frr) == Some(false)).then_some(())
    });
    let n = frr.json("show bgp neighbors 192.0.2.2 json");
    let gr = &n["192.0.2.2"]["gracefulRestartInfo"];
    // The restarted speaker set the R bit, kept forwarding (F bit) and announced its time.
    assert_eq!(gr["rBit"], true, "{gr}");
    assert_eq!(gr["ipv4Unicast"]["fBit"], true, "{gr}");
    assert_eq!(gr["timers"]["receivedRestartTimer"], 6, "{gr}");

    spk.kill();
    eventually("route stale after the second restart", T, || {
        (stale(&frr) == Some(true)).then_some(())
    });
    // Half the restart time later it is still there...
    never(
        "route dropped before restartTime",
        Duration::from_secs(3),
        || stale(&frr).is_none(),
    );
    eventually("route dropped after restartTime", T, || {
        stale(&frr).is_none().then_some(())
    });
}

/// Passive mode: we only listen; FRR connects to us.
fn frr_connects_to_a_passive_speaker() {
    let lab = Lab::new("p");
    let neighbors = " neighbor 192.0.2.2 remote-as 65000
 neighbor 192.0.2.2 timers connect 1";
    let frr = Frr::bgpd(
        &lab.router,
        &frr_config(neighbors, "  neighbor 192.0.2.2 activate", ""),
    );
    let mut spk = SpeakerProc::start(
        &lab.speaker,
        &[
            "asn=65000",
            "id=192.0.2.2",
            "listen=179",
            "peer=192.0.2.1,asn=65001,passive,fam=4",
            "route=192.0.2.1@203.0.113.0/24",
        ],
    );
    established(&frr, "192.0.2.2");
    let n = frr.json("show bgp neighbors 192.0.2.2 json");
    // FRR opened the connection: its local port is ephemeral, ours is 179.
    assert_eq!(n["192.0.2.2"]["portForeign"], 179, "{n}");
    eventually("route in FRR", T, || {
        (!frr.paths("ipv4", "203.0.113.0/24").is_empty()).then_some(())
    });
    assert!(spk.status("192.0.2.1").contains(" established "));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        child_main::run(&args[1..]);
        return;
    }
    let tests: [(&str, fn()); 6] = [
        (
            "frr_ebgp_ipv4_and_ipv6_transport",
            frr_ebgp_ipv4_and_ipv6_transport,
        ),
        (
            "bird_ibgp_local_preference_and_communities",
            bird_ibgp_local_preference_and_communities,
        ),
        (
            "frr_md5_right_and_wrong_password",
            frr_md5_right_and_wrong_password,
        ),
        (
            "frr_hold_timer_expires_when_the_speaker_is_frozen",
            frr_hold_timer_expires_when_the_speaker_is_frozen,
        ),
        ("frr_graceful_restart", frr_graceful_restart),
        (
            "frr_connects_to_a_passive_speaker",
            frr_connects_to_a_passive_speaker,
        ),
    ];
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    if !is_root() {
        if std::env::var("CI").as_deref() == Ok("true") {
            eprintln!("interop tests need root (network namespaces)");
            std::process::exit(1);
        }
        eprintln!("interop tests skipped: not root");
        return;
    }
    let selected: Vec<_> = tests
        .into_iter()
        .filter(|(n, _)| filters.is_empty() || filters.iter().any(|f| n.contains(f.as_str())))
        .collect();
    let started = std::time::Instant::now();
    let handles: Vec<_> = selected
        .into_iter()
        .map(|(name, f)| {
            (
                name,
                std::thread::spawn(move || std::panic::catch_unwind(f).is_ok()),
            )
        })
        .collect();
    let mut failed = 0;
    for (name, h) in handles {
        let ok = h.join().unwrap_or(false);
        eprintln!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        failed += usize::from(!ok);
    }
    eprintln!(
        "interop: {failed} failed, {:.1}s",
        started.elapsed().as_secs_f64()
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
