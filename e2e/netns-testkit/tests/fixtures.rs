//! The fixtures do what tests rely on: failures say which command failed and why, namespaces
//! vanish even when a test panics, a link carries traffic until cut, and routers started in
//! namespaces peer with each other and are gone once dropped. All but the first need root.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use ferrule_netns_testkit::{Bird, Frr, Link, Netns, eventually, require_root, run};

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

fn namespaces() -> String {
    run("ip", &["netns", "list"])
}

/// Whether any process has `text` in its command line.
fn process_mentions(text: &str) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        std::fs::read(entry.path().join("cmdline"))
            .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(text))
    })
}

#[test]
fn a_failed_command_is_named_with_its_stderr() {
    let payload = catch_unwind(|| run("ls", &["/nonexistent-ftk"])).expect_err("ls fails");
    let message = panic_message(payload);
    assert!(message.contains("ls /nonexistent-ftk failed"), "{message}");
    assert!(message.contains("No such file"), "{message}");
}

#[test]
fn a_namespace_is_deleted_when_the_test_panics() {
    if !require_root() {
        return;
    }
    let mut name = String::new();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let ns = Netns::new("tkp");
        name = ns.name().to_owned();
        assert!(namespaces().contains(&name));
        panic!("the test fails");
    }));
    assert!(outcome.is_err());
    assert!(!name.is_empty());
    assert!(!namespaces().contains(&name), "{name} left behind");
}

#[test]
fn a_link_carries_traffic_until_cut() {
    if !require_root() {
        return;
    }
    let link = Link::new(
        "tkl",
        &["192.0.2.2/24", "2001:db8::2/64"],
        &["192.0.2.1/24"],
    );
    let ping = |target: &str| {
        link.near
            .command("ping")
            .args(["-c", "1", "-W", "1", target])
            .output()
            .expect("ping runs")
            .status
            .success()
    };
    assert!(ping("192.0.2.1"));
    link.cut();
    assert!(!ping("192.0.2.1"));
    link.restore();
    assert!(link.near.ip(&["addr", "show"]).contains("2001:db8::2/64"));
    eventually("the link back", Duration::from_secs(10), || {
        ping("192.0.2.1").then_some(())
    });
}

#[test]
fn frr_and_bird_peer_and_are_gone_after_drop() {
    if !require_root() {
        return;
    }
    let link = Link::new("tkr", &["192.0.2.2/24"], &["192.0.2.1/24"]);
    let frr = Frr::bgpd(
        &link.far,
        "router bgp 65001
 bgp router-id 192.0.2.1
 no bgp ebgp-requires-policy
 neighbor 192.0.2.2 remote-as 65000
 neighbor 192.0.2.2 timers connect 1
",
    );
    let bird = Bird::start(
        &link.near,
        "router id 192.0.2.2;
protocol device {}
protocol bgp frr {
  local 192.0.2.2 as 65000;
  neighbor 192.0.2.1 as 65001;
  connect retry time 1;
  ipv4 { import all; export none; };
}
",
    );
    eventually("bgpd and bird established", Duration::from_secs(30), || {
        (frr.neighbor("192.0.2.2")["bgpState"] == "Established").then_some(())
    });
    assert!(bird.birdc("show protocols frr").contains("Established"));
    let dir = frr.dir().to_string_lossy().into_owned();
    assert!(process_mentions(&dir));
    drop(frr);
    assert!(!process_mentions(&dir), "bgpd still runs");
    assert!(!std::path::Path::new(&dir).exists());
}
