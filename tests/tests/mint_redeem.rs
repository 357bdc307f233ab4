//! Mint and redeem: exact balances on the success path, and every bad input
//! refused with a named error and every account unchanged.
use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::solana_program::instruction::Instruction;
use leveraged_token::math::price::normalize_price;
use leveraged_token::math::shares::{quote_redeem, TokenBook};
use leveraged_token_sdk::{constants::*, ix};
use leveraged_token_tests::fixtures::*;
use leveraged_token_tests::{swap_account, unsign, ErrorCode, TestKeypair, TestSigner};
use pyth_sdk_solana::state::PriceStatus;

/// Alice mints `amount` of her collateral into the 3x long.
fn alice_mints(w: &World, amount: u64, min_shares_out: u64) -> Instruction {
    ix::mint(w.alice.key(), &w.long, w.alice.collateral, w.alice.long, amount, min_shares_out)
}

/// Alice redeems `shares` of the 3x long into her collateral account.
fn alice_redeems(w: &World, shares: u64, min_collateral_out: u64) -> Instruction {
    ix::redeem(w.alice.key(), &w.long, w.alice.long, w.alice.collateral, shares, min_collateral_out)
}

/// A world where Alice holds 1,000 USDC of the 3x long, and her keypair.
async fn alice_holding_the_long() -> (World, TestKeypair) {
    let mut w = World::new().await;
    w.mint(Who::Alice, w.long, 1_000 * USDC, 0).await.unwrap();
    let a = w.alice.kp.insecure_clone();
    (w, a)
}

#[tokio::test]
async fn first_mint_charges_fees_opens_3x_and_moves_exact_balances() {
    let mut w = World::new().await;
    let pool_before = w.bank.balance(w.market.pool_vault).await;
    let out = w.mint(Who::Alice, w.long, 1_000 * USDC, 997_501_500).await;
    out.clone().unwrap();
    // Hand-computed: mint fee 10 bps = 1.0 USDC; trade fee 5 bps on 3 × 999 USDC = 1.4985 USDC.
    assert_eq!(w.bank.balance(w.alice.collateral).await, 99_000 * USDC);
    assert_eq!(w.bank.balance(w.long.vault).await, 1_000 * USDC - 1_498_500);
    assert_eq!(w.bank.balance(w.market.pool_vault).await, pool_before + 1_498_500);
    assert_eq!(w.bank.balance(w.alice.long).await, 997_501_500);
    assert_eq!(w.bank.supply(w.long.share_mint).await, 997_501_500);
    let t = w.token_state(w.long).await;
    assert_eq!(t.fees_owed, USDC);
    // 3 × 997.5015 USDC at $100 = 29.925045 base units.
    assert_eq!(t.base, 29_925_045_000);
    let m = w.market_state().await;
    assert_eq!(m.net_base, t.base);
    assert_eq!(m.total_abs_cost, 2_992_504_500);
    let ev = out.events::<leveraged_token::events::Minted>();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].shares_out, 997_501_500);
}

#[tokio::test]
async fn short_token_opens_a_negative_position() {
    let mut w = World::new().await;
    w.mint(Who::Bob, w.short, 500 * USDC, 0).await.unwrap();
    let t = w.token_state(w.short).await;
    // −1 × (500 − 0.5 − 0.24975) USDC at $100
    assert!(t.base < 0);
    assert_eq!(t.base, -4_992_502_500);
}

