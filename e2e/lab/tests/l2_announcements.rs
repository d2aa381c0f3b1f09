//! L2 announcements in a three-node lab, as the client on the LAN sees them: ferrule-testapi,
//! ferrule-lbipam, and per node ferrule-agent (the ARP / NDP responder) and
//! ferrule-l2announcer, all real processes in their namespaces.
//!
//! One lab for the whole file (bringing one up is most of the cost), driven through one
//! scenario after another; each leaves the lab as it found it (every announcer running, the
//! 30 Services assigned as at the start). The announcers run with short Lease timings
//! (4s / 1s / 200ms) so that a kill -9 failover takes seconds; 4s rather than 2s leaves a
//! graceful handover a wide margin to prove it did not wait for the Lease to expire.
//!
//! Needs root (namespaces) and the ferrule binaries built next to ferrule-lab.

mod support;

use ferrule_lab::driver::announcements::Announcements;
use ferrule_lab::driver::workload::{self, Endpoint, LbService, SERVICE_PORT};
use ferrule_lab::driver::{LabProcess, client, eventually, neighbors};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

const NODES: usize = 3;
const SERVICES: usize = 30;
/// The bound the rendezvous assignment promises for 30 Services on 3 nodes (1.1 × 10).
const MAX_PER_NODE: usize = 11;
const LEASE_FLAGS: [&str; 6] = [
    "--lease-duration",
    "4s",
    "--lease-renew-deadline",
    "1s",
    "--lease-retry-period",
    "200ms",
];
const LEASE_DURATION: Duration = Duration::from_secs(4);
const RETRY_PERIOD: Duration = Duration::from_millis(200);
/// Deadlines for what should take a second or two: generous, for a loaded 2-core machine.
const SETTLE: Duration = Duration::from_secs(30);
const CLIENT_NS: &str = "fl-client";
const CLIENT_DEV: &str = "eth0";
/// Labels the example policy (`examples/l2-announcement-policy.yaml`, interfaces ^eth0$)
/// selects.
const WEB: [(&str, &str); 1] = [("app", "web")];

/// The running lab and what the client knows about its nodes.
struct Lab {
    process: LabProcess,
    /// Node name → MAC of its uplink, the one its ARP / NDP answers carry.
    macs: BTreeMap<String, String>,
}

impl Lab {
    fn start() -> Self {
        let state_dir = support::state_dir("l2");
        let process = LabProcess::start(
            support::LAB.as_ref(),
            NODES,
            &state_dir,
            &LEASE_FLAGS,
            SETTLE,
        )
        .unwrap_or_else(|e| panic!("the lab comes up: {e}"));
        let macs = process
            .plan
            .nodes
            .iter()
            .map(|n| {
                let mac = neighbors::mac(&n.host.namespace, CLIENT_DEV)
                    .unwrap_or_else(|e| panic!("{}'s MAC: {e}", n.name));
                (n.name.clone(), mac)
            })
            .collect();
        Self { process, macs }
    }

    /// Unwraps, or fails with the error and the end of every announcer's log.
    fn ok<T>(&self, result: Result<T, ferrule_lab::Error>) -> T {
        result.unwrap_or_else(|e| {
            let logs: Vec<String> = self
                .process
                .plan
                .nodes
                .iter()
                .map(|n| {
                    let pod = announcer(&n.name);
                    let log = self.process.log(&pod);
                    let tail: Vec<&str> = log.lines().rev().take(15).collect();
                    let tail: Vec<&str> = tail.into_iter().rev().collect();
                    format!("--- {pod}:\n{}", tail.join("\n"))
                })
                .collect();
            panic!("{e}\n{}", logs.join("\n"))
        })
    }

    fn announcements(&self) -> Result<Announcements, String> {
        Announcements::get(&self.process).map_err(|e| e.to_string())
    }

    fn node_ipv4(&self, node: &str) -> IpAddr {
        let host = &self
            .process
            .plan
            .nodes
            .iter()
            .find(|n| n.name == node)
            .unwrap_or_else(|| panic!("no node {node}"))
            .host;
        IpAddr::V4(host.ipv4)
    }

