#![allow(deprecated)]
//! Mint and redeem, in two steps: exact balances on the success path; every
//! bad input refused by name at the request, or at the execution for the
//! accounts it is given, with every account unchanged; and everything the
//! price at the request's time decides (the bound, a pause since, the cap, an
//! unusable update) refunded whole.
use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use leveraged_token::events::{InsuranceFunded, Minted, Redeemed};
use leveraged_token::math::price::normalize_price;
use leveraged_token::math::shares::quote_redeem;
use leveraged_token::settlement::{preview_settlement, SettleAt};
use leveraged_token::state::{OracleKind, RefundReason, RequestKind};
use leveraged_token_harness::requests::next_nonce;
use leveraged_token_sdk::{constants::*, ix, pda};
use leveraged_token_tests::fixtures::*;
use leveraged_token_tests::{swap_account, unsign, ErrorCode, TestKeypair, TestSigner};
use pyth_sdk_solana::state::PriceStatus;

/// Alice's request to mint `amount` of her collateral into the 3x long.
fn alice_mints(w: &World, amount: u64, min_shares_out: u64) -> Instruction {
    w.request_ix(Who::Alice, RequestKind::Mint, Some(w.long), next_nonce(), amount, min_shares_out)
}

/// Alice's request to redeem `shares` of the 3x long.
fn alice_redeems(w: &World, shares: u64, min_collateral_out: u64) -> Instruction {
    w.request_ix(Who::Alice, RequestKind::Redeem, Some(w.long), next_nonce(), shares, min_collateral_out)
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
    // The whole trade fee is in the pool vault; 10 % of it (0.14985 USDC) is
    // the insurance fund's, owed there (out of the LPs' cash) until a rebalance moves it.
    assert_eq!(w.bank.balance(w.market.pool_vault).await, pool_before + 1_498_500);
    assert_eq!(w.market_state().await.insurance_owed, 149_850);
    assert_eq!(w.bank.balance(w.market.insurance_vault).await, 0);
    assert!(out.events::<InsuranceFunded>().is_empty(), "a mint moves nothing to the insurance vault");
    assert_eq!(w.bank.balance(w.alice.long).await, 997_501_500);
    assert_eq!(w.bank.supply(w.long.share_mint).await, 997_501_500);
    let t = w.token_state(w.long).await;
    assert_eq!(t.fees_owed, USDC);
    // 3 × 997.5015 USDC at $100 = 29.925045 base units.
    assert_eq!(t.base, 29_925_045_000);
    let m = w.market_state().await;
    assert_eq!(m.net_base, t.base);
    assert_eq!((m.long_notional, m.short_notional), (2_992_504_500, 0));
    let ev = out.events::<Minted>();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].shares_out, 997_501_500);
    assert_eq!((ev[0].user, ev[0].collateral_in), (w.alice.key(), 1_000 * USDC));
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
    let m = w.market_state().await;
    let vault = w.bank.balance(w.long.vault).await;
    let pool = w.bank.balance(w.market.pool_vault).await;
    let supply = w.bank.supply(w.long.share_mint).await;
    let coll = w.bank.balance(w.alice.collateral).await;
    // The redeem executes at its price slot, at the same price: the quote on
    // the book as settled there (a few slots of borrow and streaming fee) is exact.
    let clock = w.bank.clock().await;
    let target = m.params.request_times(OracleKind::PythLegacy, RequestKind::Redeem, clock.unix_timestamp, clock.slot).unwrap().target;
    let p = normalize_price(w.price, w.conf, EXPO, DECIMALS).unwrap();
    let now = w.bank.unix_time_at_slot(&clock, target as u64);
    let s = preview_settlement(&m, &t, &p, &SettleAt { vault_amount: vault, pool_amount: pool, insurance_amount: 0, slot: target as u64, now }).unwrap();
    assert!(s.streaming_fee > 0 && s.outcome.charge > 0, "the settlement at the price slot charges fees");
    let q = quote_redeem(&t.book(s.equity, supply), p.price, p.conf, shares, 10, 5).unwrap();
    // The exact quote as the bound: it fills.
    let owed = w.market_state().await.insurance_owed;
    let out = w.redeem(Who::Alice, w.long, shares, q.collateral_out).await;
    let ev = out.events::<Redeemed>();
    out.unwrap();
    // The insurance fund's share of the trade fee and of the charge's income, owed in the pool vault.
    assert!(w.market_state().await.insurance_owed >= owed + q.trade_fee / 10);
    assert_eq!(w.bank.balance(w.market.insurance_vault).await, 0);
    assert_eq!((ev[0].shares_in, ev[0].collateral_out), (shares, q.collateral_out));
    let transfer = i64::try_from(s.outcome.transfer).unwrap();
    assert_eq!(w.bank.balance(w.alice.collateral).await, coll + q.collateral_out);
    assert_eq!(w.bank.balance(w.long.vault).await as i64, vault as i64 + transfer - (q.collateral_out + q.trade_fee) as i64);
    assert_eq!(w.bank.balance(w.market.pool_vault).await as i64, pool as i64 - transfer + q.trade_fee as i64);
    assert_eq!(w.bank.supply(w.long.share_mint).await, supply - shares);
    let t2 = w.token_state(w.long).await;
    assert_eq!(t2.base, t.base + q.delta_base);
    assert_eq!(t2.fees_owed, t.fees_owed + s.streaming_fee + q.redeem_fee);
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
async fn mint_and_redeem_requests_refuse_zero_amounts() {
    let mut w = World::new().await;
    let a = w.alice.kp.insecure_clone();
    w.refused(alice_mints(&w, 0, 0), &[&a], ErrorCode::ZeroAmount).await;
    w.refused(alice_redeems(&w, 0, 0), &[&a], ErrorCode::ZeroAmount).await;
}

