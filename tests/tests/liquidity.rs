#![allow(deprecated)]
//! LP deposits and withdrawals, in two steps: exact balances on the success
//! path (the LP fee left to the LPs who stay), pricing that counts traders'
//! unrealised PnL, the withdrawal cooldown, the net exposure cap and an
//! insolvent pool refunding, and every bad input refused by name with every
//! account unchanged.
use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::solana_program::instruction::Instruction;
use leveraged_token::events::{LiquidityDeposited, LiquidityWithdrawn};
use leveraged_token::math::fees::fee_ceil;
use leveraged_token::math::pool::{collateral_for_lp_floor, lp_for_deposit_floor, Side};
use leveraged_token::math::position::notional_floor;
use leveraged_token::math::price::normalize_price;
use leveraged_token::math::shares::quote_mint;
use leveraged_token::settlement::{preview_settlement, SettleAt};
use leveraged_token::state::{OracleKind, RefundReason, RequestKind};
use leveraged_token_harness::requests::next_nonce;
use leveraged_token_sdk::{constants::*, ix};
use leveraged_token_tests::fixtures::*;
use leveraged_token_tests::{swap_account, unsign, ErrorCode, TestKeypair, TestSigner};
use pyth_sdk_solana::state::PriceStatus;

/// The pool vault after `World::new()`: the first LP's 1,000,000 USDC.
const POOL: u64 = 1_000_000 * USDC;
/// The LP supply after `World::new()`: the first deposit into an empty pool
/// pays the 10 bps LP fee (1,000 USDC, left in the pool) and is issued LP
/// one for one on the rest: `999,000 USDC · (0 + 1000) / (0 + 1000)`.
const LP_SUPPLY: u64 = 999_000 * USDC;
const LP_FEE_BPS: u16 = 10;

/// Alice's request to deposit `amount` of her collateral.
fn alice_deposits(w: &World, amount: u64, min_lp_out: u64) -> Instruction {
    w.request_ix(Who::Alice, RequestKind::Deposit, None, next_nonce(), amount, min_lp_out)
}

/// The first LP's request to withdraw `lp` LP shares.
fn lp_withdraws(w: &World, lp: u64, min_out: u64) -> Instruction {
    w.request_ix(Who::Lp, RequestKind::Withdraw, None, next_nonce(), lp, min_out)
}

/// Alice's and the first LP's keypairs.
fn signers(w: &World) -> (TestKeypair, TestKeypair) {
    (w.alice.kp.insecure_clone(), w.lp.kp.insecure_clone())
}

/// The LP fee on `amount`, rounded up.
fn lp_fee(amount: u64) -> u64 {
    fee_ceil(u128::from(amount), LP_FEE_BPS).unwrap() as u64
}

/// What a deposit of `amount` and a withdrawal of `lp` pay now in a pool
/// without positions (its value is its vault): (LP out, collateral out).
async fn quotes_without_positions(w: &mut World, amount: u64, lp: u64) -> (u64, u64) {
    let m = w.market_state().await;
    assert_eq!((m.net_base, m.gross_base), (0, 0), "no positions");
    let vault = w.bank.balance(w.market.pool_vault).await;
    let supply = w.bank.supply(w.market.lp_mint).await;
    let lp_out = lp_for_deposit_floor(amount - lp_fee(amount), supply, u128::from(vault)).unwrap() as u64;
    let gross = collateral_for_lp_floor(lp, supply, u128::from(vault), vault).unwrap() as u64;
    (lp_out, gross - lp_fee(gross))
}

