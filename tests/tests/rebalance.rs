//! The rebalance gate: each trigger opens it, nothing else does, a closed gate
//! writes nothing, chunked and ripcord trades, rewards, and bad debt.
#![allow(async_fn_in_trait)]

use leveraged_token::events::{InsuranceFunded, LossAbsorbed, Rebalanced, TokenWiped};
use leveraged_token::math::price::normalize_price;
use leveraged_token::math::rebalance::*;
use leveraged_token::state::{OracleKind, RequestKind, ScheduleFix, TokenStatus};
use leveraged_token_harness::requests::next_nonce;
use leveraged_token_sdk::{constants::*, ix, TokenKeys, TokenParams};
use leveraged_token_tests::fixtures::*;
use leveraged_token_tests::{swap_account, ErrorCode, TestSigner};

const DEPOSIT: u64 = 10_000 * USDC;

async fn world_with_positions() -> World {
    let mut w = World::new().await;
    w.mint(Who::Alice, w.long, DEPOSIT, 0).await.unwrap();
    w.mint(Who::Alice, w.short, DEPOSIT, 0).await.unwrap();
    w
}

/// With Alice's positions, the long's parameters changed by `f` and the
/// price moved to `price`: the world and the event of the long's rebalance.
async fn rebalance_long_after(f: impl Fn(&mut TokenParams), price: i64) -> (World, Rebalanced) {
    let mut w = world_with_positions().await;
    w.set_params(w.long, f).await;
    w.set_price(price).await;
    let ev = w.rebalance_ok(w.long).await;
    (w, ev)
}

/// Gate helpers as methods, so `w.helper(w.long)` borrows cleanly.
trait Gate {
    async fn set_params(&mut self, t: TokenKeys, f: impl Fn(&mut TokenParams));
    async fn rebalance_ok(&mut self, t: TokenKeys) -> Rebalanced;
    async fn refused_not_needed(&mut self, t: TokenKeys);
}

impl Gate for World {
    async fn set_params(&mut self, t: TokenKeys, f: impl Fn(&mut TokenParams)) {
        let mut p = self.token_state(t).await.params;
        f(&mut p);
        self.change_token_params(t, p).await.expect_ok("apply token params");
    }

    /// Rebalance as Bob and return the one event it emits.
    async fn rebalance_ok(&mut self, t: TokenKeys) -> Rebalanced {
        let out = self.rebalance(Who::Bob, t).await;
        let ev = out.events::<Rebalanced>();
        out.unwrap();
        assert_eq!(ev.len(), 1, "one Rebalanced event per rebalance");
        ev.into_iter().next().unwrap()
    }

    async fn refused_not_needed(&mut self, t: TokenKeys) {
        let bob = self.bob.kp.insecure_clone();
        let ix = ix::rebalance(bob.pubkey(), &t, self.bob.collateral);
        self.refused(ix, &[&bob], ErrorCode::RebalanceNotNeeded).await;
    }
}

#[tokio::test]
async fn with_no_trigger_rebalance_fails_and_writes_nothing() {
    let mut w = world_with_positions().await;
    w.refused_not_needed(w.long).await;
    w.refused_not_needed(w.short).await;
    // A 9 % move: the 3x long drifts to 2.58x (inside 2.4–3.6) and 9 % < the 10 % threshold.
    w.set_price(109 * USD).await;
    w.refused_not_needed(w.long).await;
}

#[tokio::test]
async fn a_price_move_past_the_deviation_threshold_opens_the_gate() {
    let mut w = world_with_positions().await;
    w.set_price(110 * USD).await;
    let bob_before = w.bank.balance(w.bob.collateral).await;
    let ev = w.rebalance_ok(w.long).await;
    assert_eq!(ev.triggers, TRIGGER_DEVIATION);
    assert_eq!(trigger_name(ev.triggers), "deviation");
    // 3 × 1.1 / 1.3 = 2.538x before; back to 3x after (within 2 bps).
    assert!((25_380..=25_390).contains(&ev.leverage_before_bps), "{}", ev.leverage_before_bps);
    assert!((ev.leverage_after_bps - 30_000).abs() <= 2, "{}", ev.leverage_after_bps);
    assert!(ev.trade_notional > 0, "a long buys after a rise");
    // Reward: min(1 USDC, 10 bps of ≈13,000 USDC equity) = 1 USDC, to the caller.
    assert_eq!(ev.keeper_reward, USDC);
    assert_eq!(w.bank.balance(w.bob.collateral).await, bob_before + USDC);
    let t = w.token_state(w.long).await;
    assert_eq!(t.rebalance_count, 1);
    assert!(!t.chunk_in_progress);
}

