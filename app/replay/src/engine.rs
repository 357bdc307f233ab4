//! The replay engine: the real program in the in-process bank, driven through a
//! price path. Each point writes the Pyth account and moves the bank's clock
//! (slots in proportion to time, 400 ms a slot); a keeper decides with the
//! program's own math and sends `rebalance` when the gate would open (one call
//! per token per point, so a chunked trade continues at the next point).

use std::time::Instant;

use anchor_lang::prelude::{Clock, Pubkey};
use anyhow::{anyhow, Result};
use leveraged_token::events::TokenWiped;
use leveraged_token::math::pool::{pool_value, Side};
use leveraged_token::math::price::{normalize_price, NormalizedPrice};
use leveraged_token::state::{LeveragedToken, Market};
use leveraged_token_harness::bank::Bank;
use leveraged_token_harness::deployment::{Deployer, MarketSpec, Oracle, PriceStatus};
use leveraged_token_sdk::decide::{decide, settle_view, Decision, TokenView};
use leveraged_token_sdk::prices::{PricePoint, DAY_MS};
use leveraged_token_sdk::{ix, MarketKeys, TokenKeys};
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::policy::Policy;

pub const DECIMALS: u8 = 6;
pub const UNIT: u64 = 1_000_000;
/// Each holder's mint per token.
pub const HOLDING: u64 = 100_000 * UNIT;
/// Each policy's LP pool.
pub const POOL: u64 = 10_000_000 * UNIT;
const SLOT_MS: i64 = 400;

/// One token under replay.
pub struct Run {
    pub policy: Policy,
    pub target_bps: i32,
    pub keys: TokenKeys,
    pub rows: Vec<Row>,
    pub wiped_at: Option<String>,
    pub bad_debt: u64,
    /// Random flow (see [`Flow`]): mints and redeems that landed, and ones the program refused.
    pub flow: FlowCounts,
}

/// Optional random mint/redeem flow from a second user, so the replay also
/// exercises the token while its holder base changes: at each day's close,
/// with probability `daily_probability`, the flow user either mints 1–10 % of
/// the holder's initial stake or redeems 10–50 % of its own shares (each
/// choice 50/50; a redeem needs shares). Seeded, so a run replays exactly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Flow {
    pub seed: u64,
    pub daily_probability: f64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowCounts {
    pub mints: u64,
    pub redeems: u64,
    /// Refused by the program with a named error (e.g. `UnpaidProfitOutstanding`, `ZeroSharesOut`).
    pub refused: u64,
}

/// xorshift64*: a tiny deterministic generator for the flow (no dependency).
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One market per policy (its own collateral mint, the same oracle).
struct PolicyMarket {
    keys: MarketKeys,
    keeper_collateral: Pubkey,
    /// The random flow's user (`Config::flow`).
    flow_user: Option<Keypair>,
}

/// A daily observation (at each day's close).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    pub unix_ms: i64,
    pub price: f64,
    /// NAV per share (collateral units per share, fees not deducted).
    pub nav: f64,
    /// Ideal daily-reset value per share: Π (1 + L · r_day).
    pub ideal: f64,
    pub leverage: f64,
    /// Signed base size in whole units.
    pub base: f64,
    pub equity: f64,
    /// Cumulative trade + borrow fees and keeper rewards (collateral units).
    pub costs: f64,
    pub rebalances: u64,
    /// The market's LP pool value.
    pub pool_value: f64,
    /// A rebalance landed since the previous row.
    pub rebalanced: bool,
}

pub struct ReplayResult {
    pub runs: Vec<Run>,
    pub points: usize,
    pub instructions: u64,
    pub wall_seconds: f64,
    pub missing_days: usize,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub policies: Vec<Policy>,
    pub targets: Vec<i32>,
    /// Random mint/redeem flow; `None` = the holder only.
    pub flow: Option<Flow>,
}

fn price_of(e8: i64) -> NormalizedPrice {
    normalize_price(e8, 0, -8, DECIMALS).expect("positive price")
}

