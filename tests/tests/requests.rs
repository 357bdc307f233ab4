#![allow(deprecated)]
//! No one chooses the price: every user flow executes at the one oracle
//! update for its request's price time. An attacker who holds every signed
//! update of a per-second price path gets exactly one accepted per request,
//! and an exhaustive search over the attacker's choices (when to request,
//! which update to submit) finds no mint→redeem or deposit→withdraw round trip
//! that beats the path itself.

use anchor_lang::prelude::Pubkey;
use leveraged_token::events::{LiquidityDeposited, LiquidityWithdrawn, Minted, Redeemed, RequestRefunded};
use leveraged_token::oracle::VerificationLevel;
use leveraged_token::state::{OracleKind, Request, RequestKind};
use leveraged_token_harness::deployment::{Deployer, Deployment, Holder, MarketSpec, Oracle, EXPO, USD};
use leveraged_token_harness::requests::next_nonce;
use leveraged_token_sdk::{ix, pda};
use leveraged_token_tests::fixtures::*;
use leveraged_token_tests::*;

const LONG: usize = 0;
/// A per-second path: $100 moving by up to ±0.6 % a second (a deterministic
/// xorshift walk), as volatile as a crash minute, so any choice of update
/// would be worth a lot.
fn path(len: usize, seed: u64) -> Vec<i64> {
    let mut x = seed;
    let mut p = 100 * USD;
    let mut v = Vec::with_capacity(len);
    for _ in 0..len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let step_bps = (x % 121) as i64 - 60; // −60..=60 bps
        p += p * step_bps / 10_000;
        v.push(p);
    }
    v
}

/// A pull market at $100 with a 3x long, 1,000,000 USDC of liquidity, and
/// one holder with `collateral`.
async fn pull_world(collateral: u64) -> (Bank, Deployment, Holder) {
    let mut bank = Bank::new().await;
    let deployer = Deployer::init(&mut bank, None).await;
    let spec = MarketSpec::new(Oracle::pull(Pubkey::new_unique(), FEED_ID)).token(LONG_3X, token_params(LONG_3X)).liquidity(1_000_000 * USDC);
    let d = deployer.market(&mut bank, spec).await;
    let h = d.holder(&mut bank, collateral).await;
    (bank, d, h)
}

/// Write the update of second `t` of the path (`prices[t - t0]`) into a new
/// account, as an attacker who fetched every signed update would.
fn signed_update(bank: &mut Bank, t: i64, price: i64) -> Pubkey {
    let key = Pubkey::new_unique();
    let conf = Oracle::default_conf(price);
    bank.set_account(key, 1_000_000_000, pull_price_account(FEED_ID, price, conf, EXPO, t, VerificationLevel::Full, 0), RECEIVER);
    key
}

/// The attacker submits every update from `t0` to `t1` for `owner`'s request
/// `nonce` and returns the outcome of each: only the update for the
/// request's price time may be accepted.
async fn try_every_update(bank: &mut Bank, d: &Deployment, owner: Pubkey, nonce: u64, t0: i64, prices: &[i64]) -> (usize, Vec<i64>) {
    let r: Request = bank.account(pda::request(&owner, nonce).0).await;
    let executor = bank.payer();
    let t = d.tokens.iter().find(|t| t.token == r.token);
    // Every wrong one first (the right one closes the request), then the right one.
    let mut order: Vec<usize> = (0..prices.len()).filter(|&i| t0 + i as i64 != r.target).collect();
    order.extend((0..prices.len()).filter(|&i| t0 + i as i64 == r.target));
    let mut accepted = Vec::new();
    let mut refused = 0;
    for i in order {
        let key = signed_update(bank, t0 + i as i64, prices[i]);
        let out = bank.send(&[ix::execute(executor, r.kind, owner, nonce, &d.market, t, key, &d.tokens)], &[]).await;
        if out.result.is_ok() {
            accepted.push(t0 + i as i64);
        } else {
            out.expect_err(ErrorCode::OracleNotAtTarget);
            refused += 1;
        }
    }
    (refused, accepted)
}

