#![allow(deprecated)]
//! Pyth pull (`PriceUpdateV2`) markets: a market pinned by feed id mints and
//! redeems at the pull price of the update for each request's price time, in
//! whatever account it is posted; an execution refuses every update of the
//! wrong identity or time with a named error and every account unchanged,
//! and refunds one whose value is unusable; a rebalance still needs a fresh
//! update, not older than the market's last.
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use leveraged_token::events::{Minted, Redeemed, RequestRefunded};
use leveraged_token::math::position::{base_for_notional_toward_zero, target_notional_toward_zero};
use leveraged_token::math::price::normalize_price;
use leveraged_token::math::shares::{quote_mint, quote_redeem, TokenBook};
use leveraged_token::oracle::VerificationLevel;
use leveraged_token::settlement::{preview_settlement, SettleAt};
use leveraged_token::state::{LeveragedToken, Market, RefundReason, Request, RequestKind};
use leveraged_token_harness::deployment::{Deployment, Holder, Oracle};
use leveraged_token_harness::requests::next_nonce;
use leveraged_token_sdk::{ix, pda, MarketKeys, OracleKind, TokenKeys};
use leveraged_token_tests::fixtures::*;
use leveraged_token_tests::{ErrorCode, TestKeypair, TestSigner, TxOutcome};

/// $2,000 in the fixtures' oracle units (expo −8).
const PULL_PRICE: i64 = 2_000 * USD;
/// $1: 5 bps of the price, well inside the market's 200 bps.
const PULL_CONF: u64 = USD as u64;
const LEV_2X: i32 = 20_000;
/// Fees of `token_params` and `market_params`.
const MINT_FEE_BPS: u16 = 10;
const REDEEM_FEE_BPS: u16 = 10;
const TRADE_FEE_BPS: u16 = 5;

/// A pull-oracle market on the world's collateral mint with a 2x token, as a
/// harness deployment (its oracle account is the first update's address),
/// and a user holding collateral and an empty share account.
struct Pull {
    d: Deployment,
    user: Holder,
}

impl Pull {
    fn market(&self) -> MarketKeys {
        self.d.market
    }

    fn token(&self) -> TokenKeys {
        self.d.tokens[0]
    }

    fn user_key(&self) -> Pubkey {
        self.user.key()
    }

    fn shares(&self) -> Pubkey {
        self.user.shares[0]
    }

    /// The token's keys with instructions reading prices from `update`.
    fn via(&self, update: Pubkey) -> TokenKeys {
        let mut t = self.token();
        t.market.oracle = update;
        t
    }

    /// Every pull-market account a request, an execution or a rebalance can
    /// touch (World's `refused` only snapshots the legacy world).
    fn accounts(&self) -> Vec<Pubkey> {
        let (m, t) = (self.market(), self.token());
        vec![m.market, m.pool_vault, m.lp_mint, m.oracle, t.token, t.vault, t.share_mint, self.user.collateral, self.shares(), self.user_key()]
    }

    /// The user's request of `kind` (mint or redeem of the 2x token).
    async fn request(&self, w: &mut World, kind: RequestKind, amount: u64, min_out: u64) -> u64 {
        let nonce = next_nonce();
        let ix = self.d.request_ix(self.user_key(), kind, Some(0), nonce, amount, min_out);
        w.bank.send(&[ix], &[&self.user.kp]).await.expect_ok("request");
        nonce
    }

    async fn request_state(&self, w: &mut World, nonce: u64) -> Request {
        w.bank.account(pda::request(&self.user_key(), nonce).0).await
    }

    /// The execution of the user's request `nonce` by the bank's payer with `update`.
    fn execute_ix(&self, w: &World, kind: RequestKind, nonce: u64, update: Pubkey) -> Instruction {
        ix::execute(w.bank.payer(), kind, self.user_key(), nonce, &self.market(), Some(&self.token()), update, &[self.token()])
    }

    /// Request and execute at `price` (the harness posts the update for the price time).
    async fn request_and_execute(&self, w: &mut World, kind: RequestKind, amount: u64, min_out: u64, price: i64) -> TxOutcome {
        let nonce = self.request(w, kind, amount, min_out).await;
        self.d.execute_at(&mut w.bank, self.user_key(), nonce, Some((price, PULL_CONF))).await
    }