/// Replay `path` (oldest first) for every policy × target.
pub async fn replay(path: &[PricePoint], missing_days: usize, cfg: &Config, mut progress: impl FnMut(usize, usize)) -> Result<ReplayResult> {
    let started = Instant::now();
    let first = path.first().ok_or_else(|| anyhow!("empty price path"))?;
    let mut bank = Bank::new().await;
    let mut instructions: u64 = 0;
    let keeper = bank.funded_keypair().await;
    let mut rng = Rng(cfg.flow.map_or(1, |f| f.seed.max(1)));
    // Per run: the flow user's (collateral account, share account).
    let mut flow_accounts = Vec::new();
    let oracle = Oracle::legacy(Pubkey::new_unique());
    let mut clock: Clock = bank.clock().await;
    // The treasury is the admin.
    let deployer = Deployer::init(&mut bank, None).await;

    let mut markets = Vec::new();
    let mut runs = Vec::new();
    for &policy in &cfg.policies {
        let mut spec = MarketSpec::new(oracle).decimals(DECIMALS).price(first.price_e8, Oracle::default_conf(first.price_e8)).liquidity(POOL);
        for &target in &cfg.targets {
            let notional = HOLDING / 10_000 * u64::from(target.unsigned_abs());
            spec = spec.token(target, policy.params(target, UNIT, notional));
        }
        let dep = deployer.market(&mut bank, spec).await;
        let holder = dep.holder(&mut bank, HOLDING * cfg.targets.len() as u64).await;
        let flow = match cfg.flow {
            Some(_) => Some(dep.holder(&mut bank, 1_000 * HOLDING).await),
            None => None,
        };
        for (i, &target) in cfg.targets.iter().enumerate() {
            holder.mint(&mut bank, &dep, i, HOLDING).await.unwrap();
            flow_accounts.push(flow.as_ref().map(|f| (f.collateral, f.shares[i])));
            runs.push(Run { policy, target_bps: target, keys: dep.tokens[i], rows: Vec::new(), wiped_at: None, bad_debt: 0, flow: FlowCounts::default() });
        }
        let keeper_collateral = bank.create_token_account(dep.collateral, keeper.pubkey()).await;
        markets.push(PolicyMarket { keys: dep.market, keeper_collateral, flow_user: flow.map(|f| f.kp) });
    }

    let mut last_close = first.price_e8;
    let mut ideal = vec![0.0f64; runs.len()];
    let mut rebalanced = vec![false; runs.len()];
    for (k, r) in runs.iter().enumerate() {
        ideal[k] = nav_now(&mut bank, r, &price_of(first.price_e8), clock.slot).await?.0;
    }
    // Slots and the clock follow the path's own time from its first point (not
    // step by step, which would lose the sub-slot remainders and let a daily
    // trigger drift off the day's close); at least one slot per point.
    let (slot0, ts0) = (clock.slot, clock.unix_timestamp);
    for (i, p) in path.iter().enumerate().skip(1) {
        let elapsed_ms = (p.unix_ms - first.unix_ms).max(0);
        clock.slot = (slot0 + (elapsed_ms / SLOT_MS) as u64).max(clock.slot + 1);
        clock.unix_timestamp = ts0 + elapsed_ms / 1000;
        bank.ctx.set_sysvar(&clock);
        oracle.write(&mut bank, p.price_e8, Oracle::default_conf(p.price_e8), clock.slot, clock.unix_timestamp, PriceStatus::Trading);
        let price = price_of(p.price_e8);

        for (k, run) in runs.iter_mut().enumerate() {
            if run.wiped_at.is_some() {
                continue;
            }
            let m = &markets[cfg.policies.iter().position(|&x| x == run.policy).unwrap()];
            let view = fetch(&mut bank, &m.keys, &run.keys).await;
            let decision = decide(&view, &price, clock.slot, 0).map_err(|e| anyhow!("decide: {e:?}"))?;
            if matches!(decision, Decision::Rebalance { .. } | Decision::Wipe { .. }) {
                let out = bank.send(&[ix::rebalance(keeper.pubkey(), &run.keys, m.keeper_collateral)], &[&keeper]).await;
                instructions += 1;
                let wiped = out.events::<TokenWiped>();
                if let Err(e) = &out.result {
                    return Err(anyhow!("rebalance failed at {}: {e:?}\n{}", p.unix_ms, out.logs.join("\n")));
                }
                rebalanced[k] = true;
                if let Some(w) = wiped.first() {
                    run.wiped_at = Some(crate::report::date(p.unix_ms));
                    run.bad_debt = w.bad_debt;
                }
            }
        }

        // A day's close is the last point of its day (the next point is on a later day).
        let closes_day = path.get(i + 1).is_none_or(|n| n.unix_ms.div_euclid(DAY_MS) != p.unix_ms.div_euclid(DAY_MS));
        if closes_day {
            let r = p.price_e8 as f64 / last_close as f64 - 1.0;
            last_close = p.price_e8;
            if let Some(flow) = cfg.flow {
                for (k, run) in runs.iter_mut().enumerate() {
                    let (Some((coll, shares)), None) = (flow_accounts[k], &run.wiped_at) else { continue };
                    let flow_user = markets[cfg.policies.iter().position(|&x| x == run.policy).unwrap()].flow_user.as_ref().expect("a flow user where the run has flow accounts");
                    if rng.unit() >= flow.daily_probability {
                        continue;
                    }
                    let held = bank.balance(shares).await;
                    let (ix, is_mint) = if held > 0 && rng.unit() < 0.5 {
                        let n = ((held as f64) * (0.1 + 0.4 * rng.unit())) as u64;
                        (ix::redeem(flow_user.pubkey(), &run.keys, shares, coll, n.max(1), 0), false)
                    } else {
                        let amount = ((HOLDING as f64) * (0.01 + 0.09 * rng.unit())) as u64;
                        (ix::mint(flow_user.pubkey(), &run.keys, coll, shares, amount, 0), true)
                    };
                    let out = bank.send(&[ix], &[flow_user]).await;
                    instructions += 1;
                    match (&out.result, out.custom_error()) {
                        (Ok(()), _) if is_mint => run.flow.mints += 1,
                        (Ok(()), _) => run.flow.redeems += 1,
                        (Err(_), Some(c)) if leveraged_token_sdk::errors::program_error(c).is_some() => run.flow.refused += 1,
                        (Err(e), _) => return Err(anyhow!("flow transaction failed without a program error at {}: {e:?}\n{}", p.unix_ms, out.logs.join("\n"))),
                    }
                }
            }
            for (k, run) in runs.iter_mut().enumerate() {
                let l = f64::from(run.target_bps) / 10_000.0;
                ideal[k] *= (1.0 + l * r).max(0.0);
                let m = &markets[cfg.policies.iter().position(|&x| x == run.policy).unwrap()];
                let (nav, leverage, base, equity, costs, count) = nav_now(&mut bank, run, &price, clock.slot).await?;
                let market: Market = bank.account(m.keys.market).await;
                let pool_amount = bank.balance(m.keys.pool_vault).await;
                let pv = pool_value(pool_amount, &market.aggregates(), market.borrow_index, price.price, 0, Side::Low).unwrap_or(0) as f64 / UNIT as f64;
                run.rows.push(Row {
                    unix_ms: p.unix_ms,
                    price: p.price_e8 as f64 / 1e8,
                    nav,
                    ideal: ideal[k],
                    leverage,
                    base,
                    equity,
                    costs,
                    rebalances: count,
                    pool_value: pv,
                    rebalanced: std::mem::take(&mut rebalanced[k]),
                });
            }
        }
        if i % 500 == 0 {
            progress(i, path.len());
        }
    }
    progress(path.len(), path.len());
    Ok(ReplayResult { runs, points: path.len(), instructions, wall_seconds: started.elapsed().as_secs_f64(), missing_days })
}

