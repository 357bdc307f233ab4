//! `lt demo`: the program in an in-process bank, driven through real price
//! history by a keeper that rebalances whenever the gate opens.
//!
//! Steps: create a USDC-like mint, a Pyth **pull** oracle (a `PriceUpdateV2`
//! account of the BTC/USD feed whose updates chain a second apart, as Pyth's
//! do), the config, a market with a 1,000,000 USDC LP pool, a 3x long and a
//! 1x short token; a holder mints 10,000 USDC of each; then every point of
//! the price path is published as a fresh update (four points a day: open,
//! nearer extreme, other extreme, close), the clock follows the path's time,
//! and the shipped keeper (`lt-keeper`'s own `Keeper::run_once` on the bank
//! as a `Chain`: fetch, decide with the program's math, simulate, send)
//! rebalances whatever gate is open. At the end the holder redeems, fees go
//! to the treasury and the LP withdraws; the P&L of each is printed.
//!
//! Every mint, redeem and withdrawal goes through the program's two steps, as
//! a user's does: the request escrows what is paid and fixes a price time,
//! the clock moves to that time, the update for it is published (the path's
//! price then) and an executor (the keeper's key) executes it for the
//! request's executor fee. The figures are what a user would get.

use std::path::PathBuf;

use std::collections::HashMap;

use anchor_lang::prelude::Pubkey;
use anchor_spl::associated_token::get_associated_token_address;
use anyhow::{anyhow, bail, Result};
use leveraged_token::events::{LiquidityWithdrawn, Minted, Rebalanced, Redeemed, RequestRefunded, TokenWiped};
use leveraged_token::math::price::normalize_price;
use leveraged_token::math::rebalance::trigger_name;
use leveraged_token::math::PRICE_SCALE;
use leveraged_token::state::{LeveragedToken, Market, OracleKind, Request, RequestKind};
use leveraged_token_harness::bank::{self, Bank, TxOutcome};
use leveraged_token_harness::deployment::{Deployer, Deployment, MarketSpec, Oracle};
use leveraged_token_harness::requests::next_nonce;
use leveraged_token_harness::BankChain;
use leveraged_token_keeper::{FireOutcome, Keeper, KeeperConfig};
use leveraged_token_replay::report::date;
use leveraged_token_replay::{history, progress};
use leveraged_token_sdk::decide::{nav_per_share, settle_view, TokenView};
use leveraged_token_sdk::events::decode_events;
use leveraged_token_sdk::prices::{fill_path, PricePoint, DAY_MS};
use leveraged_token_sdk::requests::execute_ixs;
use leveraged_token_sdk::{defaults, ix, pda, MarketKeys, TokenKeys};
use solana_keypair::Keypair;
use solana_signer::Signer;

const DECIMALS: u8 = 6;
const USDC: u64 = 1_000_000;
const SLOT_MS: i64 = 400;
/// Largest oracle step within a day (bps), as in `lt replay`'s default.
const MAX_STEP_BPS: u32 = 100;
/// The Pyth BTC/USD feed id: the demo's pull oracle publishes it.
const BTC_USD_FEED: &str = "e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43";

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
    dep: Deployment,
    market: MarketKeys,
    tokens: Vec<(&'static str, TokenKeys)>,
    /// The shipped keeper (`lt-keeper`'s loop), running on the bank.
    keeper: Keeper,
    /// The keeper's key, which also executes the users' requests.
    executor: Keypair,
    /// Lamports of executor fees the executor earned, and its executions.
    executor_fees: (u64, u32),
    price_e8: i64,
}

/// A request as sent: its owner, nonce and account.
struct Sent {
    owner: Pubkey,
    nonce: u64,
    request: Request,
}

impl Demo {
    async fn publish(&mut self, price_e8: i64) {
        self.price_e8 = price_e8;
        self.oracle.publish(&mut self.chain.bank, price_e8, Oracle::default_conf(price_e8)).await;
    }

    /// Step one: `owner` requests `kind` (token `token`) for `amount`, with no minimum out.
    async fn request(&mut self, owner: &Keypair, kind: RequestKind, token: Option<usize>, amount: u64) -> Result<Sent> {
        let nonce = next_nonce();
        let ix = self.dep.request_ix(owner.pubkey(), kind, token, nonce, amount, 0);
        let out = self.chain.bank.send(&[ix], &[owner]).await;
        if let Err(e) = &out.result {
            bail!("{} request refused: {e:?}\n{}", kind.name(), out.logs.join("\n"));
        }
        let request = self.chain.bank.account(pda::request(&owner.pubkey(), nonce).0).await;
        Ok(Sent { owner: owner.pubkey(), nonce, request })
    }