#[tokio::test]
async fn redeem_pays_the_quoted_nav_share_and_shrinks_the_position_pro_rata() {
    let mut w = World::new().await;
    w.mint(Who::Alice, w.long, 1_000 * USDC, 0).await.unwrap();
    w.mint(Who::Bob, w.long, 3_000 * USDC, 0).await.unwrap();
    let shares = w.bank.balance(w.alice.long).await;
    let t = w.token_state(w.long).await;
    let vault = w.bank.balance(w.long.vault).await;
    let pool = w.bank.balance(w.market.pool_vault).await;
    let supply = w.bank.supply(w.long.share_mint).await;
    let coll = w.bank.balance(w.alice.collateral).await;
    // Same slot and price: settlement moves nothing, so the quote on the stored book is exact.
    assert_eq!(w.bank.slot().await, t.last_fee_slot);
    let p = normalize_price(w.price, w.conf, EXPO, DECIMALS).unwrap();
    let q = quote_redeem(&TokenBook { equity: vault - t.fees_owed, supply, base: t.base, target_leverage_bps: 30_000 }, p.price, p.conf, shares, 10, 5).unwrap();
    w.redeem(Who::Alice, w.long, shares, q.collateral_out).await.unwrap();
    assert_eq!(w.bank.balance(w.alice.collateral).await, coll + q.collateral_out);
    assert_eq!(w.bank.balance(w.long.vault).await, vault - q.collateral_out - q.trade_fee);
    assert_eq!(w.bank.balance(w.market.pool_vault).await, pool + q.trade_fee);
    assert_eq!(w.bank.supply(w.long.share_mint).await, supply - shares);
    let t2 = w.token_state(w.long).await;
    assert_eq!(t2.base, t.base + q.delta_base);
    assert_eq!(t2.fees_owed, t.fees_owed + q.redeem_fee);
    // Paid: 1,000 USDC; back: less mint/redeem fees (2 × 10 bps), trade fees (2 × 5 bps on 3x)
    // and the confidence haircut (3 × 5 bps): about 0.65 %.
    assert!(q.collateral_out < 1_000 * USDC && q.collateral_out > 993 * USDC, "{}", q.collateral_out);
}

#[tokio::test]
async fn the_last_redeemer_closes_the_position() {
    let mut w = World::new().await;
    w.mint(Who::Alice, w.long, 1_000 * USDC, 0).await.unwrap();
    let shares = w.bank.balance(w.alice.long).await;
    w.redeem(Who::Alice, w.long, shares, 0).await.unwrap();
    let t = w.token_state(w.long).await;
    assert_eq!(t.base, 0);
    assert_eq!(w.market_state().await.net_base, 0);
}

#[tokio::test]
async fn mint_and_redeem_refuse_zero_amounts() {
    let mut w = World::new().await;
    let a = w.alice.kp.insecure_clone();
    w.refused(alice_mints(&w, 0, 0), &[&a], ErrorCode::ZeroAmount).await;
    w.refused(alice_redeems(&w, 0, 0), &[&a], ErrorCode::ZeroAmount).await;
}

#[tokio::test]
async fn mint_and_redeem_refuse_u64_max() {
    let (mut w, a) = alice_holding_the_long().await;
    w.refused(alice_mints(&w, u64::MAX, 0), &[&a], ErrorCode::InsufficientFunds).await;
    w.refused(alice_redeems(&w, u64::MAX, 0), &[&a], ErrorCode::InsufficientShares).await;
}

#[tokio::test]
async fn mint_refuses_a_collateral_account_of_another_mint() {
    let mut w = World::new().await;
    let a = w.alice.kp.insecure_clone();
    let other_mint = w.bank.create_mint(6).await;
    let fake = w.bank.create_token_account(other_mint, a.pubkey()).await;
    w.bank.mint_to(other_mint, fake, 1_000 * USDC).await;
    w.refused(ix::mint(a.pubkey(), &w.long, fake, w.alice.long, 100 * USDC, 0), &[&a], ErrorCode::WrongCollateralMint).await;
}

#[tokio::test]
async fn mint_refuses_someone_elses_collateral_account() {
    let mut w = World::new().await;
    let a = w.alice.kp.insecure_clone();
    w.refused(ix::mint(a.pubkey(), &w.long, w.bob.collateral, w.alice.long, 100 * USDC, 0), &[&a], ErrorCode::WrongTokenOwner).await;
}