#[tokio::test]
async fn a_rise_makes_the_short_buy_back_too() {
    let mut w = world_with_positions().await;
    w.set_price(110 * USD).await;
    let ev = w.rebalance_ok(w.short).await;
    // −1 × 1.1 / 0.9 = −1.222x: outside the 0.8–1.2 band and past the deviation threshold.
    assert_eq!(ev.triggers, TRIGGER_BAND | TRIGGER_DEVIATION);
    assert!(ev.leverage_before_bps <= -12_220 && ev.leverage_before_bps > -12_230, "{}", ev.leverage_before_bps);
    assert!((ev.leverage_after_bps + 10_000).abs() <= 2);
    assert!(ev.trade_notional > 0, "short and long leveraged tokens both buy after rises");
}

/// The schedule grid point of `t` due at the bank's slot (legacy: its slot is the price time).
async fn due_fix(w: &mut World, t: TokenKeys) -> ScheduleFix {
    let slot = w.bank.slot().await;
    w.token_state(t).await.schedule_fix(OracleKind::PythLegacy, slot).expect("the schedule is due")
}

#[tokio::test]
async fn enough_slots_open_the_gate_on_time_alone_at_the_update_for_the_schedules_time() {
    let mut w = world_with_positions().await;
    let pool = w.bank.balance(w.market.pool_vault).await;
    let rate_bps = leveraged_token_sdk::decide::rates_per_year(&w.market_state().await, pool).unwrap().long_bps;
    assert!(rate_bps > 50, "the long side pays funding and borrow: {rate_bps}");
    let anchor = w.token_state(w.long).await.schedule_anchor_slot;
    w.bank.reach(OracleKind::PythLegacy, (anchor + 216_000 - 1) as i64).await;
    w.publish().await;
    assert!(w.token_state(w.long).await.schedule_fix(OracleKind::PythLegacy, anchor + 216_000 - 1).is_none(), "not due a slot early");
    w.refused_not_needed(w.long).await;
    w.warp(5).await;
    let long = w.long;
    let fix = due_fix(&mut w, long).await;
    assert_eq!((fix.anchor_slot, fix.target), (anchor + 216_000, (anchor + 216_000) as i64));
    // A fresh update of the current slot is not the schedule's: the time trigger does not act on it.
    w.refused_not_needed(w.long).await;
    // The update for the schedule's slot (4 slots old, fresh too) opens it.
    w.deployment.oracle.publish_for(&mut w.bank, w.price, w.conf, fix.target).await;
    let ev = w.rebalance_ok(w.long).await;
    assert_eq!(ev.triggers, TRIGGER_TIME);
    // A day of charges took (3 × the long's funding and borrow + 2 %/yr
    // streaming) / 365 of equity: 3 / (1 − that) ≈ 3.002x, at the rate the
    // book paid all day (the SDK's reading of the market's curve).
    let yearly_bps = 3.0 * rate_bps as f64 + 200.0;
    let expected = 30_000.0 / (1.0 - yearly_bps / 365.0 / 10_000.0);
    assert!((ev.leverage_before_bps as f64 - expected).abs() <= 2.0, "{} vs {expected:.1}", ev.leverage_before_bps);
    assert!((ev.leverage_after_bps - 30_000).abs() <= 2);
    assert_eq!(w.token_state(w.long).await.schedule_anchor_slot, fix.anchor_slot);
}

