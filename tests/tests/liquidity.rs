//! LP deposits and withdrawals: exact balances on the success path, pricing
//! that counts traders' unrealised PnL, the open-interest cap on withdrawals,
//! and every bad input refused with a named error and every account unchanged.
use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::solana_program::instruction::Instruction;
use leveraged_token::events::{LiquidityDeposited, LiquidityWithdrawn};
use leveraged_token::math::pool::{collateral_for_lp_floor, lp_for_deposit_floor, pool_value, Side};
use leveraged_token::math::price::normalize_price;
use leveraged_token_sdk::{constants::*, ix};
use leveraged_token_tests::fixtures::*;
use leveraged_token_tests::{swap_account, unsign, ErrorCode, TestKeypair, TestSigner};
use pyth_sdk_solana::state::PriceStatus;

/// LP supply and pool vault after `World::new()`: the first deposit of
/// 1,000,000 USDC into an empty pool issues `1e12 · (0 + 1000) / (0 + 1000)` LP.
const POOL: u64 = 1_000_000 * USDC;

/// Alice deposits `amount` from her collateral account into her LP account.
fn alice_deposits(w: &World, amount: u64, min_lp_out: u64) -> Instruction {
    ix::deposit_liquidity(w.alice.key(), &w.market, w.alice.collateral, w.alice.lp, amount, min_lp_out)
}

/// Alice's and the first LP's keypairs.
fn signers(w: &World) -> (TestKeypair, TestKeypair) {
    (w.alice.kp.insecure_clone(), w.lp.kp.insecure_clone())
}

/// The first LP withdraws `lp` from its LP account to its collateral account.
fn lp_withdraws(w: &World, lp: u64, min_out: u64) -> Instruction {
    ix::withdraw_liquidity(w.lp.key(), &w.market, w.lp.collateral, w.lp.lp, lp, min_out)
}

#[tokio::test]
async fn a_deposit_into_a_pool_without_positions_issues_lp_one_to_one_and_moves_exact_balances() {
    let mut w = World::new().await;
    assert_eq!(w.bank.balance(w.market.pool_vault).await, POOL);
    assert_eq!(w.bank.supply(w.market.lp_mint).await, POOL);
    let carol = w.new_user(10_000 * USDC).await;

    // No positions: net_base = net_cost = total_abs_cost = 0, so the pool value is the
    // vault (no PnL, no borrow, no confidence exposure) and
    // lp = 10,000 USDC · (1,000,000 USDC + 1000) / (1,000,000 USDC + 1000) = 10,000 USDC.
    let m = w.market_state().await;
    assert_eq!((m.net_base, m.net_cost, m.total_abs_cost), (0, 0, 0));
    let p = normalize_price(w.price, w.conf, EXPO, DECIMALS).unwrap();
    let value = pool_value(POOL, &m.aggregates(), m.borrow_index, p.price, p.conf, Side::High).unwrap();
    assert_eq!(value, u128::from(POOL));
    assert_eq!(lp_for_deposit_floor(10_000 * USDC, POOL, value).unwrap(), u128::from(10_000 * USDC));

    // The exact amount as the slippage bound: it must pass.
    let ixd = ix::deposit_liquidity(carol.key(), &w.market, carol.collateral, carol.lp, 10_000 * USDC, 10_000 * USDC);
    let out = w.bank.send(&[ixd], &[&carol.kp]).await;
    out.clone().unwrap();

    assert_eq!(w.bank.balance(carol.collateral).await, 0);
    assert_eq!(w.bank.balance(carol.lp).await, 10_000 * USDC);
    assert_eq!(w.bank.balance(w.market.pool_vault).await, POOL + 10_000 * USDC);
    assert_eq!(w.bank.supply(w.market.lp_mint).await, POOL + 10_000 * USDC);
    // The first LP is untouched.
    assert_eq!(w.bank.balance(w.lp.lp).await, POOL);

    let ev = out.events::<LiquidityDeposited>();
    assert_eq!(ev.len(), 1);
    let e = &ev[0];
    assert_eq!((e.market, e.owner, e.amount, e.lp_out, e.pool_value, e.lp_supply_after), (w.market.market, carol.key(), 10_000 * USDC, 10_000 * USDC, u128::from(POOL), POOL + 10_000 * USDC));
}

