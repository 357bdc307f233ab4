//! `lt-keeper`: rebalance every leveraged token whose gate is open, execute
//! users' requests once the update for their price time is at hand, and
//! cancel expired ones.
//!
//! Loops Fetch → Decide → Fire → Emit every `--interval` seconds (or once
//! with `--once`), serves Prometheus metrics on `--metrics-addr`, and stops
//! after the current loop on Ctrl-C or SIGTERM (a second Ctrl-C exits at once).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use leveraged_token_keeper::cli::{default_keypair_path, load_keypair, parse_commitment, parse_pull_oracle, resolve_url};
use leveraged_token_keeper::{FireOptions, Keeper, KeeperConfig};
use leveraged_token_sdk::chain::{Chain, RpcChain};
use tracing_subscriber::EnvFilter;

#[derive(Parser, Debug)]
#[command(name = "lt-keeper", version, about = "Permissionless keeper for leveraged tokens: rebalances, request executions, cancellations of expired requests")]
struct Args {
    /// Cluster: localhost, devnet, testnet, mainnet-beta, or an http(s):// RPC URL.
    #[arg(short = 'u', long, default_value = "localhost")]
    url: String,
    /// Fee payer and reward recipient: a Solana JSON keypair file [default: ~/.config/solana/id.json].
    #[arg(short = 'k', long)]
    keypair: Option<PathBuf>,
    /// Commitment for reads and confirmations: processed, confirmed, finalized.
    #[arg(long, default_value = "confirmed")]
    commitment: String,
    /// Run one loop and exit (non-zero if the loop could not fetch, or a rebalance or request failed).
    #[arg(long)]
    once: bool,
    /// Seconds between loops.
    #[arg(long, default_value_t = 5.0)]
    interval: f64,
    /// Simulate rebalances and request executions, send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Priority fee: compute-unit price in micro-lamports.
    #[arg(long, default_value_t = 0)]
    priority_fee: u64,
    /// Serve Prometheus metrics (GET /metrics) on this address, e.g. 127.0.0.1:9464.
    #[arg(long)]
    metrics_addr: Option<SocketAddr>,
    /// Rediscover tokens (getProgramAccounts) every this many loops.
    #[arg(long, default_value_t = 10)]
    refresh_every: u64,
    /// Attempts per simulate/send on an expired blockhash or timeout.
    #[arg(long, default_value_t = 3)]
    max_attempts: u32,
    /// Pull-oracle markets: FEED_ID_HEX=ACCOUNT reads that feed's PriceUpdateV2
    /// from ACCOUNT instead of the sponsored feed account (repeatable).
    #[arg(long = "pull-oracle")]
    pull_oracles: Vec<String>,
    /// Rebalance only: do not execute or cancel users' requests (no request scan).
    #[arg(long)]
    no_requests: bool,
    /// Pay the rent of an owner's missing destination token account to execute
    /// its request (costs more than the executor fee; default: the request waits).
    #[arg(long)]
    create_destinations: bool,
    /// Log lines on stderr as text or as one JSON object per line (for log shippers).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LogFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init(),
        LogFormat::Json => logs.json().init(),
    }
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<ExitCode, String> {
    let url = resolve_url(&args.url)?;
    let commitment = parse_commitment(&args.commitment)?;
    if !args.interval.is_finite() || args.interval < 0.0 {
        return Err(format!("bad --interval {}: expected a non-negative number of seconds", args.interval));
    }
    let pull_oracles = args.pull_oracles.iter().map(|s| parse_pull_oracle(s)).collect::<Result<_, _>>()?;
    let keypair = load_keypair(&args.keypair.clone().unwrap_or_else(default_keypair_path))?;
    let config = KeeperConfig {
        fire: FireOptions { priority_fee: args.priority_fee, dry_run: args.dry_run, max_attempts: args.max_attempts.max(1), ..FireOptions::default() },
        refresh_every: args.refresh_every.max(1),
        pull_oracles,
        requests: !args.no_requests,
        create_destinations: args.create_destinations,
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(|e| format!("cannot start the async runtime: {e}"))?;
    rt.block_on(serve(args, url, commitment, keypair, config))
}

async fn serve(args: Args, url: String, commitment: solana_commitment_config::CommitmentConfig, keypair: solana_keypair::Keypair, config: KeeperConfig) -> Result<ExitCode, String> {
    let mut chain = RpcChain::new(&url, commitment);
    let mut keeper = Keeper::new(keypair, config);

    // Fail fast on a wrong URL or a dead endpoint, with one line.
    let slot = chain.slot().await.map_err(|e| e.to_string())?;
    let payer = keeper.pubkey();
    let lamports = chain.accounts(&[payer]).await.map_err(|e| e.to_string())?.into_iter().next().flatten().map(|a| a.lamports).unwrap_or(0);
    tracing::info!(endpoint = %chain.endpoint(), slot, keeper = %payer, lamports, dry_run = args.dry_run, priority_fee = args.priority_fee, "lt-keeper starting");
    if lamports == 0 && !args.dry_run {
        tracing::warn!(keeper = %payer, "the keeper has no SOL to pay transaction fees");
    }

    if let Some(addr) = args.metrics_addr {
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot serve metrics on {addr}: {e}"))?;
        tracing::info!(%addr, "serving Prometheus metrics on GET /metrics");
        tokio::spawn(leveraged_token_keeper::emit::serve_metrics(listener, keeper.metrics()));
    }

    // Ctrl-C / SIGTERM: finish the current loop, then stop. A second Ctrl-C exits now.
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("stop requested: finishing the current loop (Ctrl-C again to exit now)");
        let _ = stop_tx.send(true);
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });

    let interval = Duration::from_secs_f64(args.interval);
    let mut code = ExitCode::SUCCESS;
    loop {
        let before = keeper.counters();
        let result = keeper.run_once(&mut chain).await;
        if args.once {
            let since = keeper.counters().since(&before);
            if result.is_err() || since.failed > 0 || since.requests_failed > 0 {
                code = ExitCode::FAILURE;
            }
            break;
        }
        if *stop_rx.borrow() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop_rx.changed() => break,
        }
    }
    let c = keeper.counters();
    tracing::info!(
        loops = c.loops,
        checked = c.checked,
        sent = c.sent,
        landed = c.landed,
        skipped = c.skipped,
        failed = c.failed,
        reward_earned = c.reward_earned,
        requests_filled = c.requests_filled,
        requests_refunded = c.requests_refunded,
        requests_expired = c.requests_expired,
        requests_failed = c.requests_failed,
        executor_fees_earned = c.executor_fees_earned,
        "lt-keeper stopped"
    );
    Ok(code)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
