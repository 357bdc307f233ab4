//! Keeper/client throughput: the decision step alone over N in-memory token
//! views, and one loop of the shipped keeper (fetch, decide, fire) over 100
//! tokens in the bank. Timings are wall-clock and machine-dependent:
//! reported, never asserted.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use leveraged_token::math::price::NormalizedPrice;
use leveraged_token_harness::bank::Bank;
use leveraged_token_harness::deployment::{Deployer, MarketSpec, Oracle, USD};
use leveraged_token_harness::BankChain;
use leveraged_token_keeper::{FireOutcome, Keeper, KeeperConfig};
use leveraged_token_sdk::decide::{decide, Decision, TokenView};
use leveraged_token_sdk::defaults;

use crate::scenario::USDC;

/// Timing of `decide` over `n` views.
#[derive(Debug, Clone)]
pub struct DecideRun {
    pub n: usize,
    /// Median, min and max nanoseconds per decision over the samples.
    pub ns_median: f64,
    pub ns_min: f64,
    pub ns_max: f64,
    pub samples: usize,
    pub rebalance: usize,
    pub not_needed: usize,
    pub other: usize,
}

impl DecideRun {
    pub fn per_second(&self) -> f64 {
        1e9 / self.ns_median
    }
}

/// `n` views derived from one real (decoded) view: leverage drifts of −30 %…+30 %
/// from the last rebalance price and ages of 0…1 day, so the gate sees
/// open and closed cases alike.
pub fn views(template: &TokenView, n: usize) -> Vec<TokenView> {
    (0..n)
        .map(|i| {
            let mut v = template.clone();
            let drift = (i % 61) as u128; // 0..60 → −30 %..+30 %
            v.token.last_rebalance_price = template.token.last_rebalance_price * (70 + drift) / 100;
            v.token.schedule_anchor_slot = template.token.schedule_anchor_slot.saturating_sub((i as u64 * 3_541) % 216_000);
            v
        })
        .collect()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}

/// Time `decide` over `views`: `samples` samples, each as many passes as fit
/// in about 20 ms (at least one), at `slot` and unix time `now`.
pub fn time_decide(views: &[TokenView], price: &NormalizedPrice, slot: u64, now: i64, samples: usize) -> DecideRun {
    let (mut rebalance, mut not_needed, mut other) = (0, 0, 0);
    for v in views {
        match decide(v, price, slot, now, 0) {
            Ok(Decision::Rebalance { .. }) => rebalance += 1,
            Ok(Decision::NotNeeded { .. }) => not_needed += 1,
            _ => other += 1,
        }
    }
    let pass = || {
        for v in views {
            black_box(decide(black_box(v), black_box(price), black_box(slot), black_box(now), 0)).ok();
        }
    };
    // Calibrate passes per sample.
    let t = Instant::now();
    pass();
    let one = t.elapsed().max(Duration::from_nanos(1));
    let passes = (Duration::from_millis(20).as_nanos() / one.as_nanos()).clamp(1, 100_000) as usize;
    let mut per: Vec<f64> = Vec::with_capacity(samples);
    for _ in 0..samples {
        let t = Instant::now();
        for _ in 0..passes {
            pass();
        }
        per.push(t.elapsed().as_nanos() as f64 / (passes * views.len()) as f64);
    }
    let ns_min = per.iter().cloned().fold(f64::INFINITY, f64::min);
    let ns_max = per.iter().cloned().fold(0.0, f64::max);
    DecideRun { n: views.len(), ns_median: median(per), ns_min, ns_max, samples, rebalance, not_needed, other }
}

/// The shipped keeper's loop (`Keeper::fetch`, `decide`, `fire`, as
/// `lt-keeper` runs them) over `tokens` tokens in the bank.
#[derive(Debug, Clone)]
pub struct BankRun {
    pub tokens: usize,
    pub setup: Duration,
    /// `Keeper::fetch`: discovery (first loop), then one batched read of the
    /// config, market, oracle, pool vault and each token's account, vault,
    /// share mint and the keeper's collateral account, decoded and the oracle checked.
    pub scan: Duration,
    /// `Keeper::decide` over the snapshot.
    pub decide: Duration,
    /// `Keeper::fire`: per open gate, build, sign, simulate, size the compute
    /// limit, sign again and send one rebalance transaction.
    pub send: Duration,
    pub rebalanced: usize,
    pub failed: usize,
}