    fn rebalance_ix(&self, update: Pubkey) -> Instruction {
        ix::rebalance(self.user_key(), &self.via(update), self.user.collateral)
    }
}

async fn now(w: &mut World) -> i64 {
    w.bank.clock().await.unix_timestamp
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

/// A fully verified update for `FEED_ID` at `price`, published at `publish_time`, at a new address.
async fn update_at(w: &mut World, price: i64, publish_time: i64) -> Pubkey {
    let key = Pubkey::new_unique();
    write_feed(w, key, price, PULL_CONF, publish_time).await;
    key
}

/// A fresh, fully verified update for `FEED_ID` at `price`, published now, at a new address.
async fn fresh_update(w: &mut World, price: i64) -> Pubkey {
    let t = now(w).await;
    update_at(w, price, t).await
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

    let mut d = Deployment { collateral: w.collateral, unit: USDC, oracle: Oracle::pull(update, FEED_ID), market, tokens: Vec::new(), treasury_collateral: w.treasury_collateral, lp: None };
    let lp = d.holder(&mut w.bank, 100_000 * USDC).await;
    // Executed at the update for its price time, at the market's price.
    let nonce = next_nonce();
    w.bank.send(&[d.request_ix(lp.key(), RequestKind::Deposit, None, nonce, 100_000 * USDC, 0)], &[&lp.kp]).await.expect_ok("request deposit");
    d.execute_at(&mut w.bank, lp.key(), nonce, Some((PULL_PRICE, PULL_CONF))).await.expect_ok("deposit");
    assert_eq!(w.bank.balance(market.pool_vault).await, 100_000 * USDC);

    d.add_token(&mut w.bank, &admin, LEV_2X, token_params(LEV_2X)).await;
    let user = d.holder(&mut w.bank, 10_000 * USDC).await;
    Pull { d, user }
}

/// A fresh world with the pull market, and its user's keypair.
async fn pull_world() -> (World, Pull, TestKeypair) {
    let mut w = World::new().await;
    let p = pull_market(&mut w).await;
    let user = p.user.kp.insecure_clone();
    (w, p, user)
}

/// `w.refused` (named error, World unchanged) plus every pull-market account unchanged.
async fn refused_pull(w: &mut World, p: &Pull, ix: Instruction, signers: &[&TestKeypair], code: ErrorCode) {
    let keys = p.accounts();
    let before = w.bank.snapshot(&keys).await;
    w.refused(ix, signers, code).await;
    let after = w.bank.snapshot(&keys).await;
    for (i, (b, a)) in before.iter().zip(after.iter()).enumerate() {
        assert_eq!(b, a, "pull-market account {} changed after a refused {code:?}", keys[i]);
    }
}

/// The user requests a `kind` for `amount`; the update for its price time,
/// posted at a new address, holds `data(target)`: the execution succeeds,
/// refunds the whole escrow (`OracleUnusable`), and every account of both
/// markets is as before the request but the user's lamports, short of the
/// executor fee.
async fn refunded_at_update(w: &mut World, p: &Pull, kind: RequestKind, amount: u64, data: impl Fn(i64) -> Vec<u8>) {
    let fee = market_params().executor_fee_lamports;
    let mut keys = p.accounts();
    keys.retain(|k| *k != p.market().oracle);
    keys.extend(w.all_accounts());
    let before = w.bank.snapshot(&keys).await;
    let nonce = p.request(w, kind, amount, 0).await;
    let r = p.request_state(w, nonce).await;
    w.bank.reach(OracleKind::PythPull, r.target).await;
    let update = Pubkey::new_unique();
    w.bank.set_account(update, 1_000_000_000, data(r.target), RECEIVER);
    let out = w.bank.send(&[p.execute_ix(w, kind, nonce, update)], &[]).await;
    let ev = out.events::<RequestRefunded>();
    out.expect_ok("a refunding execution succeeds");
    assert_eq!(ev.len(), 1);
    assert_eq!((ev[0].owner, ev[0].kind, ev[0].reason, ev[0].amount, ev[0].price), (p.user_key(), kind, RefundReason::OracleUnusable, amount, 0));
    let after = w.bank.snapshot(&keys).await;
    for (i, (b, a)) in before.iter().zip(after.iter()).enumerate() {
        if keys[i] == p.user_key() {
            assert_eq!(a.as_ref().unwrap().lamports + fee, b.as_ref().unwrap().lamports, "the user is out the executor fee");
        } else {
            assert_eq!(b, a, "account {} changed by a refunded request", keys[i]);
        }
    }
}

#[tokio::test]
async fn a_pull_oracle_market_mints_and_redeems_at_the_pull_price() {
    let (mut w, p, _) = pull_world().await;
    let amount = 1_000 * USDC;
    let price = normalize_price(PULL_PRICE, PULL_CONF, EXPO, DECIMALS).unwrap();
    let q = quote_mint(&TokenBook { equity: 0, supply: 0, base: 0, target_leverage_bps: LEV_2X.into() }, price.price, price.conf, amount, MINT_FEE_BPS, TRADE_FEE_BPS).unwrap();
    // Hand-computed: mint fee 10 bps = 1 USDC; trade fee 5 bps on 2 × 999 USDC = 0.999 USDC.
    assert_eq!(q.mint_fee, USDC);
    assert_eq!(q.trade_fee, 999_000);
    assert_eq!(q.net_deposit, 998_001_000);

    let coll0 = w.bank.balance(p.user.collateral).await;
    let pool0 = w.bank.balance(p.market().pool_vault).await;
    let nonce = p.request(&mut w, RequestKind::Mint, amount, q.shares_out).await;
    let r = p.request_state(&mut w, nonce).await;
    // A pull request prices at the update 2 s after it.
    assert_eq!(r.target, r.requested_at + 2);
    let out = p.d.execute_at(&mut w.bank, p.user_key(), nonce, Some((PULL_PRICE, PULL_CONF))).await;
    out.clone().unwrap();

    let t: LeveragedToken = w.bank.account(p.token().token).await;
    // 2 × net deposit / price: 2 × 998.001 USDC / $2,000 = 0.998001 base units (× 1e9).
    let expected = base_for_notional_toward_zero(target_notional_toward_zero(LEV_2X.into(), i128::from(q.net_deposit)).unwrap(), price.price).unwrap();
    assert_eq!(expected, 998_001_000);
    assert_eq!(t.base, expected);
    assert_eq!(t.fees_owed, q.mint_fee);
    let m: Market = w.bank.account(p.market().market).await;
    assert_eq!(m.net_base, t.base);
    // Notional 2 × 998.001 USDC.
    assert_eq!((m.long_notional, m.short_notional), (1_996_002_000, 0));

    assert_eq!(w.bank.balance(p.user.collateral).await, coll0 - amount);
    assert_eq!(w.bank.balance(p.token().vault).await, amount - q.trade_fee);
    // The trade fee is in the pool vault, 10 % of it owed to the insurance fund.
    assert_eq!(w.bank.balance(p.market().pool_vault).await, pool0 + q.trade_fee);
    assert_eq!(m.insurance_owed, q.trade_fee / 10);
    assert_eq!(w.bank.balance(p.shares()).await, q.shares_out);
    assert_eq!(q.shares_out, 998_001_000);
    assert_eq!(w.bank.supply(p.token().share_mint).await, q.shares_out);
    let ev = out.events::<Minted>();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].price, price.price);
    assert_eq!(ev[0].delta_base, expected);

    // Redeem everything at the same price: the pull request waits 2 s of
    // clock, no slot; the settlement at its execution charges those 2 s of
    // funding and borrow (a lone long pays both), so the quote is on the book
    // as settled at the price time.
    assert_eq!(w.bank.slot().await, t.last_fee_slot);
    let vault = w.bank.balance(p.token().vault).await;
    let pool = w.bank.balance(p.market().pool_vault).await;
    let shares = q.shares_out;
    let clock = w.bank.clock().await;
    let at = SettleAt { vault_amount: vault, pool_amount: pool, insurance_amount: 0, slot: clock.slot, now: clock.unix_timestamp + i64::from(m.params.request_delay_secs) };
    let settled = preview_settlement(&m, &t, &price, &at).unwrap();
    assert!(settled.outcome.charge > 0 && settled.streaming_fee == 0, "2 s of charge, no slot of streaming fee");
    let r =
        quote_redeem(&TokenBook { equity: settled.equity, supply: shares, base: t.base, target_leverage_bps: LEV_2X.into() }, price.price, price.conf, shares, REDEEM_FEE_BPS, TRADE_FEE_BPS).unwrap();
    p.request_and_execute(&mut w, RequestKind::Redeem, shares, r.collateral_out, PULL_PRICE).await.unwrap();
    assert_eq!(w.bank.slot().await, t.last_fee_slot);
    assert_eq!(w.bank.balance(p.user.collateral).await, coll0 - amount + r.collateral_out);
    assert_eq!(w.bank.balance(p.shares()).await, 0);
    assert_eq!(w.bank.supply(p.token().share_mint).await, 0);
    let transfer = settled.outcome.transfer as i64;
    assert_eq!(w.bank.balance(p.token().vault).await as i64, vault as i64 + transfer - (r.collateral_out + r.trade_fee) as i64);
    assert_eq!(w.bank.balance(p.market().pool_vault).await as i64, pool as i64 - transfer + r.trade_fee as i64);
    let t2: LeveragedToken = w.bank.account(p.token().token).await;
    assert_eq!(t2.base, 0);
    assert_eq!(t2.fees_owed, q.mint_fee + r.redeem_fee);
    let m2: Market = w.bank.account(p.market().market).await;
    assert_eq!(m2.net_base, 0);
    // Paid 1,000 USDC; back less 2 × 10 bps fees, 2 × 5 bps on 2x and the 2 × 5 bps confidence haircut.
    assert!(r.collateral_out < amount && r.collateral_out > 995 * USDC, "{}", r.collateral_out);
    // The legacy world is untouched by the pull market's trades.
    assert_eq!(w.bank.account::<LeveragedToken>(w.long.token).await.base, 0);
}