#[tokio::test]
async fn a_deposit_into_a_pool_without_positions_issues_lp_at_the_share_value_less_the_lp_fee() {
    let mut w = World::new().await;
    assert_eq!(w.bank.balance(w.market.pool_vault).await, POOL);
    assert_eq!(w.bank.supply(w.market.lp_mint).await, LP_SUPPLY);
    assert_eq!(w.bank.balance(w.lp.lp).await, LP_SUPPLY);
    let carol = w.new_user(10_000 * USDC).await;

    // No positions: net_base = net_cost = gross_base = 0, so the pool value is the
    // vault (no PnL, no funding or borrow, no confidence exposure).
    let m = w.market_state().await;
    assert_eq!((m.net_base, m.net_cost, m.gross_base), (0, 0, 0));
    let p = normalize_price(w.price, w.conf, EXPO, DECIMALS).unwrap();
    let now = w.bank.clock().await.unix_timestamp;
    let value = w.pool_value(POOL, &p, Side::High, now).await;
    assert_eq!(value, u128::from(POOL));
    // LP fee 10 bps = 10 USDC; lp = 9,990 USDC · (999,000 USDC + 1000) / (1,000,000 USDC + 1000)
    // = 9,980.01 USDC of LP (each LP share is worth 1.001 USDC).
    assert_eq!(lp_fee(10_000 * USDC), 10 * USDC);
    let lp_out = lp_for_deposit_floor(9_990 * USDC, LP_SUPPLY, value).unwrap() as u64;
    assert_eq!(lp_out, 9_980_010_000);

    // The exact amount as the slippage bound: it must pass.
    let out = w.deployment.request_and_execute(&mut w.bank, &carol.kp, RequestKind::Deposit, None, 10_000 * USDC, lp_out).await;
    out.clone().unwrap();

    assert_eq!(w.bank.balance(carol.collateral).await, 0);
    assert_eq!(w.bank.balance(carol.lp).await, lp_out);
    // The whole deposit, fee included, is in the pool.
    assert_eq!(w.bank.balance(w.market.pool_vault).await, POOL + 10_000 * USDC);
    assert_eq!(w.bank.supply(w.market.lp_mint).await, LP_SUPPLY + lp_out);
    // The first LP is untouched.
    assert_eq!(w.bank.balance(w.lp.lp).await, LP_SUPPLY);

    let ev = out.events::<LiquidityDeposited>();
    assert_eq!(ev.len(), 1);
    let e = &ev[0];
    assert_eq!(
        (e.market, e.owner, e.amount, e.lp_fee, e.price, e.lp_out, e.pool_value, e.lp_supply_after),
        (w.market.market, carol.key(), 10_000 * USDC, 10 * USDC, p.price, lp_out, u128::from(POOL), LP_SUPPLY + lp_out)
    );
}

#[tokio::test]
async fn a_withdrawal_from_a_pool_without_positions_pays_the_share_value_less_the_lp_fee_after_the_cooldown() {
    let mut w = World::new().await;
    // The LP deposited all of its 1,000,000 USDC in `World::new()`.
    assert_eq!(w.bank.balance(w.lp.collateral).await, 0);
    let p = normalize_price(w.price, w.conf, EXPO, DECIMALS).unwrap();
    let now = w.bank.clock().await.unix_timestamp;
    let value = w.pool_value(POOL, &p, Side::Low, now).await;
    assert_eq!(value, u128::from(POOL));
    // 10,000 LP · (1,000,000 USDC + 1000) / (999,000 USDC + 1000) = 10,010.010009 USDC,
    // less the 10 bps LP fee (10.010011 USDC, rounded up) = 9,999.999998 USDC.
    let gross = collateral_for_lp_floor(10_000 * USDC, LP_SUPPLY, value, POOL).unwrap() as u64;
    assert_eq!((gross, lp_fee(gross)), (10_010_010_009, 10_010_011));
    let paid = gross - lp_fee(gross);

    // The withdrawal prices an hour after its request (the LP cooldown).
    let kp = w.lp.kp.insecure_clone();
    let nonce = w.request(Who::Lp, RequestKind::Withdraw, None, 10_000 * USDC, paid).await;
    let r = w.request_state(Who::Lp, nonce).await;
    assert_eq!(r.target as u64, r.requested_slot + 3_600 * 1_000 / 400, "the cooldown in slots");
    // The LP shares are in escrow meanwhile.
    assert_eq!(w.bank.balance(w.lp.lp).await, LP_SUPPLY - 10_000 * USDC);
    let out = w.execute(Who::Lp, nonce).await;
    out.clone().unwrap();

    assert_eq!(w.bank.balance(w.lp.collateral).await, paid);
    assert_eq!(w.bank.balance(w.lp.lp).await, LP_SUPPLY - 10_000 * USDC);
    // The LP fee stays in the pool.
    assert_eq!(w.bank.balance(w.market.pool_vault).await, POOL - paid);
    assert_eq!(w.bank.supply(w.market.lp_mint).await, LP_SUPPLY - 10_000 * USDC);

    let ev = out.events::<LiquidityWithdrawn>();
    assert_eq!(ev.len(), 1);
    let e = &ev[0];
    assert_eq!(
        (e.market, e.owner, e.lp_in, e.lp_fee, e.amount_out, e.pool_value, e.lp_supply_after),
        (w.market.market, kp.pubkey(), 10_000 * USDC, lp_fee(gross), paid, u128::from(POOL), LP_SUPPLY - 10_000 * USDC)
    );
}

