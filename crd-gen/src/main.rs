//! `ferrule-crd-gen [--root DIR] [--check]`: writes (or checks) deploy/crds and chart/crds.

use anyhow::Context as _;
use clap::Parser;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Workspace root that holds deploy/ and chart/.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/.."))]
    root: PathBuf,
    /// Do not write; exit non-zero and print a diff when the committed files are stale.
    #[arg(long)]
    check: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let crds = ferrule_api::crds::all();
    if args.check {
        let drift = ferrule_crd_gen::manifests::check(&args.root, &crds)
            .context("comparing committed CRDs")?;
        if drift.is_empty() {
            println!("{} CRDs up to date", crds.len());
            return Ok(());
        }
        for d in &drift {
            eprintln!("{d}");
        }
        anyhow::bail!(
            "{} generated file(s) out of date: run `cargo run -p ferrule-crd-gen` and commit",
            drift.len()
        );
    }
    ferrule_crd_gen::manifests::write(&args.root, &crds).context("writing CRDs")?;
    println!("wrote {} CRDs", crds.len());
    Ok(())
}
