//! Reading the node's routing table with iproute2's JSON output (`ip -j route`), and following
//! its changes (and the interface addresses') with `ip monitor route address` plus a periodic
//! re-read as a safety net.

use super::{DefaultGateways, Route, default_gateways};
use crate::driver::LocalState;
use crate::error::Error;
use ferrule_bgp_speaker::Prefix;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::watch;

/// Reads routes of the main table, in the current network namespace or a named one.
#[derive(Clone, Debug, Default)]
pub struct RouteReader {
    netns: Option<String>,
}

impl RouteReader {
    /// Routes of the namespace this process runs in.
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes of the named network namespace (as `ip netns` lists it).
    pub fn in_netns(name: impl Into<String>) -> Self {
        Self {
            netns: Some(name.into()),
        }
    }

    fn ip(&self) -> Command {
        let mut command = Command::new("ip");
        if let Some(netns) = &self.netns {
            command.args(["-n", netns]);
        }
        command.kill_on_drop(true);
        command
    }

    /// IPv4 and IPv6 routes of the main table.
    pub async fn routes(&self) -> Result<Vec<Route>, Error> {
        let mut routes = Vec::new();
        for family in ["-4", "-6"] {
            let output = self
                .run(&["-j", family, "route", "show", "table", "main"])
                .await?;
            routes.extend(parse_ip_routes(&output)?);
        }
        Ok(routes)
    }

    /// The current default gateways.
    pub async fn default_gateways(&self) -> Result<DefaultGateways, Error> {
        Ok(default_gateways(&self.routes().await?))
    }

    /// The addresses of every interface (for `Interface` advertisements).
    pub async fn interface_addresses(&self) -> Result<BTreeMap<String, Vec<IpAddr>>, Error> {
        let output = self.run(&["-j", "addr", "show"]).await?;
        parse_ip_addresses(&output)
    }

    /// The default gateways and interface addresses together.
    pub async fn local_state(&self) -> Result<LocalState, Error> {
        Ok(LocalState {
            default_gateways: self.default_gateways().await?,
            interface_addresses: self.interface_addresses().await?,
        })
    }

