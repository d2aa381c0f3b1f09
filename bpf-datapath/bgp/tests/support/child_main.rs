//! The speaker child process (see `child.rs` for the protocol).

use std::net::IpAddr;
use std::time::Duration;

use ferrule_bgp_speaker::*;
use tokio::io::{AsyncBufReadExt, BufReader};

fn parse_peer(spec: &str) -> PeerConfig {
    let mut parts = spec.split(',');
    let address: IpAddr = parts
        .next()
        .and_then(|a| a.parse().ok())
        .expect("peer address");
    let mut p = PeerConfig::new(address.to_string(), address, None);
    for kv in parts {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match k {
            "asn" => p.asn = v.parse().ok(),
            "port" => p.port = v.parse().expect("port"),
            "hold" => p.hold_time = v.parse().expect("hold"),
            "retry" => p.connect_retry = Duration::from_secs(v.parse().expect("retry")),
            "passive" => p.passive = true,
            "md5" => p.md5_password = Some(v.to_owned()),
            "gr" => {
                p.graceful_restart = Some(GracefulRestart {
                    restart_time: v.parse().expect("gr"),
                })
            }
            "local" => p.local_address = v.parse().ok(),
            "nh6" => p.next_hop_v6 = v.parse().ok(),
            "fam" => {
                p.families = v
                    .chars()
                    .map(|c| {
                        if c == '4' {
                            Family::Ipv4Unicast
                        } else {
                            Family::Ipv6Unicast
                        }
                    })
                    .collect()
            }
            other => panic!("unknown peer option {other}"),
        }
    }
    p
}

fn parse_route(spec: &str) -> Route {
    let mut parts = spec.split(',');
    let mut r = Route::new(parts.next().and_then(|p| p.parse().ok()).expect("prefix"));
    for kv in parts {
        let (k, v) = kv.split_once('=').expect("key=value");
        match k {
            "c" => {
                r.attrs.communities = v
                    .split('+')
                    .map(|c| c.parse().expect("community"))
                    .collect()
            }
            "l" => {
                r.attrs.large_communities =
                    v.split('+').map(|c| c.parse().expect("large")).collect()
            }
            "lp" => r.attrs.local_preference = v.parse().ok(),
            other => panic!("unknown route option {other}"),
        }
    }
    r
}

fn status_line(s: &PeerStatus) -> String {
    let mut line = format!(
        "peer {} {} hold={} ka={}",
        s.address,
        s.state.as_str(),
        s.hold_time.map_or("-".into(), |h| h.to_string()),
        s.keepalive.map_or("-".into(), |h| h.to_string()),
    );
    for f in &s.families {
        let v = if f.family == Family::Ipv4Unicast {
            4
        } else {
            6
        };
        line += &format!(" adv{v}={} rcv{v}={}", f.advertised, f.received);
        if f.not_advertised.is_some() {
            line += &format!(" skipped{v}=1");
        }
    }
    line
}

pub fn run(args: &[String]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut global = GlobalConfig {
            asn: 0,
            router_id: "192.0.2.2".parse().expect("id"),
            listen_port: None,
        };
        let mut peers = Vec::new();
        let mut routes = std::collections::BTreeMap::new();
        for a in args {
            let (k, v) = a.split_once('=').expect("key=value");
            match k {
                "asn" => global.asn = v.parse().expect("asn"),
                "id" => global.router_id = v.parse().expect("id"),
                "listen" => global.listen_port = v.parse().ok(),
                "peer" => peers.push(parse_peer(v)),
                "route" => {
                    let (peer, spec) = v.split_once('@').expect("route=PEER@SPEC");
                    routes
                        .entry(peer.to_owned())
                        .or_insert_with(Vec::new)
                        .push(parse_route(spec));
                }
                other => panic!("unknown option {other}"),
            }
        }
        let speaker = Speaker::new(global).expect("speaker");
        // Routes before peers: the first UPDATEs and End-of-RIB then carry the whole table,
        // as graceful restart needs.
        for (peer, routes) in routes {
            speaker.set_routes(peer.parse().expect("peer"), routes);
        }
        let errors = speaker.apply_peers(peers);
        assert!(errors.is_empty(), "{errors:?}");
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("routes") => {
                    let peer: IpAddr = words.next().and_then(|a| a.parse().ok()).expect("peer");
                    speaker.set_routes(peer, words.map(parse_route).collect());
                }
                Some("status") => {
                    for s in speaker.status() {
                        println!("{}", status_line(&s));
                    }
                    println!("end");
                }
                Some("shutdown") => break,
                _ => {}
            }
        }
        speaker.shutdown().await;
    });
}
