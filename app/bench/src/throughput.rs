//! Keeper/client throughput: the decision step alone over N in-memory token
//! views, and scan + decide + send for 100 tokens in the bank. Timings are
//! wall-clock and machine-dependent: reported, never asserted.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anchor_lang::prelude::Clock;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_lang::solana_program::sysvar::SysvarId;
use anchor_lang::AccountDeserialize;
use anchor_spl::token::spl_token;
use leveraged_token::math::price::NormalizedPrice;
use leveraged_token::oracle::check_price;
use leveraged_token::state::{LeveragedToken, Market};
use leveraged_token_sdk::chain::decode_clock;
use leveraged_token_sdk::decide::{decide, Decision, TokenView};
use leveraged_token_sdk::{defaults, ix, OracleKind, TokenKeys};
use solana_signer::Signer;

use crate::scenario::{World, USD, USDC};

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
/// in about 20 ms (at least one).
pub fn time_decide(views: &[TokenView], price: &NormalizedPrice, slot: u64, samples: usize) -> DecideRun {
    let (mut rebalance, mut not_needed, mut other) = (0, 0, 0);
    for v in views {
        match decide(v, price, slot, 0) {
            Ok(Decision::Rebalance { .. }) => rebalance += 1,
            Ok(Decision::NotNeeded { .. }) => not_needed += 1,
            _ => other += 1,
        }
    }
    let pass = || {
        for v in views {
            black_box(decide(black_box(v), black_box(price), black_box(slot), 0)).ok();
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

/// Scan + decide + send for `tokens` tokens in the bank.
#[derive(Debug, Clone)]
pub struct BankRun {
    pub tokens: usize,
    pub setup: Duration,
    /// Fetch and decode the market, oracle, pool vault and each token's account, vault and share mint.
    pub scan: Duration,
    pub decide: Duration,
    /// Build, sign and process one rebalance transaction per token the gate opened for.
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

/// A view of one token as a keeper builds it from fetched accounts.
async fn fetch_view(w: &mut World, market: &Market, pool_amount: u64, t: &TokenKeys) -> TokenView {
    let acc = w.h.raw_account(t.token).await.expect("token account");
    let token = LeveragedToken::try_deserialize(&mut acc.data.as_slice()).expect("token");
    let vault = w.h.raw_account(t.vault).await.expect("vault");
    let vault_amount = spl_token::state::Account::unpack(&vault.data).expect("vault data").amount;
    let mint = w.h.raw_account(t.share_mint).await.expect("share mint");
    let share_supply = spl_token::state::Mint::unpack(&mint.data).expect("mint data").supply;
    TokenView { market: market.clone(), token, vault_amount, pool_amount, share_supply }
}

/// Create a market with `tokens` tokens each holding a 1,000 USDC position,
/// move the price 12 % (past every token's 10 % deviation trigger), then time
/// the keeper loop: scan, decide, send one rebalance per token.
pub async fn bank_run(tokens: usize) -> (BankRun, TokenView, NormalizedPrice, u64) {
    assert!((1..=400).contains(&tokens), "1 to 400 tokens");
    let t0 = Instant::now();
    let mut w = World::bare(Box::new(|_| {})).await;
    let admin = w.admin.insecure_clone();
    let a = admin.pubkey();
    w.send(ix::initialize_config(a, w.treasury), &admin).await;
    let m = w.market;
    w.send(ix::create_market(a, &m, OracleKind::PythLegacy, defaults::market_params()), &admin).await;
    w.lp = w.actor(20, 1_000_000 * USDC, false).await;
    let lp = w.lp.kp.insecure_clone();
    w.send(ix::deposit_liquidity(lp.pubkey(), &m, w.lp.collateral, w.lp.lp, 1_000_000 * USDC, 0), &lp).await;
    w.alice = w.actor(30, tokens as u64 * 1_000 * USDC, false).await;
    w.keeper = w.actor(40, 0, false).await;
    let alice = w.alice.kp.insecure_clone();
    let mut keys = Vec::with_capacity(tokens);
    for i in 0..tokens {
        let t = m.token(leverage_of(i));
        w.send(ix::create_leveraged_token(a, &t, defaults::token_params(t.target_leverage_bps, USDC)), &admin).await;
        let shares = w.h.create_token_account(&share_account_kp(i), t.share_mint, alice.pubkey()).await;
        w.send(ix::mint(alice.pubkey(), &t, w.alice.collateral, shares, 1_000 * USDC, 0), &alice).await;
        keys.push(t);
    }
    w.warp(5).await;
    w.set_price(112 * USD).await;
    let setup = t0.elapsed();

    // --- the keeper loop ---
    let keeper = w.keeper.kp.insecure_clone();
    let keeper_collateral = w.keeper.collateral;
    let t_scan = Instant::now();
    let macc = w.h.raw_account(m.market).await.expect("market");
    let market = Market::try_deserialize(&mut macc.data.as_slice()).expect("market");
    let oracle = w.h.raw_account(m.oracle).await.expect("oracle");
    let clock = w.h.raw_account(Clock::id()).await.and_then(|a| decode_clock(&a.data)).expect("the Clock sysvar");
    // The program's own oracle check, as the shipped keeper runs it.
    let price = check_price(&market.oracle_spec(), &m.oracle, &oracle.owner, &oracle.data, &clock).expect("a fresh oracle price").price;
    let slot = w.h.slot().await;
    let pool = w.h.raw_account(m.pool_vault).await.expect("pool");
    let pool_amount = spl_token::state::Account::unpack(&pool.data).expect("pool data").amount;
    let mut views = Vec::with_capacity(tokens);
    for t in &keys {
        views.push(fetch_view(&mut w, &market, pool_amount, t).await);
    }
    let scan = t_scan.elapsed();

    let t_decide = Instant::now();
    let decisions: Vec<_> = views.iter().map(|v| decide(v, &price, slot, 0)).collect();
    let decide_time = t_decide.elapsed();

    let t_send = Instant::now();
    let (mut rebalanced, mut failed) = (0, 0);
    for (t, d) in keys.iter().zip(&decisions) {
        if matches!(d, Ok(Decision::Rebalance { .. }) | Ok(Decision::Wipe { .. })) {
            let tx = w.h.client_tx(&ix::rebalance(keeper.pubkey(), t, keeper_collateral), &keeper).await;
            match w.h.process(tx).await.result {
                Ok(()) => rebalanced += 1,
                Err(_) => failed += 1,
            }
        }
    }
    let send_time = t_send.elapsed();
    let template = views.into_iter().next().expect("one token");
    (BankRun { tokens, setup, scan, decide: decide_time, send: send_time, rebalanced, failed }, template, price, slot)
}

/// The keypair of alice's share account of the i-th token (a fixed seed per index).
fn share_account_kp(i: usize) -> solana_keypair::Keypair {
    let mut seed = [0xb0u8; 32];
    seed[0] = (i & 0xff) as u8;
    seed[1] = (i >> 8) as u8;
    solana_keypair::Keypair::new_from_array(seed)
}
