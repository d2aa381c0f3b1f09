//! What a host on the LAN learns by ARP / NDP: who answers for an IP, and each node's MAC.

use crate::error::Error;
use std::net::IpAddr;
use std::process::Command;

/// The link-layer addresses (lowercase) that answered one ARP request (IPv4, `arping`) or
/// Neighbor Solicitation (IPv6, `ndisc6`) for `ip`, sent from `namespace` on `dev`. Waits the
/// tool's whole timeout, so a second answer is seen too.
///
/// Probes for different IPs may run side by side; two for the same IP must not, since
/// ndisc6's socket would take the other probe's answer for its own.
pub fn resolve(namespace: &str, dev: &str, ip: IpAddr) -> Result<Vec<String>, Error> {
    let ip_text = ip.to_string();
    let (tool, args, marker): (&str, Vec<&str>, &str) = if ip.is_ipv6() {
        // -m: every answer within the wait, not only the first.
        (
            "ndisc6",
            vec!["-m", "-n", "-r", "1", "-w", "1000", &ip_text, dev],
            "Target link-layer address: ",
        )
    } else {
        (
            "arping",
            vec!["-c", "1", "-w", "1", "-i", dev, &ip_text],
            " bytes from ",
        )
    };
    let output = Command::new("ip")
        .args(["netns", "exec", namespace, tool])
        .args(&args)
        .output()
        .map_err(|source| Error::Spawn {
            command: tool.to_owned(),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let macs: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.split_once(marker))
        .filter_map(|(_, rest)| rest.split_whitespace().next())
        .map(str::to_ascii_lowercase)
        .collect();
    // Both tools exit nonzero exactly when nothing answered; anything else means their
    // output is not what the parsing above expects.
    if output.status.success() == macs.is_empty() {
        return Err(Error::Unexpected {
            what: format!(
                "{tool} {args:?} exited {} with output:\n{stdout}{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ),
        });
    }
    Ok(macs)
}

/// The MAC address of `dev` in `namespace`, lowercase.
pub fn mac(namespace: &str, dev: &str) -> Result<String, Error> {
    let text = crate::command::ip_in(namespace, &["-j", "link", "show", dev])?;
    let links: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Unexpected {
        what: format!("ip -j link show {dev} in {namespace}: {e}"),
    })?;
    links[0]["address"]
        .as_str()
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| Error::Unexpected {
            what: format!("{dev} in {namespace} has no address: {text}"),
        })
}