#[tokio::test]
async fn mint_and_redeem_requests_refuse_u64_max() {
    let (mut w, a) = alice_holding_the_long().await;
    w.refused(alice_mints(&w, u64::MAX, 0), &[&a], ErrorCode::InsufficientFunds).await;
    w.refused(alice_redeems(&w, u64::MAX, 0), &[&a], ErrorCode::InsufficientShares).await;
}

#[tokio::test]
async fn a_mint_request_refuses_a_collateral_account_of_another_mint() {
    let mut w = World::new().await;
    let a = w.alice.kp.insecure_clone();
    let other_mint = w.bank.create_mint(6).await;
    // Alice's own associated account of the other mint, funded, paid in as if it were collateral.
    let fake = w.bank.create_ata(a.pubkey(), other_mint).await;
    w.bank.mint_to(other_mint, fake, 1_000 * USDC).await;
    let ixm = swap_account(swap_account(alice_mints(&w, 100 * USDC, 0), w.alice.collateral, fake), w.collateral, other_mint);
    w.refused(ixm, &[&a], ErrorCode::WrongCollateralMint).await;
    assert_eq!(w.bank.balance(fake).await, 1_000 * USDC);
}

#[tokio::test]
async fn a_mint_request_refuses_to_pay_from_an_account_other_than_the_owners_associated_one() {
    let mut w = World::new().await;
    let a = w.alice.kp.insecure_clone();
    // Bob's collateral account.
    w.refused(swap_account(alice_mints(&w, 100 * USDC, 0), w.alice.collateral, w.bob.collateral), &[&a], ErrorCode::NotAssociatedTokenAccount).await;
    // Alice's own collateral account, but not her associated one.
    let other = w.bank.create_token_account(w.collateral, a.pubkey()).await;
    w.bank.mint_to(w.collateral, other, 1_000 * USDC).await;
    w.refused(swap_account(alice_mints(&w, 100 * USDC, 0), w.alice.collateral, other), &[&a], ErrorCode::NotAssociatedTokenAccount).await;
    // The shares paid out to Bob's share account.
    w.refused(swap_account(alice_mints(&w, 100 * USDC, 0), w.alice.long, w.bob.long), &[&a], ErrorCode::NotAssociatedTokenAccount).await;
    assert_eq!(w.bank.balance(other).await, 1_000 * USDC);
}

