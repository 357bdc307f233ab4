//! `lt`: the leveraged-token client.
//!
//! * `lt demo` — the main job: boots the program in an in-process bank, runs a
//!   market with a 3x long and a 1x short through real price history with a
//!   keeper rebalancing whenever the gate opens, and prints what happened.
//! * `lt oracle-fixture` — writes a Pyth account as JSON for
//!   `solana-test-validator --account`, so a local validator has prices.

#![allow(deprecated)]

mod demo;
mod fixture;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "lt", version, about = "Client for on-chain leveraged tokens")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the embedded local-bank demo (no validator needed).
    Demo(demo::DemoArgs),
    /// Write a Pyth price account as JSON for `solana-test-validator --account`.
    OracleFixture(fixture::FixtureArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(a) => tokio::runtime::Runtime::new().map_err(anyhow::Error::from).and_then(|rt| rt.block_on(demo::run(a))),
        Command::OracleFixture(a) => fixture::run(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