#[tokio::test]
async fn an_attacker_holding_every_update_of_a_per_second_path_gets_exactly_one_accepted_for_each_flow() {
    let (mut bank, d, h) = pull_world(200_000 * USDC).await;
    let t0 = bank.clock().await.unix_timestamp - 30;
    let prices = path(4_000, 7);
    for kind in [RequestKind::Deposit, RequestKind::Mint, RequestKind::Redeem, RequestKind::Withdraw] {
        let amount = match kind {
            RequestKind::Mint | RequestKind::Deposit => 10_000 * USDC,
            RequestKind::Redeem => bank.balance(h.shares[LONG]).await / 2,
            RequestKind::Withdraw => bank.balance(h.lp).await / 2,
        };
        let nonce = next_nonce();
        let token = matches!(kind, RequestKind::Mint | RequestKind::Redeem).then_some(LONG);
        bank.send(&[d.request_ix(h.key(), kind, token, nonce, amount, 0)], &[&h.kp]).await.expect_ok("request");
        let r: Request = bank.account(pda::request(&h.key(), nonce).0).await;
        // Every update from 60 s before to 60 s after the price time exists by then.
        bank.reach(OracleKind::PythPull, r.target + 60).await;
        let last = (r.target + 60 - t0) as usize;
        let window = (r.target - 60 - t0).max(0) as usize;
        let (refused, accepted) = try_every_update(&mut bank, &d, h.key(), nonce, t0 + window as i64, &prices[window..=last]).await;
        println!("{:<8} price time {}: {} updates refused (OracleNotAtTarget), accepted {:?}", kind.name(), r.target, refused, accepted);
        assert_eq!(accepted, vec![r.target], "{}: exactly the update for the price time", kind.name());
        assert_eq!(refused, last - window, "{}: every other update around it is refused", kind.name());
        assert!(bank.raw_account(pda::request(&h.key(), nonce).0).await.is_none(), "the request closed");
    }
}

/// What a mint request at second `tm` followed by a redeem request at second
/// `tr` pays back, executed at the only updates they accept.
async fn mint_redeem_round_trip(prices: &[i64], t_mint: usize, t_redeem: usize, amount: u64) -> (u64, i64, i64) {
    let (mut bank, d, h) = pull_world(amount).await;
    let t0 = bank.clock().await.unix_timestamp;
    let at = |t: i64| prices[(t - t0) as usize];
    bank.advance_time(t_mint as i64).await;
    let nonce = next_nonce();
    bank.send(&[d.request_ix(h.key(), RequestKind::Mint, Some(LONG), nonce, amount, 0)], &[&h.kp]).await.expect_ok("request mint");
    let r: Request = bank.account(pda::request(&h.key(), nonce).0).await;
    let p_mint = at(r.target);
    let out = d.execute_at(&mut bank, h.key(), nonce, Some((p_mint, Oracle::default_conf(p_mint)))).await;
    assert_eq!(out.events::<Minted>().len(), 1);
    let shares = bank.balance(h.shares[LONG]).await;
    let now = bank.clock().await.unix_timestamp;
    bank.advance_time(t0 + t_redeem as i64 - now).await;
    let nonce = next_nonce();
    bank.send(&[d.request_ix(h.key(), RequestKind::Redeem, Some(LONG), nonce, shares, 0)], &[&h.kp]).await.expect_ok("request redeem");
    let r: Request = bank.account(pda::request(&h.key(), nonce).0).await;
    let p_redeem = at(r.target);
    let out = d.execute_at(&mut bank, h.key(), nonce, Some((p_redeem, Oracle::default_conf(p_redeem)))).await;
    assert_eq!(out.events::<Redeemed>().len(), 1);
    (bank.balance(h.collateral).await, p_mint, p_redeem)
}

#[tokio::test]
async fn an_exhaustive_search_over_request_times_finds_no_mint_redeem_round_trip_that_beats_the_path() {
    // Under the old rule (any verified update at most 60 s old, not older than
    // the last used) the attacker picked the cheapest update to mint at and the
    // dearest to redeem at. Now each request has one price: the attacker's only
    // choice is when to request, and every round trip pays at most the 3x
    // return of the path between the two price times.
    let prices = path(200, 11);
    let amount = 100_000 * USDC;
    let mut best = i128::MIN;
    let mut pairs = 0;
    for t_mint in 0..6 {
        for t_redeem in (t_mint + 3)..(t_mint + 9) {
            let (out, p_mint, p_redeem) = mint_redeem_round_trip(&prices, t_mint, t_redeem, amount).await;
            // The path itself: 3x the price return between the two fixed price times.
            let path_out = amount as i128 + amount as i128 * 3 * (p_redeem - p_mint) as i128 / p_mint as i128;
            assert!((out as i128) <= path_out, "mint at {t_mint}s, redeem at {t_redeem}s: {out} out beats the path's {path_out}");
            best = best.max(out as i128 - path_out);
            pairs += 1;
        }
    }
    // What choosing updates within a 60 s age window would have been worth on this path.
    let window = &prices[..60];
    let (lo, hi) = (*window.iter().min().unwrap(), *window.iter().max().unwrap());
    let option = amount as i128 * 3 * (hi - lo) as i128 / lo as i128;
    println!(
        "{pairs} round trips of {} USDC: best result against the path {:.2} USDC (fees); picking updates in a 60 s window would have been worth {:.2} USDC",
        amount / USDC,
        best as f64 / USDC as f64,
        option as f64 / USDC as f64
    );
    assert!(best < 0, "every round trip pays its fees");
}