#[tokio::test]
async fn a_withdrawal_from_a_pool_without_positions_pays_one_to_one_and_moves_exact_balances() {
    let mut w = World::new().await;
    // The LP deposited all of its 1,000,000 USDC in `World::new()`.
    assert_eq!(w.bank.balance(w.lp.collateral).await, 0);
    let m = w.market_state().await;
    let p = normalize_price(w.price, w.conf, EXPO, DECIMALS).unwrap();
    let value = pool_value(POOL, &m.aggregates(), m.borrow_index, p.price, p.conf, Side::Low).unwrap();
    assert_eq!(value, u128::from(POOL));
    // 10,000 LP · (1,000,000 USDC + 1000) / (1,000,000 USDC + 1000) = 10,000 USDC.
    assert_eq!(collateral_for_lp_floor(10_000 * USDC, POOL, value, POOL).unwrap(), u128::from(10_000 * USDC));

    let kp = w.lp.kp.insecure_clone();
    let ixw = lp_withdraws(&w, 10_000 * USDC, 10_000 * USDC);
    let out = w.bank.send(&[ixw], &[&kp]).await;
    out.clone().unwrap();

    assert_eq!(w.bank.balance(w.lp.collateral).await, 10_000 * USDC);
    assert_eq!(w.bank.balance(w.lp.lp).await, POOL - 10_000 * USDC);
    assert_eq!(w.bank.balance(w.market.pool_vault).await, POOL - 10_000 * USDC);
    assert_eq!(w.bank.supply(w.market.lp_mint).await, POOL - 10_000 * USDC);

    let ev = out.events::<LiquidityWithdrawn>();
    assert_eq!(ev.len(), 1);
    let e = &ev[0];
    assert_eq!((e.market, e.owner, e.lp_in, e.amount_out, e.pool_value, e.lp_supply_after), (w.market.market, kp.pubkey(), 10_000 * USDC, 10_000 * USDC, u128::from(POOL), POOL - 10_000 * USDC));
}

#[tokio::test]
async fn lps_cannot_exit_ahead_of_a_loss_traders_unrealised_profit_is_deducted_before_settlement() {
    let mut w = World::new().await;
    // Alice puts 100,000 USDC into the 3x long at $100:
    //   mint fee 10 bps = 100 USDC; 3 × 99,900 = 299,700 USDC notional, trade fee 5 bps = 149.85 USDC;
    //   equity 99,750.15 USDC; base 3 × 99,750.15 / 100 = 2,992.5045 units; cost 299,250.45 USDC.
    //   The trade fee goes to the pool: vault = 1,000,149.85 USDC.
    w.mint(Who::Alice, w.long, 100_000 * USDC, 0).await.unwrap();
    let m = w.market_state().await;
    assert_eq!(m.net_base, 2_992_504_500_000);
    assert_eq!(m.net_cost, 299_250_450_000);
    assert_eq!(w.bank.balance(w.market.pool_vault).await, 1_000_149_850_000);

    // +10 %: the long's unrealised profit is 2,992.5045 × $10 = 29,925.045 USDC, not settled:
    // no mint, redeem or rebalance has run, so the pool vault still holds it.
    w.set_price(110 * USD).await;
    let vault = w.bank.balance(w.market.pool_vault).await;
    assert_eq!(vault, 1_000_149_850_000);
    let supply = w.bank.supply(w.market.lp_mint).await;
    assert_eq!(supply, POOL);
    // Same slot as the mint: the borrow index has not moved, nothing accrued.
    assert_eq!(w.bank.slot().await, m.last_accrual_slot);

    // Pool value on the low side, by hand:
    //   vault 1,000,149.85 − uPnL 29,925.045 − |net_base|·conf (2,992.5045 × $0.05 = 149.625225)
    //   = 970,075.179775 USDC.
    let p = normalize_price(110 * USD, w.conf, EXPO, DECIMALS).unwrap();
    let value = pool_value(vault, &m.aggregates(), m.borrow_index, p.price, p.conf, Side::Low).unwrap();
    assert_eq!(value, 970_075_179_775);
    // 10,000 LP of 1,000,000: 1e10 · (970,075,179,775 + 1000) / (1e12 + 1000), rounded down.
    let expected = collateral_for_lp_floor(10_000 * USDC, supply, value, vault).unwrap() as u64;
    assert_eq!(expected, 9_700_751_798);

    let kp = w.lp.kp.insecure_clone();
    let ixw = lp_withdraws(&w, 10_000 * USDC, 0);
    let out = w.bank.send(&[ixw], &[&kp]).await;
    out.clone().unwrap();
    let paid = w.bank.balance(w.lp.collateral).await;
    assert_eq!(paid, expected);
    assert_eq!(w.bank.balance(w.market.pool_vault).await, vault - paid);
    let ev = out.events::<LiquidityWithdrawn>();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].pool_value, value);
    assert_eq!(ev[0].amount_out, paid);

    // Valued on the vault alone the LP would take 1 % of 1,000,149.85 = 10,001.4985 USDC.
    // With the traders' profit counted it takes 1 % of 970,075.18 ≈ 9,700.75 USDC: the
    // ~3 % loss the pool owes is shared by the LP who leaves, well below 10,000 × (1 − 2.5 %).
    assert!(paid < 9_750 * USDC, "LP left with {paid}");
    assert!(paid > 9_700 * USDC, "LP left with {paid}");
}

