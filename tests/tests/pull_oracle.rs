//! Pyth pull (`PriceUpdateV2`) markets: a market pinned by feed id mints and
//! redeems at the pull price, accepts any fresh update account for its feed,
//! and refuses every bad update with a named error and every account unchanged.
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use leveraged_token::events::Minted;
use leveraged_token::math::position::{base_for_notional_toward_zero, target_notional_toward_zero};
use leveraged_token::math::price::normalize_price;
use leveraged_token::math::shares::{quote_mint, quote_redeem, TokenBook};
use leveraged_token::oracle::VerificationLevel;
use leveraged_token::state::{LeveragedToken, Market};
use leveraged_token_sdk::{ix, MarketKeys, OracleKind, TokenKeys};
use leveraged_token_tests::fixtures::*;
use leveraged_token_tests::{ErrorCode, TestKeypair, TestSigner};

/// $2,000 in the fixtures' oracle units (expo −8).
const PULL_PRICE: i64 = 2_000 * USD;
/// $1: 5 bps of the price, well inside the market's 200 bps.
const PULL_CONF: u64 = USD as u64;
const LEV_2X: i32 = 20_000;
/// Fees of `token_params` and `market_params`.
const MINT_FEE_BPS: u16 = 10;
const REDEEM_FEE_BPS: u16 = 10;
const TRADE_FEE_BPS: u16 = 5;

/// A pull-oracle market on the world's collateral mint with a 2x token and a
/// user holding collateral and an empty share account.
struct Pull {
    market: MarketKeys,
    token: TokenKeys,
    user: TestKeypair,
    collateral: Pubkey,
    shares: Pubkey,
}

impl Pull {
    fn user_key(&self) -> Pubkey {
        self.user.pubkey()
    }

    /// The token's keys with instructions reading prices from `update`.
    fn via(&self, update: Pubkey) -> TokenKeys {
        let mut t = self.token;
        t.market.oracle = update;
        t
    }

    /// Every pull-market account a mint/redeem/rebalance can touch (World's
    /// `refused` only snapshots the legacy world).
    fn accounts(&self) -> Vec<Pubkey> {
        vec![
            self.market.market,
            self.market.pool_vault,
            self.market.lp_mint,
            self.market.oracle,
            self.token.token,
            self.token.vault,
            self.token.share_mint,
            self.collateral,
            self.shares,
            self.user.pubkey(),
        ]
    }

    fn mint_ix(&self, update: Pubkey, amount: u64, min_out: u64) -> Instruction {
        ix::mint(self.user_key(), &self.via(update), self.collateral, self.shares, amount, min_out)
    }

    fn redeem_ix(&self, update: Pubkey, shares: u64, min_out: u64) -> Instruction {
        ix::redeem(self.user_key(), &self.via(update), self.shares, self.collateral, shares, min_out)
    }

    fn rebalance_ix(&self, update: Pubkey) -> Instruction {
        ix::rebalance(self.user_key(), &self.via(update), self.collateral)
    }
}

async fn now(w: &mut World) -> i64 {
    w.bank.clock().await.unix_timestamp
}

async fn set_unix_timestamp(w: &mut World, t: i64) {
    let mut clock = w.bank.clock().await;
    clock.unix_timestamp = t;
    w.bank.ctx.set_sysvar(&clock);
}

/// Write a `PriceUpdateV2` account at `key` with the given owner and fields, posted at the current slot.
#[allow(clippy::too_many_arguments)]
async fn write_update(w: &mut World, key: Pubkey, owner: Pubkey, feed: [u8; 32], price: i64, conf: u64, publish_time: i64, level: VerificationLevel) {
    let slot = w.bank.slot().await;
    w.bank.set_account(key, 1_000_000_000, pull_price_account(feed, price, conf, EXPO, publish_time, level, slot), owner);
}

/// A fully verified update of the market's feed (`FEED_ID`, owned by the receiver) at `key`.
async fn write_feed(w: &mut World, key: Pubkey, price: i64, conf: u64, publish_time: i64) {
    write_update(w, key, RECEIVER, FEED_ID, price, conf, publish_time, VerificationLevel::Full).await;
}

/// A fresh, fully verified update for `FEED_ID` at `price`, published now, at a new address.
async fn fresh_update(w: &mut World, price: i64) -> Pubkey {
    let key = Pubkey::new_unique();
    let t = now(w).await;
    write_feed(w, key, price, PULL_CONF, t).await;
    key
}

