//! Making sure a BPF filesystem is mounted where the pins go.

use std::path::Path;
use std::process::Command;

use crate::error::LoadError;

/// The type name /proc/self/mounts shows for bpffs (read there rather than statfs(2), which
/// would need unsafe).
const BPFFS_TYPE: &str = "bpf";

/// Whether `/proc/self/mounts` lists a bpf filesystem mounted exactly at `path`.
pub fn is_mounted(path: &Path) -> Result<bool, LoadError> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").map_err(|e| LoadError::Bpffs {
        path: path.to_path_buf(),
        reason: format!("reading /proc/self/mounts: {e}"),
    })?;
    let want = path.to_string_lossy();
    // Later lines shadow earlier ones (`ip netns exec` mounts a fresh sysfs over /sys, which
    // hides a bpffs below it), so the last mount at `path` decides.
    let last = mounts
        .lines()
        .rev()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let _dev = f.next()?;
            let mnt = f.next()?;
            let fstype = f.next()?;
            Some((mnt, fstype))
        })
        .find(|(mnt, _)| *mnt == want);
    Ok(matches!(last, Some((_, t)) if t == BPFFS_TYPE))
}

/// Mounts bpffs at `path` unless one is there already. Pins only outlive the agent on a
/// bpffs: a DaemonSet normally bind-mounts the host's /sys/fs/bpf, and this covers hosts (and
/// network-namespace test runs, whose fresh sysfs hides the bpffs) where it is not mounted.
pub fn ensure_mounted(path: &Path) -> Result<(), LoadError> {
    if is_mounted(path)? {
        return Ok(());
    }
    std::fs::create_dir_all(path).map_err(|e| LoadError::Bpffs {
        path: path.to_path_buf(),
        reason: format!("creating the mount point: {e}"),
    })?;
    let out = Command::new("mount")
        .args(["-t", "bpf", "bpf"])
        .arg(path)
        .output()
        .map_err(|e| LoadError::Bpffs {
            path: path.to_path_buf(),
            reason: format!("running mount: {e}"),
        })?;
    if !out.status.success() {
        return Err(LoadError::Bpffs {
            path: path.to_path_buf(),
            reason: format!(
                "mount -t bpf failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(())
}