#[tokio::test]
async fn a_withdrawal_that_would_break_the_open_interest_cap_is_refused() {
    let mut w = World::new().await;
    // Alice and Bob each put 100,000 USDC in the 3x long: gross open interest
    // 2 × 299,250.45 = 598,500.9 USDC; pool vault 1,000,000 + 2 × 149.85 USDC.
    w.mint(Who::Alice, w.long, 100_000 * USDC, 0).await.unwrap();
    w.mint(Who::Bob, w.long, 100_000 * USDC, 0).await.unwrap();
    let m = w.market_state().await;
    assert_eq!(m.total_abs_cost, 598_500_900_000);
    assert_eq!(w.bank.balance(w.market.pool_vault).await, 1_000_299_700_000);
    // Cap = 20,000 bps = 2 × pool value, so the pool must keep ≥ 299,250.45 USDC of value.
    // Withdrawing 800,000 LP (≈ 800,000 USDC of a ≈ 1,000,000 USDC pool) leaves ≈ 200,000:
    // 2 × 200,000 = 400,000 < 598,500.9.
    let kp = w.lp.kp.insecure_clone();
    let ixw = lp_withdraws(&w, 800_000 * USDC, 0);
    w.refused(ixw, &[&kp], ErrorCode::WithdrawalBreaksOpenInterestCap).await;
    // 700,000 LP leaves ≈ 300,000 USDC: 2 × 300,000 = 600,000 ≥ 598,500.9, allowed.
    let ixw = lp_withdraws(&w, 700_000 * USDC, 0);
    w.bank.send(&[ixw], &[&kp]).await.unwrap();
    // And now any further withdrawal of size breaks it.
    let ixw = lp_withdraws(&w, 1_000 * USDC, 0);
    w.refused(ixw, &[&kp], ErrorCode::WithdrawalBreaksOpenInterestCap).await;
}

#[tokio::test]
async fn deposit_and_withdraw_refuse_zero_amounts() {
    let mut w = World::new().await;
    let (a, l) = signers(&w);
    w.refused(alice_deposits(&w, 0, 0), &[&a], ErrorCode::ZeroAmount).await;
    w.refused(lp_withdraws(&w, 0, 0), &[&l], ErrorCode::ZeroAmount).await;
}

#[tokio::test]
async fn deposit_refuses_more_than_the_balance_and_withdraw_more_than_the_lp_held() {
    let mut w = World::new().await;
    let (a, l) = signers(&w);
    for amount in [u64::MAX, 100_000 * USDC + 1] {
        w.refused(alice_deposits(&w, amount, 0), &[&a], ErrorCode::InsufficientFunds).await;
    }
    for lp in [u64::MAX, POOL + 1] {
        w.refused(lp_withdraws(&w, lp, 0), &[&l], ErrorCode::InsufficientShares).await;
    }
}

#[tokio::test]
async fn deposit_and_withdraw_refuse_a_collateral_account_of_another_mint() {
    let mut w = World::new().await;
    let other_mint = w.bank.create_mint(DECIMALS).await;
    let (a, l) = signers(&w);
    let fake = w.bank.create_token_account(other_mint, a.pubkey()).await;
    w.bank.mint_to(other_mint, fake, 10_000 * USDC).await;
    w.refused(ix::deposit_liquidity(a.pubkey(), &w.market, fake, w.alice.lp, 1_000 * USDC, 0), &[&a], ErrorCode::WrongCollateralMint).await;
    let fake_lp = w.bank.create_token_account(other_mint, l.pubkey()).await;
    w.refused(ix::withdraw_liquidity(l.pubkey(), &w.market, fake_lp, w.lp.lp, 1_000 * USDC, 0), &[&l], ErrorCode::WrongCollateralMint).await;
    assert_eq!(w.bank.balance(fake).await, 10_000 * USDC);
    assert_eq!(w.bank.balance(fake_lp).await, 0);
}

