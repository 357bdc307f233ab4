//! Collateral a market can trust (`create_market`): at least
//! `MIN_COLLATERAL_DECIMALS` decimals, and a freeze authority only when the
//! admin names that very key in `trusted_freeze_authority` — trust in the
//! collateral issuer, stored in the market and carried by `MarketCreated`.
//!
//! Every refusal asserts the named error and that the world, the admin, the
//! mint, the oracle and the market's addresses are byte-for-byte unchanged.
use anchor_lang::prelude::Pubkey;
use leveraged_token::constants::MIN_COLLATERAL_DECIMALS;
use leveraged_token::events::MarketCreated;
use leveraged_token::state::Market;
use leveraged_token_sdk::{ix, MarketKeys, OracleKind};
use leveraged_token_tests::fixtures::*;
use leveraged_token_tests::harness::deployment::Oracle;
use leveraged_token_tests::{ErrorCode, TestKeypair, TestSigner};

/// A live $50 legacy oracle of its own and the keys of a market on `mint`.
async fn market_on(w: &mut World, mint: Pubkey) -> MarketKeys {
    let oracle = Oracle::legacy(Pubkey::new_unique());
    oracle.publish(&mut w.bank, 50 * USD, USD as u64 / 100).await;
    oracle.market_keys(mint)
}

fn create(admin: &TestKeypair, m: &MarketKeys, trusted_freeze_authority: Option<Pubkey>) -> anchor_lang::solana_program::instruction::Instruction {
    ix::create_market(admin.pubkey(), m, OracleKind::PythLegacy, market_params(), trusted_freeze_authority)
}

/// `create_market` on `m` fails with `code`; the world, the admin, the config,
/// the mint, the oracle and the market's three addresses are unchanged (the
/// latter still absent).
async fn refused(w: &mut World, m: &MarketKeys, trusted_freeze_authority: Option<Pubkey>, code: ErrorCode) {
    let admin = w.admin.insecure_clone();
    let extra = [admin.pubkey(), leveraged_token::pda::config().0, m.collateral_mint, m.oracle, m.market, m.pool_vault, m.lp_mint];
    let before = w.bank.snapshot(&extra).await;
    w.refused(create(&admin, m, trusted_freeze_authority), &[&admin], code).await;
    assert_eq!(w.bank.snapshot(&extra).await, before, "an account changed after a refused create_market ({code:?})");
    for k in [m.market, m.pool_vault, m.lp_mint] {
        assert!(w.bank.raw_account(k).await.is_none(), "{k} was created by a refused create_market");
    }
}

#[tokio::test]
async fn a_collateral_mint_with_fewer_than_six_decimals_is_refused() {
    assert_eq!(MIN_COLLATERAL_DECIMALS, 6);
    let mut w = World::new().await;
    for decimals in [0, 5] {
        let mint = w.bank.create_mint(decimals).await;
        let m = market_on(&mut w, mint).await;
        refused(&mut w, &m, None, ErrorCode::CollateralDecimalsTooFew).await;
    }
    // The bound is inclusive: 6 decimals (the world's own collateral has them) is accepted.
    let mint = w.bank.create_mint(MIN_COLLATERAL_DECIMALS).await;
    let m = market_on(&mut w, mint).await;
    let admin = w.admin.insecure_clone();
    w.bank.send(&[create(&admin, &m, None)], &[&admin]).await.unwrap();
    assert_eq!(w.bank.account::<Market>(m.market).await.collateral_decimals, 6);
}

#[tokio::test]
async fn a_freeze_authority_is_refused_unless_the_admin_names_it_and_then_it_is_stored_and_announced() {
    let mut w = World::new().await;
    let issuer = Pubkey::new_unique();
    let mint = w.bank.create_mint_with_freeze_authority(DECIMALS, issuer).await;
    let m = market_on(&mut w, mint).await;
    let admin = w.admin.insecure_clone();
    // Not accepted: no argument, another key, the admin itself, the default key.
    for trusted in [None, Some(Pubkey::new_unique()), Some(admin.pubkey()), Some(Pubkey::default())] {
        refused(&mut w, &m, trusted, ErrorCode::CollateralFreezeAuthorityNotAccepted).await;
    }
    // Accepted by name: stored in the market and carried by the event.
    let out = w.bank.send(&[create(&admin, &m, Some(issuer))], &[&admin]).await;
    let events: Vec<MarketCreated> = out.events();
    out.unwrap();
    let market: Market = w.bank.account(m.market).await;
    assert_eq!((market.trusted_freeze_authority, market.collateral_mint), (issuer, mint));
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].market, events[0].collateral_mint, events[0].trusted_freeze_authority), (m.market, mint, issuer));
}

#[tokio::test]
async fn a_mint_without_a_freeze_authority_needs_no_trust() {
    let mut w = World::new().await;
    // The world's own market: created through the harness with `None`.
    assert_eq!(w.market_state().await.trusted_freeze_authority, Pubkey::default());
    let mint = w.bank.create_mint(DECIMALS).await;
    let m = market_on(&mut w, mint).await;
    let admin = w.admin.insecure_clone();
    let out = w.bank.send(&[create(&admin, &m, None)], &[&admin]).await;
    let events: Vec<MarketCreated> = out.events();
    out.unwrap();
    assert_eq!(w.bank.account::<Market>(m.market).await.trusted_freeze_authority, Pubkey::default());
    assert_eq!(events.iter().map(|e| (e.market, e.trusted_freeze_authority)).collect::<Vec<_>>(), [(m.market, Pubkey::default())]);
}

/// Naming a freeze authority for a mint that has none is not an error: there
/// is nothing to trust, and the market stores none.
#[tokio::test]
async fn naming_a_freeze_authority_for_a_mint_without_one_stores_none() {
    let mut w = World::new().await;
    let mint = w.bank.create_mint(DECIMALS).await;
    let m = market_on(&mut w, mint).await;
    let admin = w.admin.insecure_clone();
    w.bank.send(&[create(&admin, &m, Some(Pubkey::new_unique()))], &[&admin]).await.unwrap();
    assert_eq!(w.bank.account::<Market>(m.market).await.trusted_freeze_authority, Pubkey::default());
}