#[tokio::test]
async fn the_update_for_the_price_time_is_accepted_in_any_account_for_the_feed() {
    let (mut w, p, _) = pull_world().await;
    // Pull markets pin the feed id, not the address: the update for the mint's
    // price time, at $2,100, in a new account.
    let nonce = p.request(&mut w, RequestKind::Mint, 1_000 * USDC, 0).await;
    let r = p.request_state(&mut w, nonce).await;
    w.bank.reach(OracleKind::PythPull, r.target).await;
    let other = update_at(&mut w, 2_100 * USD, r.target).await;
    assert_ne!(other, p.market().oracle);
    let out = w.bank.send(&[p.execute_ix(&w, RequestKind::Mint, nonce, other)], &[]).await;
    out.clone().unwrap();
    let price = normalize_price(2_100 * USD, PULL_CONF, EXPO, DECIMALS).unwrap();
    let ev = out.events::<Minted>();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].price, price.price, "the mint read the second update account");
    let t: LeveragedToken = w.bank.account(p.token().token).await;
    let expected = base_for_notional_toward_zero(target_notional_toward_zero(LEV_2X.into(), i128::from(ev[0].equity_after)).unwrap(), price.price).unwrap();
    assert_eq!(t.base, expected);
    assert!(w.bank.balance(p.shares()).await > 0);

    // A third update account serves a redeem.
    let shares = w.bank.balance(p.shares()).await;
    let nonce = p.request(&mut w, RequestKind::Redeem, shares / 2, 0).await;
    let r = p.request_state(&mut w, nonce).await;
    w.bank.reach(OracleKind::PythPull, r.target).await;
    let third = update_at(&mut w, 2_100 * USD, r.target).await;
    w.bank.send(&[p.execute_ix(&w, RequestKind::Redeem, nonce, third)], &[]).await.expect_ok("redeem via a third account");
    assert_eq!(w.bank.balance(p.shares()).await, shares - shares / 2);
}

