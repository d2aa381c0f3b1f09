//! The speaker alone, for its own memory and CPU: this benchmark binary re-run with
//! [`CHILD_FLAG`] in the node namespace runs a bare [`ferrule_bgp_speaker::Speaker`] with
//! the same peers and routes as the agent had (no Kubernetes, no datapath), until its stdin
//! closes.

use std::io::Read as _;
use std::net::IpAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ferrule_bgp_speaker::{Family, GlobalConfig, PeerConfig, Route, Speaker};

use crate::routers::{Link, NODE_V4};

/// Runs the child instead of the benchmark. Arguments after it: the route count, then the
/// peers' addresses.
pub const CHILD_FLAG: &str = "--speaker-only-child";

/// The child process, killed on drop.
pub struct SpeakerOnly {
    child: Child,
}

impl SpeakerOnly {
    pub fn start(link: &Link, routes: usize, peers: &[String]) -> Self {
        let exe = std::env::current_exe().expect("current exe");
        let child = Command::new("ip")
            .args(["netns", "exec", link.near.name()])
            .arg(exe)
            .arg(CHILD_FLAG)
            .arg(routes.to_string())
            .args(peers)
            .stdin(Stdio::piped())
            .spawn()
            .expect("speaker child starts");
        Self { child }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for SpeakerOnly {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The child's main: `args` are the ones after [`CHILD_FLAG`].
pub fn child_main(args: &[String]) {
    let count: usize = args[0].parse().expect("route count");
    let peers: Vec<IpAddr> = args[1..]
        .iter()
        .map(|a| a.parse().expect("peer address"))
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let speaker = Speaker::new(GlobalConfig {
            asn: 65000,
            router_id: NODE_V4.parse().expect("router id"),
            listen_port: None,
        })
        .expect("speaker");
        let configs = peers
            .iter()
            .map(|&address| {
                let mut peer = PeerConfig::new(address.to_string(), address, Some(65001));
                peer.families = vec![Family::Ipv6Unicast];
                peer.next_hop_v6 = "2001:db8::2".parse().ok();
                peer.connect_retry = Duration::from_secs(1);
                peer
            })
            .collect();
        let errors = speaker.apply_peers(configs);
        assert!(errors.is_empty(), "{errors:?}");
        let routes: Vec<Route> = (0..count)
            .map(|i| {
                let prefix = format!("{}/128", crate::objects::Objects::lb_ip(i));
                Route::new(prefix.parse().expect("prefix"))
            })
            .collect();
        for &peer in &peers {
            speaker.set_routes(peer, routes.clone());
        }
        // Parked until the parent closes stdin (or kills us).
        tokio::task::spawn_blocking(|| {
            let _ = std::io::stdin().read(&mut [0u8; 1]);
        })
        .await
        .expect("stdin reader");
        speaker.shutdown().await;
    });
}
