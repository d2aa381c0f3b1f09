//! HTTP from the client namespace, with curl, the way a user on the LAN would check a VIP.

use crate::error::Error;
use std::net::IpAddr;

/// `curl http://ip:port/` from `namespace`; the answer's two addresses: the peer the backend
/// saw (the SNAT address of the node that carried the request) and the backend's own (see
/// [`crate::http_backend`]). Bounded by `max_time_seconds`.
pub fn get(
    namespace: &str,
    ip: IpAddr,
    port: u16,
    max_time_seconds: f64,
) -> Result<(IpAddr, IpAddr), Error> {
    let url = match ip {
        IpAddr::V4(v4) => format!("http://{v4}:{port}/"),
        IpAddr::V6(v6) => format!("http://[{v6}]:{port}/"),
    };
    let max_time = max_time_seconds.to_string();
    let body = crate::command::run(
        "ip",
        &[
            "netns",
            "exec",
            namespace,
            "curl",
            "-sS",
            "--max-time",
            &max_time,
            &url,
        ],
    )?;
    let unexpected = || Error::Unexpected {
        what: format!("{url} answered {body:?}"),
    };
    let (peer, backend) = body.trim().split_once(' ').ok_or_else(unexpected)?;
    Ok((
        peer.parse().map_err(|_| unexpected())?,
        backend.parse().map_err(|_| unexpected())?,
    ))
}
