//! `ferrule-agent state` against maps pinned in bpffs. Needs root (CAP_BPF); fails, never
//! skips, without it.

use std::process::Command;

use ferrule_bpf_common::LB_MAGLEV_M;
use ferrule_bpf_loader::DatapathMaps;
use ferrule_bpf_loader::MapOp;
use ferrule_bpf_loader::datapath::{Datapath, PinLayout};
use ferrule_bpf_loader::kernel::KernelMaps;
use ferrule_bpf_loader::model::{
    Backend, BackendAddr, BackendId, Frontend, MaglevTable, Protocol, ResponderKey, ServiceEntry,
    ServiceId, TrafficPolicy,
};

/// A bpffs directory for this test's pins, removed even when the test fails.
struct PinDir(std::path::PathBuf);

impl Drop for PinDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status readable");
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .expect("Uid line in /proc/self/status");
    assert_eq!(euid, "0", "kernel map tests must run as root");
}

fn state(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrule-agent"))
        .arg("state")
        .arg("--pin-dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("ferrule-agent runs");
    assert!(
        out.status.success(),
        "state failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

#[test]
fn state_prints_the_pinned_maps_as_table_and_json() {
    require_root();
    let pins = PinDir(std::path::PathBuf::from(format!(
        "/sys/fs/bpf/ferrule-state-test-{}",
        std::process::id()
    )));
    // Pinned exactly as the run mode pins them; `state --pin-dir D` reads D/maps.
    let layout = PinLayout::new(&pins.0);
    let datapath = Datapath::load(&layout).expect("the datapath loads and pins its maps");
    drop(datapath);
    let mut maps = KernelMaps::open_pinned(&layout.maps_dir()).expect("pinned maps open");
    let backend = Backend {
        addr: BackendAddr {
            addr: "10.0.0.1".parse().expect("ip"),
            port: 8080,
        },
        remote: false,
    };
    for op in [
        MapOp::UpdateBackend(BackendId(1), backend),
        MapOp::UpdateMaglev(
            ServiceId(1),
            MaglevTable(vec![BackendId(1); LB_MAGLEV_M as usize]),
        ),
        MapOp::UpdateFrontend(
            Frontend {
                addr: "192.0.2.10".parse().expect("ip"),
                port: 80,
                protocol: Protocol::Tcp,
            },
            ServiceEntry {
                id: ServiceId(1),
                policy: TrafficPolicy::Local,
                backend_count: 1,
            },
        ),
        MapOp::UpdateResponder(ResponderKey {
            ifindex: 1,
            addr: "192.0.2.10".parse().expect("ip"),
        }),
    ] {
        maps.apply(op).expect("map operation applies");
    }

    let table = state(&pins.0, &[]);
    assert!(
        table.contains("192.0.2.10:80/TCP"),
        "table lists the frontend:\n{table}"
    );
    assert!(table.contains("10.0.0.1:8080  local"), "{table}");
    assert!(
        table.contains("PROGRAM       PACKETS  BYTES  DROPS\nl2_responder  0"),
        "per-program counters are listed:\n{table}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&state(&pins.0, &["-o", "json"])).expect("valid JSON");
    assert_eq!(json["services"][0]["policy"], "Local");
    assert_eq!(json["services"][0]["backends"], serde_json::json!([1]));
    assert_eq!(json["responders"][0]["addr"], "192.0.2.10");
    assert_eq!(json["programs"][1]["program"], "lb");
}

#[test]
fn state_fails_loudly_when_nothing_is_pinned() {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrule-agent"))
        .args(["state", "--pin-dir", "/nonexistent/ferrule"])
        .output()
        .expect("ferrule-agent runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("lb_frontends"));
}
