//! What every lab test needs: root, the binaries the lab starts, a state directory of its own.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};

pub const LAB: &str = env!("CARGO_BIN_EXE_ferrule-lab");

/// The lab tests create network namespaces, so they need root. They fail (never skip)
/// without it: CI runs as root, and a skipped lab test would hide a broken main job.
pub fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs is mounted");
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|uids| uids.split_whitespace().nth(1))
        .expect("/proc/self/status has a Uid: line");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert_eq!(
        euid,
        "0",
        "the lab tests need root (network namespaces, veth links); run `cargo test -p \
         ferrule-lab` as root{}",
        if ci {
            " — CI=true, so this must not be skipped"
        } else {
            ""
        }
    );
}

/// The lab starts the ferrule binaries it finds next to itself; a test of what they do
/// needs them built.
pub fn require_built(binaries: &[&str]) {
    for binary in binaries {
        let path = Path::new(LAB).with_file_name(binary);
        assert!(
            path.is_file(),
            "{} is missing: the lab starts only the ferrule binaries built next to it; run \
             `cargo build --bins -p ferrule-lbipam -p ferrule-l2announce -p ferrule-agent -p ferrule-bgp` \
             before `cargo test -p ferrule-lab`",
            path.display()
        );
    }
}

/// A state directory for the lab of test `name`, under cargo's per-target temp dir.
pub fn state_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("lab-{name}"))
}