#[tokio::test]
async fn lps_cannot_exit_ahead_of_a_loss_traders_unrealised_profit_is_deducted_before_settlement() {
    let mut w = World::new().await;
    // Alice puts 100,000 USDC into the 3x long at $100:
    //   mint fee 10 bps = 100 USDC; 3 × 99,900 = 299,700 USDC notional, trade fee 5 bps = 149.85 USDC;
    //   equity 99,750.15 USDC; base 3 × 99,750.15 / 100 = 2,992.5045 units; cost 299,250.45 USDC.
    //   The trade fee goes to the pool vault (1,000,149.85 USDC), 10 % of it
    //   (14.985 USDC) owed to the insurance fund: the LPs' cash is 1,000,134.865 USDC.
    w.mint(Who::Alice, w.long, 100_000 * USDC, 0).await.unwrap();
    let m = w.market_state().await;
    assert_eq!(m.net_base, 2_992_504_500_000);
    assert_eq!(m.net_cost, 299_250_450_000);
    assert_eq!(w.bank.balance(w.market.pool_vault).await, 1_000_149_850_000);
    assert_eq!(m.insurance_owed, 14_985_000);

    // +10 %: the long's unrealised profit is 2,992.5045 × $10 = 29,925.045 USDC, not settled:
    // no mint, redeem or rebalance has run, so the pool vault still holds it.
    w.set_price(110 * USD).await;
    let vault = w.bank.balance(w.market.pool_vault).await;
    assert_eq!(vault, 1_000_149_850_000);
    let supply = w.bank.supply(w.market.lp_mint).await;
    assert_eq!(supply, LP_SUPPLY);
    // Same time as the mint's execution: the indices have not moved, nothing accrued.
    let clock = w.bank.clock().await;
    assert_eq!(clock.unix_timestamp, m.last_accrual_time);

    // Pool value on the low side now, by hand:
    //   cash 1,000,134.865 − uPnL 29,925.045 − the long's base × conf (2,992.5045 × $0.05 = 149.625225)
    //   = 970,060.194775 USDC.
    let p = normalize_price(110 * USD, w.conf, EXPO, DECIMALS).unwrap();
    let value = w.pool_value(vault, &p, Side::Low, clock.unix_timestamp).await;
    assert_eq!(value, 970_060_194_775);

    // The withdrawal prices an hour later at the same price: the pool is then
    // also owed an hour of the long's charge on 299,250.45 USDC: funding at
    // full skew (the book is all long) 15 %/yr, borrow 0.5 %/yr base and 5 %/yr
    // at 30 % utilisation (half the 10 % at the 60 % kink): ≈ 20.5 %/yr, ≈ 7.0 USDC.
    let nonce = w.request(Who::Lp, RequestKind::Withdraw, None, 10_000 * USDC, 0).await;
    let r = w.request_state(Who::Lp, nonce).await;
    let then = w.bank.unix_time_at_slot(&clock, r.target as u64);
    let value_then = w.pool_value(vault, &p, Side::Low, then).await;
    assert!(value_then > value + 6 * u128::from(USDC) && value_then < value + 8 * u128::from(USDC), "{value_then}");
    // At most the LPs' cash: the pool vault less the insurance share owed in it.
    let gross = collateral_for_lp_floor(10_000 * USDC, supply, value_then, m.lp_cash(vault)).unwrap() as u64;
    let expected = gross - lp_fee(gross);

    let out = w.execute(Who::Lp, nonce).await;
    out.clone().unwrap();
    let paid = w.bank.balance(w.lp.collateral).await;
    assert_eq!(paid, expected);
    assert_eq!(w.bank.balance(w.market.pool_vault).await, vault - paid);
    let ev = out.events::<LiquidityWithdrawn>();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].pool_value, value_then);
    assert_eq!(ev[0].amount_out, paid);

    // Valued on the vault alone 10,000 of 999,000 LP would take ≈ 10,011.5 USDC.
    // With the traders' profit counted it takes ≈ 1 % of 970,067 ≈ 9,710.4 USDC
    // (9,700.8 after the 10 bps LP fee): the ~3 % loss the pool owes is shared by the LP who leaves.
    assert!(paid < 9_750 * USDC, "LP left with {paid}");
    assert!(paid > 9_700 * USDC, "LP left with {paid}");
}