#[tokio::test]
async fn redeem_refuses_someone_elses_share_account() {
    let mut w = World::new().await;
    w.mint(Who::Bob, w.long, 1_000 * USDC, 0).await.unwrap();
    let a = w.alice.kp.insecure_clone();
    w.refused(ix::redeem(a.pubkey(), &w.long, w.bob.long, w.alice.collateral, 10, 0), &[&a], ErrorCode::WrongTokenOwner).await;
}

#[tokio::test]
async fn mint_and_redeem_refuse_a_foreign_vault_and_share_mint() {
    let (mut w, a) = alice_holding_the_long().await;
    w.mint(Who::Alice, w.short, 1_000 * USDC, 0).await.unwrap();
    let ixm = alice_mints(&w, 100 * USDC, 0);
    w.refused(swap_account(ixm.clone(), w.long.vault, w.short.vault), &[&a], ErrorCode::WrongVault).await;
    w.refused(swap_account(ixm.clone(), w.market.pool_vault, w.short.vault), &[&a], ErrorCode::WrongVault).await;
    w.refused(swap_account(ixm, w.long.share_mint, w.short.share_mint), &[&a], ErrorCode::WrongShareMint).await;
    w.refused(swap_account(alice_redeems(&w, 10, 0), w.long.vault, w.short.vault), &[&a], ErrorCode::WrongVault).await;
}

#[tokio::test]
async fn mint_refuses_the_vault_as_the_users_collateral_account() {
    let mut w = World::new().await;
    let a = w.alice.kp.insecure_clone();
    let ixm = ix::mint(a.pubkey(), &w.long, w.long.vault, w.alice.long, 100 * USDC, 0);
    // Anchor's duplicate-mutable-account check fires before any constraint of ours.
    w.refused_by_anchor(ixm, &[&a], AnchorError::ConstraintDuplicateMutableAccount).await;
}

#[tokio::test]
async fn mint_and_redeem_refuse_a_missing_signer() {
    let (mut w, alice) = alice_holding_the_long().await;
    let a = alice.pubkey();
    w.refused_by_anchor(unsign(alice_mints(&w, 100 * USDC, 0), a), &[], AnchorError::AccountNotSigner).await;
    w.refused_by_anchor(unsign(alice_redeems(&w, 10, 0), a), &[], AnchorError::AccountNotSigner).await;
}

#[tokio::test]
async fn mint_and_redeem_enforce_the_slippage_bound() {
    let (mut w, a) = alice_holding_the_long().await;
    w.refused(alice_mints(&w, 1_000 * USDC, 1_000 * USDC), &[&a], ErrorCode::SlippageExceeded).await;
    let shares = w.bank.balance(w.alice.long).await;
    w.refused(alice_redeems(&w, shares, 1_000 * USDC), &[&a], ErrorCode::SlippageExceeded).await;
}

#[tokio::test]
async fn mint_and_redeem_refuse_bad_oracle_prices() {
    let (mut w, a) = alice_holding_the_long().await;
    let (ixm, ixr) = (alice_mints(&w, 100 * USDC, 0), alice_redeems(&w, 1_000, 0));
    let slot = w.bank.slot().await;
    w.bank.warp(100).await;
    let cases: [(i64, u64, u64, PriceStatus, ErrorCode); 4] = [
        (100 * USD, 1_000, slot, PriceStatus::Trading, ErrorCode::OracleStale),
        (100 * USD, 3 * USD as u64, slot + 100, PriceStatus::Trading, ErrorCode::OracleConfidenceTooWide),
        (-5 * USD, 1_000, slot + 100, PriceStatus::Trading, ErrorCode::OraclePriceNotPositive),
        (100 * USD, 1_000, slot + 100, PriceStatus::Halted, ErrorCode::OracleNotTrading),
    ];
    for (price, conf, pub_slot, status, code) in cases {
        w.write_oracle(price, conf, pub_slot, status);
        w.refused(ixm.clone(), &[&a], code).await;
        w.refused(ixr.clone(), &[&a], code).await;
    }
}