#[tokio::test]
async fn deposit_refuses_someone_elses_collateral_account() {
    let mut w = World::new().await;
    let (a, _) = signers(&w);
    w.refused(ix::deposit_liquidity(a.pubkey(), &w.market, w.bob.collateral, w.alice.lp, 1_000 * USDC, 0), &[&a], ErrorCode::WrongTokenOwner).await;
}

#[tokio::test]
async fn withdraw_refuses_someone_elses_lp_account() {
    let mut w = World::new().await;
    let (a, _) = signers(&w);
    w.refused(ix::withdraw_liquidity(a.pubkey(), &w.market, w.alice.collateral, w.lp.lp, 1_000 * USDC, 0), &[&a], ErrorCode::WrongTokenOwner).await;
}

#[tokio::test]
async fn deposit_and_withdraw_refuse_a_wrong_lp_mint_or_lp_account() {
    let mut w = World::new().await;
    let (a, l) = signers(&w);
    let (ixd, ixw) = (alice_deposits(&w, 1_000 * USDC, 0), lp_withdraws(&w, 1_000 * USDC, 0));
    // A share mint in place of the market's LP mint.
    w.refused(swap_account(ixd.clone(), w.market.lp_mint, w.long.share_mint), &[&a], ErrorCode::WrongLpMint).await;
    w.refused(swap_account(ixw.clone(), w.market.lp_mint, w.long.share_mint), &[&l], ErrorCode::WrongLpMint).await;
    // A share account in place of the user's LP account.
    w.refused(swap_account(ixd, w.alice.lp, w.alice.long), &[&a], ErrorCode::WrongLpMint).await;
    w.refused(swap_account(ixw, w.lp.lp, w.lp.long), &[&l], ErrorCode::WrongLpMint).await;
}

#[tokio::test]
async fn deposit_and_withdraw_refuse_a_foreign_pool_vault() {
    let mut w = World::new().await;
    // Give the foreign vault funds so a withdrawal from it would have something to take.
    w.mint(Who::Alice, w.long, 1_000 * USDC, 0).await.unwrap();
    let (a, l) = signers(&w);
    w.refused(swap_account(alice_deposits(&w, 1_000 * USDC, 0), w.market.pool_vault, w.long.vault), &[&a], ErrorCode::WrongVault).await;
    w.refused(swap_account(lp_withdraws(&w, 100 * USDC, 0), w.market.pool_vault, w.long.vault), &[&l], ErrorCode::WrongVault).await;
}

#[tokio::test]
async fn deposit_and_withdraw_refuse_a_missing_signer() {
    let mut w = World::new().await;
    let (a, l) = (w.alice.key(), w.lp.key());
    w.refused_by_anchor(unsign(alice_deposits(&w, 1_000 * USDC, 0), a), &[], AnchorError::AccountNotSigner).await;
    w.refused_by_anchor(unsign(lp_withdraws(&w, 1_000 * USDC, 0), l), &[], AnchorError::AccountNotSigner).await;
}

#[tokio::test]
async fn deposit_and_withdraw_enforce_the_slippage_bound() {
    let mut w = World::new().await;
    let (a, l) = signers(&w);
    // No positions: 1,000 USDC ↔ exactly 1,000 LP; one unit more than that is refused.
    w.refused(alice_deposits(&w, 1_000 * USDC, 1_000 * USDC + 1), &[&a], ErrorCode::SlippageExceeded).await;
    w.refused(lp_withdraws(&w, 1_000 * USDC, 1_000 * USDC + 1), &[&l], ErrorCode::SlippageExceeded).await;
    // The exact bounds pass.
    w.bank.send(&[alice_deposits(&w, 1_000 * USDC, 1_000 * USDC)], &[&a]).await.unwrap();
    w.bank.send(&[lp_withdraws(&w, 1_000 * USDC, 1_000 * USDC)], &[&l]).await.unwrap();
}

