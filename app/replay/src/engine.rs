//! The replay engine: the real program in the in-process bank, driven through a
//! price path, on a market with a Pyth **pull** oracle (a `PriceUpdateV2`
//! account whose updates chain a second apart, as Pyth's do).
//!
//! Time: the path's time from its first point maps to the bank's clock
//! (slots at 400 ms, unix seconds), and the oracle holds each point's price
//! until the next point (the path's price at any time is that of its last
//! point at or before it). Each point publishes that price as a fresh update
//! and moves the clock.
//!
//! Rebalances: a keeper decides with the program's own rules (the rebalance
//! price rule `oracle::rebalance_price`, the settlement preview and the gate)
//! and sends `rebalance` only when the program would accept it, at most once
//! per token per point (so a chunked trade continues at the next point).
//! Band, ripcord, deviation and chunk triggers, and a wipe, act on the
//! point's fresh update; a schedule that came due
//! (`LeveragedToken::schedule_fix`) is sent with the update for the
//! schedule's time, carrying the path's price at that time (when that time
//! is the point's own, the fresh update is that update).
//!
//! Mints and redeems go through the program's two steps, as users' do: the
//! request, then the clock moved to the request's price time, the update for
//! that time published (the path's price then) and the execution by the
//! keeper. Every figure is therefore what a user would have got.

use std::time::Instant;

use anchor_lang::prelude::{Clock, Pubkey};
use anyhow::{anyhow, Result};
use leveraged_token::events::{Minted, Rebalanced, Redeemed, RequestRefunded, TokenWiped};
use leveraged_token::math::pool::Side;
use leveraged_token::math::price::{normalize_price, NormalizedPrice};
use leveraged_token::math::rebalance::plan_rebalance_with;
use leveraged_token::oracle::rebalance_price;
use leveraged_token::settlement::market_pool_value;
use leveraged_token::state::{LeveragedToken, Market, MarketParams, OracleKind, Request, RequestKind, ScheduleFix};
use leveraged_token_harness::bank::{Bank, TxOutcome};
use leveraged_token_harness::deployment::{Deployer, Deployment, Holder, MarketSpec, Oracle, PriceStatus};
use leveraged_token_harness::requests::next_nonce;
use leveraged_token_sdk::decide::{settle_view, TokenView};
use leveraged_token_sdk::prices::{PricePoint, DAY_MS};
use leveraged_token_sdk::{ix, pda, MarketKeys, TokenKeys};
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
    /// Random flow (see [`Flow`]): mints and redeems that filled, and ones the program refused or refunded.
    pub flow: FlowCounts,
    /// Rebalances sent with the update for a schedule time earlier than
    /// their point's (the schedule came due between two points).
    pub late_schedules: Vec<ScheduledRebalance>,
}

/// A scheduled rebalance that acted on the update for its schedule's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledRebalance {
    /// The point it was sent at.
    pub point_ms: i64,
    /// The schedule's time, on the path's clock.
    pub time_ms: i64,
    /// The price it acted on (`Rebalanced::price`, collateral units per whole base unit).
    pub price: u128,
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
    /// Requests executed as fills (`Minted`, `Redeemed`).
    pub mints: u64,
    pub redeems: u64,
    /// Requests the program refused with a named error (e.g. `InsufficientShares`).
    pub refused: u64,
    /// Executions that refunded the escrow instead of filling (`RequestRefunded`,
    /// e.g. `UnpaidProfitOutstanding` or `ZeroOut`).
    pub refunded: u64,
    /// Executions the program refused with a named error (e.g. `MathOverflow`
    /// for a mint that would take the share supply past u64): the request
    /// stays until it expires.
    pub stuck: u64,
    /// Stuck requests their owner cancelled, at a later close after they expired.
    pub cancelled: u64,
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
    /// The token's cumulative costs, in collateral units: funding (signed:
    /// negative is income), borrow, trade fees, keeper rewards, and protocol
    /// fees (streaming, mint, redeem: `fees_owed`, never collected here).
    pub funding: f64,
    pub borrow: f64,
    pub trade_fees: f64,
    pub keeper_rewards: f64,
    pub protocol_fees: f64,
    pub rebalances: u64,
    /// The market's LP pool value (the program's valuation: each token's
    /// loss at most its vault, at the price's low side).
    pub pool_value: f64,
    /// The market's insurance fund: its vault plus its share owed in the pool vault.
    pub insurance: f64,
    /// The market's net notional (long − short, collateral units): the side
    /// that pays funding.
    pub net: f64,
    /// The market's utilisation, |net| / LP cash: where its borrow curve is.
    pub utilisation: f64,
    /// A rebalance landed since the previous row.
    pub rebalanced: bool,
}