#[tokio::test]
async fn a_redeem_request_refuses_someone_elses_share_account() {
    let mut w = World::new().await;
    w.mint(Who::Bob, w.long, 1_000 * USDC, 0).await.unwrap();
    let a = w.alice.kp.insecure_clone();
    w.refused(swap_account(alice_redeems(&w, 10, 0), w.alice.long, w.bob.long), &[&a], ErrorCode::NotAssociatedTokenAccount).await;
    // Nor may the collateral go to Bob's account.
    w.mint(Who::Alice, w.long, 1_000 * USDC, 0).await.unwrap();
    w.refused(swap_account(alice_redeems(&w, 10, 0), w.alice.collateral, w.bob.collateral), &[&a], ErrorCode::NotAssociatedTokenAccount).await;
    // Another token's shares as the long's: the pay mint must be the token's share mint.
    w.mint(Who::Alice, w.short, 1_000 * USDC, 0).await.unwrap();
    let ixr = swap_account(swap_account(alice_redeems(&w, 10, 0), w.alice.long, w.alice.short), w.long.share_mint, w.short.share_mint);
    w.refused(ixr, &[&a], ErrorCode::WrongShareMint).await;
}

#[tokio::test]
async fn an_execution_refuses_a_foreign_vault_share_mint_or_another_request_and_then_fills() {
    let (mut w, _) = alice_holding_the_long().await;
    w.mint(Who::Alice, w.short, 1_000 * USDC, 0).await.unwrap();
    let alice = w.alice.key();
    let m = w.request(Who::Alice, RequestKind::Mint, Some(w.long), 100 * USDC, 0).await;
    let r = w.request(Who::Alice, RequestKind::Redeem, Some(w.long), 10, 0).await;
    w.reach_request(Who::Alice, m).await;
    assert_eq!(w.request_state(Who::Alice, r).await.target, w.request_state(Who::Alice, m).await.target);
    let ixm = w.execute_ix(Who::Alice, RequestKind::Mint, Some(w.long), m, w.market.oracle);
    let ixr = w.execute_ix(Who::Alice, RequestKind::Redeem, Some(w.long), r, w.market.oracle);
    w.refused(swap_account(ixm.clone(), w.long.vault, w.short.vault), &[], ErrorCode::WrongVault).await;
    w.refused(swap_account(ixm.clone(), w.market.pool_vault, w.short.vault), &[], ErrorCode::WrongVault).await;
    w.refused(swap_account(ixm.clone(), w.long.share_mint, w.short.share_mint), &[], ErrorCode::WrongShareMint).await;
    w.refused(swap_account(ixr.clone(), w.long.vault, w.short.vault), &[], ErrorCode::WrongVault).await;
    // The long's request executed against the short token (its vault and mint too).
    let on_short = swap_account(swap_account(swap_account(ixm.clone(), w.long.token, w.short.token), w.long.vault, w.short.vault), w.long.share_mint, w.short.share_mint);
    w.refused(on_short, &[], ErrorCode::WrongRequest).await;
    // The mint request executed as a redeem, and the redeem as a mint.
    let as_redeem = ix::execute(w.bank.payer(), RequestKind::Redeem, alice, m, &w.market, Some(&w.long), w.market.oracle, &w.deployment.tokens);
    w.refused(as_redeem, &[], ErrorCode::WrongRequest).await;
    let as_mint = ix::execute(w.bank.payer(), RequestKind::Mint, alice, r, &w.market, Some(&w.long), w.market.oracle, &w.deployment.tokens);
    w.refused(as_mint, &[], ErrorCode::WrongRequest).await;
    // Another owner, escrow, destination or refund account than the request's.
    w.refused(swap_account(ixm.clone(), alice, w.bob.key()), &[], ErrorCode::WrongRequest).await;
    w.refused(swap_account(ixm.clone(), pda::escrow(&pda::request(&alice, m).0).0, pda::escrow(&pda::request(&alice, r).0).0), &[], ErrorCode::WrongRequest).await;
    w.refused(swap_account(ixm.clone(), w.alice.long, w.bob.long), &[], ErrorCode::WrongRequest).await;
    w.refused(swap_account(ixm.clone(), w.alice.collateral, w.bob.collateral), &[], ErrorCode::WrongRequest).await;
    // The accounts the requests name: both fill.
    assert_eq!(w.bank.send(&[ixm], &[]).await.events::<Minted>().len(), 1);
    assert_eq!(w.bank.send(&[ixr], &[]).await.events::<Redeemed>().len(), 1);
}