    /// Waits until every IP of `ips` gets exactly one ARP / NDP answer, from the node
    /// `expected` names (None: no answer at all).
    fn assert_answers(&self, what: &str, ips: &[(IpAddr, Option<String>)]) {
        let result = eventually(what, SETTLE, || {
            let answers: Vec<Vec<String>> = std::thread::scope(|s| {
                let probes: Vec<_> = ips
                    .iter()
                    .map(|(ip, _)| s.spawn(move || neighbors::resolve(CLIENT_NS, CLIENT_DEV, *ip)))
                    .collect();
                probes
                    .into_iter()
                    .map(|p| match p.join() {
                        Ok(Ok(macs)) => macs,
                        Ok(Err(e)) => vec![format!("error: {e}")],
                        Err(_) => vec!["probe thread panicked".to_owned()],
                    })
                    .collect()
            });
            let wrong: Vec<String> = ips
                .iter()
                .zip(&answers)
                .filter_map(|((ip, node), macs)| {
                    let expected: Vec<String> = node.iter().map(|n| self.macs[n].clone()).collect();
                    (macs != &expected).then(|| {
                        format!("{ip}: answered by {macs:?}, expected {node:?} ({expected:?})")
                    })
                })
                .collect();
            if wrong.is_empty() {
                Ok(())
            } else {
                Err(wrong.join("; "))
            }
        });
        self.ok(result);
    }

    /// Waits until an HTTP request through `vip` succeeds via `node` (the backend saw that
    /// node's SNAT address).
    fn assert_http_via(&self, vip: IpAddr, node: &str) {
        let node_ip = self.node_ipv4(node);
        let result =
            eventually(
                &format!("HTTP through {vip} via {node}"),
                SETTLE,
                || match client::get(CLIENT_NS, vip, SERVICE_PORT, 1.0) {
                    Ok((peer, _)) if peer == node_ip => Ok(()),
                    Ok((peer, backend)) => Err(format!("answered by {backend} via {peer}")),
                    Err(e) => Err(e.to_string()),
                },
            );
        self.ok(result);
    }
}

fn announcer(node: &str) -> String {
    format!("ferrule-l2announcer-{node}")
}

/// The 30 Services, their IPs, and which node announces each once they settled.
struct Spread {
    ips: BTreeMap<String, Vec<IpAddr>>,
    assignment: BTreeMap<String, String>,
}

impl Spread {
    fn holder(&self, service: &str) -> &str {
        &self.assignment[service]
    }

    fn services_of(&self, node: &str) -> Vec<&str> {
        self.assignment
            .iter()
            .filter(|(_, n)| *n == node)
            .map(|(s, _)| s.as_str())
            .collect()
    }
}

#[test]
fn l2_announcements_in_a_three_node_lab() {
    support::require_root();
    support::require_built(&["ferrule-lbipam", "ferrule-l2announcer", "ferrule-agent"]);
    let started = Instant::now();
    let lab = Lab::start();
    let step = |name: &str| eprintln!("{:>6.1}s {name}", started.elapsed().as_secs_f64());

    step("30 services spread over 3 nodes");
    let spread = thirty_services_spread_evenly(&lab);
    step("each IP answered by its announcing node only");
    every_ip_is_answered_by_its_announcing_node_only(&lab, &spread);
    step("kill -9 of an announcer");
    a_killed_announcers_services_move_and_traffic_resumes(&lab, &spread);
    step("SIGTERM of an announcer");
    a_terminated_announcer_hands_over_before_its_lease_expires(&lab, &spread);
    step("externalTrafficPolicy Local");
    local_services_are_announced_only_where_a_ready_endpoint_runs(&lab);
    step("bad interface regex");
    a_policy_with_a_bad_interface_regex_announces_nothing(&lab);
    step("done");
}