    /// Step two: move the clock to the request's price time, publish the
    /// update for that time at `price_e8`, and execute as the executor.
    async fn execute(&mut self, sent: &Sent, price_e8: i64) -> Result<TxOutcome> {
        let r = &sent.request;
        self.chain.bank.reach(OracleKind::PythPull, r.target).await;
        self.price_e8 = price_e8;
        self.oracle.publish_for(&mut self.chain.bank, price_e8, Oracle::default_conf(price_e8), r.target).await;
        let token = self.dep.tokens.iter().find(|t| t.token == r.token).copied();
        let ixs = execute_ixs(self.executor.pubkey(), r, &self.market, token.as_ref(), self.oracle.key, &self.dep.tokens);
        let out = self.chain.bank.send(&ixs, &[&self.executor]).await;
        if let Err(e) = &out.result {
            bail!("execution of {} request {} of {} failed: {e:?}\n{}", r.kind.name(), sent.nonce, sent.owner, out.logs.join("\n"));
        }
        self.executor_fees.0 += r.executor_fee;
        self.executor_fees.1 += 1;
        Ok(out)
    }

    /// One line for a request and its execution: what was asked, the price
    /// time, the fill or refund, the executor fee.
    fn step_line(&self, what: &str, sent: &Sent, out: &TxOutcome) -> String {
        let r = &sent.request;
        let price = |p: u128| format!("${:.2}", p as f64 / PRICE_SCALE as f64 / USDC as f64);
        let result = if let Some(f) = out.events::<RequestRefunded>().first() {
            format!("refunded ({:?})", f.reason)
        } else if let Some(m) = out.events::<Minted>().first() {
            format!("filled at {}: {} shares", price(m.price), usd(m.shares_out))
        } else if let Some(m) = out.events::<Redeemed>().first() {
            format!("filled at {}: {} USDC", price(m.price), usd(m.collateral_out))
        } else if let Some(m) = out.events::<LiquidityWithdrawn>().first() {
            format!("filled at {}: {} USDC", price(m.price), usd(m.amount_out))
        } else {
            "executed".to_string()
        };
        format!("  {what}: request (nonce {}) → price time request + {} s → executed by the keeper, {result}; executor fee {} lamports", sent.nonce, r.target - r.requested_at, r.executor_fee)
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
        let clock = self.chain.bank.clock().await;
        let s = settle_view(&v, &self.price(), clock.slot, clock.unix_timestamp).map_err(|e| anyhow::anyhow!("{e:?}"))?;
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
    let feed = crate::commands::market::parse_feed_id(BTC_USD_FEED)?;
    let oracle = Oracle::pull(Pubkey::new_unique(), feed);
    let first = path[0].price_e8;
    let spec = MarketSpec::new(oracle)
        .decimals(DECIMALS)
        .price(first, Oracle::default_conf(first))
        .token(30_000, defaults::token_params(30_000, USDC))
        .token(-10_000, defaults::token_params(-10_000, USDC))
        .liquidity(1_000_000 * USDC);
    let mut dep = deployer.market(&mut bank, spec).await;
    let holder = dep.holder(&mut bank, 20_000 * USDC).await;
    let lp = dep.lp.take().expect("the spec seeds the pool");
    let (market, long, short) = (dep.market, dep.tokens[0], dep.tokens[1]);
    let executor = bank.funded_keypair().await;
    let keeper = Keeper::new(executor.insecure_clone(), KeeperConfig { pull_oracles: HashMap::from([(feed, oracle.key)]), ..KeeperConfig::default() });
    let keeper_collateral = get_associated_token_address(&keeper.pubkey(), &dep.collateral);
    let treasury_collateral = dep.treasury_collateral;
    let program_accounts = dep.program_accounts();
    let mut d = Demo { chain: BankChain::new(bank), oracle, dep, market, tokens: vec![("3x long", long), ("1x short", short)], keeper, executor, executor_fees: (0, 0), price_e8: first };
    // The keeper discovers what this chain has seen (the bank has no getProgramAccounts).
    d.chain.track(program_accounts);
    println!("deployed: market {} (pull oracle, pool 1,000,000 USDC), tokens 3x long {} and 1x short {}", market.market, long.token, short.token);
    // Both mints are requested at once and execute at the same price time,
    // so both tokens' daily schedules start at the path's first point.
    let mut mints = Vec::new();
    for i in 0..d.tokens.len() {
        mints.push(d.request(&holder.kp, RequestKind::Mint, Some(i), 10_000 * USDC).await?);
    }
    let mut lines = Vec::new();
    for (i, sent) in mints.iter().enumerate() {
        let out = d.execute(sent, first).await?;
        if out.events::<Minted>().is_empty() {
            bail!("the holder's mint did not fill:\n{}", out.logs.join("\n"));
        }
        lines.push(d.step_line(&format!("mint 10,000 USDC of the {}", d.tokens[i].0), sent, &out));
    }
    println!("holder minted 10,000 USDC of each at ${:.2}", first as f64 / 1e8);
    for l in lines {
        println!("{l}");
    }
    println!();
    let start_clock = d.chain.bank.clock().await;
    let (slot0, ts0) = (start_clock.slot, start_clock.unix_timestamp);

    // --- the path ---------------------------------------------------------------
    println!("{:<10} {:>10} {:<9} {:<10} {:>8} {:>8} {:>14} {:>10}", "date", "price", "token", "trigger", "lev in", "lev out", "traded USDC", "NAV/share");
    let mut ideal = [1.0f64; 2];
    let mut last_close = path[0].price_e8 as f64;
    let mut rebalances = 0;
    let progress = progress::bar(path.len() as u64, "demo");
    for (i, p) in path.iter().enumerate().skip(1) {
        progress.set_position(i as u64);
        // Slots and the clock follow the path's own time from its first point
        // (no drift from per-step rounding), at least one slot per point, so a
        // daily schedule's time is a day's point and its fresh update is the
        // update for that time.
        let now = d.chain.bank.clock().await;
        let elapsed_ms = p.unix_ms - start;
        let target = slot0 + (elapsed_ms / SLOT_MS) as u64;
        d.chain.bank.warp(target.saturating_sub(now.slot).max(1)).await;
        let mut clock = d.chain.bank.clock().await;
        clock.unix_timestamp = (ts0 + elapsed_ms / 1_000).max(now.unix_timestamp);
        d.chain.bank.ctx.set_sysvar(&clock);
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
    let end_price = d.price_e8;
    let underlying = end_price as f64 / path[0].price_e8 as f64 - 1.0;
    println!("\n{} rebalances over {} days; underlying {:+.2}% (${:.2} → ${:.2})\n", rebalances, args.days, underlying * 100.0, path[0].price_e8 as f64 / 1e8, end_price as f64 / 1e8);
    // The holder's redeems, requested at once and executed at the last price.
    let mut redeems = Vec::new();
    for (k, shares) in holder.shares.iter().enumerate() {
        let n = d.chain.bank.balance(*shares).await;
        let sent = if n > 0 { Some(d.request(&holder.kp, RequestKind::Redeem, Some(k), n).await?) } else { None };
        redeems.push((n, sent));
    }
    let mut lines = Vec::new();
    println!("{:<9} {:>12} {:>12} {:>9} {:>16} {:>11} {:>12} {:>12}", "token", "paid USDC", "got USDC", "return", "ideal daily 1x/3x", "rebalances", "trade fees", "keeper paid");
    for (k, (n, sent)) in redeems.into_iter().enumerate() {
        let (name, t) = d.tokens[k];
        let before = d.chain.bank.balance(holder.collateral).await;
        if let Some(sent) = &sent {
            let out = d.execute(sent, end_price).await?;
            lines.push(d.step_line(&format!("redeem {} shares of the {name}", usd(n)), sent, &out));
        }
        let state: LeveragedToken = d.chain.bank.account(t.token).await;
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
        if state.fees_owed > 0 {
            let out = d.chain.bank.send(&[ix::collect_fees(&t, treasury_collateral)], &[]).await;
            out.result.map_err(|e| anyhow!("collect_fees: {e:?}"))?;
        }
    }
    for l in lines {
        println!("{l}");
    }
    // The LP's withdrawal waits out the LP cooldown before its price time.
    let lp_n = d.chain.bank.balance(lp.lp).await;
    let sent = d.request(&lp.kp, RequestKind::Withdraw, None, lp_n).await?;
    let out = d.execute(&sent, end_price).await?;
    let line = d.step_line("LP withdraws everything", &sent, &out);
    let lp_got = d.chain.bank.balance(lp.collateral).await;
    println!(
        "\nLP pool: deposited 1,000,000.00 USDC, withdrew {} USDC ({:+.4}%): trade fees, the funding the book's imbalance paid, borrow, LP fees and the holders' losses, less their gains and the insurance fund's share",
        usd(lp_got),
        (lp_got as f64 / 1e12 - 1.0) * 100.0
    );
    println!("{line}");
    let m: Market = d.chain.bank.account(d.market.market).await;
    let insurance = d.chain.bank.balance(d.market.insurance_vault).await.saturating_add(m.insurance_owed);
    println!("insurance fund: {} USDC ({} % of trade fees and of the pool's funding and borrow income); bad debt {} USDC", usd(insurance), m.params.insurance_share_bps / 100, usd(m.bad_debt_total));
    let keeper_paid = if d.chain.bank.raw_account(keeper_collateral).await.is_some() { d.chain.bank.balance(keeper_collateral).await } else { 0 };
    println!(
        "treasury: {} USDC of mint/redeem/streaming fees; keeper: {} USDC of rewards and {} lamports of executor fees for {} executions",
        usd(d.chain.bank.balance(treasury_collateral).await),
        usd(keeper_paid),
        d.executor_fees.0,
        d.executor_fees.1
    );
    Ok(())
}
