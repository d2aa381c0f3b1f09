use std::process::Command;

/// Whether this process runs as root.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// Whether a root test can run: `true` as root; otherwise it says it skips and returns
/// `false`, except under `CI=true`, where a skipped test would hide a broken setup.
///
/// # Panics
/// Without root when `CI=true`.
pub fn require_root() -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "this test needs root (network namespaces) and CI=true"
    );
    eprintln!("skipping: needs root");
    false
}