impl Row {
    /// Every cost the holder bore: funding, borrow, trade fees, keeper
    /// rewards and protocol fees.
    pub fn costs(&self) -> f64 {
        self.funding + self.borrow + self.trade_fees + self.keeper_rewards + self.protocol_fees
    }

    /// What rebalancing cost: trade fees and keeper rewards.
    pub fn rebalancing_cost(&self) -> f64 {
        self.trade_fees + self.keeper_rewards
    }
}

/// A policy's market at the end of the path.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketEnd {
    pub policy: Policy,
    /// LP pool value and insurance fund, in collateral units (whole USDC).
    pub pool_value: f64,
    pub insurance: f64,
    /// Bad debt beyond the tokens' vaults, and the part the insurance fund covered.
    pub bad_debt: f64,
    pub insurance_covered: f64,
    /// The pool's funding and borrow income.
    pub income: f64,
    /// Net notional (long − short) at the price, and utilisation |net| / LP cash.
    pub net: f64,
    pub utilisation: f64,
}

impl MarketEnd {
    /// The LPs' P&L: the pool's value against their deposit (fraction).
    pub fn lp_pnl(&self) -> f64 {
        self.pool_value / (POOL as f64 / UNIT as f64) - 1.0
    }
}

pub struct ReplayResult {
    pub runs: Vec<Run>,
    pub markets: Vec<MarketEnd>,
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
    /// Every policy's market parameters (`sdk::defaults::market_params` unless varied).
    pub market_params: MarketParams,
}

fn price_of(e8: i64) -> NormalizedPrice {
    normalize_price(e8, 0, -8, DECIMALS).expect("positive price")
}

/// The feed id of the replay's pull oracle (any: the markets are created for it).
const FEED_ID: [u8; 32] = [0x5a; 32];

/// One market per policy (its own collateral mint, the same oracle), its
/// tokens sharing the pool as they would on chain.
struct PolicyMarket {
    policy: Policy,
    dep: Deployment,
    keeper_collateral: Pubkey,
    /// The random flow's user (`Config::flow`).
    flow_user: Option<Holder>,
}

/// The path's time on the bank's clock: the path's first point is `slot0` and
/// `ts0`, and slots and seconds advance with the path's time (400 ms a slot),
/// so a schedule's grid falls on the path's days.
#[derive(Debug, Clone, Copy)]
struct Timeline {
    first_ms: i64,
    slot0: u64,
    ts0: i64,
}

impl Timeline {
    /// The clock at path time `unix_ms`. It never goes back, and moves at
    /// least one slot (a point the clock already passed keeps the time).
    fn clock_at(&self, now: &Clock, unix_ms: i64) -> Clock {
        let elapsed_ms = (unix_ms - self.first_ms).max(0);
        let mut c = now.clone();
        c.slot = (self.slot0 + (elapsed_ms / SLOT_MS) as u64).max(now.slot + 1);
        c.unix_timestamp = (self.ts0 + elapsed_ms / 1000).max(now.unix_timestamp);
        c
    }

    /// The path time of the clock's unix time `t` (an oracle update's time).
    fn path_ms(&self, t: i64) -> i64 {
        self.first_ms + (t - self.ts0) * 1000
    }
}