#[tokio::test]
async fn a_late_scheduled_rebalance_prices_at_the_schedules_update_and_a_fresh_one_alone_is_refused() {
    let mut w = world_with_positions().await;
    let anchor = w.token_state(w.long).await.schedule_anchor_slot;
    // The keeper comes 1,000 slots (400 s) late. The price was $103 at the
    // schedule's slot and is $105 now: neither opens the band or deviation
    // triggers (3x long at 2.92x / 2.86x, moves of 3 % / 5 % < 10 %).
    w.bank.reach(OracleKind::PythLegacy, (anchor + 216_000 + 1_000) as i64).await;
    let long = w.long;
    let fix = due_fix(&mut w, long).await;
    assert_eq!(fix.target, (anchor + 216_000) as i64);
    w.set_price(105 * USD).await;
    // Only the time trigger holds, and a fresh update cannot act on it.
    w.refused_not_needed(w.long).await;
    // An old update that is not the schedule's: stale.
    let bob = w.bob.kp.insecure_clone();
    let rebalance = ix::rebalance(bob.pubkey(), &w.long, w.bob.collateral);
    w.deployment.oracle.publish_for(&mut w.bank, 103 * USD, w.conf, fix.target + 1).await;
    w.refused(rebalance.clone(), &[&bob], ErrorCode::OracleStale).await;
    // The update for the schedule's slot, 1,000 slots old (the max age is 25): the scheduled rebalance, at its price.
    w.deployment.oracle.publish_for(&mut w.bank, 103 * USD, w.conf, fix.target).await;
    let market_before = w.market_state().await;
    let ev = w.rebalance_ok(w.long).await;
    assert_eq!(ev.triggers, TRIGGER_TIME);
    assert_eq!(ev.price, normalize_price(103 * USD, w.conf, EXPO, DECIMALS).unwrap().price, "at the schedule's $103, not today's $105");
    assert!((ev.leverage_after_bps - 30_000).abs() <= 2);
    // The schedule moves to its grid point, not to the late call; a stale price is not recorded as the market's last.
    let t = w.token_state(w.long).await;
    assert_eq!((t.schedule_anchor_slot, t.last_rebalance_price), (fix.anchor_slot, ev.price));
    assert_eq!(w.market_state().await.last_oracle_publish, market_before.last_oracle_publish);
    // The next grid point is a period away: nothing is due.
    w.set_price(105 * USD).await;
    w.refused_not_needed(w.long).await;
}

#[tokio::test]
async fn a_wipe_needs_a_fresh_price_not_the_schedules_stale_update() {
    let mut w = world_with_positions().await;
    let anchor = w.token_state(w.long).await.schedule_anchor_slot;
    w.bank.reach(OracleKind::PythLegacy, (anchor + 216_000 + 1_000) as i64).await;
    let long = w.long;
    let fix = due_fix(&mut w, long).await;
    // The schedule's update, 1,000 slots old, prints −40 %: at it the 3x long would be wiped.
    w.deployment.oracle.publish_for(&mut w.bank, 60 * USD, w.conf, fix.target).await;
    let bob = w.bob.kp.insecure_clone();
    w.refused(ix::rebalance(bob.pubkey(), &w.long, w.bob.collateral), &[&bob], ErrorCode::WipeNeedsFreshPrice).await;
    assert_eq!(w.token_state(w.long).await.status, TokenStatus::Active);
    // The price now is $100: the time rebalance it would need is not the fresh update's to make.
    w.set_price(100 * USD).await;
    w.refused_not_needed(w.long).await;
    // A fresh −40 % print wipes it.
    w.set_price(60 * USD).await;
    let out = w.rebalance(Who::Bob, w.long).await;
    let wiped = out.events::<TokenWiped>();
    out.expect_ok("a wipe at a fresh price");
    assert_eq!(wiped.len(), 1);
    assert_eq!(w.token_state(w.long).await.status, TokenStatus::Wiped);
}

#[tokio::test]
async fn leaving_the_band_opens_the_gate_below_the_deviation_threshold() {
    // −8 %: 3 × 0.92 / 0.76 = 3.63x > 3.6x band max, and 8 % < 30 %.
    let (_, ev) = rebalance_long_after(|p| p.deviation_bps = 3_000, 92 * USD).await;
    assert_eq!(ev.triggers, TRIGGER_BAND);
    assert!(ev.trade_notional < 0, "a long sells after a fall");
    assert!((ev.leverage_after_bps - 30_000).abs() <= 2);
}

