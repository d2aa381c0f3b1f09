//! The XDP L2 responder seen from a neighbour: ARP requests and Neighbor Solicitations for an
//! IP in the responder map get exactly one answer, carrying the node interface's MAC; an IP
//! not in the map gets none (the node does not own it, so the kernel stays silent too); and a
//! node interface `--devices` did not select never answers, even with an entry for it.

use std::net::IpAddr;
use std::process::Command;

use ferrule_agent::agent::Agent;
use ferrule_agent::announce::Unavailable;
use ferrule_agent::bring_up::bring_up;

use super::node::{NODE, Pins};
use super::roles::NodeEnv;
use super::topo::{CLIENT_DEV, DEVICES, SPARE_CLIENT_DEV, SPARE_NODE_DEV};

const ANNOUNCED4: &str = "203.0.113.20";
const ANNOUNCED6: &str = "2001:db8:ff::20";
const UNKNOWN4: &str = "203.0.113.21";
const UNKNOWN6: &str = "2001:db8:ff::21";

pub fn sys(dev: &str, file: &str) -> String {
    std::fs::read_to_string(format!("/sys/class/net/{dev}/{file}"))
        .unwrap_or_else(|e| panic!("{dev}/{file}: {e}"))
        .trim()
        .to_owned()
}

/// The link-layer addresses that answered one ARP request (IPv4) or Neighbor Solicitation
/// (IPv6) for `ip`, sent by the client on `dev`, lowercase.
pub fn resolve(client_ns: &str, dev: &str, ip: &str) -> Vec<String> {
    let (tool, args, marker) = if ip.contains(':') {
        // -m: every answer within the wait, not just the first.
        (
            "ndisc6",
            vec!["-m", "-n", "-r", "1", "-w", "700", ip, dev],
            "Target link-layer address: ",
        )
    } else {
        (
            "arping",
            vec!["-c", "1", "-w", "1", "-i", dev, ip],
            " bytes from ",
        )
    };
    let out = Command::new("ip")
        .args(["netns", "exec", client_ns, tool])
        .args(&args)
        .output()
        .unwrap_or_else(|e| panic!("running {tool}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let macs: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.split_once(marker))
        .filter_map(|(_, rest)| rest.split_whitespace().next())
        .map(str::to_ascii_lowercase)
        .collect();
    // Both tools exit nonzero exactly when nothing answered; a disagreement means the output
    // format is not what the parsing above expects.
    assert_eq!(
        out.status.success(),
        !macs.is_empty(),
        "{tool} {args:?} exited {} with output:\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    macs
}

pub async fn node(env: NodeEnv) {
    let pins = Pins::new(&env.tag);
    let devices = regex::Regex::new(DEVICES).expect("regex");
    let attached = bring_up(&pins.0, &devices).expect("datapath attached");
    assert!(
        attached.iter().all(|(i, _)| i.name != SPARE_NODE_DEV),
        "{attached:?}"
    );
    let selected: u32 = sys("fl-n0", "ifindex").parse().expect("ifindex");
    let unselected: u32 = sys(SPARE_NODE_DEV, "ifindex").parse().expect("ifindex");
    let mac = sys("fl-n0", "address");
    let announced: Vec<IpAddr> = [ANNOUNCED4, ANNOUNCED6]
        .iter()
        .map(|a| a.parse().expect("IP"))
        .collect();
    let mut agent = Agent::new(NODE, pins.maps(), Unavailable);
    let entries: Vec<(u32, IpAddr)> = [selected, unselected]
        .iter()
        .flat_map(|i| announced.iter().map(|a| (*i, *a)))
        .collect();
    assert!(agent.responders.set(entries));
    tokio::task::block_in_place(|| agent.sync()).expect("responder entries programmed");

    // Each probe waits its full timeout (to catch duplicate answers), so probes run side by
    // side; but never two for the same IP, since ndisc6's socket is not bound to its interface
    // and would take the other probe's answer for its own.
    let client_ns = env.client_ns.as_str();
    let phases = [
        vec![
            (CLIENT_DEV, ANNOUNCED4, 1),
            (CLIENT_DEV, ANNOUNCED6, 1),
            (CLIENT_DEV, UNKNOWN4, 0),
            (CLIENT_DEV, UNKNOWN6, 0),
        ],
        vec![
            (SPARE_CLIENT_DEV, ANNOUNCED4, 0),
            (SPARE_CLIENT_DEV, ANNOUNCED6, 0),
        ],
    ];
    for probes in phases {
        let answers: Vec<Vec<String>> = tokio::task::block_in_place(|| {
            std::thread::scope(|s| {
                let handles: Vec<_> = probes
                    .iter()
                    .map(|&(dev, ip, _)| s.spawn(move || resolve(client_ns, dev, ip)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("probe thread"))
                    .collect()
            })
        });
        for ((dev, ip, expected), macs) in probes.iter().zip(&answers) {
            assert_eq!(macs.len(), *expected, "answers for {ip} on {dev}: {macs:?}");
            for answered in macs {
                assert_eq!(answered, &mac, "{ip} on {dev} answered with another MAC");
            }
        }
    }

    // `ferrule-agent state` counts what was answered, where.
    let state = pins.state();
    for addr in &announced {
        let responses = |ifindex| {
            state
                .responders
                .iter()
                .find(|r| r.ifindex == ifindex && r.addr == *addr)
                .map(|r| r.responses)
                .unwrap_or_else(|| panic!("{addr} on {ifindex} missing from {state:?}"))
        };
        assert_eq!(responses(selected), 1, "{addr} on fl-n0");
        assert_eq!(responses(unselected), 0, "{addr} on {SPARE_NODE_DEV}");
    }
}