#[tokio::test]
async fn an_exhaustive_search_over_deposit_times_finds_no_deposit_withdraw_round_trip_that_beats_the_pool() {
    // A trader holds 300,000 USDC of the 3x long, so the pool's value moves
    // with the price. An LP deposits at one of several seconds and asks to
    // withdraw at once; the withdrawal prices an hour later (the cooldown).
    let prices = path(3_700, 23);
    let amount = 1_000_000 * USDC;
    let mut best = f64::MIN;
    for t_dep in 0..5 {
        let (mut bank, d, lp) = pull_world(amount).await;
        let t0 = bank.clock().await.unix_timestamp;
        let at = |t: i64| prices[(t - t0) as usize];
        let trader = d.holder(&mut bank, 100_000 * USDC).await;
        trader.mint(&mut bank, &d, LONG, 100_000 * USDC).await.expect_ok("trader mints");
        let now = bank.clock().await.unix_timestamp;
        bank.advance_time(t0 + 10 + t_dep - now).await;
        let nonce = next_nonce();
        bank.send(&[d.request_ix(lp.key(), RequestKind::Deposit, None, nonce, amount, 0)], &[&lp.kp]).await.expect_ok("request deposit");
        let r: Request = bank.account(pda::request(&lp.key(), nonce).0).await;
        let p_dep = at(r.target);
        let out = d.execute_at(&mut bank, lp.key(), nonce, Some((p_dep, Oracle::default_conf(p_dep)))).await;
        let dep = out.events::<LiquidityDeposited>().remove(0);
        let lp_shares = bank.balance(lp.lp).await;
        let nonce = next_nonce();
        bank.send(&[d.request_ix(lp.key(), RequestKind::Withdraw, None, nonce, lp_shares, 0)], &[&lp.kp]).await.expect_ok("request withdraw");
        let r: Request = bank.account(pda::request(&lp.key(), nonce).0).await;
        assert!(r.target >= r.requested_at + 3_600, "the withdrawal prices after the cooldown");
        let p_wd = at(r.target);
        let out = d.execute_at(&mut bank, lp.key(), nonce, Some((p_wd, Oracle::default_conf(p_wd)))).await;
        assert!(out.events::<RequestRefunded>().is_empty());
        let wd = out.events::<LiquidityWithdrawn>().remove(0);
        // The pool itself: the value of an LP share at the two price times.
        let supply_at_deposit = dep.lp_supply_after - dep.lp_out;
        let supply_at_withdrawal = wd.lp_supply_after + wd.lp_in;
        let per_share_dep = dep.pool_value as f64 / supply_at_deposit as f64;
        let per_share_wd = wd.pool_value as f64 / supply_at_withdrawal as f64;
        let pool_out = amount as f64 * per_share_wd / per_share_dep;
        let got = bank.balance(lp.collateral).await as f64;
        println!(
            "deposit at +{t_dep}s (price {:.2}), withdrawal an hour later (price {:.2}): out {:.2} USDC, the pool's own return {:.2}",
            p_dep as f64 / USD as f64,
            p_wd as f64 / USD as f64,
            got / 1e6,
            pool_out / 1e6
        );
        assert!(got <= pool_out, "an LP round trip never beats the pool's own return");
        best = best.max(got - pool_out);
    }
    println!("best LP round trip against the pool: {:.2} USDC (the two LP fees)", best / 1e6);
    assert!(best < 0.0);
}