/// (b) The 30 dual-stack Services each end up announced by exactly one node (all their IPs
/// by the same node), at most 11 per node.
fn thirty_services_spread_evenly(lab: &Lab) -> Spread {
    // Only the test's Services count: the lab's example Service goes.
    lab.ok(lab
        .process
        .kubectl(&["delete", "service", "web", "--ignore-not-found"]));
    let services: Vec<LbService> = (0..SERVICES)
        .map(|i| LbService::new(&format!("l2-{i:02}"), &lab.process.plan, &WEB))
        .collect();
    lab.ok(lab.process.apply(&workload::manifests(&services)));
    let ips = lab.ok(eventually(
        "an IPv4 and an IPv6 address for each Service",
        SETTLE,
        || {
            let all = workload::load_balancer_ips(&lab.process).map_err(|e| e.to_string())?;
            let ips: BTreeMap<String, Vec<IpAddr>> = services
                .iter()
                .map(|s| (s.key(), all.get(&s.key()).cloned().unwrap_or_default()))
                .collect();
            let short: Vec<_> = ips
                .iter()
                .filter(|(_, ips)| {
                    !(ips.iter().any(IpAddr::is_ipv4) && ips.iter().any(IpAddr::is_ipv6))
                })
                .collect();
            if short.is_empty() {
                Ok(ips)
            } else {
                Err(format!("not dual-stack yet: {short:?}"))
            }
        },
    ));
    let assignment = lab.ok(eventually(
        "each Service announced by exactly one node, with all its IPs",
        SETTLE,
        || settled_assignment(lab, &ips, None),
    ));
    let mut per_node: BTreeMap<&str, usize> = BTreeMap::new();
    for node in assignment.values() {
        *per_node.entry(node).or_default() += 1;
    }
    assert_eq!(
        per_node.len(),
        NODES,
        "every node announces some: {per_node:?}"
    );
    assert!(
        per_node.values().all(|&n| n <= MAX_PER_NODE),
        "at most {MAX_PER_NODE} Services per node: {per_node:?}"
    );
    eprintln!("  spread: {per_node:?}");
    Spread { ips, assignment }
}

/// Service → node when each Service of `ips` (and nothing else) is announced by exactly one
/// node with all its IPs, and no node in `without` announces anything.
fn settled_assignment(
    lab: &Lab,
    ips: &BTreeMap<String, Vec<IpAddr>>,
    without: Option<&str>,
) -> Result<BTreeMap<String, String>, String> {
    let found = lab.announcements()?;
    if let Some(node) = without {
        let left = found.services_of(node);
        if !left.is_empty() {
            return Err(format!("{node} still announces {left:?}"));
        }
    }
    let assignment = found.assignment()?;
    let mut settled = BTreeMap::new();
    for (service, service_ips) in ips {
        let Some(node) = assignment.get(service.as_str()) else {
            return Err(format!("{service} is not announced"));
        };
        for ip in service_ips {
            let holders = found.holders(*ip);
            if holders != [*node] {
                return Err(format!("{service}'s {ip} is announced by {holders:?}"));
            }
        }
        settled.insert(service.clone(), (*node).to_owned());
    }
    let extra: Vec<_> = assignment
        .keys()
        .filter(|s| !ips.contains_key(**s))
        .collect();
    if !extra.is_empty() {
        return Err(format!("unexpected Services announced: {extra:?}"));
    }
    Ok(settled)
}

/// (a) arping and ndisc6 from the client: each of the 60 IPs gets exactly one answer, with the
/// MAC of the node whose NodeL2Announcement lists it.
fn every_ip_is_answered_by_its_announcing_node_only(lab: &Lab, spread: &Spread) {
    let expected: Vec<(IpAddr, Option<String>)> = spread
        .ips
        .iter()
        .flat_map(|(service, ips)| {
            let node = spread.holder(service).to_owned();
            ips.iter().map(move |ip| (*ip, Some(node.clone())))
        })
        .collect();
    assert_eq!(expected.len(), 2 * SERVICES);
    lab.assert_answers(
        "every Service IP answered by its announcer alone",
        &expected,
    );
}

/// (c) kill -9 of the announcer holding `l2-00`: its Services move to the other nodes (each
/// once), the dead node stops answering, and the client's HTTP requests through the VIP
/// succeed again via the new node. Restarted, the node gets its Services back.
fn a_killed_announcers_services_move_and_traffic_resumes(lab: &Lab, spread: &Spread) {
    let service = "default/l2-00";
    let victim = spread.holder(service).to_owned();
    let vip = spread.ips[service][0];
    lab.assert_http_via(vip, &victim);
    lab.ok(lab.process.signal(&announcer(&victim), "KILL"));
    let moved = lab.ok(eventually(
        &format!("{victim}'s Services announced by the other nodes"),
        SETTLE,
        || settled_assignment(lab, &spread.ips, Some(&victim)),
    ));
    for service in spread.services_of(&victim) {
        assert_ne!(moved[service], victim, "{service} moved");
    }
    let new_holder = moved[service].clone();
    lab.assert_answers(
        "the killed node's Service IPs answered by their new node",
        &spread.ips[service]
            .iter()
            .map(|ip| (*ip, Some(new_holder.clone())))
            .collect::<Vec<_>>(),
    );
    lab.assert_http_via(vip, &new_holder);
    restart_and_wait_for_the_original_spread(lab, spread);
}

