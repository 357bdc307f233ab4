//! The deployment both keeper test files start from: config, one legacy-oracle
//! market with a 1,000,000 USDC pool, a 3x long, a 1x short (tight trigger set)
//! and a 2x long that only rebalances on a 20 % move, each holding 10,000 USDC
//! of a holder's mint, the oracle at $100. The three mints are requested in
//! one slot and executed at the update for their common price time, so the
//! three tokens share one rebalance schedule.

#![allow(dead_code)]

use anchor_lang::prelude::Pubkey;
use leveraged_token::state::RequestKind;
use leveraged_token_harness::bank::Bank;
use leveraged_token_harness::deployment::{self, Deployer, MarketSpec, Oracle};
use leveraged_token_harness::requests::next_nonce;
use leveraged_token_harness::BankChain;
use leveraged_token_sdk::{defaults, MarketKeys, TokenKeys};
use solana_keypair::Keypair;
use solana_signer::Signer;

pub const DECIMALS: u8 = 6;
pub const USDC: u64 = 1_000_000;
/// One US dollar in the oracle's units (expo −8).
pub use leveraged_token_harness::deployment::USD;

pub struct Deployment {
    /// The bank, tracking the three tokens for `getProgramAccounts`.
    pub chain: BankChain,
    pub admin: Keypair,
    pub market: MarketKeys,
    /// 3x long, 1x short, 2x long.
    pub tokens: [TokenKeys; 3],
    /// The harness's deployment (request instructions, holders, the oracle).
    pub deployment: deployment::Deployment,
}

/// Publish `price` (USD × 1e8) at the bank's current slot.
pub async fn publish(bank: &mut Bank, market: &MarketKeys, price: i64) {
    Oracle::legacy(market.oracle).publish(bank, price, Oracle::default_conf(price)).await;
}

/// Deploy the market on `oracle` (a fixed address makes every run derive the same PDAs).
pub async fn deploy(oracle: Pubkey) -> Deployment {
    // The keeper's logs, shown for failing tests (RUST_LOG overrides).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("leveraged_token_keeper=debug,lt_keeper=info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    let mut bank = Bank::new().await;
    let deployer = Deployer::init(&mut bank, Some(Pubkey::new_unique())).await;
    // The 2x long only rebalances on a 20 % move: a 10 % move leaves its gate closed.
    let wide = leveraged_token::TokenParams { deviation_bps: 2_000, ..defaults::responsive_token_params(20_000, USDC) };
    let spec = MarketSpec::new(Oracle::legacy(oracle))
        .decimals(DECIMALS)
        .token(30_000, defaults::responsive_token_params(30_000, USDC))
        .token(-10_000, defaults::responsive_token_params(-10_000, USDC))
        .token(20_000, wide)
        .liquidity(1_000_000 * USDC);
    let d = deployer.market(&mut bank, spec).await;
    let holder = d.holder(&mut bank, 30_000 * USDC).await;
    // Three requests in one slot: one price time, one execution slot, one schedule anchor.
    let nonces: Vec<u64> = (0..d.tokens.len()).map(|_| next_nonce()).collect();
    for (i, nonce) in nonces.iter().enumerate() {
        bank.send(&[d.request_ix(holder.key(), RequestKind::Mint, Some(i), *nonce, 10_000 * USDC, 0)], &[&holder.kp]).await.expect_ok("request mint");
    }
    for nonce in nonces {
        d.execute_at(&mut bank, holder.kp.pubkey(), nonce, None).await.expect_ok("execute mint");
    }
    let tokens = [d.tokens[0], d.tokens[1], d.tokens[2]];
    let mut chain = BankChain::new(bank);
    // Created through the bank directly: tell the chain so getProgramAccounts sees them.
    chain.track(tokens.iter().map(|t| t.token));
    Deployment { chain, admin: deployer.admin, market: d.market, tokens, deployment: d }
}