#[tokio::test]
async fn a_capped_rebalance_trades_at_least_a_tenth_of_target_per_call_and_continues_until_target() {
    // +10 %: the trade needed is A(L² − L)r = 10,000 × 6 × 0.1 ≈ 6,000 USDC (less fees).
    // A 2,000 USDC cap is below a tenth of the ≈ 39,000 target notional: each call trades that tenth.
    let (mut w, first) = rebalance_long_after(|p| p.max_notional_per_call = 2_000 * USDC, 110 * USD).await;
    assert_eq!(first.triggers, TRIGGER_DEVIATION);
    let equity = i128::from(first.equity_after + first.trade_fee + first.keeper_reward);
    assert_eq!(first.trade_notional, 3 * equity * 1_000 / 10_000);
    assert!(first.chunk_in_progress);
    let second = w.rebalance_ok(w.long).await;
    assert_eq!(second.triggers, TRIGGER_CHUNK);
    assert!(!second.chunk_in_progress, "the second chunk reaches target");
    assert!(second.trade_notional < first.trade_notional);
    assert!((second.leverage_after_bps - 30_000).abs() <= 2);
    // The episode paid one keeper reward in all.
    assert_eq!(first.keeper_reward + second.keeper_reward, w.token_state(w.long).await.params.keeper_reward);
    w.refused_not_needed(w.long).await;
}

#[tokio::test]
async fn the_ripcord_trades_all_the_way_back_despite_the_per_call_cap() {
    // −13 %: 3 × 0.87 / 0.61 = 4.28x ≥ the 4.2x ripcord.
    let (_, ev) = rebalance_long_after(|p| p.max_notional_per_call = 100 * USDC, 87 * USD).await;
    assert_ne!(ev.triggers & TRIGGER_RIPCORD, 0);
    assert_eq!(trigger_name(ev.triggers), "ripcord");
    assert!(!ev.chunk_in_progress);
    assert!(ev.trade_notional < -(100 * USDC as i128));
    assert!((ev.leverage_after_bps - 30_000).abs() <= 2);
}

#[tokio::test]
async fn calling_again_right_after_a_rebalance_earns_nothing_and_changes_nothing() {
    let mut w = world_with_positions().await;
    w.set_price(110 * USD).await;
    w.rebalance_ok(w.long).await;
    for _ in 0..3 {
        w.refused_not_needed(w.long).await;
    }
    assert_eq!(w.token_state(w.long).await.rebalance_count, 1);
}

#[tokio::test]
async fn rebalance_refuses_pause_stale_oracle_foreign_vault_and_wrong_reward_mint() {
    let mut w = world_with_positions().await;
    w.set_price(110 * USD).await;
    let bob = w.bob.kp.insecure_clone();
    let admin = w.admin.insecure_clone();
    let good = ix::rebalance(bob.pubkey(), &w.long, w.bob.collateral);

    w.bank.send(&[ix::set_token_pause(admin.pubkey(), w.long.token, PAUSE_REBALANCE, true)], &[&admin]).await.unwrap();
    w.refused(good.clone(), &[&bob], ErrorCode::Paused).await;
    w.bank.send(&[ix::set_token_pause(admin.pubkey(), w.long.token, PAUSE_REBALANCE, false)], &[&admin]).await.unwrap();

    w.refused(swap_account(good.clone(), w.long.vault, w.short.vault), &[&bob], ErrorCode::WrongVault).await;
    w.refused(swap_account(good.clone(), w.market.pool_vault, w.short.vault), &[&bob], ErrorCode::WrongVault).await;
    let other_mint = w.bank.create_mint(6).await;
    let wrong = w.bank.create_token_account(other_mint, bob.pubkey()).await;
    w.refused(swap_account(good.clone(), w.bob.collateral, wrong), &[&bob], ErrorCode::WrongCollateralMint).await;

    let slot = w.bank.slot().await;
    w.bank.warp(30).await;
    w.write_oracle(110 * USD, 1_000, slot, pyth_sdk_solana::state::PriceStatus::Trading);
    w.refused(good, &[&bob], ErrorCode::OracleStale).await;
}

