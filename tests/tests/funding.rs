#![allow(deprecated)]
//! What the perp charges, in the bank: funding on the skew between the
//! market's long and short tokens (the heavier side pays, the lighter side
//! receives, the pool keeps only what the imbalance pays), borrow on the net
//! (a base both sides pay, the kink curve only on the side that makes the net
//! larger), the insurance fund's share, and the caps on the net book — which
//! never refuse a mint that makes `|net|` smaller, so a delta-neutral holder
//! cannot block anyone.
use leveraged_token::events::{InsuranceFunded, PositionSettled, RequestRefunded};
use leveraged_token::math::INDEX_SCALE;
use leveraged_token::state::{RefundReason, RequestKind};
use leveraged_token_sdk::decide::rates_per_year;
use leveraged_token_sdk::TokenKeys;
use leveraged_token_tests::fixtures::*;
use leveraged_token_tests::TestSigner;

/// Index of the world's tokens in its deployment.
const LONG: usize = 0;
const SHORT: usize = 1;
/// A day of slots (400 ms each).
const DAY_SLOTS: u64 = 216_000;

/// Settle `who`'s token `t` by redeeming one share: the execution's
/// `PositionSettled`.
async fn settle(w: &mut World, who: Who, t: TokenKeys) -> PositionSettled {
    let out = w.redeem(who, t, 1, 0).await;
    let mut ev = out.events::<PositionSettled>();
    out.expect_ok("redeem one share");
    assert_eq!(ev.len(), 1);
    ev.remove(0)
}

/// The rates each side pays now, per year in bps of notional.
async fn rates(w: &mut World) -> leveraged_token_sdk::decide::Rates {
    let pool = w.bank.balance(w.market.pool_vault).await;
    rates_per_year(&w.market_state().await, pool).unwrap()
}

#[tokio::test]
async fn the_short_receives_funding_while_the_book_is_net_long_and_the_pool_books_at_most_what_the_tokens_pay() {
    let mut w = World::new().await;
    // ≈ 299 k of long notional against ≈ 50 k of short: skew ≈ +0.71.
    w.mint(Who::Alice, w.long, 100_000 * USDC, 0).await.unwrap();
    w.mint(Who::Bob, w.short, 50_000 * USDC, 0).await.unwrap();
    let m = w.market_state().await;
    let (long, short) = (m.long_notional, m.short_notional);
    assert!(long > 5 * short && short > 0, "long {long}, short {short}");
    let r = rates(&mut w).await;
    // Funding F_max · skew = 15 % × (L − S)/(L + S); the long also pays the
    // kink borrow (it makes the net larger), the short only the base.
    let skew_bps = (long - short) as f64 / (long + short) as f64 * 1_500.0;
    assert_eq!(r.short_borrow_bps, 50, "the lighter side pays only the base borrow");
    assert!(r.long_borrow_bps > 50, "the heavier side pays the kink curve too: {}", r.long_borrow_bps);
    assert!(((r.long_bps - r.long_borrow_bps as i128) as f64 - skew_bps).abs() <= 1.0, "long funding {} vs F_max·skew {skew_bps:.1}", r.long_bps);
    assert!(((r.short_bps - 50) as f64 + skew_bps).abs() <= 1.0, "short funding {} vs −F_max·skew {skew_bps:.1}", r.short_bps);
    assert!(r.short_bps < 0, "the short receives more funding than it pays borrow: {} bps/yr", r.short_bps);

    // Both settle now, a request apart, and again a day later, in the same
    // order: each token's window is as long as the pool's between its first
    // and last accrual.
    let (long_keys, short_keys) = (w.long, w.short);
    settle(&mut w, Who::Alice, long_keys).await;
    settle(&mut w, Who::Bob, short_keys).await;
    let income_before = w.market_state().await.income_total_scaled;
    w.warp(DAY_SLOTS).await;
    w.publish().await;
    let l = settle(&mut w, Who::Alice, long_keys).await;
    let s = settle(&mut w, Who::Bob, short_keys).await;
    println!("a day: the long paid {} (funding {}, borrow {}), the short {} (funding {}, borrow {})", l.charge, l.funding_fee, l.borrow_fee, s.charge, s.funding_fee, s.borrow_fee);
    assert!(l.funding_fee > 0 && l.borrow_fee > 0 && l.charge == l.funding_fee + i128::from(l.borrow_fee));
    assert!(s.funding_fee < 0 && s.charge < 0 && s.charge == s.funding_fee + i128::from(s.borrow_fee), "the short is paid");
    // A day at the rates above (the book did not change over it; the short
    // settles the request delay later, and the rates are whole bps, truncated).
    let day = |notional: u128, bps: i128| notional as f64 * bps as f64 / 10_000.0 / 365.0;
    let near = |paid: i128, expected: f64| (paid as f64 - expected).abs() <= expected.abs() * 2e-3 + 2.0;
    assert!(near(l.charge, day(long, r.long_bps)), "long paid {} vs {:.1}", l.charge, day(long, r.long_bps));
    assert!(near(s.charge, day(short, r.short_bps)), "short paid {} vs {:.1}", s.charge, day(short, r.short_bps));
    // The pool books at most what the tokens paid, short of it by at most the rounding.
    let m = w.market_state().await;
    let income = (m.income_total_scaled - income_before) as f64 / INDEX_SCALE as f64;
    let paid = (l.charge + s.charge) as f64;
    assert!(income >= 0.0 && income <= paid && paid - income <= 2.0, "pool booked {income:.3}, tokens paid {paid}");
    // The tokens' books say the same: funding is signed, borrow is not.
    let (tl, ts) = (w.token_state(w.long).await, w.token_state(w.short).await);
    assert!(tl.total_funding > 0 && ts.total_funding < 0);
}

