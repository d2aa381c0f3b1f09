//! `ferrule-testapi --listen ADDR --kubeconfig-out FILE [--plain-http]`: runs the in-memory
//! API server until SIGINT/SIGTERM. Test infrastructure, never a production component.

use anyhow::Context as _;
use clap::Parser;
use ferrule_testapi::{Options, TestApi};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Where to write the kubeconfig that reaches this server.
    #[arg(long)]
    kubeconfig_out: PathBuf,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    plain_http: bool,
    /// Changes kept per resource for watch resumption (older versions get 410 Gone).
    #[arg(long, default_value_t = 100_000)]
    history: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let api = TestApi::start_with(Options {
        listen: args.listen,
        tls: !args.plain_http,
        kubeconfig_out: Some(args.kubeconfig_out.clone()),
        history: args.history,
    })
    .await
    .context("starting ferrule-testapi")?;
    println!(
        "ferrule-testapi listening on {} (kubeconfig: {})",
        api.addr(),
        args.kubeconfig_out.display()
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    drop(api);
    Ok(())
}