/// Build the pull market: admin creates it on a fresh $2,000 update, an LP
/// deposits 100,000 USDC, admin creates a 2x token, and a user gets 10,000 USDC.
async fn pull_market(w: &mut World) -> Pull {
    let update = fresh_update(w, PULL_PRICE).await;
    let market = MarketKeys::pull(FEED_ID, update, w.collateral);
    assert_ne!(market.market, w.market.market);
    let admin = w.admin.insecure_clone();
    w.bank.send(&[ix::create_market(admin.pubkey(), &market, OracleKind::PythPull, market_params(), None)], &[&admin]).await.unwrap();
    let m: Market = w.bank.account(market.market).await;
    assert_eq!(m.oracle_kind, OracleKind::PythPull);
    assert_eq!(m.oracle_id, FEED_ID);

    let lp = w.new_user(100_000 * USDC).await;
    let lp_shares = w.bank.create_token_account(market.lp_mint, lp.key()).await;
    w.bank.send(&[ix::deposit_liquidity(lp.key(), &market, lp.collateral, lp_shares, 100_000 * USDC, 0)], &[&lp.kp]).await.unwrap();
    assert_eq!(w.bank.balance(market.pool_vault).await, 100_000 * USDC);

    let token = market.token(LEV_2X);
    w.bank.send(&[ix::create_leveraged_token(admin.pubkey(), &token, token_params(LEV_2X))], &[&admin]).await.unwrap();
    let u = w.new_user(10_000 * USDC).await;
    let shares = w.bank.create_token_account(token.share_mint, u.key()).await;
    Pull { market, token, user: u.kp, collateral: u.collateral, shares }
}

/// A fresh world with the pull market, and its user's keypair.
async fn pull_world() -> (World, Pull, TestKeypair) {
    let mut w = World::new().await;
    let p = pull_market(&mut w).await;
    let user = p.user.insecure_clone();
    (w, p, user)
}

/// `w.refused` (named error, World unchanged) plus every pull-market account unchanged.
async fn refused_pull(w: &mut World, p: &Pull, ix: Instruction, code: ErrorCode) {
    let keys = p.accounts();
    let before = w.bank.snapshot(&keys).await;
    let user = p.user.insecure_clone();
    w.refused(ix, &[&user], code).await;
    let after = w.bank.snapshot(&keys).await;
    for (i, (b, a)) in before.iter().zip(after.iter()).enumerate() {
        assert_eq!(b, a, "pull-market account {} changed after a refused {code:?}", keys[i]);
    }
}