#[tokio::test]
async fn a_balanced_book_pays_only_the_base_borrow() {
    let mut w = World::new().await;
    // 3 × 100,000 USDC of long against ≈ 300,000 of short (the 1x short's
    // notional is its equity): the net is a few hundred USDC of fees.
    let whale = w.new_user(300_000 * USDC).await;
    w.mint(Who::Alice, w.long, 100_000 * USDC, 0).await.unwrap();
    w.deployment.request_and_execute(&mut w.bank, &whale.kp, RequestKind::Mint, Some(SHORT), 300_000 * USDC, 0).await.unwrap();
    let m = w.market_state().await;
    let net = m.long_notional.abs_diff(m.short_notional);
    assert!(net * 500 < m.long_notional, "balanced within 0.2 %: net {net}");
    let r = rates(&mut w).await;
    println!("balanced book: long {} bps/yr, short {} bps/yr (base 50)", r.long_bps, r.short_bps);
    // The net's sign picks who pays the sliver of funding and kink: within a bps or two of the base.
    for (side, bps, borrow) in [("long", r.long_bps, r.long_borrow_bps), ("short", r.short_bps, r.short_borrow_bps)] {
        assert!((48..=52).contains(&bps) && (50..=52).contains(&borrow), "{side} pays {bps} bps/yr ({borrow} of borrow), the base is 50");
    }
}