/// The path's price at path time `unix_ms`: the oracle holds each point's
/// price until the next point, so the last point at or before it (the first
/// point before the path starts).
fn price_at(path: &[PricePoint], unix_ms: i64) -> i64 {
    path[path.partition_point(|p| p.unix_ms <= unix_ms).saturating_sub(1)].price_e8
}

/// Replay `path` (oldest first) for every policy × target.
pub async fn replay(path: &[PricePoint], missing_days: usize, cfg: &Config, mut progress: impl FnMut(usize, usize)) -> Result<ReplayResult> {
    let started = Instant::now();
    let first = *path.first().ok_or_else(|| anyhow!("empty price path"))?;
    let mut bank = Bank::new().await;
    let mut instructions: u64 = 0;
    // Sends the rebalances and executes every request (earning their executor fees).
    let keeper = bank.funded_keypair().await;
    let mut rng = Rng(cfg.flow.map_or(1, |f| f.seed.max(1)));
    let oracle = Oracle::pull(Pubkey::new_unique(), FEED_ID);
    // The treasury is the admin.
    let deployer = Deployer::init(&mut bank, None).await;

    let mut markets = Vec::new();
    let mut holders = Vec::new();
    let mut runs = Vec::new();
    // Per run: its market (index in `markets`) and its token (index in the market's tokens).
    let mut run_at: Vec<(usize, usize)> = Vec::new();
    for &policy in &cfg.policies {
        let mut spec = MarketSpec::new(oracle).decimals(DECIMALS).price(first.price_e8, Oracle::default_conf(first.price_e8)).params(cfg.market_params).liquidity(POOL);
        for &target in &cfg.targets {
            let notional = HOLDING / 10_000 * u64::from(target.unsigned_abs());
            spec = spec.token(target, policy.params(target, UNIT, notional));
        }
        let dep = deployer.market(&mut bank, spec).await;
        let holder = dep.holder(&mut bank, HOLDING * cfg.targets.len() as u64).await;
        let flow_user = match cfg.flow {
            Some(_) => Some(dep.holder(&mut bank, 1_000 * HOLDING).await),
            None => None,
        };
        for (i, &target) in cfg.targets.iter().enumerate() {
            run_at.push((markets.len(), i));
            runs.push(Run { policy, target_bps: target, keys: dep.tokens[i], rows: Vec::new(), wiped_at: None, bad_debt: 0, flow: FlowCounts::default(), late_schedules: Vec::new() });
        }
        let keeper_collateral = bank.create_token_account(dep.collateral, keeper.pubkey()).await;
        markets.push(PolicyMarket { policy, dep, keeper_collateral, flow_user });
        holders.push(holder);
    }

    // Each holder mints every token of its market at the first point's price.
    // All the requests are made at once and executed at once, so every
    // token's schedule starts at the same slot and time: the path's first point.
    let mut pending = Vec::new();
    for (mi, (m, h)) in markets.iter().zip(&holders).enumerate() {
        for i in 0..cfg.targets.len() {
            let nonce = next_nonce();
            bank.send(&[m.dep.request_ix(h.key(), RequestKind::Mint, Some(i), nonce, HOLDING, 0)], &[&h.kp]).await.expect_ok("the holder's mint request");
            pending.push((mi, h.key(), nonce));
        }
    }
    let now = bank.clock().await;
    let setup = Timeline { first_ms: first.unix_ms, slot0: now.slot, ts0: now.unix_timestamp };
    for out in execute_requests(&mut bank, &markets, &keeper, &path[..1], &setup, &pending).await {
        if out.events::<Minted>().len() != 1 {
            return Err(anyhow!("the holder's mint did not fill: {:?}\n{}", out.result, out.logs.join("\n")));
        }
    }
    let mut clock: Clock = bank.clock().await;
    let timeline = Timeline { first_ms: first.unix_ms, slot0: clock.slot, ts0: clock.unix_timestamp };
    for r in &runs {
        let t: LeveragedToken = bank.account(r.keys.token).await;
        if (t.schedule_anchor_slot, t.schedule_anchor_time) != (timeline.slot0, timeline.ts0) {
            return Err(anyhow!("{} {}: schedule anchored at slot {} time {}, not at the path's start", r.policy.name(), r.target_bps, t.schedule_anchor_slot, t.schedule_anchor_time));
        }
    }

    let mut last_close = first.price_e8;
    // Flow requests whose execution the program refused (run, request), to cancel after their expiry.
    let mut stuck: Vec<(usize, (usize, Pubkey, u64))> = Vec::new();
    let mut ideal = vec![0.0f64; runs.len()];
    let mut rebalanced = vec![false; runs.len()];
    for (k, r) in runs.iter().enumerate() {
        ideal[k] = nav_now(&mut bank, r, &price_of(first.price_e8), &clock).await?.nav;
    }
    // Slots and the clock follow the path's own time from its first point (not
    // step by step, which would lose the sub-slot remainders and let a daily
    // schedule drift off the path's days); at least one slot per point.
    for (i, p) in path.iter().enumerate().skip(1) {
        clock = timeline.clock_at(&clock, p.unix_ms);
        bank.ctx.set_sysvar(&clock);
        oracle.write(&mut bank, p.price_e8, Oracle::default_conf(p.price_e8), clock.slot, clock.unix_timestamp, PriceStatus::Trading);
        let price = price_of(p.price_e8);

        for (k, run) in runs.iter_mut().enumerate() {
            if run.wiped_at.is_some() {
                continue;
            }
            let m = &markets[run_at[k].0];
            let Some((out, schedule_time)) = rebalance_step(&mut bank, m, &run.keys, &keeper, path, &timeline, &clock, p.price_e8).await? else { continue };
            instructions += 1;
            if let Err(e) = &out.result {
                return Err(anyhow!("rebalance failed at {}: {e:?}\n{}", p.unix_ms, out.logs.join("\n")));
            }
            rebalanced[k] = true;
            if let (Some(t), Some(e)) = (schedule_time, out.events::<Rebalanced>().first()) {
                run.late_schedules.push(ScheduledRebalance { point_ms: p.unix_ms, time_ms: timeline.path_ms(t), price: e.price });
            }
            if let Some(w) = out.events::<TokenWiped>().first() {
                run.wiped_at = Some(crate::report::date(p.unix_ms));
                run.bad_debt = w.bad_debt;
            }
        }

        // A day's close is the last point of its day (the next point is on a later day).
        let closes_day = path.get(i + 1).is_none_or(|n| n.unix_ms.div_euclid(DAY_MS) != p.unix_ms.div_euclid(DAY_MS));
        if closes_day {
            let r = p.price_e8 as f64 / last_close as f64 - 1.0;
            last_close = p.price_e8;
            if let Some(flow) = cfg.flow {
                // Requests whose execution the program refused, expired by now: their owner cancels them.
                for (k, (mi, owner, nonce)) in std::mem::take(&mut stuck) {
                    let d = &markets[mi].dep;
                    let r: Request = bank.account(pda::request(&owner, nonce).0).await;
                    if !r.is_expired(clock.unix_timestamp) {
                        stuck.push((k, (mi, owner, nonce)));
                        continue;
                    }
                    let share_mint = d.tokens.iter().find(|t| t.token == r.token).map(|t| t.share_mint);
                    let user = markets[mi].flow_user.as_ref().expect("the flow user made it");
                    bank.send(&[ix::cancel_request(owner, r.kind, owner, nonce, &d.market, share_mint)], &[&user.kp]).await.expect_ok("cancel an expired flow request");
                    instructions += 1;
                    runs[k].flow.cancelled += 1;
                }
                // The flow's requests at the close, executed together at their price time.
                let mut pending = Vec::new();
                let mut requested = Vec::new();
                for (k, run) in runs.iter_mut().enumerate() {
                    let (mi, ti) = run_at[k];
                    let (Some(user), None) = (markets[mi].flow_user.as_ref(), &run.wiped_at) else { continue };
                    if rng.unit() >= flow.daily_probability {
                        continue;
                    }
                    let held = bank.balance(user.shares[ti]).await;
                    let (kind, amount) = if held > 0 && rng.unit() < 0.5 {
                        (RequestKind::Redeem, (((held as f64) * (0.1 + 0.4 * rng.unit())) as u64).max(1))
                    } else {
                        (RequestKind::Mint, ((HOLDING as f64) * (0.01 + 0.09 * rng.unit())) as u64)
                    };
                    let nonce = next_nonce();
                    let out = bank.send(&[markets[mi].dep.request_ix(user.key(), kind, Some(ti), nonce, amount, 0)], &[&user.kp]).await;
                    instructions += 1;
                    match (&out.result, out.custom_error()) {
                        (Ok(()), _) => {
                            pending.push((mi, user.key(), nonce));
                            requested.push(k);
                        }
                        (Err(_), Some(c)) if leveraged_token_sdk::errors::program_error(c).is_some() => run.flow.refused += 1,
                        (Err(e), _) => return Err(anyhow!("flow request failed without a program error at {}: {e:?}\n{}", p.unix_ms, out.logs.join("\n"))),
                    }
                }
                let outs = execute_requests(&mut bank, &markets, &keeper, path, &timeline, &pending).await;
                for ((k, out), request) in requested.into_iter().zip(outs).zip(pending) {
                    instructions += 1;
                    let run = &mut runs[k];
                    match (&out.result, out.events::<Minted>().len(), out.events::<Redeemed>().len(), out.events::<RequestRefunded>().len()) {
                        (Ok(()), 1, 0, 0) => run.flow.mints += 1,
                        (Ok(()), 0, 1, 0) => run.flow.redeems += 1,
                        (Ok(()), 0, 0, 1) => run.flow.refunded += 1,
                        // E.g. `MathOverflow`: a mint whose shares would take the supply past
                        // u64 (a token near a wipe). The request stays until it expires.
                        (Err(_), ..) if out.custom_error().is_some_and(|c| leveraged_token_sdk::errors::program_error(c).is_some()) => {
                            run.flow.stuck += 1;
                            stuck.push((k, request));
                        }
                        (r, ..) => {
                            let who = format!("{} {}", run.policy.name(), run.target_bps);
                            return Err(anyhow!("{who}: flow execution neither filled, refunded nor refused at {}: {r:?}\n{}", p.unix_ms, out.logs.join("\n")));
                        }
                    }
                }
                clock = bank.clock().await;
            }
            let mut market_now = Vec::with_capacity(markets.len());
            for m in &markets {
                market_now.push(market_state(&mut bank, m, &price, &clock).await?);
            }
            for (k, run) in runs.iter_mut().enumerate() {
                let l = f64::from(run.target_bps) / 10_000.0;
                ideal[k] *= (1.0 + l * r).max(0.0);
                let n = nav_now(&mut bank, run, &price, &clock).await?;
                let m = &market_now[run_at[k].0];
                let usdc = |x: u64| x as f64 / UNIT as f64;
                let t = &n.token;
                run.rows.push(Row {
                    unix_ms: p.unix_ms,
                    price: p.price_e8 as f64 / 1e8,
                    nav: n.nav,
                    ideal: ideal[k],
                    leverage: n.leverage,
                    base: t.base as f64 / 1e9,
                    equity: n.equity,
                    funding: t.total_funding as f64 / UNIT as f64,
                    borrow: usdc(t.total_borrow_fees),
                    trade_fees: usdc(t.total_trade_fees),
                    keeper_rewards: usdc(t.total_keeper_rewards),
                    protocol_fees: usdc(t.fees_owed),
                    rebalances: t.rebalance_count,
                    pool_value: m.pool_value,
                    insurance: m.insurance,
                    net: m.net,
                    utilisation: m.utilisation,
                    rebalanced: std::mem::take(&mut rebalanced[k]),
                });
            }
        }
        if i % 500 == 0 {
            progress(i, path.len());
        }
    }
    progress(path.len(), path.len());
    let last = price_of(path.last().map_or(first.price_e8, |p| p.price_e8));
    let mut ends = Vec::with_capacity(markets.len());
    for m in &markets {
        ends.push(market_state(&mut bank, m, &last, &clock).await?);
    }
    Ok(ReplayResult { runs, markets: ends, points: path.len(), instructions, wall_seconds: started.elapsed().as_secs_f64(), missing_days })
}