#[tokio::test]
async fn a_withdrawal_that_would_break_the_net_exposure_cap_is_refunded() {
    let mut w = World::new().await;
    // Alice and Bob each put 100,000 USDC in the 3x long: net (and long)
    // notional ≈ 2 × 299,250.45 = 598,500.9 USDC; pool vault ≈ 1,000,000 USDC
    // of LP cash plus 90 % of two 149.85 USDC trade fees (10 % is the insurance fund's).
    w.mint(Who::Alice, w.long, 100_000 * USDC, 0).await.unwrap();
    // Bob's mint prices 2 s after Alice's fill: the long settles there
    // (funding, borrow and streaming fee on Alice's position), then his shares
    // get the base that keeps the holders' leverage, a little more than 3 × his deposit.
    let (t, m) = (w.token_state(w.long).await, w.market_state().await);
    let (vault, pool, supply) = (w.bank.balance(w.long.vault).await, w.bank.balance(w.market.pool_vault).await, w.bank.supply(w.long.share_mint).await);
    let clock = w.bank.clock().await;
    let target = m.params.request_times(OracleKind::PythLegacy, RequestKind::Mint, clock.unix_timestamp, clock.slot).unwrap().target as u64;
    let p = normalize_price(w.price, w.conf, EXPO, DECIMALS).unwrap();
    let at = SettleAt { vault_amount: vault, pool_amount: pool, insurance_amount: 0, slot: target, now: w.bank.unix_time_at_slot(&clock, target) };
    let s = preview_settlement(&m, &t, &p, &at).unwrap();
    let q = quote_mint(&t.book(s.equity, supply), p.price, p.conf, 100_000 * USDC, 10, 5).unwrap();
    w.mint(Who::Bob, w.long, 100_000 * USDC, 0).await.unwrap();
    let m = w.market_state().await;
    let net = notional_floor(t.base + q.delta_base, p.price).unwrap();
    assert_eq!(m.long_notional as i128, net);
    assert_eq!(m.net_base, t.base + q.delta_base);
    // (A little more than 2 × 3 × 99,750.15: the charges Alice's position paid
    // before Bob's mint left it a little above 3x, and Bob's base keeps it.)
    assert!(net > 598_500_900_000 && net < 598_500_900_000 + USDC as i128 / 10, "{net}");
    // Net cap = 10,000 bps = 1 × pool value: the pool must keep ≥ 598,500.9 USDC of value.
    // Withdrawing 500,000 of 999,000 LP (≈ 500,500 USDC of a ≈ 1,000,000 USDC pool)
    // leaves ≈ 499,800: the LP shares come back whole (`refunded` asserts
    // every balance but the executor fee is as it was).
    w.refunded(Who::Lp, RequestKind::Withdraw, None, 500_000 * USDC, 0, RefundReason::ExposureCap).await;
    // 300,000 LP (≈ 300,300 USDC) leaves ≈ 700,000 USDC ≥ 598,500.9: allowed.
    let out = w.withdraw(Who::Lp, 300_000 * USDC, 0).await;
    assert_eq!(out.events::<LiquidityWithdrawn>().len(), 1);
    out.expect_ok("withdraw 300,000 LP");
    // And now 150,000 more (≈ 150,150 USDC, leaving ≈ 549,800) breaks it.
    w.refunded(Who::Lp, RequestKind::Withdraw, None, 150_000 * USDC, 0, RefundReason::ExposureCap).await;
}

#[tokio::test]
async fn deposit_and_withdraw_requests_refuse_zero_amounts() {
    let mut w = World::new().await;
    let (a, l) = signers(&w);
    w.refused(alice_deposits(&w, 0, 0), &[&a], ErrorCode::ZeroAmount).await;
    w.refused(lp_withdraws(&w, 0, 0), &[&l], ErrorCode::ZeroAmount).await;
}