#[tokio::test]
async fn a_delta_neutral_whale_cannot_block_a_mint_or_an_lp_withdrawal_and_pays_little_for_the_book() {
    // The case: 330,000 USDC of the 3x long and ≈ 1.02 M of the 1x
    // short against a 1 M pool (net ≈ −27,000, ≈ 1 % of gross). Under the
    // old gross cap every 1,000 USDC mint into either token and an LP's
    // withdrawal of 1 % of its stake were refused, for ≈ 600 USDC a day.
    let mut w = World::new().await;
    let whale = w.new_user(1_350_000 * USDC).await;
    let mint = |t: usize, amount: u64| (t, amount);
    for (t, amount) in [mint(LONG, 330_000 * USDC), mint(SHORT, 1_017_000 * USDC)] {
        let out = w.deployment.request_and_execute(&mut w.bank, &whale.kp, RequestKind::Mint, Some(t), amount, 0).await;
        assert!(out.events::<RequestRefunded>().is_empty(), "the whale's mint fills");
        out.expect_ok("whale mint");
    }
    let m = w.market_state().await;
    let net = m.long_notional as i128 - m.short_notional as i128;
    let gross = m.long_notional + m.short_notional;
    println!("whale book: long {}, short {}, net {net} ({:.2} % of gross)", m.long_notional, m.short_notional, net as f64 / gross as f64 * 100.0);
    assert!(net.unsigned_abs() * 50 < gross, "delta-neutral within 2 %");

    // A day of what the whale's book pays, measured on its two positions.
    let (tl0, ts0) = (w.token_state(w.long).await, w.token_state(w.short).await);
    w.warp(DAY_SLOTS).await;
    w.publish().await;
    // 1,000 USDC mints into either token fill (they settle the token first).
    for t in [w.long, w.short] {
        let out = w.mint(Who::Alice, t, 1_000 * USDC, 0).await;
        assert!(out.events::<RequestRefunded>().is_empty(), "a 1,000 USDC mint is not refunded");
        out.expect_ok("1,000 USDC mint");
    }
    let (tl, ts) = (w.token_state(w.long).await, w.token_state(w.short).await);
    let paid =
        (tl.total_funding - tl0.total_funding) + (ts.total_funding - ts0.total_funding) + (tl.total_borrow_fees - tl0.total_borrow_fees) as i64 + (ts.total_borrow_fees - ts0.total_borrow_fees) as i64;
    println!("the whale's book paid {:.2} USDC in a day (the old 10 %/yr gross borrow: ≈ 600)", paid as f64 / USDC as f64);
    assert!(paid > 0 && paid < 100 * USDC as i64, "a day of charges on a delta-neutral book: {paid}");
    // An LP's withdrawal of 1 % of its stake fills: the net, not the gross, limits it.
    let lp = w.bank.balance(w.lp.lp).await;
    let out = w.withdraw(Who::Lp, lp / 100, 0).await;
    assert!(out.events::<RequestRefunded>().is_empty(), "the LP's 1 % withdrawal is not refunded");
    out.expect_ok("1 % LP withdrawal");
}

#[tokio::test]
async fn a_mint_past_the_net_cap_is_refunded_with_every_balance_unchanged_and_one_that_shrinks_the_net_is_not() {
    let mut w = World::new().await;
    let whale = w.new_user(400_000 * USDC).await;
    // 3 × 300,000 = 900,000 of long notional: inside the net cap (1 × pool value).
    w.deployment.request_and_execute(&mut w.bank, &whale.kp, RequestKind::Mint, Some(LONG), 300_000 * USDC, 0).await.unwrap();
    // +10 %: the long's gain comes out of the pool value (≈ 910 k) and its
    // notional grows to ≈ 990 k: 10,000 USDC more of the long would take the net past the cap.
    w.set_price(110 * USD).await;
    w.refunded(Who::Alice, RequestKind::Mint, Some(w.long), 10_000 * USDC, 0, RefundReason::ExposureCap).await;
    // A short mint makes |net| smaller: never refused by a cap.
    let out = w.mint(Who::Bob, w.short, 50_000 * USDC, 0).await;
    assert!(out.events::<RequestRefunded>().is_empty(), "a mint that shrinks the net fills");
    out.expect_ok("short mint");
}

#[tokio::test]
async fn the_stress_cap_refunds_a_token_that_would_leave_more_than_its_share_of_bad_debt_in_a_jump() {
    let mut w = World::new().await;
    // The net cap out of the way (2 × pool value), so the stress cap is the one that binds.
    let mut p = w.market_state().await.params;
    p.net_cap_bps = 20_000;
    w.change_market_params(p).await.expect_ok("net cap 2x");
    let whale = w.new_user(600_000 * USDC).await;
    // A 3x long of 550,000: 1.65 M of notional; a 45 % jump takes 742.5 k,
    // 192.5 k beyond its equity > 15 % of the ≈ 1 M pool: refunded.
    let before = w.bank.balance(whale.collateral).await;
    let out = w.deployment.request_and_execute(&mut w.bank, &whale.kp, RequestKind::Mint, Some(LONG), 550_000 * USDC, 0).await;
    let refunds = out.events::<RequestRefunded>();
    out.expect_ok("refunded execution");
    assert_eq!(refunds.iter().map(|r| r.reason).collect::<Vec<_>>(), vec![RefundReason::ExposureCap]);
    assert_eq!(w.bank.balance(whale.collateral).await, before, "the escrow came back whole");
    assert_eq!(w.token_state(w.long).await.base, 0);
    // 400,000: 1.2 M of notional, 540 k in the jump, 140 k beyond equity: fills.
    let out = w.deployment.request_and_execute(&mut w.bank, &whale.kp, RequestKind::Mint, Some(LONG), 400_000 * USDC, 0).await;
    assert!(out.events::<RequestRefunded>().is_empty(), "inside the stress cap");
    out.expect_ok("mint inside the stress cap");
}