async fn fetch(bank: &mut Bank, m: &MarketKeys, t: &TokenKeys) -> TokenView {
    TokenView {
        market: bank.account::<Market>(m.market).await,
        token: bank.account::<LeveragedToken>(t.token).await,
        vault_amount: bank.balance(t.vault).await,
        pool_amount: bank.balance(m.pool_vault).await,
        share_supply: bank.supply(t.share_mint).await,
    }
}

/// (NAV per share, leverage, base, equity, cumulative costs, rebalance count) now.
async fn nav_now(bank: &mut Bank, run: &Run, price: &NormalizedPrice, slot: u64) -> Result<(f64, f64, f64, f64, f64, u64)> {
    let view = fetch(bank, &run.keys.market, &run.keys).await;
    let s = settle_view(&view, price, slot).map_err(|e| anyhow!("settle: {e:?}"))?;
    let supply = view.share_supply.max(1) as f64;
    let t = &view.token;
    let costs = (t.total_trade_fees + t.total_borrow_fees + t.total_keeper_rewards) as f64 / UNIT as f64;
    Ok((s.equity as f64 / supply, s.leverage_bps.unwrap_or(0) as f64 / 10_000.0, t.base as f64 / 1e9, s.equity as f64 / UNIT as f64, costs, t.rebalance_count))
}