#[tokio::test]
async fn mint_refuses_an_oracle_account_other_than_the_markets() {
    let mut w = World::new().await;
    let a = w.alice.kp.insecure_clone();
    // A perfectly valid Pyth account, but not the market's feed.
    let other = anchor_lang::prelude::Pubkey::new_unique();
    let slot = w.bank.slot().await;
    w.bank.set_account(other, 1_000_000_000, legacy_price_account(50 * USD, 1_000, EXPO, slot, PriceStatus::Trading), PYTH_LEGACY_DEVNET);
    let ixm = alice_mints(&w, 100 * USDC, 0);
    w.refused(swap_account(ixm.clone(), w.market.oracle, other), &[&a], ErrorCode::OracleWrongAccount).await;
    // The market's own address, but written by another program.
    w.bank.set_account(w.market.oracle, 1_000_000_000, legacy_price_account(50 * USD, 1_000, EXPO, slot, PriceStatus::Trading), anchor_lang::prelude::Pubkey::new_unique());
    w.refused(ixm, &[&a], ErrorCode::OracleWrongOwner).await;
}

#[tokio::test]
async fn mint_and_redeem_respect_pause_flags_at_every_scope() {
    let (mut w, a) = alice_holding_the_long().await;
    let admin = w.admin.insecure_clone();
    let (ixm, ixr) = (alice_mints(&w, 100 * USDC, 0), alice_redeems(&w, 1_000, 0));
    let scopes = [
        (ix::set_token_pause(admin.pubkey(), w.long.token, PAUSE_MINT | PAUSE_REDEEM, true), ix::set_token_pause(admin.pubkey(), w.long.token, PAUSE_MINT | PAUSE_REDEEM, false)),
        (ix::set_market_pause(admin.pubkey(), w.market.market, PAUSE_MINT | PAUSE_REDEEM, true), ix::set_market_pause(admin.pubkey(), w.market.market, PAUSE_MINT | PAUSE_REDEEM, false)),
        (ix::set_global_pause(admin.pubkey(), PAUSE_MINT | PAUSE_REDEEM, true), ix::set_global_pause(admin.pubkey(), PAUSE_MINT | PAUSE_REDEEM, false)),
    ];
    for (pause, unpause) in scopes {
        w.bank.send(&[pause], &[&admin]).await.unwrap();
        w.refused(ixm.clone(), &[&a], ErrorCode::Paused).await;
        w.refused(ixr.clone(), &[&a], ErrorCode::Paused).await;
        w.bank.send(&[unpause], &[&admin]).await.unwrap();
    }
    // Pausing mint alone leaves redeem open.
    w.bank.send(&[ix::set_token_pause(admin.pubkey(), w.long.token, PAUSE_MINT, true)], &[&admin]).await.unwrap();
    w.refused(ixm, &[&a], ErrorCode::Paused).await;
    w.bank.send(&[ixr], &[&a]).await.unwrap();
}

#[tokio::test]
async fn a_mint_beyond_the_open_interest_cap_is_refused() {
    let mut w = World::new().await;
    // Pool 1,000,000 USDC, cap 2x → 2,000,000 USDC of notional; 3x on 700,000 USDC is 2.1 M.
    let whale = w.new_user(800_000 * USDC).await;
    let ixm = ix::mint(whale.key(), &w.long, whale.collateral, whale.long, 700_000 * USDC, 0);
    w.refused(ixm, &[&whale.kp], ErrorCode::OpenInterestCapExceeded).await;
}

#[tokio::test]
async fn an_oracle_price_older_than_the_last_one_used_is_refused() {
    let mut w = World::new().await;
    w.warp(10).await;
    w.mint(Who::Alice, w.long, 1_000 * USDC, 0).await.unwrap();
    let used = w.bank.slot().await;
    // Still within the 25-slot age limit, but older than the price the market already used.
    w.write_oracle(90 * USD, 1_000, used - 5, PriceStatus::Trading);
    let a = w.alice.kp.insecure_clone();
    let ixm = ix::mint(a.pubkey(), &w.long, w.alice.collateral, w.alice.long, 100 * USDC, 0);
    w.refused(ixm, &[&a], ErrorCode::OraclePriceRegressed).await;
}