#[tokio::test]
async fn deposit_requests_refuse_more_than_the_balance_and_withdraw_requests_more_than_the_lp_held() {
    let mut w = World::new().await;
    let (a, l) = signers(&w);
    for amount in [u64::MAX, 100_000 * USDC + 1] {
        w.refused(alice_deposits(&w, amount, 0), &[&a], ErrorCode::InsufficientFunds).await;
    }
    for lp in [u64::MAX, LP_SUPPLY + 1] {
        w.refused(lp_withdraws(&w, lp, 0), &[&l], ErrorCode::InsufficientShares).await;
    }
}

#[tokio::test]
async fn deposit_and_withdraw_requests_refuse_a_pay_or_payout_account_of_another_mint() {
    let mut w = World::new().await;
    let other_mint = w.bank.create_mint(DECIMALS).await;
    let (a, l) = signers(&w);
    // Alice's associated account of another mint, paid in as if it were collateral.
    let fake = w.bank.create_ata(a.pubkey(), other_mint).await;
    w.bank.mint_to(other_mint, fake, 10_000 * USDC).await;
    let ixd = swap_account(swap_account(alice_deposits(&w, 1_000 * USDC, 0), w.alice.collateral, fake), w.collateral, other_mint);
    w.refused(ixd, &[&a], ErrorCode::WrongCollateralMint).await;
    // The LP's associated account of another mint, paid in as if it were LP shares.
    let fake_lp = w.bank.create_ata(l.pubkey(), other_mint).await;
    w.bank.mint_to(other_mint, fake_lp, 10_000 * USDC).await;
    let ixw = swap_account(swap_account(lp_withdraws(&w, 1_000 * USDC, 0), w.lp.lp, fake_lp), w.market.lp_mint, other_mint);
    w.refused(ixw, &[&l], ErrorCode::WrongLpMint).await;
    // The withdrawal paid out to an account of another mint: not the LP's collateral account.
    w.refused(swap_account(lp_withdraws(&w, 1_000 * USDC, 0), w.lp.collateral, fake_lp), &[&l], ErrorCode::NotAssociatedTokenAccount).await;
    assert_eq!(w.bank.balance(fake).await, 10_000 * USDC);
    assert_eq!(w.bank.balance(fake_lp).await, 10_000 * USDC);
}

#[tokio::test]
async fn a_deposit_request_refuses_someone_elses_collateral_account() {
    let mut w = World::new().await;
    let (a, _) = signers(&w);
    w.refused(swap_account(alice_deposits(&w, 1_000 * USDC, 0), w.alice.collateral, w.bob.collateral), &[&a], ErrorCode::NotAssociatedTokenAccount).await;
    // Nor may the LP shares go to Bob's LP account.
    w.refused(swap_account(alice_deposits(&w, 1_000 * USDC, 0), w.alice.lp, w.bob.lp), &[&a], ErrorCode::NotAssociatedTokenAccount).await;
}

#[tokio::test]
async fn a_withdraw_request_refuses_someone_elses_lp_account() {
    let mut w = World::new().await;
    let (a, _) = signers(&w);
    let ixw = w.request_ix(Who::Alice, RequestKind::Withdraw, None, next_nonce(), 1_000 * USDC, 0);
    w.refused(swap_account(ixw, w.alice.lp, w.lp.lp), &[&a], ErrorCode::NotAssociatedTokenAccount).await;
}

#[tokio::test]
async fn deposit_and_withdraw_refuse_a_wrong_lp_mint_or_lp_account() {
    let mut w = World::new().await;
    let (a, l) = signers(&w);
    // A share account in place of the depositor's LP account.
    w.refused(swap_account(alice_deposits(&w, 1_000 * USDC, 0), w.alice.lp, w.alice.long), &[&a], ErrorCode::NotAssociatedTokenAccount).await;
    // Shares paid in as LP shares.
    let ixw = swap_account(swap_account(lp_withdraws(&w, 1_000 * USDC, 0), w.lp.lp, w.lp.long), w.market.lp_mint, w.long.share_mint);
    w.refused(ixw, &[&l], ErrorCode::WrongLpMint).await;
    // A share mint in place of the market's LP mint at the executions.
    let d = w.request(Who::Alice, RequestKind::Deposit, None, 1_000 * USDC, 0).await;
    let wd = w.request(Who::Lp, RequestKind::Withdraw, None, 1_000 * USDC, 0).await;
    w.reach_request(Who::Alice, d).await;
    let ixd = w.execute_ix(Who::Alice, RequestKind::Deposit, None, d, w.market.oracle);
    w.refused(swap_account(ixd.clone(), w.market.lp_mint, w.long.share_mint), &[], ErrorCode::WrongLpMint).await;
    w.bank.send(&[ixd], &[]).await.expect_ok("the deposit with the market's LP mint");
    w.reach_request(Who::Lp, wd).await;
    let ixw = w.execute_ix(Who::Lp, RequestKind::Withdraw, None, wd, w.market.oracle);
    w.refused(swap_account(ixw.clone(), w.market.lp_mint, w.long.share_mint), &[], ErrorCode::WrongLpMint).await;
    w.bank.send(&[ixw], &[]).await.expect_ok("the withdrawal with the market's LP mint");
}