#[tokio::test]
async fn each_bad_pull_account_is_refused_with_its_named_error_and_every_balance_unchanged() {
    let (mut w, p, user) = pull_world().await;
    // A position and shares to redeem, so the refusals guard real balances.
    p.request_and_execute(&mut w, RequestKind::Mint, 1_000 * USDC, 0, PULL_PRICE).await.unwrap();
    let shares = w.bank.balance(p.shares()).await;
    assert!(shares > 0);
    // A mint and a redeem waiting for the same price time.
    let (mint, redeem) = (p.request(&mut w, RequestKind::Mint, 100 * USDC, 0).await, p.request(&mut w, RequestKind::Redeem, shares / 2, 0).await);
    let target = p.request_state(&mut w, mint).await.target;
    assert_eq!(p.request_state(&mut w, redeem).await.target, target);
    w.bank.reach(OracleKind::PythPull, target).await;
    let t = now(&mut w).await;

    let full = VerificationLevel::Full;
    let valid = pull_price_account(FEED_ID, PULL_PRICE, PULL_CONF, EXPO, target, full, 0);
    // (label, owner, data, error): identity and time, which fail the execution.
    let mut cases: Vec<(&str, Pubkey, Vec<u8>, ErrorCode)> = Vec::new();
    cases.push(("owner not the receiver", Pubkey::new_unique(), valid.clone(), ErrorCode::OracleWrongOwner));
    cases.push(("owned by the legacy Pyth program", leveraged_token::constants::PYTH_LEGACY_DEVNET, valid.clone(), ErrorCode::OracleWrongOwner));
    let mut bad_disc = valid.clone();
    bad_disc[0] ^= 0xff;
    cases.push(("wrong discriminator", RECEIVER, bad_disc, ErrorCode::OracleInvalidData));
    cases.push(("truncated body", RECEIVER, valid[..8 + 40].to_vec(), ErrorCode::OracleInvalidData));
    cases.push(("truncated discriminator", RECEIVER, valid[..4].to_vec(), ErrorCode::OracleInvalidData));
    cases.push(("empty", RECEIVER, vec![], ErrorCode::OracleInvalidData));
    cases.push((
        "partially verified",
        RECEIVER,
        pull_price_account(FEED_ID, PULL_PRICE, PULL_CONF, EXPO, target, VerificationLevel::Partial { num_signatures: 3 }, 0),
        ErrorCode::OracleNotFullyVerified,
    ));
    cases.push(("another feed", RECEIVER, pull_price_account([9; 32], PULL_PRICE, PULL_CONF, EXPO, target, full, 0), ErrorCode::OracleWrongFeed));
    cases.push(("the update a second before the price time", RECEIVER, pull_price_account(FEED_ID, PULL_PRICE, PULL_CONF, EXPO, target - 1, full, 0), ErrorCode::OracleNotAtTarget));
    cases.push(("the update a second after it", RECEIVER, pull_price_account(FEED_ID, PULL_PRICE, PULL_CONF, EXPO, target + 1, full, 0), ErrorCode::OracleNotAtTarget));
    cases.push(("published 11 s ago", RECEIVER, pull_price_account(FEED_ID, PULL_PRICE, PULL_CONF, EXPO, t - 11, full, 0), ErrorCode::OracleNotAtTarget));

    for (label, owner, data, code) in cases {
        let bad = Pubkey::new_unique();
        w.bank.set_account(bad, 1_000_000_000, data, owner);
        println!("case: {label} -> {code:?}");
        let (ixm, ixr) = (p.execute_ix(&w, RequestKind::Mint, mint, bad), p.execute_ix(&w, RequestKind::Redeem, redeem, bad));
        refused_pull(&mut w, &p, ixm, &[], code).await;
        refused_pull(&mut w, &p, ixr, &[], code).await;
        // A rebalance reads the same identity checks, and needs a fresh update
        // (at most 10 s old) where an execution needs the one for its time.
        let rebalance_code = if matches!(code, ErrorCode::OracleNotAtTarget) { (label == "published 11 s ago").then_some(ErrorCode::OracleStale) } else { Some(code) };
        if let Some(code) = rebalance_code {
            refused_pull(&mut w, &p, p.rebalance_ix(bad), &[&user], code).await;
        }
    }

    // Control: a fresh update gets the rebalance past the oracle to its gate,
    // and the update for the price time executes both requests.
    let fresh = fresh_update(&mut w, PULL_PRICE).await;
    refused_pull(&mut w, &p, p.rebalance_ix(fresh), &[&user], ErrorCode::RebalanceNotNeeded).await;
    let good = update_at(&mut w, PULL_PRICE, target).await;
    assert_eq!(w.bank.send(&[p.execute_ix(&w, RequestKind::Mint, mint, good)], &[]).await.events::<Minted>().len(), 1);
    assert_eq!(w.bank.send(&[p.execute_ix(&w, RequestKind::Redeem, redeem, good)], &[]).await.events::<Redeemed>().len(), 1);
}

