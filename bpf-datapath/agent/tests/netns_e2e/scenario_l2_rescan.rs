//! A device that appears after the agent started answers ARP / NDP for this node's announced
//! IPs once the device rescan attached it, without an agent restart; recreated (new ifindex),
//! it answers again, and the entries of its old ifindex are gone.
//!
//! ```text
//!  client ns                      node ns
//!  c2 192.0.2.102/32  ─veth─  fl-n2 (created after start, matched by ^fl-n[0-9]$)
//! ```

use std::time::{Duration, Instant};

use ferrule_agent::agent::Agent;
use ferrule_agent::announce::Unavailable;
use ferrule_agent::bring_up::{bring_up, devices_of, rescan_devices};
use ferrule_agent::run::{RunSettings, run};
use ferrule_api::node_l2announcements::v1alpha1::{Announcement, NodeL2Announcement, ServiceRef};
use ferrule_runtime::Readiness;
use kube::api::{Api, PostParams};

use super::node::{Cluster, NODE, Pins};
use super::roles::NodeEnv;
use super::scenario_l2::{resolve, sys};
use super::topo::{CLIENT_DEV, ip};

const DEVICES: &str = "^fl-n[0-9]$";
const LATE_DEV: &str = "fl-n2";
const LATE_CLIENT_DEV: &str = "c2";
const ANNOUNCED4: &str = "203.0.113.30";
const ANNOUNCED6: &str = "2001:db8:ff::30";

/// Creates `fl-n2` here and its peer `c2` in the client namespace, both up.
fn create_late_device(client_ns: &str) {
    ip(&[
        "link",
        "add",
        LATE_DEV,
        "type",
        "veth",
        "peer",
        "name",
        LATE_CLIENT_DEV,
        "netns",
        client_ns,
    ]);
    ip(&["link", "set", LATE_DEV, "up"]);
    ip(&[
        "-n",
        client_ns,
        "addr",
        "add",
        "192.0.2.102/32",
        "dev",
        LATE_CLIENT_DEV,
    ]);
    ip(&["-n", client_ns, "link", "set", LATE_CLIENT_DEV, "up"]);
}

/// Probes both announced IPs from `dev` until each is answered by exactly `mac`.
async fn answered_by(client_ns: &str, dev: &str, mac: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    for addr in [ANNOUNCED4, ANNOUNCED6] {
        loop {
            let macs = tokio::task::block_in_place(|| resolve(client_ns, dev, addr));
            if macs == [mac.to_owned()] {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{addr} on {dev}: answered by {macs:?}, expected only {mac}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

pub async fn node(env: NodeEnv) {
    let cluster = Cluster::start().await;
    let announcement = |ip: &str| Announcement {
        service: ServiceRef {
            namespace: "default".into(),
            name: "web".into(),
        },
        ip: ip.into(),
        interface_regexes: vec![],
    };
    Api::<NodeL2Announcement>::all(cluster.client.clone())
        .create(
            &PostParams::default(),
            &NodeL2Announcement::for_node(
                NODE,
                vec![announcement(ANNOUNCED4), announcement(ANNOUNCED6)],
            ),
        )
        .await
        .expect("announcement created");

    let pins = Pins::new(&env.tag);
    let devices = regex::Regex::new(DEVICES).expect("regex");
    let attached: ferrule_agent::bring_up::Selection = bring_up(&pins.0, &devices)
        .expect("datapath attached")
        .into_iter()
        .map(|(i, _)| (i.ifindex, i.name))
        .collect();
    let (updates, changes) = tokio::sync::watch::channel(devices_of(&attached));
    let rescan = tokio::spawn(rescan_devices(
        pins.0.clone(),
        devices,
        attached.clone(),
        Duration::from_millis(200),
        updates,
    ));
    let mut agent = Agent::new(NODE, pins.maps(), Unavailable);
    agent.devices = devices_of(&attached);
    let readiness = Readiness::new();
    let run_loop = tokio::spawn(run(
        cluster.client.clone(),
        agent,
        readiness.clone(),
        ferrule_runtime::Metrics::new(),
        RunSettings {
            l2_announcements: true,
            devices: Some(changes),
            ..RunSettings::default()
        },
    ));
    let _stop = AbortOnDrop(vec![rescan.abort_handle(), run_loop.abort_handle()]);

    let client_ns = env.client_ns.as_str();
    answered_by(client_ns, CLIENT_DEV, &sys("fl-n0", "address")).await;

    create_late_device(client_ns);
    let first = sys(LATE_DEV, "ifindex");
    answered_by(client_ns, LATE_CLIENT_DEV, &sys(LATE_DEV, "address")).await;

    // Recreated: a new ifindex (and MAC); the old ifindex's entries must not linger.
    ip(&["link", "del", LATE_DEV]);
    create_late_device(client_ns);
    let second = sys(LATE_DEV, "ifindex");
    assert_ne!(first, second, "the recreated device kept its ifindex");
    answered_by(client_ns, LATE_CLIENT_DEV, &sys(LATE_DEV, "address")).await;
    let first: u32 = first.parse().expect("ifindex");
    let stale: Vec<_> = pins
        .state()
        .responders
        .into_iter()
        .filter(|r| r.ifindex == first)
        .collect();
    assert!(
        stale.is_empty(),
        "entries left on the removed device: {stale:?}"
    );
}

struct AbortOnDrop(Vec<tokio::task::AbortHandle>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for handle in &self.0 {
            handle.abort();
        }
    }
}