#[tokio::test]
async fn deposit_and_withdraw_executions_refuse_a_foreign_pool_vault_or_another_request() {
    let mut w = World::new().await;
    // Give the foreign vault funds so a withdrawal from it would have something to take.
    w.mint(Who::Alice, w.long, 1_000 * USDC, 0).await.unwrap();
    let d = w.request(Who::Alice, RequestKind::Deposit, None, 1_000 * USDC, 0).await;
    let wd = w.request(Who::Lp, RequestKind::Withdraw, None, 100 * USDC, 0).await;
    w.reach_request(Who::Alice, d).await;
    let ixd = w.execute_ix(Who::Alice, RequestKind::Deposit, None, d, w.market.oracle);
    w.refused(swap_account(ixd.clone(), w.market.pool_vault, w.long.vault), &[], ErrorCode::WrongVault).await;
    // The deposit executed as a withdrawal.
    let as_withdraw = ix::execute(w.bank.payer(), RequestKind::Withdraw, w.alice.key(), d, &w.market, None, w.market.oracle, &w.deployment.tokens);
    w.refused(as_withdraw, &[], ErrorCode::WrongRequest).await;
    w.bank.send(&[ixd], &[]).await.expect_ok("the deposit with the pool vault");
    w.reach_request(Who::Lp, wd).await;
    let ixw = w.execute_ix(Who::Lp, RequestKind::Withdraw, None, wd, w.market.oracle);
    w.refused(swap_account(ixw.clone(), w.market.pool_vault, w.long.vault), &[], ErrorCode::WrongVault).await;
    // Paid out to Alice's collateral account instead of the LP's.
    w.refused(swap_account(ixw.clone(), w.lp.collateral, w.alice.collateral), &[], ErrorCode::WrongRequest).await;
    w.bank.send(&[ixw], &[]).await.expect_ok("the withdrawal with the pool vault");
}

#[tokio::test]
async fn deposit_and_withdraw_requests_refuse_a_missing_signer() {
    let mut w = World::new().await;
    let (a, l) = (w.alice.key(), w.lp.key());
    w.refused_by_anchor(unsign(alice_deposits(&w, 1_000 * USDC, 0), a), &[], AnchorError::AccountNotSigner).await;
    w.refused_by_anchor(unsign(lp_withdraws(&w, 1_000 * USDC, 0), l), &[], AnchorError::AccountNotSigner).await;
}

#[tokio::test]
async fn deposit_and_withdraw_below_their_bound_are_refunded_and_the_exact_bound_fills() {
    let mut w = World::new().await;
    // No positions: 1,000 USDC ↔ 998.001 LP (999 after the fee, at 1.001 USDC a share);
    // 1,000 LP ↔ 1,001.001 USDC less the 10 bps LP fee. One unit more than that is refunded.
    let (lp_out, paid) = quotes_without_positions(&mut w, 1_000 * USDC, 1_000 * USDC).await;
    assert_eq!(lp_out, 998_001_000);
    assert_eq!(paid, 1_001_001_000 - lp_fee(1_001_001_000));
    w.refunded(Who::Alice, RequestKind::Deposit, None, 1_000 * USDC, lp_out + 1, RefundReason::BelowMinOut).await;
    w.refunded(Who::Lp, RequestKind::Withdraw, None, 1_000 * USDC, paid + 1, RefundReason::BelowMinOut).await;
    // The exact bounds pass.
    let out = w.deposit(Who::Alice, 1_000 * USDC, lp_out).await;
    assert_eq!(out.events::<LiquidityDeposited>()[0].lp_out, lp_out);
    let (_, paid) = quotes_without_positions(&mut w, 1, 1_000 * USDC).await;
    let out = w.withdraw(Who::Lp, 1_000 * USDC, paid).await;
    assert_eq!(out.events::<LiquidityWithdrawn>()[0].amount_out, paid);
}