#[tokio::test]
async fn deposit_and_withdraw_respect_the_liquidity_pause_at_market_and_global_scope() {
    let mut w = World::new().await;
    let (a, l) = signers(&w);
    let admin = w.admin.insecure_clone();
    let (ixd, ixw) = (alice_deposits(&w, 1_000 * USDC, 0), lp_withdraws(&w, 1_000 * USDC, 0));
    let scopes = [
        (ix::set_market_pause(admin.pubkey(), w.market.market, PAUSE_LIQUIDITY, true), ix::set_market_pause(admin.pubkey(), w.market.market, PAUSE_LIQUIDITY, false)),
        (ix::set_global_pause(admin.pubkey(), PAUSE_LIQUIDITY, true), ix::set_global_pause(admin.pubkey(), PAUSE_LIQUIDITY, false)),
    ];
    for (pause, unpause) in scopes {
        w.bank.send(&[pause], &[&admin]).await.unwrap();
        w.refused(ixd.clone(), &[&a], ErrorCode::Paused).await;
        w.refused(ixw.clone(), &[&l], ErrorCode::Paused).await;
        w.bank.send(&[unpause], &[&admin]).await.unwrap();
    }
    // Pausing every other operation leaves liquidity open.
    let others = PAUSE_MINT | PAUSE_REDEEM | PAUSE_REBALANCE;
    w.bank.send(&[ix::set_global_pause(admin.pubkey(), others, true)], &[&admin]).await.unwrap();
    w.bank.send(&[ix::set_market_pause(admin.pubkey(), w.market.market, others, true)], &[&admin]).await.unwrap();
    w.bank.send(&[ixd], &[&a]).await.unwrap();
    w.bank.send(&[ixw], &[&l]).await.unwrap();
}

#[tokio::test]
async fn deposit_and_withdraw_refuse_a_stale_oracle() {
    let mut w = World::new().await;
    let (a, l) = signers(&w);
    let (ixd, ixw) = (alice_deposits(&w, 1_000 * USDC, 0), lp_withdraws(&w, 1_000 * USDC, 0));
    let slot = w.bank.slot().await;
    w.bank.warp(100).await;
    // Published 100 slots ago; the market allows 25.
    w.write_oracle(w.price, w.conf, slot, PriceStatus::Trading);
    w.refused(ixd.clone(), &[&a], ErrorCode::OracleStale).await;
    w.refused(ixw.clone(), &[&l], ErrorCode::OracleStale).await;
    // A fresh publication reopens both.
    w.publish().await;
    w.bank.send(&[ixd], &[&a]).await.unwrap();
    w.bank.send(&[ixw], &[&l]).await.unwrap();
}

/// A whale mints `amount` into the 3x long, then the price moves to `price`.
async fn whale_long_then(amount: u64, price: i64) -> World {
    let mut w = World::new().await;
    let whale = w.new_user(amount).await;
    w.bank.send(&[ix::mint(whale.key(), &w.long, whale.collateral, whale.long, amount, 0)], &[&whale.kp]).await.unwrap();
    w.set_price(price).await;
    w
}

#[tokio::test]
async fn a_deposit_into_an_insolvent_pool_is_refused() {
    // 3x on 600,000 USDC: 1.8 M of notional against a 1 M pool (cap 2x). The
    // price doubles: traders are up ≈ 1.8 M, more than the pool holds.
    let mut w = whale_long_then(600_000 * USDC, 200 * USD).await;
    let bob = w.bob.kp.insecure_clone();
    w.refused(ix::deposit_liquidity(bob.pubkey(), &w.market, w.bob.collateral, w.bob.lp, 10_000 * USDC, 0), &[&bob], ErrorCode::PoolInsolvent).await;
}

#[tokio::test]
async fn the_open_interest_cap_counts_positions_at_the_current_price() {
    // 3x on 300,000 USDC ≈ 900,000 of notional at $100; at $150 it is ≈ 1,350,000.
    let mut w = whale_long_then(300_000 * USDC, 150 * USD).await;
    // Pool value ≈ 1,000,000 − 449,000 of trader profit ≈ 551,000; 2x cap ⇒ ≈ 1.1 M < 1.35 M:
    // even a small withdrawal is refused, although entry notional (0.9 M) would allow it.
    let (_, l) = signers(&w);
    w.refused(lp_withdraws(&w, 1_000 * USDC, 0), &[&l], ErrorCode::WithdrawalBreaksOpenInterestCap).await;
}
