//! `lt-deploy`: make a cluster match `migrations/<cluster>.toml`.
//!
//! * `lt-deploy apply FILE` — read the chain, print the plan (only what
//!   differs from the file), ask, then send it, one transaction per action,
//!   signed by the admin keypair. A second run prints "nothing to do".
//!   `--dry-run` stops after the plan; `--yes` does not ask.
//! * `lt-deploy mint-fixture` — an SPL mint account as JSON for
//!   `solana-test-validator --account`, so localnet has its collateral mint at
//!   the fixed address `migrations/localnet.toml` names.
//!
//! The logic lives in `leveraged_token_sdk::deploy` and is tested in the bank
//! (tests/tests/deploy.rs); this binary only adds the RPC, the keypair and the prompt.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::program_option::COption;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_spl::token::spl_token;
use anyhow::{bail, Context};
use base64::Engine;
use clap::{Parser, Subcommand};
use leveraged_token_sdk::chain::RpcChain;
use leveraged_token_sdk::deploy::{self, DeployConfig};
use solana_signer::Signer;

#[derive(Parser)]
#[command(name = "lt-deploy", version, about = "Declarative, idempotent deployment of leveraged-token markets and tokens")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Plan and apply a deploy file (migrations/<cluster>.toml).
    Apply(ApplyArgs),
    /// Write an SPL mint account as JSON for `solana-test-validator --account`.
    MintFixture(MintFixtureArgs),
}

#[derive(clap::Args)]
struct ApplyArgs {
    /// The deploy file, e.g. migrations/localnet.toml.
    file: PathBuf,
    /// RPC URL (default: the file's `url`, else its cluster's public endpoint).
    #[arg(long, short = 'u')]
    url: Option<String>,
    /// Admin keypair: signs and pays (default: ~/.config/solana/id.json).
    #[arg(long, short = 'k')]
    keypair: Option<PathBuf>,
    /// Send without asking.
    #[arg(long, short = 'y')]
    yes: bool,
    /// Print the plan and stop.
    #[arg(long)]
    dry_run: bool,
}

#[derive(clap::Args)]
struct MintFixtureArgs {
    /// Address of the mint.
    #[arg(long)]
    address: Pubkey,
    #[arg(long, default_value_t = 6)]
    decimals: u8,
    /// Mint authority (e.g. `solana address`), so `spl-token mint` works.
    #[arg(long)]
    authority: Pubkey,
    /// Output file (default: stdout).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

fn default_keypair() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    home.join(".config/solana/id.json")
}

fn expand(p: PathBuf) -> PathBuf {
    match p.to_str().and_then(|s| s.strip_prefix("~/")) {
        Some(rest) => std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default().join(rest),
        None => p,
    }
}

async fn apply(a: ApplyArgs) -> anyhow::Result<()> {
    let config = DeployConfig::load(&a.file)?;
    // File errors (placeholders, typos, bad parameters) first, before any key or RPC.
    config.resolve(Pubkey::new_unique())?;
    let url = a.url.clone().or_else(|| config.default_url()).context("no RPC URL: pass --url or set `url` / `cluster` in the file")?;
    let keypair_path = expand(a.keypair.clone().unwrap_or_else(default_keypair));
    let admin = solana_keypair::read_keypair_file(&keypair_path).map_err(|e| anyhow::anyhow!("reading keypair {}: {e}", keypair_path.display()))?;
    let mut chain = RpcChain::new(&url, solana_commitment_config::CommitmentConfig::confirmed());

    let plan = deploy::plan(&mut chain, &config, admin.pubkey()).await?;
    print!("{plan}");
    if plan.is_empty() || a.dry_run {
        if a.dry_run && !plan.is_empty() {
            println!("dry run: nothing sent");
        }
        return Ok(());
    }
    if !a.yes {
        if !std::io::stdin().is_terminal() {
            bail!("refusing to send {} transaction(s) without --yes (stdin is not a terminal)", plan.actions.len());
        }
        print!("send {} transaction(s) to {url}, signed by {}? [y/N] ", plan.actions.len(), admin.pubkey());
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("nothing sent");
            return Ok(());
        }
    }
    let report = deploy::apply_plan(&mut chain, &plan, &admin).await?;
    for (what, sig) in &report.sent {
        println!("  sent {sig}  {what}");
    }
    let after = deploy::plan(&mut chain, &config, admin.pubkey()).await?;
    if after.is_empty() && after.pending.is_empty() {
        println!("done: {} transaction(s); the chain now matches {}", report.sent.len(), a.file.display());
    } else if after.is_empty() {
        println!("sent {} transaction(s); {} parameter change(s) wait out the timelock: run this again once applicable:\n{after}", report.sent.len(), after.pending.len());
    } else {
        println!("sent {} transaction(s), but the chain still differs (not yet confirmed?):\n{after}", report.sent.len());
    }
    Ok(())
}

fn mint_fixture(a: MintFixtureArgs) -> anyhow::Result<()> {
    let mint = spl_token::state::Mint { mint_authority: COption::Some(a.authority), supply: 0, decimals: a.decimals, is_initialized: true, freeze_authority: COption::None };
    let mut data = vec![0u8; spl_token::state::Mint::LEN];
    spl_token::state::Mint::pack(mint, &mut data)?;
    // Rent-exempt minimum for 82 bytes at the default rent.
    let lamports = (128 + data.len() as u64) * 3_480 * 2;
    let json = format!(
        "{{\n  \"pubkey\": \"{}\",\n  \"account\": {{\n    \"lamports\": {lamports},\n    \"data\": [\"{}\", \"base64\"],\n    \"owner\": \"{}\",\n    \"executable\": false,\n    \"rentEpoch\": 0,\n    \"space\": {}\n  }}\n}}\n",
        a.address,
        base64::engine::general_purpose::STANDARD.encode(&data),
        spl_token::ID,
        data.len()
    );
    match a.out {
        Some(p) => std::fs::write(&p, json).with_context(|| format!("writing {}", p.display()))?,
        None => print!("{json}"),
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Apply(a) => tokio::runtime::Runtime::new().map_err(anyhow::Error::from).and_then(|rt| rt.block_on(apply(a))),
        Command::MintFixture(a) => mint_fixture(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