#[tokio::test]
async fn deposit_and_withdraw_requests_respect_the_liquidity_pause_at_market_and_global_scope() {
    let mut w = World::new().await;
    let (a, l) = signers(&w);
    let admin = w.admin.insecure_clone();
    let scopes = [
        (ix::set_market_pause(admin.pubkey(), w.market.market, PAUSE_LIQUIDITY, true), ix::set_market_pause(admin.pubkey(), w.market.market, PAUSE_LIQUIDITY, false)),
        (ix::set_global_pause(admin.pubkey(), PAUSE_LIQUIDITY, true), ix::set_global_pause(admin.pubkey(), PAUSE_LIQUIDITY, false)),
    ];
    for (pause, unpause) in scopes {
        w.bank.send(&[pause], &[&admin]).await.unwrap();
        w.refused(alice_deposits(&w, 1_000 * USDC, 0), &[&a], ErrorCode::Paused).await;
        w.refused(lp_withdraws(&w, 1_000 * USDC, 0), &[&l], ErrorCode::Paused).await;
        w.bank.send(&[unpause], &[&admin]).await.unwrap();
    }
    // Pausing every other operation leaves liquidity open.
    let others = PAUSE_MINT | PAUSE_REDEEM | PAUSE_REBALANCE;
    w.bank.send(&[ix::set_global_pause(admin.pubkey(), others, true)], &[&admin]).await.unwrap();
    w.bank.send(&[ix::set_market_pause(admin.pubkey(), w.market.market, others, true)], &[&admin]).await.unwrap();
    assert_eq!(w.deposit(Who::Alice, 1_000 * USDC, 0).await.events::<LiquidityDeposited>().len(), 1);
    assert_eq!(w.withdraw(Who::Lp, 1_000 * USDC, 0).await.events::<LiquidityWithdrawn>().len(), 1);
}

#[tokio::test]
async fn a_liquidity_pause_between_the_request_and_its_execution_refunds_it() {
    let mut w = World::new().await;
    let admin = w.admin.insecure_clone();
    let fee = w.executor_fee().await;
    for (who, kind) in [(Who::Alice, RequestKind::Deposit), (Who::Lp, RequestKind::Withdraw)] {
        let before = w.snapshot().await;
        let nonce = w.request(who, kind, None, 1_000 * USDC, 0).await;
        w.bank.send(&[ix::set_global_pause(admin.pubkey(), PAUSE_LIQUIDITY, true)], &[&admin]).await.unwrap();
        let out = w.execute(who, nonce).await;
        w.bank.send(&[ix::set_global_pause(admin.pubkey(), PAUSE_LIQUIDITY, false)], &[&admin]).await.unwrap();
        w.assert_refund(out, who, kind, 1_000 * USDC, RefundReason::Paused, fee, &before).await;
    }
}

#[tokio::test]
async fn lp_executions_price_at_the_update_for_their_time_however_old_and_refund_an_unusable_one() {
    let mut w = World::new().await;
    let fee = w.executor_fee().await;
    for (who, kind) in [(Who::Alice, RequestKind::Deposit), (Who::Lp, RequestKind::Withdraw)] {
        let ixe = |w: &World, nonce| w.execute_ix(who, kind, None, nonce, w.market.oracle);
        // Only the update for the price time: the one a slot later is refused.
        let nonce = w.request(who, kind, None, 1_000 * USDC, 0).await;
        let r = w.request_state(who, nonce).await;
        w.bank.reach(OracleKind::PythLegacy, r.target + 1).await;
        w.write_oracle(w.price, w.conf, r.target as u64 + 1, PriceStatus::Trading);
        w.refused(ixe(&w, nonce), &[], ErrorCode::OracleNotAtTarget).await;
        // The update for it, 100 slots old by now (the market allows 25 for a fresh price): it fills.
        w.write_oracle(w.price, w.conf, r.target as u64, PriceStatus::Trading);
        w.bank.warp(100).await;
        let out = w.bank.send(&[ixe(&w, nonce)], &[]).await;
        let filled = out.events::<LiquidityDeposited>().len() + out.events::<LiquidityWithdrawn>().len();
        out.expect_ok("execute at an old update for the price time");
        assert_eq!(filled, 1, "{}", kind.name());
        w.publish().await;
        // A halted update for the price time: the request is refunded.
        let before = w.snapshot().await;
        let nonce = w.request(who, kind, None, 1_000 * USDC, 0).await;
        let r = w.request_state(who, nonce).await;
        w.bank.reach(OracleKind::PythLegacy, r.target).await;
        w.write_oracle(w.price, w.conf, r.target as u64, PriceStatus::Halted);
        let out = w.bank.send(&[ixe(&w, nonce)], &[]).await;
        w.assert_refund(out, who, kind, 1_000 * USDC, RefundReason::OracleUnusable, fee, &before).await;
        w.publish().await;
    }
}