#[tokio::test]
async fn a_pull_oracle_market_mints_and_redeems_at_the_pull_price() {
    let (mut w, p, user) = pull_world().await;
    let amount = 1_000 * USDC;
    let price = normalize_price(PULL_PRICE, PULL_CONF, EXPO, DECIMALS).unwrap();
    let q = quote_mint(&TokenBook { equity: 0, supply: 0, base: 0, target_leverage_bps: LEV_2X.into() }, price.price, price.conf, amount, MINT_FEE_BPS, TRADE_FEE_BPS).unwrap();
    // Hand-computed: mint fee 10 bps = 1 USDC; trade fee 5 bps on 2 × 999 USDC = 0.999 USDC.
    assert_eq!(q.mint_fee, USDC);
    assert_eq!(q.trade_fee, 999_000);
    assert_eq!(q.net_deposit, 998_001_000);

    let coll0 = w.bank.balance(p.collateral).await;
    let pool0 = w.bank.balance(p.market.pool_vault).await;
    let out = w.bank.send(&[p.mint_ix(p.market.oracle, amount, q.shares_out)], &[&user]).await;
    out.clone().unwrap();

    let t: LeveragedToken = w.bank.account(p.token.token).await;
    // 2 × net deposit / price: 2 × 998.001 USDC / $2,000 = 0.998001 base units (× 1e9).
    let expected = base_for_notional_toward_zero(target_notional_toward_zero(LEV_2X.into(), i128::from(q.net_deposit)).unwrap(), price.price).unwrap();
    assert_eq!(expected, 998_001_000);
    assert_eq!(t.base, expected);
    assert_eq!(t.fees_owed, q.mint_fee);
    let m: Market = w.bank.account(p.market.market).await;
    assert_eq!(m.net_base, t.base);
    // Notional 2 × 998.001 USDC.
    assert_eq!(m.total_abs_cost, 1_996_002_000);

    assert_eq!(w.bank.balance(p.collateral).await, coll0 - amount);
    assert_eq!(w.bank.balance(p.token.vault).await, amount - q.trade_fee);
    assert_eq!(w.bank.balance(p.market.pool_vault).await, pool0 + q.trade_fee);
    assert_eq!(w.bank.balance(p.shares).await, q.shares_out);
    assert_eq!(q.shares_out, 998_001_000);
    assert_eq!(w.bank.supply(p.token.share_mint).await, q.shares_out);
    let ev = out.events::<Minted>();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].price, price.price);
    assert_eq!(ev[0].delta_base, expected);

    // Redeem everything in the same slot at the same price: settlement moves nothing.
    assert_eq!(w.bank.slot().await, t.last_fee_slot);
    let vault = w.bank.balance(p.token.vault).await;
    let pool = w.bank.balance(p.market.pool_vault).await;
    let shares = q.shares_out;
    let r = quote_redeem(&TokenBook { equity: vault - t.fees_owed, supply: shares, base: t.base, target_leverage_bps: LEV_2X.into() }, price.price, price.conf, shares, REDEEM_FEE_BPS, TRADE_FEE_BPS)
        .unwrap();
    w.bank.send(&[p.redeem_ix(p.market.oracle, shares, r.collateral_out)], &[&user]).await.unwrap();
    assert_eq!(w.bank.balance(p.collateral).await, coll0 - amount + r.collateral_out);
    assert_eq!(w.bank.balance(p.shares).await, 0);
    assert_eq!(w.bank.supply(p.token.share_mint).await, 0);
    assert_eq!(w.bank.balance(p.token.vault).await, vault - r.collateral_out - r.trade_fee);
    assert_eq!(w.bank.balance(p.market.pool_vault).await, pool + r.trade_fee);
    let t2: LeveragedToken = w.bank.account(p.token.token).await;
    assert_eq!(t2.base, 0);
    assert_eq!(t2.fees_owed, q.mint_fee + r.redeem_fee);
    let m2: Market = w.bank.account(p.market.market).await;
    assert_eq!(m2.net_base, 0);
    // Paid 1,000 USDC; back less 2 × 10 bps fees, 2 × 5 bps on 2x and the 2 × 5 bps confidence haircut.
    assert!(r.collateral_out < amount && r.collateral_out > 995 * USDC, "{}", r.collateral_out);
    // The legacy world is untouched by the pull market's trades.
    assert_eq!(w.bank.account::<LeveragedToken>(w.long.token).await.base, 0);
}

#[tokio::test]
async fn a_fresh_update_account_other_than_the_first_for_the_same_feed_is_accepted() {
    let (mut w, p, user) = pull_world().await;
    // Pull markets pin the feed id, not the address: a new update account at $2,100.
    let other = fresh_update(&mut w, 2_100 * USD).await;
    assert_ne!(other, p.market.oracle);
    let out = w.bank.send(&[p.mint_ix(other, 1_000 * USDC, 0)], &[&user]).await;
    out.clone().unwrap();
    let price = normalize_price(2_100 * USD, PULL_CONF, EXPO, DECIMALS).unwrap();
    let ev = out.events::<Minted>();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].price, price.price, "the mint read the second update account");
    let t: LeveragedToken = w.bank.account(p.token.token).await;
    let expected = base_for_notional_toward_zero(target_notional_toward_zero(LEV_2X.into(), i128::from(ev[0].equity_after)).unwrap(), price.price).unwrap();
    assert_eq!(t.base, expected);
    assert!(w.bank.balance(p.shares).await > 0);

    // A third update account serves a redeem.
    let third = fresh_update(&mut w, 2_100 * USD).await;
    let shares = w.bank.balance(p.shares).await;
    w.bank.send(&[p.redeem_ix(third, shares / 2, 0)], &[&user]).await.unwrap();
    assert_eq!(w.bank.balance(p.shares).await, shares - shares / 2);
}