/// (d) SIGTERM of the announcer holding `l2-00`: it releases its Lease and its Services move
/// before that Lease could have expired (it was renewed at most a retry period before the
/// signal).
fn a_terminated_announcer_hands_over_before_its_lease_expires(lab: &Lab, spread: &Spread) {
    let service = "default/l2-00";
    let victim = spread.holder(service).to_owned();
    let signalled = Instant::now();
    lab.ok(lab.process.signal(&announcer(&victim), "TERM"));
    let moved = lab.ok(eventually(
        &format!("{victim}'s Services announced by the other nodes"),
        SETTLE,
        || settled_assignment(lab, &spread.ips, Some(&victim)),
    ));
    let took = signalled.elapsed();
    let earliest_expiry = LEASE_DURATION - RETRY_PERIOD;
    assert!(
        took < earliest_expiry,
        "the handover took {took:?}: no faster than waiting for the {LEASE_DURATION:?} Lease"
    );
    eprintln!("  graceful handover observed after {took:?}");
    let lease = lab.ok(lab.process.get_json(&[
        "lease",
        "-n",
        "kube-system",
        &format!("ferrule-l2announce-{victim}"),
    ]));
    let holder = lease["spec"]["holderIdentity"].as_str().unwrap_or_default();
    assert_eq!(
        holder, "",
        "the terminated announcer released its Lease: {lease}"
    );
    lab.assert_http_via(spread.ips[service][0], &moved[service]);
    restart_and_wait_for_the_original_spread(lab, spread);
}

fn restart_and_wait_for_the_original_spread(lab: &Lab, spread: &Spread) {
    lab.ok(lab.process.restart_exited(SETTLE));
    lab.ok(eventually(
        "the restarted node announcing its Services again, as before",
        SETTLE,
        || {
            let now = settled_assignment(lab, &spread.ips, None)?;
            if now == spread.assignment {
                Ok(())
            } else {
                let differ: Vec<_> = now
                    .iter()
                    .filter(|(s, n)| spread.assignment.get(*s) != Some(*n))
                    .collect();
                Err(format!("assigned differently: {differ:?}"))
            }
        },
    ));
}

/// (e) externalTrafficPolicy Local: only the node with a ready endpoint announces; when the
/// ready endpoint moves, so does the announcement; with no ready endpoint nothing is announced
/// and a NoLocalEndpoint Event says why.
fn local_services_are_announced_only_where_a_ready_endpoint_runs(lab: &Lab) {
    let plan = &lab.process.plan;
    let endpoint = |i: usize, node: &str, ready: bool| Endpoint {
        address: IpAddr::V4(plan.backends[i].ipv4),
        node: Some(node.to_owned()),
        ready,
    };
    let mut local = LbService::new("local-one", plan, &WEB);
    local.local = true;
    local.dual_stack = false;
    local.endpoints = vec![endpoint(0, "node2", true), endpoint(1, "node3", false)];
    let mut none = LbService::new("local-none", plan, &WEB);
    none.local = true;
    none.dual_stack = false;
    none.endpoints = vec![endpoint(0, "node1", false)];
    lab.ok(lab
        .process
        .apply(&workload::manifests(&[local.clone(), none.clone()])));

    let ip_of = |svc: &LbService| {
        lab.ok(eventually(
            &format!("an IP for {}", svc.name),
            SETTLE,
            || {
                let all = workload::load_balancer_ips(&lab.process).map_err(|e| e.to_string())?;
                all.get(&svc.key())
                    .and_then(|ips| ips.first().copied())
                    .ok_or_else(|| "none yet".to_owned())
            },
        ))
    };
    let local_ip = ip_of(&local);
    let none_ip = ip_of(&none);
    for node in ["node2", "node3"] {
        let ready = if node == "node2" {
            (true, false)
        } else {
            (false, true)
        };
        local.endpoints = vec![endpoint(0, "node2", ready.0), endpoint(1, "node3", ready.1)];
        lab.ok(lab
            .process
            .apply(&workload::manifests(std::slice::from_ref(&local))));
        lab.ok(eventually(
            &format!("local-one announced by {node} alone, where its ready endpoint is"),
            SETTLE,
            || {
                let holders = lab.announcements()?.holders_of(&local.key()).join(",");
                if holders == node {
                    Ok(())
                } else {
                    Err(format!("announced by [{holders}]"))
                }
            },
        ));
        lab.assert_answers(
            &format!("local-one's IP answered by {node}"),
            &[(local_ip, Some(node.to_owned()))],
        );
    }

    let event = lab.ok(eventually(
        "a NoLocalEndpoint Event for local-none",
        SETTLE,
        || {
            let events = lab
                .process
                .get_json(&["events", "-n", workload::NAMESPACE])
                .map_err(|e| e.to_string())?;
            events["items"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|e| {
                    e["involvedObject"]["name"] == "local-none" && e["reason"] == "NoLocalEndpoint"
                })
                .cloned()
                .ok_or_else(|| "no such Event yet".to_owned())
        },
    ));
    assert_eq!(event["type"], "Warning", "{event}");
    let message = event["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("Local") && message.contains("ready endpoint"),
        "the Event says why: {message}"
    );
    let holders = lab.ok(lab
        .announcements()
        .map_err(|what| ferrule_lab::Error::Unexpected { what }));
    assert!(
        holders.holders_of(&none.key()).is_empty(),
        "local-none is announced without a ready endpoint: {holders:?}"
    );
    lab.assert_answers("local-none's IP unanswered", &[(none_ip, None)]);
    lab.ok(lab.process.kubectl(&[
        "delete",
        "service,endpointslice",
        "local-one",
        "local-none",
        "local-one-endpoints",
        "local-none-endpoints",
        "--ignore-not-found",
    ]));
}