#[tokio::test]
async fn the_vault_can_be_neither_the_account_a_request_pays_from_nor_the_one_an_execution_pays_to() {
    let mut w = World::new().await;
    let a = w.alice.kp.insecure_clone();
    w.refused(swap_account(alice_mints(&w, 100 * USDC, 0), w.alice.collateral, w.long.vault), &[&a], ErrorCode::NotAssociatedTokenAccount).await;
    let n = w.request(Who::Alice, RequestKind::Mint, Some(w.long), 100 * USDC, 0).await;
    w.reach_request(Who::Alice, n).await;
    let ixm = w.execute_ix(Who::Alice, RequestKind::Mint, Some(w.long), n, w.market.oracle);
    // The execution pays only to the destination the request fixed.
    w.refused(swap_account(ixm.clone(), w.alice.long, w.long.vault), &[], ErrorCode::WrongRequest).await;
    w.bank.send(&[ixm], &[]).await.expect_ok("the request's own accounts");
}

#[tokio::test]
async fn mint_and_redeem_requests_refuse_a_missing_signer() {
    let (mut w, alice) = alice_holding_the_long().await;
    let a = alice.pubkey();
    w.refused_by_anchor(unsign(alice_mints(&w, 100 * USDC, 0), a), &[], AnchorError::AccountNotSigner).await;
    w.refused_by_anchor(unsign(alice_redeems(&w, 10, 0), a), &[], AnchorError::AccountNotSigner).await;
}

#[tokio::test]
async fn a_mint_or_redeem_below_its_bound_is_refunded_whole() {
    let (mut w, _) = alice_holding_the_long().await;
    let e = w.refunded(Who::Alice, RequestKind::Mint, Some(w.long), 1_000 * USDC, 1_000 * USDC, RefundReason::BelowMinOut).await;
    assert_eq!(e.price, normalize_price(w.price, w.conf, EXPO, DECIMALS).unwrap().price, "refused at the request's price");
    let shares = w.bank.balance(w.alice.long).await;
    w.refunded(Who::Alice, RequestKind::Redeem, Some(w.long), shares, 1_000 * USDC, RefundReason::BelowMinOut).await;
}

/// Alice requests a `kind` of the long for `amount`; the update for its price
/// time is `price` ± `conf` with `status`: the execution refunds the request
/// (`OracleUnusable`) and nothing else changes.
async fn refunded_at_an_unusable_update(w: &mut World, kind: RequestKind, amount: u64, price: i64, conf: u64, status: PriceStatus) {
    let fee = w.executor_fee().await;
    let before = w.snapshot().await;
    let nonce = w.request(Who::Alice, kind, Some(w.long), amount, 0).await;
    let r = w.request_state(Who::Alice, nonce).await;
    w.bank.reach(OracleKind::PythLegacy, r.target).await;
    w.write_oracle(price, conf, r.target as u64, status);
    let out = w.bank.send(&[w.execute_ix(Who::Alice, kind, Some(w.long), nonce, w.market.oracle)], &[]).await;
    let e = w.assert_refund(out, Who::Alice, kind, amount, RefundReason::OracleUnusable, fee, &before).await;
    assert_eq!(e.price, 0, "no usable price");
    w.publish().await;
}

#[tokio::test]
async fn an_unusable_update_at_the_price_time_refunds_mint_and_redeem() {
    let (mut w, _) = alice_holding_the_long().await;
    let cases: [(&str, i64, u64, PriceStatus); 3] =
        [("confidence 3 %", 100 * USD, 3 * USD as u64, PriceStatus::Trading), ("negative", -5 * USD, 1_000, PriceStatus::Trading), ("halted", 100 * USD, 1_000, PriceStatus::Halted)];
    for (what, price, conf, status) in cases {
        println!("case: {what}");
        refunded_at_an_unusable_update(&mut w, RequestKind::Mint, 100 * USDC, price, conf, status).await;
        refunded_at_an_unusable_update(&mut w, RequestKind::Redeem, 1_000, price, conf, status).await;
    }
}