/// Execute each request `(market index, owner, nonce)` in order, by the
/// keeper, at the oracle update for its price time: the clock moves to that
/// time (along `timeline`), the update for it is published with the path's
/// price then, and the execution is sent. Its outcome per request. The
/// update left in the oracle account is the last one, fresh at the clock.
async fn execute_requests(bank: &mut Bank, markets: &[PolicyMarket], keeper: &Keypair, path: &[PricePoint], timeline: &Timeline, pending: &[(usize, Pubkey, u64)]) -> Vec<TxOutcome> {
    let mut published = None;
    let mut out = Vec::with_capacity(pending.len());
    for &(mi, owner, nonce) in pending {
        let d = &markets[mi].dep;
        let r: Request = bank.account(pda::request(&owner, nonce).0).await;
        let now = bank.clock().await;
        if now.unix_timestamp < r.target {
            bank.ctx.set_sysvar(&timeline.clock_at(&now, timeline.path_ms(r.target)));
        }
        // The markets share the oracle account: one update per price time.
        if published != Some(r.target) {
            let price = price_at(path, timeline.path_ms(r.target));
            d.oracle.publish_for(bank, price, Oracle::default_conf(price), r.target).await;
            published = Some(r.target);
        }
        let token = d.tokens.iter().find(|t| t.token == r.token);
        out.push(bank.send(&[ix::execute(keeper.pubkey(), r.kind, owner, nonce, &d.market, token, d.oracle.key, &d.tokens)], &[keeper]).await);
    }
    out
}

