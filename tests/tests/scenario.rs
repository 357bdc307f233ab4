//! Scenario: a choppy price path with a keeper rebalancing whenever the gate
//! opens. The 3x long and the 1x short track L × each rebalance interval's
//! return, decay in the chop exactly as the product formula says, and not one
//! unit of collateral is created or destroyed along the way.
use leveraged_token::events::{LiquidityWithdrawn, Rebalanced};
use leveraged_token::math::position::notional_floor;
use leveraged_token::math::price::normalize_price;
use leveraged_token_sdk::{ix, TokenKeys};
use leveraged_token_tests::fixtures::*;
use leveraged_token_tests::ErrorCode;

const PATH: [i64; 9] = [100, 104, 111, 103, 96, 90, 97, 105, 100];

/// Equity of a token marked at the world's current price (borrow accrued since
/// the last settlement is ignored: < 0.001 % over this path).
async fn marked_equity(w: &mut World, t: TokenKeys) -> f64 {
    let s = w.token_state(t).await;
    let vault = w.bank.balance(t.vault).await;
    let p = normalize_price(w.price, 0, EXPO, DECIMALS).unwrap().price;
    (vault as i128 - s.fees_owed as i128 + notional_floor(s.base, p).unwrap() - s.cost) as f64
}

async fn collateral_everywhere(w: &mut World) -> u64 {
    let mut keys = vec![w.long.vault, w.short.vault, w.market.pool_vault, w.market.insurance_vault, w.treasury_collateral];
    keys.extend([w.lp.collateral, w.alice.collateral, w.bob.collateral]);
    let mut sum = 0;
    for k in keys {
        sum += w.bank.balance(k).await;
    }
    sum
}

#[tokio::test]
async fn tokens_track_their_multiple_through_rebalances_and_conserve_collateral() {
    let mut w = World::new().await;
    let supply = w.bank.supply(w.collateral).await;
    w.mint(Who::Alice, w.long, 10_000 * USDC, 0).await.unwrap();
    w.mint(Who::Alice, w.short, 10_000 * USDC, 0).await.unwrap();

    let (long, short) = (w.long, w.short);
    let mut expected = [(long, 3.0, marked_equity(&mut w, long).await, 100.0), (short, -1.0, marked_equity(&mut w, short).await, 100.0)];
    let mut rebalances = 0;
    for &px in &PATH[1..] {
        w.warp(100).await;
        w.set_price(px * USD).await;
        for e in expected.iter_mut() {
            let (t, lev, ref mut eq, ref mut last) = *e;
            let out = w.rebalance(Who::Bob, t).await;
            if out.custom_error() == Some(u32::from(ErrorCode::RebalanceNotNeeded)) {
                continue;
            }
            let ev = out.events::<Rebalanced>();
            out.unwrap();
            rebalances += 1;
            assert!((ev[0].leverage_after_bps - (lev * 10_000.0) as i64).abs() <= 2, "{}", ev[0].leverage_after_bps);
            // Between rebalances equity moves by exactly L × r; then pay fee and reward.
            let r = px as f64 / *last - 1.0;
            *eq *= 1.0 + lev * r;
            *eq -= (ev[0].trade_fee + ev[0].keeper_reward) as f64;
            *last = px as f64;
        }
    }
    assert!(rebalances >= 4, "the path should open the gate often, got {rebalances}");

    for (t, lev, eq, last) in expected {
        let final_expected = eq * (1.0 + lev * (100.0 / last - 1.0));
        let actual = marked_equity(&mut w, t).await;
        let err = (actual - final_expected).abs() / final_expected;
        // What is left: streaming fee and borrow over ~800 slots, rounding.
        assert!(err < 1e-4, "lev {lev}: actual {actual} vs product formula {final_expected} ({err})");
        // Round trip to the same price in a choppy market: both tokens decayed.
        assert!(actual < 10_000.0 * USDC as f64 * 0.998, "lev {lev}: {actual}");
    }
    assert_eq!(collateral_everywhere(&mut w).await, supply, "collateral conserved mid-path");

    // Everyone leaves: holders redeem everything, fees go to the treasury, LPs withdraw.
    for t in [w.long, w.short] {
        let shares = w.bank.balance(w.shares_of(&w.alice, &t)).await;
        w.redeem(Who::Alice, t, shares, 0).await.unwrap();
        assert_eq!(w.token_state(t).await.base, 0);
        w.bank.send(&[ix::collect_fees(&t, w.treasury_collateral)], &[]).await.unwrap();
    }
    // The LP holds every LP share; its withdrawal prices an hour after its request.
    let lp_shares = w.bank.balance(w.lp.lp).await;
    assert_eq!(lp_shares, w.bank.supply(w.market.lp_mint).await);
    let out = w.withdraw(Who::Lp, lp_shares, 0).await;
    let exit = out.events::<LiquidityWithdrawn>().remove(0);
    out.expect_ok("the LP withdraws everything");
    assert_eq!(collateral_everywhere(&mut w).await, supply, "collateral conserved after exit");
    // The pool earned trade and borrow fees and won what the decaying tokens
    // lost: the LP took out more than it paid in, counting the 10 bps exit fee
    // it left in the pool (its 10 bps entry fee it got back, owning the whole pool).
    let lp_pnl = (w.bank.balance(w.lp.collateral).await + exit.lp_fee) as i64 - 1_000_000 * USDC as i64;
    assert!(lp_pnl > 0, "LP P&L {lp_pnl}");
    // The exit fee, the insurance fund's share still owed in the pool vault
    // (not the LPs' cash) and the rounding of the last share are all the emptied pool holds.
    let left = w.bank.balance(w.market.pool_vault).await;
    let owed = w.market_state().await.insurance_owed;
    assert!(owed > 0, "the insurance fund's share of the trade fees and income");
    assert!(left >= exit.lp_fee + owed && left - exit.lp_fee - owed < USDC / 100, "{left} left, fee {}, owed {owed}", exit.lp_fee);
    assert!(w.bank.balance(w.treasury_collateral).await > 0);
}
