//! `lt-replay`: the same as `lt replay`.
//!
//! ```text
//! lt-replay --csv data/Binance_BTCUSDT_d.csv --days 365 --out target/replay
//! lt-replay --report docs/performance.md          # both committed histories (data/), all policies
//! ```

use clap::Parser;
use leveraged_token_replay::cli::{run, ReplayArgs};

#[derive(Parser)]
#[command(name = "lt-replay", about = "Replay price history through the leveraged-token program")]
struct Cli {
    #[command(flatten)]
    args: ReplayArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse().args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