impl BankRun {
    pub fn total(&self) -> Duration {
        self.scan + self.decide + self.send
    }
}

/// Signed target leverage of the i-th of the throughput tokens: alternately
/// long and short, |leverage| 1.1x + 0.04x × (i / 2) — for 100 tokens 50 longs
/// 1.1x…3.06x and 50 shorts (distinct, so distinct PDAs). At most 400 tokens.
pub fn leverage_of(i: usize) -> i32 {
    let l = 11_000 + 400 * (i / 2) as i32;
    if i.is_multiple_of(2) {
        l
    } else {
        -l
    }
}

/// Deploy a market with `tokens` tokens each holding a 1,000 USDC position,
/// move the price 12 % (past every token's 10 % deviation trigger), then time
/// one loop of the shipped keeper: fetch, decide, fire.
pub async fn bank_run(tokens: usize) -> (BankRun, TokenView, NormalizedPrice, u64) {
    assert!((1..=400).contains(&tokens), "1 to 400 tokens");
    let t0 = Instant::now();
    let mut bank = Bank::new().await;
    let deployer = Deployer::init(&mut bank, None).await;
    // A market holds at most MAX_TOKENS_PER_MARKET tokens: as many markets
    // as the tokens need (each its own collateral mint), on one oracle.
    let oracle = Oracle::legacy(Pubkey::new_unique());
    let per_market = leveraged_token::constants::MAX_TOKENS_PER_MARKET;
    let mut deps = Vec::new();
    for start in (0..tokens).step_by(per_market) {
        let ids: Vec<usize> = (start..tokens.min(start + per_market)).collect();
        let spec = ids.iter().fold(MarketSpec::new(oracle).liquidity(1_000_000 * USDC), |spec, &i| spec.token(leverage_of(i), defaults::token_params(leverage_of(i), USDC)));
        let d = deployer.market(&mut bank, spec).await;
        let holder = d.holder(&mut bank, ids.len() as u64 * 1_000 * USDC).await;
        for j in 0..ids.len() {
            holder.mint(&mut bank, &d, j, 1_000 * USDC).await.unwrap();
        }
        deps.push(d);
    }
    bank.warp(5).await;
    oracle.publish(&mut bank, 112 * USD, Oracle::default_conf(112 * USD)).await;
    let mut keeper = Keeper::new(bank.funded_keypair().await, KeeperConfig::default());
    let mut chain = BankChain::new(bank);
    // Created through the bank directly: tell the chain so the keeper's discovery sees them.
    for d in &deps {
        chain.track(d.program_accounts());
    }
    let d = &deps[0];
    let setup = t0.elapsed();

    // --- the keeper loop ---
    let t_scan = Instant::now();
    let snap = keeper.fetch(&mut chain).await.expect("the keeper's fetch");
    let scan = t_scan.elapsed();

    let t_decide = Instant::now();
    let intents = keeper.decide(&snap);
    let decide_time = t_decide.elapsed();

    let t_send = Instant::now();
    let outcomes = keeper.fire(&mut chain, &intents).await;
    let send_time = t_send.elapsed();
    let rebalanced = outcomes.iter().filter(|(_, o)| matches!(o, FireOutcome::Landed { .. })).count();
    let failed = outcomes.iter().filter(|(_, o)| matches!(o, FireOutcome::Failed { .. })).count();

    let first = snap.tokens.iter().find(|t| t.keys.token == d.tokens[0].token).expect("the first token in the snapshot");
    let price = first.price.as_ref().expect("a fresh oracle price").price;
    (BankRun { tokens, setup, scan, decide: decide_time, send: send_time, rebalanced, failed }, first.view.clone(), price, snap.slot)
}
