//! The real `ferrule-agent` binary restarting under an open connection: the datapath keeps
//! forwarding while no agent runs (maps and links are pinned), and the next agent adopts the
//! maps without disturbing established flows. Both ways an agent stops: SIGKILL (crash, OOM)
//! and SIGTERM (rollout).

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use ferrule_bpf_loader::model::Protocol;

use super::client::Session;
use super::node::{Cluster, NODE, Pins, eventually, service_of, vip, wait_for_maps};
use super::roles::{NodeEnv, Owned};
use super::scenario_families::{BACKEND4, VIP4};
use super::topo::{CLIENT_IP, DEVICES};

/// Starts the binary and waits for its /readyz. Every start listens on its own port, so a
/// killed predecessor's socket can never answer for it.
async fn start_binary(cluster: &Cluster, pins: &Pins, port: u16) -> Owned {
    let health: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut agent = Owned(
        Command::new(env!("CARGO_BIN_EXE_ferrule-agent"))
            .arg("run")
            .arg("--kubeconfig")
            .arg(cluster.api.kubeconfig_path())
            .args(["--node-name", NODE, "--devices", DEVICES])
            .arg("--pin-dir")
            .arg(&pins.0.root)
            .args(["--metrics-addr", &health.to_string()])
            .spawn()
            .expect("ferrule-agent starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready(health) {
        if let Ok(Some(status)) = agent.0.try_wait() {
            panic!("ferrule-agent exited before it was ready: {status}");
        }
        assert!(Instant::now() < deadline, "ferrule-agent not ready in time");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    agent
}

fn ready(health: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&health, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let request = "GET /readyz HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n";
    let mut response = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut response).is_ok()
        && response.starts_with("HTTP/1.1 200")
}

/// One exchange on the long-lived connection and one on a new connection.
fn check_traffic(client: &mut Session, when: &str) {
    let expected = |text: &str| format!("{CLIENT_IP} {BACKEND4} {text}");
    let text = format!("kept-{when}");
    assert_eq!(
        client
            .send("kept", &text)
            .map_err(|e| format!("{when}: {e}")),
        Ok(expected(&text)),
        "the open connection, {when}"
    );
    let text = format!("new-{when}");
    assert_eq!(
        client
            .tcp(vip(VIP4), &text)
            .map_err(|e| format!("{when}: {e}")),
        Ok(expected(&text)),
        "a new connection, {when}"
    );
}

pub async fn node(env: NodeEnv) {
    let cluster = Cluster::start().await;
    cluster.create_service(VIP4, "Cluster").await;
    cluster.set_endpoints(&[(BACKEND4, NODE)]).await;
    let pins = Pins::new(&env.tag);
    let mut agent = start_binary(&cluster, &pins, 19091).await;
    let addr = vip(VIP4);
    wait_for_maps(&pins, "the service", |c| {
        service_of(c, addr, Protocol::Tcp).is_some_and(|s| s.backend_count == 1)
    })
    .await;
    let mut client = Session::start(&env.client_ns);
    eventually("the first exchange", || {
        client.open("kept", addr)?;
        client.send("kept", "first")
    })
    .await;
    check_traffic(&mut client, "with the first agent");

    agent.0.kill().expect("SIGKILL the agent");
    agent.0.wait().expect("reap the agent");
    check_traffic(&mut client, "with no agent after SIGKILL");
    let mut agent = start_binary(&cluster, &pins, 19092).await;
    check_traffic(&mut client, "after the restart that followed SIGKILL");

    sigterm(agent.0.id());
    let status = exit_status(&mut agent).await;
    assert!(status.success(), "ferrule-agent on SIGTERM: {status}");
    check_traffic(&mut client, "with no agent after SIGTERM");
    let _agent = start_binary(&cluster, &pins, 19093).await;
    check_traffic(&mut client, "after the restart that followed SIGTERM");
}

fn sigterm(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -TERM {pid}: {status}");
}

async fn exit_status(agent: &mut Owned) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = agent.0.try_wait().expect("agent status") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "ferrule-agent still running 10s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
