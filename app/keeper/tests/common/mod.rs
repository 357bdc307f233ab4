//! The deployment both keeper test files start from: config, one legacy-oracle
//! market with a 1,000,000 USDC pool, a 3x long, a 1x short (tight trigger set)
//! and a 2x long that only rebalances on a 20 % move, each holding 10,000 USDC
//! of a holder's mint, the oracle at $100.

#![allow(dead_code)]

use anchor_lang::prelude::Pubkey;
use leveraged_token::constants::PYTH_LEGACY_DEVNET;
use leveraged_token_harness::bank::Bank;
use leveraged_token_harness::BankChain;
use leveraged_token_sdk::oracle_fixture::legacy_price_account;
use leveraged_token_sdk::{defaults, ix, MarketKeys, OracleKind, TokenKeys};
use pyth_sdk_solana::state::PriceStatus;
use solana_keypair::Keypair;
use solana_signer::Signer;

pub const DECIMALS: u8 = 6;
pub const USDC: u64 = 1_000_000;
/// One US dollar in the oracle's units (expo −8).
pub const USD: i64 = 100_000_000;

pub struct Deployment {
    /// The bank, tracking the three tokens for `getProgramAccounts`.
    pub chain: BankChain,
    pub admin: Keypair,
    pub market: MarketKeys,
    /// 3x long, 1x short, 2x long.
    pub tokens: [TokenKeys; 3],
}

/// Publish `price` (USD × 1e8) at the bank's current slot.
pub async fn publish(bank: &mut Bank, market: &MarketKeys, price: i64) {
    let slot = bank.slot().await;
    bank.set_account(market.oracle, 1_000_000_000, legacy_price_account(price, (price / 2_000) as u64, -8, slot, PriceStatus::Trading), PYTH_LEGACY_DEVNET);
}

/// Deploy the market on `oracle` (a fixed address makes every run derive the same PDAs).
pub async fn deploy(oracle: Pubkey) -> Deployment {
    // The keeper's logs, shown for failing tests (RUST_LOG overrides).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("leveraged_token_keeper=debug,lt_keeper=info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    let mut bank = Bank::new().await;
    let admin = bank.funded_keypair().await;
    let treasury = Keypair::new();
    let usdc = bank.create_mint(DECIMALS).await;
    let market = MarketKeys::legacy(oracle, usdc);
    let tokens = [market.token(30_000), market.token(-10_000), market.token(20_000)];
    publish(&mut bank, &market, 100 * USD).await;
    let a = admin.pubkey();
    bank.send(&[ix::initialize_config(a, treasury.pubkey())], &[&admin]).await.unwrap();
    bank.send(&[ix::create_market(a, &market, OracleKind::PythLegacy, defaults::market_params())], &[&admin]).await.unwrap();
    for t in &tokens[..2] {
        bank.send(&[ix::create_leveraged_token(a, t, defaults::responsive_token_params(t.target_leverage_bps, USDC))], &[&admin]).await.unwrap();
    }
    // The 2x long only rebalances on a 20 % move: a 10 % move leaves its gate closed.
    let wide = leveraged_token::TokenParams { deviation_bps: 2_000, ..defaults::responsive_token_params(20_000, USDC) };
    bank.send(&[ix::create_leveraged_token(a, &tokens[2], wide)], &[&admin]).await.unwrap();

    let lp = bank.funded_keypair().await;
    let lp_collateral = bank.create_token_account(usdc, lp.pubkey()).await;
    let lp_shares = bank.create_token_account(market.lp_mint, lp.pubkey()).await;
    bank.mint_to(usdc, lp_collateral, 1_000_000 * USDC).await;
    bank.send(&[ix::deposit_liquidity(lp.pubkey(), &market, lp_collateral, lp_shares, 1_000_000 * USDC, 0)], &[&lp]).await.unwrap();

    let holder = bank.funded_keypair().await;
    let holder_collateral = bank.create_token_account(usdc, holder.pubkey()).await;
    bank.mint_to(usdc, holder_collateral, 30_000 * USDC).await;
    for t in &tokens {
        let shares = bank.create_token_account(t.share_mint, holder.pubkey()).await;
        bank.send(&[ix::mint(holder.pubkey(), t, holder_collateral, shares, 10_000 * USDC, 0)], &[&holder]).await.unwrap();
    }
    let mut chain = BankChain::new(bank);
    // Created through the bank directly: tell the chain so getProgramAccounts sees them.
    chain.track(tokens.iter().map(|t| t.token));
    Deployment { chain, admin, market, tokens }
}