#[tokio::test]
async fn a_crash_beyond_equity_wipes_the_token_and_the_insurance_fund_then_the_pool_absorb_the_bad_debt() {
    let mut w = world_with_positions().await;
    let vault = w.bank.balance(w.long.vault).await;
    let pool = w.bank.balance(w.market.pool_vault).await;
    let insurance = w.bank.balance(w.market.insurance_vault).await;
    let owed = w.market_state().await.insurance_owed;
    assert!(owed > 0, "the insurance fund's share of the trade fees, owed in the pool vault");
    let t0 = w.token_state(w.long).await;
    // −40 % in one print: a 3x long loses 120 % of its equity.
    w.set_price(60 * USD).await;
    let out = w.rebalance(Who::Bob, w.long).await;
    let wiped = out.events::<TokenWiped>();
    let absorbed = out.events::<LossAbsorbed>();
    let funded: u64 = out.events::<InsuranceFunded>().iter().map(|e| e.amount).sum();
    out.unwrap();
    assert_eq!((wiped.len(), absorbed.len()), (1, 1));
    let t = w.token_state(w.long).await;
    assert_eq!(t.status, TokenStatus::Wiped);
    assert_eq!(t.base, 0);
    // The whole vault went to the pool (its equity, then the fees it owed);
    // the rest of the loss is bad debt: the insurance fund pays it first (all
    // it has: less than the bad debt), then the LPs.
    assert_eq!(w.bank.balance(w.long.vault).await, 0);
    let (a, bad_debt) = (&absorbed[0], wiped[0].bad_debt);
    assert_eq!((a.token, a.loss, a.by_equity, a.by_fees_owed), (w.long.token, wiped[0].loss, vault - t0.fees_owed, t0.fees_owed));
    assert_eq!(u128::from(a.by_equity + a.by_fees_owed + bad_debt), a.loss);
    // Its share still owed in the pool vault counts first (with the income
    // accrued up to the wipe), then its vault.
    assert_eq!((a.insurance_vault_paid, a.by_lps), (insurance, bad_debt - a.by_insurance));
    assert!(a.by_insurance >= owed + insurance && a.by_insurance > 0);
    assert_eq!(w.bank.balance(w.market.pool_vault).await, pool + vault + insurance - funded);
    assert_eq!(w.bank.balance(w.market.insurance_vault).await, funded);
    let loss = (t0.cost - leveraged_token::math::position::notional_floor(t0.base, 60 * USDC as u128 * 1_000_000_000_000).unwrap()) as u64;
    assert!(bad_debt > a.by_insurance && bad_debt <= loss - (vault - t0.fees_owed));
    let m = w.market_state().await;
    assert_eq!((m.bad_debt_total, m.insurance_covered_total), (bad_debt, a.by_insurance));
    assert_eq!(w.market_state().await.net_base, w.token_state(w.short).await.base);

    // Wiped is final: no mints, no rebalances, redeem burns shares and pays 0.
    let alice = w.alice.kp.insecure_clone();
    let ixm = w.request_ix(Who::Alice, RequestKind::Mint, Some(w.long), next_nonce(), USDC, 0);
    w.refused(ixm, &[&alice], ErrorCode::TokenWiped).await;
    let bob = w.bob.kp.insecure_clone();
    w.refused(ix::rebalance(bob.pubkey(), &w.long, w.bob.collateral), &[&bob], ErrorCode::TokenWiped).await;
    let shares = w.bank.balance(w.alice.long).await;
    let coll = w.bank.balance(w.alice.collateral).await;
    w.redeem(Who::Alice, w.long, shares, 0).await.unwrap();
    assert_eq!(w.bank.balance(w.alice.long).await, 0);
    assert_eq!(w.bank.balance(w.alice.collateral).await, coll);
    // The short token on the same market is untouched by the long's wipe and still works.
    w.rebalance_ok(w.short).await;
}