#[tokio::test]
async fn the_insurance_fund_gets_its_share_of_trade_fees_and_of_the_pools_income_and_a_rebalance_moves_it() {
    let mut w = World::new().await;
    let out = w.mint(Who::Alice, w.long, 100_000 * USDC, 0).await;
    let fee = out.events::<leveraged_token::events::Minted>()[0].trade_fee;
    out.unwrap();
    // 10 % of the trade fee, owed in the pool vault (not the LPs' cash).
    assert_eq!(w.market_state().await.insurance_owed, fee / 10);
    assert_eq!(w.bank.balance(w.market.insurance_vault).await, 0);
    // A day later a rebalance settles the long (the pool earns its charge:
    // 10 % of that is the fund's too) and moves all that is owed to the vault.
    w.warp(DAY_SLOTS).await;
    w.publish().await;
    let income_before = w.market_state().await.income_total_scaled;
    let out = w.rebalance(Who::Bob, w.long).await;
    let funded = out.events::<InsuranceFunded>();
    let traded: u64 = out.events::<leveraged_token::events::Rebalanced>().iter().map(|e| e.trade_fee).sum();
    out.unwrap();
    let m = w.market_state().await;
    let income = ((m.income_total_scaled - income_before) / INDEX_SCALE as i128) as u64;
    assert!(income > 0, "the long paid a day of funding and borrow");
    assert_eq!(funded.len(), 1);
    let expected = fee / 10 + traded / 10 + income / 10;
    // Each share rounds down where it is booked (the income's at each accrual).
    assert!(funded[0].amount <= expected && expected - funded[0].amount <= 3, "funded {} vs {expected}", funded[0].amount);
    assert_eq!((m.insurance_owed, w.bank.balance(w.market.insurance_vault).await), (0, funded[0].amount));
    assert_eq!(funded[0].insurance_balance_after, funded[0].amount);
}

#[tokio::test]
async fn a_short_token_created_after_the_short_side_paid_more_borrow_lets_the_pool_value_and_lp_flows_run() {
    // Found by the fuzzer (FUZZ_SEED=20261206, op 1,374): a short token
    // created while the short side's borrow index stood above the long
    // side's was snapshotted on the short side although an empty position
    // (base 0) sits on the long side; valuing it refused (InvalidInput), and
    // with it every LP execution of the market.
    let mut w = World::new().await;
    let whale = w.new_user(200_000 * USDC).await;
    // The book leans short: the short side pays the kink borrow.
    w.deployment.request_and_execute(&mut w.bank, &whale.kp, RequestKind::Mint, Some(SHORT), 200_000 * USDC, 0).await.unwrap();
    w.warp(DAY_SLOTS).await;
    w.publish().await;
    // A small mint settles the short (and accrues the market).
    w.mint(Who::Alice, w.short, 10 * USDC, 0).await.expect_ok("a small mint");
    let m = w.market_state().await;
    assert!(m.short_borrow_index > m.long_borrow_index, "the short side paid more borrow");
    // A new −2x token on the market, and an LP deposit that values all three.
    let admin = w.admin.insecure_clone();
    let t2 = w.market.token(-20_000);
    w.bank.send(&[leveraged_token_sdk::ix::create_leveraged_token(admin.pubkey(), &t2, token_params(-20_000))], &[&admin]).await.expect_ok("create the −2x token");
    w.deployment.tokens.push(t2);
    let out = w.deposit(Who::Bob, 1_000 * USDC, 0).await;
    assert!(out.events::<RequestRefunded>().is_empty(), "the deposit fills");
    out.expect_ok("LP deposit on a market with the new token");
}