#[tokio::test]
async fn only_the_update_for_the_price_time_executes_a_request_and_its_age_does_not_matter() {
    let (mut w, _) = alice_holding_the_long().await;
    for kind in [RequestKind::Mint, RequestKind::Redeem] {
        let amount = if kind == RequestKind::Mint { 100 * USDC } else { 1_000 };
        let nonce = w.request(Who::Alice, kind, Some(w.long), amount, 0).await;
        let r = w.request_state(Who::Alice, nonce).await;
        w.bank.reach(OracleKind::PythLegacy, r.target + 1).await;
        let ixe = w.execute_ix(Who::Alice, kind, Some(w.long), nonce, w.market.oracle);
        // The update one slot before the price time, and the one after it.
        for pub_slot in [r.target - 1, r.target + 1] {
            w.write_oracle(w.price, w.conf, pub_slot as u64, PriceStatus::Trading);
            w.refused(ixe.clone(), &[], ErrorCode::OracleNotAtTarget).await;
        }
        // The update for the price time, 100 slots old by now (the market's
        // max age is 25): the request fills at its price.
        w.write_oracle(91 * USD, w.conf, r.target as u64, PriceStatus::Trading);
        w.bank.warp(100).await;
        let out = w.bank.send(&[ixe], &[]).await;
        let want = normalize_price(91 * USD, w.conf, EXPO, DECIMALS).unwrap().price;
        let price = if kind == RequestKind::Mint { out.events::<Minted>()[0].price } else { out.events::<Redeemed>()[0].price };
        out.expect_ok("execute at an old update for the price time");
        assert_eq!(price, want, "{}: filled at the update for its price time", kind.name());
        // The same update is too old for a rebalance: the fresh-price rule still holds there.
        let bob = w.bob.kp.insecure_clone();
        w.refused(ix::rebalance(bob.pubkey(), &w.long, w.bob.collateral), &[&bob], ErrorCode::OracleStale).await;
        w.publish().await;
    }
}

#[tokio::test]
async fn a_mint_request_refuses_nothing_about_the_oracle_and_its_execution_refuses_another_account() {
    let mut w = World::new().await;
    let nonce = w.request(Who::Alice, RequestKind::Mint, Some(w.long), 100 * USDC, 0).await;
    let r = w.reach_request(Who::Alice, nonce).await;
    // A perfectly valid Pyth account for the price slot, but not the market's feed.
    let other = Pubkey::new_unique();
    w.bank.set_account(other, 1_000_000_000, legacy_price_account(50 * USD, 1_000, EXPO, r.target as u64, PriceStatus::Trading), PYTH_LEGACY_DEVNET);
    let ixm = w.execute_ix(Who::Alice, RequestKind::Mint, Some(w.long), nonce, w.market.oracle);
    w.refused(swap_account(ixm.clone(), w.market.oracle, other), &[], ErrorCode::OracleWrongAccount).await;
    // The market's own address, but written by another program.
    let owner = Pubkey::new_unique();
    w.bank.set_account(w.market.oracle, 1_000_000_000, legacy_price_account(50 * USD, 1_000, EXPO, r.target as u64, PriceStatus::Trading), owner);
    w.refused(ixm.clone(), &[], ErrorCode::OracleWrongOwner).await;
    // Control: the market's account for the price slot.
    w.deployment.oracle.publish_for(&mut w.bank, w.price, w.conf, r.target).await;
    w.bank.send(&[ixm], &[]).await.expect_ok("the market's oracle");
}

#[tokio::test]
async fn mint_and_redeem_requests_respect_pause_flags_at_every_scope() {
    let (mut w, a) = alice_holding_the_long().await;
    let admin = w.admin.insecure_clone();
    let scopes = [
        (ix::set_token_pause(admin.pubkey(), w.long.token, PAUSE_MINT | PAUSE_REDEEM, true), ix::set_token_pause(admin.pubkey(), w.long.token, PAUSE_MINT | PAUSE_REDEEM, false)),
        (ix::set_market_pause(admin.pubkey(), w.market.market, PAUSE_MINT | PAUSE_REDEEM, true), ix::set_market_pause(admin.pubkey(), w.market.market, PAUSE_MINT | PAUSE_REDEEM, false)),
        (ix::set_global_pause(admin.pubkey(), PAUSE_MINT | PAUSE_REDEEM, true), ix::set_global_pause(admin.pubkey(), PAUSE_MINT | PAUSE_REDEEM, false)),
    ];
    for (pause, unpause) in scopes {
        w.bank.send(&[pause], &[&admin]).await.unwrap();
        w.refused(alice_mints(&w, 100 * USDC, 0), &[&a], ErrorCode::Paused).await;
        w.refused(alice_redeems(&w, 1_000, 0), &[&a], ErrorCode::Paused).await;
        w.bank.send(&[unpause], &[&admin]).await.unwrap();
    }
    // Pausing mint alone leaves redeem open.
    w.bank.send(&[ix::set_token_pause(admin.pubkey(), w.long.token, PAUSE_MINT, true)], &[&admin]).await.unwrap();
    w.refused(alice_mints(&w, 100 * USDC, 0), &[&a], ErrorCode::Paused).await;
    w.redeem(Who::Alice, w.long, 1_000, 0).await.expect_ok("redeem while mint is paused");
}