#[tokio::test]
async fn a_deposit_into_an_insolvent_pool_is_refunded() {
    // 3x on 600,000 USDC: 1.8 M of notional against a 1 M pool (the caps on
    // the net book lifted: they would refund the mint). The price doubles:
    // traders are up ≈ 1.8 M, more than the pool holds.
    let mut w = World::new().await;
    w.lift_caps().await;
    w.bank.mint_to(w.collateral, w.alice.collateral, 500_000 * USDC).await;
    w.mint(Who::Alice, w.long, 600_000 * USDC, 0).await.expect_ok("whale mint");
    w.set_price(200 * USD).await;
    let e = w.refunded(Who::Bob, RequestKind::Deposit, None, 10_000 * USDC, 0, RefundReason::PoolInsolvent).await;
    assert_eq!(e.price, normalize_price(200 * USD, w.conf, EXPO, DECIMALS).unwrap().price);
}

#[tokio::test]
async fn the_exposure_cap_counts_positions_at_the_current_price() {
    // 3x on 300,000 USDC ≈ 900,000 of notional at $100; at $150 it is ≈ 1,350,000.
    let mut w = World::new().await;
    w.bank.mint_to(w.collateral, w.alice.collateral, 200_000 * USDC).await;
    w.mint(Who::Alice, w.long, 300_000 * USDC, 0).await.expect_ok("whale mint");
    w.set_price(150 * USD).await;
    // Pool value ≈ 1,000,000 − 449,000 of trader profit ≈ 551,000; the net cap
    // (1 × pool value) < 1.35 M: even a small withdrawal is refunded, although
    // the entry notional (0.9 M) would allow it.
    w.refunded(Who::Lp, RequestKind::Withdraw, None, 1_000 * USDC, 0, RefundReason::ExposureCap).await;
}

#[tokio::test]
async fn an_lp_execution_without_every_token_of_the_market_and_its_vault_is_refused_by_name() {
    // The pool's value counts every token of the market, each one's loss at
    // most its vault: an execution must name them all (remaining accounts),
    // each once, each with its own vault; anything else is refused with every
    // account unchanged, and the full list then fills.
    let mut w = World::new().await;
    w.mint(Who::Alice, w.long, 1_000 * USDC, 0).await.unwrap();
    w.mint(Who::Bob, w.short, 1_000 * USDC, 0).await.unwrap();
    let d = w.request(Who::Alice, RequestKind::Deposit, None, 1_000 * USDC, 0).await;
    w.reach_request(Who::Alice, d).await;
    let (long, short) = (w.long, w.short);
    let mut other_vault = short;
    other_vault.vault = long.vault;
    let mut foreign = long;
    foreign.token = w.market.market;
    for (what, tokens) in
        [("none", vec![]), ("one of two", vec![long]), ("one twice", vec![long, long]), ("another token's vault", vec![long, other_vault]), ("an account that is not a token", vec![foreign, short])]
    {
        println!("case: {what}");
        let ix = ix::execute(w.bank.payer(), RequestKind::Deposit, w.alice.key(), d, &w.market, None, w.market.oracle, &tokens);
        w.refused(ix, &[], ErrorCode::MarketTokensMismatch).await;
    }
    // In any order, the full list fills.
    let ix = ix::execute(w.bank.payer(), RequestKind::Deposit, w.alice.key(), d, &w.market, None, w.market.oracle, &[short, long]);
    let out = w.bank.send(&[ix], &[]).await;
    assert_eq!(out.events::<LiquidityDeposited>().len(), 1);
    out.expect_ok("the deposit with every token");
}