#[tokio::test]
async fn a_request_still_executes_at_its_update_after_newer_updates_landed_and_moved_the_market() {
    // The old failure: landing the newest update first (any small transaction)
    // made every instruction carrying an older one fail with
    // OraclePriceRegressed. A request's price is fixed in time instead.
    let (mut bank, d, h) = pull_world(50_000 * USDC).await;
    let nonce = next_nonce();
    bank.send(&[d.request_ix(h.key(), RequestKind::Mint, Some(LONG), nonce, 10_000 * USDC, 0)], &[&h.kp]).await.expect_ok("request mint");
    let r: Request = bank.account(pda::request(&h.key(), nonce).0).await;
    // Thirty seconds later a stranger posts a newer update and sends a rebalance with it.
    bank.reach(OracleKind::PythPull, r.target + 30).await;
    let newer = signed_update(&mut bank, r.target + 30, 103 * USD);
    let stranger = d.holder(&mut bank, 1_000 * USDC).await;
    let m = d.market;
    let probe = bank
        .send(
            &[ix::rebalance(stranger.key(), &leveraged_token_sdk::TokenKeys { market: leveraged_token_sdk::MarketKeys { oracle: newer, ..m }, ..d.tokens[LONG] }, stranger.collateral)],
            &[&stranger.kp],
        )
        .await;
    // The newer update is fresh and valid: the rebalance got past the oracle to its gate.
    probe.expect_err(ErrorCode::RebalanceNotNeeded);
    let update = signed_update(&mut bank, r.target, 100 * USD);
    let out = bank.send(&[ix::execute(bank.payer(), RequestKind::Mint, h.key(), nonce, &d.market, Some(&d.tokens[LONG]), update, &d.tokens)], &[]).await;
    assert_eq!(out.events::<Minted>().len(), 1, "filled at the update for its time");
    out.expect_ok("execute after newer updates");
}

#[tokio::test]
async fn a_reverted_wick_posted_with_rebalance_cannot_wipe_the_token_and_the_holder_redeems_at_the_current_price() {
    // Measured on the old rule: a −34 % wick published 45 s earlier, already
    // reverted to −5 %, posted by a stranger together with `rebalance`, wiped
    // the 3x long for good and a 100,000 USDC holder's redeem paid 0.
    let (mut bank, d, h) = pull_world(100_000 * USDC).await;
    h.mint(&mut bank, &d, LONG, 100_000 * USDC).await.expect_ok("mint");
    let shares = bank.balance(h.shares[LONG]).await;
    bank.warp(1_000).await;
    let now = bank.clock().await.unix_timestamp;
    let wick = signed_update(&mut bank, now - 45, 66 * USD);
    let stranger = d.holder(&mut bank, 0).await;
    let t = leveraged_token_sdk::TokenKeys { market: leveraged_token_sdk::MarketKeys { oracle: wick, ..d.market }, ..d.tokens[LONG] };
    let before = bank.snapshot(&[d.tokens[LONG].token, d.tokens[LONG].vault, d.market.pool_vault]).await;
    bank.send(&[ix::rebalance(stranger.key(), &t, stranger.collateral)], &[&stranger.kp]).await.expect_err(ErrorCode::OracleStale);
    assert_eq!(bank.snapshot(&[d.tokens[LONG].token, d.tokens[LONG].vault, d.market.pool_vault]).await, before, "nothing changed");
    // The current price is −5 %: the holder's redeem executes there.
    d.oracle.publish(&mut bank, 95 * USD, Oracle::default_conf(95 * USD)).await;
    let out = h.redeem(&mut bank, &d, LONG, shares).await;
    let paid = out.events::<Redeemed>()[0].collateral_out;
    out.expect_ok("redeem");
    println!("the wick refused (OracleStale); the holder redeemed {:.2} USDC at −5 %", paid as f64 / USDC as f64);
    assert!(paid > 84_000 * USDC && paid < 86_000 * USDC, "about 85 % of 100,000 at −5 % and 3x: {paid}");
}