#[tokio::test]
async fn an_update_for_the_price_time_with_an_unusable_value_refunds_the_request() {
    let (mut w, p, _) = pull_world().await;
    p.request_and_execute(&mut w, RequestKind::Mint, 1_000 * USDC, 0, PULL_PRICE).await.unwrap();
    let shares = w.bank.balance(p.shares()).await;
    let full = VerificationLevel::Full;
    // (label, price, conf)
    let cases: [(&str, i64, u64); 3] = [
        ("price zero", 0, PULL_CONF),
        ("price negative", -PULL_PRICE, PULL_CONF),
        // 3 % of price = 300 bps > 200 bps.
        ("confidence 3 %", PULL_PRICE, PULL_PRICE as u64 * 3 / 100),
    ];
    for (label, price, conf) in cases {
        println!("case: {label} -> refunded (OracleUnusable)");
        refunded_at_update(&mut w, &p, RequestKind::Mint, 100 * USDC, |target| pull_price_account(FEED_ID, price, conf, EXPO, target, full, 0)).await;
        refunded_at_update(&mut w, &p, RequestKind::Redeem, shares / 2, |target| pull_price_account(FEED_ID, price, conf, EXPO, target, full, 0)).await;
    }
}

#[tokio::test]
async fn the_age_limit_of_a_rebalance_and_the_confidence_limit_of_an_execution_are_inclusive() {
    let (mut w, p, user) = pull_world().await;
    p.request_and_execute(&mut w, RequestKind::Mint, 1_000 * USDC, 0, PULL_PRICE).await.unwrap();
    // Well past the update the market last used (its creation's: executions do not record theirs).
    w.bank.advance_time(30).await;
    let t = now(&mut w).await;
    // The cluster clock 10 s after an update: max_age_secs = 10, accepted (the
    // rebalance reaches its gate); 11 s: stale.
    let aged = update_at(&mut w, PULL_PRICE, t - 10).await;
    let older = update_at(&mut w, PULL_PRICE, t - 11).await;
    let m: Market = w.bank.account(p.market().market).await;
    assert!(m.last_oracle_publish <= t - 11, "{} vs {}", m.last_oracle_publish, t);
    refused_pull(&mut w, &p, p.rebalance_ix(aged), &[&user], ErrorCode::RebalanceNotNeeded).await;
    refused_pull(&mut w, &p, p.rebalance_ix(older), &[&user], ErrorCode::OracleStale).await;
    // Exactly 2 % of price at the price time, max_conf_bps = 200: the mint fills.
    let nonce = p.request(&mut w, RequestKind::Mint, 100 * USDC, 0).await;
    let r = p.request_state(&mut w, nonce).await;
    w.bank.reach(OracleKind::PythPull, r.target).await;
    let wide = Pubkey::new_unique();
    write_feed(&mut w, wide, PULL_PRICE, PULL_PRICE as u64 / 50, r.target).await;
    assert_eq!(w.bank.send(&[p.execute_ix(&w, RequestKind::Mint, nonce, wide)], &[]).await.events::<Minted>().len(), 1);
    // One unit wider: refunded.
    refunded_at_update(&mut w, &p, RequestKind::Mint, 100 * USDC, |target| pull_price_account(FEED_ID, PULL_PRICE, PULL_PRICE as u64 / 50 + 1, EXPO, target, VerificationLevel::Full, 0)).await;
}

