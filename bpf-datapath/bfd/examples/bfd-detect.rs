//! Detection-time benchmark (needs root): a session with FRR's bfdd at 100 ms x 3 across a
//! veth link in network namespaces; the link is cut N times and the time from the cut to our
//! Down event is measured.
//!
//! `cargo run -p ferrule-bfd --example bfd-detect --release [-- N]`

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Duration;

use common::{Bfdd, OUR_V4, THEIR_V4, ip};
use ferrule_bfd::{Bfd, PeerSpec, SessionState};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{Instant, timeout};

const INTERVAL: Duration = Duration::from_millis(100);
const MULT: u8 = 3;

fn main() {
    let cuts: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    if !common::require_root() {
        return;
    }
    let link = common::link("bd");
    let bfdd = Bfdd::start(&link.far, &[(OUR_V4, THEIR_V4)], 100, MULT);
    let mut samples = Vec::with_capacity(cuts);
    common::enter_netns_then(&link.near, || async {
        let bfd = Bfd::new();
        let mut events = bfd.subscribe();
        let mut status = bfd
            .add_peer(PeerSpec::new(ip(OUR_V4), ip(THEIR_V4)).timers(INTERVAL, MULT))
            .expect("add peer");
        println!("{:>4} {:>14} {:>10}", "cut", "detection ms", "diag");
        for n in 0..cuts {
            timeout(
                Duration::from_secs(30),
                status.wait_for(|s| {
                    s.state == SessionState::Up && s.detection_time == Some(INTERVAL * 3)
                }),
            )
            .await
            .expect("session Up at 100 ms x 3 within 30 s")
            .expect("session alive");
            // Vary where in the peer's transmit cycle the cut falls.
            tokio::time::sleep(Duration::from_millis(200 + (n as u64 * 37) % 100)).await;
            let cut_at = Instant::now();
            link.cut();
            let down = loop {
                match timeout(Duration::from_secs(5), events.recv()).await {
                    Ok(Ok(change)) if change.to == SessionState::Down => break change,
                    Ok(Ok(_) | Err(RecvError::Lagged(_))) => {}
                    Ok(Err(RecvError::Closed)) | Err(_) => panic!("no Down within 5 s of the cut"),
                }
            };
            let detection = down.at - cut_at;
            println!(
                "{:>4} {:>14.1} {:>10?}",
                n + 1,
                detection.as_secs_f64() * 1e3,
                down.diagnostic
            );
            samples.push(detection);
            link.restore();
        }
        drop(bfd);
    });
    drop(bfdd);
    if samples.is_empty() {
        return;
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let p50 = samples[samples.len() / 2];
    let max = samples[samples.len() - 1];
    println!(
        "\nBFD detection at 100 ms x 3 over {} cuts: min {:.1} ms, p50 {:.1} ms, max {:.1} ms (target < 400 ms)",
        samples.len(),
        ms(samples[0]),
        ms(p50),
        ms(max)
    );
}