#[tokio::test]
async fn each_bad_pull_account_is_refused_with_its_named_error_and_every_balance_unchanged() {
    let (mut w, p, user) = pull_world().await;
    // A position and shares to redeem, so the refusals guard real balances.
    w.bank.send(&[p.mint_ix(p.market.oracle, 1_000 * USDC, 0)], &[&user]).await.unwrap();
    let shares = w.bank.balance(p.shares).await;
    assert!(shares > 0);

    let t = now(&mut w).await;
    let full = VerificationLevel::Full;
    let valid = pull_price_account(FEED_ID, PULL_PRICE, PULL_CONF, EXPO, t, full, 0);

    // (label, owner, data, error)
    let mut cases: Vec<(&str, Pubkey, Vec<u8>, ErrorCode)> = Vec::new();
    cases.push(("owner not the receiver", Pubkey::new_unique(), valid.clone(), ErrorCode::OracleWrongOwner));
    cases.push(("owned by the legacy Pyth program", leveraged_token::constants::PYTH_LEGACY_DEVNET, valid.clone(), ErrorCode::OracleWrongOwner));
    let mut bad_disc = valid.clone();
    bad_disc[0] ^= 0xff;
    cases.push(("wrong discriminator", RECEIVER, bad_disc, ErrorCode::OracleInvalidData));
    cases.push(("truncated body", RECEIVER, valid[..8 + 40].to_vec(), ErrorCode::OracleInvalidData));
    cases.push(("truncated discriminator", RECEIVER, valid[..4].to_vec(), ErrorCode::OracleInvalidData));
    cases.push(("empty", RECEIVER, vec![], ErrorCode::OracleInvalidData));
    cases.push(("partially verified", RECEIVER, pull_price_account(FEED_ID, PULL_PRICE, PULL_CONF, EXPO, t, VerificationLevel::Partial { num_signatures: 3 }, 0), ErrorCode::OracleNotFullyVerified));
    cases.push(("another feed", RECEIVER, pull_price_account([9; 32], PULL_PRICE, PULL_CONF, EXPO, t, full, 0), ErrorCode::OracleWrongFeed));
    cases.push(("published 61 s ago", RECEIVER, pull_price_account(FEED_ID, PULL_PRICE, PULL_CONF, EXPO, t - 61, full, 0), ErrorCode::OracleStale));
    cases.push(("price zero", RECEIVER, pull_price_account(FEED_ID, 0, PULL_CONF, EXPO, t, full, 0), ErrorCode::OraclePriceNotPositive));
    cases.push(("price negative", RECEIVER, pull_price_account(FEED_ID, -PULL_PRICE, PULL_CONF, EXPO, t, full, 0), ErrorCode::OraclePriceNotPositive));
    // 3 % of price = 300 bps > 200 bps.
    cases.push(("confidence 3 %", RECEIVER, pull_price_account(FEED_ID, PULL_PRICE, PULL_PRICE as u64 * 3 / 100, EXPO, t, full, 0), ErrorCode::OracleConfidenceTooWide));

    for (label, owner, data, code) in cases {
        let bad = Pubkey::new_unique();
        w.bank.set_account(bad, 1_000_000_000, data, owner);
        println!("case: {label} -> {code:?}");
        refused_pull(&mut w, &p, p.mint_ix(bad, 100 * USDC, 0), code).await;
        refused_pull(&mut w, &p, p.redeem_ix(bad, shares / 2, 0), code).await;
        if matches!(code, ErrorCode::OracleStale) {
            refused_pull(&mut w, &p, p.rebalance_ix(bad), code).await;
        }
    }

    // Control: the same instructions through the good update get past the oracle.
    refused_pull(&mut w, &p, p.rebalance_ix(p.market.oracle), ErrorCode::RebalanceNotNeeded).await;
    w.bank.send(&[p.mint_ix(p.market.oracle, 100 * USDC, 0)], &[&user]).await.unwrap();
    w.bank.send(&[p.redeem_ix(p.market.oracle, shares / 2, 0)], &[&user]).await.unwrap();
}

#[tokio::test]
async fn the_pull_age_and_confidence_limits_are_inclusive() {
    let (mut w, p, user) = pull_world().await;
    let t = now(&mut w).await;
    // Move the cluster clock 60 s on: the update the market last used (published at t)
    // is now exactly 60 s old, max_age_secs = 60: accepted.
    set_unix_timestamp(&mut w, t + 60).await;
    let aged = Pubkey::new_unique();
    write_feed(&mut w, aged, PULL_PRICE, PULL_CONF, t).await;
    w.bank.send(&[p.mint_ix(aged, 100 * USDC, 0)], &[&user]).await.unwrap();
    // Exactly 2 % of price, max_conf_bps = 200: accepted.
    let wide = Pubkey::new_unique();
    write_feed(&mut w, wide, PULL_PRICE, PULL_PRICE as u64 / 50, t + 60).await;
    w.bank.send(&[p.mint_ix(wide, 100 * USDC, 0)], &[&user]).await.unwrap();
    // One unit wider: refused.
    write_feed(&mut w, wide, PULL_PRICE, PULL_PRICE as u64 / 50 + 1, t + 60).await;
    refused_pull(&mut w, &p, p.mint_ix(wide, 100 * USDC, 0), ErrorCode::OracleConfidenceTooWide).await;
}