#[tokio::test]
async fn create_market_on_a_pull_feed_refuses_a_stale_update() {
    let mut w = World::new().await;
    let admin = w.admin.insecure_clone();
    let t = now(&mut w).await;
    let stale = Pubkey::new_unique();
    // max_age_secs = 10.
    write_feed(&mut w, stale, PULL_PRICE, PULL_CONF, t - 11).await;
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
async fn a_rebalance_refuses_an_update_older_than_the_one_the_market_used_but_a_request_executes_at_its_own() {
    let (mut w, p, user) = pull_world().await;
    p.request_and_execute(&mut w, RequestKind::Mint, 5_000 * USDC, 0, PULL_PRICE).await.unwrap();
    // A mint waits for its price time (a second request at $2,000) ...
    let nonce = p.request(&mut w, RequestKind::Mint, 100 * USDC, 0).await;
    let r = p.request_state(&mut w, nonce).await;
    // ... while 5 s after it the price is up 10 % and a rebalance uses that update.
    w.bank.reach(OracleKind::PythPull, r.target + 5).await;
    let newer = update_at(&mut w, PULL_PRICE * 110 / 100, r.target + 5).await;
    w.bank.send(&[p.rebalance_ix(newer)], &[&user]).await.expect_ok("rebalance at +10 %");
    let m: Market = w.bank.account(p.market().market).await;
    assert_eq!(m.last_oracle_publish, r.target + 5);
    // The update for the mint's price time is fresh (5 s old) but older than
    // the market's last: a rebalance may not use it (picking it would let a
    // caller choose a stale price) ...
    let at_target = update_at(&mut w, PULL_PRICE, r.target).await;
    refused_pull(&mut w, &p, p.rebalance_ix(at_target), &[&user], ErrorCode::OraclePriceRegressed).await;
    // ... and the request executes at it, and at no newer one.
    let ixe = p.execute_ix(&w, RequestKind::Mint, nonce, newer);
    refused_pull(&mut w, &p, ixe, &[], ErrorCode::OracleNotAtTarget).await;
    let out = w.bank.send(&[p.execute_ix(&w, RequestKind::Mint, nonce, at_target)], &[]).await;
    let ev = out.events::<Minted>();
    out.expect_ok("execute at the update for the price time");
    assert_eq!(ev[0].price, normalize_price(PULL_PRICE, PULL_CONF, EXPO, DECIMALS).unwrap().price, "at $2,000, not the newer $2,200");
}

#[tokio::test]
async fn an_update_published_ahead_of_the_cluster_clock_is_refused() {
    let (mut w, p, user) = pull_world().await;
    p.request_and_execute(&mut w, RequestKind::Mint, 1_000 * USDC, 0, PULL_PRICE).await.unwrap();
    let t = now(&mut w).await;
    // A rebalance: more than 10 s ahead of the clock is refused, 10 s of drift tolerated.
    let ahead = update_at(&mut w, PULL_PRICE, t + 11).await;
    refused_pull(&mut w, &p, p.rebalance_ix(ahead), &[&user], ErrorCode::OracleTimestampInFuture).await;
    let drift = update_at(&mut w, PULL_PRICE, t + 10).await;
    refused_pull(&mut w, &p, p.rebalance_ix(drift), &[&user], ErrorCode::RebalanceNotNeeded).await;
    // An execution: an update 12 s ahead of the clock is refused as such.
    let nonce = p.request(&mut w, RequestKind::Mint, 100 * USDC, 0).await;
    let r = p.request_state(&mut w, nonce).await;
    let t = now(&mut w).await;
    assert_eq!(r.target, t + 2);
    let far = update_at(&mut w, PULL_PRICE, t + 12).await;
    let ixe = p.execute_ix(&w, RequestKind::Mint, nonce, far);
    refused_pull(&mut w, &p, ixe, &[], ErrorCode::OracleTimestampInFuture).await;
    // The update for the price time, 2 s ahead of the clock, is within the drift: it executes.
    let early = update_at(&mut w, PULL_PRICE, r.target).await;
    assert_eq!(w.bank.send(&[p.execute_ix(&w, RequestKind::Mint, nonce, early)], &[]).await.events::<Minted>().len(), 1);
}
