//! `lt`: the leveraged-token client.
//!
//! * `lt demo` — boots the program in an in-process bank, runs a market with a
//!   3x long and a 1x short through real price history with a keeper
//!   rebalancing whenever the gate opens, and prints what happened.
//! * `lt oracle-fixture` — writes a Pyth account as JSON for
//!   `solana-test-validator --account`, so a local validator has prices.
//! * every instruction of the program, `status` and `list`, against the
//!   cluster of the Solana CLI config (or `-u`), signed by its keypair (or `-k`).
//!
//! This file only parses arguments, builds the RPC chain and prints; the
//! logic is in the library (`leveraged_token_cli`), tested against the bank.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use leveraged_token_cli::settings::{load_keypair, resolve_settings};
use leveraged_token_cli::{demo, fixture, run, ChainCommand, Cli, Client, Command, GlobalArgs, TxFailed};
use leveraged_token_sdk::chain::RpcChain;

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Runtime::new()?)
}

fn run_chain(g: GlobalArgs, cmd: ChainCommand) -> anyhow::Result<()> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let s = resolve_settings(g.config_file.as_deref(), g.url.as_deref(), g.keypair.as_deref(), g.commitment.as_deref(), home.as_deref())?;
    // The keypair is read before anything touches the network.
    let signer = if cmd.needs_signer() { Some(load_keypair(&s.keypair_path)?) } else { None };
    let chain = RpcChain::new(&s.url, s.commitment);
    let mut client = Client::new(chain, signer).with_simulate(g.simulate).with_priority_fee(g.priority_fee);
    // What a request waits for, on stderr, only for a person watching.
    client.progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let report = runtime()?.block_on(run(&mut client, cmd))?;
    print!("{}", report.render(g.output));
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(a) => runtime().and_then(|rt| rt.block_on(demo::run(a))),
        Command::OracleFixture(a) => fixture::run(a),
        Command::Replay(a) => runtime().and_then(|rt| rt.block_on(leveraged_token_replay::cli::run(a))),
        Command::Chain(cmd) => run_chain(cli.global, cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if let Some(f) = e.downcast_ref::<TxFailed>() {
                for l in f.relevant_logs() {
                    eprintln!("  log: {l}");
                }
                if !f.signature.is_empty() && !f.simulated {
                    eprintln!("  signature: {}", f.signature);
                }
            }
            ExitCode::FAILURE
        }
    }
}
