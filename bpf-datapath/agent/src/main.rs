//! ferrule-agent. Today it has one subcommand, `state`, which prints what the datapath maps
//! pinned under /sys/fs/bpf/ferrule hold. The run mode (`--node-name`, `--devices`, watchers
//! programming the maps through `agent::Agent`) is not here yet: nothing loads, pins and attaches
//! the programs so far, and a run mode that writes maps no attached program reads would only
//! pretend to be a datapath.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use ferrule_agent::state_cmd::{Output, StateReport};
use ferrule_bpf_loader::kernel::KernelMaps;

#[derive(Debug, Parser)]
#[command(name = "ferrule-agent", about = "ferrule's node datapath agent")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print services, backends, responder entries and counters from the pinned maps.
    State {
        /// bpffs directory holding the maps, pinned under their C names.
        #[arg(long, default_value = "/sys/fs/bpf/ferrule")]
        pin_dir: PathBuf,
        #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
        output: Output,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::State { pin_dir, output } => {
            let maps = KernelMaps::open_pinned(&pin_dir)?;
            print!("{}", StateReport::read(&maps)?.render(output)?);
        }
    }
    Ok(())
}