#[tokio::test]
async fn just_in_time_liquidity_around_a_mint_pays_more_in_lp_fees_than_its_share_of_the_trade_fee() {
    // Measured on the old rule: 10 M deposited before a 300,000 USDC mint
    // and withdrawn right after took 327 of the mint's 450 USDC trade fee.
    // Now the deposit and the withdrawal each pay 10 bps to the LPs who stay,
    // and the withdrawal prices an hour after its request (flat price here).
    let (mut bank, d, jit) = pull_world(10_000_000 * USDC).await;
    let trader = d.holder(&mut bank, 300_000 * USDC).await;
    jit.deposit(&mut bank, &d, 10_000_000 * USDC).await.expect_ok("deposit");
    let out = trader.mint(&mut bank, &d, LONG, 300_000 * USDC).await;
    let trade_fee = out.events::<Minted>()[0].trade_fee;
    out.expect_ok("mint");
    let lp = bank.balance(jit.lp).await;
    let out = jit.withdraw(&mut bank, &d, lp).await;
    let w = out.events::<LiquidityWithdrawn>().remove(0);
    out.expect_ok("withdraw");
    let pnl = bank.balance(jit.collateral).await as i128 - 10_000_000 * USDC as i128;
    println!("JIT LP around a 300,000 USDC mint: trade fee {:.2} USDC, withdrawal fee {:.2}, LP result {:.2} USDC", trade_fee as f64 / 1e6, w.lp_fee as f64 / 1e6, pnl as f64 / 1e6);
    assert!(pnl < -(trade_fee as i128) * 10, "the two LP fees cost far more than any share of the trade fee");
}

#[tokio::test]
async fn on_a_legacy_oracle_only_the_account_state_for_the_price_slot_executes_a_request() {
    // A legacy price account is one address that Pyth overwrites every slot;
    // each state names its previous slot. Of every state from 20 slots before
    // to 20 after the request's price slot, only the one for it executes.
    let mut w = World::new().await;
    w.warp(100).await;
    let nonce = next_nonce();
    let alice = w.alice.kp.insecure_clone();
    w.bank.send(&[w.deployment.request_ix(alice.pubkey(), RequestKind::Mint, Some(0), nonce, 1_000 * USDC, 0)], &[&alice]).await.expect_ok("request");
    let r: Request = w.bank.account(pda::request(&alice.pubkey(), nonce).0).await;
    w.bank.reach(OracleKind::PythLegacy, r.target + 20).await;
    let (mut refused, mut accepted) = (0, Vec::new());
    let slots: Vec<i64> = ((r.target - 20)..=(r.target + 20)).filter(|s| *s != r.target).chain([r.target]).collect();
    for slot in slots {
        w.deployment.oracle.publish_for(&mut w.bank, w.price, w.conf, slot).await;
        let out = w.bank.send(&[ix::execute(w.bank.payer(), RequestKind::Mint, alice.pubkey(), nonce, &w.market, Some(&w.long), w.market.oracle, &w.deployment.tokens)], &[]).await;
        if out.result.is_ok() {
            accepted.push(slot);
        } else {
            out.expect_err(ErrorCode::OracleNotAtTarget);
            refused += 1;
        }
    }
    assert_eq!((refused, accepted), (40, vec![r.target]));
}

#[tokio::test]
async fn on_a_lagging_cluster_clock_the_price_time_counts_from_the_newest_publish_time_the_market_has_seen() {
    // Pyth stamps updates with its own time; when the cluster clock trails it,
    // an update for `clock + delay` could already exist when the request is
    // made. The delay counts from the later of the clock and the newest
    // publish time the market has used, which no update can be ahead of by much.
    let (mut bank, d, h) = pull_world(50_000 * USDC).await;
    h.mint(&mut bank, &d, LONG, 10_000 * USDC).await.expect_ok("mint");
    let now = bank.clock().await.unix_timestamp;
    // A keeper's rebalance lands an update published 8 s ahead of the cluster clock (a 12 % move).
    let ahead = signed_update(&mut bank, now + 8, 112 * USD);
    let t = leveraged_token_sdk::TokenKeys { market: leveraged_token_sdk::MarketKeys { oracle: ahead, ..d.market }, ..d.tokens[LONG] };
    bank.send(&[ix::rebalance(h.key(), &t, h.collateral)], &[&h.kp]).await.expect_ok("rebalance at the newer update");
    let market: leveraged_token::state::Market = bank.account(d.market.market).await;
    assert_eq!(market.last_oracle_publish, now + 8);
    let nonce = next_nonce();
    bank.send(&[d.request_ix(h.key(), RequestKind::Mint, Some(LONG), nonce, 1_000 * USDC, 0)], &[&h.kp]).await.expect_ok("request");
    let r: Request = bank.account(pda::request(&h.key(), nonce).0).await;
    assert_eq!(r.requested_at, now);
    assert_eq!(r.target, now + 8 + i64::from(market.params.request_delay_secs), "counted from the newest publish time, not the clock");
}
