//! `lt demo`: the program in an in-process bank, driven through real price
//! history by a keeper that rebalances whenever the gate opens.
//!
//! Steps: create a USDC-like mint, a Pyth price account, the config, a market
//! with a 1,000,000 USDC LP pool, a 3x long and a 1x short token; a holder
//! mints 10,000 USDC of each; then every point of the price path is written to
//! the oracle (four points a day: open, nearer extreme, other extreme, close),
//! slots advance with time, and the shipped keeper (`lt-keeper`'s own
//! `Keeper::run_once` on the bank as a `Chain`: fetch, decide with the
//! program's math, simulate, send) rebalances whatever gate is open. At the end the holder redeems,
//! fees go to the treasury and the LP withdraws; the P&L of each is printed.

use std::path::PathBuf;

use anchor_lang::prelude::Pubkey;
use anchor_spl::associated_token::get_associated_token_address;
use anyhow::{bail, Result};
use leveraged_token::events::{Rebalanced, TokenWiped};
use leveraged_token::math::price::normalize_price;
use leveraged_token::math::rebalance::trigger_name;
use leveraged_token::state::{LeveragedToken, Market};
use leveraged_token_harness::bank::{self, Bank};
use leveraged_token_harness::deployment::{Deployer, MarketSpec, Oracle};
use leveraged_token_harness::BankChain;
use leveraged_token_keeper::{FireOutcome, Keeper, KeeperConfig};
use leveraged_token_replay::report::date;
use leveraged_token_replay::{history, progress};
use leveraged_token_sdk::decide::{nav_per_share, settle_view, TokenView};
use leveraged_token_sdk::events::decode_events;
use leveraged_token_sdk::prices::{fill_path, PricePoint, DAY_MS};
use leveraged_token_sdk::{defaults, ix, MarketKeys, TokenKeys};

const DECIMALS: u8 = 6;
const USDC: u64 = 1_000_000;
const SLOT_MS: i64 = 400;
/// Largest oracle step within a day (bps), as in `lt replay`'s default.
const MAX_STEP_BPS: u32 = 100;

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Price history: CryptoDataDownload daily CSV or `timestamp,price` CSV.
    /// Default: data/Binance_BTCUSDT_d.csv, committed in the repository and
    /// embedded at build time.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Days of history to run (from the oldest).
    #[arg(long, default_value_t = 90)]
    days: usize,
    /// Show the bank's program logs on stderr (thousands of lines; `RUST_LOG` also works).
    #[arg(short, long)]
    verbose: bool,
}

struct Demo {
    /// The bank behind the `Chain` the shipped keeper runs on.
    chain: BankChain,
    oracle: Oracle,
    market: MarketKeys,
    tokens: Vec<(&'static str, TokenKeys)>,
    /// The shipped keeper (`lt-keeper`'s loop), running on the bank.
    keeper: Keeper,
    price_e8: i64,
}

impl Demo {
    async fn publish(&mut self, price_e8: i64) {
        self.price_e8 = price_e8;
        self.oracle.publish(&mut self.chain.bank, price_e8, Oracle::default_conf(price_e8)).await;
    }

    async fn view(&mut self, t: &TokenKeys) -> TokenView {
        TokenView {
            market: self.chain.bank.account::<Market>(self.market.market).await,
            token: self.chain.bank.account::<LeveragedToken>(t.token).await,
            vault_amount: self.chain.bank.balance(t.vault).await,
            pool_amount: self.chain.bank.balance(self.market.pool_vault).await,
            share_supply: self.chain.bank.supply(t.share_mint).await,
        }
    }

    fn price(&self) -> leveraged_token::math::price::NormalizedPrice {
        normalize_price(self.price_e8, 0, -8, DECIMALS).expect("positive price")
    }