/// (f) A policy whose interface regex does not compile gets Cilium's bad-interface-regex
/// condition and announces nothing; fixed, the condition clears and its Service is announced.
fn a_policy_with_a_bad_interface_regex_announces_nothing(lab: &Lab) {
    const LABEL: (&str, &str) = ("l2-test", "bad-regex");
    let mut svc = LbService::new("bad-regex", &lab.process.plan, &[LABEL]);
    svc.dual_stack = false;
    lab.ok(lab
        .process
        .apply(&workload::manifests(std::slice::from_ref(&svc))));
    let ip = lab.ok(eventually("an IP for bad-regex", SETTLE, || {
        let all = workload::load_balancer_ips(&lab.process).map_err(|e| e.to_string())?;
        all.get(&svc.key())
            .and_then(|ips| ips.first().copied())
            .ok_or_else(|| "none yet".to_owned())
    }));
    let policy = |interface: &str| {
        serde_json::json!({
            "apiVersion": "cilium.io/v2alpha1", "kind": "CiliumL2AnnouncementPolicy",
            "metadata": {"name": "bad-regex"},
            "spec": {"serviceSelector": {"matchLabels": {LABEL.0: LABEL.1}},
                     "interfaces": [interface], "loadBalancerIPs": true}
        })
        .to_string()
    };
    let condition = |lab: &Lab| -> Result<Option<String>, String> {
        let policy = lab
            .process
            .get_json(&["ciliuml2announcementpolicies", "bad-regex"])
            .map_err(|e| e.to_string())?;
        Ok(policy["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == "io.cilium/bad-interface-regex")
            .map(|c| c["status"].as_str().unwrap_or_default().to_owned()))
    };

    lab.ok(lab.process.apply(&policy("eth[0")));
    lab.ok(eventually(
        "the bad-interface-regex condition True",
        SETTLE,
        || match condition(lab)? {
            Some(status) if status == "True" => Ok(()),
            other => Err(format!("condition status {other:?}")),
        },
    ));
    // The node that wrote the condition planned with the Service in view; poll a little
    // longer so that a wrong announcement by any node would show.
    let watch_until = Instant::now() + Duration::from_secs(1);
    while Instant::now() < watch_until {
        let found = lab.ok(lab
            .announcements()
            .map_err(|what| ferrule_lab::Error::Unexpected { what }));
        assert!(
            found.holders(ip).is_empty(),
            "{ip} announced under a policy with a bad regex: {found:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    lab.assert_answers("bad-regex's IP unanswered", &[(ip, None)]);

    lab.ok(lab.process.apply(&policy("^eth0$")));
    let node = lab.ok(eventually(
        "the condition cleared and the Service announced once fixed",
        SETTLE,
        || {
            if condition(lab)?.is_some_and(|status| status == "True") {
                return Err("the condition is still True".to_owned());
            }
            match lab.announcements()?.holders(ip).as_slice() {
                [node] => Ok((*node).to_owned()),
                other => Err(format!("announced by {other:?}")),
            }
        },
    ));
    lab.assert_answers("bad-regex's IP answered once fixed", &[(ip, Some(node))]);
}