#[tokio::test]
async fn a_pause_between_the_request_and_its_execution_refunds_it() {
    let (mut w, _) = alice_holding_the_long().await;
    let admin = w.admin.insecure_clone();
    let fee = w.executor_fee().await;
    for (kind, amount, flag) in [(RequestKind::Mint, 100 * USDC, PAUSE_MINT), (RequestKind::Redeem, 1_000, PAUSE_REDEEM)] {
        let before = w.snapshot().await;
        let nonce = w.request(Who::Alice, kind, Some(w.long), amount, 0).await;
        w.bank.send(&[ix::set_market_pause(admin.pubkey(), w.market.market, flag, true)], &[&admin]).await.unwrap();
        let out = w.execute(Who::Alice, nonce).await;
        w.bank.send(&[ix::set_market_pause(admin.pubkey(), w.market.market, flag, false)], &[&admin]).await.unwrap();
        w.assert_refund(out, Who::Alice, kind, amount, RefundReason::Paused, fee, &before).await;
    }
}

#[tokio::test]
async fn a_mint_beyond_the_exposure_cap_is_refunded() {
    let mut w = World::new().await;
    // Pool 1,000,000 USDC, net cap 1x → 1,000,000 USDC of net notional; 3x on 350,000 USDC is 1.05 M.
    w.bank.mint_to(w.collateral, w.bob.collateral, 700_000 * USDC).await;
    let e = w.refunded(Who::Bob, RequestKind::Mint, Some(w.long), 350_000 * USDC, 0, RefundReason::ExposureCap).await;
    assert_eq!(e.amount, 350_000 * USDC);
    assert_eq!(w.bank.balance(w.bob.collateral).await, 800_000 * USDC);
    // Below the cap the same market fills: 3x on 300,000 is 0.9 M.
    let out = w.mint(Who::Bob, w.long, 300_000 * USDC, 0).await;
    assert_eq!((out.events::<Minted>().len(), out.events::<leveraged_token::events::RequestRefunded>().len()), (1, 0), "a mint within the cap fills");
    out.expect_ok("a mint within the cap");
}

#[tokio::test]
async fn an_execution_fills_at_its_update_after_the_market_used_a_newer_one_which_a_rebalance_may_not_use() {
    let mut w = World::new().await;
    w.mint(Who::Bob, w.long, 10_000 * USDC, 0).await.unwrap();
    // Alice asks to mint the short; its price slot's update is $100.
    let nonce = w.request(Who::Alice, RequestKind::Mint, Some(w.short), 1_000 * USDC, 0).await;
    let r = w.request_state(Who::Alice, nonce).await;
    // Ten slots after her price slot the price is $110, and a rebalance of the long uses it.
    w.bank.reach(OracleKind::PythLegacy, r.target + 10).await;
    w.set_price(110 * USD).await;
    w.rebalance(Who::Bob, w.long).await.expect_ok("rebalance at $110");
    assert_eq!(w.market_state().await.last_oracle_publish, r.target + 10);
    // The update for Alice's price slot, older than the one the market used.
    w.deployment.oracle.publish_for(&mut w.bank, 100 * USD, w.conf, r.target).await;
    let bob = w.bob.kp.insecure_clone();
    w.refused(ix::rebalance(bob.pubkey(), &w.short, w.bob.collateral), &[&bob], ErrorCode::OraclePriceRegressed).await;
    let out = w.bank.send(&[w.execute_ix(Who::Alice, RequestKind::Mint, Some(w.short), nonce, w.market.oracle)], &[]).await;
    let ev = out.events::<Minted>();
    out.expect_ok("execute at the update for the price slot");
    assert_eq!(ev[0].price, normalize_price(100 * USD, w.conf, EXPO, DECIMALS).unwrap().price, "at $100, not the newer $110");
}
