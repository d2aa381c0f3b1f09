//! Fixtures for root tests: a veth link between our namespace and the router's (from
//! ferrule-netns-testkit), FRR's bfdd running in the router's, and threads moved into a
//! namespace with a Tokio runtime of their own. Everything is torn down by Drop, also on panic.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::net::IpAddr;
use std::time::{Duration, Instant};

use ferrule_netns_testkit::{Frr, Link, Netns};

pub use ferrule_netns_testkit::require_root;

pub const OUR_V4: &str = "192.0.2.1";
pub const THEIR_V4: &str = "192.0.2.2";
pub const OUR_V6: &str = "2001:db8::1";
pub const THEIR_V6: &str = "2001:db8::2";

pub fn ip(text: &str) -> IpAddr {
    text.parse().expect("a valid address constant")
}

/// Our namespace (`near`) and the router's (`far`): ours .1 / ::1, theirs .2 / ::2.
pub fn link(prefix: &str) -> Link {
    Link::new(
        prefix,
        &[&format!("{OUR_V4}/24"), &format!("{OUR_V6}/64")],
        &[&format!("{THEIR_V4}/24"), &format!("{THEIR_V6}/64")],
    )
}

/// Runs `body` on a fresh thread (so namespace switches never leak into the test harness's
/// threads) inside a current-thread Tokio runtime.
pub fn on_own_thread<F, Fut>(body: F)
where
    F: FnOnce() -> Fut + Send,
    Fut: std::future::Future<Output = ()>,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio runtime");
                // `body` itself may create sockets, which need the runtime.
                let _context = runtime.enter();
                let future = body();
                runtime.block_on(future);
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    });
}

/// Runs `body` on a fresh thread that first moves into network namespace `netns`.
pub fn enter_netns_then<F, Fut>(netns: &Netns, body: F)
where
    F: FnOnce() -> Fut + Send,
    Fut: std::future::Future<Output = ()>,
{
    on_own_thread(|| {
        netns.enter();
        body()
    });
}

/// FRR's bfdd, standalone, in the router's namespace.
#[derive(Debug)]
pub struct Bfdd(Frr);

impl Bfdd {
    /// `peers` are (peer address, local address) pairs, all with `interval_ms` x `mult`.
    pub fn start(netns: &Netns, peers: &[(&str, &str)], interval_ms: u32, mult: u8) -> Self {
        let mut config = String::from("bfd\n");
        for (peer, local) in peers {
            config.push_str(&format!(
                " peer {peer} local-address {local}\n  receive-interval {interval_ms}\n  \
                 transmit-interval {interval_ms}\n  detect-multiplier {mult}\n !\n"
            ));
        }
        config.push_str("!\n");
        Self(Frr::bfdd(netns, &config))
    }

    /// Polls FRR's view of `peer` until `check` holds, or panics with the last view.
    pub async fn wait_for_peer(
        &self,
        peer: &str,
        what: &str,
        check: impl Fn(&serde_json::Value) -> bool,
    ) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let view = self.0.bfd_peer(peer);
            if check(&view) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "FRR never showed {what}; last: {view:#}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