    /// Follows [`Self::local_state`]: re-reads whenever `ip monitor route address` reports a
    /// change, and every `poll` regardless (a monitor that died must not freeze the value).
    /// Feed the receiver to [`crate::driver::Driver::start`]. The task ends when every
    /// receiver is dropped.
    pub async fn watch(
        self,
        poll: Duration,
    ) -> Result<(watch::Receiver<LocalState>, tokio::task::JoinHandle<()>), Error> {
        let (sender, receiver) = watch::channel(self.local_state().await?);
        let task = tokio::spawn(async move {
            let mut monitor = self.monitor();
            let mut ticker = tokio::time::interval(poll);
            loop {
                let changed = async {
                    match monitor.as_mut() {
                        Some((_child, lines)) => lines.next_line().await.ok().flatten().is_some(),
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    alive = changed => {
                        if !alive {
                            tracing::warn!("ip monitor ended; polling routes and addresses only");
                            monitor = None;
                        }
                    }
                    _ = ticker.tick() => {}
                    () = sender.closed() => return,
                }
                match self.local_state().await {
                    Ok(state) => {
                        sender.send_if_modified(|current| {
                            let changed = *current != state;
                            *current = state;
                            changed
                        });
                    }
                    Err(error) => tracing::warn!(%error, "reading routes and addresses"),
                }
            }
        });
        Ok((receiver, task))
    }

    async fn run(&self, args: &[&str]) -> Result<String, Error> {
        let output = self
            .ip()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|source| Error::RunIp { source })?;
        if !output.status.success() {
            return Err(Error::IpFailed {
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// `ip monitor route` and its output lines, or `None` when it cannot be started. The
    /// child is killed when dropped (with the watch task).
    fn monitor(&self) -> Option<(Child, Lines<BufReader<ChildStdout>>)> {
        let mut command = self.ip();
        command
            .args(["monitor", "route", "address"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        match command.spawn() {
            Ok(mut child) => {
                let stdout = child.stdout.take()?;
                Some((child, BufReader::new(stdout).lines()))
            }
            Err(error) => {
                tracing::warn!(%error, "starting ip monitor route");
                None
            }
        }
    }
}

#[derive(Deserialize)]
struct IpInterface {
    ifname: String,
    #[serde(default)]
    addr_info: Vec<IpAddressInfo>,
}

#[derive(Deserialize)]
struct IpAddressInfo {
    local: Option<String>,
}

/// Parses `ip -j addr show` output into interface name → addresses.
pub fn parse_ip_addresses(json: &str) -> Result<BTreeMap<String, Vec<IpAddr>>, Error> {
    if json.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let parsed: Vec<IpInterface> =
        serde_json::from_str(json).map_err(|source| Error::ParseRoutes { source })?;
    Ok(parsed
        .into_iter()
        .map(|interface| {
            let addresses = interface
                .addr_info
                .iter()
                .filter_map(|a| a.local.as_deref()?.parse().ok())
                .collect();
            (interface.ifname, addresses)
        })
        .collect())
}

#[derive(Deserialize)]
struct IpRoute {
    dst: String,
    gateway: Option<String>,
    metric: Option<u32>,
    #[serde(default)]
    nexthops: Vec<IpNexthop>,
}

#[derive(Deserialize)]
struct IpNexthop {
    gateway: Option<String>,
}

/// Parses `ip -j route show` output; a multipath route yields one route per next hop.
/// `default` is the family's /0 (told apart by the gateway, or IPv4 when there is none).
pub fn parse_ip_routes(json: &str) -> Result<Vec<Route>, Error> {
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    let parsed: Vec<IpRoute> =
        serde_json::from_str(json).map_err(|source| Error::ParseRoutes { source })?;
    let mut routes = Vec::new();
    for route in parsed {
        let gateways: Vec<Option<IpAddr>> = if route.nexthops.is_empty() {
            vec![route.gateway.as_deref().and_then(|g| g.parse().ok())]
        } else {
            route
                .nexthops
                .iter()
                .map(|n| n.gateway.as_deref().and_then(|g| g.parse().ok()))
                .collect()
        };
        for gateway in gateways {
            let destination = if route.dst == "default" {
                let unspecified: IpAddr = match gateway {
                    Some(IpAddr::V6(_)) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
                    _ => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                };
                Prefix::new(unspecified, 0).ok()
            } else {
                route.dst.parse().ok()
            };
            if let Some(destination) = destination {
                routes.push(Route {
                    destination,
                    gateway,
                    metric: route.metric.unwrap_or(0),
                });
            }
        }
    }
    Ok(routes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_multipath_and_ipv6_output() -> Result<(), Error> {
        let v4 = r#"[{"dst":"default","gateway":"192.0.2.1","dev":"eth0","metric":200,"flags":[]},
            {"dst":"default","metric":100,"flags":[],"nexthops":[
                {"gateway":"198.51.100.1","dev":"eth1","weight":1,"flags":[]},
                {"gateway":"198.51.100.2","dev":"eth1","weight":1,"flags":[]}]},
            {"dst":"192.0.2.0/24","dev":"eth0","protocol":"kernel","scope":"link","prefsrc":"192.0.2.2","flags":[]}]"#;
        let routes = parse_ip_routes(v4)?;
        assert_eq!(routes.len(), 4);
        assert_eq!(
            default_gateways(&routes).ipv4,
            Some(std::net::Ipv4Addr::new(198, 51, 100, 1))
        );
        let v6 = r#"[{"dst":"2001:db8::/64","dev":"eth0","metric":256,"flags":[]},
            {"dst":"default","gateway":"2001:db8::1","dev":"eth0","metric":1024,"flags":[]}]"#;
        let routes = parse_ip_routes(v6)?;
        assert_eq!(routes[1].destination.to_string(), "::/0");
        assert_eq!(default_gateways(&routes).ipv6, "2001:db8::1".parse().ok());
        assert_eq!(parse_ip_routes("")?, Vec::new());
        Ok(())
    }

    #[test]
    fn parses_interface_addresses() -> Result<(), Error> {
        let json = r#"[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK"],"addr_info":[
            {"family":"inet","local":"127.0.0.1","prefixlen":8},
            {"family":"inet6","local":"::1","prefixlen":128}]},
            {"ifindex":2,"ifname":"eth0","addr_info":[]}]"#;
        let addresses = parse_ip_addresses(json)?;
        assert_eq!(
            addresses["lo"],
            [
                "127.0.0.1".parse::<IpAddr>().expect("an address"),
                "::1".parse().expect("an address")
            ]
        );
        assert!(addresses["eth0"].is_empty());
        Ok(())
    }

    #[test]
    fn garbage_is_an_error_not_a_crash() {
        assert!(matches!(
            parse_ip_routes("{not json"),
            Err(Error::ParseRoutes { .. })
        ));
    }
}
