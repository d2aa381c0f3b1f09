//! The root check, done up front so a missing privilege is one clear sentence instead of an
//! `ip` error halfway through building the topology.

use crate::error::Error;
use std::path::Path;

/// Fails unless the process runs with effective uid 0.
pub fn require_root() -> Result<(), Error> {
    match effective_uid()? {
        0 => Ok(()),
        euid => Err(Error::NotRoot { euid }),
    }
}

/// The effective uid, read from procfs: std offers no safe `geteuid`, and the crate forbids
/// `unsafe`.
pub fn effective_uid() -> Result<u32, Error> {
    let path = Path::new("/proc/self/status");
    let status = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_effective_uid(&status).ok_or_else(|| Error::Read {
        path: path.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "no Uid: line"),
    })
}

/// `Uid:` lists real, effective, saved and filesystem uid; the second one decides.
fn parse_effective_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|uids| uids.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_effective_uid_is_the_second_field() {
        let status = "Name:\tferrule-lab\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
        assert_eq!(parse_effective_uid(status), Some(0));
        assert_eq!(parse_effective_uid("Name:\tx\n"), None);
    }
}