/// At most one `rebalance` of token `t` at the point `clock` is at (its
/// fresh update, of `fresh_price`, in the oracle account): the outcome of
/// the one sent, and the schedule time of the update it was sent with when
/// that is not the fresh one. The fresh update first: it acts on a wipe and
/// on the band, ripcord, deviation and chunk triggers, and on the schedule
/// too when the schedule's time is the point's own (the daily grid on a
/// path with a point at each day's start). Otherwise a schedule that came
/// due at an earlier time is sent with the update for its time (the path's
/// price then; the fresh update is put back after).
#[allow(clippy::too_many_arguments)]
async fn rebalance_step(
    bank: &mut Bank,
    m: &PolicyMarket,
    t: &TokenKeys,
    keeper: &Keypair,
    path: &[PricePoint],
    timeline: &Timeline,
    clock: &Clock,
    fresh_price: i64,
) -> Result<Option<(TxOutcome, Option<i64>)>> {
    let d = &m.dep;
    let view = fetch(bank, &d.market, t).await;
    if view.token.is_wiped() {
        return Ok(None);
    }
    let fix = view.token.schedule_fix(OracleKind::PythPull, clock.slot);
    let send = ix::rebalance(keeper.pubkey(), t, m.keeper_collateral);
    if would_rebalance(bank, d, &view, clock, fix).await? {
        return Ok(Some((bank.send(&[send], &[keeper]).await, None)));
    }
    let Some(f) = fix.filter(|f| f.target < clock.unix_timestamp) else { return Ok(None) };
    let price = price_at(path, timeline.path_ms(f.target));
    d.oracle.publish_for(bank, price, Oracle::default_conf(price), f.target).await;
    let out = match would_rebalance(bank, d, &view, clock, fix).await? {
        true => Some((bank.send(&[send], &[keeper]).await, Some(f.target))),
        false => None,
    };
    d.oracle.write(bank, fresh_price, Oracle::default_conf(fresh_price), clock.slot, clock.unix_timestamp, PriceStatus::Trading);
    Ok(out)
}

