//! The FRR routers' configuration and the polling that times the routes' arrival in their
//! RIBs (each poll is one cheap `vtysh` summary per router).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::routers::{Frr, NODE_V4};

/// Between two polls of the routers.
const POLL: Duration = Duration::from_millis(50);

/// bgpd at `addr` (AS 65001) taking IPv6 unicast routes from the node over IPv4.
pub fn bgpd_conf(addr: &str) -> String {
    format!(
        "router bgp 65001
 bgp router-id {addr}
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 neighbor {NODE_V4} remote-as 65000
 neighbor {NODE_V4} timers connect 1
 address-family ipv6 unicast
  neighbor {NODE_V4} activate
 exit-address-family
"
    )
}

/// bfdd at `addr` with a 100 ms x 3 session to the node (down until the agent enables BFD).
pub fn bfdd_conf(addr: &str) -> String {
    format!(
        "bfd
 peer {NODE_V4} local-address {addr}
  receive-interval 100
  transmit-interval 100
  detect-multiplier 3
 !
!
"
    )
}

/// The routers, each with its address.
#[derive(Clone)]
pub struct Poll {
    frrs: Arc<Vec<(String, Frr)>>,
}

/// The IPv6 unicast prefixes `frr` holds from the node, when the session is established.
fn received(frr: &Frr) -> Option<u64> {
    let summary = frr.json("show bgp ipv6 unicast summary json");
    let peer = &summary["peers"][NODE_V4];
    (peer["state"] == "Established").then(|| peer["pfxRcd"].as_u64().unwrap_or(0))
}

impl Poll {
    pub fn new(frrs: Arc<Vec<(String, Frr)>>) -> Self {
        Self { frrs }
    }

    /// Starts polling now, on a blocking thread, until each router in `routers` holds
    /// exactly `count` routes from the node over an established session; resolves to the
    /// first poll that saw it, or an error after `within`.
    pub fn until_later(
        &self,
        routers: &[usize],
        count: usize,
        within: Duration,
    ) -> impl Future<Output = Result<Instant, String>> + use<> {
        let (frrs, routers) = (self.frrs.clone(), routers.to_vec());
        let polling = tokio::task::spawn_blocking(move || {
            let deadline = Instant::now() + within;
            loop {
                let counts: Vec<_> = routers.iter().map(|&k| received(&frrs[k].1)).collect();
                if counts.iter().all(|c| *c == Some(count as u64)) {
                    return Ok(Instant::now());
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "routers {routers:?} never all held {count} routes within {within:?}: {counts:?}"
                    ));
                }
                std::thread::sleep(POLL);
            }
        });
        async move { polling.await.expect("poller thread") }
    }

    /// [`Self::until_later`], panicking with `context()` on a timeout.
    pub async fn until(
        &self,
        routers: &[usize],
        count: usize,
        within: Duration,
        context: impl Fn() -> String,
    ) {
        if let Err(e) = self.until_later(routers, count, within).await {
            panic!("{e}\n{}", context());
        }
    }

    /// Waits until every router's BFD session with the node is up.
    pub async fn until_bfd_up(&self, within: Duration) {
        let frrs = self.frrs.clone();
        tokio::task::spawn_blocking(move || {
            let deadline = Instant::now() + within;
            while !frrs
                .iter()
                .all(|(_, frr)| frr.bfd_peer(NODE_V4)["status"] == "up")
            {
                assert!(Instant::now() < deadline, "BFD never came up everywhere");
                std::thread::sleep(POLL);
            }
        })
        .await
        .expect("BFD poller");
    }
}