#[tokio::test]
async fn create_market_on_a_pull_feed_refuses_a_stale_update() {
    let mut w = World::new().await;
    let admin = w.admin.insecure_clone();
    let t = now(&mut w).await;
    let stale = Pubkey::new_unique();
    write_feed(&mut w, stale, PULL_PRICE, PULL_CONF, t - 61).await;
    let m = MarketKeys::pull(FEED_ID, stale, w.collateral);
    let ix_stale = ix::create_market(admin.pubkey(), &m, OracleKind::PythPull, market_params(), None);
    // World's snapshot includes the config, whose market count must not move.
    let count = w.bank.account::<leveraged_token::state::Config>(leveraged_token::pda::config().0).await.market_count;
    w.refused(ix_stale, &[&admin], ErrorCode::OracleStale).await;
    assert!(w.bank.raw_account(m.market).await.is_none(), "no market account on a dead feed");
    assert!(w.bank.raw_account(m.pool_vault).await.is_none());
    assert!(w.bank.raw_account(m.lp_mint).await.is_none());

    // A wrong-feed update is refused too: the market's feed id is what the update must carry.
    let other = Pubkey::new_unique();
    write_update(&mut w, other, RECEIVER, [9; 32], PULL_PRICE, PULL_CONF, t, VerificationLevel::Full).await;
    let m_other = MarketKeys::pull(FEED_ID, other, w.collateral);
    w.refused(ix::create_market(admin.pubkey(), &m_other, OracleKind::PythPull, market_params(), None), &[&admin], ErrorCode::OracleWrongFeed).await;
    assert!(w.bank.raw_account(m.market).await.is_none());

    // Control: the same market on a fresh update is created.
    let fresh = fresh_update(&mut w, PULL_PRICE).await;
    let m_fresh = MarketKeys::pull(FEED_ID, fresh, w.collateral);
    assert_eq!(m_fresh.market, m.market);
    w.bank.send(&[ix::create_market(admin.pubkey(), &m_fresh, OracleKind::PythPull, market_params(), None)], &[&admin]).await.unwrap();
    assert!(w.bank.raw_account(m.market).await.is_some());
    let count2 = w.bank.account::<leveraged_token::state::Config>(leveraged_token::pda::config().0).await.market_count;
    assert_eq!(count2, count + 1);
}

#[tokio::test]
async fn an_update_older_than_the_one_the_market_used_is_refused() {
    let (mut w, p, user) = pull_world().await;
    let t = now(&mut w).await;
    // The market used the update published at t; one published at t − 5 is fresh
    // (within 60 s) but older: picking it would let a user choose a stale price.
    let older = Pubkey::new_unique();
    write_feed(&mut w, older, PULL_PRICE * 95 / 100, PULL_CONF, t - 5).await;
    refused_pull(&mut w, &p, p.mint_ix(older, 100 * USDC, 0), ErrorCode::OraclePriceRegressed).await;
    // The same publish time as the last one used is fine.
    w.bank.send(&[p.mint_ix(p.market.oracle, 100 * USDC, 0)], &[&user]).await.unwrap();
}

#[tokio::test]
async fn an_update_published_ahead_of_the_cluster_clock_is_refused() {
    let (mut w, p, user) = pull_world().await;
    let t = now(&mut w).await;
    let ahead = Pubkey::new_unique();
    write_feed(&mut w, ahead, PULL_PRICE, PULL_CONF, t + 11).await;
    refused_pull(&mut w, &p, p.mint_ix(ahead, 100 * USDC, 0), ErrorCode::OracleTimestampInFuture).await;
    // Up to 10 s of clock drift is tolerated.
    write_feed(&mut w, ahead, PULL_PRICE, PULL_CONF, t + 10).await;
    w.bank.send(&[p.mint_ix(ahead, 100 * USDC, 0)], &[&user]).await.unwrap();
}