    async fn nav(&mut self, t: &TokenKeys) -> Result<f64> {
        let v = self.view(t).await;
        let slot = self.chain.bank.slot().await;
        let s = settle_view(&v, &self.price(), slot).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        Ok(nav_per_share(s.equity, v.share_supply, DECIMALS).map_err(|e| anyhow::anyhow!("{e:?}"))? as f64 / USDC as f64)
    }
}

fn usd(units: u64) -> String {
    format!("{:.2}", units as f64 / USDC as f64)
}

pub async fn run(args: DemoArgs) -> Result<()> {
    // The file is read and checked before anything is printed: a bad file is
    // one line on stderr and no partial report.
    let history = match &args.csv {
        Some(p) => history::load_file(p)?,
        None => history::BTC.load(),
    };
    let start = history.points[0].unix_ms;
    let days: Vec<PricePoint> = history.points.iter().copied().filter(|p| p.unix_ms < start + args.days as i64 * DAY_MS).collect();
    if days.len() < 2 {
        bail!("{}: need at least two price points in the first {} days, found {}", history.source, args.days, days.len());
    }
    // The oracle between the four daily points, as `lt replay` fills it.
    let path = fill_path(&days, MAX_STEP_BPS);
    let source = format!("{} ({} missing days in the file; oracle filled in ≤ 1 % steps within a day)", history.source, history.missing_days);
    bank::set_verbose(args.verbose);
    println!("lt demo — leveraged tokens in an in-process bank (program run natively, SPL Token as BPF)");
    println!("price path: {source}: {} points over {} days from {}\n", path.len(), args.days, date(start));

    // --- deployment -------------------------------------------------------------
    let mut bank = Bank::new().await;
    let deployer = Deployer::init(&mut bank, Some(Pubkey::new_unique())).await;
    let oracle = Oracle::legacy(Pubkey::new_unique());
    let first = path[0].price_e8;
    let spec = MarketSpec::new(oracle)
        .decimals(DECIMALS)
        .price(first, Oracle::default_conf(first))
        .token(30_000, defaults::token_params(30_000, USDC))
        .token(-10_000, defaults::token_params(-10_000, USDC))
        .liquidity(1_000_000 * USDC);
    let mut dep = deployer.market(&mut bank, spec).await;
    let holder = dep.holder(&mut bank, 20_000 * USDC).await;
    for i in 0..dep.tokens.len() {
        holder.mint(&mut bank, &dep, i, 10_000 * USDC).await.unwrap();
    }
    let lp = dep.lp.take().expect("the spec seeds the pool");
    let (market, long, short) = (dep.market, dep.tokens[0], dep.tokens[1]);
    let keeper = Keeper::new(bank.funded_keypair().await, KeeperConfig::default());
    let keeper_collateral = get_associated_token_address(&keeper.pubkey(), &dep.collateral);
    let mut d = Demo { chain: BankChain::new(bank), oracle, market, tokens: vec![("3x long", long), ("1x short", short)], keeper, price_e8: first };
    // The keeper discovers what this chain has seen (the bank has no getProgramAccounts).
    d.chain.track(dep.program_accounts());
    println!("deployed: market {} (pool 1,000,000 USDC), tokens 3x long {} and 1x short {}", market.market, long.token, short.token);
    println!("holder minted 10,000 USDC of each at ${:.2}\n", path[0].price_e8 as f64 / 1e8);

    // --- the path ---------------------------------------------------------------
    println!("{:<10} {:>10} {:<9} {:<10} {:>8} {:>8} {:>14} {:>10}", "date", "price", "token", "trigger", "lev in", "lev out", "traded USDC", "NAV/share");
    let mut ideal = [1.0f64; 2];
    let mut last_close = path[0].price_e8 as f64;
    let mut rebalances = 0;
    let slot0 = d.chain.bank.slot().await;
    let progress = progress::bar(path.len() as u64, "demo");
    for (i, p) in path.iter().enumerate().skip(1) {
        progress.set_position(i as u64);
        // Slots follow the path's own time (no drift from per-step rounding), at least one per point.
        let now = d.chain.bank.slot().await;
        let target = slot0 + ((p.unix_ms - start) / SLOT_MS) as u64;
        d.chain.bank.warp(target.saturating_sub(now).max(1)).await;
        d.publish(p.price_e8).await;
        // Ideal daily-reset return, compounded at each day's close.
        if (p.unix_ms - start) % DAY_MS == 3 * DAY_MS / 4 {
            let r = p.price_e8 as f64 / last_close - 1.0;
            ideal[0] *= 1.0 + 3.0 * r;
            ideal[1] *= 1.0 - r;
            last_close = p.price_e8 as f64;
        }
        // The keeper's own loop: Fetch → Decide → Fire → Emit, as `lt-keeper` runs it.
        let report = d.keeper.run_once(&mut d.chain).await.map_err(|e| anyhow::anyhow!("keeper: {e}"))?;
        for (token, outcome) in report.outcomes {
            let FireOutcome::Landed { report: tx, .. } = outcome else { continue };
            let Some((name, t)) = d.tokens.iter().find(|(_, t)| t.token == token).cloned() else { continue };
            rebalances += 1;
            let nav = d.nav(&t).await?;
            if let Some(e) = decode_events::<Rebalanced>(&tx.logs).first() {
                progress.suspend(|| {
                    println!(
                        "{:<10} {:>10.2} {:<9} {:<10} {:>7.2}x {:>7.2}x {:>14.2} {:>10.4}",
                        date(p.unix_ms),
                        p.price_e8 as f64 / 1e8,
                        name,
                        trigger_name(e.triggers),
                        e.leverage_before_bps as f64 / 1e4,
                        e.leverage_after_bps as f64 / 1e4,
                        e.trade_notional as f64 / USDC as f64,
                        nav
                    )
                });
            } else if let Some(w) = decode_events::<TokenWiped>(&tx.logs).first() {
                progress.suspend(|| println!("{:<10} {:>10.2} {:<9} WIPED: bad debt {} USDC absorbed by the pool", date(p.unix_ms), p.price_e8 as f64 / 1e8, name, usd(w.bad_debt)));
            }
        }
    }

    progress.finish_and_clear();

    // --- exit -------------------------------------------------------------------
    let end_price = d.price_e8 as f64;
    let underlying = end_price / path[0].price_e8 as f64 - 1.0;
    println!("\n{} rebalances over {} days; underlying {:+.2}% (${:.2} → ${:.2})\n", rebalances, args.days, underlying * 100.0, path[0].price_e8 as f64 / 1e8, end_price / 1e8);
    println!("{:<9} {:>12} {:>12} {:>9} {:>16} {:>11} {:>12} {:>12}", "token", "paid USDC", "got USDC", "return", "ideal daily 1x/3x", "rebalances", "trade fees", "keeper paid");
    for (k, ((name, t), shares)) in d.tokens.clone().iter().zip(&holder.shares).enumerate() {
        let before = d.chain.bank.balance(holder.collateral).await;
        let n = d.chain.bank.balance(*shares).await;
        let state: LeveragedToken = d.chain.bank.account(t.token).await;
        if n > 0 {
            d.chain.bank.send(&[ix::redeem(holder.key(), t, *shares, holder.collateral, n, 0)], &[&holder.kp]).await.unwrap();
        }
        let got = d.chain.bank.balance(holder.collateral).await - before;
        let ret = got as f64 / (10_000 * USDC) as f64 - 1.0;
        println!(
            "{:<9} {:>12} {:>12} {:>8.2}% {:>15.2}% {:>11} {:>12} {:>12}",
            name,
            usd(10_000 * USDC),
            usd(got),
            ret * 100.0,
            (ideal[k] - 1.0) * 100.0,
            state.rebalance_count,
            usd(state.total_trade_fees),
            usd(state.total_keeper_rewards)
        );
        let t_now: LeveragedToken = d.chain.bank.account(t.token).await;
        if t_now.fees_owed > 0 {
            d.chain.bank.send(&[ix::collect_fees(t, dep.treasury_collateral)], &[]).await.unwrap();
        }
    }
    let lp_n = d.chain.bank.balance(lp.lp).await;
    d.chain.bank.send(&[ix::withdraw_liquidity(lp.key(), &market, lp.collateral, lp.lp, lp_n, 0)], &[&lp.kp]).await.unwrap();
    let lp_got = d.chain.bank.balance(lp.collateral).await;
    println!(
        "\nLP pool: deposited 1,000,000.00 USDC, withdrew {} USDC ({:+.4}%): trade fees, borrow fees and the holders' losses, less their gains",
        usd(lp_got),
        (lp_got as f64 / 1e12 - 1.0) * 100.0
    );
    let keeper_paid = if d.chain.bank.raw_account(keeper_collateral).await.is_some() { d.chain.bank.balance(keeper_collateral).await } else { 0 };
    println!("treasury: {} USDC of mint/redeem/streaming fees; keeper: {} USDC of rewards", usd(d.chain.bank.balance(dep.treasury_collateral).await), usd(keeper_paid));
    Ok(())
}