/// Whether `rebalance` of the token in `view` would succeed with the update
/// now in the oracle account, by the program's own rules: the rebalance
/// price rule (which triggers the update may act on), the settlement preview
/// (a wipe needs a fresh price) and the gate. The replay sets no pauses.
async fn would_rebalance(bank: &mut Bank, d: &Deployment, view: &TokenView, clock: &Clock, fix: Option<ScheduleFix>) -> Result<bool> {
    let acc = bank.raw_account(d.oracle.key).await.ok_or_else(|| anyhow!("oracle account missing"))?;
    let Ok(rp) = rebalance_price(&view.market.oracle_spec(), &d.oracle.key, &acc.owner, &acc.data, clock, fix) else { return Ok(false) };
    let s = settle_view(view, &rp.price.price, clock.slot, clock.unix_timestamp).map_err(|e| anyhow!("settle: {e:?}"))?;
    if s.wiped {
        return Ok(rp.fresh);
    }
    let gate = view.token.params.gate(view.token.target_leverage_bps, view.market.params.trade_fee_bps);
    let state = view.token.gate_state(s.equity, rp.price.price.price, clock.slot);
    Ok(plan_rebalance_with(&gate, &state, rp.allowed).map_err(|e| anyhow!("gate: {e:?}"))?.is_some())
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

/// A token now: NAV per share, leverage, equity (whole USDC) and its account.
struct TokenNow {
    nav: f64,
    leverage: f64,
    equity: f64,
    token: LeveragedToken,
}

async fn nav_now(bank: &mut Bank, run: &Run, price: &NormalizedPrice, clock: &Clock) -> Result<TokenNow> {
    let view = fetch(bank, &run.keys.market, &run.keys).await;
    let s = settle_view(&view, price, clock.slot, clock.unix_timestamp).map_err(|e| anyhow!("settle: {e:?}"))?;
    let supply = view.share_supply.max(1) as f64;
    Ok(TokenNow { nav: s.equity as f64 / supply, leverage: s.leverage_bps.unwrap_or(0) as f64 / 10_000.0, equity: s.equity as f64 / UNIT as f64, token: view.token })
}

/// A policy's market now, valued by the program's own rule
/// (`settlement::market_pool_value` over all its tokens, at the price's low side).
async fn market_state(bank: &mut Bank, m: &PolicyMarket, price: &NormalizedPrice, clock: &Clock) -> Result<MarketEnd> {
    let d = &m.dep;
    let market: Market = bank.account(d.market.market).await;
    let pool_amount = bank.balance(d.market.pool_vault).await;
    let mut tokens = Vec::with_capacity(d.tokens.len());
    for t in &d.tokens {
        tokens.push((bank.account::<LeveragedToken>(t.token).await, bank.balance(t.vault).await));
    }
    let refs: Vec<(&LeveragedToken, u64)> = tokens.iter().map(|(t, v)| (t, *v)).collect();
    let value = market_pool_value(&market, &refs, pool_amount, price, Side::Low, clock.unix_timestamp).map_err(|e| anyhow!("pool value: {e:?}"))?;
    let insurance = bank.balance(d.market.insurance_vault).await.saturating_add(market.insurance_owed);
    let net = market.aggregates().net_notional_floor(price.price).map_err(|e| anyhow!("net: {e:?}"))?;
    let usdc = |x: u64| x as f64 / UNIT as f64;
    Ok(MarketEnd {
        policy: m.policy,
        pool_value: value as f64 / UNIT as f64,
        insurance: usdc(insurance),
        bad_debt: usdc(market.bad_debt_total),
        insurance_covered: usdc(market.insurance_covered_total),
        income: market.income_total_scaled as f64 / leveraged_token::math::INDEX_SCALE as f64 / UNIT as f64,
        net: net as f64 / UNIT as f64,
        utilisation: net.unsigned_abs() as f64 / (market.lp_cash(pool_amount).max(1)) as f64,
    })
}
